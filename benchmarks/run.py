"""Side-by-side benchmarks: trane vs raw ASGI 3/2, Falcon, Starlette, BlackSheep.

How this works
--------------
Every case builds one entry per framework and measures the entries in
interleaved rounds: each round runs every entry once (the order rotates from
round to round), so machine noise (frequency scaling, other processes, GC)
falls on all frameworks alike. Times are medians over the rounds; a ratio is
the median over rounds of the ratio within one round, which cancels the
machine's drift between rounds. In-process cases call each framework's ASGI
entry point directly in a tight loop with a fresh shallow copy of a prebuilt
scope per call and trivial async receive/send; each entry is first checked
once for a 200 with the expected body. Server cases start each app under uvicorn (httptools, uvloop,
one worker) as a subprocess on a free 127.0.0.1 port, poll the port until it
accepts connections, load the servers round-robin with wrk (or a small asyncio
keep-alive load generator), restart them for each group of rounds and always
kill them in a ``finally`` block.

    python -m benchmarks.run                 # full run (~11 min on 2 cores)
    python -m benchmarks.run --quick         # smoke run (< 40 s)
    python -m benchmarks.run --cases hello,routes --chart benchmarks/ratios.png
    python -m benchmarks.run --markdown benchmarks/README.md

Nothing is installed here: ``pip install -e .[bench]`` first.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import os
import platform
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python benchmarks/run.py`
    sys.path.insert(0, str(ROOT))

import benchmarks.apps  # noqa: E402  (makes `import trane` work from src/)
from benchmarks.apps import POST_BODY, post_answer, upload_answer  # noqa: E402

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Runner = Callable[[int, list[Scope], Receive, Send], Awaitable[None]]

CASES = (
    "hello",
    "json",
    "typed",
    "post",
    "routes",
    "mount",
    "server",
    "post-server",
    "body",
    "upload",
    "files",
    "ws",
    "memory",
    "fanout",
    "fanout-server",
    "fanout-redis",
)
ALIASES = {"inproc": ("hello", "json", "post"), "io": ("post", "post-server", "upload", "files")}
ALIASES["all"] = CASES

TRANE2, TRANE3 = "trane Router (ASGI 2)", "trane as_asgi3"
RAW3, RAW2 = "raw ASGI 3 function", "raw ASGI 2 class"
FALCON, STAR_FN, STAR_CLS, BLACKSHEEP = (
    "Falcon asgi.App",
    "Starlette function",
    "Starlette HTTPEndpoint",
    "BlackSheep",
)
# label -> (uvicorn import target, interface); the same apps run in-process.
SERVED = {
    TRANE2: ("benchmarks.apps.trane_app:app", "asgi2"),
    TRANE3: ("benchmarks.apps.trane_app:app3", "asgi3"),
    RAW3: ("benchmarks.apps.raw_asgi3:app", "asgi3"),
    RAW2: ("benchmarks.apps.raw_asgi2:app", "asgi2"),
    FALCON: ("benchmarks.apps.falcon_app:app", "asgi3"),
    STAR_FN: ("benchmarks.apps.starlette_func:app", "asgi3"),
    STAR_CLS: ("benchmarks.apps.starlette_class:app", "asgi3"),
    BLACKSHEEP: ("benchmarks.apps.blacksheep_app:app", "asgi3"),
}


class BenchmarkError(Exception):
    """A framework gave a wrong answer or a server failed: stop loudly."""


@dataclass
class Config:
    rounds: int = 21  # in-process rounds
    batch_seconds: float = 0.08  # target length of one in-process batch
    server_rounds: int = 24
    server_seconds: int = 1  # wrk -d
    server_groups: int = 4  # fresh server processes for each group of rounds
    server_warmup: float = 1.0  # seconds of load per server before the rounds
    ws_rounds: int = 9
    ws_seconds: float = 1.5
    fanout_clients: int = 500  # in-process members
    fanout_messages: int = 200  # group_send calls per round
    fanout_rounds: int = 7
    fanout_ws_clients: int = 200  # real websockets clients (server cases)
    fanout_server_rounds: int = 5
    loadgen: str = "wrk"

    @classmethod
    def quick(cls) -> Config:
        return cls(
            rounds=3,
            batch_seconds=0.05,
            server_rounds=1,
            server_seconds=1,
            server_groups=1,
            server_warmup=0.3,
            ws_rounds=1,
            ws_seconds=1.0,
            fanout_clients=100,
            fanout_rounds=1,
            fanout_ws_clients=50,
            fanout_server_rounds=1,
        )


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ratios: dict[str, float] = field(default_factory=dict)  # bar chart data
    ratio_label: str = ""

    def text(self) -> str:
        cells = [self.columns, *self.rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(self.columns))]
        lines = [
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
            for row in cells
        ]
        rule = "-" * len(lines[0])
        return "\n".join([f"\n== {self.title} ==", lines[0], rule, *lines[1:], *self.notes])

    def markdown(self) -> str:
        lines = [f"### {self.title}", "", "| " + " | ".join(self.columns) + " |"]
        lines.append("|" + "|".join(["---"] + ["---:"] * (len(self.columns) - 1)) + "|")
        lines += ["| " + " | ".join(r) + " |" for r in self.rows]
        if self.notes:
            lines += [""] + [f"{n.strip()}  " for n in self.notes]
        return "\n".join(lines)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load_trane() -> Any | None:
    try:
        import trane

        trane.Router, trane.Route, trane.Application, trane.as_asgi3  # noqa: B018
    except (ImportError, AttributeError) as exc:
        log(f"NOTE: trane is not usable yet ({exc!r}); trane entries are skipped")
        return None
    return trane


# ---------------------------------------------------------------- in-process


def http_scope(
    path: str,
    method: str = "GET",
    headers: list[tuple[bytes, bytes]] | None = None,
    kind: str = "http",
) -> Scope:
    return {
        "type": kind,
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http" if kind == "http" else "ws",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"bench"), (b"accept", b"*/*")]
        + (headers or []),
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def receive_empty() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def send_nothing(message: Message) -> None:
    return None


#: The request headers of ``POST /post`` besides http_scope's host, user-agent, accept.
POST_HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", b"%d" % len(POST_BODY)),
    (b"accept-encoding", b"gzip, deflate"),
    (b"connection", b"keep-alive"),
]
POST_ANSWER = post_answer(json.loads(POST_BODY))


async def receive_post() -> Message:
    """The 300-byte JSON body of ``POST /post`` in one message, as servers give it."""
    return {"type": "http.request", "body": POST_BODY, "more_body": False}


class Recorder:
    """A send() that keeps the status and body, for the correctness check."""

    def __init__(self) -> None:
        self.status: int | None = None
        self.body = bytearray()

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")


def asgi3_runner(app: Any) -> Runner:
    async def run(n: int, scopes: list[Scope], receive: Receive, send: Send) -> None:
        mask = len(scopes) - 1
        for i in range(n):
            await app(dict(scopes[i & mask]), receive, send)

    return run


def asgi2_runner(app: Any) -> Runner:
    """How uvicorn's ASGI2Middleware calls a double-callable."""

    async def run(n: int, scopes: list[Scope], receive: Receive, send: Send) -> None:
        mask = len(scopes) - 1
        for i in range(n):
            instance = app(dict(scopes[i & mask]))
            await instance(receive, send)

    return run


@dataclass
class Entry:
    name: str
    run: Runner
    scopes: list[Scope]  # length 1 or a power of two; scopes[0] is checked
    expected: bytes | dict[str, Any]
    receive: Receive = receive_empty  # what the app reads of the request body


async def check(entry: Entry) -> None:
    rec = Recorder()
    await entry.run(1, entry.scopes, entry.receive, rec)
    body = bytes(rec.body)
    if isinstance(entry.expected, dict):
        try:
            ok = json.loads(body) == entry.expected
        except ValueError:
            ok = False
    else:
        ok = body == entry.expected
    if rec.status != 200 or not ok:
        raise BenchmarkError(
            f"{entry.name}: expected 200 {entry.expected!r}, got {rec.status} {body[:200]!r}"
        )


async def time_batch(entry: Entry, n: int) -> float:
    """Microseconds per request over one batch of ``n`` calls."""
    gc.collect()
    start = time.perf_counter_ns()
    await entry.run(n, entry.scopes, entry.receive, send_nothing)
    return (time.perf_counter_ns() - start) / n / 1000


async def measure(entries: list[Entry], cfg: Config) -> dict[str, list[float]]:
    """µs/request per entry, one sample per interleaved round."""
    sizes: dict[str, int] = {}
    for entry in entries:
        await check(entry)
        await entry.run(300, entry.scopes, entry.receive, send_nothing)  # warm-up
        per_request = await time_batch(entry, 300)
        sizes[entry.name] = max(300, int(cfg.batch_seconds * 1e6 / per_request))
    samples: dict[str, list[float]] = {e.name: [] for e in entries}
    for r in range(cfg.rounds):
        k = r % len(entries)
        for entry in entries[k:] + entries[:k]:
            samples[entry.name].append(await time_batch(entry, sizes[entry.name]))
    return samples


def paired_ratio(values: list[float], base: list[float]) -> float:
    """Median over rounds of value ÷ base, each pair taken in the same round.

    NOTE: the machine's speed drifts between rounds; a ratio within one round
    cancels most of that, a ratio of two medians does not.
    """
    return statistics.median(v / b for v, b in zip(values, base, strict=True))


async def framework_entries(
    trane: Any, prefix: str, expected: bytes | dict[str, Any]
) -> list[Entry]:
    """One entry per framework for ``GET /{prefix}/world`` (``post``: ``POST /post``)."""
    from benchmarks.apps import (
        blacksheep_app,
        falcon_app,
        raw_asgi2,
        raw_asgi3,
        starlette_class,
        starlette_func,
    )

    await blacksheep_app.app.start()  # type: ignore[no-untyped-call]  # idempotent; needed first
    scopes = [http_scope(f"/{prefix}/world")]
    receive = receive_empty
    if prefix == "post":
        scopes = [http_scope("/post", "POST", POST_HEADERS)]
        receive = receive_post
    apps: list[tuple[str, Runner]] = []
    if trane is not None:
        from benchmarks.apps import trane_app

        apps += [(TRANE2, asgi2_runner(trane_app.router)), (TRANE3, asgi3_runner(trane_app.app3))]
    apps += [
        (RAW3, asgi3_runner(raw_asgi3.app)),
        (RAW2, asgi2_runner(raw_asgi2.app)),
        (FALCON, asgi3_runner(falcon_app.app)),
        (STAR_FN, asgi3_runner(starlette_func.app)),
        (STAR_CLS, asgi3_runner(starlette_class.app)),
        (BLACKSHEEP, asgi3_runner(blacksheep_app.app)),
    ]
    return [Entry(name, runner, scopes, expected, receive) for name, runner in apps]


def speed_table(title: str, samples: dict[str, list[float]], baseline: str) -> Table:
    """Rows of median µs/req, req/s and throughput ratio against ``baseline``."""
    table = Table(title, ["framework", "µs/req", "req/s", f"vs {baseline}"])
    for name, values in samples.items():
        us = statistics.median(values)
        ratio = paired_ratio(samples[baseline], values)
        table.rows.append([name, f"{us:.2f}", f"{1e6 / us:,.0f}", f"{ratio:.2f}x"])
        table.ratios[name] = ratio
    table.notes.append(f"  ratio: median over rounds of {baseline}'s µs ÷ the framework's µs")
    table.ratio_label = f"req/s ÷ {baseline} (higher is faster)"
    return table


async def case_hello(trane: Any, cfg: Config) -> list[Table]:
    entries = await framework_entries(trane, "hello", b"Hello, world!")
    table = speed_table("In-process GET /hello/{name} (text)", await measure(entries, cfg), FALCON)
    return [table]


async def case_json(trane: Any, cfg: Config) -> list[Table]:
    entries = await framework_entries(trane, "json", {"hello": "world"})
    table = speed_table("In-process GET /json/{name} (JSON)", await measure(entries, cfg), FALCON)
    return [table]


TYPED_BASELINE = "Falcon + msgspec by hand"


def typed_entries() -> list[Entry]:
    """One entry per framework of benchmarks/apps/typed_post.py, posting its item."""
    from benchmarks.apps import typed_post

    body = typed_post.BODY

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    scopes = [http_scope(typed_post.PATH, "POST", headers)]
    expected = json.loads(body)
    return [
        Entry(label, (asgi2_runner if asgi2 else asgi3_runner)(make()), scopes, expected, receive)
        for label, (make, asgi2) in typed_post.FRAMEWORKS.items()
    ]


async def case_typed(trane: Any, cfg: Config) -> list[Table]:
    if trane is None:
        log("NOTE: trane is not usable; the typed case is skipped")
        return []
    title = "In-process POST /items: decode and validate a ~300-byte JSON item, return it"
    samples = await measure(typed_entries(), cfg)
    table = speed_table(title, samples, TYPED_BASELINE)
    typed = samples["trane typed (msgspec)"]
    times = ", ".join(
        f"{paired_ratio(typed, samples[label]):.2f}x {label}'s"
        for label in (TYPED_BASELINE, "Litestar (msgspec)", "FastAPI (pydantic)")
    )
    table.notes.append("  the rows marked (no validation) check nothing: they are for context")
    table.notes.append(f"  trane typed takes {times} time (median over rounds)")
    table.notes.append("  target: at most 0.9x Falcon + msgspec's time and 0.3x Litestar's")
    return [table]


async def case_post(trane: Any, cfg: Config) -> list[Table]:
    entries = await framework_entries(trane, "post", POST_ANSWER)
    title = "In-process POST /post: 300-byte JSON body parsed, a dict returned"
    return [speed_table(title, await measure(entries, cfg), FALCON)]


async def case_routes(trane: Any, cfg: Config) -> list[Table]:
    from benchmarks.apps import falcon_app, starlette_func

    scopes = [http_scope(f"/hello/n{i}") for i in range(4096)]
    small, big = 2, 1000  # filler routes before /hello/{name}: 3 vs 1001 routes in all
    builders: list[tuple[str, Callable[[int], Any], Callable[[Any], Runner]]] = [
        ("Falcon", lambda n: falcon_app.make_app(n, full=False), asgi3_runner),
        ("Starlette", lambda n: starlette_func.make_app(n, full=False), asgi3_runner),
    ]
    if trane is not None:
        from benchmarks.apps import trane_app

        builders.insert(0, ("trane", lambda n: trane_app.make_router(n, full=False), asgi2_runner))
    entries = [
        Entry(f"{label} {n + 1} routes", runner(build(n)), scopes, b"Hello, n0!")
        for label, build, runner in builders
        for n in (small, big)
    ]
    samples = await measure(entries, cfg)
    table = Table(
        "Route table: /hello/{name} after 1000 /route{i}/{name} routes (4096 names)",
        ["framework", "µs/req 3 routes", "µs/req 1001 routes", "slowdown"],
    )
    for label, _, _ in builders:
        few, many = samples[f"{label} {small + 1} routes"], samples[f"{label} {big + 1} routes"]
        slowdown = paired_ratio(many, few)
        med_few, med_many = statistics.median(few), statistics.median(many)
        table.rows.append([label, f"{med_few:.2f}", f"{med_many:.2f}", f"{slowdown:.2f}x"])
        table.ratios[label] = slowdown
    table.ratio_label = "µs/req 1001 routes ÷ 3 routes (lower is better)"
    table.notes.append("  target for trane: slowdown within 1.2x")
    return [table]


MOUNT_BASELINE = "Starlette mounted"


def mount_entries(trane: Any) -> list[Entry]:
    """``GET /api/hello/world``: the route in a router mounted at /api, and unmounted."""
    from benchmarks.apps import starlette_func

    builders: list[tuple[str, Callable[[bool], Any], Callable[[Any], Runner]]] = [
        ("Starlette", starlette_func.make_mounted, asgi3_runner)
    ]
    if trane is not None:
        from benchmarks.apps import trane_app

        builders.insert(0, ("trane", trane_app.make_mounted, asgi2_runner))
    scopes = [http_scope("/api/hello/world")]
    return [
        Entry(f"{label} {how}", runner(build(how == "mounted")), scopes, b"Hello, world!")
        for label, build, runner in builders
        for how in ("mounted", "unmounted")
    ]


async def case_mount(trane: Any, cfg: Config) -> list[Table]:
    samples = await measure(mount_entries(trane), cfg)
    table = Table(
        "Mounted router: GET /api/hello/{name} via Mount('/api', router), and unmounted",
        ["framework", "µs/req unmounted", "µs/req mounted", "mount cost", f"vs {MOUNT_BASELINE}"],
    )
    for label in dict.fromkeys(name.split()[0] for name in samples):
        flat, mounted = samples[f"{label} unmounted"], samples[f"{label} mounted"]
        speed = paired_ratio(samples[MOUNT_BASELINE], mounted)
        table.rows.append(
            [
                label,
                f"{statistics.median(flat):.2f}",
                f"{statistics.median(mounted):.2f}",
                f"{paired_ratio(mounted, flat):.2f}x",
                f"{speed:.2f}x",
            ]
        )
        table.ratios[label] = speed
    table.ratio_label = f"mounted req/s ÷ {MOUNT_BASELINE}'s (higher is faster)"
    table.notes.append("  mount cost: median over rounds of mounted µs ÷ unmounted µs")
    return [table]


CHUNK = b"x" * 65536


def chunked_receive(total: int) -> Receive:
    """Feeds ``total`` bytes in 64 KiB http.request messages, then disconnect."""
    count = total // len(CHUNK)
    sent = 0

    async def receive() -> Message:
        nonlocal sent
        sent += 1
        if sent > count:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": CHUNK, "more_body": sent < count}

    return receive


async def case_body(trane: Any, cfg: Config) -> list[Table]:
    from benchmarks.apps import starlette_func

    runners: list[tuple[str, str, Runner]] = []
    if trane is not None:
        from benchmarks.apps import trane_app

        router = asgi2_runner(trane_app.router)
        runners += [("trane await self.body()", "/body", router)]
        runners += [("trane async for self.stream()", "/stream", router)]
    star = asgi3_runner(starlette_func.app)
    runners += [("Starlette await request.body()", "/body", star)]
    runners += [("Starlette request.stream()", "/stream", star)]
    mib = 1024 * 1024
    sizes = (mib, 10 * mib)

    async def one(run: Runner, path: str, size: int) -> None:
        headers = [(b"content-length", str(size).encode())]
        rec = Recorder()
        await run(1, [http_scope(path, "POST", headers)], chunked_receive(size), rec)
        if rec.status != 200 or bytes(rec.body) != str(size).encode():
            raise BenchmarkError(f"POST {path}: got {rec.status} {bytes(rec.body)[:200]!r}")

    for _, path, run in runners:
        await one(run, path, mib)  # check + warm-up
    times: dict[tuple[str, int], list[float]] = {}
    rounds = max(3, cfg.rounds - 2)
    for r in range(rounds):
        k = r % len(runners)
        for label, path, run in runners[k:] + runners[:k]:
            for size in sizes:
                repeat = sizes[-1] // size  # same bytes per sample for both sizes
                gc.collect()
                start = time.perf_counter()
                for _ in range(repeat):
                    await one(run, path, size)
                times.setdefault((label, size), []).append((time.perf_counter() - start) / repeat)
    peaks: dict[tuple[str, int], float] = {}
    tracemalloc.start()
    try:
        for label, path, run in runners:
            for size in sizes:
                gc.collect()
                tracemalloc.reset_peak()
                before = tracemalloc.get_traced_memory()[0]
                await one(run, path, size)
                peaks[label, size] = (tracemalloc.get_traced_memory()[1] - before) / mib
    finally:
        tracemalloc.stop()
    table = Table(
        "Request body: POST fed in 64 KiB chunks (in-process)",
        ["reader", "ms 1 MiB", "ms 10 MiB", "10 MiB ÷ 1 MiB", "MiB/s", "peak MiB 1/10"],
    )
    for label, _, _ in runners:
        one_mib, ten_mib = (statistics.median(times[label, s]) for s in sizes)
        table.rows.append(
            [
                label,
                f"{one_mib * 1e3:.2f}",
                f"{ten_mib * 1e3:.2f}",
                f"{ten_mib / one_mib:.1f}x",
                f"{10 / ten_mib:,.0f}",
                f"{peaks[label, mib]:.2f} / {peaks[label, 10 * mib]:.2f}",
            ]
        )
    table.notes.append("  linear time reads ~10x for 10 MiB ÷ 1 MiB (a little more for body(): a")
    table.notes.append("  10 MiB buffer leaves the CPU cache); quadratic copying would read ~100x.")
    table.notes.append("  peak = tracemalloc peak during one request (the 64 KiB chunk is shared).")
    return [table]


async def case_memory(trane: Any, cfg: Config) -> list[Table]:
    """Memory held per in-flight HTTP request and per idle WebSocket connection."""
    from benchmarks.apps import raw_ws

    n = 1000
    gate = asyncio.Event()
    trane_dir = str(Path(trane.__file__).parent) if trane is not None else None

    async def held(
        make: Callable[[Scope], Awaitable[None]], scopes: list[Scope], ready: Callable[[], bool]
    ) -> tuple[float, float]:
        """KiB per connection in total and allocated by trane's own code."""
        gc.collect()
        tracemalloc.start(1)
        try:
            before = tracemalloc.get_traced_memory()[0]
            tasks = [asyncio.ensure_future(make(s)) for s in scopes]
            for _ in range(20):
                await asyncio.sleep(0)
            if not ready() or any(t.done() for t in tasks):
                raise BenchmarkError("memory case: connections did not reach the waiting point")
            gc.collect()
            total = tracemalloc.get_traced_memory()[0] - before
            snap = tracemalloc.take_snapshot()
        finally:
            tracemalloc.stop()
        own = 0
        if trane_dir:
            snap = snap.filter_traces([tracemalloc.Filter(True, f"{trane_dir}/*")])
            own = sum(s.size for s in snap.statistics("filename"))
        gate.set()
        await asyncio.gather(*tasks)
        gate.clear()
        return total / n / 1024, own / n / 1024

    async def gated_receive() -> Message:
        await gate.wait()
        return {"type": "http.disconnect"}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    def ws_receive() -> Receive:
        first = True

        async def receive() -> Message:
            nonlocal first
            if first:
                first = False
                return {"type": "websocket.connect"}
            await gate.wait()
            return {"type": "websocket.disconnect", "code": 1000}

        return receive

    class RawWaiting:  # raw ASGI 2 baseline that blocks mid-request
        def __init__(self, scope: Scope) -> None:
            self.scope = scope

        async def __call__(self, receive: Receive, send: Send) -> None:
            await gate.wait()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})

    # (label, app, "http" | "websocket", called as ASGI 2 double-callable?)
    apps: list[tuple[str, Any, str, bool]] = [
        ("raw ASGI 2 class mid-request", RawWaiting, "http", True),
        ("raw ASGI 3 WebSocket echo idle", raw_ws.app, "websocket", False),
    ]
    if trane is not None:

        class Waiting(trane.Application):  # type: ignore[misc]
            async def get(self, name: str) -> str:
                await gate.wait()
                return f"Hello, {name}!"

        router = trane.Router([trane.Route("/hello/{name}", Waiting)])
        apps.insert(0, ("trane Application mid-handler", router, "http", True))
        if hasattr(trane, "WebSocketApplication"):
            from benchmarks.apps import trane_ws

            apps.insert(2, ("trane WebSocketApplication idle", trane_ws.router, "websocket", True))
        else:
            log("NOTE: trane.WebSocketApplication is missing; idle WebSocket size skipped")
    table = Table(
        f"Memory held per connection ({n} concurrent, tracemalloc)",
        ["connection", "KiB total", "KiB in trane code"],
    )
    for label, app, kind, asgi2 in apps:
        path = "/hello/world" if kind == "http" else "/ws"

        async def make(scope: Scope, app: Any = app, asgi2: bool = asgi2, kind: str = kind) -> None:
            receive = gated_receive if kind == "http" else ws_receive()
            await (app(scope)(receive, send) if asgi2 else app(scope, receive, send))

        def ready(kind: str = kind) -> bool:  # nothing answered yet / every one accepted
            return not sent if kind == "http" else len(sent) == n

        # one full connection first, so lazy per-class caches are not counted
        gate.set()
        await make(http_scope(path, kind=kind))
        gate.clear()
        sent.clear()
        total, own = await held(make, [http_scope(path, kind=kind) for _ in range(n)], ready)
        answered = sum(m.get("status") == 200 for m in sent)
        if kind == "http" and answered != n:
            raise BenchmarkError(f"{label}: expected {n} 200 responses, got {answered}")
        sent.clear()
        own_text = f"{own:.2f}" if label.startswith("trane") else "-"
        table.rows.append([label, f"{total:.2f}", own_text])
    table.notes.append("  total = asyncio task + coroutine frames + app objects per connection,")
    table.notes.append("  measured after the first connection warmed lazy caches.")
    return [table]


# ---------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# NOTE: on 2 cores the server and the load generator fight over both when the
# scheduler moves them around; the server case pins each server to one CPU
# and the runner (and so wrk, its child) to the other.
SERVER_CPU, LOAD_CPU = 0, 1  # indexes into CPUS
CPUS = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def pin(pid: int, cpu: int) -> None:
    """Keep process ``pid`` (0: this one) on ``CPUS[cpu]``; nothing with fewer than 2."""
    if len(CPUS) >= 2:
        os.sched_setaffinity(pid, {CPUS[cpu]})


@contextmanager
def runner_pinned(cpu: int) -> Iterator[None]:
    """This process, and the processes it starts meanwhile, on ``CPUS[cpu]``."""
    pin(0, cpu)
    try:
        yield
    finally:
        if len(CPUS) >= 2:
            os.sched_setaffinity(0, set(CPUS))


def cpu_seconds(pid: int) -> float | None:
    """CPU time used so far by all threads of ``pid`` (Linux schedstat, ns); None elsewhere."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
        total = 0
        for task in tasks:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return total / 1e9


def uvicorn_command(target: str, interface: str, port: int) -> list[str]:
    """uvicorn serving ``target`` on 127.0.0.1:``port`` (httptools, uvloop, 1 worker)."""
    options = "--host 127.0.0.1 --loop uvloop --http httptools --workers 1 --no-access-log"
    return [
        *(sys.executable, "-m", "uvicorn", target, *options.split()),
        *("--log-level", "warning", "--port", str(port), "--interface", interface),
    ]


def app_environment() -> dict[str, str]:
    """This environment, with the apps (and trane's ``src/``) importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), str(benchmarks.apps.SRC), env.get("PYTHONPATH", "")]
    )
    return env


class Server:
    """``uvicorn target`` in a subprocess on 127.0.0.1 (httptools, uvloop, 1 worker)."""

    def __init__(self, target: str, interface: str) -> None:
        self.target, self.interface = target, interface
        self.port = free_port()
        self.log = tempfile.TemporaryFile()  # noqa: SIM115  (closed in stop())
        self.proc = subprocess.Popen(
            uvicorn_command(target, interface, self.port),
            cwd=ROOT,
            env=app_environment(),
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        pin(self.proc.pid, SERVER_CPU)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-2000:]

    async def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchmarkError(f"uvicorn {self.target} exited:\n{self.output()}")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            return
        raise BenchmarkError(f"uvicorn {self.target} not listening after {timeout}s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@contextmanager
def servers(apps: dict[str, tuple[str, str]]) -> Iterator[dict[str, Server]]:
    started: dict[str, Server] = {}
    try:
        for label, (target, interface) in apps.items():
            started[label] = Server(target, interface)
        yield started
    finally:
        for server in started.values():
            server.stop()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(b":") for x in lines[1:])}
    if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
        body = b""
        while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
            body += (await reader.readexactly(size + 2))[:-2]
        await reader.readuntil(b"\r\n")
        return status, body
    return status, await reader.readexactly(int(headers.get(b"content-length", b"0")))


@dataclass
class Load:
    """One request the load generators repeat, and the answer it must get."""

    path: str
    method: str = "GET"
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    connections: int = 64
    expect: tuple[int, bytes] = (200, b"Hello, world!")  # checked once per server
    same_json: bool = False  # compare the expected body as JSON, not as bytes

    def request(self, port: int) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        if self.body:
            lines.append(f"Content-Length: {len(self.body)}")
        return "\r\n".join([*lines, "", ""]).encode() + self.body

    def answered_right(self, status: int, body: bytes) -> bool:
        if self.same_json:
            return status == self.expect[0] and json.loads(body) == json.loads(self.expect[1])
        return (status, body) == self.expect

    def wrk_script(self) -> str | None:
        """A wrk Lua script for what -H cannot say (method and body), if needed."""
        if self.method == "GET" and not self.body:
            return None
        text = self.body.decode("latin-1")
        if "]==]" in text:
            raise BenchmarkError("request body cannot be quoted for wrk")
        return f'wrk.method = "{self.method}"\nwrk.body = [==[{text}]==]\n'


async def python_load(port: int, load: Load, seconds: float) -> tuple[float, int]:
    """Keep-alive load from ``load.connections`` asyncio clients: (req/s, requests)."""
    request = load.request(port)
    deadline = time.perf_counter() + seconds

    async def client() -> int:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        done = 0
        try:
            while time.perf_counter() < deadline:
                writer.write(request)
                status, _ = await read_response(reader)
                if status != load.expect[0]:
                    raise BenchmarkError(f"{load.path} on port {port}: status {status}")
                done += 1
        finally:
            writer.close()
        return done

    start = time.perf_counter()
    total = sum(await asyncio.gather(*(client() for _ in range(load.connections))))
    return total / (time.perf_counter() - start), total


async def wrk_load(port: int, load: Load, seconds: int) -> tuple[float, int]:
    """``wrk -t1 -c<connections>`` for ``seconds``: (req/s, requests)."""
    url = f"http://127.0.0.1:{port}{load.path}"
    args = ["-t1", f"-c{load.connections}", f"-d{seconds}s"]
    for name, value in load.headers:
        args += ["-H", f"{name}: {value}"]
    script = load.wrk_script()
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        if script is not None:
            lua.write(script)
            lua.flush()
            args += ["-s", lua.name]
        pipe, stdout = asyncio.subprocess.PIPE, asyncio.subprocess.STDOUT
        proc = await asyncio.create_subprocess_exec("wrk", *args, url, stdout=pipe, stderr=stdout)
        out = (await proc.communicate())[0].decode()
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    count = re.search(r"(\d+) requests in", out)
    if proc.returncode or not match or not count or "Non-2xx" in out:
        raise BenchmarkError(f"wrk against port {port} failed:\n{out}")
    return float(match.group(1)), int(count.group(1))


async def ask(port: int, load: Load) -> tuple[int, bytes]:
    """One request of ``load`` on a fresh connection: (status, body)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(load.request(port))
        return await read_response(reader)
    finally:
        writer.close()


@asynccontextmanager
async def checked_servers(
    apps: dict[str, tuple[str, str]], loads: list[Load], cfg: Config
) -> AsyncIterator[dict[str, Server]]:
    """``servers()``, each checked to answer every load right, then warmed up."""
    with servers(apps) as running:
        for label, server in running.items():
            await server.wait_ready()
            for load in loads:
                status, body = await ask(server.port, load)
                if not load.answered_right(status, body):
                    raise BenchmarkError(
                        f"{label} under uvicorn, {load.method} {load.path}: "
                        f"got {status} {body[:200]!r}"
                    )
                await python_load(server.port, load, cfg.server_warmup / len(loads))  # warm-up
        yield running


def ratio_cells(values: list[float], base: list[float]) -> tuple[float, str]:
    """Median of the per-round ratios ``values ÷ base``, and their middle half."""
    ratios = sorted(v / b for v, b in zip(values, base, strict=True))
    quarter = len(ratios) // 4
    return paired_ratio(values, base), f"{ratios[quarter]:.2f}-{ratios[-1 - quarter]:.2f}"


Samples = dict[tuple[str, str], list[float]]


async def load_rounds(
    apps: dict[str, tuple[str, str]], loads: dict[str, Load], cfg: Config, rounds: int
) -> tuple[Samples, Samples]:
    """Rounds of short loads, every (server, load) once per round, order rotating.

    NOTE: on a shared VM one process can run a few percent fast or slow for
    its whole life, and the machine's speed drifts between seconds. So the
    servers are restarted (fresh processes) for every group of rounds, and
    ratios are taken within one round. Each server runs pinned to one CPU and
    the load generator to the other; the server's own CPU time per round
    gives a second figure, requests per CPU-second (its capacity), which the
    load generator's share of the machine does not move. Returns req/s and
    req per server CPU-second, keyed by (app label, load name).
    """
    samples: Samples = {(label, name): [] for label in apps for name in loads}
    capacity: Samples = {key: [] for key in samples}
    groups = max(1, min(cfg.server_groups, rounds))
    r = 0
    with runner_pinned(LOAD_CPU):
        for group in range(groups):
            async with checked_servers(apps, list(loads.values()), cfg) as running:
                labels = list(running)
                for _ in range(rounds * (group + 1) // groups - r):
                    k = r % len(labels)
                    for label in labels[k:] + labels[:k]:
                        for name, load in loads.items():
                            pid, port = running[label].proc.pid, running[label].port
                            cpu_before = cpu_seconds(pid)
                            if cfg.loadgen == "wrk":
                                rps, requests = await wrk_load(port, load, cfg.server_seconds)
                            else:
                                rps, requests = await python_load(port, load, cfg.server_seconds)
                            cpu_after = cpu_seconds(pid)
                            samples[label, name].append(rps)
                            note = ""
                            if cpu_before is not None and cpu_after is not None:
                                per_cpu = requests / max(cpu_after - cpu_before, 1e-6)
                                capacity[label, name].append(per_cpu)
                                note = f", {per_cpu:,.0f} req per server CPU-s"
                            log(f"  server round {r + 1}: {label} {name}: {rps:,.0f} req/s{note}")
                    r += 1
    return samples, capacity


def load_description(cfg: Config, connections: int = 64) -> str:
    if cfg.loadgen == "wrk":
        return f"wrk -t1 -c{connections}"
    return f"asyncio keep-alive client, {connections} connections"


def server_table(
    title: str,
    samples: Samples,
    capacity: Samples,
    load: str,
    baseline: str,
    cfg: Config,
) -> Table:
    """req/s, and req per server CPU-second, of each app under ``load``, vs ``baseline``."""
    labels = [label for label, name in samples if name == load]
    measured_cpu = all(len(capacity[k]) == len(samples[k]) for k in samples)
    columns = ["app", "req/s", "µs/req (1/rps)", f"vs {baseline}", "ratio range (middle half)"]
    short = "raw ASGI 2" if baseline == RAW2 else baseline
    if measured_cpu:
        columns += ["req/CPU-s", f"vs {short} (CPU)", "CPU ratio range"]
    table = Table(title, columns)
    if len(CPUS) >= 2:
        server_cpu, load_cpu = CPUS[SERVER_CPU], CPUS[LOAD_CPU]
        table.notes.append(f"  each server pinned to CPU {server_cpu}, the load to CPU {load_cpu}")
    for label in labels:
        values, base = samples[label, load], samples[baseline, load]
        rps = statistics.median(values)
        ratio, spread = ratio_cells(values, base)
        row = [label, f"{rps:,.0f}", f"{1e6 / rps:.1f}", f"{ratio:.2f}x", spread]
        if measured_cpu:
            cpu_ratio, cpu_spread = ratio_cells(capacity[label, load], capacity[baseline, load])
            row += [
                f"{statistics.median(capacity[label, load]):,.0f}",
                f"{cpu_ratio:.2f}x",
                cpu_spread,
            ]
        table.rows.append(row)
        table.ratios[label] = ratio
    table.notes.append(
        f"  ratio: median over rounds of (req/s ÷ {baseline}'s req/s in the same round)"
    )
    if measured_cpu:
        table.notes.append(
            "  req/CPU-s: requests served ÷ the server process's CPU time in that round"
            " (/proc schedstat); its ratio is taken the same way"
        )
    table.ratio_label = f"req/s ÷ {baseline} (higher is faster)"
    return table


async def case_server(trane: Any, cfg: Config) -> list[Table]:
    """Every app under uvicorn, ``GET /hello/world``, ratios vs the raw ASGI 2 class."""
    from benchmarks.apps import blacksheep_app  # noqa: F401  (fail early if missing)

    apps = {k: v for k, v in SERVED.items() if trane is not None or not k.startswith("trane")}
    samples, capacity = await load_rounds(
        apps, {"hello": Load("/hello/world")}, cfg, cfg.server_rounds
    )
    groups = max(1, min(cfg.server_groups, cfg.server_rounds))
    title = (
        f"uvicorn (httptools, uvloop, 1 worker), GET /hello/world, {load_description(cfg)}, "
        f"{cfg.server_seconds}s x {cfg.server_rounds} rounds, {groups} sets of processes"
    )
    return [server_table(title, samples, capacity, "hello", RAW2, cfg)]


POST_LOAD = Load(
    "/post",
    "POST",
    [("Content-Type", "application/json")],
    POST_BODY,
    expect=(200, json.dumps(POST_ANSWER).encode()),
    same_json=True,
)


async def case_post_server(trane: Any, cfg: Config) -> list[Table]:
    """``POST /post`` (300-byte JSON) under uvicorn: trane, the floor and its peers."""
    chosen = [TRANE2, RAW2, FALCON, STAR_FN, BLACKSHEEP]
    apps = {k: SERVED[k] for k in chosen if trane is not None or not k.startswith("trane")}
    rounds = max(1, cfg.server_rounds // 2)
    samples, capacity = await load_rounds(apps, {"post": POST_LOAD}, cfg, rounds)
    groups = max(1, min(cfg.server_groups, rounds))
    title = (
        f"uvicorn, POST /post (300-byte JSON body, parsed, a dict returned), "
        f"{load_description(cfg)}, {cfg.server_seconds}s x {rounds} rounds, "
        f"{groups} sets of processes"
    )
    return [server_table(title, samples, capacity, "post", FALCON, cfg)]


MIB = 1024 * 1024
UPLOAD_BOUNDARY = b"----trane-bench-7MA4YWxkTrZu0gW"
UPLOAD_FIELDS = {"title": "holiday photos", "album": "2026", "note": "three fields and a file"}


def multipart_body(size: int) -> tuple[bytes, str]:
    """A multipart body: the three fields and one ``size``-byte file; and its sha256."""
    data = random.Random(0).randbytes(size)
    parts = []
    for name, value in UPLOAD_FIELDS.items():
        parts.append(
            b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
            % (UPLOAD_BOUNDARY, name.encode(), value.encode())
        )
    parts.append(
        b'--%s\r\nContent-Disposition: form-data; name="file"; filename="photo.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" % UPLOAD_BOUNDARY
    )
    parts += [data, b"\r\n--%s--\r\n" % UPLOAD_BOUNDARY]
    return b"".join(parts), hashlib.sha256(data).hexdigest()


def replay(chunks: list[memoryview]) -> Receive:
    """A receive() that gives ``chunks`` as http.request messages, then disconnect.

    Each message's body is a fresh bytes object, as a server's is, so that
    memory held on to by the reader shows in tracemalloc's peak.
    """
    sent = 0

    async def receive() -> Message:
        nonlocal sent
        sent += 1
        if sent > len(chunks):
            return {"type": "http.disconnect"}
        body = bytes(chunks[sent - 1])
        return {"type": "http.request", "body": body, "more_body": sent < len(chunks)}

    return receive


async def case_upload(trane: Any, cfg: Config) -> list[Table]:
    """A 20 MiB file and three fields, multipart, fed in 64 KiB messages (in-process)."""
    from benchmarks.apps import starlette_func

    size = 20 * MIB
    body, digest = multipart_body(size)
    view = memoryview(body)
    chunks = [view[i : i + len(CHUNK)] for i in range(0, len(body), len(CHUNK))]
    headers = [
        (b"content-type", b"multipart/form-data; boundary=" + UPLOAD_BOUNDARY),
        (b"content-length", b"%d" % len(body)),
    ]
    runners: list[tuple[str, Runner]] = []
    if trane is not None:
        from benchmarks.apps import trane_app

        runners.append(("trane await self.form()", asgi2_runner(trane_app.router)))
    runners.append(("Starlette await request.form()", asgi3_runner(starlette_func.app)))
    baseline = runners[-1][0]

    async def one(run: Runner, rec: Send = send_nothing, query: bytes = b"") -> None:
        scope = http_scope("/upload", "POST", headers)
        scope["query_string"] = query
        await run(1, [scope], replay(chunks), rec)

    for label, run in runners:  # check (hash-exact) + warm-up
        rec = Recorder()
        await one(run, rec, b"hash=1")
        want = upload_answer(size, UPLOAD_FIELDS, digest)
        if rec.status != 200 or json.loads(bytes(rec.body)) != want:
            raise BenchmarkError(f"{label}: upload answered {rec.status} {bytes(rec.body)[:300]!r}")
    times: dict[str, list[float]] = {label: [] for label, _ in runners}
    for r in range(max(3, cfg.rounds // 3)):
        k = r % len(runners)
        for label, run in runners[k:] + runners[:k]:
            gc.collect()
            start = time.perf_counter()
            await one(run)
            times[label].append(time.perf_counter() - start)
    peaks: dict[str, float] = {}
    tracemalloc.start()
    try:
        for label, run in runners:
            gc.collect()
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            await one(run)
            peaks[label] = (tracemalloc.get_traced_memory()[1] - before) / MIB
    finally:
        tracemalloc.stop()
    table = Table(
        "Upload: multipart, one 20 MiB file + 3 fields, fed in 64 KiB messages (in-process)",
        ["reader", "ms", "MiB/s", f"vs {baseline}", "peak MiB"],
    )
    for label, _ in runners:
        seconds = statistics.median(times[label])
        ratio = paired_ratio(times[baseline], times[label])
        table.rows.append(
            [
                label,
                f"{seconds * 1e3:.1f}",
                f"{20 / seconds:,.0f}",
                f"{ratio:.2f}x",
                f"{peaks[label]:.2f}",
            ]
        )
        table.ratios[label] = ratio
    table.ratio_label = f"MiB/s ÷ {baseline} (higher is faster)"
    table.notes.append("  ratio: median over rounds of the ratio within one round; answers checked")
    table.notes.append("  hash-exact first. peak = tracemalloc peak during one request, each")
    table.notes.append("  message's body a fresh bytes object (the spool file's data on disk is")
    table.notes.append("  not counted, data held in memory is).")
    return [table]


FILE_SIZE = 10 * MIB
FILE_RANGE = (1000, 200000)


async def case_files(trane: Any, cfg: Config) -> list[Table]:
    """A 10 MiB ``FileResponse`` under uvicorn, whole and one Range, vs Starlette's."""
    data = random.Random(1).randbytes(FILE_SIZE)
    first, last = FILE_RANGE
    loads = {
        "whole": Load("/file", connections=8, expect=(200, data)),
        "range": Load(
            "/file",
            headers=[("Range", f"bytes={first}-{last}")],
            connections=8,
            expect=(206, data[first : last + 1]),
        ),
    }
    apps = {k: SERVED[k] for k in (TRANE2, STAR_FN) if trane is not None or k != TRANE2}
    rounds = max(1, cfg.server_rounds // 2)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "file.bin"
        path.write_bytes(data)
        os.environ["BENCH_FILE"] = str(path)  # read by the apps' GET /file
        try:
            samples, capacity = await load_rounds(apps, loads, cfg, rounds)
        finally:
            del os.environ["BENCH_FILE"]
    groups = max(1, min(cfg.server_groups, rounds))
    tables = []
    for name, what in (("whole", "whole"), ("range", f"Range: bytes={first}-{last}")):
        title = (
            f"uvicorn, GET /file (10 MiB FileResponse), {what}, {load_description(cfg, 8)}, "
            f"{cfg.server_seconds}s x {rounds} rounds, {groups} sets of processes"
        )
        tables.append(server_table(title, samples, capacity, name, STAR_FN, cfg))
    return tables


async def ws_echo_rate(port: int, seconds: float, window: int = 32) -> float:
    """Messages/s echoed over one connection with ``window`` messages in flight."""
    from websockets.asyncio.client import connect

    async with connect(f"ws://127.0.0.1:{port}/ws", compression=None) as ws:
        await ws.send("check")
        if await ws.recv() != "check":
            raise BenchmarkError(f"WebSocket echo on port {port} answered wrongly")
        slots = asyncio.Semaphore(window)
        drained = asyncio.Event()
        sent = received = 0
        finished = False

        async def receiver() -> None:
            nonlocal received
            while True:
                await ws.recv()
                received += 1
                slots.release()
                if finished and received == sent:
                    drained.set()

        task = asyncio.ensure_future(receiver())
        start = time.perf_counter()
        deadline = start + seconds
        try:
            while time.perf_counter() < deadline:
                await slots.acquire()
                await ws.send("hello, echo!")
                sent += 1
            finished = True
            if received == sent:
                drained.set()
            await asyncio.wait_for(drained.wait(), 30)
            return received / (time.perf_counter() - start)
        finally:
            task.cancel()


async def case_ws(trane: Any, cfg: Config) -> list[Table]:
    if trane is None or not hasattr(trane, "WebSocketApplication"):
        log("NOTE: trane.WebSocketApplication is missing; WebSocket echo case skipped")
        return []
    trane_label, raw_label = "trane WebSocketApplication (ASGI 2)", "raw ASGI 3 echo"
    apps = {
        trane_label: ("benchmarks.apps.trane_ws:app", "asgi2"),
        raw_label: ("benchmarks.apps.raw_ws:app", "asgi3"),
    }
    samples: dict[str, list[float]] = {label: [] for label in apps}
    with runner_pinned(LOAD_CPU), servers(apps) as running:
        for server in running.values():
            await server.wait_ready()
            await ws_echo_rate(server.port, 0.3)  # check + warm-up
        labels = list(running)
        for r in range(cfg.ws_rounds):
            for label in labels[r % 2 :] + labels[: r % 2]:
                rate = await ws_echo_rate(running[label].port, cfg.ws_seconds)
                samples[label].append(rate)
                log(f"  ws round {r + 1}: {label}: {rate:,.0f} messages/s")
    results = {label: statistics.median(v) for label, v in samples.items()}
    table = Table(
        f"WebSocket echo under uvicorn, 1 connection, 32 messages in flight, "
        f"{cfg.ws_seconds:g}s x {cfg.ws_rounds} rounds",
        ["app", "messages/s", f"vs {raw_label}"],
    )
    for label, rate in results.items():
        ratio = paired_ratio(samples[label], samples[raw_label])
        table.rows.append([label, f"{rate:,.0f}", f"{ratio:.2f}x"])
        table.ratios[label] = ratio
    table.ratio_label = f"messages/s ÷ {raw_label} (higher is faster)"
    table.notes.append("  ratio: median over rounds of the ratio within one round")
    table.notes.append("  the one Python websockets client (pinned like wrk) caps both rows.")
    return [table]


async def fanout_case(name: str, trane: Any, cfg: Config) -> list[Table]:
    """A case of ``benchmarks/fanout.py`` (imported only when it runs: it needs Channels)."""
    if trane is None:
        log("NOTE: trane is not usable; fan-out case skipped")
        return []
    # NOTE: run as `python -m benchmarks.run` this module is __main__; fanout
    # imports it by name, and must get these classes, not a second copy.
    sys.modules.setdefault("benchmarks.run", sys.modules[__name__])
    from benchmarks import fanout

    tables: list[Table] = await getattr(fanout, name)(trane, cfg)
    return tables


CASE_FUNCS: dict[str, Callable[[Any, Config], Awaitable[list[Table]]]] = {
    "hello": case_hello,
    "json": case_json,
    "typed": case_typed,
    "routes": case_routes,
    "mount": case_mount,
    "post": case_post,
    "server": case_server,
    "post-server": case_post_server,
    "body": case_body,
    "upload": case_upload,
    "files": case_files,
    "ws": case_ws,
    "memory": case_memory,
    "fanout": lambda trane, cfg: fanout_case("case_fanout", trane, cfg),
    "fanout-server": lambda trane, cfg: fanout_case("case_fanout_server", trane, cfg),
    "fanout-redis": lambda trane, cfg: fanout_case("case_fanout_redis", trane, cfg),
}


# ---------------------------------------------------------------- output


def draw_chart(tables: list[Table], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    charted = [t for t in tables if t.ratios]
    if not charted:
        log("NOTE: no ratios to chart")
        return
    heights = [0.6 + 0.35 * len(t.ratios) for t in charted]
    fig, axes = plt.subplots(
        len(charted),
        1,
        figsize=(9, sum(heights) + 0.6 * len(charted)),
        gridspec_kw={"height_ratios": heights},
        squeeze=False,
    )
    for ax, table in zip(axes[:, 0], charted, strict=True):
        names, values = list(table.ratios), list(table.ratios.values())
        colors = ["tab:orange" if n.startswith("trane") else "tab:blue" for n in names]
        ax.barh(names[::-1], values[::-1], color=colors[::-1])
        ax.axvline(1.0, color="black", linewidth=0.8)
        for y, v in enumerate(values[::-1]):
            ax.text(v, y, f" {v:.2f}x", va="center", fontsize=8)
        ax.set_title(table.title, fontsize=9)
        ax.set_xlabel(table.ratio_label, fontsize=8)
        ax.tick_params(labelsize=8)
        if max(values) / min(values) > 20:  # e.g. Starlette's linear route scan
            ax.set_xscale("log")
            ax.set_xlim(min(values) / 1.5, max(values) * 3)
        else:
            ax.set_xlim(0, max(values) * 1.18)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    log(f"chart written to {path}")


START, END = "<!-- results:start -->", "<!-- results:end -->"


def write_markdown(tables: list[Table], path: Path, header: str) -> None:
    block = "\n\n".join([header, *(t.markdown() for t in tables)])
    if path.exists() and START in (text := path.read_text()) and END in text:
        before, rest = text.split(START, 1)
        text = f"{before}{START}\n{block}\n{END}{rest.split(END, 1)[1]}"
    else:
        text = f"# Benchmark results\n\n{START}\n{block}\n{END}\n"
    path.write_text(text)
    log(f"results written to {path}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="short smoke run (< 40 s)")
    parser.add_argument(
        "--cases", default="all", help=f"comma list of {', '.join(CASES)} (inproc = hello,json)"
    )
    parser.add_argument("--chart", type=Path, help="write a bar chart of the ratios (PNG)")
    parser.add_argument("--markdown", type=Path, help="write the tables into this markdown file")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--rounds", type=int, help="override the number of in-process rounds")
    parser.add_argument("--duration", type=int, help="override seconds per server load run")
    return parser.parse_args(argv)


def configure(args: argparse.Namespace) -> tuple[Config, list[str]]:
    cfg = Config.quick() if args.quick else Config()
    cfg.rounds = args.rounds or cfg.rounds
    cfg.server_seconds = args.duration or cfg.server_seconds
    has_wrk = shutil.which("wrk") is not None
    use_wrk = args.loadgen == "wrk" or (args.loadgen == "auto" and has_wrk)
    cfg.loadgen = "wrk" if use_wrk else "python"
    chosen: list[str] = []
    for name in args.cases.split(","):
        for case in ALIASES.get(name.strip(), (name.strip(),)):
            if case not in CASES:
                raise SystemExit(f"unknown case {case!r}; choose from {', '.join(CASES)}")
            if case not in chosen:
                chosen.append(case)
    return cfg, chosen


async def run_cases(cfg: Config, chosen: list[str]) -> list[Table]:
    trane = load_trane()
    tables: list[Table] = []
    started = time.perf_counter()
    for case in chosen:
        log(f"-- {case}")
        case_start = time.perf_counter()
        for table in await CASE_FUNCS[case](trane, cfg):
            print(table.text(), flush=True)
            tables.append(table)
        log(f"   ({time.perf_counter() - case_start:.1f}s)")
    log(f"total {time.perf_counter() - started:.1f}s")
    return tables


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cfg, chosen = configure(args)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    try:
        import uvloop

        loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
    except ImportError:
        loop_factory = None
    try:
        if sys.version_info >= (3, 11):
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                tables = runner.run(run_cases(cfg, chosen))
        else:
            tables = asyncio.run(run_cases(cfg, chosen))
    except BenchmarkError as exc:
        print(f"\nBENCHMARK FAILED: {exc}", file=sys.stderr)
        return 1
    if args.chart:
        draw_chart(tables, args.chart)
    if args.markdown:
        command = " ".join(["python -m benchmarks.run", *(sys.argv[1:] if argv is None else argv)])
        header = (
            f"Python {platform.python_version()} on {platform.system()} {platform.machine()}, "
            f"{os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d')}: `{command}` "
            f"(median of {cfg.rounds} interleaved in-process rounds, "
            f"{cfg.server_rounds} server rounds, load by {cfg.loadgen}; "
            f"1-minute load average {load:.2f} at start)."
        )
        if args.chart:
            chart = os.path.relpath(args.chart.resolve(), args.markdown.resolve().parent)
            header += f"\n\n![ratios]({Path(chart).as_posix()})"
        write_markdown(tables, args.markdown, header)
    return 0


if __name__ == "__main__":
    sys.exit(main())
