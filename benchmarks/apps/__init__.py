"""Tiny "hello" apps, one module per framework, each exposing ``app``.

Every HTTP app answers ``GET /hello/{name}`` with ``Hello, {name}!`` (text/plain)
and ``GET /json/{name}`` with ``{"hello": name}``. Server runs import them as
``uvicorn benchmarks.apps.<module>:app``.

Importing this package makes ``import trane`` work from a source checkout
(``src/`` layout) when trane is not pip-installed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

SRC = Path(__file__).resolve().parents[2] / "src"

try:
    import trane  # noqa: F401
except ImportError:  # not installed: fall back to the checkout
    if (SRC / "trane").is_dir() and str(SRC) not in sys.path:
        sys.path.insert(0, str(SRC))

Message = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[Message], Any]


async def lifespan(receive: Receive, send: Send) -> None:
    """Minimal lifespan handler for the raw apps (so uvicorn logs no errors)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
