"""Raw ASGI 3 single-callable: the floor for an ASGI 3 app."""

from __future__ import annotations

import json
from typing import Any

from benchmarks.apps import Receive, Send, lifespan, post_answer

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
    elif path == "/post":
        body = json.dumps(post_answer(json.loads(await read_body(receive)))).encode()
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


async def read_body(receive: Receive) -> bytes:
    """The whole request body (the raw apps' way: join the chunks)."""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)
