"""Instructions per request, counted by callgrind: the figure noise cannot move.

How this works
--------------
Wall time on a shared VM swings by tens of percent from second to second;
the number of instructions a request costs does not (with hash and address
randomization off it is the same run after run). For each app this runs the
same work twice under ``valgrind --tool=callgrind``, with N and with 5N
requests, and reports ``(count(5N) - count(N)) / 4N``: start-up, imports and
shutdown cancel out, what is left is one request.

* ``--server``: the app under uvicorn (httptools, uvloop, one worker, as in
  ``run.py``'s server case) on a free 127.0.0.1 port, sent N keep-alive
  ``GET /hello/world`` requests (``--case post``: ``POST /post``) one after
  another by a plain socket client, then stopped with SIGINT. The count is
  the server process's: uvicorn, httptools and the app.
* default: the app called in-process, the way ``run.py``'s hello, json, post
  and typed cases call it (``--case``).
* ``--fanout``: one in-process WebSocket group fan-out round (``fanout.py``)
  with N and 5N ``group_send`` calls, trane's loop and Channels' consumer:
  instructions per event delivered. With ``--server``: the uvicorn process
  (as ``fanout-server`` runs it) serving ``--members`` real ``websockets``
  clients, the N and 5N events asked for by a publisher connection.

    python -m benchmarks.count                       # in-process, every app
    python -m benchmarks.count --case post           # in-process POST of 300 B of JSON
    python -m benchmarks.count --case mount          # a route in a mounted router, and unmounted
    python -m benchmarks.count --server              # under uvicorn, every app
    python -m benchmarks.count --server --apps "trane Router (ASGI 2),raw ASGI 2 class"
    python -m benchmarks.count --fanout --members 20 --requests 1000
    python -m benchmarks.count --fanout --server --members 20 --requests 1000

Needs valgrind and setarch (``apt-get install valgrind util-linux``); two
measurements run at a time (2 cores). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python benchmarks/count.py`
    sys.path.insert(0, str(ROOT))

from benchmarks import run  # noqa: E402

#: What the hello case answers.
BODY = b"Hello, world!"
BASELINES = {"server": run.RAW2, "inproc": run.FALCON}
#: What ``--server`` sends for each ``--case`` (hello and json: GET /hello/world).
SERVER_LOADS = {"hello": run.Load("/hello/world"), "post": run.POST_LOAD}


def callgrind(command: list[str]) -> list[str]:
    """``command`` under callgrind with randomization off (output file discarded)."""
    return [
        *("setarch", os.uname().machine, "-R"),
        *("valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"),
        *command,
    ]


def collected(log: str) -> int:
    match = re.search(r"Collected : (\d+)", log)
    if match is None:
        raise run.BenchmarkError(f"no callgrind total in:\n{log[-2000:]}")
    return int(match.group(1))


def environment() -> dict[str, str]:
    return {**run.app_environment(), "PYTHONHASHSEED": "0"}


async def send_requests(port: int, n: int, load: run.Load, timeout: float = 300.0) -> None:
    """``n`` keep-alive requests, one after another, each answered right before the next."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise run.BenchmarkError(f"nothing listening on port {port}") from None
            await asyncio.sleep(0.2)
    request = load.request(port)
    try:
        for _ in range(n):
            writer.write(request)
            answer = await asyncio.wait_for(run.read_response(reader), timeout)
            if not load.answered_right(*answer):
                raise run.BenchmarkError(f"port {port} answered {answer!r}")
    finally:
        writer.close()


def count_server(target: str, interface: str, n: int, case: str = "hello") -> int:
    load = SERVER_LOADS.get(case, SERVER_LOADS["hello"])
    return count_uvicorn(target, interface, lambda port: send_requests(port, n, load))


def count_uvicorn(
    target: str,
    interface: str,
    drive: Callable[[int], Coroutine[Any, Any, None]],
    env: dict[str, str] | None = None,
) -> int:
    """The instructions of uvicorn serving ``target`` while ``drive(port)`` loads it."""
    port = run.free_port()
    command = callgrind(run.uvicorn_command(target, interface, port))
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(command, cwd=ROOT, env=env or environment(), stdout=log, stderr=log)
        try:
            asyncio.run(drive(port))
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(120)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.seek(0)
        return collected(log.read().decode(errors="replace"))


def count_inproc(label: str, n: int, case: str = "hello") -> int:
    command = [sys.executable, "-m", "benchmarks.count", "--case", case, "--loop", label, str(n)]
    done = subprocess.run(
        callgrind(command), cwd=ROOT, env=environment(), capture_output=True, text=True
    )
    if done.returncode:
        raise run.BenchmarkError(f"{label}: in-process loop failed:\n{done.stderr[-2000:]}")
    return collected(done.stderr)


#: In-process cases: the route prefix and the answer each app must give
#: (``typed``: the POST of benchmarks/apps/typed_post.py, its own apps).
CASES: dict[str, bytes | dict[str, Any]] = {
    "hello": BODY,
    "json": {"hello": "world"},
    "post": run.POST_ANSWER,
    "typed": {},
    "mount": BODY,
}


def case_labels(case: str) -> list[str]:
    if case == "typed":
        from benchmarks.apps import typed_post

        return list(typed_post.FRAMEWORKS)
    if case == "mount":
        import trane

        return [entry.name for entry in run.mount_entries(trane)]
    return list(run.SERVED)


async def loop(label: str, n: int, case: str = "hello") -> None:
    """The in-process request loop that ``count_inproc`` runs under callgrind."""
    import trane

    if case == "typed":
        found = run.typed_entries()
    elif case == "mount":
        found = run.mount_entries(trane)
    else:
        found = await run.framework_entries(trane, case, CASES[case])
    entry = {e.name: e for e in found}[label]
    await run.check(entry)
    await entry.run(n, entry.scopes, entry.receive, run.send_nothing)


def count_fanout(label: str, members: int, events: int) -> int:
    command = [sys.executable, "-m", "benchmarks.count", "--fanout-loop", label, str(members)]
    command.append(str(events))
    done = subprocess.run(
        callgrind(command), cwd=ROOT, env=environment(), capture_output=True, text=True
    )
    if done.returncode:
        raise run.BenchmarkError(f"{label}: fan-out loop failed:\n{done.stderr[-2000:]}")
    return collected(done.stderr)


async def fan_clients(port: int, members: int, events: int, timeout: float = 600.0) -> None:
    """``members`` websockets clients of ``/fan``, then ``events`` group_sends via ``/pub``."""
    from websockets.asyncio.client import connect

    deadline = time.monotonic() + timeout
    while True:
        try:
            publisher = await connect(f"ws://127.0.0.1:{port}/pub", compression=None)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise run.BenchmarkError(f"nothing listening on port {port}") from None
            await asyncio.sleep(0.2)
    clients = [
        await connect(f"ws://127.0.0.1:{port}/fan", compression=None) for _ in range(members)
    ]

    async def member(ws: Any) -> None:
        for _ in range(events):
            await ws.recv()

    try:
        await publisher.send(f"{events} fan-out")
        await asyncio.wait_for(asyncio.gather(*(member(ws) for ws in clients)), timeout)
        if await asyncio.wait_for(publisher.recv(), timeout) != f"sent {events}":
            raise run.BenchmarkError(f"the publisher on port {port} answered wrongly")
    finally:
        for ws in [*clients, publisher]:
            await ws.close()


def count_fanout_server(label: str, members: int, events: int) -> int:
    """The uvicorn process serving ``label``'s fan-out app to real clients (``--server``)."""
    from benchmarks.fanout import APPS

    env = {**environment(), "FANOUT_LAYER": "memory"}
    return count_uvicorn(*APPS[label], lambda port: fan_clients(port, members, events), env)


def per_event(label: str, members: int, events: int, server: bool = False) -> float:
    """Instructions per event delivered: ``events`` and ``5 * events`` group_sends."""
    count = count_fanout_server if server else count_fanout
    with ThreadPoolExecutor(2) as pool:
        small, large = pool.map(lambda m: count(label, members, m), [events, 5 * events])
    return (large - small) / (4 * events * members)


def per_request(label: str, server: bool, n: int, case: str = "hello") -> float:
    def count(requests: int) -> int:
        if server:
            return count_server(*run.SERVED[label], requests, case)
        return count_inproc(label, requests, case)

    with ThreadPoolExecutor(2) as pool:
        small, large = pool.map(count, [n, 5 * n])
    return (large - small) / (4 * n)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", action="store_true", help="under uvicorn, not in-process")
    parser.add_argument("--apps", help="comma list of labels (default: every app)")
    parser.add_argument("--requests", type=int, default=300, help="N (default 300)")
    parser.add_argument(
        "--case",
        choices=sorted(CASES),
        default="hello",
        help="hello (default), json, post, typed or mount (their own apps); --server: hello, post",
    )
    parser.add_argument(
        "--fanout",
        action="store_true",
        help="in-process WebSocket group fan-out: trane vs Channels' consumer, per event",
    )
    parser.add_argument("--members", type=int, default=100, help="--fanout: members (100)")
    parser.add_argument("--loop", nargs=2, metavar=("LABEL", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--fanout-loop", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.loop:
        asyncio.run(loop(args.loop[0], int(args.loop[1]), args.case))
        return 0
    if args.fanout_loop:
        return fanout_loop(*args.fanout_loop)
    missing = [tool for tool in ("valgrind", "setarch") if shutil.which(tool) is None]
    if missing:
        print(f"needs {' and '.join(missing)}: apt-get install valgrind util-linux")
        return 2
    if args.fanout:
        return fanout_main(args.members, args.requests // 10 or 1, args.server)
    known = case_labels(args.case) if not args.server else list(run.SERVED)
    labels = args.apps.split(",") if args.apps else known
    unknown = [label for label in labels if label not in known]
    if unknown:
        parser.error(f"unknown app(s) {unknown}; choose from {known}")
    mode = "server" if args.server else "inproc"
    baseline = {"typed": run.TYPED_BASELINE, "mount": run.MOUNT_BASELINE}.get(
        args.case, BASELINES[mode]
    )
    if baseline not in labels:
        labels.append(baseline)
    counts = {}
    for label in labels:
        counts[label] = per_request(label, args.server, args.requests, args.case)
        print(f"  {label}: {counts[label]:,.0f} instructions/request", flush=True)
    where = "under uvicorn (server process)" if args.server else "in-process"
    if args.case == "post":
        request = "POST /post (300 B JSON)"
    elif args.case == "typed":
        request = "POST /items"
    elif args.case == "mount":
        request = "GET /api/hello/world"
    else:
        request = "GET /hello/world" if args.server else f"GET /{args.case}/world"
    print(f"\n== instructions per {request}, {where}, N={args.requests} ==")
    print(f"{'app':24s} {'instr/req':>10s}   {baseline}'s count ÷ the app's")
    for label, value in counts.items():
        print(f"{label:24s} {value:10,.0f}   {counts[baseline] / value:.3f}x")
    return 0


def fanout_loop(label: str, members: str, events: str) -> int:
    """The fan-out round ``count_fanout`` runs under callgrind (uvloop, as the runner)."""
    sys.modules.setdefault("benchmarks.run", run)
    from benchmarks import fanout

    try:
        import uvloop

        uvloop.run(fanout.count_loop(label, int(members), int(events)))
    except ImportError:
        asyncio.run(fanout.count_loop(label, int(members), int(events)))
    return 0


def fanout_main(members: int, events: int, server: bool = False) -> int:
    from benchmarks.fanout import CHANNELS, TRANE

    counts = {}
    for label in (TRANE, CHANNELS):
        counts[label] = per_event(label, members, events, server)
        print(f"  {label}: {counts[label]:,.0f} instructions/event", flush=True)
    where = f"the uvicorn process, {members} websockets clients" if server else "in-process"
    print(f"\n== instructions per event delivered, fan-out, {where} ==")
    print(f"{'connection loop':36s} {'instr/event':>11s}   {CHANNELS}'s count ÷ the loop's")
    for label, value in counts.items():
        print(f"{label:36s} {value:11,.0f}   {counts[CHANNELS] / value:.3f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
