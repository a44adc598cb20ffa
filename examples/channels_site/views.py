"""trane views mounted by Channels' URLRouter (see asgi.py).

They read what Channels puts on the scope: ``self.scope["user"]`` from
``AuthMiddlewareStack``, ``self.scope["session"]`` from its session
middleware, and URLRouter's kwargs as ``self.params``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import BACKEND_SESSION_KEY, SESSION_KEY

import trane


class DemoUser:
    """What the toy backend hands out: enough of a user for Channels and us."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, pk: int, username: str) -> None:
        self.pk = self.id = pk
        self.username = username

    def __str__(self) -> str:
        return self.username


USERS = {user.username: user for user in (DemoUser(1, "ada"), DemoUser(2, "grace"))}


class NameBackend:
    """A toy authentication backend: two users, no passwords. Never deploy it."""

    def authenticate(self, request: Any, **credentials: Any) -> None:
        return None

    def get_user(self, user_id: int) -> DemoUser | None:
        return next((u for u in USERS.values() if u.pk == user_id), None)


class Login(trane.Application):
    """POST /login/ada: log in as a demo user (the session middleware sets the cookie)."""

    async def post(self, name: str) -> dict[str, str]:
        user = USERS.get(name)
        if user is None:
            raise trane.HTTPError(404, f"no user {name!r}")
        session = self.scope["session"]
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "examples.channels_site.views.NameBackend"
        return {"logged_in": user.username}


class Whoami(trane.Application):
    async def get(self, room: str) -> dict[str, Any]:
        user = self.scope["user"]
        return {
            "user": str(user),
            "authenticated": bool(user.is_authenticated),
            "room": room,
            "layer": type(trane.get_channel_layer(self.scope)).__module__,
        }


class RoomSocket(trane.WebSocketApplication):
    """A room for logged-in users; the layer is the one in CHANNEL_LAYERS."""

    @property
    def group(self) -> str:
        return f"room.{self.params['room']}"

    async def connect(self) -> None:
        user = self.scope["user"]
        if not user.is_authenticated:
            await self.deny(403)
            return
        await self.group_add(self.group)
        await self.accept()
        await self.send_text(f"hello {user.username}, welcome to {self.params['room']}")

    async def receive_text(self, text: str) -> None:
        user = self.scope["user"]
        await self.group_send(self.group, {"type": "room.message", "text": f"{user}: {text}"})

    async def room_message(self, event: dict[str, Any]) -> None:
        await self.send_text(event["text"])


class NotFound(trane.Application):
    """Channels' URLRouter raises on a path it has no route for: answer 404 instead."""

    async def dispatch(self) -> Any:
        raise trane.HTTPError(404)


class Item(trane.Application):
    """GET /api/items/3: served by a trane Router mounted under a URLRouter prefix."""

    async def get(self, n: int) -> dict[str, Any]:
        return {"item": n, "url": self.url_for("item", n=n), "user": str(self.scope["user"])}


api = trane.Router([trane.Route("/items/{n:int}", Item, name="item")])
