"""Tiny "hello" apps, one module per framework, each exposing ``app``.

Every HTTP app answers ``GET /hello/{name}`` with ``Hello, {name}!`` (text/plain),
``GET /json/{name}`` with ``{"hello": name}`` and ``POST /post`` (``POST_BODY``,
a 300-byte JSON object) with ``post_answer()`` of the parsed body. trane and
Starlette also answer ``POST /upload`` (multipart: ``upload_answer()``) and
``GET /file`` (``FileResponse`` of the file named by ``$BENCH_FILE``). Server
runs import them as ``uvicorn benchmarks.apps.<module>:app``.

Importing this package makes ``import trane`` work from a source checkout
(``src/`` layout) when trane is not pip-installed.
"""

from __future__ import annotations

import hashlib
import json
import os
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


#: The JSON body of ``POST /post``: 300 bytes, as a small API call carries.
POST_BODY = json.dumps(
    {
        "id": 12345,
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "active": True,
        "score": 98.5,
        "tags": ["math", "engines", "poems", "art"],
        "address": {"street": "12 St James's Square", "city": "London", "zip": "SW1Y 4JH"},
        "items": [{"sku": "A-100", "qty": 2}, {"sku": "B-220", "qty": 1}, {"sku": "C-3", "qty": 7}],
        "note": "Note G",
    },
    separators=(",", ":"),
).encode()
assert len(POST_BODY) == 300, len(POST_BODY)


def post_answer(data: Any) -> dict[str, Any]:
    """What every app answers to ``POST /post``, from the parsed body."""
    return {"id": data["id"], "items": len(data["items"]), "city": data["address"]["city"]}


#: The file ``GET /file`` sends (the runner sets it before starting servers).
FILE_PATH = os.environ.get("BENCH_FILE", "")


def upload_answer(size: int, fields: dict[str, str], digest: str | None) -> dict[str, Any]:
    """What the apps answer to ``POST /upload``: the file's size, the fields, its hash."""
    return {"size": size, "fields": fields, "sha256": digest}


def new_hash() -> Any:
    return hashlib.sha256()
