"""Django Channels in front, trane views behind.

``ProtocolTypeRouter`` splits HTTP from WebSocket, ``URLRouter`` picks the
view (its kwargs arrive as ``self.params``) or a trane ``Router`` under a
prefix (it routes on what URLRouter left), and ``AuthMiddlewareStack`` puts
the user on the scope. Each trane class is wrapped by ``trane.as_asgi3``.
Serve it with::

    daphne examples.channels_site.asgi:application
"""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "examples.channels_site.settings")
django.setup()

# Imported after django.setup(): Channels' auth needs the app registry.
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path, re_path  # noqa: E402

import trane  # noqa: E402

from .views import Login, NotFound, RoomSocket, Whoami, api  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": AuthMiddlewareStack(
            URLRouter(
                [
                    path("login/<str:name>", trane.as_asgi3(Login)),
                    path("rooms/<str:room>/whoami", trane.as_asgi3(Whoami)),
                    re_path(r"^api/", trane.as_asgi3(api)),  # a trane Router under a prefix
                    re_path(r"", trane.as_asgi3(NotFound)),
                ]
            )
        ),
        "websocket": AuthMiddlewareStack(
            URLRouter([path("ws/rooms/<str:room>", trane.as_asgi3(RoomSocket))])
        ),
    }
)
