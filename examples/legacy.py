"""A 2018-style ASGI 2 app, unchanged, served by a modern ASGI 3 server.

Before ASGI 3, an app was a class: the server made one instance per
connection with the scope, then awaited ``instance(receive, send)``. Servers
such as hypercorn no longer call apps that way; ``trane.as_asgi3`` wraps the
class so they can::

    python -m hypercorn examples.legacy:app
    python -m trane serve examples.legacy:app --server hypercorn
    curl http://127.0.0.1:8000/anything
    curl -d 'hello' http://127.0.0.1:8000/echo
"""

from __future__ import annotations

import trane
from trane.types import Receive, Scope, Send


class LegacyApp:
    """Written against the ASGI 2 spec: nothing here knows about trane."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope  # one instance per connection, as ASGI 2 had it

    async def __call__(self, receive: Receive, send: Send) -> None:
        if self.scope["type"] == "lifespan":
            # Modern servers probe for lifespan support; say yes, do nothing.
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        assert self.scope["type"] == "http", self.scope["type"]

        # Read the whole body by hand: http.request messages until more_body is False.
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break

        if self.scope["method"] == "POST":
            reply = body
        else:
            reply = f"legacy {self.scope['method']} {self.scope['path']}".encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(reply)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": reply})


# The one trane line: an ASGI 3 callable built on asgiref.compatibility.
app = trane.as_asgi3(LegacyApp)
