"""One WebSocket app under uvicorn, daphne, hypercorn and granian, driven by a websockets client.

The app below is served by each server in turn (this module is its target:
``test_websocket_servers:app``). The same assertions hold on all three,
except where a server cannot do what is asked: daphne has no
``websocket.http.response`` extension (a denial is a bare 403), sends no
close reason, ignores accept headers, and closes with 1000 where a protocol
code (1009, 1011...) was asked for (autobahn sends only 1000 and 3000-4999).
A group fan-out reaches every client in order on each; tests/test_redis.py
serves this app on channels_redis (``TRANE_TEST_REDIS_URL``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin, Subprotocol

import trane
from servers import ROOT, Server, serve

# -- the app the servers run ------------------------------------------------

#: How often disconnect() ran, per connection id (the "id" query parameter).
disconnects: Counter[str] = Counter()


class Echo(trane.WebSocketApplication):
    max_message_size = 1024

    async def connect(self) -> None:
        if self.query.get("deny"):
            await self.deny(401, "no entry", headers={"x-why": "testing"})
            return
        offered = self.subprotocols
        await self.accept(subprotocol=offered[0] if offered else None, headers={"x-hello": "1"})

    async def receive_text(self, text: str) -> None:
        if text == "close":
            await self.close(4001, "bye now")
        elif text == "crash":
            raise RuntimeError("deliberate")
        else:
            await self.send_text(f"echo: {text}")

    async def receive_bytes(self, data: bytes) -> None:
        await self.send_bytes(data[::-1])

    async def disconnect(self, code: int) -> None:
        disconnects[self.query.get("id", "")] += 1


class Ticker(trane.WebSocketApplication):
    """Sends for a while after the client left: each server's disconnect path."""

    async def receive_text(self, text: str) -> None:
        # uvicorn raises from send once the client left; daphne drops the
        # messages and cancels us (--application-close-timeout 1); hypercorn
        # drops them, and the loop sees websocket.disconnect afterwards.
        for i in range(int(self.query.get("ticks", "150"))):
            await self.send_text(f"tick {i}")
            await asyncio.sleep(0.01)

    async def disconnect(self, code: int) -> None:
        disconnects[self.query.get("id", "")] += 1


class Room(trane.WebSocketApplication):
    encoding = "json"

    async def connect(self) -> None:
        await self.accept()
        await self.group_add(f"room-{self.params['room']}")

    async def receive_json(self, data: Any) -> None:
        await self.group_send(f"room-{self.params['room']}", {"type": "room.say", "text": data})

    async def room_say(self, event: dict[str, Any]) -> None:
        await self.send_json({"said": event["text"]})

    async def disconnect(self, code: int) -> None:
        disconnects[self.query.get("id", "")] += 1


class Guarded(trane.WebSocketApplication):
    allowed_origins = ["https://good.example"]

    async def receive_text(self, text: str) -> None:
        await self.send_text(text)


class Fan(trane.WebSocketApplication):
    """A member of group "fan": each event's ``seq`` goes on to its client."""

    groups = ["fan"]

    async def fan_event(self, event: dict[str, Any]) -> None:
        await self.send_json(event["seq"])


class Publisher(trane.WebSocketApplication):
    """The text ``"N"`` sends N events (seq 0 to N-1) to the group, then ``"sent"``."""

    async def receive_text(self, text: str) -> None:
        for seq in range(int(text)):
            await self.group_send("fan", {"type": "fan.event", "seq": seq})
        await self.send_text("sent")


def channel_layer() -> Any:
    """The process-wide in-memory layer, or channels_redis (tests/test_redis.py sets it)."""
    url = os.environ.get("TRANE_TEST_REDIS_URL")
    if url is None:
        return None
    if os.environ.get("TRANE_TEST_LAYER") == "pubsub":
        from channels_redis.pubsub import RedisPubSubChannelLayer

        return RedisPubSubChannelLayer(hosts=[url])
    from channels_redis.core import RedisChannelLayer

    return RedisChannelLayer(hosts=[url])


class Stats(trane.Application):
    async def get(self) -> dict[str, int]:
        return dict(disconnects)


router = trane.Router(
    [
        trane.WebSocketRoute("/echo", Echo),
        trane.WebSocketRoute("/ticker", Ticker),
        trane.WebSocketRoute("/rooms/{room}", Room),
        trane.WebSocketRoute("/guarded", Guarded),
        trane.WebSocketRoute("/fan", Fan),
        trane.WebSocketRoute("/pub", Publisher),
        trane.Route("/stats", Stats),
    ],
    channel_layer=channel_layer(),
)
app = trane.as_asgi3(router)

# -- the tests ----------------------------------------------------------------

SERVERS = ["uvicorn", "daphne", "hypercorn", "granian"]
EXTRA = {"daphne": ("--application-close-timeout", "1")}
ENV = {"PYTHONPATH": f"{ROOT / 'tests'}:{ROOT}:{ROOT / 'src'}"}


@pytest.fixture(scope="module", params=SERVERS)
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    name = request.param
    with serve(name, "test_websocket_servers:app", *EXTRA.get(name, ()), env=ENV) as srv:
        yield srv


def stats(srv: Server) -> dict[str, int]:
    response = httpx.get(f"{srv.url}/stats", timeout=5)
    response.raise_for_status()
    return dict(response.json())


async def disconnects_of(srv: Server, conn_id: str, timeout: float = 5) -> int:
    """disconnect() calls for ``conn_id``, once there is one (polled, bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        count = (await asyncio.to_thread(stats, srv)).get(conn_id, 0)
        if count:
            return count
        await asyncio.sleep(0.05)
    raise AssertionError(f"disconnect() never ran for {conn_id!r}:\n{srv.output()}")


def traceback_free(srv: Server) -> bool:
    """No tracebacks in the log but the deliberate one(s)."""
    output = srv.output()
    return output.count("Traceback") == output.count("RuntimeError: deliberate")


async def recv(ws: ClientConnection) -> str | bytes:
    return await asyncio.wait_for(ws.recv(), 5)


async def test_ws_server_echo_text_bytes_and_subprotocol(server: Server) -> None:
    url = f"{server.ws_url}/echo?id=echo"
    async with connect(url, subprotocols=[Subprotocol("v1")], open_timeout=5) as ws:
        assert ws.subprotocol == "v1"
        if server.name not in ("daphne", "granian"):  # both drop accept headers
            assert ws.response is not None
            assert ws.response.headers.get("x-hello") == "1"
        await ws.send("héllo")
        assert await recv(ws) == "echo: héllo"
        await ws.send(b"\x01\x02")
        assert await recv(ws) == b"\x02\x01"
    assert await disconnects_of(server, "echo") == 1


async def test_ws_server_close_with_code_and_reason(server: Server) -> None:
    async with connect(f"{server.ws_url}/echo?id=close", open_timeout=5) as ws:
        await ws.send("close")
        with pytest.raises(ConnectionClosed) as info:
            await recv(ws)
    assert info.value.rcvd is not None
    assert info.value.rcvd.code == 4001
    assert info.value.rcvd.reason == ("" if server.name == "daphne" else "bye now")
    assert await disconnects_of(server, "close") == 1


async def test_ws_server_deny(server: Server) -> None:
    with pytest.raises(InvalidStatus) as info:
        async with connect(f"{server.ws_url}/echo?deny=1&id=deny", open_timeout=5):
            pass
    response = info.value.response
    if server.name == "daphne":  # no websocket.http.response: a plain 403
        assert response.status_code == 403
    else:
        assert response.status_code == 401
        assert response.body == b"no entry"
        assert response.headers.get("x-why") == "testing"
    assert await disconnects_of(server, "deny") == 1


async def test_ws_server_allowed_origins(server: Server) -> None:
    url = f"{server.ws_url}/guarded"
    async with connect(url, origin=Origin("https://good.example"), open_timeout=5) as ws:
        await ws.send("ok")
        assert await recv(ws) == "ok"
    for origin in (Origin("https://evil.example"), None):
        with pytest.raises(InvalidStatus) as info:
            async with connect(url, origin=origin, open_timeout=5):
                pass
        assert info.value.response.status_code == 403


async def test_ws_server_unknown_path_is_refused_not_500(server: Server) -> None:
    with pytest.raises(InvalidStatus) as info:
        async with connect(f"{server.ws_url}/nowhere", open_timeout=5):
            pass
    assert info.value.response.status_code == 403
    assert "Traceback" not in server.output()


async def test_ws_server_message_too_big_closes_1009(server: Server) -> None:
    async with connect(f"{server.ws_url}/echo?id=big", open_timeout=5) as ws:
        await ws.send("x" * 2000)
        with pytest.raises(ConnectionClosed) as info:
            await recv(ws)
    assert info.value.rcvd is not None
    assert info.value.rcvd.code == (1000 if server.name == "daphne" else 1009)
    assert await disconnects_of(server, "big") == 1


async def test_ws_server_unhandled_exception_closes_1011(server: Server) -> None:
    async with connect(f"{server.ws_url}/echo?id=crash", open_timeout=5) as ws:
        await ws.send("crash")
        with pytest.raises(ConnectionClosed) as info:
            await recv(ws)
    assert info.value.rcvd is not None
    assert info.value.rcvd.code == (1000 if server.name == "daphne" else 1011)
    assert await disconnects_of(server, "crash") == 1
    output = server.output()
    assert "Exception in Echo handling WebSocket /echo" in output
    assert output.count("RuntimeError: deliberate") == 1  # logged once, by trane


async def test_ws_server_client_gone_mid_send(server: Server) -> None:
    """uvicorn raises, daphne cancels, hypercorn ignores: one disconnect(), no traceback."""
    # On daphne, tick for longer than --application-close-timeout, so it cancels.
    ticks = 1000 if server.name == "daphne" else 150
    ws = await connect(f"{server.ws_url}/ticker?id=ticker&ticks={ticks}", open_timeout=5)
    await ws.send("go")
    assert await recv(ws) == "tick 0"
    # Drop the TCP connection without a closing handshake.
    ws.transport.abort()
    assert await disconnects_of(server, "ticker", timeout=8) == 1
    await asyncio.sleep(0.3)  # would a second disconnect() sneak in? (bounded)
    assert stats(server)["ticker"] == 1
    assert traceback_free(server), server.output()
    assert "ClientDisconnected" not in server.output()
    if server.name == "daphne":
        assert "took too long to shut down and was killed" in server.output()


async def test_ws_server_groups_between_connections(server: Server) -> None:
    url = f"{server.ws_url}/rooms/blue"
    async with (
        connect(f"{url}?id=g1", open_timeout=5) as one,
        connect(f"{url}?id=g2", open_timeout=5) as two,
        connect(f"{server.ws_url}/rooms/red?id=g3", open_timeout=5) as other,
    ):
        await one.send('{"msg": "hi blue"}')
        assert await recv(two) == '{"said":{"msg":"hi blue"}}'
        assert await recv(one) == '{"said":{"msg":"hi blue"}}'
        await two.send('"second"')
        assert await recv(one) == '{"said":"second"}'
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(other.recv(), 0.2)
    for conn_id in ("g1", "g2", "g3"):
        assert await disconnects_of(server, conn_id) == 1
    assert traceback_free(server), server.output()


async def fan_out(members_at: list[str], publisher_at: str, clients: int, events: int) -> None:
    """``clients`` members, spread over ``members_at``, each get all ``events`` in order."""
    async with contextlib.AsyncExitStack() as stack:
        members = [
            await stack.enter_async_context(
                connect(f"{members_at[i % len(members_at)]}/fan", open_timeout=10)
            )
            for i in range(clients)
        ]
        publisher = await stack.enter_async_context(connect(publisher_at, open_timeout=10))
        await publisher.send(str(events))

        async def heard(ws: ClientConnection) -> list[Any]:
            return [json.loads(await recv(ws)) for _ in range(events)]

        assert await asyncio.gather(*(heard(ws) for ws in members)) == [list(range(events))] * (
            clients
        )
        assert await recv(publisher) == "sent"


async def test_ws_server_fan_out_reaches_every_client_in_order(server: Server) -> None:
    # NOTE: 50 events, below the layer's capacity (100): none can be dropped.
    await fan_out([server.ws_url], f"{server.ws_url}/pub", clients=20, events=50)
    assert traceback_free(server), server.output()
