"""WebSocketApplication in-process: hooks, encodings, order errors, groups, disconnects."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, cast

import pytest
from asgiref import testing

import trane
from trane.types import Message

_ApplicationCommunicator: Any = testing.ApplicationCommunicator

events: list[Any] = []


class Client:
    """One WebSocket connection to ``app``, driven message by message."""

    def __init__(
        self,
        app: Any,
        path: str = "/",
        *,
        headers: Sequence[tuple[bytes, bytes]] = (),
        query: bytes = b"",
        subprotocols: Sequence[str] = (),
        extension: bool = True,
        **extra: Any,
    ) -> None:
        self.scope: dict[str, Any] = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "scheme": "ws",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query,
            "root_path": "",
            "headers": [(b"host", b"testserver"), *headers],
            "client": ("127.0.0.1", 5000),
            "server": ("testserver", 80),
            "subprotocols": list(subprotocols),
            "extensions": {"websocket.http.response": {}} if extension else {},
            **extra,
        }
        self.inner = _ApplicationCommunicator(trane.as_asgi3(app), self.scope)

    async def connect(self) -> Message:
        await self.inner.send_input({"type": "websocket.connect"})
        return await self.receive()

    async def send_text(self, text: str) -> None:
        await self.inner.send_input({"type": "websocket.receive", "text": text})

    async def send_bytes(self, data: bytes) -> None:
        await self.inner.send_input({"type": "websocket.receive", "bytes": data})

    async def receive(self, timeout: float = 2) -> Message:
        return cast(Message, await self.inner.receive_output(timeout))

    async def receive_text(self) -> str:
        message = await self.receive()
        assert message["type"] == "websocket.send", message
        return cast(str, message["text"])

    async def nothing(self) -> bool:
        return cast(bool, await self.inner.receive_nothing(0.05))

    async def disconnect(self, code: int = 1000) -> None:
        await self.inner.send_input({"type": "websocket.disconnect", "code": code})
        await self.inner.wait(2)

    async def finished(self) -> None:
        await self.inner.wait(2)


# -- module-level apps ---------------------------------------------------


class Echo(trane.WebSocketApplication):
    async def receive_text(self, text: str) -> None:
        await self.send_text(f"echo: {text}")

    async def disconnect(self, code: int) -> None:
        events.append(("disconnect", code))


class EchoBoth(trane.WebSocketApplication):
    async def receive_text(self, text: str) -> None:
        await self.send_text(text.upper())

    async def receive_bytes(self, data: bytes) -> None:
        await self.send_bytes(data[::-1])


class Bytes(trane.WebSocketApplication):
    async def receive_bytes(self, data: bytes) -> None:
        await self.send_bytes(data)


class Json(trane.WebSocketApplication):
    async def receive_json(self, data: Any) -> None:
        await self.send_json({"got": data})

    async def disconnect(self, code: int) -> None:
        events.append(("disconnect", code))


class JsonAsBytes(trane.WebSocketApplication):
    encoding = "json"

    async def receive_json(self, data: Any) -> None:
        await self.send_json(data, binary=True)


class Quiet(trane.WebSocketApplication):
    """Defines no hooks: messages of either kind are ignored."""


class Helpers(trane.WebSocketApplication):
    async def connect(self) -> None:
        await self.accept(headers={"x-room": str(self.params["room"])})
        await self.send_json(
            {
                "room": self.params["room"],
                "query": self.query.get("q"),
                "header": self.headers.get("x-test"),
                "cookie": self.cookies.get("session"),
                "url_for": self.url_for("room", room=7),
                "url": str(self.url),
                "state": self.state.ready if "ready" in self.state else None,
                "client": list(self.client or ()),
            }
        )


class Refuser(trane.WebSocketApplication):
    async def connect(self) -> None:
        await self.deny(401, "who are you?", headers={"www-authenticate": "Bearer"})

    async def disconnect(self, code: int) -> None:
        events.append(("disconnect", code))


class Forgetful(trane.WebSocketApplication):
    async def connect(self) -> None:
        pass  # neither accepts nor denies


class Subprotocols(trane.WebSocketApplication):
    async def connect(self) -> None:
        await self.accept(subprotocol=self.query.get("pick"))


class Crashing(trane.WebSocketApplication):
    async def receive_text(self, text: str) -> None:
        raise RuntimeError(f"boom {text}")

    async def disconnect(self, code: int) -> None:
        events.append(("disconnect", code))


class CrashingEarly(trane.WebSocketApplication):
    async def connect(self) -> None:
        raise RuntimeError("before accept")

    async def disconnect(self, code: int) -> None:
        events.append(("disconnect", code))


class CrashingDisconnect(trane.WebSocketApplication):
    async def disconnect(self, code: int) -> None:
        raise RuntimeError("in disconnect")


class Small(trane.WebSocketApplication):
    max_message_size = 8

    async def receive_text(self, text: str) -> None:
        await self.send_text(text)

    async def receive_bytes(self, data: bytes) -> None:
        await self.send_bytes(data)

    async def disconnect(self, code: int) -> None:
        events.append(("disconnect", code))


class Guarded(trane.WebSocketApplication):
    allowed_origins = ["https://example.com"]

    async def connect(self) -> None:
        events.append("connect")
        await self.accept()


class Misuse(trane.WebSocketApplication):
    """Each text message names one mistake to make; the error is reported back."""

    async def receive_text(self, text: str) -> None:
        try:
            if text == "accept":
                await self.accept()
            elif text == "deny":
                await self.deny()
            elif text == "close-code":
                await self.close(1006)
            elif text == "close-reason":
                await self.close(1000, "x" * 124)
            elif text == "close-then-send":
                await self.close()
                await self.send_text("too late")
            elif text == "send-int":
                await self.send_text(42)  # type: ignore[arg-type]
        except Exception as exc:
            events.append(exc)
            if self._state == "CONNECTED":
                await self.send_text(type(exc).__name__)


class SendFirst(trane.WebSocketApplication):
    async def connect(self) -> None:
        try:
            await self.send_text("hello?")
        except trane.WebSocketStateError as exc:
            events.append(exc)
        try:
            await self.receive()
        except trane.WebSocketStateError as exc:
            events.append(exc)
        await self.accept()


class Imperative(trane.WebSocketApplication):
    """Reads a password in connect() before joining the message loop."""

    async def connect(self) -> None:
        await self.accept()
        try:
            password = await self.receive()
        except trane.WebSocketDisconnect as exc:
            events.append(("gone", exc.code))
            raise
        if password != "s3cret":
            await self.close(4001, "bad password")
            return
        await self.send_text("welcome")

    async def receive_text(self, text: str) -> None:
        await self.send_text(text)

    async def disconnect(self, code: int) -> None:
        events.append(("disconnect", code))
        try:
            await self.receive()
        except trane.WebSocketStateError as exc:
            events.append(exc)


class Room(trane.WebSocketApplication):
    async def connect(self) -> None:
        await self.accept()
        await self.group_add(self.group)

    @property
    def group(self) -> str:
        return f"room-{self.params['room']}"

    async def receive_text(self, text: str) -> None:
        await self.group_send(self.group, {"type": "chat.message", "text": text})

    async def chat_message(self, event: dict[str, Any]) -> None:
        await self.send_text(event["text"])

    async def disconnect(self, code: int) -> None:
        events.append(("disconnect", code))


class Lobby(trane.WebSocketApplication):
    groups = ["lobby"]

    async def receive_text(self, text: str) -> None:
        if text.startswith("raw:"):
            await self.channel_layer.group_send("lobby", {"type": text[4:]})
        else:
            await self.group_send("lobby", {"type": "lobby.note", "text": text})

    async def lobby_note(self, event: dict[str, Any]) -> None:
        await self.send_text(event["text"])

    def _secret(self, event: dict[str, Any]) -> None:  # never a handler
        events.append("secret")


class Notifier(trane.WebSocketApplication):
    """No handlers: only sends to a group, so it never opens a channel."""

    async def receive_text(self, text: str) -> None:
        await self.group_send("lobby", {"type": "lobby.note", "text": f"notice: {text}"})
        events.append(self._channel)
        try:
            self.channel_name  # noqa: B018
        except trane.WebSocketStateError as exc:
            events.append(exc)


layer = trane.InMemoryChannelLayer()
router = trane.Router(
    [
        trane.WebSocketRoute("/echo", Echo),
        trane.WebSocketRoute("/rooms/{room:int}", Room, name="room"),
        trane.WebSocketRoute("/helpers/{room:int}", Helpers),
        trane.WebSocketRoute("/lobby", Lobby),
        trane.WebSocketRoute("/notify", Notifier),
    ],
    channel_layer=layer,
)


@pytest.fixture(autouse=True)
def _reset() -> None:
    events.clear()


# -- hooks and encodings -------------------------------------------------


async def test_websocket_echo_text_and_disconnect_runs_once() -> None:
    client = Client(router, "/echo")
    assert await client.connect() == {"type": "websocket.accept", "subprotocol": None}
    await client.send_text("hi")
    assert await client.receive_text() == "echo: hi"
    await client.disconnect(1001)
    assert events == [("disconnect", 1001)]


async def test_websocket_encoding_is_inferred_from_the_hook() -> None:
    assert (Echo._encoding, Bytes._encoding, Json._encoding) == ("text", "bytes", "json")
    assert (EchoBoth._encoding, Quiet._encoding, JsonAsBytes._encoding) == (None, None, "json")


async def test_websocket_text_and_bytes_hooks_by_frame_type() -> None:
    client = Client(EchoBoth)
    await client.connect()
    await client.send_text("abc")
    assert await client.receive_text() == "ABC"
    await client.send_bytes(b"abc")
    assert await client.receive() == {"type": "websocket.send", "bytes": b"cba"}
    await client.disconnect()


async def test_websocket_wrong_frame_type_closes_1003() -> None:
    client = Client(Echo)
    await client.connect()
    await client.send_bytes(b"\x00")
    assert await client.receive() == {
        "type": "websocket.close",
        "code": 1003,
        "reason": "expected text messages",
    }
    await client.finished()
    assert events == [("disconnect", 1003)]

    client = Client(Bytes)
    await client.connect()
    await client.send_text("text")
    assert (await client.receive())["code"] == 1003


async def test_websocket_json_round_trip_and_bad_json_closes_1007() -> None:
    client = Client(Json)
    await client.connect()
    await client.send_text('{"a": [1, "é"]}')
    assert await client.receive_text() == '{"got":{"a":[1,"é"]}}'
    await client.send_bytes(b"[true]")  # binary frames holding UTF-8 JSON work too
    assert await client.receive_text() == '{"got":[true]}'
    await client.send_text("{nope")
    assert await client.receive() == {
        "type": "websocket.close",
        "code": 1007,
        "reason": "invalid JSON",
    }
    await client.finished()
    assert events == [("disconnect", 1007)]


async def test_websocket_send_json_binary() -> None:
    client = Client(JsonAsBytes)
    await client.connect()
    await client.send_text('{"x": 1}')
    assert await client.receive() == {"type": "websocket.send", "bytes": b'{"x":1}'}


async def test_websocket_without_hooks_ignores_messages() -> None:
    client = Client(Quiet)
    await client.connect()
    await client.send_text("a")
    await client.send_bytes(b"b")
    assert await client.nothing()
    await client.disconnect()


async def test_websocket_request_side_helpers() -> None:
    client = Client(
        router,
        "/helpers/3",
        headers=[(b"x-test", b"yes"), (b"cookie", b"session=abc")],
        query=b"q=search",
        state={"ready": True},
    )
    message = await client.connect()
    assert message["type"] == "websocket.accept"
    assert message["headers"] == [(b"x-room", b"3")]
    assert await client.receive() == {
        "type": "websocket.send",
        "text": '{"room":3,"query":"search","header":"yes","cookie":"abc",'
        '"url_for":"/rooms/7","url":"ws://testserver/helpers/3?q=search",'
        '"state":true,"client":["127.0.0.1",5000]}',
    }


# -- handshake: accept, deny, subprotocols, origins ------------------------


async def test_websocket_deny_uses_the_http_response_extension() -> None:
    client = Client(Refuser)
    start = await client.connect()
    assert start["type"] == "websocket.http.response.start"
    assert start["status"] == 401
    assert (b"www-authenticate", b"Bearer") in start["headers"]
    assert (b"content-length", b"12") in start["headers"]
    assert await client.receive() == {
        "type": "websocket.http.response.body",
        "body": b"who are you?",
    }
    await client.finished()
    assert events == [("disconnect", 1006)]


async def test_websocket_deny_without_the_extension_closes_before_accept() -> None:
    client = Client(Refuser, extension=False)
    assert await client.connect() == {"type": "websocket.close", "code": 1000}
    await client.finished()


async def test_websocket_connect_that_neither_accepts_nor_denies_closes() -> None:
    client = Client(Forgetful)
    assert await client.connect() == {"type": "websocket.close", "code": 1000, "reason": ""}
    await client.finished()


async def test_websocket_accept_offered_subprotocol() -> None:
    client = Client(Subprotocols, subprotocols=["v1.chat", "v2.chat"], query=b"pick=v2.chat")
    assert await client.connect() == {"type": "websocket.accept", "subprotocol": "v2.chat"}


async def test_websocket_accept_refuses_a_subprotocol_not_offered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = Client(Subprotocols, subprotocols=["v1.chat"], query=b"pick=v9.chat")
    with caplog.at_level(logging.ERROR, logger="trane"):
        start = await client.connect()
    assert start["type"] == "websocket.http.response.start"
    assert start["status"] == 500
    assert "'v9.chat' was not offered by the client" in caplog.text


async def test_websocket_accept_refuses_the_subprotocol_header() -> None:
    app = trane.WebSocketApplication({"type": "websocket", "subprotocols": ["a"]})
    with pytest.raises(ValueError, match=r"accept\(subprotocol=\.\.\.\)"):
        await app.accept(headers=[(b"Sec-WebSocket-Protocol", b"a")])
    assert app._state == "CONNECTING"


@pytest.mark.parametrize(
    ("origin", "accepted"),
    [
        (b"https://example.com", True),
        (b"HTTPS://EXAMPLE.COM/", True),
        (b"https://evil.example", False),
        (None, False),
    ],
)
async def test_websocket_allowed_origins(origin: bytes | None, accepted: bool) -> None:
    headers = [(b"origin", origin)] if origin is not None else []
    client = Client(Guarded, headers=headers)
    message = await client.connect()
    if accepted:
        assert message["type"] == "websocket.accept"
        assert events == ["connect"]
    else:
        assert message["type"] == "websocket.http.response.start"
        assert message["status"] == 403
        await client.finished()
        assert events == []  # connect() never ran


# -- order errors and close codes ------------------------------------------


async def test_websocket_send_and_receive_before_accept_are_errors() -> None:
    client = Client(SendFirst)
    assert (await client.connect())["type"] == "websocket.accept"
    send_error, receive_error = events
    assert isinstance(send_error, trane.WebSocketStateError)
    assert str(send_error) == "SendFirst: cannot send: accept() the connection before sending"
    assert "accept() the connection first" in str(receive_error)


@pytest.mark.parametrize(
    ("mistake", "error", "text"),
    [
        ("accept", trane.WebSocketStateError, "the connection was already accepted"),
        ("deny", trane.WebSocketStateError, "already accepted; use close()"),
        ("close-code", ValueError, "invalid WebSocket close code 1006"),
        ("close-reason", ValueError, "longer than 123 bytes"),
        ("close-then-send", trane.WebSocketStateError, "was closed with close()"),
        ("send-int", TypeError, "send_text() takes a str, got int"),
    ],
)
async def test_websocket_order_errors_are_clear(mistake: str, error: type, text: str) -> None:
    client = Client(Misuse)
    await client.connect()
    await client.send_text(mistake)
    reply = await client.receive()  # the error's name, or the close frame
    assert reply["type"] == (
        "websocket.close" if mistake == "close-then-send" else "websocket.send"
    )
    (exc,) = events
    assert isinstance(exc, error)
    assert text in str(exc)


@pytest.mark.parametrize("code", [999, 1004, 1005, 1006, 1015, 2000, 2999, 5000, True])
async def test_websocket_invalid_close_codes(code: int) -> None:
    app = trane.WebSocketApplication({"type": "websocket"})
    with pytest.raises(ValueError, match="close code"):
        await app.close(code)


async def test_websocket_imperative_receive_then_loop() -> None:
    client = Client(Imperative)
    await client.connect()
    await client.send_text("s3cret")
    assert await client.receive_text() == "welcome"
    await client.send_text("after")
    assert await client.receive_text() == "after"
    await client.disconnect(1000)
    (disconnect, error) = events
    assert disconnect == ("disconnect", 1000)
    assert isinstance(error, trane.WebSocketStateError)
    assert "the client already disconnected" in str(error)


async def test_websocket_imperative_receive_sees_the_disconnect() -> None:
    client = Client(Imperative)
    await client.connect()
    await client.disconnect(1001)
    assert events[:2] == [("gone", 1001), ("disconnect", 1001)]


async def test_websocket_imperative_close_with_custom_code() -> None:
    client = Client(Imperative)
    await client.connect()
    await client.send_text("wrong")
    assert await client.receive() == {
        "type": "websocket.close",
        "code": 4001,
        "reason": "bad password",
    }
    await client.finished()
    assert events[0] == ("disconnect", 4001)


# -- errors, sizes, disconnects --------------------------------------------


async def test_websocket_unhandled_exception_closes_1011_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = Client(Crashing)
    await client.connect()
    with caplog.at_level(logging.ERROR, logger="trane"):
        await client.send_text("x")
        assert await client.receive() == {"type": "websocket.close", "code": 1011, "reason": ""}
        await client.finished()
    assert events == [("disconnect", 1011)]
    assert "Exception in Crashing handling WebSocket /" in caplog.text
    assert "RuntimeError: boom x" in caplog.text


async def test_websocket_exception_before_accept_denies_500() -> None:
    client = Client(CrashingEarly)
    assert (await client.connect())["status"] == 500
    await client.finished()
    assert events == [("disconnect", 1011)]
    client = Client(CrashingEarly, extension=False)
    assert await client.connect() == {"type": "websocket.close", "code": 1000}


async def test_websocket_exception_in_disconnect_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = Client(CrashingDisconnect)
    await client.connect()
    with caplog.at_level(logging.ERROR, logger="trane"):
        await client.disconnect()
    assert "Exception in CrashingDisconnect.disconnect" in caplog.text


@pytest.mark.parametrize(
    "payload", ["123456789", "ééééé", b"123456789"], ids=["text", "utf8", "bytes"]
)
async def test_websocket_max_message_size_closes_1009(payload: str | bytes) -> None:
    client = Client(Small)
    await client.connect()
    await (client.send_text("1234") if isinstance(payload, bytes) else client.send_text("éé"))
    assert (await client.receive())["type"] == "websocket.send"  # within the limit
    if isinstance(payload, str):
        await client.send_text(payload)
    else:
        await client.send_bytes(payload)
    message = await client.receive()
    assert message == {
        "type": "websocket.close",
        "code": 1009,
        "reason": "message larger than 8 bytes",
    }
    await client.finished()
    assert events == [("disconnect", 1009)]


async def test_websocket_send_raising_oserror_is_a_quiet_disconnect(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """uvicorn's send raises ClientDisconnected (an OSError) once the client left."""
    sent: list[Message] = []
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    for message in ({"type": "websocket.connect"}, {"type": "websocket.receive", "text": "x"}):
        inbox.put_nowait(message)

    async def send(message: Message) -> None:
        if message["type"] == "websocket.send":
            raise ConnectionResetError("client gone")
        sent.append(message)

    with caplog.at_level(logging.ERROR, logger="trane"):
        await asyncio.wait_for(Echo({"type": "websocket", "path": "/"})(inbox.get, send), 2)
    assert sent == [{"type": "websocket.accept", "subprotocol": None}]
    assert events == [("disconnect", 1006)]
    assert caplog.text == ""


async def test_websocket_cancellation_runs_disconnect_once() -> None:
    """daphne cancels an application that outlives its connection."""
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    inbox.put_nowait({"type": "websocket.connect"})
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    room = Room({"type": "websocket", "path": "/", "path_params": {"room": 1}})
    room.channel_layer = trane.InMemoryChannelLayer()
    task = asyncio.ensure_future(room(inbox.get, send))
    for _ in range(10):  # let it accept and settle into waiting on both sources
        await asyncio.sleep(0)
    assert sent == [{"type": "websocket.accept", "subprotocol": None}]
    assert room._recv_task is not None
    assert room._layer_task is not None
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 2)
    assert events == [("disconnect", 1006)]
    assert room.channel_layer._groups == {}
    assert room._recv_task is None
    assert room._layer_task is None


async def test_websocket_client_gone_before_connect() -> None:
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    inbox.put_nowait({"type": "websocket.disconnect", "code": 1006})
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await asyncio.wait_for(Echo({"type": "websocket"})(inbox.get, send), 2)
    assert sent == []
    assert events == []


# -- routing ---------------------------------------------------------------


async def test_websocket_unknown_path_closes_cleanly() -> None:
    client = Client(router, "/nowhere")
    message = await client.connect()
    assert message["type"] == "websocket.close"
    await client.finished()


async def test_websocket_route_answers_http_with_404() -> None:
    from asgi import request

    result = await request(router, "GET", "/echo")
    assert result.status == 404


async def test_websocket_application_answers_plain_http_with_426() -> None:
    from asgi import request

    result = await request(Echo, "GET", "/")
    assert result.status == 426
    assert result.header("upgrade") == "websocket"


async def test_websocket_application_completes_lifespan() -> None:
    client = _ApplicationCommunicator(trane.as_asgi3(Echo), {"type": "lifespan"})
    await client.send_input({"type": "lifespan.startup"})
    assert await client.receive_output(1) == {"type": "lifespan.startup.complete"}


# -- groups on the layer ---------------------------------------------------


async def test_websocket_group_send_reaches_every_member() -> None:
    a, b, other = Client(router, "/rooms/1"), Client(router, "/rooms/1"), Client(router, "/rooms/2")
    for client in (a, b, other):
        await client.connect()
    await a.send_text("hello room 1")
    assert await a.receive_text() == "hello room 1"
    assert await b.receive_text() == "hello room 1"
    assert await other.nothing()
    assert set(layer._groups) == {"room-1", "room-2"}
    await a.disconnect()
    await b.send_text("a left")
    assert await b.receive_text() == "a left"
    assert await a.nothing()
    await b.disconnect()
    await other.disconnect()
    assert layer._groups == {}  # groups are left on disconnect
    assert events == [("disconnect", 1000)] * 3


async def test_websocket_class_groups_and_event_dispatch(caplog: pytest.LogCaptureFixture) -> None:
    a, b = Client(router, "/lobby"), Client(router, "/lobby")
    await a.connect()
    await b.connect()
    await a.send_text("hi")
    assert await b.receive_text() == "hi"
    assert await a.receive_text() == "hi"
    # Types that do not name a handler are logged and dropped: the API and
    # _private methods are never dispatched to.
    with caplog.at_level(logging.ERROR, logger="trane"):
        for kind in ("close", "send.text", "_secret", "disconnect", "group.add", "no.such"):
            await a.send_text(f"raw:{kind}")
        await a.send_text("still alive")
        assert await b.receive_text() == "still alive"
    assert events == []
    assert caplog.text.count("has no handler for channel layer event type") == 12
    await a.disconnect()
    await b.disconnect()
    assert "lobby" not in layer._groups


async def test_websocket_group_send_without_a_channel() -> None:
    member, notifier = Client(router, "/lobby"), Client(router, "/notify")
    await member.connect()
    await notifier.connect()
    await notifier.send_text("x")
    assert await member.receive_text() == "notice: x"
    channel, error = events
    assert channel is None  # no handlers: no channel, no extra task
    assert "has no channel" in str(error)
    await member.disconnect()
    await notifier.disconnect()


async def test_websocket_groups_work_on_channels_in_memory_layer() -> None:
    """Any layer with the Channels API: here Channels' own in-memory layer."""
    from channels.layers import InMemoryChannelLayer

    other = trane.Router(
        [trane.WebSocketRoute("/rooms/{room:int}", Room)], channel_layer=InMemoryChannelLayer()
    )
    a, b = Client(other, "/rooms/5"), Client(other, "/rooms/5")
    await a.connect()
    await b.connect()
    await b.send_text("via channels")
    assert await a.receive_text() == "via channels"
    await a.disconnect()
    await b.disconnect()


async def test_websocket_layer_event_to_channel_name() -> None:
    """A message sent straight to ``channel_name`` is dispatched like a group event."""
    names: list[str] = []

    class Direct(trane.WebSocketApplication):
        async def connect(self) -> None:
            await self.accept()
            names.append(self.channel_name)

        async def note(self, event: dict[str, Any]) -> None:
            await self.send_text(event["text"])

    own = trane.InMemoryChannelLayer()
    client = Client(trane.Router([trane.WebSocketRoute("/", Direct)], channel_layer=own))
    await client.connect()
    await own.send(names[0], {"type": "note", "text": "direct"})
    assert await client.receive_text() == "direct"
    await client.disconnect()


# -- class definitions -----------------------------------------------------


def test_websocket_class_definition_errors() -> None:
    with pytest.raises(TypeError, match="set encoding"):

        class Both(trane.WebSocketApplication):
            async def receive_text(self, text: str) -> None: ...
            async def receive_json(self, data: Any) -> None: ...

    with pytest.raises(TypeError, match="encoding must be"):

        class Bad(trane.WebSocketApplication):
            encoding = "xml"  # type: ignore[assignment]

    with pytest.raises(TypeError, match="not a str"):

        class Origins(trane.WebSocketApplication):
            allowed_origins = "https://example.com"


def test_websocket_handlers_are_computed_per_class_and_inherited() -> None:
    class Child(Room):
        async def extra_event(self, event: dict[str, Any]) -> None: ...

    assert Room._event_handlers == frozenset({"chat_message"})
    assert Child._event_handlers == frozenset({"chat_message", "extra_event"})
    assert Room._uses_layer
    assert Lobby._uses_layer
    assert not Echo._uses_layer
    assert trane.WebSocketApplication._asgi_double_callable


async def test_websocket_unexpected_asgi_message_is_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = Client(Echo)
    await client.connect()
    with caplog.at_level(logging.ERROR, logger="trane"):
        await client.inner.send_input({"type": "websocket.connect"})
        assert (await client.receive())["code"] == 1011
        await client.finished()
    assert "unexpected ASGI message 'websocket.connect'" in caplog.text
