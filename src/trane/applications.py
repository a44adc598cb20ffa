"""``Application``: one instance per HTTP request, verbs as methods.

How this works
--------------
``Hello(scope)`` only stores the scope. ``await instance(receive, send)``
wraps ``send`` in a ``ResponseStream`` (the response state machine), looks the
request method up in a table computed once per class (``__init_subclass__``),
runs ``prepare()`` if the class defines one, then the verb method with the
path parameters as keyword arguments. What the verb returns is turned into a
response; what it streamed with ``self.send()`` is finished for it. Any
exception goes through ``handle_error()``, which subclasses override to render
errors their own way; after the response has started there is no way to
answer again, so the exception propagates and the server aborts the
connection.

Once a view streams with ``self.send()``, a watcher task waits for
``http.disconnect`` (servers silently drop what is sent to a gone client);
when it comes the view is cancelled, so its ``finally`` blocks run at once,
and any later ``send()`` raises ``ClientDisconnect``. Both end the request
quietly. Work queued with ``after_response()`` runs once the body is out;
uploads from ``form()`` are closed last.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
import traceback
from collections.abc import Awaitable, Callable
from types import MethodType
from typing import Any, ClassVar, Final

from .datastructures import MutableHeaders
from .exceptions import ClientDisconnect, HTTPError, ResponseStateError
from .requests import HTTPRequest
from .responses import (
    PlainTextResponse,
    Response,
    ResponseStream,
    format_cookie,
    json_dumps,
)
from .scopes import serve_other_scope
from .sse import SSE_HEADERS, format_event, keep_alive
from .types import Receive, Scope, Send

logger = logging.getLogger("trane")


async def _refuse(message: Any) -> None:
    raise ResponseStateError("the response is already complete; nothing may follow it")


#: Stands for the ResponseStream of a response sent whole from __call__.
_SENT: Final = ResponseStream(_refuse)
_SENT.state = "DONE"

#: The methods that may be dispatched to, and the attribute that serves each.
HTTP_VERBS: Final = {
    "GET": "get",
    "HEAD": "head",
    "POST": "post",
    "PUT": "put",
    "PATCH": "patch",
    "DELETE": "delete",
    "OPTIONS": "options",
}

_TEXT: Final = (b"content-type", b"text/plain; charset=utf-8")
_OCTETS: Final = (b"content-type", b"application/octet-stream")
_JSON: Final = (b"content-type", b"application/json")

# PERF: formatting a Content-Length costs as much as the rest of a small
# response's headers; the headers of the small bodies most answers have are
# made once each (at most 1024 of them) and reused. NOTE: defined here, not
# imported: Python 3.11 compiles ``imported_name.get(...)`` without LOAD_METHOD,
# a bound method per call (measured: +450 instructions per request).
_LENGTH_HEADERS: dict[int, tuple[bytes, bytes]] = {}


def _verb_entry(cls: type, attr: str) -> tuple[Callable[..., Awaitable[Any]], str] | None:
    """``cls.attr`` as a plain function, and the name of its first parameter
    after ``self`` if that one may also be passed by position (else "").

    None if ``attr`` is not a plain function (a staticmethod, a callable
    object...): ``dispatch()`` reaches those through ``getattr``.
    NOTE: the wrapper's own signature, not the one ``functools.wraps`` copies.
    """
    function = inspect.getattr_static(cls, attr, None)
    if not inspect.isfunction(function):
        return None
    parameters = list(inspect.signature(function, follow_wrapped=False).parameters.values())
    first = parameters[1] if len(parameters) > 1 else None
    if first is not None and first.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD:
        return function, first.name
    return function, ""


def _length_header(size: int) -> tuple[bytes, bytes]:
    header = (b"content-length", b"%d" % size)
    if size < 1024:
        _LENGTH_HEADERS[size] = header
    return header


class Application(HTTPRequest):
    """Subclass me: define ``get``, ``post``... and return what to send."""

    # Read by asgiref.compatibility (and so by as_asgi3) to know we are ASGI 2.
    _asgi_double_callable: ClassVar[bool] = True

    #: Show tracebacks in 500 responses (the Router's ``debug`` also does).
    debug: ClassVar[bool] = False
    #: Seconds between ``: ping`` comments once ``send_event()`` streams; None: never.
    sse_ping_interval: ClassVar[float | None] = 15.0

    # Computed per class by __init_subclass__: METHOD -> attribute name.
    _handlers: ClassVar[dict[str, str]] = {"OPTIONS": "_auto_options"}
    # METHOD -> (plain function, its first parameter's name or "") for each verb
    # that is a plain function (see _verb_entry). NOTE: taken when the class
    # is created, as the verb table is; a verb assigned to the class later is not seen.
    _verbs: ClassVar[dict[str, tuple[Callable[..., Awaitable[Any]], str]]] = {}
    # The same, for __call__ to run itself: empty if prepare() or dispatch() is overridden.
    _direct: ClassVar[dict[str, tuple[Callable[..., Awaitable[Any]], str]]] = {}
    _allow: ClassVar[str] = "OPTIONS"
    _has_prepare: ClassVar[bool] = False

    status: int = 200
    _response_headers: MutableHeaders | None = None
    _out: ResponseStream | None = None  # made on first use: see _stream
    _send: Send
    _after: list[Callable[[], Any]] | None = None
    _watcher: asyncio.Task[None] | None = None
    _pinger: asyncio.Task[None] | None = None
    _client_gone: bool = False
    _sends: int = 0
    _cancelled: asyncio.Task[Any] | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        handlers: dict[str, str] = {}
        for method, attr in HTTP_VERBS.items():
            if callable(getattr(cls, attr, None)):
                handlers[method] = attr
        if "GET" in handlers and "HEAD" not in handlers:
            handlers["HEAD"] = "get"  # NOTE: the ResponseStream drops the body
        handlers.setdefault("OPTIONS", "_auto_options")
        cls._handlers = handlers
        cls._allow = ", ".join(m for m in HTTP_VERBS if m in handlers)
        # PERF: an empty prepare() would cost a coroutine per request.
        cls._has_prepare = cls.prepare is not Application.prepare
        plain = not cls._has_prepare and cls.dispatch is Application.dispatch
        cls._verbs = {}
        for method, attr in handlers.items():
            verb = _verb_entry(cls, attr)
            if verb is not None:
                cls._verbs[method] = verb
        cls._direct = cls._verbs if plain else {}

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        # PERF: instance values, not just class defaults, so that Python 3.11
        # reads them on its fast path; HTTPConnection.__init__ sets only scope.
        self._out = None
        self._response_headers = None
        self._needs_end = False

    # -- the ASGI 2 contract ---------------------------------------------

    async def __call__(self, receive: Receive, send: Send) -> None:
        scope = self.scope
        kind = scope["type"]
        if kind != "http":
            await serve_other_scope(kind, receive, send)
            return
        self._receive = receive
        self._send = send
        answered = False
        try:
            # PERF: what dispatch() does, inline, when no prepare() or dispatch() of
            # the subclass needs to run (a call less per request).
            method = scope["method"]
            direct = self._direct.get(method)
            params = scope.get("path_params")
            if direct is not None and params is not None:
                # PERF: f(self, value) runs inline in Python 3.11; f(self, **params)
                # goes through C (-4% for a one-parameter route).
                function, first = direct
                if not params:
                    result = await function(self)
                elif len(params) == 1 and first in params:
                    result = await function(self, params[first])
                else:
                    result = await function(self, **params)
            else:
                result = await self.dispatch()
            if self._out is None:
                # PERF: nothing was streamed, so no ResponseStream is needed:
                # a returned value is sent from here, with no state machine, no
                # event and no coroutine of its own; text with no headers set
                # (the commonest answer) does not even call _render().
                if type(result) is str and self._response_headers is None:
                    body = result.encode()
                    status = self.status
                    size = len(body)
                    headers = [_TEXT, _LENGTH_HEADERS.get(size) or _length_header(size)]
                else:
                    rendered = self._render(result)
                    if rendered is None:
                        await self._send_response(result)
                        answered = True
                        return
                    status, headers, body = rendered
                self._out = _SENT  # so a stray task's self.send() is refused
                await send({"type": "http.response.start", "status": status, "headers": headers})
                if method == "HEAD":
                    body = b""
                await send({"type": "http.response.body", "body": body})
            elif result is not None:
                raise ResponseStateError(
                    f"{type(self).__name__}.{scope['method'].lower()}() returned "
                    f"{type(result).__name__} after streaming with self.send()"
                )
            elif self._out.state != "DONE":
                await self._out({"type": "http.response.body", "body": b"", "more_body": False})
            answered = True
        except ClientDisconnect:
            return  # nobody is left to answer
        except asyncio.CancelledError:
            if not self._client_gone:
                raise
            # The disconnect watcher stopped the view: nobody is left to answer.
        except Exception as exc:
            await self._fail(exc)
        finally:
            if self._needs_end:  # PERF: one test for all the rare extras
                await self._end(answered)

    @property
    def _stream(self) -> ResponseStream:
        """The response state machine, made when first needed.

        PERF: a view that returns its response never needs one (see __call__).
        """
        out = self._out
        if out is None:
            out = self._out = ResponseStream(self._send, self.scope["method"] == "HEAD")
        return out

    def dispatch(self) -> Awaitable[Any]:
        """Pick the verb method; return the awaitable that runs it (after ``prepare()``).

        PERF: a plain method returning the handler's coroutine, so the common
        path awaits one coroutine, not two.
        """
        scope = self.scope
        method = scope["method"]
        name = self._handlers.get(method)
        if name is None:
            raise HTTPError(405, headers={"Allow": self._allow})
        params = scope.get("path_params")
        if params is None:
            params = self.params  # e.g. Channels' url_route kwargs
        verb = self._verbs.get(method)
        handler = getattr(self, name) if verb is None else MethodType(verb[0], self)
        if self._has_prepare and name != "_auto_options":
            return self._prepare_then(handler, params)
        return handler(**params)  # type: ignore[no-any-return]

    async def _prepare_then(self, handler: Callable[..., Awaitable[Any]], params: Any) -> Any:
        early = await self.prepare()
        if early is not None:
            return early
        return await handler(**params)

    async def prepare(self) -> Any:
        """Runs before every verb. Return a response to answer early, or raise.

        Not before the automatic OPTIONS answer, so CORS preflights (which
        carry no credentials) are not refused by an auth check here.
        """
        return None

    async def _auto_options(self, **params: Any) -> Response:
        return Response(status=204, headers={"Allow": self._allow})

    @classmethod
    def allowed_methods(cls) -> frozenset[str]:
        return frozenset(cls._handlers)

    # -- imperative responses ----------------------------------------------

    @property
    def response_headers(self) -> MutableHeaders:
        headers = self._response_headers
        if headers is None:
            headers = self._response_headers = MutableHeaders()
        return headers

    def set_cookie(self, key: str, value: str = "", **options: Any) -> None:
        """Add a ``Set-Cookie`` to whatever response this view sends."""
        self.response_headers.add("set-cookie", format_cookie(key, value, **options))

    def delete_cookie(self, key: str, **options: Any) -> None:
        self.set_cookie(key, "", max_age=0, expires=0, **options)

    async def send(self, data: str | bytes) -> None:
        """Stream ``data`` now; the first call sends the status and headers.

        Raises ``ClientDisconnect`` once the client has gone (and a view
        waiting between two sends is cancelled then), so streaming loops stop.
        """
        if self._client_gone:
            raise ClientDisconnect()
        body = data.encode("utf-8") if isinstance(data, str) else data
        out = self._stream
        if out.state == "IDLE":
            headers = self.response_headers.raw
            if all(name != b"content-type" for name, _ in headers):
                headers.append(_TEXT if isinstance(data, str) else _OCTETS)
            await out({"type": "http.response.start", "status": self.status, "headers": headers})
        if self._watcher is None and out.state != "DONE":  # else out() refuses below
            self._needs_end = True
            self._watcher = asyncio.ensure_future(self._watch_disconnect(asyncio.current_task()))
        await out({"type": "http.response.body", "body": body, "more_body": True})
        self._sends += 1
        if not self._sends & 15:
            # NOTE: servers drop sends to a gone client without suspending, so
            # a view that awaits nothing but send() would never let the loop
            # (and the disconnect watcher) run: yield to it now and then.
            await asyncio.sleep(0)

    async def send_event(
        self,
        data: Any = None,
        *,
        event: str | None = None,
        id: str | None = None,
        retry: int | None = None,
    ) -> None:
        """Send one server-sent event; the first call starts a ``text/event-stream``."""
        chunk = format_event(data, event=event, id=id, retry=retry)
        if self._stream.state == "IDLE":
            headers = self.response_headers
            headers.setdefault("content-type", "text/event-stream")
            for name, value in SSE_HEADERS.items():
                headers.setdefault(name, value)
            await self.send(chunk)
            if self.sse_ping_interval is not None:
                self._needs_end = True
                pings = keep_alive(self._stream, self.sse_ping_interval)
                self._pinger = asyncio.ensure_future(pings)
        else:
            await self.send(chunk)

    @property
    def last_event_id(self) -> str | None:
        """The ``Last-Event-ID`` a reconnecting ``EventSource`` sends, if any."""
        value: str | None = self.headers.get("last-event-id")
        return value

    async def finish(self, data: str | bytes = b"") -> None:
        """Send ``data`` as the last part of the body and end the response."""
        if self._client_gone:
            raise ClientDisconnect()
        if self._stream.state == "IDLE":
            await self._send_result(data)
        else:
            body = data.encode("utf-8") if isinstance(data, str) else data
            await self._stream({"type": "http.response.body", "body": body, "more_body": False})

    def after_response(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        """Call ``func(*args, **kwargs)`` once the response has been sent in full.

        Async functions are awaited, plain ones run in a thread; one that
        raises is logged to the ``trane`` logger and the next still runs. Not
        called when the view failed or the client left early.
        """
        if self._after is None:
            self._after = []
            self._needs_end = True
        self._after.append(functools.partial(func, *args, **kwargs))

    async def _run_after_response(self) -> None:
        assert self._after is not None
        for call in self._after:
            try:
                if inspect.iscoroutinefunction(call):
                    await call()
                else:
                    result = await asyncio.to_thread(call)
                    if inspect.isawaitable(result):
                        await result
            except Exception as exc:
                logger.error(
                    "Exception in after_response task %r of %s",
                    getattr(call, "func", call),
                    type(self).__name__,
                    exc_info=exc,
                )

    async def _watch_disconnect(self, view: asyncio.Task[Any] | None) -> None:
        """Wait for ``http.disconnect`` while the view streams; then stop the view."""
        try:
            if not self._stream_consumed:
                with contextlib.suppress(HTTPError):  # too large to keep: dropped below
                    await self.body()  # kept: the view may still ask for it
            elif not (self._body_complete or self._body is not None):
                self._watcher = None  # the view reads the body: watch from the next send
                return
            while (await self._receive())["type"] != "http.disconnect":
                pass
        except ClientDisconnect:
            pass
        except Exception:  # receive() itself failed: nothing left to watch
            return
        self._client_gone = True
        if self._stream.state != "DONE" and view is not None:
            view.cancel()
            self._cancelled = view

    async def _end(self, answered: bool) -> None:
        """Run ``after_response()`` work (if the view answered), then clean up."""
        if answered and self._after is not None and self._stream.state == "DONE":
            await self._run_after_response()  # not if the client left
        for task in (self._watcher, self._pinger):
            if task is not None and not task.done():
                task.cancel()
        if self._cancelled is not None and self._cancelled is asyncio.current_task():
            # NOTE: Python 3.11+ counts cancellations; take ours back, it was handled.
            uncancel = getattr(self._cancelled, "uncancel", None)
            if uncancel is not None:
                uncancel()
        if self._form is not None:
            await self._form.close()

    # -- results and errors ----------------------------------------------

    async def _send_result(self, result: Any) -> None:
        rendered = self._render(result)
        if rendered is None:
            await self._send_response(result)
        else:
            await self._stream.send_all(*rendered)

    def _render(self, result: Any) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        """(status, headers, body) for a plain return value; None for a Response."""
        if isinstance(result, str):
            body = result.encode("utf-8")
            content_type = _TEXT
        elif isinstance(result, bytes):
            body, content_type = result, _OCTETS
        elif isinstance(result, dict | list):
            body, content_type = json_dumps(result), _JSON
        elif result is None:
            status = 204 if self.status == 200 else self.status
            headers = self._response_headers.raw if self._response_headers else []
            if status >= 200 and status not in (204, 304):  # as Response(status=...) does
                headers.append((b"content-length", b"0"))
            return status, headers, b""
        elif isinstance(result, Response):
            return None
        else:
            raise TypeError(
                f"{type(self).__name__} returned {type(result).__name__}; "
                "return str, bytes, dict, list, None or a Response"
            )
        size = len(body)
        length = _LENGTH_HEADERS.get(size) or _length_header(size)
        if self._response_headers is None:
            headers = [content_type, length]
        else:
            headers = self._response_headers.raw
            if all(name != b"content-type" for name, _ in headers):
                headers.append(content_type)
            headers.append(length)
        return self.status, headers, body

    async def _send_response(self, response: Response) -> None:
        if self._response_headers:
            own = {name for name, _ in response.headers.raw}
            response.headers.raw.extend(
                pair
                for pair in self._response_headers.raw
                if pair[0] == b"set-cookie" or pair[0] not in own
            )
        await response(self.scope, self._receive, self._stream)

    async def handle_error(self, exc: Exception) -> Response:
        """Turn an exception into a response. Override to render your own.

        ``HTTPError`` gives its status, detail and headers; anything else a
        500 whose body says nothing of the internals (unless debug is on).
        """
        if isinstance(exc, HTTPError):
            return PlainTextResponse(
                exc.detail or exc.phrase, status=exc.status, headers=exc.headers
            )
        if self._debug:
            text = "".join(traceback.format_exception(exc))
            return PlainTextResponse(text, status=500)
        return PlainTextResponse("Internal Server Error", status=500)

    @property
    def _debug(self) -> bool:
        router = self.scope.get("trane.router")
        return self.debug or bool(getattr(router, "debug", False))

    async def _fail(self, exc: Exception) -> None:
        if not isinstance(exc, HTTPError):
            logger.error(
                "Exception in %s handling %s %s",
                type(self).__name__,
                self.scope["method"],
                self.scope["path"],
                exc_info=exc,
            )
        if self._stream.state != "IDLE":
            # Too late for an error page: let the server abort the connection.
            raise exc
        try:
            response = await self.handle_error(exc)
            if not isinstance(response, Response):
                raise TypeError(
                    f"{type(self).__name__}.handle_error() must return a Response, "
                    f"got {type(response).__name__}"
                )
        except Exception as inner:
            logger.error("Exception in %s.handle_error", type(self).__name__, exc_info=inner)
            response = PlainTextResponse("Internal Server Error", status=500)
        if self._stream.state != "IDLE":
            return
        await response(self.scope, self._receive, self._stream)
