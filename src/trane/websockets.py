"""``WebSocketApplication``: one instance per WebSocket connection.

How this works
--------------
``Chat(scope)`` only stores the scope. ``await instance(receive, send)``
reads ``websocket.connect``, checks ``allowed_origins``, opens a channel on
the layer if the class listens to layer events, calls ``connect()`` (which
accepts by default), then loops until the connection is over:

* without a channel the loop is a plain ``await receive()``: an idle
  connection costs its own task and nothing else;
* with one (the class defines event handlers or ``groups``, or called
  ``group_add``) it waits for either of two things through one future: the
  next ASGI message, read by a task made for each, or the next layer event.
  An ``InMemoryChannelLayer`` hands that event to the future itself
  (``notify``), and when several wait the loop takes them all, up to
  ``_AHEAD``, in one go (``receive_ready``): no task per event, one loop turn
  per event at most. Any other layer is read by one task (``_Reader``) for
  the connection's whole life, ``receive()`` after ``receive()``, at most
  ``_AHEAD`` events ahead of the loop (the rest wait in the layer, where its
  capacity applies). The loop runs every hook itself, one at a time, so
  hooks never run concurrently: a client message first, so a disconnect is
  never behind events, then the events in order, with a look at the client
  between two.

Client messages go to ``receive_text`` / ``receive_bytes`` / ``receive_json``
per ``encoding`` (an annotated ``receive_json(self, data: Model)`` gets each
message decoded and checked by msgspec; an invalid one closes with 1007);
layer events to the method named by their type (``"chat.message"`` ->
``chat_message``). Only public methods a subclass adds
are handlers: ``_helpers`` and the API below (``close``, ``send_text``...)
never are, and an event without a handler is logged and dropped rather than
ending the connection (Channels raises instead).

Every outgoing message passes one state table (``_TABLE``, read by
``_advance``): CONNECTING -accept-> CONNECTED -close-> CLOSED, with a precise
``WebSocketStateError`` for anything out of order. Servers report a gone
client differently: uvicorn raises ``ClientDisconnected`` (an ``OSError``)
from ``send``, daphne and hypercorn drop the message and deliver
``websocket.disconnect``, daphne cancels an app that lingers. All of them end
the loop the same way: state DISCONNECTED, groups left, ``disconnect(code)``
called exactly once, nothing logged. An unhandled exception is logged and
closes with 1011. ``disconnect()`` runs exactly once on every other path too:
a client gone before the handshake, a refused origin, a denial, and a
cancellation that arrives while the connection is being cleaned up.

A scope type other than ``websocket``, ``http`` (426) and ``lifespan`` is a
``ValueError``, as the ASGI spec asks.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from typing import Any, ClassVar, Final, Literal

import msgspec

from .compat import as_asgi3
from .datastructures import encode_header
from .delegation import mounted_scope
from .exceptions import HTTPError, TraneError, WebSocketDisconnect
from .layers import InMemoryChannelLayer, get_channel_layer
from .lifespan import serve_trivial_lifespan
from .middleware import Middleware, install_class_stack
from .params import decode_message, message_decoder
from .requests import HTTPConnection, lazy
from .responses import PlainTextResponse, ResponseStream, json_dumps, json_text
from .scopes import unknown_scope
from .strictjson import parse_json
from .types import Message, Receive, Send

logger = logging.getLogger("trane")

HeadersArg = Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]] | None


class WebSocketStateError(TraneError, RuntimeError):
    """A WebSocket method was called in a state that does not allow it."""


# -- the state table -------------------------------------------------------

CONNECTING: Final = "CONNECTING"  # handshake received, not answered yet
CONNECTED: Final = "CONNECTED"  # accepted
CLOSED: Final = "CLOSED"  # we closed or denied
DISCONNECTED: Final = "DISCONNECTED"  # the client is gone

_IGNORE: Final = "IGNORE"  # nothing to send, not an error
_GONE: Final = "GONE"  # the client left: unwind with WebSocketDisconnect

#: state -> {action: next state}; an action missing from a row is an error.
_TABLE: Final[dict[str, dict[str, str]]] = {
    CONNECTING: {"accept": CONNECTED, "close": CLOSED, "deny": CLOSED},
    CONNECTED: {"send": CONNECTED, "close": CLOSED},
    CLOSED: {"close": _IGNORE},
    DISCONNECTED: {"close": _IGNORE, "deny": _IGNORE, "accept": _GONE, "send": _GONE},
}

_WHY: Final = {
    (CONNECTING, "send"): "accept() the connection before sending",
    (CONNECTED, "accept"): "the connection was already accepted",
    (CONNECTED, "deny"): "the connection was already accepted; use close()",
    (CLOSED, "accept"): "the connection was already closed",
    (CLOSED, "deny"): "the connection was already closed",
    (CLOSED, "send"): "the connection was closed with close()",
}

_HOOK_ENCODING: Final[dict[str, Literal["text", "bytes", "json"]]] = {
    "receive_text": "text",
    "receive_bytes": "bytes",
    "receive_json": "json",
}

#: Layer events a connection takes off the layer ahead of its handlers.
_AHEAD: Final = 32

# RFC 6455 section 7.4: the codes an endpoint may put in a close frame.
_CLOSE_CODES: Final = frozenset({1000, 1001, 1002, 1003, *range(1007, 1015)})


def _check_close(code: int, reason: str) -> None:
    if isinstance(code, bool) or not isinstance(code, int):
        raise ValueError(f"WebSocket close code must be an int, got {code!r}")
    if code not in _CLOSE_CODES and not 3000 <= code <= 4999:
        raise ValueError(
            f"invalid WebSocket close code {code!r}: use 1000-1003, 1007-1014 or 3000-4999"
        )
    if len(reason.encode("utf-8")) > 123:
        raise ValueError(f"WebSocket close reason longer than 123 bytes: {reason!r}")


def _encode_headers(headers: HeadersArg) -> list[tuple[bytes, bytes]]:
    if not headers:
        return []
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    raw = []
    for name, value in pairs:
        if isinstance(name, bytes) and isinstance(value, bytes):
            name_s, value_s = name.decode("latin-1"), value.decode("latin-1")
        else:
            name_s, value_s = str(name), str(value)
        raw.append(encode_header(name_s, value_s))
    return raw


def _too_big(data: str | bytes, limit: int) -> bool:
    size = len(data)
    if size <= limit // 4 or (isinstance(data, bytes) and size <= limit):
        return False
    if size > limit:
        return True
    # PERF: only encode text that might be too big (a char is 1 to 4 bytes).
    return isinstance(data, str) and len(data.encode("utf-8", "surrogatepass")) > limit


# -- the view --------------------------------------------------------------


class WebSocketApplication(HTTPConnection):
    """Subclass me: override ``connect``, ``receive_text``... and handlers."""

    # Read by asgiref.compatibility (and so by as_asgi3) to know we are ASGI 2.
    _asgi_double_callable: ClassVar[bool] = True

    #: Which hook gets client messages: ``"text"``, ``"bytes"`` or ``"json"``;
    #: other frames close with 1003 (bad JSON with 1007). ``None``: inferred
    #: from the one ``receive_*`` hook the class defines, else by frame type.
    encoding: ClassVar[Literal["text", "bytes", "json"] | None] = None
    #: The largest message accepted, in bytes (larger: close 1009); None: no limit.
    max_message_size: ClassVar[int | None] = 1024 * 1024
    #: ``Origin`` values allowed to connect (``"*"``: any, even none); others get 403.
    #: ``None`` checks nothing.
    allowed_origins: ClassVar[Iterable[str] | None] = None
    #: Groups joined before ``connect()``; all groups are left on disconnect.
    groups: ClassVar[Sequence[str]] = ()
    #: ASGI middleware around every connection to this class, the first
    #: outermost; inherited (add with ``[*Base.middleware, Middleware(X)]``).
    #: Set in the class body: the stack is built when the class is made.
    #: (``as_asgi3(cls)`` and routes enter that stack directly.)
    middleware: ClassVar[Sequence[Middleware]] = ()

    # Computed per class by __init_subclass__.
    _encoding: ClassVar[str | None] = None
    #: Decodes and checks messages for a typed ``receive_json`` (see params.py).
    _json_decoder: ClassVar[msgspec.json.Decoder[Any] | None] = None
    _event_handlers: ClassVar[frozenset[str]] = frozenset()
    #: Event type -> handler name, for the types seen so far with a handler.
    _handler_names: ClassVar[dict[str, str]] = {}
    _uses_layer: ClassVar[bool] = False
    _origins: ClassVar[frozenset[str] | None] = None

    _receive: Receive
    _send: Send
    _state: str = CONNECTING
    _close_code: int = 1006
    _channel: str | None = None
    _joined: set[str] | None = None
    _recv_task: asyncio.Future[Message] | None = None
    _events: deque[Any]  # layer events taken, not handled yet
    _source: InMemoryChannelLayer | _Reader | None = None  # where events come from
    _wakeup: asyncio.Future[Any] | None = None  # the loop waits on it: None or an event

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        encoding = cls.encoding
        if encoding is None:
            base = WebSocketApplication
            defined = {
                hook
                for hook in ("receive_text", "receive_bytes", "receive_json")
                if getattr(cls, hook) is not getattr(base, hook)
            }
            if "receive_json" in defined and len(defined) > 1:
                raise TypeError(
                    f"{cls.__name__} defines {', '.join(sorted(defined))}: set "
                    "encoding = 'text', 'bytes' or 'json' to say which one receives"
                )
            if len(defined) == 1:
                encoding = _HOOK_ENCODING[defined.pop()]
        elif encoding not in ("text", "bytes", "json"):
            raise TypeError(
                f"{cls.__name__}.encoding must be 'text', 'bytes' or 'json', got {encoding!r}"
            )
        cls._encoding = encoding
        cls._json_decoder = None
        receive_json = inspect.getattr_static(cls, "receive_json", None)
        if encoding == "json" and inspect.isfunction(receive_json):
            cls._json_decoder = message_decoder(receive_json)
        cls._event_handlers = frozenset(
            name
            for name in dir(cls)
            if not name.startswith("_")
            and name not in _RESERVED
            and callable(getattr(cls, name, None))
        )
        cls._handler_names = {}
        cls._uses_layer = bool(cls._event_handlers or cls.groups)
        origins = cls.allowed_origins
        if isinstance(origins, str):
            raise TypeError(f"{cls.__name__}.allowed_origins must be a list of origins, not a str")
        cls._origins = (
            None if origins is None else frozenset(o.lower().rstrip("/") for o in origins)
        )
        install_class_stack(cls)

    # -- the ASGI 2 contract ---------------------------------------------

    async def __call__(self, receive: Receive, send: Send) -> None:
        kind = self.scope["type"]
        if kind != "websocket":
            if kind == "lifespan":
                await serve_trivial_lifespan(receive, send)
            elif kind == "http":
                await UPGRADE_REQUIRED(self.scope, receive, send)
            else:
                raise unknown_scope(kind)
            return
        self._receive = receive
        self._send = send
        try:  # NOTE: whatever happens from here on, _finish() runs disconnect() once
            try:
                if await self._handshake():
                    if self._uses_layer:
                        await self._open_channel()
                        for group in self.groups:
                            await self.group_add(group)
                    await self.connect()
                    if self._state is CONNECTING:
                        await self.close()  # neither accepted nor denied: the server says 403
                    # PERF: the loop is here, not in a method it awaits: every
                    # wake-up resumes each frame of the await chain.
                    while self._state is CONNECTED:
                        channel = self._channel
                        if channel is None:
                            await self._handle(await self._receive())
                        else:
                            await self._serve(channel)
            except WebSocketDisconnect:
                pass
            except Exception as exc:
                await self._fail(exc)
        finally:
            await self._finish()

    async def _handshake(self) -> bool:
        """Read ``websocket.connect`` and check the origin; False: it is over already."""
        message = await self._receive()
        kind = message.get("type")
        if kind == "websocket.disconnect":  # the client left before the handshake
            self._left(message.get("code", 1005))
            return False
        if kind != "websocket.connect":
            raise WebSocketStateError(f"expected ASGI message 'websocket.connect', got {kind!r}")
        origins = self._origins
        if origins is not None and not self._origin_allowed(origins):
            await self.deny(403)
            return False
        return True

    async def _serve(self, channel: str) -> None:
        """Client messages and layer events, one at a time, while connected."""
        loop = asyncio.get_running_loop()
        source = self._source
        assert source is not None  # set with the channel
        events = self._events
        names = self._handler_names
        while self._state is CONNECTED:
            recv = self._recv_task
            if recv is None:
                recv = self._recv_task = asyncio.ensure_future(self._receive())
                recv.add_done_callback(self._wake)
            if not events and not recv.done():
                wakeup = self._wakeup = loop.create_future()
                # PERF: the layer hands the next event to this loop itself, no
                # task in between (one loop turn per event, not two), or wakes
                # it at once if events wait already.
                source.notify(channel, wakeup)
                try:
                    event = await wakeup
                finally:
                    self._wakeup = None
                if event is not None:
                    events.append(event)
                else:
                    events.extend(source.receive_ready(channel, _AHEAD))
            if recv.done():  # NOTE: client first, so a disconnect is never behind events
                self._recv_task = None
                await self._handle(recv.result())
            elif events:  # PERF: the rest of a burst runs without waiting again
                event = events.popleft()
                try:  # PERF: a type handled before costs one dict lookup
                    handler: Callable[[Any], Awaitable[None]] | None = getattr(
                        self, names[event["type"]]
                    )
                except (KeyError, TypeError):
                    handler = self._handler(event)
                if handler is not None:
                    await handler(event)

    def _wake(self, _: object = None) -> None:
        """Wake the loop: the client's message is in."""
        wakeup = self._wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    async def _handle(self, message: Message) -> None:
        data = await self._read(message)
        if data is None:
            return
        encoding = self._encoding
        if encoding is None:
            if isinstance(data, str):
                await self.receive_text(data)
            else:
                await self.receive_bytes(data)
        elif encoding == "json":
            decoder = self._json_decoder
            if decoder is not None:  # receive_json's parameter is annotated: check it
                obj, why = decode_message(decoder, data)
                if why:
                    await self.close(1007, why)
                    return
            else:
                try:
                    obj = parse_json(data)
                except (ValueError, RecursionError):
                    await self.close(1007, "invalid JSON")
                    return
            await self.receive_json(obj)
        elif encoding == "text":
            if isinstance(data, str):
                await self.receive_text(data)
            else:
                await self.close(1003, "expected text messages")
        elif isinstance(data, bytes):
            await self.receive_bytes(data)
        else:
            await self.close(1003, "expected binary messages")

    async def _read(self, message: Message) -> str | bytes | None:
        """The data of a ``websocket.receive``; None if the connection ended."""
        kind = message["type"]
        if kind == "websocket.disconnect":
            self._left(message.get("code", 1005))
            return None
        if kind != "websocket.receive":
            raise WebSocketStateError(f"unexpected ASGI message {kind!r} after the handshake")
        data: str | bytes | None = message.get("text")
        if data is None:
            data = message.get("bytes") or b""
        limit = self.max_message_size
        if limit is not None and _too_big(data, limit):
            await self.close(1009, f"message larger than {limit} bytes")
            return None
        return data

    def _handler(self, event: Any) -> Callable[[Any], Awaitable[None]] | None:
        """The method for a layer event, by its type; None (logged) if there is none."""
        kind = event.get("type") if isinstance(event, dict) else None
        if isinstance(kind, str):
            name = kind.replace(".", "_")
            if name in self._event_handlers:
                type(self)._handler_names[kind] = name
                handler: Callable[[Any], Awaitable[None]] = getattr(self, name)
                return handler
        logger.error(
            "%s has no handler for channel layer event type %r; dropped it",
            type(self).__name__,
            kind,
        )
        return None

    async def _fail(self, exc: Exception) -> None:
        if isinstance(exc, HTTPError) and self._state is CONNECTING:
            # A refusal before accept (a disallowed Host, a check in connect()): its status.
            try:
                await self.deny(exc.status, exc.detail or exc.phrase, exc.headers)
                return
            except Exception as bad:  # e.g. a header value deny() refuses: a failure after all
                exc = bad
        logger.error(
            "Exception in %s handling WebSocket %s",
            type(self).__name__,
            self.scope.get("path"),
            exc_info=exc,
        )
        with suppress(Exception):
            if self._state is CONNECTING:
                await self.deny(500)
            elif self._state is CONNECTED:
                await self.close(1011)
        if self._state is not DISCONNECTED:
            self._close_code = 1011

    async def _finish(self) -> None:
        """Stop waiting, leave the groups, run ``disconnect()`` once.

        A cancellation (daphne cancels an app that lingers) that arrives
        while this cleans up is held back until ``disconnect()`` has run.
        """
        cancelled: asyncio.CancelledError | None = None
        source, reader = self._source, None
        if source is not None and self._channel is not None:
            source.notify(self._channel, None)
            reader = source.task if isinstance(source, _Reader) else None
        pending = [t for t in (self._recv_task, reader) if t is not None]
        self._recv_task = None
        for task in pending:
            task.cancel()
            task.add_done_callback(_retrieve)
        if pending:
            try:
                await asyncio.wait(pending)
            except asyncio.CancelledError as exc:
                cancelled = exc
        if self._state is CONNECTED or self._state is CONNECTING:
            self._state = DISCONNECTED  # cancelled (daphne does that): the end anyway
        for group in list(self._joined or ()):
            try:
                await self.group_discard(group)
            except asyncio.CancelledError as exc:
                cancelled = exc
            except Exception as exc:
                logger.error("Could not leave group %r", group, exc_info=exc)
        try:
            await self.disconnect(self._close_code)
        except Exception as exc:
            logger.error("Exception in %s.disconnect", type(self).__name__, exc_info=exc)
        if cancelled is not None:
            raise cancelled

    def _origin_allowed(self, allowed: frozenset[str]) -> bool:
        if "*" in allowed:
            return True
        origin = self.headers.get("origin")
        return origin is not None and origin.lower().rstrip("/") in allowed

    # -- hooks: override these -------------------------------------------

    async def connect(self) -> None:
        """The client asks to connect: ``accept()`` (the default) or ``deny()``."""
        await self.accept()

    async def receive_text(self, text: str) -> None:
        """A text message arrived."""

    async def receive_bytes(self, data: bytes) -> None:
        """A binary message arrived."""

    async def receive_json(self, data: Any) -> None:
        """A JSON message arrived (``encoding = "json"``)."""

    async def disconnect(self, code: int) -> None:
        """The connection is over: runs once, after the groups were left.

        ``code`` is the client's close code, or yours from ``close()``, 1011
        after an unhandled exception, 1006 if the connection dropped or was
        denied.
        """

    # -- sending ---------------------------------------------------------

    def _advance(self, action: str) -> bool:
        """Move the state machine; False if there is nothing to send."""
        state = self._state
        new = _TABLE[state].get(action)
        if new is None:
            why = _WHY.get((state, action), f"not allowed while {state.lower()}")
            raise WebSocketStateError(f"{type(self).__name__}: cannot {action}: {why}")
        if new is _IGNORE:
            return False
        if new is _GONE:
            raise WebSocketDisconnect(self._close_code)
        self._state = new
        return True

    async def _emit(self, message: Message) -> None:
        try:
            await self._send(message)
        except OSError:  # uvicorn's ClientDisconnected: the client is gone
            self._gone()

    def _gone(self) -> None:
        """The server said the client is gone: unwind with ``WebSocketDisconnect``."""
        self._left(1006)
        raise WebSocketDisconnect(1006) from None

    def _left(self, code: int) -> None:
        """The client is gone: state DISCONNECTED, ``code`` for ``disconnect()``."""
        self._state = DISCONNECTED
        self._close_code = code

    @property
    def subprotocols(self) -> list[str]:
        """The subprotocols the client offered, in its order of preference."""
        return list(self.scope.get("subprotocols") or ())

    async def accept(self, subprotocol: str | None = None, headers: HeadersArg = None) -> None:
        """Complete the handshake, choosing one of the client's subprotocols."""
        if subprotocol is not None and subprotocol not in self.subprotocols:
            raise ValueError(
                f"subprotocol {subprotocol!r} was not offered by the client "
                f"(offered: {self.subprotocols!r})"
            )
        raw = _encode_headers(headers)
        if any(name == b"sec-websocket-protocol" for name, _ in raw):
            raise ValueError("pass the subprotocol as accept(subprotocol=...), not as a header")
        self._advance("accept")
        message: Message = {"type": "websocket.accept", "subprotocol": subprotocol}
        if raw:
            message["headers"] = raw
        await self._emit(message)

    async def deny(
        self, status: int = 403, body: bytes | str = b"", headers: HeadersArg = None
    ) -> None:
        """Refuse the handshake with an HTTP response.

        The status, body and headers reach the client where the server offers
        the ``websocket.http.response`` extension (uvicorn, hypercorn);
        elsewhere (daphne) the server answers 403 with no body.
        """
        if isinstance(status, bool) or not isinstance(status, int) or not 300 <= status <= 599:
            raise ValueError(f"deny() status must be 300-599, got {status!r}")
        payload = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        raw = _encode_headers(headers)
        if not self._advance("deny"):
            return
        self._close_code = 1006  # no WebSocket close frame was ever exchanged
        if "websocket.http.response" not in (self.scope.get("extensions") or {}):
            await self._emit({"type": "websocket.close", "code": 1000})
            return
        # NOTE: the HTTP answer takes trane's one way out, renamed for the extension.
        response = PlainTextResponse(payload, status=status)
        names = {name for name, _ in raw}
        response.headers.raw = raw + [p for p in response.headers.raw if p[0] not in names]
        await response(self.scope, self._receive, ResponseStream(_denial(self._emit)))

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection (before accept: the server answers 403).

        Closing again, or after the client left, does nothing. A server that
        refuses to send a protocol code (daphne sends only 1000 and 3000-4999)
        closes with 1000 instead.
        """
        _check_close(code, reason)
        if not self._advance("close"):
            return
        self._close_code = code
        try:
            await self._emit({"type": "websocket.close", "code": code, "reason": reason})
        except WebSocketDisconnect:
            raise
        except Exception:
            if not 1000 < code < 3000:
                raise
            # NOTE: autobahn, under daphne, raises for 1001-2999 (daphne#374).
            await self._emit({"type": "websocket.close", "code": 1000, "reason": reason})

    async def send_text(self, text: str) -> None:
        if not isinstance(text, str):
            raise TypeError(f"send_text() takes a str, got {type(text).__name__}")
        if self._state is not CONNECTED:
            self._advance("send")
        try:  # PERF: _emit inlined, one coroutine less per message
            await self._send({"type": "websocket.send", "text": text})
        except OSError:
            self._gone()

    async def send_bytes(self, data: bytes) -> None:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"send_bytes() takes bytes, got {type(data).__name__}")
        if self._state is not CONNECTED:
            self._advance("send")
        await self._emit({"type": "websocket.send", "bytes": bytes(data)})

    async def send_json(self, data: Any, binary: bool = False) -> None:
        """Send ``data`` as compact JSON, in a text (or binary) message.

        NaN, infinities and lone surrogates raise ``ValueError``.
        """
        # PERF: json_text/json_dumps reuse one encoder; json.dumps() with options
        # builds one per call (4.1 -> 1.6 us per send_json of a 2-key dict).
        if binary:
            await self.send_bytes(json_dumps(data))  # NOTE: encoded once, not checked then encoded
            return
        text = json_text(data)
        if self._state is not CONNECTED:
            self._advance("send")
        try:  # PERF: _emit inlined, one coroutine less per message
            await self._send({"type": "websocket.send", "text": text})
        except OSError:
            self._gone()

    # -- handing the connection on ------------------------------------------

    async def delegate(self, app: Any, *, prefix: str | None = None) -> None:
        """Hand this connection to ``app`` (any ASGI 2 or 3 app), in ``connect()``.

        For after the class's own checks, before ``accept()``: ``app`` gets
        the ``websocket.connect`` this class read, then the client's messages;
        what it sends passes this class's state table (``websocket.http.response``
        only where the server offers it). When it returns the connection is
        over (closed with 1000 if it left it open) and ``disconnect()`` runs as
        usual. The scope is the one a ``Mount`` would give (see trane.delegation).
        """
        state = self._state  # NOTE: a local, so that mypy does not narrow self._state
        if state is not CONNECTING:
            raise WebSocketStateError(
                f"{type(self).__name__}: cannot delegate(): only in connect(), before accept()"
            )
        scope = mounted_scope(self.scope, prefix)
        connect: Message | None = {"type": "websocket.connect"}
        denial: ResponseStream | None = None  # the HTTP answer of a denial, once started

        async def receive() -> Message:
            nonlocal connect
            if connect is not None:
                message, connect = connect, None
                return message
            message = await self._receive()
            if message["type"] == "websocket.disconnect":
                self._left(message.get("code", 1005))
            return message

        async def send(message: Message) -> None:
            nonlocal denial
            kind = message["type"]
            if denial is not None and kind == "websocket.http.response.body":
                await denial({**message, "type": "http.response.body"})
                return
            action = _DELEGATED_ACTIONS.get(kind)
            if action is None:
                raise WebSocketStateError(f"unexpected ASGI message {kind!r} from {app!r}")
            if action == "deny" and "websocket.http.response" not in (
                self.scope.get("extensions") or {}
            ):
                raise WebSocketStateError(
                    f"{kind!r}: the server did not offer the 'websocket.http.response' extension"
                )
            try:
                if not self._advance(action):
                    return
            except WebSocketDisconnect:
                raise OSError("the client is gone (ASGI spec 2.4)") from None
            if action == "deny":  # NOTE: the HTTP answer takes trane's one way out
                self._close_code = 1006
                denial = ResponseStream(_denial(self._send))
                await denial({**message, "type": "http.response.start"})
                return
            if action == "close":
                self._close_code = message.get("code", 1000)
            try:
                await self._send(message)
            except OSError:
                self._left(1006)
                raise

        try:
            await as_asgi3(app)(scope, receive, send)
        except OSError:
            if self._state is not DISCONNECTED:
                raise
        if self._state is CONNECTED:
            await self.close()  # what the server does when an app returns

    # -- receiving imperatively --------------------------------------------

    async def receive(self) -> str | bytes:
        """Wait for the next client message (str or bytes) outside the hooks.

        Raises ``WebSocketDisconnect`` if the client leaves meanwhile (the
        loop then ends as usual), ``WebSocketStateError`` if it already left.
        """
        state = self._state
        if state is not CONNECTED:
            why = {
                CONNECTING: "accept() the connection first",
                CLOSED: "the connection was closed with close()",
                DISCONNECTED: "the client already disconnected",
            }[state]
            raise WebSocketStateError(f"{type(self).__name__}: cannot receive: {why}")
        task = self._recv_task
        if task is not None:  # the loop was already waiting for it
            self._recv_task = None
            message = await task
        else:
            message = await self._receive()
        data = await self._read(message)
        if data is None:
            raise WebSocketDisconnect(self._close_code, message.get("reason") or "")
        return data

    # -- the channel layer -------------------------------------------------

    @lazy
    def channel_layer(self) -> Any:
        """The layer: ``Router(channel_layer=...)``, Channels' or in-memory."""
        return get_channel_layer(self.scope)

    @property
    def channel_name(self) -> str:
        """This connection's channel on the layer, for ``layer.send(...)``."""
        if self._channel is None:
            raise WebSocketStateError(
                f"{type(self).__name__} has no channel: it defines no event handlers; "
                "await self.group_add(...) first"
            )
        return self._channel

    async def _open_channel(self) -> str:
        channel = self._channel
        if channel is None:
            layer = self.channel_layer
            channel = self._channel = await layer.new_channel()
            self._events = deque()
            self._source = layer if isinstance(layer, InMemoryChannelLayer) else _Reader(layer)
        return channel

    async def group_add(self, group: str) -> None:
        """Join ``group``: its ``group_send`` events reach this connection."""
        channel = await self._open_channel()
        await self.channel_layer.group_add(group, channel)
        if self._joined is None:
            self._joined = set()
        self._joined.add(group)

    async def group_discard(self, group: str) -> None:
        """Leave ``group`` (done for every group on disconnect)."""
        if self._channel is not None:
            await self.channel_layer.group_discard(group, self._channel)
        if self._joined:
            self._joined.discard(group)

    async def group_send(self, group: str, event: dict[str, Any]) -> None:
        """Send ``event`` to every member of ``group``, in any process.

        ``event["type"]`` names the handler: ``"chat.message"`` calls
        ``chat_message(event)`` on each member.
        """
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise TypeError(f"group_send() takes a dict with a str 'type', got {event!r}")
        await self.channel_layer.group_send(group, event)


#: Names that are never event handlers: the base API and its machinery.
_RESERVED: Final = frozenset(dir(WebSocketApplication))


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Read a finished task's outcome, so that asyncio never logs it as lost."""
    if not task.cancelled():
        task.exception()


class _Reader:
    """``notify()`` and ``receive_ready()`` over any Channels layer, for the loop.

    ``InMemoryChannelLayer`` offers both itself. For another layer one task,
    started by the first ``notify()``, calls ``receive()`` again and again for
    the connection's whole life: it hands each event to the waiting loop, or
    queues it while the loop is busy, and pauses while ``_AHEAD`` are queued
    (the rest wait in the layer, where its capacity applies). If the layer
    raises, the loop is woken and its next ``notify()`` raises the same.
    ``notify(channel, None)`` cancels the task.
    """

    __slots__ = ("events", "layer", "room", "task", "watcher")

    def __init__(self, layer: Any) -> None:
        self.layer = layer
        self.events: deque[Any] = deque()
        self.watcher: asyncio.Future[Any] | None = None
        self.room: asyncio.Future[None] | None = None  # the task waits on it
        self.task: asyncio.Future[None] | None = None

    def notify(self, channel: str, watcher: asyncio.Future[Any] | None) -> None:
        self.watcher = watcher
        task = self.task
        if watcher is None:
            if task is not None:
                task.cancel()
        elif task is None:
            task = self.task = asyncio.ensure_future(self._read(channel))
            task.add_done_callback(self._ended)
        elif self.events:
            watcher.set_result(None)
        elif task.done():
            task.result()  # raise what ended it, once the events before are handled

    def receive_ready(self, channel: str, limit: int) -> list[Any]:
        events = self.events
        batch = [events.popleft() for _ in range(min(limit, len(events)))]
        room = self.room
        if room is not None and not events:
            self.room = None
            room.set_result(None)
        return batch

    async def _read(self, channel: str) -> None:
        receive = self.layer.receive
        events = self.events
        loop = asyncio.get_running_loop()
        while True:
            if len(events) >= _AHEAD:
                room = self.room = loop.create_future()
                await room
            event = await receive(channel)
            watcher = self.watcher
            if watcher is None or watcher.done():
                events.append(event)
            elif event is not None:  # NOTE: a waiting watcher means no event is queued
                watcher.set_result(event)
            else:  # a result of None means "look": the loop logs and drops it from there
                events.append(event)
                watcher.set_result(None)

    def _ended(self, _: object) -> None:
        watcher = self.watcher
        if watcher is not None and not watcher.done():
            watcher.set_result(None)


#: The answer to a plain HTTP request for a WebSocket endpoint.
UPGRADE_REQUIRED: Final = PlainTextResponse(
    "This endpoint speaks WebSocket only.",
    status=426,
    headers={"upgrade": "websocket", "connection": "Upgrade"},
)


#: What each message a delegated app sends does in the state table.
_DELEGATED_ACTIONS: Final = {
    "websocket.accept": "accept",
    "websocket.send": "send",
    "websocket.close": "close",
    "websocket.http.response.start": "deny",
}


def _denial(emit: Send) -> Send:
    """A ``send`` that passes ``http.response.*`` on as ``websocket.http.response.*``."""

    async def send(message: Message) -> None:
        await emit({**message, "type": "websocket." + message["type"]})

    return send


__all__ = ["WebSocketApplication", "WebSocketStateError"]
