"""Route matching against hostile paths: is the cost linear in the path's length?

How this works
--------------
A template with several parameters in one segment (``/{y}-{m}-{d}``) used to
compile to adjacent ``[^/]+`` groups run by ``re``; a path of dashes that
ends so the match fails made it backtrack: O(n^3) for three parameters,
O(n^4) for four. For each template below this times ``router(scope)`` (the
whole dispatch, as a server calls it) on such a path of 1, 4 and 16 KiB,
each in a child process with a time limit, so a version that backtracks
is reported as ``> limit`` instead of hanging the run. Linear matching shows
as roughly 4x per step from 1 to 4 to 16 KiB; quadratic as 16x, cubic as 64x.

    python -m benchmarks.route_redos               # the trane that `import trane` finds
    python -m benchmarks.route_redos --limit 10    # seconds per case (default 30)
    PYTHONPATH=/other/checkout/src python -m benchmarks.route_redos   # another version

Not part of the test suite. Figures: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python benchmarks/route_redos.py`
    sys.path.insert(0, str(ROOT))

import benchmarks.apps  # noqa: E402, F401  (makes `import trane` work from src/)

#: template: the hostile path for n bytes; each fails to match only at its end.
CASES = {
    "/{name}.{ext}": lambda n: "/" + "." * n + "/",
    "/{y}-{m}-{d}": lambda n: "/" + "-" * n + "/",
    "/{a}-{b}-{c}-{d}": lambda n: "/" + "-" * n + "/",
    # One segment: the split runs to the end, both ways, before the int refuses.
    "/{a}-{b}-{c}-{n:int}": lambda n: "/" + "-" * n + "x",
    "/f/{p:path}.{a}-{b}": lambda n: "/f/" + ".-" * (n // 2) + "/",
}
SIZES = [1024, 4096, 16384]


def time_one(template: str, size: int) -> float:
    """Seconds per ``router(scope)`` for ``template`` and its hostile path of ``size`` bytes."""
    import trane

    class View(trane.Application):
        async def get(self) -> str:
            return ""

    router = trane.Router([trane.Route(template, View)])
    path = CASES[template](size)
    scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "headers": []}
    rounds, elapsed = 0, 0.0
    while elapsed < 0.2:  # at least one round, and 0.2 s of them when they are fast
        start = time.perf_counter()
        view = router(dict(scope))
        elapsed += time.perf_counter() - start
        rounds += 1
        if type(view).__name__ != "_NotFound":
            raise SystemExit(f"{template} matched its hostile path {path[:40]!r}...")
    return elapsed / rounds


def measure(template: str, size: int, limit: float) -> float | None:
    """``time_one`` in a child process; None when it took longer than ``limit`` seconds."""
    command = [sys.executable, "-m", "benchmarks.route_redos", "--one", template, str(size)]
    try:
        done = subprocess.run(
            command,
            cwd=ROOT,
            env=dict(os.environ),
            capture_output=True,
            text=True,
            timeout=limit,
            check=True,
        )
    except subprocess.TimeoutExpired:
        return None
    return float(done.stdout)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=float, default=30.0, help="seconds per case")
    parser.add_argument("--one", nargs=2, metavar=("TEMPLATE", "BYTES"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(time_one(args.one[0], int(args.one[1])))
        return
    import trane

    print(f"trane from {Path(trane.__file__).parent}, Python {sys.version.split()[0]}")
    print("| template | " + " | ".join(f"{size // 1024} KiB" for size in SIZES) + " |")
    print("|---" * (len(SIZES) + 1) + "|")
    for template in CASES:
        cells: list[str] = []
        for size in SIZES:
            # A smaller path that ran out of time: this one would too.
            slow = cells and cells[-1].startswith(">")
            seconds = None if slow else measure(template, size, args.limit)
            cells.append(f"> {args.limit:g} s" if seconds is None else f"{seconds * 1e3:.3f} ms")
            print(f"  {template} {size}: {cells[-1]}", file=sys.stderr, flush=True)
        print(f"| `{template}` | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
