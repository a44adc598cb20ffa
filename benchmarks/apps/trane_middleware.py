"""trane's hello app with 0, 1 and 5 trivial pure-ASGI middleware, and the floor.

``Passthrough`` is the smallest ASGI 3 middleware there is: one coroutine
that awaits the app it wraps. The same 5 are declared on the router and on the
view class, each served both ways (the bare router as ASGI 2, as uvicorn's
``--interface asgi2`` calls it, and ``trane.as_asgi3(router)``), and wrapped
by hand around ``trane.as_asgi3(router)`` (the only way before
``trane.Middleware``); around the raw ASGI 3 function they give the
middleware's own cost, which trane's cost is measured against.
"""

from __future__ import annotations

from typing import Any

import benchmarks.apps  # noqa: F401  (puts src/ on sys.path if needed)
import trane
from benchmarks.apps import raw_asgi3
from benchmarks.apps.trane_app import Hello
from trane import Middleware


class Passthrough:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


ONE = [Middleware(Passthrough)]
FIVE = [Middleware(Passthrough) for _ in range(5)]


class LayeredHello(Hello):
    middleware = FIVE


def by_hand(app: Any, layers: int) -> Any:
    for _ in range(layers):
        app = Passthrough(app)
    return app


def router(middleware: list[Middleware] | None = None, view: type = Hello) -> trane.Router:
    return trane.Router([trane.Route("/hello/{name}", view)], middleware=middleware or [])


router0 = router()
router1 = router(ONE)
router5 = router(FIVE)
router_class5 = router(view=LayeredHello)
app0, app1, app5, app_class5 = (
    trane.as_asgi3(r) for r in (router0, router1, router5, router_class5)
)
hand5 = by_hand(trane.as_asgi3(router0), 5)
raw3 = raw_asgi3.app
raw3_1 = by_hand(raw_asgi3.app, 1)
raw3_5 = by_hand(raw_asgi3.app, 5)
