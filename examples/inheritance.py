"""A family of views that share behaviour the Python way: by subclassing.

``JSONView`` renders every error as JSON and carries helpers; ``Authenticated``
adds a token check in ``prepare()``; the concrete views only say what differs.
Serve it with ``python -m trane serve examples.inheritance:app`` and try::

    curl http://127.0.0.1:8000/health
    curl http://127.0.0.1:8000/notes                      # 401, as JSON
    curl -H 'authorization: Bearer s3cret' http://127.0.0.1:8000/notes
    curl -H 'authorization: Bearer s3cret' -H 'content-type: application/json' \\
         -d '{"text": "buy milk"}' http://127.0.0.1:8000/notes
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import trane

TOKENS = {"s3cret": "alice", "r00t": "admin"}
NOTES: dict[int, dict[str, Any]] = {1: {"id": 1, "text": "hello", "owner": "alice"}}


class JSONView(trane.Application):
    """The root of the family: JSON errors and small helpers for everyone."""

    max_body_size = 16 * 1024  # inherited too: every view of the family says 413 past 16 KiB

    async def prepare(self) -> trane.Response | None:
        # Returning a response from prepare() answers early; the verb never runs.
        accept = self.headers.get("accept", "*/*")
        if "json" not in accept and "*/*" not in accept:
            return self._error(406, "this API only speaks JSON")
        return None

    async def handle_error(self, exc: Exception) -> trane.Response:
        # Every subclass renders errors this way, HTTPError or crash alike.
        if isinstance(exc, trane.HTTPError):
            return self._error(exc.status, exc.detail, exc.headers)
        return self._error(500, None)  # the traceback goes to the log, not the client

    def _error(
        self, status: int, detail: str | None, headers: dict[str, str] | None = None
    ) -> trane.JSONResponse:
        # A helper: names starting with "_" are never dispatched to.
        body = {"error": HTTPStatus(status).phrase, "detail": detail}
        return trane.JSONResponse(body, status=status, headers=headers)

    async def _json_object(self, *required: str) -> dict[str, Any]:
        data = await self.json()  # 400 on bad JSON, handled above like any HTTPError
        if not isinstance(data, dict) or any(key not in data for key in required):
            raise trane.HTTPError(422, f"expected an object with {', '.join(required)}")
        return data


class Authenticated(JSONView):
    """Adds a bearer-token check in front of every verb of every subclass."""

    user: str

    async def prepare(self) -> trane.Response | None:
        early = await super().prepare()  # hooks chain like any method
        if early is not None:
            return early
        scheme, _, token = self.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token not in TOKENS:
            raise trane.HTTPError(401, "missing or wrong token", {"WWW-Authenticate": "Bearer"})
        self.user = TOKENS[token]
        return None


class Health(JSONView):  # no auth: it only inherits the JSON errors
    async def get(self) -> dict[str, Any]:
        return {"ok": True}


class Notes(Authenticated):
    async def get(self) -> dict[str, Any]:
        mine = [note for note in NOTES.values() if note["owner"] == self.user]
        return {"user": self.user, "notes": mine}

    async def post(self) -> trane.JSONResponse:
        data = await self._json_object("text")
        id = max(NOTES, default=0) + 1
        note = NOTES[id] = {"id": id, "text": str(data["text"]), "owner": self.user}
        location = self.url_for("note", id=id)
        return trane.JSONResponse(note, status=201, headers={"Location": location})


class Note(Authenticated):
    def _own(self, id: int) -> dict[str, Any]:
        note = NOTES.get(id)
        if note is None or note["owner"] != self.user:
            raise trane.HTTPError(404, f"no note {id}")
        return note

    async def get(self, id: int) -> dict[str, Any]:
        return self._own(id)

    async def delete(self, id: int) -> None:
        del NOTES[self._own(id)["id"]]  # returning None answers 204


class Admin(Authenticated):
    async def prepare(self) -> trane.Response | None:
        early = await super().prepare()
        if early is None and self.user != "admin":
            raise trane.HTTPError(403, "admins only")
        return early

    async def get(self) -> dict[str, Any]:
        return {"notes": len(NOTES)}

    async def post(self) -> None:
        raise RuntimeError("the database is on fire")  # logged; the client sees a JSON 500


router = trane.Router(
    [
        trane.Route("/health", Health),
        trane.Route("/notes", Notes, name="notes"),
        trane.Route("/notes/{id:int}", Note, name="note"),
        trane.Route("/admin", Admin),
    ]
)

app = trane.as_asgi3(router)
