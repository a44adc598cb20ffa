"""Apps for ``python -m trane check`` tests: one broken the usual ways, and oddities.

``broken`` is a 2018-style ASGI 2 app with the mistakes the checker is for:
it edits the scope it was given, sends a str status and body and a
mixed-case header, sends before accepting a WebSocket, forgets to answer
lifespan.shutdown, and ignores a scope type it does not know.
"""

from __future__ import annotations

from trane.types import Receive, Scope, Send


class Broken:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def __call__(self, receive: Receive, send: Send) -> None:
        kind = self.scope["type"]
        if kind == "lifespan":
            await receive()
            await send({"type": "lifespan.startup.complete"})
            await receive()
            return  # lifespan.shutdown never answered
        if kind == "http":
            self.scope["root_path"] = "/app"  # should be a copy
            await send(
                {
                    "type": "http.response.start",
                    "status": "200",
                    "headers": [(b"Content-Type", b"text/plain")],
                }
            )
            await send({"type": "http.response.body", "body": "hello"})
        elif kind == "websocket":
            await send({"type": "websocket.send", "text": "hi"})
        # Any other scope type: silently ignored instead of rejected.


broken = Broken

not_an_app = 42


async def fine(scope: Scope, receive: Receive, send: Send) -> None:
    """A small correct ASGI 3 app: HTTP only, rejects everything else."""
    if scope["type"] != "http":
        raise ValueError(f"unsupported scope type {scope['type']!r}")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"fine"})
