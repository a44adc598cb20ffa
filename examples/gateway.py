"""A legacy ASGI 2 app behind trane views that check first, then delegate.

``LegacyAPI`` is written against the ASGI 2 spec and knows nothing of
trane. The views in front of it authenticate (a base class shared by
inheritance), verify a body signature, and then hand the connection on with
``return await self.delegate(LegacyAPI)``::

    python -m trane serve examples.gateway:app
    curl -H 'authorization: Bearer s3cret' http://127.0.0.1:8000/legacy/any/where
    curl -H 'authorization: Bearer s3cret' -d 'hello' http://127.0.0.1:8000/legacy/echo
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import trane
from trane.types import Receive, Scope, Send

TOKEN = "s3cret"
SIGNING_KEY = b"signing key"


class LegacyAPI:
    """An ASGI 2 class app: HTTP answers what it saw; WebSockets echo."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def __call__(self, receive: Receive, send: Send) -> None:
        if self.scope["type"] == "websocket":
            await self.echo(receive, send)
            return
        digest = hashlib.sha256()
        length = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            digest.update(chunk)
            length += len(chunk)
            if not message.get("more_body", False):
                break
        seen = {
            "method": self.scope["method"],
            "path": self.scope["path"],
            "root_path": self.scope.get("root_path", ""),
            "query": self.scope["query_string"].decode("latin-1"),
            "path_params": self.scope.get("path_params"),
            "length": length,
            "sha256": digest.hexdigest(),
        }
        reply = json.dumps(seen).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(reply)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": reply})

    async def echo(self, receive: Receive, send: Send) -> None:
        message = await receive()
        assert message["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") == "bye":
                await send({"type": "websocket.close", "code": 4000})
                return
            await send({"type": "websocket.send", "text": f"legacy: {message.get('text')}"})


class Authenticated(trane.Application):
    """Shared by inheritance: every request needs the bearer token."""

    async def prepare(self) -> Any:
        if self.headers.get("authorization") != f"Bearer {TOKEN}":
            raise trane.HTTPError(401, headers={"www-authenticate": "Bearer"})


class LegacyGate(Authenticated):
    """Any method under /legacy/: checked here, answered by the legacy app."""

    async def dispatch(self) -> Any:
        await self.prepare()
        self.set_cookie("gateway", "passed")  # joins the legacy app's response
        return await self.delegate(LegacyAPI)


class SignedUpload(Authenticated):
    """POSTs whose body must carry a valid signature before the legacy app sees it."""

    async def post(self, rest: str) -> Any:
        body = await self.body()  # read here; replayed to the legacy app in full
        expected = hmac.new(SIGNING_KEY, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(self.headers.get("x-signature", ""), expected):
            raise trane.HTTPError(403, "bad signature")
        return await self.delegate(LegacyAPI)


class LegacySocket(trane.WebSocketApplication):
    """A WebSocket checked here, then served by the legacy app."""

    async def connect(self) -> None:
        if self.headers.get("authorization") != f"Bearer {TOKEN}":
            await self.deny(401)
            return
        await self.delegate(LegacyAPI)


router = trane.Router(
    [
        trane.Route("/legacy/{rest:path}", LegacyGate),
        trane.Route("/signed/{rest:path}", SignedUpload),
        trane.WebSocketRoute("/ws/{rest:path}", LegacySocket),
    ]
)

app = trane.as_asgi3(router)
