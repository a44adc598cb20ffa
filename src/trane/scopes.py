"""What an app does with a scope type it does not serve.

How this works
--------------
An HTTP-only app (a view class, ``StaticFiles``) served on its own still gets
the server's other scopes: ``lifespan`` completes with nothing to do, and a
``websocket`` is closed before accept, which servers answer with a 403. A
scope type trane does not know is an error, as the ASGI spec asks: the app
raises ``ValueError`` and the server carries on without it.
"""

from __future__ import annotations

from .lifespan import serve_trivial_lifespan
from .types import Receive, Send


def unknown_scope(kind: object) -> ValueError:
    """The error for a scope type trane does not serve."""
    return ValueError(
        f"unknown ASGI scope type {kind!r}: trane serves 'http', 'websocket' and 'lifespan'"
    )


async def serve_other_scope(kind: str, receive: Receive, send: Send) -> None:
    """Answer a ``lifespan`` or ``websocket`` scope; raise on any other type."""
    if kind == "lifespan":
        await serve_trivial_lifespan(receive, send)
    elif kind == "websocket":
        await send({"type": "websocket.close", "code": 1000})
    else:
        raise unknown_scope(kind)
