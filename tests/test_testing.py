"""trane.testing.TestClient: trane apps, legacy ASGI 2 apps and ASGI 3 apps, in-process."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

import trane
from trane.testing import TestClient, WebSocketDenied
from trane.types import ASGI3App, Message, Receive, Scope, Send

EVENTS: list[str] = []


# -- a trane app with a lifespan ---------------------------------------------------


@asynccontextmanager
async def lifespan(app: trane.Router) -> AsyncIterator[dict[str, Any]]:
    EVENTS.append("startup")
    yield {"db": "connected"}
    EVENTS.append("shutdown")


class Hello(trane.Application):
    async def get(self, name: str) -> dict[str, Any]:
        return {
            "hello": name,
            "db": self.state.db,
            "query": dict(self.query),
            "client": list(self.client or ()),
            "host": self.headers.get("host"),
        }

    async def post(self, name: str) -> dict[str, Any]:
        return {"got": await self.json()}


class Upload(trane.Application):
    async def post(self) -> dict[str, Any]:
        form = await self.form()
        upload = form["file"]
        assert isinstance(upload, trane.UploadFile)
        return {"name": upload.filename, "data": (await upload.read()).decode()}


class Endless(trane.Application):
    async def get(self) -> None:
        try:
            i = 0
            while True:
                await self.send(f"{i}\n")
                i += 1
                await asyncio.sleep(0.01)
        finally:
            EVENTS.append("endless stopped")


class Echo(trane.WebSocketApplication):
    async def receive_text(self, text: str) -> None:
        if text == "bye":
            await self.close(4001, "asked to")
        else:
            await self.send_text(text)

    async def receive_bytes(self, data: bytes) -> None:
        await self.send_bytes(data[::-1])


class Refuse(trane.WebSocketApplication):
    async def connect(self) -> None:
        await self.close()


router = trane.Router(
    [
        trane.Route("/hello/{name}", Hello),
        trane.Route("/upload", Upload),
        trane.Route("/endless", Endless),
        trane.WebSocketRoute("/ws", Echo),
        trane.WebSocketRoute("/refuse", Refuse),
    ],
    lifespan=lifespan,
)


# The README's fixture, as users would write it in their conftest.py.
@pytest.fixture
async def client() -> AsyncIterator[TestClient]:
    async with TestClient(router) as client:
        yield client


async def test_client_runs_the_lifespan() -> None:
    EVENTS.clear()
    async with TestClient(router) as client:
        assert EVENTS == ["startup"]
        assert client.app_state == {"db": "connected"}
        response = await client.get("/hello/ann", params={"x": "1"})
        assert response.json()["db"] == "connected"
    assert EVENTS == ["startup", "shutdown"]


async def test_client_requests(client: TestClient) -> None:
    response = await client.get("/hello/ann", params={"x": "1"})
    assert isinstance(response, httpx.Response)
    assert response.status_code == 200
    assert response.json() == {
        "hello": "ann",
        "db": "connected",
        "query": {"x": "1"},
        "client": ["testclient", 50000],
        "host": "testserver",
    }
    posted = await client.post("/hello/ann", json={"a": [1, 2]})
    assert posted.json() == {"got": {"a": [1, 2]}}
    bad = await client.post(
        "/hello/ann", content=b"{", headers={"content-type": "application/json"}
    )
    assert bad.status_code == 400
    assert (await client.get("/nope")).status_code == 404
    head = await client.head("/hello/ann")
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-length"] != "0"


async def test_client_uploads(client: TestClient) -> None:
    files = {"file": ("a.txt", b"contents", "text/plain")}
    response = await client.post("/upload", files=files)
    assert response.json() == {"name": "a.txt", "data": "contents"}


async def test_client_streams_and_disconnects(client: TestClient) -> None:
    EVENTS.clear()
    async with client.stream("GET", "/endless") as response:
        lines = response.aiter_lines()
        assert [await anext(lines) for _ in range(3)] == ["0", "1", "2"]
    assert EVENTS == ["endless stopped"]


async def test_client_websocket_with_trane_app(client: TestClient) -> None:
    async with client.websocket_connect("/ws") as ws:
        await ws.send_text("hi")
        assert await ws.receive_text() == "hi"
        await ws.send_json({"a": 1})
        assert await ws.receive_json() == {"a": 1}
        await ws.send_bytes(b"abc")
        assert await ws.receive_bytes() == b"cba"
        await ws.send_text("bye")
        with pytest.raises(trane.WebSocketDisconnect) as info:
            await ws.receive_text()
        assert (info.value.code, info.value.reason) == (4001, "asked to")
    assert ws.close_code == 4001


async def test_client_websocket_refused(client: TestClient) -> None:
    with pytest.raises(trane.WebSocketDisconnect) as info:
        async with client.websocket_connect("/refuse"):
            pass
    assert info.value.code == 1000
    with pytest.raises(trane.WebSocketDisconnect):
        async with client.websocket_connect("/not-a-route"):
            pass


# -- raw ASGI apps -------------------------------------------------------------------


async def asgi3_app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                scope["state"]["ready"] = True
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send(
            {"type": "websocket.accept", "subprotocol": (scope["subprotocols"] or [None])[0]}
        )
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                EVENTS.append(f"asgi3 ws closed {message['code']}")
                return
            if message.get("text") is not None:
                await send({"type": "websocket.send", "text": "echo: " + message["text"]})
            else:
                await send({"type": "websocket.send", "bytes": message["bytes"]})
    if scope["type"] == "http":
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["path"] == "/boom":
            raise RuntimeError("asgi3 boom")
        payload = json.dumps(
            {"path": scope["path"], "body": body.decode(), "ready": scope["state"].get("ready")}
        ).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": payload})


class ASGI2App:
    """A 2018-style double-callable that knows nothing of lifespan."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def __call__(self, receive: Receive, send: Send) -> None:
        if self.scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    EVENTS.append("asgi2 ws closed")
                    return
                await send({"type": "websocket.send", "text": message["text"].upper()})
        assert self.scope["type"] == "http", "no lifespan here"
        await send({"type": "http.response.start", "status": 201, "headers": [(b"x-legacy", b"1")]})
        await send({"type": "http.response.body", "body": b"legacy " + self.scope["path"].encode()})


async def test_client_with_an_asgi3_app() -> None:
    EVENTS.clear()
    async with TestClient(asgi3_app) as client:
        response = await client.post("/x", content=b"data")
        assert response.json() == {"path": "/x", "body": "data", "ready": True}
        async with client.websocket_connect("/ws", subprotocols=["chat", "v2"]) as ws:
            assert ws.accepted_subprotocol == "chat"
            await ws.send_text("hi")
            assert await ws.receive_text() == "echo: hi"
            await ws.send_bytes(b"\x00")
            assert await ws.receive_bytes() == b"\x00"
            await ws.close(4000)
        assert EVENTS == ["asgi3 ws closed 4000"]


async def test_client_with_a_legacy_asgi2_app() -> None:
    EVENTS.clear()
    async with TestClient(ASGI2App) as client:  # its lifespan fails: carried on without
        response = await client.get("/y")
        assert (response.status_code, response.text) == (201, "legacy /y")
        assert response.headers["x-legacy"] == "1"
        async with client.websocket_connect("/ws") as ws:
            await ws.send_text("shout")
            assert await ws.receive_text() == "SHOUT"
    assert EVENTS == ["asgi2 ws closed"]


async def test_client_raises_app_exceptions() -> None:
    async with TestClient(asgi3_app) as client:
        with pytest.raises(RuntimeError, match="asgi3 boom"):
            await client.get("/boom")
    async with TestClient(asgi3_app, raise_app_exceptions=False) as client:
        assert (await client.get("/boom")).status_code == 500


async def test_client_lifespan_failure() -> None:
    async def broken(app: trane.Router) -> AsyncIterator[None]:
        raise RuntimeError("no database")
        yield

    app = trane.Router([], lifespan=asynccontextmanager(broken))
    with pytest.raises(RuntimeError, match="lifespan startup failed: RuntimeError: no database"):
        async with TestClient(app):
            pass


async def test_client_without_lifespan() -> None:
    EVENTS.clear()
    async with TestClient(router, lifespan=False) as client:
        response = await client.post("/upload", files={"file": ("a", b"b")})
        assert response.status_code == 200
        assert client.app_state == {}
    assert EVENTS == []


async def test_client_read_timeout_for_an_app_that_never_answers() -> None:
    async def silent(scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.sleep(60)

    async with TestClient(silent, lifespan=False) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/", timeout=0.2)


async def test_client_app_that_ignores_the_disconnect_is_reported() -> None:
    async def stubborn(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"x", "more_body": True})
        await asyncio.sleep(60)

    async with TestClient(stubborn, lifespan=False, app_timeout=0.2) as client:
        with pytest.raises(TimeoutError, match="still running"):
            async with client.stream("GET", "/") as response:
                await anext(response.aiter_bytes())


async def test_client_websocket_timeout_when_the_app_is_silent() -> None:
    async def silent(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            while (await receive())["type"] != "websocket.disconnect":
                pass

    async with (
        TestClient(silent, lifespan=False, app_timeout=0.2) as client,
        client.websocket_connect("/") as ws,
    ):
        with pytest.raises(TimeoutError):
            await ws.receive_text()


# -- as strict as the servers --------------------------------------------------------


def _sends(*messages: Message, catch: bool = False) -> ASGI3App:
    """An app that answers every request with ``messages``, in that order."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for message in messages:
            try:
                await send(message)
            except RuntimeError:
                if not catch:
                    raise

    return app


START: Message = {"type": "http.response.start", "status": 200, "headers": []}
LAST: Message = {"type": "http.response.body", "body": b"ok"}


@pytest.mark.parametrize(
    ("messages", "error"),
    [
        ([START, LAST, LAST], "the app sent 'http.response.body' after the response was complete"),
        ([START, LAST, {"type": "http.response.bogus"}], "'http.response.bogus' after the resp"),
        ([START, {"type": "http.response.trailers"}], "unexpected 'http.response.trailers'"),
        ([START, START], "the app sent 'http.response.start' twice"),
        ([LAST], "'http.response.body' before 'http.response.start'"),
    ],
    ids=["second-final-body", "after-complete", "unknown", "two-starts", "body-first"],
)
@pytest.mark.parametrize("catch", [False, True], ids=["raised", "caught-by-the-app"])
async def test_client_raises_what_a_server_refuses(
    messages: list[Message], error: str, catch: bool
) -> None:
    async with TestClient(_sends(*messages, catch=catch), lifespan=False) as client:
        with pytest.raises(RuntimeError, match=re.escape(error)):
            await client.get("/")


async def test_client_protocol_errors_follow_raise_app_exceptions() -> None:
    app = _sends(START, LAST, LAST, catch=True)
    async with TestClient(app, lifespan=False, raise_app_exceptions=False) as client:
        assert (await client.get("/")).text == "ok"


class Denied(trane.WebSocketApplication):
    async def connect(self) -> None:
        await self.deny(401, "who are you?", headers={"www-authenticate": "Bearer"})


async def test_client_websocket_denial_response() -> None:
    async with TestClient(Denied) as client:
        with pytest.raises(WebSocketDenied) as info:
            async with client.websocket_connect("/"):
                pass
        response = info.value.response
        assert (response.status_code, response.text) == (401, "who are you?")
        assert response.headers["www-authenticate"] == "Bearer"
        assert isinstance(info.value, trane.WebSocketDisconnect)
        # Without the extension (daphne), the app closes instead: the server says 403.
        with pytest.raises(trane.WebSocketDisconnect) as closed:
            async with client.websocket_connect("/", denial_response=False):
                pass
        assert not isinstance(closed.value, WebSocketDenied)
        assert closed.value.code == 1000


def _ws_sends(*messages: Message, after: str = "") -> ASGI3App:
    """A WebSocket app that sends ``messages``; then waits for the client to leave
    (``after="echo"``: echoes on each message, even after it left)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "websocket"
        await receive()
        for message in messages:
            await send(message)
        while True:
            message = await receive()
            if after == "echo" or message["type"] != "websocket.disconnect":
                await send({"type": "websocket.send", "text": "echo"})
            if message["type"] == "websocket.disconnect":
                return

    return app


ACCEPT: Message = {"type": "websocket.accept"}


async def test_client_websocket_denial_in_parts() -> None:
    app = _ws_sends(
        {"type": "websocket.http.response.start", "status": 409, "headers": []},
        {"type": "websocket.http.response.body", "body": b"con", "more_body": True},
        {"type": "websocket.http.response.body", "body": b"flict"},
    )
    async with TestClient(app, lifespan=False) as client:
        with pytest.raises(WebSocketDenied) as info:
            async with client.websocket_connect("/"):
                pass
    assert (info.value.response.status_code, info.value.response.text) == (409, "conflict")


async def test_client_websocket_denial_left_unfinished() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.http.response.start", "status": 403, "headers": []})

    async with TestClient(app, lifespan=False) as client:
        with pytest.raises(RuntimeError, match="without finishing its denial response"):
            async with client.websocket_connect("/"):
                pass


@pytest.mark.parametrize(
    ("messages", "error"),
    [
        (
            [{"type": "websocket.send", "text": "x"}],
            "'websocket.send' where ASGI allows "
            "'websocket.accept' or 'websocket.close' or 'websocket.http.response.start'",
        ),
        (
            [ACCEPT, ACCEPT],
            "'websocket.accept' where ASGI allows 'websocket.send' or 'websocket.close'",
        ),
        (
            [ACCEPT, {"type": "websocket.close"}, {"type": "websocket.send", "text": "x"}],
            "'websocket.send' where ASGI allows nothing",
        ),
    ],
    ids=["send-first", "accept-twice", "after-close"],
)
async def test_client_websocket_raises_what_a_server_refuses(
    messages: list[Message], error: str
) -> None:
    async with TestClient(_ws_sends(*messages), lifespan=False) as client:
        with pytest.raises(RuntimeError, match=re.escape(error)):
            async with client.websocket_connect("/") as ws:
                await ws.receive()


async def test_client_websocket_denial_needs_the_extension() -> None:
    start = {"type": "websocket.http.response.start", "status": 403, "headers": []}
    async with TestClient(_ws_sends(start), lifespan=False) as client:
        with pytest.raises(
            RuntimeError, match=re.escape("'websocket.http.response.start' where ASGI")
        ):
            async with client.websocket_connect("/", denial_response=False):
                pass


async def test_client_websocket_send_after_the_client_left_raises_oserror() -> None:
    async with TestClient(_ws_sends(ACCEPT, after="echo"), lifespan=False) as client:
        with pytest.raises(ConnectionResetError, match="the test client has disconnected"):
            async with client.websocket_connect("/"):
                pass


# -- the rest of the client's edges --------------------------------------------------

MORE: Message = {"type": "http.response.body", "body": b"part", "more_body": True}


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def test_client_stream_read_timeout_and_unfinished_response() -> None:
    async def stalls(scope: Scope, receive: Receive, send: Send) -> None:
        await send(START)
        await send(MORE)
        if scope["path"] == "/stall":
            await _until_disconnect(receive)

    async with TestClient(stalls, lifespan=False) as client:
        async with client.stream("GET", "/stall", timeout=0.1) as response:
            with pytest.raises(httpx.ReadTimeout, match="no response data from the app"):
                await response.aread()
        with pytest.raises(httpx.RemoteProtocolError, match="without finishing the response"):
            await client.get("/return")


async def test_client_raises_oserror_for_sends_after_the_client_left() -> None:
    # The client's scope says ASGI spec 2.4, which asks for OSError here.
    sent_after: list[Message] = []

    async def keeps_going(scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["asgi"]["spec_version"] == "2.4"
        await send(START)
        await send(MORE)
        await _until_disconnect(receive)
        for message in (MORE, LAST):
            with pytest.raises(OSError, match="client has gone"):
                await send(message)
            sent_after.append(message)

    async with (
        TestClient(keeps_going, lifespan=False) as client,
        client.stream("GET", "/") as response,
    ):
        assert await anext(response.aiter_bytes()) == b"part"
    assert sent_after == [MORE, LAST]


async def test_client_websocket_receive_helpers() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send(ACCEPT)
        await send({"type": "websocket.send", "bytes": b"\x00"})
        await send({"type": "websocket.send", "text": "t"})
        await send({"type": "websocket.send", "bytes": b'{"j": 1}'})
        await send({"type": "websocket.close", "code": 4000, "reason": "done"})
        await receive()

    async with TestClient(app, lifespan=False) as client, client.websocket_connect("/") as ws:
        with pytest.raises(TypeError, match="expected a text message"):
            await ws.receive_text()
        with pytest.raises(TypeError, match="expected a binary message"):
            await ws.receive_bytes()
        assert await ws.receive_json() == {"j": 1}
        for _ in range(2):  # the close, then the close remembered
            with pytest.raises(trane.WebSocketDisconnect) as info:
                await ws.receive()
            assert (info.value.code, info.value.reason) == (4000, "done")


async def test_client_websocket_app_cancelled_ends_with_1006() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send(ACCEPT)
        raise asyncio.CancelledError

    async with TestClient(app, lifespan=False) as client, client.websocket_connect("/") as ws:
        with pytest.raises(trane.WebSocketDisconnect) as info:
            await ws.receive()
        assert info.value.code == 1006


def _lifespan_app(startup: Message | None, shutdown: Message | None = None) -> ASGI3App:
    """Answers lifespan.startup with ``startup`` (None: raise) and shutdown likewise."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for answer in (startup, shutdown):
            await receive()
            if answer is None:
                raise RuntimeError("no lifespan here")
            await send(answer)
            if answer["type"] == "lifespan.startup.other":
                await asyncio.Event().wait()  # and lingers

    return app


COMPLETE: Message = {"type": "lifespan.startup.complete"}


async def test_client_lifespan_answers() -> None:
    async with TestClient(_lifespan_app(None)) as client:  # no lifespan: carried on
        assert client.app_state == {}
    with pytest.raises(
        RuntimeError, match=re.escape("answered 'lifespan.startup' with 'lifespan.startup.other'")
    ):
        async with TestClient(_lifespan_app({"type": "lifespan.startup.other"})):
            pass
    shutdown_failed = {"type": "lifespan.shutdown.failed", "message": "disk full"}
    with pytest.raises(RuntimeError, match="lifespan shutdown failed: disk full"):
        async with TestClient(_lifespan_app(COMPLETE, shutdown_failed)):
            pass
    with pytest.raises(
        RuntimeError, match=re.escape("answered 'lifespan.shutdown' with 'lifespan.bye'")
    ):
        async with TestClient(_lifespan_app(COMPLETE, {"type": "lifespan.bye"})):
            pass
    with pytest.raises(RuntimeError, match="no lifespan here"):
        async with TestClient(_lifespan_app(COMPLETE, None)):
            pass
    async with TestClient(_lifespan_app(COMPLETE, None), raise_app_exceptions=False):
        pass
