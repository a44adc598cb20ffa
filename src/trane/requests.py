"""The request side shared by ``Application`` and ``WebSocketApplication``: trane's one way in.

How this works
--------------
``HTTPConnection`` is a mixin over ``self.scope``: every property is computed
on first access and cached on the instance (``lazy``), so a view that reads
nothing pays nothing. ``HTTPRequest`` adds the body: ``body()``, ``json()``,
``form()`` and ``stream()``, counting the bytes actually received against
``max_body_size``.

Per request one ``RequestBody`` owns the server's ``receive``. It files each
message it reads: body chunks into a buffer until someone asks for them,
``http.disconnect`` as a flag. The view's body readers take chunks from it;
whoever watches for the client leaving (a view that streams, a streaming
response, a file, an event stream) waits on it, and the chunks it has to
take meanwhile stay buffered for the view, so nothing a view may read is
lost. When two of them wait at once, only one calls ``receive``; the others
wait for what it files. After ``http.disconnect`` nobody calls ``receive``.
A body that arrives whole in one message is taken straight from ``receive``
without a ``RequestBody`` (the common case; see ``body()``).
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Sequence
from typing import Any, ClassVar, Final, Generic, TypeVar, overload

from .cookies import parse_cookies
from .datastructures import URL, Headers, QueryParams, host_allowed, split_host
from .exceptions import ClientDisconnect, HTTPError
from .forms import SPOOL_SIZE, FormData, parse_form
from .strictjson import parse_json
from .types import Message, Receive, Scope

T = TypeVar("T")


class lazy(Generic[T]):
    """A cached property without ``functools.cached_property``'s lock (3.11)."""

    def __init__(self, compute: Callable[[Any], T]) -> None:
        self.compute = compute
        self.name = compute.__name__
        self.__doc__ = compute.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type) -> lazy[T]: ...
    @overload
    def __get__(self, obj: object, owner: type) -> T: ...
    def __get__(self, obj: object | None, owner: type) -> T | lazy[T]:
        if obj is None:
            return self
        value = self.compute(obj)
        # PERF: setattr keeps the instance's attributes inline (Python 3.11+);
        # obj.__dict__ would first turn them into a dict, slowing every later
        # attribute access (-1,189 instructions a request for a view that
        # reads self.query and self.headers, 57,315 -> 56,126).
        setattr(obj, self.name, value)
        return value


class State:
    """Lifespan state: ``self.state.db`` or ``self.state["db"]``."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        object.__setattr__(self, "_data", data if data is not None else {})

    def __getattr__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(f"state has no attribute {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self._data[name] = value

    def __getitem__(self, name: str) -> Any:
        return self._data[name]

    def __setitem__(self, name: str, value: Any) -> None:
        self._data[name] = value

    def __contains__(self, name: object) -> bool:
        return name in self._data

    def __repr__(self) -> str:
        return f"State({self._data!r})"


_SESSION_MIDDLEWARE = (
    "a session middleware, e.g. Middleware(SessionMiddleware, secret_key=...) "
    "from starlette.middleware.sessions (needs itsdangerous), or Channels' SessionMiddlewareStack"
)
_AUTH_MIDDLEWARE = (
    "an authentication middleware, e.g. Middleware(AuthenticationMiddleware, backend=...) "
    "from starlette.middleware.authentication, or Channels' AuthMiddlewareStack"
)


def _from_scope(scope: Scope, key: str, middleware: str) -> Any:
    """``scope[key]``; if it is missing, a RuntimeError naming the middleware that sets it."""
    try:
        return scope[key]
    except KeyError:
        raise RuntimeError(
            f"self.{key} needs {middleware} in front of this view "
            f"(on the Router, the route or the class's middleware): scope has no {key!r}"
        ) from None


class HTTPConnection:
    """Scope accessors common to HTTP and WebSocket views."""

    scope: Scope

    #: The Host header values this view answers to: ``"example.com"``,
    #: ``"*.example.com"`` for any subdomain, ``"*"`` for any valid host. When
    #: set, reading ``self.url`` with another Host header is a 400 (as
    #: Django's ALLOWED_HOSTS). ``None``: any valid host; a malformed Host
    #: header is never used, the server's address stands in for it.
    allowed_hosts: ClassVar[Sequence[str] | None] = None

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    @property
    def path(self) -> str:
        return self.scope["path"]  # type: ignore[no-any-return]

    @lazy
    def params(self) -> dict[str, Any]:
        """Converted path parameters (or Channels' ``url_route`` kwargs)."""
        scope = self.scope
        params = scope.get("path_params")
        if params is None:
            params = scope.get("url_route", {}).get("kwargs", {})
        return params  # type: ignore[no-any-return]

    @lazy
    def headers(self) -> Headers:
        return Headers(self.scope.get("headers", []))

    @lazy
    def query(self) -> QueryParams:
        return QueryParams(self.scope.get("query_string", b""))

    @lazy
    def cookies(self) -> dict[str, str]:
        return parse_cookies("; ".join(self.headers.getlist("cookie")))

    @property
    def client(self) -> tuple[str, int] | None:
        client = self.scope.get("client")
        return (client[0], client[1]) if client else None

    @lazy
    def url(self) -> URL:
        allowed = self.allowed_hosts
        if allowed is not None:
            host = self.headers.get("host")
            if host is not None:
                parts = split_host(host)
                if parts is None or not host_allowed(parts[0], allowed):
                    raise HTTPError(400, "Invalid Host header")
        return URL.from_scope(self.scope)

    @lazy
    def state(self) -> State:
        state = self.scope.get("state")
        if state is None:
            state = self.scope["state"] = {}
        return State(state)

    # NOTE: lazy (a non-data descriptor), not a property: a view may still set
    # its own ``self.user = ...`` (in prepare(), say) and read that back.
    @lazy
    def session(self) -> Any:
        """``scope["session"]``, the session a session middleware put there.

        A dict with Starlette's ``SessionMiddleware`` (changes are saved in its
        signed cookie), a Django session with Channels' ``SessionMiddlewareStack``.
        """
        return _from_scope(self.scope, "session", _SESSION_MIDDLEWARE)

    @lazy
    def user(self) -> Any:
        """``scope["user"]``, as Starlette's ``AuthenticationMiddleware`` or
        Channels' ``AuthMiddlewareStack`` set it."""
        return _from_scope(self.scope, "user", _AUTH_MIDDLEWARE)

    @lazy
    def auth(self) -> Any:
        """``scope["auth"]``, the credentials Starlette's ``AuthenticationMiddleware`` sets."""
        return _from_scope(self.scope, "auth", _AUTH_MIDDLEWARE)

    def url_for(self, name: str, /, **params: Any) -> str:
        """The path of the route called ``name`` (``"api:user"`` for mounts)."""
        router = self.scope.get("trane.router")
        if router is None:
            raise RuntimeError("url_for needs a trane.Router in front of this view")
        path: str = router.url_for(name, **params)
        # The outermost router's root_path: Mounts record it as they extend it.
        scope = self.scope
        root_path: str = scope.get("trane.root_path", scope.get("root_path", ""))
        return root_path + path


class RequestBody:
    """The one reader of ``receive`` for a request (see the module docstring)."""

    __slots__ = (
        "_chunks",
        "_limit",
        "_pulling",
        "_receive",
        "complete",
        "disconnected",
        "received",
        "too_large",
    )

    def __init__(self, receive: Receive, limit: int | None, complete: bool = False) -> None:
        self._receive = receive
        self._limit = limit
        self._chunks: deque[bytes] = deque()
        self._pulling: asyncio.Future[None] | None = None
        #: Bytes received so far (buffered or handed out).
        self.received = 0
        #: The last ``http.request`` message has been read.
        self.complete = complete
        #: ``http.disconnect`` has been read.
        self.disconnected = False
        #: More than ``limit`` bytes came: what comes is dropped, readers get 413.
        self.too_large = False

    def file(self, message: Message) -> None:
        """Take in one message read from the server."""
        kind = message["type"]
        if kind == "http.request":
            chunk = message.get("body", b"")
            if chunk and not self.too_large:
                self.received += len(chunk)
                if self._limit is not None and self.received > self._limit:
                    self.too_large = True
                    self._chunks.clear()
                else:
                    self._chunks.append(chunk)
            if not message.get("more_body", False):
                self.complete = True
        elif kind == "http.disconnect":
            self.disconnected = True

    async def _pull(self) -> None:
        """Read and file one message, or wait while another reader does."""
        pulling = self._pulling
        if pulling is not None:
            # NOTE: asyncio.wait, not await: being cancelled must not cancel theirs.
            await asyncio.wait((pulling,))
            return
        pulling = self._pulling = asyncio.get_running_loop().create_future()
        try:
            self.file(await self._receive())
        finally:
            self._pulling = None
            pulling.set_result(None)  # the others look again (and pull, if it failed)

    async def chunk(self) -> bytes | None:
        """The next body chunk; None once the body is complete.

        Raises 413 past the limit and ``ClientDisconnect`` if the client left first.
        """
        while True:
            if self._chunks:
                return self._chunks.popleft()
            if self.too_large:
                raise HTTPError(413, f"Request body larger than {self._limit} bytes")
            if self.complete:
                return None
            if self.disconnected:
                raise ClientDisconnect()
            await self._pull()

    async def wait_disconnect(self) -> None:
        """Return once the client has gone; body chunks read meanwhile stay buffered."""
        while not self.disconnected:
            await self._pull()

    def as_receive(self, first: bytes | None = None) -> Receive:
        """An ASGI ``receive`` over this reader, for an app the request is handed to.

        It gives ``first`` (the whole body, when the view read it), or the
        chunks buffered and still to come, as ``http.request`` messages, then
        ``http.disconnect`` once the client leaves. No size limit applies: the
        app handed the request owns its body.
        """
        taken = self.received - sum(map(len, self._chunks))
        if first is None and taken:
            raise RuntimeError(
                f"{taken} bytes of the request body were read with stream() or form() "
                "before delegate(): read it with body() (it is replayed), or not at all"
            )
        self._limit = None
        ended = False

        async def receive() -> Message:
            nonlocal first, ended
            if first is not None:
                body, first = first, None
                ended = True  # NOTE: first is the whole body
                return {"type": "http.request", "body": body, "more_body": False}
            if ended:
                await self.wait_disconnect()
                return {"type": "http.disconnect"}
            try:
                chunk = await self.chunk()
            except ClientDisconnect:
                ended = True
                return {"type": "http.disconnect"}
            ended = chunk is None or (self.complete and not self._chunks)
            return {"type": "http.request", "body": chunk or b"", "more_body": not ended}

        return receive

    async def receive_disconnect(self) -> Message:
        """A ``receive`` for responses that only watch for the client leaving."""
        await self.wait_disconnect()
        return {"type": "http.disconnect"}


def _any_case(raw: Iterable[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    """The first value of header ``name`` (lower case) in ``raw``, its name in any case."""
    size = len(name)
    for key, value in raw:
        if len(key) == size and key.lower() == name:
            return value
    return None


def _content_headers(raw: Iterable[tuple[bytes, bytes]]) -> tuple[bytes | None, bytes | None]:
    """The first Content-Type and Content-Length values in ``raw``, undecoded.

    PERF: one pass over the raw pairs, whole names compared (ASGI servers send
    them in lower case), ending at the second found; building ``Headers`` and
    looking each up in turn cost ~14,000 instructions of the 300-byte JSON
    POST (python -m benchmarks.count --case post). A name not found so is
    looked for again in any case, as ``Headers.get`` does. NOTE: only a list
    with the same header twice, in another case first (which ASGI servers
    never send), answers differently from ``Headers.get``.
    """
    content_type = length = None
    for key, value in raw:
        if key == b"content-type":
            if content_type is None:
                content_type = value
                if length is not None:
                    return content_type, length
        elif key == b"content-length" and length is None:
            length = value
            if content_type is not None:
                return content_type, length
    if content_type is None:
        content_type = _any_case(raw, b"content-type")
    if length is None:
        length = _any_case(raw, b"content-length")
    return content_type, length


class HTTPRequest(HTTPConnection):
    """Adds body reading to ``HTTPConnection``."""

    #: The largest request body accepted, in bytes; ``None`` for no limit.
    max_body_size: ClassVar[int | None] = 1024 * 1024
    #: The most non-file fields ``form()`` accepts (more is a 400).
    max_form_fields: ClassVar[int] = 1000
    #: The most files a multipart ``form()`` accepts (more is a 400).
    max_form_files: ClassVar[int] = 100
    #: The largest non-file form field, in bytes (larger is a 413); files are
    #: bounded by ``max_body_size`` only, since they are spooled to disk.
    max_part_size: ClassVar[int] = 1024 * 1024
    #: Bytes of each upload kept in memory before it is spooled to disk.
    max_upload_memory: ClassVar[int] = SPOOL_SIZE
    #: The most headers one multipart part may have (more is a 400).
    max_part_headers: ClassVar[int] = 16
    #: The most bytes of header names and values one multipart part may have
    #: (more is a 400).
    max_part_header_size: ClassVar[int] = 8 * 1024

    _receive: Receive
    _body: bytes | None = None
    _reader: RequestBody | None = None
    _body_started: bool = False
    _form: FormData | None = None
    #: Set once the request leaves work for its end (uploads to close, tasks...).
    _needs_end: bool = False

    @property
    def method(self) -> str:
        return self.scope["method"]  # type: ignore[no-any-return]

    def _check_declared_length(self, declared: bytes | None) -> None:
        """400 for a Content-Length that is no number, 413 for one past ``max_body_size``."""
        limit = self.max_body_size
        if limit is None or declared is None:
            return
        # NOTE: bytes.isdigit() takes ASCII digits only (str.isdigit() also takes
        # "²", which int() refuses), and int() refuses more than 4300 digits:
        # compare lengths first.
        if not declared.isdigit():
            raise HTTPError(400, f"Invalid Content-Length: {declared.decode('latin-1')!r}")
        if len(declared) <= 18:  # PERF: the common case, no int() worth guarding
            too_large = int(declared) > limit
        else:
            digits = declared.lstrip(b"0") or b"0"
            too_large = len(digits) > len(str(limit)) or int(digits) > limit
        if too_large:
            raise HTTPError(413, f"Request body larger than {limit} bytes")

    def request_body(self) -> RequestBody:
        """The request's one reader of ``receive``, made on first use.

        NOTE: made before anything else may read concurrently (a disconnect
        watcher, a streaming response), so that ``body()``'s fast path, which
        reads ``receive`` itself, never runs beside it.
        """
        reader = self._reader
        if reader is None:
            reader = self._reader = RequestBody(
                self._receive, self.max_body_size, complete=self._body is not None
            )
        return reader

    async def stream(self) -> AsyncIterator[bytes]:
        """The body chunk by chunk, as it arrives; raises 413 past the limit."""
        if self._body is not None:
            if self._body:
                yield self._body
            return
        if self._body_started:
            raise RuntimeError("the request body stream has already been consumed")
        self._body_started = True
        self._check_declared_length(_content_headers(self.scope.get("headers", ()))[1])
        reader = self.request_body()
        while (chunk := await reader.chunk()) is not None:
            yield chunk

    def body(self) -> Coroutine[Any, Any, bytes]:
        """The whole body, read once and cached (``await self.body()``)."""
        # PERF: a plain method returning _read_body()'s coroutine: one coroutine
        # per call, as an async def has, with json()'s way in beside it.
        return self._read_body(None, looked_up=False)

    async def _read_body(self, declared: bytes | None, looked_up: bool = True) -> bytes:
        """``body()``, the Content-Length header ``declared`` (unless not ``looked_up`` yet)."""
        body: bytes | None = self._body
        if body is not None:
            return body
        if self._reader is None and not self._body_started:
            # PERF: a body that comes whole in one message (the common case)
            # is taken straight from receive(), with no RequestBody.
            self._body_started = True
            if not looked_up:
                declared = _content_headers(self.scope.get("headers", ()))[1]
            self._check_declared_length(declared)
            message = await self._receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                body = message.get("body", b"")
                limit = self.max_body_size
                if limit is not None and len(body) > limit:
                    raise HTTPError(413, f"Request body larger than {limit} bytes")
                self._body = body
                return body
            reader = self.request_body()
            reader.file(message)
            chunks = []
            while (chunk := await reader.chunk()) is not None:
                chunks.append(chunk)
        else:
            chunks = [chunk async for chunk in self.stream()]
        body = self._body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        return body

    async def json(self) -> Any:
        """The body parsed as JSON; 400 for a wrong Content-Type or bad JSON."""
        content_type, declared = _content_headers(self.scope.get("headers", ()))
        if content_type is not None and content_type != b"application/json":
            text = content_type.decode("latin-1")
            media_type = text.partition(";")[0].strip().lower()
            if media_type != "application/json" and not media_type.endswith("+json"):
                raise HTTPError(400, f"Expected a JSON body, got Content-Type {text!r}")
        body = self._body
        if body is None:
            # NOTE: a subclass's own body() is still what json() reads.
            if type(self).body is _BODY:
                body = await self._read_body(declared)
            else:
                body = await self.body()
        try:
            return parse_json(body)
        except UnicodeDecodeError:
            raise HTTPError(400, "Invalid JSON: body is not UTF-8") from None
        except json.JSONDecodeError as exc:
            raise HTTPError(400, f"Invalid JSON: {exc}") from None
        except (ValueError, RecursionError) as exc:  # NaN, surrogates, huge ints, deep nesting
            raise HTTPError(400, f"Invalid JSON: {exc}") from None

    async def form(self) -> FormData:
        """The body as a form (urlencoded or multipart), parsed once.

        Files become ``UploadFile`` objects, spooled to disk past
        ``max_upload_memory`` and closed when the request is over. A malformed
        form is a 400, one past ``max_part_size``/``max_body_size`` a 413.
        """
        if self._form is None:
            chunks = self.stream()
            try:
                self._form = await parse_form(
                    self.headers.get("content-type"),
                    chunks,
                    max_fields=self.max_form_fields,
                    max_files=self.max_form_files,
                    max_part_size=self.max_part_size,
                    spool_size=self.max_upload_memory,
                    max_part_headers=self.max_part_headers,
                    max_part_header_size=self.max_part_header_size,
                )
                self._needs_end = True
            finally:
                await chunks.aclose()  # type: ignore[attr-defined]
        return self._form


#: ``HTTPRequest.body``, for ``json()`` to tell whether a subclass has its own.
_BODY: Final = HTTPRequest.body
