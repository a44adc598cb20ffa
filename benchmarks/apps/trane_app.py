"""trane: the hello app as a bare ``Router`` (ASGI 2) and via ``trane.as_asgi3``.

Serve with ``uvicorn benchmarks.apps.trane_app:app --interface asgi2`` or
``uvicorn benchmarks.apps.trane_app:app3 --interface asgi3``.
"""

from __future__ import annotations

import benchmarks.apps  # noqa: F401  (puts src/ on sys.path if needed)
import trane

BIG_BODY = 64 * 1024 * 1024


class Hello(trane.Application):
    async def get(self, name: str) -> str:
        return f"Hello, {name}!"


class HelloJSON(trane.Application):
    async def get(self, name: str) -> dict[str, str]:
        return {"hello": name}


class Body(trane.Application):
    max_body_size = BIG_BODY

    async def post(self) -> str:
        return str(len(await self.body()))


class Stream(trane.Application):
    max_body_size = BIG_BODY

    async def post(self) -> str:
        size = 0
        async for chunk in self.stream():
            size += len(chunk)
        return str(size)


def make_router(filler_routes: int = 0, full: bool = True) -> trane.Router:
    """The hello app; ``filler_routes`` extra ``/route{i}/{name}`` routes come first.

    ``full=False`` leaves out the routes after ``/hello/{name}``.
    """
    routes = [trane.Route(f"/route{i}/{{name}}", Hello) for i in range(filler_routes)]
    routes.append(trane.Route("/hello/{name}", Hello))
    if not full:
        return trane.Router(routes)
    routes += [
        trane.Route("/json/{name}", HelloJSON),
        trane.Route("/body", Body),
        trane.Route("/stream", Stream),
    ]
    return trane.Router(routes)


router = make_router()
app = router
app3 = trane.as_asgi3(router)
