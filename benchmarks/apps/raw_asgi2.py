"""Raw ASGI 2 double-callable class: ``App(scope)(receive, send)``.

The floor for the calling convention trane uses (baseline for server runs).
"""

from __future__ import annotations

import json
from typing import Any

from benchmarks.apps import Receive, Send, lifespan, post_answer
from benchmarks.apps.raw_asgi3 import JSON_HEADERS, TEXT_HEADERS, read_body


class App:
    def __init__(self, scope: dict[str, Any]) -> None:
        self.scope = scope

    async def __call__(self, receive: Receive, send: Send) -> None:
        scope = self.scope
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


app = App
