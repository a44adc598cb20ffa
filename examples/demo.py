"""The README's demo app: class-based views, streaming, a legacy mount.

Serve it with ``python -m trane serve examples.demo:app`` and try::

    curl http://127.0.0.1:8000/hello/world
    curl -X POST -H 'content-type: application/json' -d '{"a": 1}' http://127.0.0.1:8000/items
    curl -N 'http://127.0.0.1:8000/count/3?delay=0.5'
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import trane
from trane.types import Receive, Scope, Send


class Home(trane.Application):
    async def get(self) -> trane.HTMLResponse:
        hello = self.url_for("hello", name="world")
        return trane.HTMLResponse(
            f'<!doctype html><title>trane</title><h1>trane demo</h1><a href="{hello}">{hello}</a>'
        )


class Hello(trane.Application):
    # Path parameters arrive as keyword arguments, already converted.
    async def get(self, name: str) -> str:
        return f"Hello, {name}!"


class Items(trane.Application):
    max_body_size = 64 * 1024  # a larger body is answered with 413

    async def post(self) -> trane.JSONResponse:
        item = await self.json()  # 400 on bad JSON
        return trane.JSONResponse({"item": item, "visits": self._visit()}, status=201)

    def _visit(self) -> int | None:  # a helper: never dispatched to, whatever the method
        # Servers hand each request a shallow copy of the lifespan state, so
        # `self.state.visits += 1` would count on the copy and be lost; the
        # counter is an object made at startup, shared by every copy.
        if "visits" not in self.state:  # no lifespan ran (daphne runs none)
            return None
        visits: Iterator[int] = self.state.visits
        return next(visits)


class Count(trane.Application):
    # Imperative style: each send() is streamed to the client as it happens;
    # ?delay=0.2 pauses between lines so you can watch them arrive.
    async def get(self, n: int) -> None:
        try:
            delay = min(float(self.query.get("delay", "0")), 1.0)
        except ValueError:
            raise trane.HTTPError(400, "delay must be a number of seconds") from None
        for i in range(n):
            if i and delay > 0:
                await asyncio.sleep(delay)
            await self.send(f"count {i}\n")
        await self.finish()


class Info(trane.Application):
    async def get(self) -> dict[str, Any]:
        # Daphne runs no lifespan, so "started" is only there on servers that do.
        return {"started": "started" in self.state, "query": dict(self.query)}


class LegacyApp:
    """A 2018-style ASGI 2 app, mounted as it is."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def __call__(self, receive: Receive, send: Send) -> None:
        body = f"legacy at {self.scope['root_path']} saw {self.scope['path']}".encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain")],
            }
        )
        await send({"type": "http.response.body", "body": body})


@asynccontextmanager
async def lifespan(app: trane.Router) -> AsyncIterator[dict[str, Any]]:
    # Reaches every view as self.state; the counter is shared, not copied.
    yield {"started": True, "visits": itertools.count(1)}


router = trane.Router(
    [
        trane.Route("/", Home),
        trane.Route("/hello/{name}", Hello, name="hello"),
        trane.Route("/items", Items),
        trane.Route("/count/{n:int}", Count),
        trane.Route("/info", Info),
        trane.Mount("/legacy", LegacyApp),
    ],
    lifespan=lifespan,
)

app = trane.as_asgi3(router)
