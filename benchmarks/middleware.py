"""What trane.Middleware costs per request, in instructions (callgrind).

How this works
--------------
The hello request (``GET /hello/world``, in-process, called the way
uvicorn calls each app) is counted with ``benchmarks.count``'s method:
``valgrind --tool=callgrind`` with randomization off, N and 5N requests,
``(count(5N) - count(N)) / 4N`` per request. The apps (see
``benchmarks/apps/trane_middleware.py``):

* the router with 0, 1 and 5 trivial pure-ASGI middleware (``Passthrough``)
  and the same 5 declared on the view class, called as ASGI 2 (the bare
  router, as uvicorn's ``--interface asgi2`` calls it) and through
  ``trane.as_asgi3(router)`` (as ``python -m trane serve`` serves it);
* the same 5 wrapped by hand around ``trane.as_asgi3(router)``;
* the raw ASGI 3 function bare and inside 1 and 5 of them: the difference
  is the middleware's own code.

What trane adds on top of the middleware's own code is then, e.g.,
``router + 5 - router - (raw + 5 - raw)``: the last column.

    python -m benchmarks.middleware                 # about 2 minutes on 2 cores
    python -m benchmarks.middleware --requests 500

Needs valgrind and setarch, like ``benchmarks.count``. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python benchmarks/middleware.py`
    sys.path.insert(0, str(ROOT))

from benchmarks import count, run  # noqa: E402

ROUTER, APP, RAW = "router, no middleware", "as_asgi3(router), no middleware", "raw ASGI 3 function"

#: label -> (attribute of benchmarks.apps.trane_middleware, ASGI 2 or 3,
#: the same app without middleware, how many Passthrough layers)
APPS: dict[str, tuple[str, int, str, int]] = {
    ROUTER: ("router0", 2, ROUTER, 0),
    "router + 1 middleware": ("router1", 2, ROUTER, 1),
    "router + 5 middleware": ("router5", 2, ROUTER, 5),
    "router, 5 on the class": ("router_class5", 2, ROUTER, 5),
    APP: ("app0", 3, APP, 0),
    "as_asgi3(router + 1)": ("app1", 3, APP, 1),
    "as_asgi3(router + 5)": ("app5", 3, APP, 5),
    "as_asgi3(router), 5 on class": ("app_class5", 3, APP, 5),
    "5 by hand around as_asgi3": ("hand5", 3, APP, 5),
    RAW: ("raw3", 3, RAW, 0),
    "raw ASGI 3 + 1 middleware": ("raw3_1", 3, RAW, 1),
    "raw ASGI 3 + 5 middleware": ("raw3_5", 3, RAW, 5),
}


def entry(label: str) -> run.Entry:
    from benchmarks.apps import trane_middleware

    attribute, version, _, _ = APPS[label]
    app: Any = getattr(trane_middleware, attribute)
    runner = run.asgi2_runner(app) if version == 2 else run.asgi3_runner(app)
    return run.Entry(label, runner, [run.http_scope("/hello/world")], count.BODY)


async def loop(label: str, n: int) -> None:
    """The request loop counted under callgrind."""
    chosen = entry(label)
    await run.check(chosen)
    await chosen.run(n, chosen.scopes, run.receive_empty, run.send_nothing)


def per_request(label: str, n: int) -> float:
    def counted(requests: int) -> int:
        command = [sys.executable, "-m", "benchmarks.middleware", "--loop", label, str(requests)]
        done = subprocess.run(
            count.callgrind(command),
            cwd=ROOT,
            env=count.environment(),
            capture_output=True,
            text=True,
        )
        if done.returncode:
            raise run.BenchmarkError(f"{label}: loop failed:\n{done.stderr[-2000:]}")
        return count.collected(done.stderr)

    with ThreadPoolExecutor(2) as pool:
        small, large = pool.map(counted, [n, 5 * n])
    return (large - small) / (4 * n)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="N (default 300)")
    parser.add_argument("--loop", nargs=2, metavar=("LABEL", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.loop:
        asyncio.run(loop(args.loop[0], int(args.loop[1])))
        return 0
    missing = [tool for tool in ("valgrind", "setarch") if shutil.which(tool) is None]
    if missing:
        print(f"needs {' and '.join(missing)}: apt-get install valgrind util-linux")
        return 2
    counts = {}
    for label in APPS:
        counts[label] = per_request(label, args.requests)
        print(f"  {label}: {counts[label]:,.0f} instructions/request", flush=True)
    own = {1: counts["raw ASGI 3 + 1 middleware"] - counts[RAW]}
    own[5] = counts["raw ASGI 3 + 5 middleware"] - counts[RAW]
    print(f"\n== instructions per GET /hello/world, in-process, N={args.requests} ==")
    print(f"{'app':30s} {'instr/req':>10s} {'vs no middleware':>17s} {'trane adds':>11s}")
    for label, value in counts.items():
        _, _, base, layers = APPS[label]
        added = f"{value - counts[base] - own[layers]:+11,.0f}" if layers and base != RAW else ""
        print(f"{label:30s} {value:10,.0f} {value - counts[base]:+17,.0f} {added}")
    print(f"\nthe middleware's own code (raw ASGI 3 + k - raw): 1: {own[1]:,.0f}, 5: {own[5]:,.0f}")
    print("trane adds: the app - the same app without middleware - the middleware's own code")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
