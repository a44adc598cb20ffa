"""WebSocketApplication in-process: hooks, encodings, order errors, groups, disconnects."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import pytest
from asgiref import testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trane
from trane import websockets
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

    async def disconnect(self, code: int) -> None:
        events.append(("disconnect", code))


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
            elif text == "close-then-send-json":
                await self.close()
                await self.send_json({"too": "late"})
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


class HostBound(trane.WebSocketApplication):
    allowed_hosts = ["example.com"]

    async def connect(self) -> None:
        self.url  # noqa: B018 - reading it checks the Host header
        await self.accept()


class Unwelcome(trane.WebSocketApplication):
    async def connect(self) -> None:
        raise trane.HTTPError(403, "members only", headers={"x-why": "policy"})


async def test_websocket_http_error_before_accept_is_its_status_not_a_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = Client(HostBound, headers=[(b"host", b"evil.test")])
    client.scope["headers"] = [(b"host", b"evil.test")]
    start = await client.connect()
    assert (start["type"], start["status"]) == ("websocket.http.response.start", 400)
    body = await client.receive()
    assert body["body"] == b"Invalid Host header"
    await client.finished()
    client = Client(Unwelcome)
    start = await client.connect()
    assert start["status"] == 403
    assert (b"x-why", b"policy") in start["headers"]
    assert (await client.receive())["body"] == b"members only"
    await client.finished()
    # Without the denial extension: closed before accept (the server says 403).
    client = Client(Unwelcome, extension=False)
    assert await client.connect() == {"type": "websocket.close", "code": 1000}
    await client.finished()
    assert "Exception" not in caplog.text  # a refusal, not a failure


class BadRefusal(trane.WebSocketApplication):
    async def connect(self) -> None:
        raise trane.HTTPError(403, headers={"x-bad": "line\nbreak"})


async def test_websocket_http_error_deny_cannot_send_is_a_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = Client(BadRefusal)
    start = await client.connect()
    assert start["status"] == 500
    await client.receive()
    await client.finished()
    assert "Exception in BadRefusal" in caplog.text
    assert "x-bad" in caplog.text  # the header deny() refused is named


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
        assert events == [("disconnect", 1006)]  # connect() never ran; disconnect() did


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
        ("close-then-send-json", trane.WebSocketStateError, "was closed with close()"),
        ("send-int", TypeError, "send_text() takes a str, got int"),
    ],
)
async def test_websocket_order_errors_are_clear(mistake: str, error: type, text: str) -> None:
    client = Client(Misuse)
    await client.connect()
    await client.send_text(mistake)
    reply = await client.receive()  # the error's name, or the close frame
    assert reply["type"] == (
        "websocket.close" if mistake.startswith("close-then-send") else "websocket.send"
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


@pytest.mark.parametrize("app", [Echo, Json], ids=["send_text", "send_json"])
async def test_websocket_send_raising_oserror_is_a_quiet_disconnect(
    app: type[trane.WebSocketApplication], caplog: pytest.LogCaptureFixture
) -> None:
    """uvicorn's send raises ClientDisconnected (an OSError) once the client left."""
    sent: list[Message] = []
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    for message in ({"type": "websocket.connect"}, {"type": "websocket.receive", "text": '"x"'}):
        inbox.put_nowait(message)

    async def send(message: Message) -> None:
        if message["type"] == "websocket.send":
            raise ConnectionResetError("client gone")
        sent.append(message)

    with caplog.at_level(logging.ERROR, logger="trane"):
        await asyncio.wait_for(app({"type": "websocket", "path": "/"})(inbox.get, send), 2)
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
    assert room._wakeup is not None  # the layer would hand an event to it
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 2)
    assert events == [("disconnect", 1006)]
    assert room.channel_layer._groups == {}
    assert room.channel_layer._channels == {}  # no longer watched: forgotten
    assert room._recv_task is None


async def test_websocket_client_gone_before_connect() -> None:
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    inbox.put_nowait({"type": "websocket.disconnect", "code": 1006})
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await asyncio.wait_for(Echo({"type": "websocket"})(inbox.get, send), 2)
    assert sent == []
    assert events == [("disconnect", 1006)]  # disconnect() runs however the connection ends


async def test_websocket_first_message_must_be_connect(caplog: pytest.LogCaptureFixture) -> None:
    client = Client(Echo)
    with caplog.at_level(logging.ERROR, logger="trane"):
        await client.send_text("too early")
        start = await client.receive()
        await client.finished()
    assert (start["type"], start["status"]) == ("websocket.http.response.start", 500)
    assert "expected ASGI message 'websocket.connect', got 'websocket.receive'" in caplog.text
    assert events == [("disconnect", 1011)]


async def test_websocket_application_raises_on_an_unknown_scope_type() -> None:
    from asgi import recorder

    sent, receive, send = recorder()
    with pytest.raises(ValueError, match="unknown ASGI scope type 'webtransport'"):
        await Echo({"type": "webtransport"})(receive, send)
    assert sent == []


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
    assert result.body == b"This endpoint speaks WebSocket only."
    # HEAD: the same headers, no body (the one way out's rule, before: the body too).
    head = await request(Echo, "HEAD", "/")
    assert (head.status, head.headers, head.body) == (426, result.headers, b"")


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


# -- disconnect() exactly once, whatever the order of events ----------------

_CONNECT = ("accept", "deny", "close", "nothing", "raise", "receive", "accept-raise")
_HOOK = ("echo", "close", "raise", "group", "nothing", "receive")
_EVENT = ("send", "raise", "close")
_STEP = ("text", "bytes", "big", "event", "stray-event", "pause", "disconnect", "connect")


def _channels_layer() -> Any:
    from channels.layers import InMemoryChannelLayer

    return InMemoryChannelLayer()


@dataclass
class Plan:
    """What the app does in each hook, and what the server sends when."""

    first: str  # the first ASGI message: "connect", "disconnect" or "text"
    connect: str
    hooks: list[str]
    events: list[str]
    disconnect_raises: bool
    uses_layer: bool
    foreign: bool  # Channels' in-memory layer (read by a task), not trane's
    origins: bool  # allowed_origins is set
    origin_ok: bool
    extension: bool  # the server offers websocket.http.response
    gone_send: str  # after websocket.disconnect a send "raise"s (uvicorn) or is "drop"ped
    steps: list[str]
    end: str  # the client "leave"s, or the server "cancel"s the app (daphne)


plans = st.builds(
    Plan,
    first=st.sampled_from(["connect"] * 4 + ["disconnect", "text"]),
    connect=st.sampled_from(_CONNECT),
    hooks=st.lists(st.sampled_from(_HOOK), min_size=1, max_size=4),
    events=st.lists(st.sampled_from(_EVENT), min_size=1, max_size=3),
    disconnect_raises=st.booleans(),
    uses_layer=st.booleans(),
    foreign=st.booleans(),
    origins=st.booleans(),
    origin_ok=st.booleans(),
    extension=st.booleans(),
    gone_send=st.sampled_from(["raise", "drop"]),
    steps=st.lists(st.sampled_from(_STEP), max_size=8),
    end=st.sampled_from(["leave", "cancel"]),
)


def _scripted(plan: Plan, calls: list[int]) -> type[trane.WebSocketApplication]:
    hooks, events = itertools.cycle(plan.hooks), itertools.cycle(plan.events)

    class Scripted(trane.WebSocketApplication):
        allowed_origins = ["https://ok.example"] if plan.origins else None
        groups = ["g"] if plan.uses_layer else ()
        max_message_size = 16

        async def connect(self) -> None:
            action = plan.connect
            if action == "deny":
                await self.deny(403)
            elif action == "close":
                await self.close(4000)
            elif action == "raise":
                raise RuntimeError("in connect")
            elif action != "nothing":
                await self.accept()
                if action == "receive":
                    await self.send_text(f"got {await self.receive()!r}")
                elif action == "accept-raise":
                    raise RuntimeError("after accept")

        async def receive_text(self, text: str) -> None:
            action = next(hooks)
            if action == "echo":
                await self.send_text(text)
            elif action == "close":
                await self.close(4001)
            elif action == "raise":
                raise RuntimeError("in receive_text")
            elif action == "group":
                await self.group_send("g", {"type": "note", "text": text})
            elif action == "receive":
                await self.receive()

        async def disconnect(self, code: int) -> None:
            calls.append(code)
            if plan.disconnect_raises:
                raise RuntimeError("in disconnect")

    if not plan.uses_layer:
        return Scripted

    class Listening(Scripted):
        async def note(self, event: dict[str, Any]) -> None:
            action = next(events)
            if action == "send":
                await self.send_text(event["text"])
            elif action == "close":
                await self.close(4002)
            else:
                raise RuntimeError("in note")

    return Listening


def _check_asgi_order(sent: list[Message], extension: bool) -> None:
    """The ASGI WebSocket rules for what an app sends."""
    kinds = [message["type"] for message in sent]
    if not kinds:
        return
    first, rest = kinds[0], kinds[1:]
    if first == "websocket.accept":
        assert set(rest) <= {"websocket.send", "websocket.close"}, kinds
        assert "websocket.close" not in rest[:-1], kinds  # nothing after a close
    elif first == "websocket.http.response.start":
        assert extension, kinds
        assert rest == ["websocket.http.response.body"], kinds
        assert not sent[-1].get("more_body", False)
    else:
        assert kinds == ["websocket.close"], kinds
    for message in sent:
        if message["type"] == "websocket.send":
            assert (message.get("text") is None) != (message.get("bytes") is None), message
        if message["type"] == "websocket.close":
            code = message.get("code", 1000)
            assert code == 1000 or 1000 < code < 1015 or 3000 <= code <= 4999, message


async def _play(plan: Plan) -> tuple[list[int], list[Message], bool]:
    """Run one connection; (disconnect() codes, what the app sent, task cancelled)."""
    calls: list[int] = []
    origin = b"https://ok.example" if plan.origin_ok else b"https://evil.example"
    app = _scripted(plan, calls)(
        {
            "type": "websocket",
            "path": "/",
            "headers": [(b"origin", origin)],
            "subprotocols": [],
            "extensions": {"websocket.http.response": {}} if plan.extension else {},
        }
    )
    layer = _channels_layer() if plan.foreign else trane.InMemoryChannelLayer()
    app.channel_layer = layer
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    sent: list[Message] = []
    gone = False

    async def receive() -> Message:
        nonlocal gone
        message = await inbox.get()
        gone = gone or message["type"] == "websocket.disconnect"
        return message

    async def send(message: Message) -> None:
        if gone:  # the client left: the server refuses, or drops the message
            if plan.gone_send == "raise":
                raise ConnectionResetError("client gone")
            return
        sent.append(message)

    messages: dict[str, Message] = {
        "connect": {"type": "websocket.connect"},
        "disconnect": {"type": "websocket.disconnect", "code": 1001},
        "text": {"type": "websocket.receive", "text": "hi"},
        "bytes": {"type": "websocket.receive", "bytes": b"hi"},
        "big": {"type": "websocket.receive", "text": "x" * 17},
    }
    task = asyncio.ensure_future(app(receive, send))
    for step in [plan.first, *plan.steps]:
        if task.done():
            break
        if step == "event":
            await layer.group_send("g", {"type": "note", "text": "event"})
        elif step == "stray-event":
            await layer.group_send("g", {"type": "no.handler"})
        elif step != "pause":
            inbox.put_nowait(messages[step])
        for _ in range(5):
            await asyncio.sleep(0)
        if step == "disconnect":
            break  # a server sends nothing after websocket.disconnect
    cancelled = False
    if not task.done():
        if plan.end == "cancel":
            task.cancel()
            cancelled = True
        else:
            inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
    try:
        await asyncio.wait_for(task, 2)
    except asyncio.CancelledError:
        assert cancelled
    return calls, sent, cancelled


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans)
def test_websocket_disconnect_runs_exactly_once_in_any_order(plan: Plan) -> None:
    logging.getLogger("trane").disabled = True  # the hooks that raise are logged
    try:
        calls, sent, cancelled = asyncio.run(_play(plan))
    finally:
        logging.getLogger("trane").disabled = False
    assert len(calls) == 1, calls
    assert isinstance(calls[0], int)
    _check_asgi_order(sent, plan.extension)
    if plan.first != "disconnect" and not cancelled:
        assert sent, "the handshake was never answered"


# -- every branch of the state machine and the cleanup ---------------------


class Direct:
    """Drive one instance by hand: an inbox the test fills, every message sent kept."""

    def __init__(self, cls: type[trane.WebSocketApplication], **scope: Any) -> None:
        self.app = cls({"type": "websocket", "path": "/", "headers": [], **scope})
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.sent: list[Message] = []
        self.send_error: BaseException | None = None
        self.task: asyncio.Future[None] | None = None

    async def _send(self, message: Message) -> None:
        if self.send_error is not None:
            raise self.send_error
        self.sent.append(message)

    async def start(self, *messages: Message) -> None:
        for message in messages:
            self.inbox.put_nowait(message)
        self.task = asyncio.ensure_future(self.app(self.inbox.get, self._send))
        await self.settle()

    async def settle(self) -> None:
        for _ in range(10):
            await asyncio.sleep(0)

    async def finish(self) -> None:
        assert self.task is not None
        await asyncio.wait_for(self.task, 2)


CONNECT: Message = {"type": "websocket.connect"}


async def test_websocket_bytes_encoding_gets_binary_frames() -> None:
    client = Client(Bytes)
    await client.connect()
    await client.send_bytes(b"\x01\x02")
    assert await client.receive() == {"type": "websocket.send", "bytes": b"\x01\x02"}
    await client.disconnect()


async def test_websocket_any_origin_with_star() -> None:
    class Anyone(trane.WebSocketApplication):
        allowed_origins = ["*"]

    client = Client(Anyone)  # no Origin header at all
    assert (await client.connect())["type"] == "websocket.accept"


class AfterTheEnd(trane.WebSocketApplication):
    """Closes, or sees the client leave, then raises; or calls the API in disconnect()."""

    async def receive_text(self, text: str) -> None:
        if text == "close-then-raise":
            await self.close(4000)
            raise RuntimeError("after close")
        if text == "receive-then-raise":
            try:
                await self.receive()
            except trane.WebSocketDisconnect:
                raise RuntimeError("cleanup failed") from None

    async def disconnect(self, code: int) -> None:
        events.append(("disconnect", code))
        await self.close()  # the end already: nothing to do
        await self.deny()
        for late in (self.accept(), self.send_text("late"), self.send_bytes(b"late")):
            try:
                await late
            except trane.WebSocketDisconnect as exc:
                events.append(("gone", exc.code))


async def test_websocket_exception_after_close_keeps_one_close_frame(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = Client(AfterTheEnd)
    await client.connect()
    with caplog.at_level(logging.ERROR, logger="trane"):
        await client.send_text("close-then-raise")
        assert await client.receive() == {"type": "websocket.close", "code": 4000, "reason": ""}
        await client.finished()
    assert await client.nothing()
    assert events == [("disconnect", 1011)]
    assert "RuntimeError: after close" in caplog.text


async def test_websocket_exception_after_the_client_left_keeps_its_code(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = Client(AfterTheEnd)
    await client.connect()
    with caplog.at_level(logging.ERROR, logger="trane"):
        await client.send_text("receive-then-raise")
        await client.disconnect(1001)
    assert events == [("disconnect", 1001), ("gone", 1001), ("gone", 1001), ("gone", 1001)]
    assert await client.nothing()
    assert "RuntimeError: cleanup failed" in caplog.text


async def test_websocket_deny_arguments() -> None:
    app = trane.WebSocketApplication({"type": "websocket"})
    for status in (200, 600, True, "403"):
        with pytest.raises(ValueError, match="deny\\(\\) status must be 300-599"):
            await app.deny(status)  # type: ignore[arg-type]

    class Typed(trane.WebSocketApplication):
        async def connect(self) -> None:
            await self.deny(409, "{}", headers={"content-type": "application/json"})

    conn = Direct(Typed, extensions={"websocket.http.response": {}})
    await conn.start(CONNECT)
    await conn.finish()
    start = conn.sent[0]
    assert [v for k, v in start["headers"] if k == b"content-type"] == [b"application/json"]


async def test_websocket_send_bytes_checks_type_and_state() -> None:
    app = trane.WebSocketApplication({"type": "websocket"})
    with pytest.raises(TypeError, match="send_bytes\\(\\) takes bytes, got str"):
        await app.send_bytes("text")  # type: ignore[arg-type]
    with pytest.raises(trane.WebSocketStateError, match="accept\\(\\) the connection"):
        await app.send_bytes(b"x")
    with pytest.raises(TypeError, match="group_send\\(\\) takes a dict"):
        await app.group_send("g", {"no": "type"})


class Closer(trane.WebSocketApplication):
    async def receive_text(self, text: str) -> None:
        await self.close(int(text))


async def test_websocket_close_falls_back_to_1000_when_the_server_refuses_the_code() -> None:
    """autobahn under daphne raises for codes 1001-2999 (daphne#374)."""
    conn = Direct(Closer)
    await conn.start(CONNECT)
    real_send = conn._send

    async def picky(message: Message) -> None:
        if message["type"] == "websocket.close" and message["code"] != 1000:
            raise ValueError("unsupported close code")
        await real_send(message)

    conn.app._send = picky
    conn.inbox.put_nowait({"type": "websocket.receive", "text": "1001"})
    await conn.finish()
    assert conn.sent[-1] == {"type": "websocket.close", "code": 1000, "reason": ""}


async def test_websocket_close_error_for_an_application_code_is_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    conn = Direct(Closer)
    await conn.start(CONNECT)
    conn.send_error = ValueError("no thanks")
    with caplog.at_level(logging.ERROR, logger="trane"):
        conn.inbox.put_nowait({"type": "websocket.receive", "text": "4000"})
        await conn.finish()
    assert "ValueError: no thanks" in caplog.text


async def test_websocket_close_to_a_gone_client_is_a_quiet_disconnect(
    caplog: pytest.LogCaptureFixture,
) -> None:
    conn = Direct(Closer)
    await conn.start(CONNECT)
    conn.send_error = ConnectionResetError("gone")
    with caplog.at_level(logging.ERROR, logger="trane"):
        conn.inbox.put_nowait({"type": "websocket.receive", "text": "1000"})
        await conn.finish()
    assert caplog.text == ""


class Asker(trane.WebSocketApplication):
    """A layer event handler that reads the client's answer imperatively."""

    groups = ["askers"]

    async def ask(self, event: dict[str, Any]) -> None:
        await self.send_text(event["question"])
        await self.send_text(f"answer: {await self.receive()!r}")

    async def disconnect(self, code: int) -> None:
        events.append(("disconnect", code))


async def test_websocket_receive_in_an_event_handler_takes_the_waiting_message() -> None:
    conn = Direct(Asker)
    conn.app.channel_layer = layer = trane.InMemoryChannelLayer()
    await conn.start(CONNECT)
    await conn.app.group_add("second")  # a second group: both are left at the end
    await layer.group_send("askers", {"type": "ask", "question": "name?"})
    await conn.settle()
    conn.inbox.put_nowait({"type": "websocket.receive", "text": "ann"})
    await conn.settle()
    assert [m.get("text") for m in conn.sent[1:]] == ["name?", "answer: 'ann'"]
    conn.inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
    await conn.finish()
    assert events == [("disconnect", 1000)]
    assert layer._groups == {}


async def test_websocket_event_and_disconnect_at_once_leave_nothing_unread() -> None:
    conn = Direct(Asker)
    conn.app.channel_layer = layer = trane.InMemoryChannelLayer()
    await conn.start(CONNECT)
    # Both sources are ready when the app next wakes (group_send yields before it
    # delivers, and the client's message is read meanwhile): the client goes
    # first, and the event is dropped with the connection.
    conn.inbox.put_nowait({"type": "websocket.disconnect", "code": 1001})
    await layer.group_send("askers", {"type": "ask", "question": "still there?"})
    await conn.finish()
    assert [m["type"] for m in conn.sent] == ["websocket.accept"]
    assert events == [("disconnect", 1001)]


async def test_websocket_cancelled_while_cleaning_up_still_runs_disconnect() -> None:
    """daphne may cancel the app again while it is already winding down."""
    started = asyncio.Event()

    class SlowToStop(Asker):
        async def ask(self, event: dict[str, Any]) -> None:
            await self.close()  # ends the loop with the client's receive still waiting

    conn = Direct(SlowToStop)
    conn.app.channel_layer = layer = trane.InMemoryChannelLayer()

    async def slow_receive() -> Message:
        try:
            return await conn.inbox.get()
        except asyncio.CancelledError:
            started.set()
            for _ in range(20):  # a server that takes its time to let go
                await asyncio.sleep(0)
            raise

    conn.inbox.put_nowait(CONNECT)
    task = asyncio.ensure_future(conn.app(slow_receive, conn._send))
    await conn.settle()
    await layer.group_send("askers", {"type": "ask"})
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 2)
    assert events == [("disconnect", 1000)]
    assert layer._groups == {}


class BrokenLayer(trane.InMemoryChannelLayer):
    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error

    async def group_discard(self, group: str, channel: str) -> None:
        raise self.error


async def test_websocket_failing_group_discard_is_logged_and_disconnect_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    conn = Direct(Asker)
    conn.app.channel_layer = BrokenLayer(ConnectionError("redis went away"))
    with caplog.at_level(logging.ERROR, logger="trane"):
        await conn.start(CONNECT, {"type": "websocket.disconnect", "code": 1000})
        await conn.finish()
    assert events == [("disconnect", 1000)]
    assert "Could not leave group 'askers'" in caplog.text


async def test_websocket_cancelled_while_leaving_groups_still_runs_disconnect() -> None:
    conn = Direct(Asker)
    conn.app.channel_layer = BrokenLayer(asyncio.CancelledError())
    await conn.start(CONNECT, {"type": "websocket.disconnect", "code": 1000})
    with pytest.raises(asyncio.CancelledError):
        await conn.finish()
    assert events == [("disconnect", 1000)]


async def test_websocket_group_discard_without_a_channel_does_nothing() -> None:
    app = trane.WebSocketApplication({"type": "websocket"})
    await app.group_discard("never-joined")
    assert app._channel is None


# -- fan-out: every member gets every event, in order ------------------------


class Fan(trane.WebSocketApplication):
    """A member of group "fan" that passes each event's ``seq`` on."""

    groups = ["fan"]

    async def fan_event(self, event: dict[str, Any]) -> None:
        await self.send_json(event["seq"])


async def _settle_until(done: Any, turns: int = 10_000) -> None:
    """Let the loop run until ``done()`` (bounded: a lost event fails, it does not hang)."""
    for _ in range(turns):
        if done():
            return
        await asyncio.sleep(0)
    raise AssertionError("events were lost")


@pytest.mark.parametrize("make_layer", [trane.InMemoryChannelLayer, _channels_layer])
async def test_websocket_fan_out_reaches_every_member_in_order(make_layer: Any) -> None:
    """trane's layer hands events to the loop; any other is read by one task (``_Reader``)."""
    layer = make_layer()
    members = [Direct(Fan) for _ in range(20)]
    for member in members:
        member.app.channel_layer = layer
        await member.start(CONNECT)
    # A burst, as fast as the layer takes it: Channels' layer does not yield
    # between group_send calls, so its events pile up (100 is its capacity).
    for seq in range(100):
        await layer.group_send("fan", {"type": "fan.event", "seq": seq})
    await _settle_until(lambda: all(len(m.sent) == 101 for m in members))
    for member in members:
        assert [m.get("text") for m in member.sent[1:]] == [str(seq) for seq in range(100)]
        member.inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
    for member in members:
        await member.finish()
    if isinstance(layer, trane.InMemoryChannelLayer):
        assert layer._channels == {}  # no channel left watched
        assert layer._groups == {}


class Interrupted(trane.WebSocketApplication):
    """Records hooks; the event ``seq`` 0 and 1 wait for the test to let them finish."""

    groups = ["fan"]
    gates: ClassVar[dict[int, asyncio.Event]] = {}

    async def fan_event(self, event: dict[str, Any]) -> None:
        events.append(event["seq"])
        gate = self.gates.get(event["seq"])
        if gate is not None:
            await gate.wait()

    async def receive_text(self, text: str) -> None:
        events.append(text)


async def test_websocket_client_message_goes_between_the_events_of_a_burst() -> None:
    conn = Direct(Interrupted)
    conn.app.channel_layer = layer = trane.InMemoryChannelLayer()
    Interrupted.gates = {0: asyncio.Event(), 1: asyncio.Event()}
    await conn.start(CONNECT)
    channel = conn.app.channel_name
    await layer.send(channel, {"type": "fan.event", "seq": 0})
    for seq in range(1, 6):  # queued while the handler of 0 waits
        await layer.send(channel, {"type": "fan.event", "seq": seq})
    Interrupted.gates[0].set()
    await conn.settle()  # 1 to 5 taken in one go; 1 waits
    conn.inbox.put_nowait({"type": "websocket.receive", "text": "client"})
    await conn.settle()
    Interrupted.gates[1].set()
    await _settle_until(lambda: len(events) == 7)
    assert events == [0, 1, "client", 2, 3, 4, 5]
    conn.inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
    await conn.finish()


async def test_websocket_foreign_layer_is_read_at_most_ahead_of_the_loop() -> None:
    conn = Direct(Interrupted)
    conn.app.channel_layer = layer = _channels_layer()
    Interrupted.gates = {0: asyncio.Event()}
    await conn.start(CONNECT)
    channel = conn.app.channel_name
    for seq in range(100):  # Channels' send() does not yield: a burst
        await layer.send(channel, {"type": "fan.event", "seq": seq})
    await conn.settle()
    # 0 is in its handler; the reader took the next _AHEAD and waits for room.
    reader = conn.app._source
    assert isinstance(reader, websockets._Reader)
    assert len(reader.events) == websockets._AHEAD
    assert layer.channels[channel].qsize() == 100 - 1 - websockets._AHEAD
    Interrupted.gates[0].set()
    await _settle_until(lambda: len(events) == 100)
    assert events == list(range(100))
    conn.inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
    await conn.finish()


class FailingLayer:
    """A foreign layer (not trane's) whose ``receive()`` raises at the ``fail_at``-th call."""

    def __init__(self, fail_at: int = 1) -> None:
        from channels.layers import InMemoryChannelLayer

        self.inner = InMemoryChannelLayer()
        self.calls = 0
        self.fail_at = fail_at

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def receive(self, channel: str) -> Any:
        self.calls += 1
        if self.calls == self.fail_at:
            raise ConnectionError("the layer went away")
        return await self.inner.receive(channel)


@pytest.mark.parametrize("fail_at", [1, 3])
async def test_websocket_foreign_layer_failure_closes_1011_after_the_events_before(
    fail_at: int, caplog: pytest.LogCaptureFixture
) -> None:
    conn = Direct(Fan)
    conn.app.channel_layer = layer = FailingLayer(fail_at)
    await conn.start(CONNECT)
    with caplog.at_level(logging.ERROR, logger="trane"):
        for seq in range(fail_at - 1):  # read before the receive() that raises
            await layer.send(conn.app.channel_name, {"type": "fan.event", "seq": seq})
        await conn.finish()
    assert [m.get("text") for m in conn.sent[1:fail_at]] == [str(n) for n in range(fail_at - 1)]
    assert conn.sent[fail_at:] == [{"type": "websocket.close", "code": 1011, "reason": ""}]
    assert "ConnectionError: the layer went away" in caplog.text


class NoneLayer(FailingLayer):
    """A foreign layer whose first ``receive()`` returns None, not an event."""

    async def receive(self, channel: str) -> Any:
        self.calls += 1
        return None if self.calls == 1 else await self.inner.receive(channel)


async def test_websocket_foreign_layer_none_event_is_logged_and_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    conn = Direct(Fan)
    conn.app.channel_layer = layer = NoneLayer()
    with caplog.at_level(logging.ERROR, logger="trane"):
        await conn.start(CONNECT)
        await layer.send(conn.app.channel_name, {"type": "fan.event", "seq": 1})
        await conn.settle()
    assert [m.get("text") for m in conn.sent[1:]] == ["1"]
    assert "has no handler for channel layer event type None" in caplog.text
    conn.inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
    await conn.finish()


class Denied(Fan):
    async def connect(self) -> None:
        await self.close()


async def test_websocket_foreign_layer_closed_before_the_loop_reads_nothing() -> None:
    conn = Direct(Denied)
    conn.app.channel_layer = layer = FailingLayer()
    await conn.start(CONNECT)
    await conn.finish()
    assert [m["type"] for m in conn.sent] == ["websocket.close"]
    assert layer.calls == 0  # the reader never started
