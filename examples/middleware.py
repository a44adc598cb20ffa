"""Middleware: sessions, CORS for an API, GZip, request ids and security headers.

The ecosystem's middleware do the cross-cutting work; trane composes them:

* on the ``Router`` (every request, 404s too): a request id
  (asgi-correlation-id), GZip, and signed-cookie sessions (Starlette);
* on the ``Api`` family of views, as a class attribute every subclass
  inherits: CORS for the front-end's origin;
* with no middleware at all: security headers for every response of the
  ``Site`` family (error pages, 405s and automatic OPTIONS answers included),
  from its ``on_response()`` hook.

Needs ``pip install 'trane[middleware]'``. Serve it with
``python -m trane serve examples.middleware:app`` and try::

    curl -i http://127.0.0.1:8000/                         # security headers, x-request-id
    curl -i -c jar -d 'name=ada&password=lovelace' http://127.0.0.1:8000/login
    curl -i -b jar http://127.0.0.1:8000/private           # only for logged-in users
    curl -i -H 'origin: http://localhost:3000' http://127.0.0.1:8000/api/items
    curl -s --compressed -H 'accept-encoding: gzip' -o /dev/null -w '%{size_download}\\n' \\
         http://127.0.0.1:8000/api/items                     # gzipped over 500 bytes
"""

from __future__ import annotations

import hmac
import html
import logging
import os
from typing import Any

from asgi_correlation_id import CorrelationIdFilter, CorrelationIdMiddleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware

import trane
from trane import Middleware

#: Sign the session cookie with a real secret in production (and https_only=True).
SECRET = os.environ.get("SESSION_SECRET", "change-me-in-production")
#: The origin of the front-end allowed to call the API from a browser.
FRONTEND = os.environ.get("FRONTEND_ORIGIN", "http://localhost:3000")
USERS = {"ada": "lovelace", "grace": "hopper"}  # a stand-in for a user table

# Every record of the ``trane`` logger (errors included) carries the request id.
_handler = logging.StreamHandler()
_handler.addFilter(CorrelationIdFilter())
_handler.setFormatter(logging.Formatter("%(levelname)s [%(correlation_id)s] %(message)s"))
logging.getLogger("trane").addHandler(_handler)


class Site(trane.Application):
    """The root of every view here: security headers on all its responses."""

    def on_response(self, status: int, headers: trane.MutableHeaders) -> int | None:
        # Called as each response starts, whatever sent it: no middleware needed.
        headers.setdefault("x-content-type-options", "nosniff")
        headers.setdefault("x-frame-options", "DENY")
        headers.setdefault("referrer-policy", "same-origin")
        headers.setdefault("content-security-policy", "default-src 'self'")
        return None

    @property
    def current_user(self) -> str | None:
        user: str | None = self.session.get("user")  # SessionMiddleware's scope["session"]
        return user


class NotFound(Site):
    """The router's 404 page, so it gets the headers too."""

    def dispatch(self) -> Any:  # every method: 404, never a 405
        raise trane.HTTPError(404)


class Home(Site):
    async def get(self) -> trane.HTMLResponse:
        user = self.current_user
        if user is None:
            body = (
                '<form method="post" action="/login">'
                '<input name="name"> <input name="password" type="password">'
                "<button>Log in</button></form>"
            )
        else:
            body = (
                f"<p>Hello, {html.escape(user)}! <a href='/private'>Your page</a></p>"
                '<form method="post" action="/logout"><button>Log out</button></form>'
            )
        return trane.HTMLResponse(f"<!doctype html><title>trane</title>{body}")


class Login(Site):
    async def post(self) -> trane.Response:
        form = await self.form()
        name, password = str(form.get("name", "")), str(form.get("password", ""))
        known = USERS.get(name)
        if known is None or not hmac.compare_digest(known, password):
            raise trane.HTTPError(401, "wrong name or password")
        self.session["user"] = name  # saved in the signed cookie by SessionMiddleware
        return trane.RedirectResponse("/private", status=303)


class Logout(Site):
    async def post(self) -> trane.Response:
        self.session.clear()
        return trane.RedirectResponse("/", status=303)


class Private(Site):
    async def prepare(self) -> trane.Response | None:
        if self.current_user is None:  # not logged in: back to the form
            return trane.RedirectResponse("/", status=303)
        return None

    async def get(self) -> str:
        return f"Only for logged-in users: welcome back, {self.current_user}."


class Api(Site):
    """The API family: CORS for the front-end, inherited by every subclass."""

    middleware = [
        Middleware(
            CORSMiddleware,
            allow_origins=[FRONTEND],
            allow_methods=["GET", "POST"],
            allow_headers=["content-type"],
            allow_credentials=True,
        )
    ]


class Items(Api):
    async def get(self) -> dict[str, Any]:
        return {"items": [{"id": i, "name": f"item {i}"} for i in range(50)]}


class Me(Api):
    async def get(self) -> dict[str, Any]:
        return {"user": self.current_user}


router = trane.Router(
    [
        trane.Route("/", Home, name="home"),
        trane.Route("/login", Login, name="login"),
        trane.Route("/logout", Logout, name="logout"),
        trane.Route("/private", Private, name="private"),
        trane.Route("/api/items", Items, name="items"),
        trane.Route("/api/me", Me, name="me"),
    ],
    not_found=NotFound,
    # The first listed is the outermost: the request id covers everything.
    middleware=[
        Middleware(CorrelationIdMiddleware),
        Middleware(GZipMiddleware, minimum_size=500),
        Middleware(SessionMiddleware, secret_key=SECRET, same_site="lax"),
    ],
)
app = trane.as_asgi3(router)
