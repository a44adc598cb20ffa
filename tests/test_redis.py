"""Groups across processes: two uvicorn processes share one Redis (channels_redis).

A redis-server is started for the test on a free 127.0.0.1 port, the chat
example is served by two uvicorn processes pointed at it, and a websockets
client connects to each: a message sent through process A must reach the
client of process B, and back.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect

from servers import free_port, serve, stop, wait_for_port


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
