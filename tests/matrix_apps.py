"""The apps of the compatibility matrix (test_matrix.py), fitted to each caller.

Five apps, the ways an ASGI app can be written, and eight callers (six
servers, two routers served by uvicorn). ``fit(app, caller)`` gives the app
as that caller needs it: as it is when ``trane.check`` says the caller
reads it right, else through ``trane.as_asgi3`` (or ``as_asgi2`` for a
caller that only calls ASGI 2). Every fitted app is a module attribute named
``<app>__<caller key>`` so servers can import it by name; the two routers
mount all five apps in one process each.
"""

from __future__ import annotations

import os
from typing import Any

from examples.legacy import LegacyApp

import trane
from trane import check
from trane.types import Receive, Scope, Send

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "examples.channels_site.settings")


class RoutedHello(trane.Application):
    async def get(self) -> str:
        return "trane router"


class View(trane.Application):
    """A trane view class served on its own, without a Router."""

    async def get(self) -> str:
        return "trane view"


router = trane.Router([trane.Route("/x", RoutedHello)])


class StopConsumer(Exception):
    """How a Channels 2 consumer said it was done."""


class Consumer:
    """What a Channels 2 ``AsyncHttpConsumer`` was underneath: an ASGI 2 class
    that dispatches each received message to the method named by its type."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.body: list[bytes] = []

    async def __call__(self, receive: Receive, send: Send) -> None:
        self.base_send = send
        try:
            while True:
                message = await receive()
                handler = getattr(self, message["type"].replace(".", "_"), None)
                if handler is None:  # lifespan too: Channels 2 knew nothing of it
                    raise ValueError(f"no handler for message type {message['type']!r}")
                await handler(message)
        except StopConsumer:
            pass

    async def http_request(self, message: dict[str, Any]) -> None:
        self.body.append(message.get("body", b""))
        if not message.get("more_body"):
            await self.base_send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"text/plain")],
                }
            )
            await self.base_send({"type": "http.response.body", "body": b"channels 2 consumer"})
            raise StopConsumer

    async def http_disconnect(self, message: dict[str, Any]) -> None:
        raise StopConsumer


async def asgi3(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        raise ValueError(f"unsupported scope type {scope['type']!r}")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"asgi3 function"})


APPS: dict[str, Any] = {
    "router": router,
    "view": View,
    "legacy": LegacyApp,
    "consumer": Consumer,
    "asgi3": asgi3,
}

#: caller key -> the caller's name in trane.check.CALLERS
CALLERS = {
    "uvicorn": "uvicorn (auto)",
    "uvicorn_asgi2": "uvicorn --interface asgi2",
    "daphne": "daphne (command line)",
    "daphne_server": "daphne Server(application=...)",
    "hypercorn": "hypercorn",
    "granian": "granian --interface asgi",
    "channels": "channels URLRouter",
    "starlette": "starlette Mount",
}


def fit(app: Any, caller: str) -> tuple[Any, str]:
    """(the app as ``caller`` needs it, how it was fitted)."""
    row = next(c for c in check.callers(app) if c.name == caller)
    if row.works:
        return app, "as is"
    if row.calls_as == check.ASGI2:
        return trane.as_asgi2(app), "as_asgi2"
    return trane.as_asgi3(app), "as_asgi3"


for _key, _caller in CALLERS.items():
    for _name, _app in APPS.items():
        globals()[f"{_name}__{_key}"] = fit(_app, _caller)[0]


def expected(name: str, path: str) -> str:
    """The body app ``name`` answers to a GET of ``path``."""
    if name == "legacy":
        return f"legacy GET {path}"
    return {
        "router": "trane router",
        "view": "trane view",
        "consumer": "channels 2 consumer",
        "asgi3": "asgi3 function",
    }[name]


def channels_app() -> Any:
    """A Channels URLRouter with each app under ``^<name>/``, the trane Router too
    (it routes on what URLRouter leaves in ``path_remaining``)."""
    import django

    django.setup()
    from channels.routing import URLRouter
    from django.urls import re_path

    caller = CALLERS["channels"]
    return URLRouter([re_path(f"^{name}/", fit(app, caller)[0]) for name, app in APPS.items()])


def starlette_app() -> Any:
    """A Starlette app with each app under Mount("/<name>")."""
    from starlette.applications import Starlette
    from starlette.routing import Mount

    fitted = [Mount(f"/{name}", fit(app, CALLERS["starlette"])[0]) for name, app in APPS.items()]
    return Starlette(routes=fitted)
