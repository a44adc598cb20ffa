"""trane.testing.TestClient: trane apps, legacy ASGI 2 apps and ASGI 3 apps, in-process."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

import trane
from trane.testing import TestClient
from trane.types import Receive, Scope, Send

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
