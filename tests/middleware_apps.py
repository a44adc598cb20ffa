"""The apps test_middleware_servers.py and test_cors_browser.py serve with real servers.

``app`` mounts one small API per middleware, each with that middleware on its
``Mount``, so one server process shows them all and that each applies only
under its own prefix; ``/report/...`` (outside every mount) hands the tests
what the server process collected (OpenTelemetry spans, log records).
``browser_api`` is the cross-origin API of the browser test: its CORS policy
allows the origin in ``$PAGE_ORIGIN``; ``browser_page`` serves the page.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from asgi_correlation_id import CorrelationIdFilter, CorrelationIdMiddleware
from brotli_asgi import BrotliMiddleware
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    SimpleUser,
)
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.httpsredirect import HTTPSRedirectMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import HTTPConnection as StarletteConnection

import trane
from trane import Middleware, Mount, Route, Router
from trane.middleware import route_template
from trane.types import ASGI3App, Message, Receive, Scope, Send

ALLOWED_ORIGIN = "http://allowed.example"
BIG = "trane " * 200  # 1200 bytes: over GZip's and Brotli's minimum sizes
SMALL = "small"


class Text(trane.Application):
    """Answers with what ``?size=big`` asks for."""

    async def get(self) -> str:
        return BIG if self.query.get("size") == "big" else SMALL

    async def post(self) -> dict[str, Any]:
        return {"posted": (await self.body()).decode()}


class Stream(trane.Application):
    """A streamed body (chunked), big enough to compress."""

    async def get(self) -> None:
        for _ in range(4):
            await self.send(BIG)
        await self.finish()


class Events(trane.Application):
    """``text/event-stream``: GZip must leave it alone."""

    sse_ping_interval = None

    async def get(self) -> None:
        for i in range(3):
            await self.send_event(BIG, id=str(i))
        await self.finish()


def compressible() -> Router:
    return Router([Route("/text", Text), Route("/stream", Stream), Route("/events", Events)])


# -- sessions and authentication ---------------------------------------------------


class Login(trane.Application):
    async def post(self) -> dict[str, Any]:
        form = await self.form()
        self.session["user"] = form["name"]
        return {"logged_in": form["name"]}


class Me(trane.Application):
    async def get(self) -> dict[str, Any]:
        user = self.session.get("user")
        if user is None:
            raise trane.HTTPError(401, "log in first")
        return {"user": user}


class Logout(trane.Application):
    async def post(self) -> dict[str, Any]:
        self.session.clear()
        return {"logged_in": None}


class TokenBackend(AuthenticationBackend):
    """``Authorization: Bearer <name>-token`` is the user ``<name>``."""

    async def authenticate(self, conn: StarletteConnection) -> Any:
        header = conn.headers.get("authorization")
        if header is None:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.endswith("-token"):
            raise AuthenticationError("bad credentials")
        return AuthCredentials(["authenticated"]), SimpleUser(token.removesuffix("-token"))


class Whoami(trane.Application):
    async def get(self) -> dict[str, Any]:
        return {
            "user": self.user.display_name if self.user.is_authenticated else None,
            "scopes": self.auth.scopes,
        }


# -- request ids, tracing ---------------------------------------------------------------


class Records(logging.Handler):
    """Keeps the ``trane`` logger's records, with their correlation ids."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.addFilter(CorrelationIdFilter())
        self.records: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        correlation_id = getattr(record, "correlation_id", None)
        error = str(record.exc_info[1]) if record.exc_info else None
        self.records.append(
            {"message": record.getMessage(), "correlation_id": correlation_id, "error": error}
        )


RECORDS = Records()
logging.getLogger("trane").addHandler(RECORDS)
logging.getLogger("trane").setLevel(logging.INFO)


class Boom(trane.Application):
    async def get(self) -> str:
        logging.getLogger("trane").info("about to fail")
        raise RuntimeError("boom")


SPANS = InMemorySpanExporter()
TRACER_PROVIDER = TracerProvider()
TRACER_PROVIDER.add_span_processor(SimpleSpanProcessor(SPANS))


class User(trane.Application):
    async def get(self, id: int) -> dict[str, Any]:
        if id == 0:
            raise trane.HTTPError(404, "no user 0")
        return {"id": id}


traced = Router([Route("/users/{id:int}", User)])


def span_details(scope: Scope) -> tuple[str, dict[str, Any]]:
    """OpenTelemetry's span name and attributes: by route template, not by path."""
    template = route_template(traced, scope) or scope["path"]
    return f"{scope['method']} {template}", {"http.route": template}


class Report(trane.Application):
    """What this process collected, for the tests to read."""

    async def get(self, what: str) -> Any:
        if what == "spans":
            return [
                {
                    "name": span.name,
                    "kind": span.kind.name,
                    "attributes": dict(span.attributes or {}),
                }
                for span in SPANS.get_finished_spans()
            ]
        return RECORDS.records


# -- per-route, per-class and the response hook --------------------------------------------


class Tag:
    """A pure ASGI middleware that adds ``x-layer: <name>`` to every response."""

    def __init__(self, app: ASGI3App, name: str) -> None:
        self.app = app
        self.name = name.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message["headers"], (b"x-layer", self.name)]
            await send(message)

        await self.app(scope, receive, tagged)


class Hardened(trane.Application):
    """Security headers for every response of the family: no middleware at all."""

    middleware = [Middleware(Tag, "family")]

    def on_response(self, status: int, headers: trane.MutableHeaders) -> int | None:
        headers["x-content-type-options"] = "nosniff"
        headers["x-frame-options"] = "DENY"
        headers.setdefault("cache-control", "no-store")
        return None


class Page(Hardened):
    async def get(self) -> str:
        return "page"


class Crash(Hardened):
    async def get(self) -> str:
        raise RuntimeError("crash")


class Plain(trane.Application):
    async def get(self) -> str:
        return "plain"


class NeedsSession(trane.Application):
    async def get(self) -> Any:
        return dict(self.session)  # no SessionMiddleware in front of it: a clear 500


app_router = Router(
    [
        Mount(
            "/cors",
            Router([Route("/text", Text)]),
            middleware=[
                Middleware(
                    CORSMiddleware,
                    allow_origins=[ALLOWED_ORIGIN],
                    allow_credentials=True,
                    allow_methods=["GET", "POST"],
                    allow_headers=["x-token"],
                    expose_headers=["x-layer"],
                )
            ],
        ),
        Mount("/gzip", compressible(), middleware=[Middleware(GZipMiddleware, minimum_size=500)]),
        Mount("/brotli", compressible(), middleware=[Middleware(BrotliMiddleware)]),
        Mount(
            "/trusted",
            Router([Route("/text", Text)]),
            middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=["127.0.0.1"])],
        ),
        Mount(
            "/secure",
            Router([Route("/text", Text)]),
            middleware=[Middleware(HTTPSRedirectMiddleware)],
        ),
        Mount(
            "/session",
            Router([Route("/login", Login), Route("/me", Me), Route("/logout", Logout)]),
            middleware=[Middleware(SessionMiddleware, secret_key="not-so-secret")],
        ),
        Mount(
            "/auth",
            Router([Route("/whoami", Whoami)]),
            middleware=[Middleware(AuthenticationMiddleware, backend=TokenBackend())],
        ),
        Mount(
            "/rid",
            Router([Route("/text", Text), Route("/boom", Boom)]),
            middleware=[Middleware(CorrelationIdMiddleware)],
        ),
        Mount(
            "/otel",
            traced,
            middleware=[
                Middleware(
                    OpenTelemetryMiddleware,
                    tracer_provider=TRACER_PROVIDER,
                    default_span_details=span_details,
                )
            ],
        ),
        Route("/scoped/route", Plain, middleware=[Middleware(Tag, "route")]),
        Route("/scoped/plain", Plain),
        Route("/scoped/session", NeedsSession),
        Route("/scoped/page", Page),
        Route("/scoped/crash", Crash),
        Route("/report/{what}", Report),
    ]
)
app = trane.as_asgi3(app_router)


# -- the browser test: an API on one origin, a page on another ------------------------------


class Data(trane.Application):
    async def get(self) -> dict[str, Any]:
        return {"user": self.session.get("user"), "via": "GET"}

    async def put(self) -> dict[str, Any]:
        payload = await self.json()
        self.session["user"] = payload["user"]
        return {"user": payload["user"], "via": "PUT"}


def _cors(origin: str) -> Middleware:
    return Middleware(
        CORSMiddleware,
        allow_origins=[origin],
        allow_credentials=True,
        allow_methods=["GET", "PUT"],
        allow_headers=["content-type", "x-token"],
    )


def _browser_api() -> Router:
    page_origin = os.environ.get("PAGE_ORIGIN", "http://127.0.0.1:1")
    return Router(
        [
            Mount("/open", Router([Route("/data", Data)]), middleware=[_cors(page_origin)]),
            Mount(
                "/closed",
                Router([Route("/data", Data)]),
                middleware=[_cors("http://elsewhere.example")],
            ),
        ],
        middleware=[Middleware(SessionMiddleware, secret_key="browser")],
    )


browser_router = _browser_api()  # its SessionMiddleware is on the Router itself
browser_api = trane.as_asgi3(browser_router)

PAGE = """<!doctype html>
<title>cross-origin</title>
<pre id="log"></pre>
<script>
async function call(url, options) {
  try {
    const response = await fetch(url, {credentials: "include", ...options});
    return {ok: true, status: response.status, body: await response.json()};
  } catch (error) {
    return {ok: false, error: String(error)};
  }
}
window.run = async function (api) {
  const put = {method: "PUT", headers: {"content-type": "application/json", "x-token": "t"},
               body: JSON.stringify({user: "ada"})};
  const results = {
    openPut: await call(api + "/open/data", put),
    openGet: await call(api + "/open/data"),
    closedGet: await call(api + "/closed/data"),
    closedPut: await call(api + "/closed/data", put),
  };
  document.getElementById("log").textContent = JSON.stringify(results);
  return results;
};
</script>
"""


class PageView(trane.Application):
    async def get(self) -> trane.HTMLResponse:
        return trane.HTMLResponse(PAGE)


browser_page = trane.as_asgi3(Router([Route("/", PageView)]))
