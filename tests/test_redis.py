"""channels_redis on a real Redis: the layer model, and groups across processes.

A redis-server is started for the module on a free 127.0.0.1 port. The layer
model of tests/test_layers_model.py runs against ``RedisChannelLayer`` (no
clock can be moved there: that run leaves expiry out). Then the chat example
is served by two uvicorn processes pointed at the Redis, and a websockets
client connects to each: a message sent through process A must reach the
client of process B, and back, also after the connections sat idle past
redis-py 8's default 5 s socket timeout, and after 200 connects and
disconnects (redis-py 8's 100-connection pool cap). A group fan-out, its
members split across two processes, reaches every client in order on both
``RedisChannelLayer`` and ``RedisPubSubChannelLayer``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
from websockets.asyncio.client import ClientConnection, connect

from servers import free_port, serve, stop, wait_for_port
from test_layers_model import CAPACITY, Engine, check_layer
from test_websocket_servers import ENV as SERVERS_ENV
from test_websocket_servers import fan_out


def find_redis_server() -> str | None:
    return shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/sbin/redis-server") if Path(p).exists()),
        None,
    )


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    binary = find_redis_server()
    if binary is None:
        reason = "redis-server not found (apt-get install redis-server; .ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}, and CI must run this test")
        pytest.skip(reason)
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir, open(Path(workdir) / "redis.log", "wb") as log:
        process = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_for_port(port, process, timeout=10)
            yield f"redis://127.0.0.1:{port}"
        finally:
            stop(process)


def blocked_clients(client: Any) -> int:
    """Clients Redis holds waiting: in BZPOPMIN, or stalled by CLIENT PAUSE."""
    return int(client.info("clients")["blocked_clients"])


class RedisEngine(Engine):
    """channels_redis for the layer model: real time, so the clock stays put."""

    name = "redis"
    timeout: ClassVar[float] = 10.0

    def __init__(self, url: str) -> None:
        super().__init__()
        import redis

        self.url = url
        self.client: Any = redis.Redis.from_url(url)

    def make(self) -> Any:
        from channels_redis.core import RedisChannelLayer

        prefix = f"model.{uuid.uuid4().hex[:8]}"
        return RedisChannelLayer(hosts=[self.url], prefix=prefix, capacity=CAPACITY)

    async def settle(self, layer: Any, waiting: int) -> None:
        # A receiver waits inside Redis (BZPOPMIN) once Redis counts it blocked.
        deadline = time.monotonic() + 10
        while blocked_clients(self.client) != waiting:
            assert time.monotonic() < deadline, "receivers did not reach Redis"
            await asyncio.sleep(0.002)

    async def close(self, layer: Any) -> None:
        await layer.flush()  # deletes this run's keys, closes its pools
        self.client.close()


def test_redis_layer_matches_the_model(redis_url: str) -> None:
    check_layer(lambda: RedisEngine(redis_url), max_examples=30, steps=25)


async def recv_json(ws: ClientConnection) -> str:
    return str(await asyncio.wait_for(ws.recv(), 10))


def group_key_exists(url: str, group: str) -> bool:
    import redis

    client = redis.Redis.from_url(url)
    try:
        return bool(client.exists(f"asgi:group:{group}"))
    finally:
        client.close()


async def test_redis_group_message_crosses_processes(redis_url: str) -> None:
    env = {"TRANE_REDIS_URL": redis_url}
    with (
        serve("uvicorn", "examples.chat:app", env=env) as server_a,
        serve("uvicorn", "examples.chat:app", env=env) as server_b,
    ):
        assert server_a.port != server_b.port
        async with (
            connect(f"{server_a.ws_url}/ws/lobby", open_timeout=10) as on_a,
            connect(f"{server_b.ws_url}/ws/lobby", open_timeout=10) as on_b,
        ):
            # The chat joins its group before accepting: both are members now.
            assert group_key_exists(redis_url, "chat.lobby")
            await on_a.send('{"name": "ada", "text": "hello from A"}')
            assert await recv_json(on_b) == '{"name":"ada","text":"hello from A"}'
            assert await recv_json(on_a) == '{"name":"ada","text":"hello from A"}'
            await on_b.send('{"name": "grace", "text": "and back from B"}')
            assert await recv_json(on_a) == '{"name":"grace","text":"and back from B"}'
            assert await recv_json(on_b) == '{"name":"grace","text":"and back from B"}'
        # Both left the group on disconnect: Redis drops the empty group.
        deadline = time.monotonic() + 10
        while group_key_exists(redis_url, "chat.lobby"):
            assert time.monotonic() < deadline, "the group outlived its members"
            await asyncio.sleep(0.05)
        for server in (server_a, server_b):
            assert "Traceback" not in server.output(), server.output()


class Stall:
    """Redis holding back writes; ``until()`` waits for commands to pile up."""

    def __init__(self, client: Any) -> None:
        self.client = client

    async def until(self, tasks: Sequence[asyncio.Future[Any]], in_flight: int) -> None:
        # Redis counts every stalled command as a blocked client. Stop waiting
        # when `in_flight` of them are there, or once a task failed early.
        baseline = blocked_clients(self.client)
        deadline = time.monotonic() + 30
        while blocked_clients(self.client) - baseline < in_flight and not any(
            t.done() for t in tasks
        ):
            assert time.monotonic() < deadline, "the commands did not reach Redis"
            await asyncio.sleep(0.01)


@contextlib.contextmanager
def redis_stalled(url: str) -> Iterator[Stall]:
    import redis

    client: Any = redis.Redis.from_url(url)
    client.execute_command("CLIENT", "PAUSE", "60000", "WRITE")
    try:
        yield Stall(client)
    finally:
        client.execute_command("CLIENT", "UNPAUSE")
        client.close()


async def exchange(sender: ClientConnection, receivers: list[ClientConnection], text: str) -> None:
    await sender.send(json.dumps({"name": "ada", "text": text}))
    for ws in receivers:
        assert json.loads(await recv_json(ws)) == {"name": "ada", "text": text}


async def test_redis_groups_outlive_idle_connections_and_churn(redis_url: str) -> None:
    # The README's recipe as written: RedisChannelLayer(hosts=[url]) and no more.
    env = {"TRANE_REDIS_URL": redis_url}
    with (
        serve("uvicorn", "examples.chat:app", env=env) as server_a,
        serve("uvicorn", "examples.chat:app", env=env) as server_b,
    ):
        urls = [f"{server_a.ws_url}/ws/lobby", f"{server_b.ws_url}/ws/lobby"]
        async with (
            connect(urls[0], open_timeout=10) as on_a,
            connect(urls[1], open_timeout=10) as on_b,
        ):
            await exchange(on_a, [on_a, on_b], "before")
            # Idle past redis-py 8's default socket timeout (5 s): every layer
            # receive then sits in a BZPOPMIN with nothing coming.
            await asyncio.sleep(6.5)
            await exchange(on_b, [on_a, on_b], "after a quiet spell")
            # Churn: 200 clients connect at once (100 to each process) while
            # Redis stalls, as under load: each process has 100 group_add()s
            # in flight. Then all hear one message, and all leave at once.
            async with contextlib.AsyncExitStack() as stack:
                with redis_stalled(redis_url) as stalled:
                    connecting = [
                        asyncio.ensure_future(
                            stack.enter_async_context(connect(urls[i % 2], open_timeout=30))
                        )
                        for i in range(200)
                    ]
                    await stalled.until(connecting, in_flight=200)
                results = await asyncio.gather(*connecting, return_exceptions=True)
                batch = [ws for ws in results if isinstance(ws, ClientConnection)]
                assert len(batch) == 200, [r for r in results if isinstance(r, BaseException)][:3]
                await exchange(batch[0], [on_a, on_b, *batch], "churn")
            await exchange(on_a, [on_a, on_b], "after the churn")
        for server in (server_a, server_b):
            assert "Traceback" not in server.output(), server.output()
            assert "Error" not in server.output(), server.output()


@pytest.mark.parametrize("layer", ["redis", "pubsub"])
async def test_redis_fan_out_reaches_every_client_in_order(redis_url: str, layer: str) -> None:
    """Two processes, the members split across them; the publisher is on the first."""
    env = {**SERVERS_ENV, "TRANE_TEST_REDIS_URL": redis_url, "TRANE_TEST_LAYER": layer}
    with (
        serve("uvicorn", "test_websocket_servers:app", env=env) as server_a,
        serve("uvicorn", "test_websocket_servers:app", env=env) as server_b,
    ):
        urls = [server_a.ws_url, server_b.ws_url]
        await fan_out(urls, f"{server_a.ws_url}/pub", clients=20, events=50)
        for server in (server_a, server_b):
            assert "Traceback" not in server.output(), server.output()
