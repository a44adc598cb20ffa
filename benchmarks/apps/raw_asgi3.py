"""Raw ASGI 3 single-callable: the floor for an ASGI 3 app."""

from __future__ import annotations

import json
from typing import Any

from benchmarks.apps import Receive, Send, lifespan

TEXT_HEADERS = [(b"content-type", b"text/plain; charset=utf-8")]
JSON_HEADERS = [(b"content-type", b"application/json")]


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
        return
    path: str = scope["path"]
    if path.startswith("/hello/"):
        body = f"Hello, {path[7:]}!".encode()
        headers = TEXT_HEADERS
    elif path.startswith("/json/"):
        body = json.dumps({"hello": path[6:]}).encode()
        headers = JSON_HEADERS
    else:
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
