"""``self.delegate(app)``: a view hands its connection on to another ASGI app.

The example (examples/gateway.py: a legacy ASGI 2 app behind an
authenticating base class) runs under real uvicorn, daphne, hypercorn and
granian; the edge cases run in-process, with the raw ASGI messages in view.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from examples import gateway
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

import trane
from asgi import make_scope, request
from communicator import Communicator
from servers import Server, serve
from trane.delegation import DELEGATED, mounted_scope
from trane.testing import TestClient, WebSocketDenied
from trane.types import Message, Receive, Scope, Send

AUTH = {"authorization": f"Bearer {gateway.TOKEN}"}


def sign(body: bytes) -> str:
    return hmac.new(gateway.SIGNING_KEY, body, hashlib.sha256).hexdigest()


# -- the example under real servers ------------------------------------------


@pytest.fixture(scope="module", params=["uvicorn", "daphne", "hypercorn", "granian"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    lenient = "_lenient" if request.param == "granian" else ""  # see validated_apps
    with serve(request.param, f"tests.validated_apps:gateway_app{lenient}") as running:
        yield running


def test_real_server_refuses_before_the_legacy_app(server: Server) -> None:
    response = httpx.get(f"{server.url}/legacy/a/b", timeout=10)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.text == "Unauthorized"


def test_real_server_get_is_answered_by_the_legacy_app(server: Server) -> None:
    response = httpx.get(f"{server.url}/legacy/a/b?x=1", headers=AUTH, timeout=10)
    assert response.status_code == 200
    seen = response.json()
    assert seen["path"] == "/legacy/a/b"
    assert seen["root_path"] == "/legacy"  # as Mount("/legacy", LegacyAPI) would set it
    assert seen["query"] == "x=1"
    assert seen["path_params"] == {"rest": "a/b"}
    assert response.headers["set-cookie"].startswith("gateway=passed")  # the view's cookie


def test_real_server_streamed_body_reaches_the_legacy_app_whole(server: Server) -> None:
    chunks = [bytes([i]) * 65_536 for i in range(32)]  # 2 MiB, past max_body_size

    def body() -> Iterator[bytes]:
        yield from chunks

    response = httpx.post(f"{server.url}/legacy/up", content=body(), headers=AUTH, timeout=30)
    whole = b"".join(chunks)
    assert response.status_code == 200
    assert response.json()["length"] == len(whole)
    assert response.json()["sha256"] == hashlib.sha256(whole).hexdigest()


def test_real_server_body_read_by_the_view_is_replayed(server: Server) -> None:
    body = b"signed payload " * 1000
    headers = {**AUTH, "x-signature": sign(body)}
    response = httpx.post(f"{server.url}/signed/x", content=body, headers=headers, timeout=10)
    assert response.status_code == 200
    assert response.json()["sha256"] == hashlib.sha256(body).hexdigest()
    assert response.json()["root_path"] == "/signed"
    forged = httpx.post(f"{server.url}/signed/x", content=body + b"!", headers=headers, timeout=10)
    assert (forged.status_code, forged.text) == (403, "bad signature")


def test_real_server_head_has_the_legacy_headers_and_no_body(server: Server) -> None:
    get = httpx.get(f"{server.url}/legacy/h", headers=AUTH, timeout=10)
    head = httpx.head(f"{server.url}/legacy/h", headers=AUTH, timeout=10)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == "application/json"
    # The legacy app saw HEAD, so its JSON says so: one byte longer than GET's.
    assert int(head.headers["content-length"]) == len(get.content) + 1


async def test_real_server_websocket_is_served_by_the_legacy_app(server: Server) -> None:
    async with connect(f"{server.ws_url}/ws/room", additional_headers=AUTH) as ws:
        await ws.send("hi")
        assert await ws.recv() == "legacy: hi"
        await ws.send("bye")
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4000


async def test_real_server_websocket_refused_before_the_legacy_app(server: Server) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"{server.ws_url}/ws/room"):
            pass  # pragma: no cover - the handshake is refused
    # The servers with the denial extension carry deny()'s status; daphne has none: 403.
    expected = 403 if server.name == "daphne" else 401
    assert refused.value.response.status_code == expected


# -- HTTP in-process: the scope, the body, the response rules -----------------


def recording(seen: list[Scope], answer: bytes = b"ok") -> Any:
    """An ASGI 3 app that keeps its scope and body, and answers ``answer``."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        seen.append({**scope, "body": body, "last": message})
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": answer})

    return app


def gate(target: Any, **options: Any) -> type[trane.Application]:
    class Gate(trane.Application):
        async def get(self, **params: Any) -> Any:
            return await self.delegate(target, **options)

        async def post(self, **params: Any) -> Any:
            return await self.delegate(target, **options)

    return Gate


def test_mounted_scope_is_a_copy_as_mount_makes_it() -> None:
    scope = make_scope(path="/api/files/a/b", root_path="/api", path_params={"rest": "a/b"})
    mounted = mounted_scope(scope, None)
    assert mounted is not scope
    assert scope["root_path"] == "/api"
    assert (mounted["path"], mounted["root_path"]) == ("/api/files/a/b", "/api/files")
    assert mounted["trane.root_path"] == "/api"
    # No parameter ends the path: root_path stays.
    assert (
        mounted_scope(make_scope(path="/x/5.txt", path_params={"n": "5"}), None)["root_path"] == ""
    )
    assert mounted_scope(make_scope(path="/u/7", path_params={"id": 7}), None)["root_path"] == ""
    assert mounted_scope(make_scope(path="/plain"), None)["root_path"] == ""
    # An explicit prefix, at a segment boundary only.
    assert mounted_scope(make_scope(path="/a/b/c"), "/a/")["root_path"] == "/a"
    assert mounted_scope(make_scope(path="/a"), "/a")["root_path"] == "/a"
    assert mounted_scope(make_scope(path="/a/b"), "")["root_path"] == ""
    for bad in ("/ab", "a", "/c"):
        with pytest.raises(ValueError, match="does not start the path"):
            mounted_scope(make_scope(path="/abc/d"), bad)


async def test_delegate_passes_the_path_and_a_chunked_body() -> None:
    seen: list[Scope] = []
    router = trane.Router([trane.Route("/up/{rest:path}", gate(recording(seen)))])
    result = await request(router, "POST", "/up/x/y", chunks=[b"a" * 10, b"b" * 20, b""])
    assert (result.status, result.body) == (200, b"ok")
    assert seen[0]["body"] == b"a" * 10 + b"b" * 20
    assert seen[0]["root_path"] == "/up"
    assert seen[0]["last"] == {"type": "http.request", "body": b"", "more_body": False}


async def test_delegate_without_a_body_and_an_explicit_prefix() -> None:
    seen: list[Scope] = []
    router = trane.Router([trane.Route("/a/b", gate(recording(seen), prefix="/a"))])
    result = await request(router, "GET", "/a/b")
    assert result.status == 200
    assert (seen[0]["root_path"], seen[0]["body"]) == ("/a", b"")


async def test_body_read_in_prepare_is_replayed_then_the_disconnect() -> None:
    messages: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        messages.append(await receive())
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})
        messages.append(await receive())  # after the response: the client leaves

    class Checked(trane.Application):
        async def prepare(self) -> Any:
            if not (await self.json())["ok"]:
                raise trane.HTTPError(403)
            return await self.delegate(app)

        async def post(self) -> None:
            raise AssertionError("not reached: prepare() delegated")

    ok = await request(Checked, "POST", "/", chunks=[b'{"ok":', b" true}"])
    assert (ok.status, ok.body) == (200, b"done")
    assert messages == [
        {"type": "http.request", "body": b'{"ok": true}', "more_body": False},
        {"type": "http.disconnect"},
    ]
    refused = await request(Checked, "POST", "/", body=b'{"ok": false}')
    assert refused.status == 403


async def test_body_read_whole_in_one_message_is_replayed() -> None:
    seen: list[Scope] = []

    class Reads(trane.Application):
        async def put(self) -> Any:
            assert await self.body() == b"whole"
            return await self.delegate(recording(seen))

    result = await request(Reads, "PUT", "/", body=b"whole")
    assert result.status == 200
    assert seen[0]["body"] == b"whole"


async def test_chunks_buffered_by_the_disconnect_watcher_are_not_lost() -> None:
    seen: list[Scope] = []

    class Watched(trane.Application):
        async def post(self) -> Any:
            reader = self.request_body()
            await reader._pull()  # as a disconnect watcher would: buffered, not handed out
            return await self.delegate(recording(seen))

    result = await request(Watched, "POST", "/", chunks=[b"one", b"two"])
    assert result.status == 200
    assert seen[0]["body"] == b"onetwo"


@pytest.mark.parametrize("how", ["stream", "form"])
async def test_body_partly_consumed_is_a_clear_error(
    how: str, caplog: pytest.LogCaptureFixture
) -> None:
    class Partly(trane.Application):
        async def post(self) -> Any:
            if how == "stream":
                async for _ in self.stream():
                    break
            else:
                await self.form()
            return await self.delegate(recording([]))

    headers = [(b"content-type", b"application/x-www-form-urlencoded")]
    result = await request(Partly, "POST", "/", chunks=[b"a=1", b"&b=2"], headers=headers)
    assert result.status == 500
    assert "were read with stream() or form() before delegate()" in caplog.text


async def test_the_view_policy_limit_is_the_app_s_to_apply() -> None:
    seen: list[Scope] = []

    class Small(trane.Application):
        max_body_size = 4

        async def post(self) -> Any:
            return await self.delegate(recording(seen))

    result = await request(Small, "POST", "/", chunks=[b"12345", b"678"])
    assert result.status == 200
    assert seen[0]["body"] == b"12345678"


async def test_client_leaving_mid_body_reaches_the_app_as_disconnect() -> None:
    messages: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while (message := await receive())["type"] != "http.disconnect":
            messages.append(message)
        messages.append(message)

    class Gate(trane.Application):
        async def post(self) -> Any:
            return await self.delegate(app)

    scope = make_scope("POST", "/")
    parts: list[Message] = [
        {"type": "http.request", "body": b"part", "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> Message:
        return parts.pop(0)

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await Gate(scope)(receive, send)
    assert messages == [
        {"type": "http.request", "body": b"part", "more_body": True},
        {"type": "http.disconnect"},
    ]
    assert sent == []  # nobody left to answer: not a 500


async def test_the_view_headers_and_on_response_shape_the_app_response() -> None:
    class Shaped(trane.Application):
        def on_response(self, status: int, headers: trane.MutableHeaders) -> int | None:
            headers["x-gate"] = "1"
            return None

        async def get(self) -> Any:
            self.response_headers["x-view"] = "v"
            self.set_cookie("a", "b")
            return await self.delegate(recording([]))

    result = await request(Shaped, "GET", "/")
    assert result.header("x-view") == "v"
    assert result.header("x-gate") == "1"
    assert result.header_list("set-cookie") == ["a=b; Path=/; SameSite=Lax"]


async def test_head_stops_a_streaming_app_quietly() -> None:
    sends = 0

    async def endless(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal sends
        await send({"type": "http.response.start", "status": 200, "headers": []})
        try:
            while True:
                sends += 1
                await send({"type": "http.response.body", "body": b"x", "more_body": True})
        except OSError:
            return  # as from a spec 2.4 server: the client wants no more

    result = await request(gate(endless), "HEAD", "/")
    assert (result.status, result.body, sends) == (200, b"", 1)
    ends = [m for m in result.messages if m["type"] == "http.response.body"]
    assert ends == [{"type": "http.response.body", "body": b""}]


async def test_a_gone_client_raises_oserror_in_the_app_and_ends_quietly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"x", "more_body": True})

    async def swallows(scope: Scope, receive: Receive, send: Send) -> None:
        with pytest.raises(OSError, match="client is gone"):
            await app(scope, receive, send)

    for target in (app, swallows):
        scope = make_scope(asgi={"version": "3.0", "spec_version": "2.4"})

        async def receive() -> Message:
            return {"type": "http.request", "body": b""}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.body":
                raise OSError("gone")

        await gate(target)(scope)(receive, send)
    assert "Exception" not in caplog.text


async def test_an_app_breaking_the_message_order_is_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def body_first(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.body", "body": b"x"})

    result = await request(gate(body_first), "GET", "/")
    assert result.status == 500
    assert "cannot send http.response.body (more_body=False) now" in caplog.text


async def test_an_app_that_sends_nothing_is_a_500(caplog: pytest.LogCaptureFixture) -> None:
    async def silent(scope: Scope, receive: Receive, send: Send) -> None:
        return None

    result = await request(gate(silent), "GET", "/")
    assert result.status == 500
    assert "returned without a response" in caplog.text


async def test_an_app_that_stops_mid_response_aborts_the_connection() -> None:
    async def halfway(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"half", "more_body": True})

    with pytest.raises(trane.ResponseStateError, match="before its response ended"):
        await request(gate(halfway), "GET", "/")


async def test_the_app_s_exception_gets_the_view_s_error_page() -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise trane.HTTPError(418, "teapot")

    class Styled(trane.Application):
        async def handle_error(self, exc: Exception) -> trane.Response:
            return trane.PlainTextResponse(f"styled {exc}", status=418)

        async def get(self) -> Any:
            return await self.delegate(broken)

    result = await request(Styled, "GET", "/")
    assert (result.status, result.body) == (418, b"styled 418 I'm a Teapot: teapot")


async def test_delegate_after_streaming_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    class Late(trane.Application):
        async def get(self) -> Any:
            await self.send("started")
            return await self.delegate(recording([]))

    with pytest.raises(trane.ResponseStateError, match="the response has started"):
        await request(Late, "GET", "/")


async def test_legacy_asgi2_apps_trane_routers_and_typed_verbs_can_be_delegated_to() -> None:
    inner = trane.Router([trane.Route("/page/{n:int}", gate_target_page())])

    class Typed(trane.Application):
        async def get(self, rest: str, q: int = 0) -> dict[str, int]:
            return await self.delegate(inner)  # type: ignore[return-value]

    outer = trane.Router(
        [
            trane.Route("/legacy/{rest:path}", gate(gateway.LegacyAPI)),
            trane.Route("/sub/{rest:path}", Typed),
        ]
    )
    async with TestClient(outer) as client:
        legacy = await client.get("/legacy/z")
        assert legacy.json()["root_path"] == "/legacy"
        page = await client.get("/sub/page/3?q=1")
        assert (page.status_code, page.text) == (200, "page 3 at /sub/page/3")
    assert repr(DELEGATED) == "trane.DELEGATED"


def gate_target_page() -> type[trane.Application]:
    class Page(trane.Application):
        async def get(self, n: int, rest: str) -> str:  # a Mount's parameters join too
            return f"page {n} at {self.url.path}"

    return Page


async def test_validate_finds_nothing_on_either_side() -> None:
    checked = trane.validate(gateway.router)
    inner = trane.validate(gateway.LegacyAPI)

    class Gate(gateway.Authenticated):
        async def post(self, rest: str) -> Any:
            await self.body()
            return await self.delegate(inner)

    router = trane.validate(trane.Router([trane.Route("/v/{rest:path}", Gate)]))
    async with TestClient(checked) as client:
        response = await client.post("/legacy/v", content=b"abc", headers=AUTH)
        assert response.json()["length"] == 3
    async with TestClient(router) as client:
        response = await client.post("/v/w", content=b"abcd", headers=AUTH)
        assert response.json()["length"] == 4


# -- WebSockets in-process ----------------------------------------------------


def ws_scope(path: str = "/ws/x", **extra: Any) -> Scope:
    return make_scope(path=path, kind="websocket", subprotocols=[], **extra)


class Counted(trane.WebSocketApplication):
    codes: list[int]
    target: Any = None

    async def connect(self) -> None:
        await self.delegate(type(self).target)

    async def disconnect(self, code: int) -> None:
        type(self).codes.append(code)


def counted(target: Any) -> type[Counted]:
    return type("C", (Counted,), {"target": target, "codes": []})


async def test_websocket_echo_then_the_client_leaves() -> None:
    cls = counted(gateway.LegacyAPI)
    app = trane.Router([trane.WebSocketRoute("/ws/{rest:path}", cls)])
    async with TestClient(app) as client, client.websocket_connect("/ws/a") as ws:
        await ws.send_text("one")
        assert await ws.receive_text() == "legacy: one"
    await asyncio.sleep(0)
    assert cls.codes == [1000]


async def test_websocket_app_closing_and_returning_open() -> None:
    closes = counted(gateway.LegacyAPI)
    async with TestClient(closes) as client, client.websocket_connect("/ws/a") as ws:
        await ws.send_text("bye")
        with pytest.raises(trane.WebSocketDisconnect) as closed:
            await ws.receive()
        assert closed.value.code == 4000
    assert closes.codes == [4000]

    async def accepts_and_returns(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})

    open_ = counted(accepts_and_returns)
    async with TestClient(open_) as client, client.websocket_connect("/ws/a") as ws:
        with pytest.raises(trane.WebSocketDisconnect) as closed:
            await ws.receive()
        assert closed.value.code == 1000
    assert open_.codes == [1000]


async def test_websocket_app_denies_with_and_without_the_extension() -> None:
    async def denies(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.http.response.start", "status": 402, "headers": []})
        await send({"type": "websocket.http.response.body", "body": b"pay"})

    cls = counted(denies)
    async with TestClient(cls) as client:
        with pytest.raises(WebSocketDenied) as denied:
            async with client.websocket_connect("/ws"):
                pass  # pragma: no cover - denied
        assert (denied.value.response.status_code, denied.value.response.text) == (402, "pay")
    communicator = Communicator(counted(denies), ws_scope())
    await communicator.send_input({"type": "websocket.connect"})
    # No extension offered: the app's denial is an error, and trane closes (403).
    assert await communicator.receive_output() == {"type": "websocket.close", "code": 1000}


async def test_websocket_app_closing_before_accept_and_returning_silent() -> None:
    async def closes(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.close", "code": 1000})
        await send({"type": "websocket.close", "code": 1000})  # again: nothing more

    async def silent(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()

    closing = counted(closes)
    communicator = Communicator(closing, ws_scope())
    await communicator.send_input({"type": "websocket.connect"})
    assert await communicator.receive_output() == {"type": "websocket.close", "code": 1000}
    assert await communicator.receive_nothing()
    await communicator.wait()
    # Neither accepted nor denied: trane closes, as for a connect() that does nothing.
    quiet = counted(silent)
    communicator = Communicator(quiet, ws_scope())
    await communicator.send_input({"type": "websocket.connect"})
    assert await communicator.receive_output() == {
        "type": "websocket.close",
        "code": 1000,
        "reason": "",
    }
    await communicator.wait()
    assert (closing.codes, quiet.codes) == ([1000], [1000])


async def test_websocket_app_breaking_the_rules(caplog: pytest.LogCaptureFixture) -> None:
    async def sends_first(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.send", "text": "early"})

    async def unknown(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.bogus"})

    for target, why in (
        (sends_first, "accept() the connection before sending"),
        (unknown, "unexpected ASGI message 'websocket.bogus'"),
    ):
        communicator = Communicator(counted(target), ws_scope())
        await communicator.send_input({"type": "websocket.connect"})
        await communicator.receive_output()
        await communicator.wait()
        assert why in caplog.text


async def test_websocket_delegate_after_accept_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    class Late(trane.WebSocketApplication):
        async def connect(self) -> None:
            await self.accept()
            await self.delegate(gateway.LegacyAPI)

    communicator = Communicator(Late, ws_scope())
    await communicator.send_input({"type": "websocket.connect"})
    assert (await communicator.receive_output())["type"] == "websocket.accept"
    assert (await communicator.receive_output())["code"] == 1011
    assert "only in connect(), before accept()" in caplog.text


async def test_websocket_send_after_the_client_left_is_oserror_then_quiet(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def talks_on(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        assert (await receive())["type"] == "websocket.disconnect"
        await send({"type": "websocket.send", "text": "anyone?"})

    cls = counted(talks_on)
    communicator = Communicator(cls, ws_scope())
    await communicator.send_input({"type": "websocket.connect"})
    assert (await communicator.receive_output())["type"] == "websocket.accept"
    await communicator.send_input({"type": "websocket.disconnect", "code": 1001})
    await communicator.wait()
    assert cls.codes == [1001]
    assert "Exception" not in caplog.text

    async def server_raises(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": "x"})

    async def fails_itself(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        raise OSError("the app's own")

    failing = counted(fails_itself)
    communicator = Communicator(failing, ws_scope())
    await communicator.send_input({"type": "websocket.connect"})
    assert await communicator.receive_output() == {"type": "websocket.close", "code": 1000}
    await communicator.wait()
    assert failing.codes == [1011]
    assert "the app's own" in caplog.text  # not a gone client: logged as a failure
    caplog.clear()

    gone = counted(server_raises)
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    async def send(message: Message) -> None:
        sent.append(message)
        if message["type"] == "websocket.send":
            raise OSError("uvicorn's ClientDisconnected")

    await gone(ws_scope())(receive, send)
    assert gone.codes == [1006]
    assert "Exception" not in caplog.text


# -- the receive a delegated app gets, property-tested -------------------------


@given(
    chunks=st.lists(st.binary(max_size=300), max_size=6),
    read=st.sampled_from(["none", "body", "pull"]),
    leaves=st.booleans(),
    spec=st.sampled_from(["2.3", "2.4"]),
)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_delegated_receive_replays_every_byte_in_order(
    chunks: list[bytes], read: str, leaves: bool, spec: str
) -> None:
    """Whatever the view read first and however the body came, the app delegated
    to (checked by trane.validate on both sides) gets the exact body, or a
    disconnect when the client left mid-body, and the client gets one answer."""
    got: list[bytes] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            got.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(got)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": hashlib.sha256(body).digest()})

    class Gate(trane.Application):
        async def post(self) -> Any:
            if read == "body":
                await self.body()
            elif read == "pull":
                await self.request_body()._pull()
            return await self.delegate(trane.validate(inner))

    app = trane.as_asgi3(trane.validate(Gate))
    parts: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": True} for chunk in chunks
    ]
    parts.append({"type": "http.request", "body": b"", "more_body": False})
    if leaves:
        parts = [*parts[: len(parts) // 2], {"type": "http.disconnect"}]
    answered = asyncio.Event()
    sent: list[Message] = []

    async def receive() -> Message:
        if parts:
            return parts.pop(0)
        await answered.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            answered.set()

    scope = make_scope("POST", "/", asgi={"version": "3.0", "spec_version": spec})
    asyncio.run(asyncio.wait_for(app(scope, receive, send), 5))
    whole = b"".join(chunks)
    if leaves:
        assert b"".join(got) == whole[: len(b"".join(got))]  # a prefix, in order
        assert [m["type"] for m in sent] in ([], ["http.response.start", "http.response.body"])
    else:
        assert b"".join(got) == whole
        assert sent[-1]["body"] == hashlib.sha256(whole).digest()
