"""WebSocket group fan-out: trane's connection loop against Channels' consumer.

How this works
--------------
The apps are ``benchmarks/apps/fanout.py``: a member that joins group ``fan``
and sends every event on as JSON, written for trane and for Channels'
``AsyncJsonWebsocketConsumer`` (its per-message database hop removed), both
on one layer. A round connects the members, then sends N events to the group
and times until every member's client got all N; the members are checked to
have received every event, in order, and disconnected. Rounds alternate the
two frameworks (order rotating), and a ratio is the median over rounds of the
ratio within one round, as everywhere in ``benchmarks/run.py``.

* ``fanout``: in-process, each member an app instance with an in-memory
  receive queue and a counting ``send``; ``layer.group_send`` is called
  directly, on ``trane.InMemoryChannelLayer``.
* ``fanout-server``: one uvicorn process per framework (pinned to one CPU,
  the clients to the other), real ``websockets`` clients; a publisher
  connection (``/pub``) does the N ``group_send`` calls in the server.
* ``fanout-redis``: the same on ``channels_redis`` with a throwaway
  ``redis-server`` on 127.0.0.1, two uvicorn processes per framework, the
  clients split across them; both ``RedisChannelLayer`` and
  ``RedisPubSubChannelLayer``. CPU seconds of the servers, redis-server and
  the client process over the timed part show where the time goes.

Run through the runner: ``python -m benchmarks.run --cases fanout,fanout-server,fanout-redis``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.run import (
    LOAD_CPU,
    BenchmarkError,
    Config,
    Message,
    Server,
    Table,
    cpu_seconds,
    free_port,
    log,
    paired_ratio,
    runner_pinned,
)

TRANE, CHANNELS = "trane WebSocketApplication", "Channels AsyncJsonWebsocketConsumer"
TAG = "fan-out"


def ws_scope(path: str) -> dict[str, Any]:
    return {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "scheme": "ws",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8000")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "subprotocols": [],
        "state": {},
    }


# ---------------------------------------------------------------- in-process


class Member:
    """One in-process connection: an inbox for receive, a list for what it sent."""

    def __init__(self, fanout: FanoutRound) -> None:
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.texts: list[str] = []
        self.accepted = False
        self.round = fanout

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "websocket.send":
            self.texts.append(message["text"])
            self.round.delivered += 1
            if self.round.delivered == self.round.expected:
                self.round.done.set()
        elif kind == "websocket.accept":
            self.accepted = True
            self.round.accepted += 1
            if self.round.accepted == len(self.round.members):
                self.round.all_accepted.set()
        else:
            raise BenchmarkError(f"fan-out member sent {message!r}")


@dataclass
class FanoutRound:
    clients: int
    messages: int
    members: list[Member] = field(default_factory=list)
    delivered: int = 0
    accepted: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)
    all_accepted: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def expected(self) -> int:
        return self.clients * self.messages


def check_order(label: str, texts: list[str], messages: int) -> None:
    """Every event, in order, with the tag."""
    seqs = [json.loads(t) for t in texts]
    want = [{"seq": i, "text": TAG} for i in range(messages)]
    if seqs != want:
        lost = messages - len(seqs)
        raise BenchmarkError(f"{label}: a member got {len(seqs)} events ({lost} lost) or disorder")


async def inproc_round(
    label: str, app: Callable[..., Any], layer: Any, n: int, m: int, check: bool = True
) -> float:
    """CPU seconds from the first ``group_send`` until ``n`` members got all ``m`` events.

    NOTE: process CPU time, not wall time: on a machine shared with other
    work the process is off the CPU for much of a wall-clock second, and
    in-process all the work is this process's own.
    """
    fanout = FanoutRound(n, m)
    fanout.members = [Member(fanout) for _ in range(n)]
    tasks = []
    for member in fanout.members:
        member.inbox.put_nowait({"type": "websocket.connect"})
        tasks.append(asyncio.ensure_future(app(ws_scope("/fan"), member.inbox.get, member.send)))
    await asyncio.wait_for(fanout.all_accepted.wait(), 30)
    dropped = getattr(layer, "dropped", 0)
    gc.collect()
    start = time.process_time()
    for seq in range(m):
        await layer.group_send("fan", {"type": "fan.message", "seq": seq, "text": TAG})
    await asyncio.wait_for(fanout.done.wait(), 60)
    elapsed = time.process_time() - start
    for member in fanout.members:
        member.inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
    await asyncio.wait_for(asyncio.gather(*tasks), 30)
    if getattr(layer, "dropped", 0) != dropped:
        raise BenchmarkError(f"{label}: the layer dropped {layer.dropped - dropped} events")
    for member in fanout.members if check else ():
        check_order(label, member.texts, m)
    return elapsed


def asgi2(router: Any) -> Callable[..., Any]:
    async def run(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await router(scope)(receive, send)

    return run


async def case_fanout(trane: Any, cfg: Config) -> list[Table]:
    from benchmarks.apps import fanout

    layer = fanout.layer()
    apps = {TRANE: asgi2(fanout.trane_app), CHANNELS: fanout.channels_app}
    n, m = cfg.fanout_clients, cfg.fanout_messages
    samples: dict[str, list[float]] = {label: [] for label in apps}
    labels = list(apps)
    for label, app in apps.items():  # check + warm-up
        await inproc_round(label, app, layer, min(n, 50), m)
    for r in range(cfg.fanout_rounds):
        for label in labels[r % 2 :] + labels[: r % 2]:
            seconds = await inproc_round(label, apps[label], layer, n, m)
            samples[label].append(n * m / seconds)
            log(f"  fan-out round {r + 1}: {label}: {n * m / seconds:,.0f} events/s")
    table = Table(
        f"WebSocket group fan-out in-process, {n} members x {m} group_send, "
        f"trane.InMemoryChannelLayer, {cfg.fanout_rounds} rounds",
        ["connection loop", "events delivered/s", "µs/event", f"vs {CHANNELS}"],
    )
    for label, values in samples.items():
        rate = statistics.median(values)
        ratio = paired_ratio(values, samples[CHANNELS])
        table.rows.append([label, f"{rate:,.0f}", f"{1e6 / rate:.2f}", f"{ratio:.2f}x"])
        table.ratios[label] = ratio
    table.ratio_label = f"events/s ÷ {CHANNELS} (higher is faster)"
    table.notes.append("  ratio: median over rounds of the ratio within one round")
    table.notes.append("  Channels' per-message database hop (aclose_old_connections) removed")
    return [table]


# ---------------------------------------------------------------- servers

APPS = {
    TRANE: ("benchmarks.apps.fanout:trane_app", "asgi2"),
    CHANNELS: ("benchmarks.apps.fanout:channels_app", "asgi3"),
}


@contextlib.contextmanager
def environ(**values: str) -> Iterator[None]:
    """``os.environ`` with ``values`` set, for the server processes started meanwhile."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                del os.environ[key]
            else:
                os.environ[key] = old


@contextlib.contextmanager
def fan_servers(processes: int, **env: str) -> Iterator[dict[str, list[Server]]]:
    """``processes`` uvicorn processes per framework, each framework with its own key prefix."""
    started: list[Server] = []
    running: dict[str, list[Server]] = {}
    try:
        for i, (label, (target, interface)) in enumerate(APPS.items()):
            with environ(**env, FANOUT_PREFIX=f"fan{i}"):
                running[label] = [Server(target, interface) for _ in range(processes)]
            started += running[label]
        yield running
    finally:
        for server in started:
            server.stop()


@dataclass
class Sample:
    rate: float  # events delivered per second (wall)
    per_cpu: float  # events per CPU-second of all the server processes
    cpu: dict[str, float]  # CPU seconds per 1000 events: servers, redis-server, clients


def cpu_of(pid: int | None) -> float:
    """CPU seconds used so far by ``pid`` (0 for None, or where /proc cannot tell)."""
    return (cpu_seconds(pid) or 0.0) if pid is not None else 0.0


async def server_round(group: list[Server], n: int, m: int, redis_pid: int | None = None) -> Sample:
    """``n`` clients split across ``group``; a publisher on the first server sends ``m`` events."""
    from websockets.asyncio.client import connect

    urls = [f"ws://127.0.0.1:{server.port}" for server in group]
    clients = await asyncio.gather(
        *(connect(f"{urls[i % len(urls)]}/fan", compression=None) for i in range(n))
    )
    publisher = await connect(f"{urls[0]}/pub", compression=None)
    want = [{"seq": i, "text": TAG} for i in range(m)]

    async def member(ws: Any) -> None:
        for expected in want:
            if json.loads(await ws.recv()) != expected:
                raise BenchmarkError(f"a client expected {expected}: events lost or out of order")

    pids = [server.proc.pid for server in group]
    try:
        gc.collect()
        before = sum(cpu_of(pid) for pid in pids)
        redis_before = cpu_of(redis_pid)
        own_before = time.process_time()
        start = time.perf_counter()
        await publisher.send(f"{m} {TAG}")
        try:
            await asyncio.wait_for(asyncio.gather(*(member(ws) for ws in clients)), 60)
        except asyncio.TimeoutError:
            raise BenchmarkError(f"fan-out on {urls}: events lost (60 s without them)") from None
        elapsed = time.perf_counter() - start
        own = time.process_time() - own_before
        servers_cpu = sum(cpu_of(pid) for pid in pids) - before
        redis_cpu = cpu_of(redis_pid) - redis_before
        if await asyncio.wait_for(publisher.recv(), 30) != f"sent {m}":
            raise BenchmarkError(f"the publisher on {urls[0]} answered wrongly")
    finally:
        await asyncio.gather(*(ws.close() for ws in [*clients, publisher]))
    events = n * m
    cpu = {"servers": servers_cpu, "redis": redis_cpu, "clients": own}
    cpu = {k: v * 1000 / events for k, v in cpu.items()}
    return Sample(events / elapsed, events / max(servers_cpu, 1e-6), cpu)


async def interleaved(
    running: dict[str, list[Server]], n: int, m: int, rounds: int, redis_pid: int | None = None
) -> dict[str, list[Sample]]:
    for group in running.values():
        for server in group:
            await server.wait_ready()
        await server_round(group, min(n, 20), m, redis_pid)  # check + warm-up
    samples: dict[str, list[Sample]] = {label: [] for label in running}
    labels = list(running)
    for r in range(rounds):
        for label in labels[r % 2 :] + labels[: r % 2]:
            sample = await server_round(running[label], n, m, redis_pid)
            samples[label].append(sample)
            log(
                f"  round {r + 1}: {label}: {sample.rate:,.0f} events/s, "
                f"{sample.per_cpu:,.0f} per server CPU-s"
            )
    return samples


def sample_rows(samples: dict[str, list[Sample]], prefix: str = "") -> list[list[str]]:
    """Median rate and capacity per framework, with the per-round ratios to Channels."""
    rows = []
    base = samples[CHANNELS]
    for label, values in samples.items():
        rates = [s.rate for s in values]
        per_cpu = [s.per_cpu for s in values]
        ratio = paired_ratio(rates, [s.rate for s in base])
        cpu_ratio = paired_ratio(per_cpu, [s.per_cpu for s in base])
        cpu = {k: statistics.median(s.cpu[k] for s in values) for k in values[0].cpu}
        rows.append(
            [
                f"{prefix}{label}",
                f"{statistics.median(rates):,.0f}",
                f"{ratio:.2f}x",
                f"{statistics.median(per_cpu):,.0f}",
                f"{cpu_ratio:.2f}x",
                " / ".join(f"{cpu[k] * 1000:.0f}" for k in ("servers", "redis", "clients")),
            ]
        )
    return rows


COLUMNS = [
    "connection loop",
    "events/s",
    "vs Channels",
    "events/server CPU-s",
    "vs Channels (CPU)",
    "CPU ms per 1000 events: servers / redis / clients",
]


async def case_fanout_server(trane: Any, cfg: Config) -> list[Table]:
    n, m = cfg.fanout_ws_clients, cfg.fanout_messages
    with runner_pinned(LOAD_CPU), fan_servers(1, FANOUT_LAYER="memory") as running:
        samples = await interleaved(running, n, m, cfg.fanout_server_rounds)
    table = Table(
        f"WebSocket group fan-out under uvicorn, {n} websockets clients x {m} group_send, "
        f"trane.InMemoryChannelLayer, {cfg.fanout_server_rounds} rounds",
        COLUMNS,
    )
    table.rows = sample_rows(samples)
    for row in table.rows:
        table.ratios[row[0]] = float(row[4].rstrip("x"))
    table.ratio_label = "events per server CPU-second ÷ Channels' (higher is faster)"
    table.notes += [
        "  one uvicorn process per framework (httptools, uvloop), pinned to one CPU; the",
        "  clients (one process, the other CPU) check every event's order; a publisher",
        "  connection makes the server do the group_send calls",
        "  ratio: median over rounds of the ratio within one round",
    ]
    return [table]


def find_redis_server() -> str | None:
    return shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/sbin/redis-server") if Path(p).exists()), None
    )


@contextlib.contextmanager
def redis_server() -> Iterator[tuple[str, int]]:
    """A throwaway redis-server on 127.0.0.1 (no persistence): (url, pid)."""
    binary = find_redis_server()
    if binary is None:
        raise BenchmarkError("redis-server not found (apt-get install redis-server)")
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        command = [binary, "--port", str(port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no"]
        proc = subprocess.Popen(
            command, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise BenchmarkError("redis-server did not start") from None
                    time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}", proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


REDIS_LAYERS = {"redis": "RedisChannelLayer", "pubsub": "RedisPubSubChannelLayer"}


async def case_fanout_redis(trane: Any, cfg: Config) -> list[Table]:
    n, m = cfg.fanout_ws_clients, cfg.fanout_messages
    table = Table(
        f"WebSocket group fan-out on channels_redis, 2 uvicorn processes per framework, "
        f"{n} websockets clients split across them x {m} group_send, "
        f"{cfg.fanout_server_rounds} rounds",
        COLUMNS,
    )
    with runner_pinned(LOAD_CPU), redis_server() as (url, redis_pid):
        for kind, name in REDIS_LAYERS.items():
            log(f"  -- {name}")
            with fan_servers(2, FANOUT_LAYER=kind, FANOUT_REDIS_URL=url) as running:
                samples = await interleaved(running, n, m, cfg.fanout_server_rounds, redis_pid)
            rows = sample_rows(samples, prefix=f"{name}: ")
            table.rows += rows
            for row in rows:
                table.ratios[row[0]] = float(row[4].rstrip("x"))
    table.ratio_label = "events per server CPU-second ÷ Channels' on the same layer"
    table.notes += [
        "  ratios against Channels on the same layer; servers pinned to one CPU, the clients",
        "  and redis-server on the other; the publisher is on the first process, so its",
        "  group_send calls reach the second through Redis",
    ]
    return [table]


async def count_loop(label: str, n: int, m: int) -> None:
    """One in-process fan-out round, for ``benchmarks/count.py --fanout`` (callgrind)."""
    from benchmarks.apps import fanout

    app = asgi2(fanout.trane_app) if label == TRANE else fanout.channels_app
    # NOTE: the order check (a json.loads per event) is left out of the count.
    await inproc_round(label, app, fanout.layer(), n, m, check=False)
