"""Response classes and the response state machine: trane's one way out.

How this works
--------------
Every HTTP response message trane writes (returned values, ``Response``
objects, streams, files, server-sent events, error pages, 304/416 answers)
passes through one ``ResponseStream``: a wrapper around the server's ``send``
that checks each message against a transition table before letting it out::

    IDLE --http.response.start--> STARTED --body(more_body=True)--> STARTED
                                  STARTED --body(more_body=False)-> DONE
                                  STARTED --pathsend/zerocopysend--> DONE
           (with trailers: ... body(more_body=False) -> TRAILERS --trailers--> DONE)

A message with no entry in the table raises ``ResponseStateError`` naming the
state and the message, so "two starts", "body before start", "anything after
the end" and "an extension the server did not offer" are all caught where
they happen. The same wrapper owns HEAD: a HEAD response is complete once its
headers are out, so the stream sends the final empty body itself; a later
final body is absorbed, and a later ``more_body=True`` body raises
``BodyNotWanted`` (a ``ClientDisconnect``), which ends a streaming view or
iterator as quietly as a client that left. A server that speaks ASGI spec 2.4
raises ``OSError`` for a send to a gone client: the stream turns that into
``ClientDisconnect`` too.

The stream may carry a ``hook`` (a view's ``on_response()``): called with
the status and headers of the start message, just before it goes out, it
returns the ones to send, so every response of a view can be shaped in one
place. A stream without one pays a single test per start message.

A ``Response`` is a plain object a view returns; it is also an ASGI 3 app,
``await response(scope, receive, send)``. Sent on its own it wraps ``send``
in a ``ResponseStream`` itself, so the rules hold wherever it is sent. A view
sending a returned value whole (``Application``'s fast path) does not make a
stream, but sends the same two messages ``send_all()`` sends, by the same rules.
Responses that stream (``StreamingResponse``, files, events) stop when the
client leaves: ``until_disconnect()`` races them against ``http.disconnect``
where the server cannot tell through ``send``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import json
import re
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping
from typing import Any, ClassVar, Final
from urllib.parse import quote

import msgspec

from .cookies import format_cookie
from .datastructures import MutableHeaders, encode_header
from .exceptions import BodyNotWanted, ClientDisconnect, ResponseStateError
from .types import Message, Receive, Scope, Send

#: The states of a ``ResponseStream``.
IDLE: Final = "IDLE"
STARTED: Final = "STARTED"
TRAILERS: Final = "TRAILERS"
DONE: Final = "DONE"

_START: Final = "http.response.start"
_BODY: Final = "http.response.body"
_MORE: Final = "http.response.body (more_body=True)"
_LAST: Final = "http.response.body (more_body=False)"
_ZEROCOPY_MORE: Final = "http.response.zerocopysend (more_body=True)"
_ZEROCOPY_LAST: Final = "http.response.zerocopysend (more_body=False)"
_PATHSEND: Final = "http.response.pathsend"
_TRAILERS_MORE: Final = "http.response.trailers (more_trailers=True)"
_TRAILERS_LAST: Final = "http.response.trailers (more_trailers=False)"

_TRANSITIONS: Final[dict[tuple[str, str], str]] = {
    (IDLE, _START): STARTED,
    (STARTED, _MORE): STARTED,
    (STARTED, _LAST): DONE,
    (STARTED, _PATHSEND): DONE,
    (STARTED, _ZEROCOPY_MORE): STARTED,
    (STARTED, _ZEROCOPY_LAST): DONE,
    (TRAILERS, _TRAILERS_MORE): TRAILERS,
    (TRAILERS, _TRAILERS_LAST): DONE,
}

_WHY: Final[dict[str, str]] = {
    IDLE: "the response has not started: send http.response.start first",
    STARTED: "the response has already started",
    TRAILERS: "the body is complete: only http.response.trailers may follow",
    DONE: "the response is already complete; nothing may follow it",
}


#: ``hook(status, headers)`` -> the status and headers to start the response with.
StartHook = Callable[[int, list[tuple[bytes, bytes]]], tuple[int, list[tuple[bytes, bytes]]]]


def _event(message: Message) -> str:
    """The transition-table name of ``message``."""
    kind = message["type"]
    if kind == _BODY:
        return _MORE if message.get("more_body", False) else _LAST
    if kind == "http.response.zerocopysend":
        return _ZEROCOPY_MORE if message.get("more_body", False) else _ZEROCOPY_LAST
    if kind == "http.response.trailers":
        return _TRAILERS_MORE if message.get("more_trailers", False) else _TRAILERS_LAST
    if kind in (_START, _PATHSEND):
        return kind  # type: ignore[no-any-return]
    raise ResponseStateError(f"unknown HTTP response message type {kind!r}")


class ResponseStream:
    """The server's ``send``, guarded by the transition table above.

    ``extra_headers`` (a view's own headers and cookies) are added to the
    start message's headers on a copy: a returned ``Response`` is never changed.
    ``hook(status, headers)`` returns the status and headers to start with instead.
    """

    __slots__ = (
        "_send",
        "extensions",
        "extra_headers",
        "head",
        "hook",
        "state",
        "status",
        "trailers",
    )

    def __init__(
        self,
        send: Send,
        head: bool = False,
        extensions: Mapping[str, Any] | None = None,
        extra_headers: list[tuple[bytes, bytes]] | None = None,
        hook: StartHook | None = None,
    ) -> None:
        self._send = send
        self.head = head
        self.extensions = extensions or {}
        self.extra_headers = extra_headers
        self.hook = hook
        self.state: str = IDLE
        self.status = 0
        self.trailers = False

    @classmethod
    def for_scope(
        cls,
        send: Send,
        scope: Scope,
        extra_headers: list[tuple[bytes, bytes]] | None = None,
        hook: StartHook | None = None,
    ) -> ResponseStream:
        """A stream for the response to ``scope`` (its method, its extensions)."""
        head = scope.get("method") == "HEAD"
        return cls(send, head, scope.get("extensions"), extra_headers, hook)

    @classmethod
    def sent(cls) -> ResponseStream:
        """A stream whose response went out without it: it refuses everything.

        NOTE: in state DONE every message is refused before it could reach ``send``.
        """
        stream = cls(None)  # type: ignore[arg-type]
        stream.state = DONE
        return stream

    @property
    def started(self) -> bool:
        return self.state != IDLE

    @property
    def done(self) -> bool:
        return self.state == DONE

    async def send_all(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        """Send a whole response: start, then the body (none for HEAD), then nothing."""
        if self.state != IDLE:
            raise ResponseStateError(f"cannot send {_START} now: {_WHY[self.state]}")
        if self.extra_headers:
            headers = self._merged(headers)
        if self.hook is not None:
            status, headers = self.hook(status, headers)
        self.state = DONE
        self.status = status
        await self._out({"type": _START, "status": status, "headers": headers})
        await self._out({"type": _BODY, "body": b"" if self.head else body})

    async def __call__(self, message: Message) -> None:
        event = _event(message)
        if event != _MORE and event != _LAST and event != _START:  # an ASGI extension
            self._check_offered(message["type"])
        state = self.state
        try:
            self.state = _TRANSITIONS[state, event]
        except KeyError:
            self._refuse(state, event, message)
            return  # the end of a HEAD response that is already complete
        if event == _START:
            if self.extra_headers:
                message = {**message, "headers": self._merged(message["headers"])}
            if self.hook is not None:
                try:
                    status, headers = self.hook(message["status"], message["headers"])
                except BaseException:
                    self.state = state  # nothing went out: an error page still may
                    raise
                message = {**message, "status": status, "headers": headers}
            self.status = message["status"]
            if message.get("trailers", False):
                self._check_offered("http.response.trailers")
                self.trailers = True
            await self._out(message)
            if self.head:  # NOTE: a HEAD response is complete once its headers are out
                self.state = DONE
                await self._out({"type": _BODY, "body": b""})
            return
        if event == _LAST and self.trailers:
            self.state = TRAILERS
        await self._out(message)

    async def _out(self, message: Message) -> None:
        try:
            await self._send(message)
        except OSError as exc:  # ASGI spec 2.4: a send to a gone client
            raise ClientDisconnect() from exc

    def _refuse(self, state: str, event: str, message: Message) -> None:
        if state == DONE and self.head and event in (_LAST, _PATHSEND, _ZEROCOPY_LAST):
            return
        if state == DONE and self.head and event in (_MORE, _ZEROCOPY_MORE):
            raise BodyNotWanted()
        raise ResponseStateError(f"cannot send {event} now: {_WHY[state]}")

    def _check_offered(self, kind: str) -> None:
        if kind not in self.extensions:
            raise ResponseStateError(
                f"cannot send {kind}: the server did not offer the {kind!r} "
                "extension in scope['extensions']"
            )

    def _merged(self, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        """``headers`` plus the extra ones they lack (every ``Set-Cookie``), as a new list."""
        own = {name for name, _ in headers}
        extra = self.extra_headers or []
        return [
            *headers,
            *(pair for pair in extra if pair[0] == b"set-cookie" or pair[0] not in own),
        ]


def speaks_spec_2_4(scope: Scope) -> bool:
    """Whether the server raises ``OSError`` for a send to a gone client (ASGI spec 2.4+)."""
    version = str(scope.get("asgi", {}).get("spec_version", "2.0"))
    major, _, minor = version.partition(".")
    try:
        return (int(major), int(minor or 0)) >= (2, 4)
    except ValueError:
        return False


async def until_disconnect(produce: Awaitable[None], scope: Scope, receive: Receive) -> None:
    """Await ``produce`` (a response's sending) unless the client leaves first.

    Where the server cannot tell of a gone client through ``send`` (ASGI spec
    before 2.4), ``produce`` runs in a task raced against ``http.disconnect``
    from ``receive``; when the client leaves first it is cancelled (its
    ``finally`` blocks run) and this returns. With spec 2.4 ``send`` raises.
    """
    if speaks_spec_2_4(scope):
        with contextlib.suppress(ClientDisconnect):
            await produce
        return
    producer = asyncio.ensure_future(produce)
    watcher = asyncio.ensure_future(wait_for_disconnect(receive))
    try:
        await asyncio.wait({producer, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        if not producer.done():
            producer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await producer  # the producer's finally blocks run now
    if not producer.cancelled():
        with contextlib.suppress(ClientDisconnect):
            producer.result()


async def wait_for_disconnect(receive: Receive) -> None:
    """Read ``receive`` until ``http.disconnect``."""
    while (await receive())["type"] != "http.disconnect":
        pass


# -- responses -----------------------------------------------------------


class Response:
    """A complete response: status, headers and a body rendered up front.

    Subclasses override ``media_type`` and ``render()`` only.
    """

    media_type: ClassVar[str | None] = None
    charset: ClassVar[str] = "utf-8"

    def __init__(
        self,
        content: Any = None,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
    ) -> None:
        if not isinstance(status, int) or not 100 <= status <= 599:
            raise ValueError(f"invalid HTTP status {status!r}")
        self.status = status
        self.headers = MutableHeaders()
        if headers:
            self.headers.update(headers)
        if media_type is not None:
            self.media_type = media_type  # type: ignore[misc]
        self.body = self.render(content)
        self._init_headers()

    def render(self, content: Any) -> bytes:
        if content is None:
            return b""
        if isinstance(content, bytes | bytearray | memoryview):
            return bytes(content)
        if isinstance(content, str):
            return content.encode(self.charset)
        raise TypeError(
            f"{type(self).__name__} content must be str or bytes, got {type(content).__name__}"
        )

    def _init_headers(self) -> None:
        raw = self.headers.raw
        bodyless = self.status < 200 or self.status in (204, 304)
        if not bodyless and all(name != b"content-length" for name, _ in raw):
            raw.append((b"content-length", b"%d" % len(self.body)))
        self._add_content_type()

    def _add_content_type(self) -> None:
        """``media_type`` (with a charset for text) unless a Content-Type is set."""
        raw = self.headers.raw
        if self.media_type is not None and all(name != b"content-type" for name, _ in raw):
            content_type = self.media_type
            if content_type.startswith("text/") and "charset=" not in content_type:
                content_type += f"; charset={self.charset}"
            raw.append(encode_header("content-type", content_type))

    def set_cookie(self, key: str, value: str = "", **options: Any) -> None:
        """Add a ``Set-Cookie`` header; see ``format_cookie`` for the options."""
        self.headers.add("set-cookie", format_cookie(key, value, **options))

    def delete_cookie(
        self, key: str, path: str | None = "/", domain: str | None = None, **options: Any
    ) -> None:
        self.set_cookie(key, "", max_age=0, expires=0, path=path, domain=domain, **options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await response_stream(send, scope).send_all(self.status, self.headers.raw, self.body)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r})"


class PlainTextResponse(Response):
    media_type = "text/plain"


class HTMLResponse(Response):
    media_type = "text/html"


# PERF: json.dumps() with any non-default option builds a new encoder per
# call; one shared encoder (it keeps no state between calls) does not.
_JSON_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _one_shot_encoder() -> Callable[[Any], str]:
    """``_JSON_ENCODER.encode``, minus the C encoder it builds on every call.

    PERF: JSONEncoder.encode() makes a new ``_json.Encoder`` (and a closure)
    per call; this makes one, with the same options, and reuses it. Without
    a circular-reference check: a circular value fails as a RecursionError
    instead of a ValueError. Falls back to encode() where there is no C
    encoder (other Pythons).
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return _JSON_ENCODER.encode
    encode = make(
        None,  # markers: none, so the encoder keeps no state between calls
        _JSON_ENCODER.default,
        json.encoder.encode_basestring,  # ensure_ascii=False
        None,  # indent
        ":",
        ",",
        False,  # sort_keys
        False,  # skipkeys
        False,  # allow_nan
    )
    return lambda content: "".join(encode(content, 0))


_encode_json: Final = _one_shot_encoder()


def json_dumps(content: Any) -> bytes:
    """Compact UTF-8 JSON; NaN, infinities and lone surrogates raise ``ValueError``.

    >>> json_dumps({"hello": "wörld", "n": [1, 2]})
    b'{"hello":"w\\xc3\\xb6rld","n":[1,2]}'
    """
    try:
        return _encode_json(content).encode()
    except ValueError as exc:
        raise _not_json(exc) from None


def json_text(content: Any) -> str:
    """``json_dumps`` as a str, for a WebSocket text message or an SSE line.

    >>> json_text({"hello": "wörld"})
    '{"hello":"wörld"}'
    """
    try:
        text = _encode_json(content)
        if not text.isascii():  # PERF: only non-ASCII text may hold a lone surrogate
            text.encode()
    except ValueError as exc:
        raise _not_json(exc) from None
    return text


def _not_json(exc: ValueError) -> ValueError:
    """The error for a value JSON cannot carry: NaN, an infinity, a lone surrogate."""
    if isinstance(exc, UnicodeEncodeError):
        bad = exc.object[exc.start : exc.end]
        return ValueError(f"cannot encode as JSON: a lone surrogate {bad!r} is no text")
    return ValueError(f"cannot encode as JSON: {exc}")


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json_dumps(content)


# -- returned values -------------------------------------------------------

TEXT_PLAIN: Final = (b"content-type", b"text/plain; charset=utf-8")
OCTET_STREAM: Final = (b"content-type", b"application/octet-stream")
APPLICATION_JSON: Final = (b"content-type", b"application/json")

#: Content-Length headers are cached for bodies shorter than this.
CACHED_LENGTHS: Final = 1024
# PERF: formatting a Content-Length costs as much as the rest of a small
# response's headers; those of the small bodies most answers have are made
# once each and reused, kept by size in a list (indexing it costs ~580
# instructions less than a dict's .get(): python -m benchmarks.count).
LENGTH_HEADERS: Final[list[tuple[bytes, bytes] | None]] = [None] * CACHED_LENGTHS


def length_header(size: int) -> tuple[bytes, bytes]:
    """The ``Content-Length`` header pair for ``size`` (cached below 1024)."""
    header = (b"content-length", b"%d" % size)
    if size < CACHED_LENGTHS:
        LENGTH_HEADERS[size] = header
    return header


class EncodedJSON:
    """A JSON body encoded already (by a typed verb): sent as ``application/json``."""

    __slots__ = ("body",)

    def __init__(self, body: bytes) -> None:
        self.body = body


_encode_msgspec: Final = msgspec.json.Encoder().encode


def _encode_model(value: Any) -> bytes:
    """JSON for what ``json_dumps`` cannot encode: msgspec Structs, dataclasses...

    >>> class Point(msgspec.Struct):
    ...     x: int
    >>> _encode_model([Point(1)])
    b'[{"x":1}]'
    """
    try:
        return _encode_msgspec(value)
    except TypeError:
        raise TypeError(f"returned a value JSON cannot encode: {value!r:.200}") from None


def render_value(
    value: Any, status: int, headers: MutableHeaders | None
) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
    """(status, headers, body) for a value a view returned; None for a ``Response``.

    ``str`` is text, ``bytes`` octets, ``dict``/``list`` JSON, ``None`` no body
    (204 unless another status was set); msgspec Structs and dataclasses are
    JSON too (and inside a dict or list). ``headers`` are the view's own: the
    content type and length are added to them unless already there.
    """
    if isinstance(value, str):
        body = value.encode("utf-8")
        content_type = TEXT_PLAIN
    elif isinstance(value, bytes):
        body, content_type = value, OCTET_STREAM
    elif isinstance(value, dict | list):
        try:
            body = json_dumps(value)
        except TypeError:  # NOTE: a try costs nothing in Python 3.11 until it catches
            body = _encode_model(value)
        content_type = APPLICATION_JSON
    elif value is None:
        status = 204 if status == 200 else status
        raw = headers.raw if headers else []
        if status >= 200 and status not in (204, 304):  # as Response(status=...) does
            raw.append((b"content-length", b"0"))
        return status, raw, b""
    elif isinstance(value, Response):
        return None
    elif type(value) is EncodedJSON:
        body, content_type = value.body, APPLICATION_JSON
    elif isinstance(value, msgspec.Struct) or (
        dataclasses.is_dataclass(value) and not isinstance(value, type)
    ):
        body, content_type = _encode_model(value), APPLICATION_JSON
    else:
        raise TypeError(
            f"returned {type(value).__name__}; return str, bytes, dict, list, None, "
            "a msgspec Struct, a dataclass or a Response"
        )
    size = len(body)
    length = (size < CACHED_LENGTHS and LENGTH_HEADERS[size]) or length_header(size)
    if headers is None:
        return status, [content_type, length], body
    raw = headers.raw
    if all(name != b"content-type" for name, _ in raw):
        raw.append(content_type)
    raw.append(length)
    return status, raw, body


# A scheme is letters, digits, "+", "-", "." before the first ":"; browsers
# drop ASCII tab/newline and leading control characters/spaces first.
_URL_JUNK = re.compile(r"[\x00-\x20\x7f]")
_UNSAFE_SCHEMES = ("javascript:", "data:", "vbscript:")


class RedirectResponse(Response):
    """A redirect to ``url`` (307 by default: the method is kept).

    ``javascript:``/``data:``/``vbscript:`` targets and CR/LF raise ValueError.
    """

    def __init__(
        self, url: str, status: int = 307, headers: Mapping[str, str] | None = None
    ) -> None:
        if status not in (301, 302, 303, 307, 308):
            raise ValueError(f"redirect status must be 301, 302, 303, 307 or 308, got {status!r}")
        if "\r" in url or "\n" in url or "\x00" in url:
            raise ValueError(f"redirect URL contains CR, LF or NUL: {url!r}")
        if _URL_JUNK.sub("", url).lower().startswith(_UNSAFE_SCHEMES):
            raise ValueError(f"refusing to redirect to an unsafe URL scheme: {url!r}")
        super().__init__(b"", status=status, headers=headers)
        self.headers["location"] = quote(url, safe=":/%#?=@[]!$&'()*+,;~")


ContentStream = AsyncIterable[str | bytes] | Iterable[str | bytes]


class StreamingResponse(Response):
    """A body produced chunk by chunk by an (async) iterator.

    Sent with chunked transfer encoding. When the client disconnects, the
    iterator is closed at once (its ``finally`` blocks run).
    """

    def __init__(
        self,
        content: ContentStream,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
    ) -> None:
        self.content = content
        super().__init__(None, status=status, headers=headers, media_type=media_type)

    def _init_headers(self) -> None:
        self._add_content_type()  # no Content-Length: the length is not known

    async def _chunks(self) -> AsyncIterable[bytes]:
        content = self.content
        if isinstance(content, AsyncIterable):
            async for chunk in content:
                yield chunk if isinstance(chunk, bytes) else chunk.encode(self.charset)
        else:
            for chunk in content:
                yield chunk if isinstance(chunk, bytes) else chunk.encode(self.charset)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        out = response_stream(send, scope)
        await out({"type": _START, "status": self.status, "headers": self.headers.raw})
        if out.done:  # a HEAD response: complete with its headers, nothing to produce
            await close_iterator(self.content)
            return
        await until_disconnect(self._send_body(out), scope, receive)

    async def _send_body(self, out: ResponseStream) -> None:
        chunks = self._chunks()
        sent = 0
        try:
            async for chunk in chunks:
                if chunk:
                    await out({"type": _BODY, "body": chunk, "more_body": True})
                    sent += 1
                    if not sent & 15:
                        # NOTE: servers drop sends to a gone client without
                        # suspending; an iterator that never awaits would then
                        # starve the disconnect watcher. Yield now and then.
                        await asyncio.sleep(0)
        finally:
            await chunks.aclose()  # type: ignore[attr-defined]
            await close_iterator(self.content)
        await out({"type": _BODY, "body": b"", "more_body": False})


def response_stream(send: Send, scope: Scope) -> ResponseStream:
    """``send`` itself if it is a ``ResponseStream`` already, else one around it."""
    if isinstance(send, ResponseStream):
        return send
    return ResponseStream.for_scope(send, scope)


async def close_iterator(content: object) -> None:
    """Close a (sync or async) generator now, so its ``finally`` blocks run."""
    aclose = getattr(content, "aclose", None)
    if aclose is not None:
        await aclose()
    elif inspect.isgenerator(content):
        content.close()  # not left for the garbage collector


__all__ = [
    "DONE",
    "IDLE",
    "STARTED",
    "TRAILERS",
    "EncodedJSON",
    "HTMLResponse",
    "JSONResponse",
    "PlainTextResponse",
    "RedirectResponse",
    "Response",
    "ResponseStream",
    "StreamingResponse",
    "format_cookie",
    "render_value",
]
