"""Response classes and the response state machine.

Theory of operation
-------------------
Every HTTP response trane writes, declarative or imperative, passes through
one ``ResponseStream``: a wrapper around the server's ``send`` that checks
each message against a transition table before letting it out::

    IDLE --http.response.start--> STARTED --body(more_body=True)--> STARTED
                                  STARTED --body(more_body=False)-> DONE
                                  STARTED --http.response.pathsend-> DONE

A message with no entry in the table raises ``ResponseStateError`` naming the
state and the message, so "two starts", "body before start" and "anything
after the end" are all caught at the place they happen. The same wrapper
blanks bodies for HEAD requests, so every response class gets HEAD right
(same headers, Content-Length included, no body) without knowing of it.

A ``Response`` is a plain object a view returns; it is also an ASGI 3 app,
``await response(scope, receive, send)``, so it can be sent anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import re
from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from typing import Any, ClassVar, Final
from urllib.parse import quote

from .cookies import format_cookie
from .datastructures import MutableHeaders, encode_header
from .exceptions import ResponseStateError
from .types import Message, Receive, Scope, Send

IDLE: Final = "IDLE"
STARTED: Final = "STARTED"
DONE: Final = "DONE"

_MORE: Final = "http.response.body (more_body=True)"
_LAST: Final = "http.response.body (more_body=False)"

_TRANSITIONS: Final[dict[tuple[str, str], str]] = {
    (IDLE, "http.response.start"): STARTED,
    (STARTED, _MORE): STARTED,
    (STARTED, _LAST): DONE,
    (STARTED, "http.response.pathsend"): DONE,
}

_WHY: Final[dict[str, str]] = {
    IDLE: "the response has not started: send http.response.start first",
    STARTED: "the response has already started",
    DONE: "the response is already complete; nothing may follow it",
}


class ResponseStream:
    """The server's ``send``, guarded by the transition table above."""

    __slots__ = ("_send", "head", "state", "status")

    def __init__(self, send: Send, head: bool = False) -> None:
        self._send = send
        self.head = head
        self.state: str = IDLE
        self.status = 0

    async def send_all(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        """Send a whole response: start, then the body (none for HEAD), then nothing.

        PERF: takes IDLE -> STARTED -> DONE in one step, without building an
        event per message.
        """
        if self.state != IDLE:
            raise ResponseStateError(f"cannot send http.response.start now: {_WHY[self.state]}")
        self.state = DONE
        self.status = status
        send = self._send
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if self.head else body})

    async def __call__(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.body":
            event = _MORE if message.get("more_body", False) else _LAST
            if self.head and message.get("body"):
                message = {**message, "body": b""}
        else:
            event = kind
        try:
            self.state = _TRANSITIONS[self.state, event]
        except KeyError:
            raise ResponseStateError(f"cannot send {event} now: {_WHY[self.state]}") from None
        if event == "http.response.start":
            self.status = message["status"]
        await self._send(message)

    @property
    def started(self) -> bool:
        return self.state != IDLE

    @property
    def done(self) -> bool:
        return self.state == DONE


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
        await send(
            {"type": "http.response.start", "status": self.status, "headers": self.headers.raw}
        )
        await send({"type": "http.response.body", "body": self.body, "more_body": False})

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
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end]
        raise ValueError(f"cannot encode as JSON: a lone surrogate {bad!r} is no text") from None
    except ValueError as exc:  # NaN or an infinity
        raise ValueError(f"cannot encode as JSON: {exc}") from None


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json_dumps(content)


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

    async def _stream(self, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status, "headers": self.headers.raw}
        )
        chunks = self._chunks()
        sent = 0
        try:
            async for chunk in chunks:
                if chunk:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    sent += 1
                    if not sent & 15:
                        # NOTE: servers drop sends to a gone client without
                        # suspending; an iterator that never awaits would then
                        # starve the disconnect watcher. Yield now and then.
                        await asyncio.sleep(0)
        finally:
            await chunks.aclose()  # type: ignore[attr-defined]
            await close_iterator(self.content)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        stream = asyncio.ensure_future(self._stream(send))
        watcher = asyncio.ensure_future(_wait_for_disconnect(receive))
        try:
            done, _ = await asyncio.wait({stream, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watcher.cancel()
            if not stream.done():
                stream.cancel()
        if stream in done:
            stream.result()
            return
        # The client left: let the generator's finally blocks run, then stop.
        with contextlib.suppress(asyncio.CancelledError):
            await stream


async def close_iterator(content: object) -> None:
    """Close a (sync or async) generator now, so its ``finally`` blocks run."""
    aclose = getattr(content, "aclose", None)
    if aclose is not None:
        await aclose()
    elif inspect.isgenerator(content):
        content.close()  # not left for the garbage collector


async def _wait_for_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


__all__ = [
    "HTMLResponse",
    "JSONResponse",
    "PlainTextResponse",
    "RedirectResponse",
    "Response",
    "ResponseStream",
    "StreamingResponse",
    "format_cookie",
]
