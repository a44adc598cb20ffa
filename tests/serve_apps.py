"""Apps for ``python -m trane serve`` under real servers (test_main.py).

``Pid`` is a legacy ASGI 2 class that answers with the id of the process
serving it, so a test can tell worker processes from their supervisor;
``hello3`` is a bare ASGI 3 function.
"""

from __future__ import annotations

import os

from trane.types import Receive, Scope, Send


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        else:
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _reply(send: Send, text: str) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": text.encode()})


class Pid:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def __call__(self, receive: Receive, send: Send) -> None:
        if self.scope["type"] == "lifespan":
            return await _lifespan(receive, send)
        return await _reply(send, str(os.getpid()))


async def hello3(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        return await _lifespan(receive, send)
    return await _reply(send, f"hello from ASGI 3 at {scope['path']}")
