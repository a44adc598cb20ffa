"""``TestClient``: test an app in-process, through httpx, the way a server runs it.

::

    async with TestClient(app) as client:      # runs the lifespan
        response = await client.get("/hello/world")
        assert response.status_code == 200
        async with client.websocket_connect("/ws") as ws:
            await ws.send_text("hi")
            assert await ws.receive_text() == "hi"

The app is anything ``as_asgi3`` accepts: a trane class or router, a legacy
ASGI 2 app or an ASGI 3 one. Requests go through an httpx transport that runs
the app in a task of its own and streams the response, so ``client.stream()``
works on endless responses (server-sent events) and leaving the ``with``
block is a client disconnect, as the app sees it from a real server. A
response is complete once the app has returned, so work scheduled with
``after_response`` has run by the time ``await client.get(...)`` returns.
Exceptions the app raises are raised in the test (``raise_app_exceptions``).

The client is at least as strict as the servers: a message out of the ASGI
order (a second final body, anything after the response is complete, an
unknown type, a WebSocket send before accept or after close, an unknown
answer to a lifespan event) raises ``RuntimeError`` in the app, as uvicorn
does, and in the test, even if the app caught it. WebSockets offer the
``websocket.http.response`` extension, so ``deny()`` reaches the test as a
``WebSocketDenied`` carrying the response.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, Final

try:
    import httpx
except ImportError:  # pragma: no cover - httpx is in the test extra the suite runs with
    raise ImportError("trane.testing needs httpx: pip install httpx") from None

from .compat import as_asgi3
from .exceptions import WebSocketDisconnect
from .types import ASGI3App, Message, Scope

_APP_DONE: Final = object()
_ASGI: Final = {"version": "3.0", "spec_version": "2.4"}


async def _next_message(
    queue: asyncio.Queue[Message], task: asyncio.Future[None], timeout: float | None
) -> Message | None:
    """The next message the app sends, or None once the app has returned."""
    getter = asyncio.ensure_future(queue.get())
    waiting: set[asyncio.Future[Any]] = {getter, task}
    try:
        done, _ = await asyncio.wait(waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not getter.done():
            getter.cancel()
    if getter in done:
        return getter.result()
    if task in done:
        return None
    raise TimeoutError(f"the app sent nothing within {timeout}s")


async def _stop(task: asyncio.Future[None], timeout: float) -> None:
    """Give the app ``timeout`` seconds to return, then cancel it and complain."""
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if not done:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        raise TimeoutError(f"the app was still running {timeout}s after the client left")


class _ResponseBody(httpx.AsyncByteStream):
    def __init__(self, transport: _Transport, app: _AppCall) -> None:
        self.transport = transport
        self.app = app

    async def __aiter__(self) -> AsyncIterator[bytes]:
        app = self.app
        while True:
            getter = asyncio.ensure_future(app.body.get())
            try:
                done, _ = await asyncio.wait({getter}, timeout=app.read_timeout)
            finally:
                if not getter.done():
                    getter.cancel()
            if not done:
                raise httpx.ReadTimeout(f"no response data from the app in {app.read_timeout}s")
            item = getter.result()
            if item is None:
                return
            if item is _APP_DONE:
                self.transport.raise_from(app)
                raise httpx.RemoteProtocolError("the app returned without finishing the response")
            assert isinstance(item, bytes)
            yield item

    async def aclose(self) -> None:
        self.app.disconnected.set()  # what the app's receive() now answers
        await _stop(self.app.task, self.transport.app_timeout)
        self.transport.raise_from(self.app)


class _AppCall:
    """The state of one HTTP request the app is answering."""

    def __init__(self, request: httpx.Request) -> None:
        self.request = request
        self.disconnected = asyncio.Event()
        self.complete = False
        self.start: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self.body: asyncio.Queue[object] = asyncio.Queue()
        self.task: asyncio.Future[None]
        self.raised = False
        self.complete = False  # the final http.response.body was sent
        #: The first protocol error the app made: raised in the test even if
        #: the app caught it when its send() raised it.
        self.violation: RuntimeError | None = None
        timeouts = request.extensions.get("timeout", {})
        self.read_timeout: float | None = timeouts.get("read")


class _Transport(httpx.AsyncBaseTransport):
    """Runs ``app`` for each request; streams what it sends back to httpx."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    @property
    def app_timeout(self) -> float:
        return self.client.app_timeout

    def raise_from(self, call: _AppCall) -> None:
        task = call.task
        if not task.done() or task.cancelled() or call.raised:
            return
        exc = task.exception() or call.violation
        if exc is not None and self.client.raise_app_exceptions:
            call.raised = True
            raise exc

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        call = _AppCall(request)
        scope = self.client._scope("http", request.url, request.headers.raw)
        scope["method"] = request.method
        chunks = request.stream.__aiter__()
        request_done = False
        head = request.method == "HEAD"

        async def receive() -> Message:
            nonlocal request_done
            if not request_done:
                try:
                    chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    request_done = True
                    return {"type": "http.request", "body": b"", "more_body": False}
                return {"type": "http.request", "body": chunk, "more_body": True}
            await call.disconnected.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            # NOTE: at least as strict as uvicorn, which raises for each of these.
            kind = message.get("type")
            error = None
            if call.complete:
                error = f"the app sent {kind!r} after the response was complete"
            elif kind == "http.response.start":
                if call.start.done():
                    error = "the app sent 'http.response.start' twice"
            elif kind != "http.response.body":
                error = f"the app sent an unexpected {kind!r} message"
            elif not call.start.done():
                error = "the app sent 'http.response.body' before 'http.response.start'"
            if error is not None:
                violation = RuntimeError(error)
                call.violation = call.violation or violation
                raise violation
            if kind == "http.response.start":
                call.start.set_result(message)
                return
            if not message.get("more_body", False):
                call.complete = True
            if call.disconnected.is_set():
                raise OSError("the client has gone")  # as ASGI spec 2.4 (the scope's) asks
            body = message.get("body", b"")
            if body and not head:
                call.body.put_nowait(bytes(body))
            if call.complete:
                call.body.put_nowait(None)
                call.disconnected.set()

        call.task = asyncio.ensure_future(self.client.app(scope, receive, send))
        call.task.add_done_callback(lambda _: call.body.put_nowait(_APP_DONE))
        waiting: set[asyncio.Future[Any]] = {call.start, call.task}
        done, _ = await asyncio.wait(
            waiting, timeout=call.read_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if not call.start.done():
            call.disconnected.set()
            if not done:
                call.task.cancel()
                raise httpx.ReadTimeout(f"the app did not answer within {call.read_timeout}s")
            self.raise_from(call)
            return httpx.Response(500, request=request)  # as a server would answer
        start = call.start.result()
        return httpx.Response(
            start["status"],
            headers=list(start.get("headers", [])),
            stream=_ResponseBody(self, call),
            request=request,
        )


class WebSocketDenied(WebSocketDisconnect):
    """The app refused the handshake with an HTTP response (``deny()``).

    ``response`` is that response, as an ``httpx.Response``. Like any
    refused handshake it is also a ``WebSocketDisconnect`` (code 1006: no
    close frame was ever exchanged).
    """

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(1006, f"handshake denied with HTTP {response.status_code}")
        self.response = response


# What the app may send next, by what it sent so far (the ASGI WebSocket order).
_HANDSHAKE: Final = "HANDSHAKE"
_OPEN: Final = "OPEN"
_DENYING: Final = "DENYING"
_CLOSED: Final = "CLOSED"
_NEXT: Final[dict[str, dict[str, str]]] = {
    _HANDSHAKE: {
        "websocket.accept": _OPEN,
        "websocket.close": _CLOSED,
        "websocket.http.response.start": _DENYING,
    },
    _OPEN: {"websocket.send": _OPEN, "websocket.close": _CLOSED},
    _DENYING: {"websocket.http.response.body": _DENYING},
    _CLOSED: {},
}


class WebSocketSession:
    """The client end of an in-process WebSocket (``client.websocket_connect``).

    What the app sends is checked against the ASGI order, as uvicorn does: a
    message out of order raises ``RuntimeError`` in the app, and again in the
    test. Once the client has disconnected, the app's sends raise
    ``ConnectionResetError`` (an ``OSError``, as ASGI 2.4 servers raise).
    """

    def __init__(self, client: TestClient, scope: Scope) -> None:
        self.client = client
        self.scope = scope
        self.accepted_subprotocol: str | None = None
        self.accept_headers: list[tuple[bytes, bytes]] = []
        self.close_code: int | None = None
        self.close_reason = ""
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Future[None] | None = None
        self._order = _HANDSHAKE
        self._left = False  # the client sent websocket.disconnect
        self._violation: RuntimeError | None = None

    async def _send(self, message: Message) -> None:
        """The app's ``send``: check the order, then hand the message to the test."""
        kind = message.get("type")
        allowed = _NEXT[self._order]
        if not self._denials:  # the extension was not offered
            allowed = {k: v for k, v in allowed.items() if not k.startswith("websocket.http.")}
        after = allowed.get(kind) if isinstance(kind, str) else None
        if after is None:
            expected = " or ".join(map(repr, allowed)) or "nothing"
            violation = RuntimeError(f"the app sent {kind!r} where ASGI allows {expected}")
            self._violation = self._violation or violation
            raise violation
        if self._left:  # as uvicorn: every send after the client left raises
            raise ConnectionResetError("the test client has disconnected")
        if kind == "websocket.http.response.body" and not message.get("more_body", False):
            after = _CLOSED  # the denial response is complete
        self._order = after
        await self._from_app.put(message)

    @property
    def _denials(self) -> bool:
        return "websocket.http.response" in (self.scope.get("extensions") or {})

    async def _connect(self) -> None:
        self._to_app.put_nowait({"type": "websocket.connect"})
        self._task = asyncio.ensure_future(
            self.client.app(self.scope, self._to_app.get, self._send)
        )
        message = await self._next()
        if message["type"] == "websocket.accept":
            self.accepted_subprotocol = message.get("subprotocol")
            self.accept_headers = list(message.get("headers", []))
            return
        refusal: WebSocketDisconnect
        if message["type"] == "websocket.http.response.start":
            body = b""
            more = True
            while more:
                part = await self._next()
                if part["type"] != "websocket.http.response.body":  # the app returned
                    raise RuntimeError("the app returned without finishing its denial response")
                body += part.get("body", b"")
                more = part.get("more_body", False)
            headers = list(message.get("headers", []))
            refusal = WebSocketDenied(
                httpx.Response(message["status"], headers=headers, content=body)
            )
        else:
            refusal = WebSocketDisconnect(message.get("code", 1000), message.get("reason") or "")
        # As servers do, the app's next receive() says the connection is over.
        self._to_app.put_nowait({"type": "websocket.disconnect", "code": 1006})
        await self._finish()
        raise refusal

    async def _next(self) -> Message:
        assert self._task is not None
        message = await _next_message(self._from_app, self._task, self.client.app_timeout)
        if message is None:
            self._raise_app_error()
            message = {"type": "websocket.close", "code": 1006}  # ended without a close
        if message["type"] == "websocket.close":
            self.close_code = message.get("code", 1000)
            self.close_reason = message.get("reason") or ""
        return message

    def _raise_app_error(self) -> None:
        task = self._task
        assert task is not None
        assert task.done()
        if task.cancelled():
            return
        exc = task.exception() or self._violation
        if exc is not None and self.client.raise_app_exceptions:
            raise exc

    async def send_text(self, text: str) -> None:
        await self._to_app.put({"type": "websocket.receive", "text": text})

    async def send_bytes(self, data: bytes) -> None:
        await self._to_app.put({"type": "websocket.receive", "bytes": data})

    async def send_json(self, data: Any) -> None:
        await self.send_text(json.dumps(data))

    async def receive(self) -> Message:
        """The next ``websocket.send`` message; ``WebSocketDisconnect`` on a close."""
        if self.close_code is not None:
            raise WebSocketDisconnect(self.close_code, self.close_reason)
        message = await self._next()
        if message["type"] == "websocket.close":
            raise WebSocketDisconnect(self.close_code or 1000, self.close_reason)
        return message

    async def receive_text(self) -> str:
        message = await self.receive()
        text = message.get("text")
        if text is None:
            raise TypeError(f"expected a text message, got {message!r}")
        return str(text)

    async def receive_bytes(self) -> bytes:
        message = await self.receive()
        data = message.get("bytes")
        if data is None:
            raise TypeError(f"expected a binary message, got {message!r}")
        return bytes(data)

    async def receive_json(self) -> Any:
        message = await self.receive()
        text = message.get("text")
        return json.loads(text if text is not None else message["bytes"])

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Disconnect (the app receives ``websocket.disconnect``) and wait for the app."""
        assert self._task is not None
        if not self._task.done():
            self._left = True
            await self._to_app.put({"type": "websocket.disconnect", "code": code, "reason": reason})
        if self.close_code is None:
            self.close_code = code
        await self._finish()

    async def _finish(self) -> None:
        assert self._task is not None
        await _stop(self._task, self.client.app_timeout)
        self._raise_app_error()


class _WebSocketConnect:
    def __init__(self, session: WebSocketSession) -> None:
        self.session = session

    async def __aenter__(self) -> WebSocketSession:
        await self.session._connect()
        return self.session

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.session.close()


class TestClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` wired to ``app`` in-process; see the module docstring."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    def __init__(
        self,
        app: Any,
        base_url: str = "http://testserver",
        *,
        raise_app_exceptions: bool = True,
        lifespan: bool = True,
        client: tuple[str, int] = ("testclient", 50000),
        app_timeout: float = 10.0,
        **kwargs: Any,
    ) -> None:
        self.app: ASGI3App = as_asgi3(app)
        self.raise_app_exceptions = raise_app_exceptions
        self.app_timeout = app_timeout
        #: The lifespan state; every request scope gets a shallow copy.
        self.app_state: dict[str, Any] = {}
        self._client_address = client
        self._run_lifespan = lifespan
        self._lifespan_task: asyncio.Future[None] | None = None
        self._lifespan_in: asyncio.Queue[Message] = asyncio.Queue()
        self._lifespan_out: asyncio.Queue[Message] = asyncio.Queue()
        super().__init__(transport=_Transport(self), base_url=base_url, **kwargs)

    async def __aenter__(self) -> TestClient:
        await super().__aenter__()
        if self._run_lifespan:
            await self._startup()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        try:
            await self._shutdown()
        finally:
            await super().__aexit__(exc_type, exc_value, traceback)

    def websocket_connect(
        self,
        path: str,
        *,
        subprotocols: list[str] | None = None,
        headers: dict[str, str] | None = None,
        denial_response: bool = True,
    ) -> _WebSocketConnect:
        """``async with client.websocket_connect("/ws") as ws:`` opens a WebSocket.

        A refused handshake raises ``WebSocketDisconnect``; one refused with an
        HTTP response (``deny()``) raises ``WebSocketDenied``, which carries it.
        ``denial_response=False`` does not offer the ``websocket.http.response``
        extension (as daphne), so a denial arrives as a close.
        """
        url = self.base_url.join(path)
        raw = [
            (b"connection", b"upgrade"),
            (b"upgrade", b"websocket"),
            (b"sec-websocket-version", b"13"),
            (b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ=="),
        ]
        if subprotocols:
            raw.append((b"sec-websocket-protocol", ", ".join(subprotocols).encode("latin-1")))
        raw += httpx.Headers(headers or {}).raw
        scope = self._scope("websocket", url, raw)
        scope["scheme"] = "wss" if url.scheme == "https" else "ws"
        scope["subprotocols"] = subprotocols or []
        scope["extensions"] = {"websocket.http.response": {}} if denial_response else {}
        return _WebSocketConnect(WebSocketSession(self, scope))

    def _scope(self, kind: str, url: httpx.URL, headers: list[tuple[bytes, bytes]]) -> Scope:
        raw = [(name.lower(), value) for name, value in headers]
        if not any(name == b"host" for name, _ in raw):
            raw.insert(0, (b"host", url.netloc))
        return {
            "type": kind,
            "asgi": dict(_ASGI),
            "http_version": "1.1",
            "scheme": url.scheme,
            "path": url.path,
            "raw_path": url.raw_path.split(b"?")[0],
            "query_string": url.query,
            "root_path": "",
            "headers": raw,
            "client": self._client_address,
            "server": (url.host, url.port or (443 if url.scheme in ("https", "wss") else 80)),
            "state": dict(self.app_state),
        }

    # -- lifespan --------------------------------------------------------

    async def _startup(self) -> None:
        scope = {"type": "lifespan", "asgi": dict(_ASGI), "state": self.app_state}
        task = asyncio.ensure_future(self.app(scope, self._lifespan_in.get, self._lifespan_out.put))
        self._lifespan_in.put_nowait({"type": "lifespan.startup"})
        message = await _next_message(self._lifespan_out, task, self.app_timeout)
        if message is None:
            # The app returned or raised without answering: it does not do
            # lifespan, and servers carry on without it too.
            with contextlib.suppress(BaseException):
                await task
            return
        kind = message.get("type")
        if kind == "lifespan.startup.complete":
            self._lifespan_task = task
            return
        if kind == "lifespan.startup.failed":
            await _stop(task, self.app_timeout)
            raise RuntimeError(f"lifespan startup failed: {message.get('message', '')}")
        task.cancel()  # a server would refuse that answer too
        with contextlib.suppress(BaseException):
            await task
        raise RuntimeError(f"the app answered 'lifespan.startup' with {kind!r}")

    async def _shutdown(self) -> None:
        task, self._lifespan_task = self._lifespan_task, None
        if task is None:
            return
        self._lifespan_in.put_nowait({"type": "lifespan.shutdown"})
        message = await _next_message(self._lifespan_out, task, self.app_timeout)
        await _stop(task, self.app_timeout)
        if message is None:  # the app returned, or raised, without answering
            error = None if task.cancelled() else task.exception()
            if error is not None and self.raise_app_exceptions:
                raise error
            return
        kind = message.get("type")
        if kind == "lifespan.shutdown.failed":
            raise RuntimeError(f"lifespan shutdown failed: {message.get('message', '')}")
        if kind != "lifespan.shutdown.complete":
            raise RuntimeError(f"the app answered 'lifespan.shutdown' with {kind!r}")


__all__ = ["TestClient", "WebSocketDenied", "WebSocketSession"]
