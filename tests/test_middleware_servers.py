"""The ecosystem's middleware around trane, through real servers, with httpx.

uvicorn serves ``tests/middleware_apps.py``'s ``app`` (one Mount per
middleware, each declared on its Mount) and daphne the same app for the
session and authentication cases. Each middleware is checked against what
its own documentation promises.
"""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from collections.abc import Iterator

import brotli  # type: ignore[import-untyped]
import httpx
import pytest

from middleware_apps import ALLOWED_ORIGIN, BIG, SMALL
from servers import Server, serve

TARGET = "tests.middleware_apps:app"


@pytest.fixture(scope="module")
def uvicorn_server() -> Iterator[Server]:
    with serve("uvicorn", TARGET) as server:
        yield server


@pytest.fixture(scope="module")
def daphne_server() -> Iterator[Server]:
    with serve("daphne", TARGET) as server:
        yield server


@pytest.fixture
def client(uvicorn_server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=uvicorn_server.url, timeout=10) as client:
        yield client


@pytest.fixture(params=["uvicorn", "daphne"])
def any_client(request: pytest.FixtureRequest) -> Iterator[httpx.Client]:
    server: Server = request.getfixturevalue(f"{request.param}_server")
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


def raw(client: httpx.Client, path: str, **headers: str) -> tuple[httpx.Response, bytes]:
    """The response and its body as sent: not decompressed by httpx."""
    with client.stream("GET", path, headers=headers) as response:
        return response, b"".join(response.iter_raw())


# -- CORSMiddleware -------------------------------------------------------------------


def test_cors_simple_request_from_an_allowed_origin(client: httpx.Client) -> None:
    response = client.get("/cors/text", headers={"origin": ALLOWED_ORIGIN})
    assert response.status_code == 200
    assert response.text == SMALL
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-expose-headers"] == "x-layer"
    assert "origin" in response.headers["vary"].lower()


def test_cors_preflight_is_answered_by_the_middleware(client: httpx.Client) -> None:
    response = client.options(
        "/cors/text",
        headers={
            "origin": ALLOWED_ORIGIN,
            "access-control-request-method": "POST",
            "access-control-request-headers": "x-token",
        },
    )
    assert response.status_code == 200
    assert response.text == "OK"
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert set(response.headers["access-control-allow-methods"].split(", ")) >= {"GET", "POST"}
    assert "x-token" in response.headers["access-control-allow-headers"].lower()
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "allow" not in response.headers  # not trane's automatic OPTIONS answer


def test_cors_disallowed_origin(client: httpx.Client) -> None:
    simple = client.get("/cors/text", headers={"origin": "http://evil.example"})
    assert simple.status_code == 200  # the browser, not the server, withholds it
    assert "access-control-allow-origin" not in simple.headers
    preflight = client.options(
        "/cors/text",
        headers={"origin": "http://evil.example", "access-control-request-method": "POST"},
    )
    assert (preflight.status_code, preflight.text) == (400, "Disallowed CORS origin")
    wrong_method = client.options(
        "/cors/text",
        headers={"origin": ALLOWED_ORIGIN, "access-control-request-method": "DELETE"},
    )
    assert (wrong_method.status_code, wrong_method.text) == (400, "Disallowed CORS method")


def test_cors_applies_under_its_mount_only(client: httpx.Client) -> None:
    response = client.get("/gzip/text", headers={"origin": ALLOWED_ORIGIN})
    assert "access-control-allow-origin" not in response.headers
    options = client.options("/gzip/text")
    assert (options.status_code, options.headers["allow"]) == (204, "GET, HEAD, POST, OPTIONS")


# -- GZipMiddleware, BrotliMiddleware -----------------------------------------------------


def test_gzip_compresses_over_its_minimum_size(client: httpx.Client) -> None:
    big, body = raw(client, "/gzip/text?size=big", **{"accept-encoding": "gzip"})
    assert big.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in big.headers["vary"].lower()
    assert int(big.headers["content-length"]) == len(body) < len(BIG)
    assert gzip.decompress(body).decode() == BIG
    small, body = raw(client, "/gzip/text", **{"accept-encoding": "gzip"})
    assert "content-encoding" not in small.headers
    assert body == SMALL.encode()
    plain, body = raw(client, "/gzip/text?size=big", **{"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert body == BIG.encode()


def test_gzip_compresses_a_streamed_response(client: httpx.Client) -> None:
    response, body = raw(client, "/gzip/stream", **{"accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["transfer-encoding"] == "chunked"  # still streamed
    assert gzip.decompress(body).decode() == BIG * 4


def test_gzip_leaves_event_streams_alone(client: httpx.Client) -> None:
    response, body = raw(client, "/gzip/events", **{"accept-encoding": "gzip"})
    assert response.headers["content-type"].startswith("text/event-stream")
    assert "content-encoding" not in response.headers
    assert body.decode().count(f"data: {BIG}") == 3


def test_brotli_compresses_and_falls_back_to_gzip(client: httpx.Client) -> None:
    response, body = raw(client, "/brotli/text?size=big", **{"accept-encoding": "br"})
    assert response.headers["content-encoding"] == "br"
    assert brotli.decompress(body).decode() == BIG
    streamed, body = raw(client, "/brotli/stream", **{"accept-encoding": "br"})
    assert streamed.headers["content-encoding"] == "br"
    assert brotli.decompress(body).decode() == BIG * 4
    fallback, body = raw(client, "/brotli/text?size=big", **{"accept-encoding": "gzip"})
    assert fallback.headers["content-encoding"] == "gzip"
    assert gzip.decompress(body).decode() == BIG
    small, body = raw(client, "/brotli/text", **{"accept-encoding": "br"})
    assert "content-encoding" not in small.headers
    assert body == SMALL.encode()


# -- TrustedHostMiddleware, HTTPSRedirectMiddleware -------------------------------------


def test_trusted_host_refuses_a_wrong_host(client: httpx.Client) -> None:
    assert client.get("/trusted/text").text == SMALL  # Host: 127.0.0.1:<port>
    wrong = client.get("/trusted/text", headers={"host": "evil.example"})
    assert (wrong.status_code, wrong.text) == (400, "Invalid host header")
    elsewhere = client.get("/cors/text", headers={"host": "evil.example"})
    assert elsewhere.status_code == 200  # TrustedHost is on /trusted only


def test_https_redirect(client: httpx.Client, uvicorn_server: Server) -> None:
    response = client.get("/secure/text?size=big")
    assert response.status_code == 307
    port = uvicorn_server.port
    assert response.headers["location"] == f"https://127.0.0.1:{port}/secure/text?size=big"
    # uvicorn trusts X-Forwarded-Proto from 127.0.0.1 (its --forwarded-allow-ips
    # default): the request is https already, so there is nothing to redirect.
    behind_proxy = client.get("/secure/text", headers={"x-forwarded-proto": "https"})
    assert (behind_proxy.status_code, behind_proxy.text) == (200, SMALL)


# -- SessionMiddleware (uvicorn and daphne) --------------------------------------------


def test_session_login_sets_a_signed_cookie(any_client: httpx.Client) -> None:
    assert any_client.get("/session/me").status_code == 401
    login = any_client.post("/session/login", data={"name": "ada"})
    assert login.json() == {"logged_in": "ada"}
    cookie = login.headers["set-cookie"]
    assert cookie.startswith("session=")
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    assert "path=/" in cookie.lower()
    payload = any_client.cookies["session"].split(".")[0]
    assert json.loads(base64.b64decode(payload + "==")) == {"user": "ada"}  # signed, not secret
    assert any_client.get("/session/me").json() == {"user": "ada"}
    any_client.post("/session/logout")
    assert any_client.get("/session/me").status_code == 401


def test_session_ignores_a_tampered_cookie(any_client: httpx.Client) -> None:
    any_client.post("/session/login", data={"name": "ada"})
    value = any_client.cookies["session"]
    _payload, _, signature = value.partition(".")
    forged = base64.b64encode(json.dumps({"user": "admin"}).encode()).decode()
    any_client.cookies.clear()
    any_client.cookies.set("session", f"{forged}.{signature}")
    assert any_client.get("/session/me").status_code == 401
    any_client.cookies.set("session", "garbage")
    assert any_client.get("/session/me").status_code == 401
    any_client.cookies.set("session", value)
    assert any_client.get("/session/me").json() == {"user": "ada"}


# -- AuthenticationMiddleware (uvicorn and daphne) -------------------------------------


def test_authentication_sets_user_and_auth(any_client: httpx.Client) -> None:
    anonymous = any_client.get("/auth/whoami")
    assert anonymous.json() == {"user": None, "scopes": []}
    known = any_client.get("/auth/whoami", headers={"authorization": "Bearer ada-token"})
    assert known.json() == {"user": "ada", "scopes": ["authenticated"]}
    bad = any_client.get("/auth/whoami", headers={"authorization": "Basic xyz"})
    assert (bad.status_code, bad.text) == (400, "bad credentials")


def test_session_without_its_middleware_is_a_500_that_says_why(client: httpx.Client) -> None:
    response = client.get("/scoped/session")
    assert (response.status_code, response.text) == (500, "Internal Server Error")
    errors = [r["error"] for r in client.get("/report/log").json() if r["error"]]
    assert any("self.session needs a session middleware" in error for error in errors)


# -- asgi-correlation-id ------------------------------------------------------------------


def test_request_id_is_echoed_and_generated(client: httpx.Client) -> None:
    given = uuid.uuid4().hex
    echoed = client.get("/rid/text", headers={"x-request-id": given})
    assert echoed.headers["x-request-id"] == given
    generated = client.get("/rid/text").headers["x-request-id"]
    assert uuid.UUID(generated).version == 4
    invalid = client.get("/rid/text", headers={"x-request-id": "not-a-uuid"})
    assert invalid.headers["x-request-id"] != "not-a-uuid"
    assert "x-request-id" not in client.get("/gzip/text").headers


def test_request_id_is_in_the_trane_loggers_records(client: httpx.Client) -> None:
    given = uuid.uuid4().hex
    response = client.get("/rid/boom", headers={"x-request-id": given})
    assert (response.status_code, response.headers["x-request-id"]) == (500, given)
    records = [r for r in client.get("/report/log").json() if r["correlation_id"] == given]
    messages = [r["message"] for r in records]
    assert messages == ["about to fail", "Exception in Boom handling GET /rid/boom"]


# -- opentelemetry-instrumentation-asgi ---------------------------------------------------


def test_opentelemetry_one_server_span_per_request(client: httpx.Client) -> None:
    assert client.get("/otel/users/7").json() == {"id": 7}
    assert client.get("/otel/users/0").status_code == 404
    assert client.delete("/otel/users/7").status_code == 405
    servers = [s for s in client.get("/report/spans").json() if s["kind"] == "SERVER"]
    assert [s["name"] for s in servers] == ["GET /users/{id:int}"] * 2 + ["DELETE /users/{id:int}"]
    statuses = [s["attributes"].get("http.status_code") for s in servers]
    assert statuses == [200, 404, 405]
    assert {s["attributes"]["http.route"] for s in servers} == {"/users/{id:int}"}
    assert servers[0]["attributes"]["http.target"] == "/otel/users/7"


# -- per-route and per-class middleware, on_response -------------------------------------


def test_route_and_class_middleware_apply_where_declared(client: httpx.Client) -> None:
    assert client.get("/scoped/route").headers["x-layer"] == "route"
    assert "x-layer" not in client.get("/scoped/plain").headers
    page = client.get("/scoped/page")
    assert (page.text, page.headers["x-layer"]) == ("page", "family")
    assert page.headers["x-frame-options"] == "DENY"
    assert "x-frame-options" not in client.get("/scoped/plain").headers


def test_on_response_shapes_500_405_and_automatic_options(client: httpx.Client) -> None:
    crash = client.get("/scoped/crash")
    wrong = client.post("/scoped/page")
    options = client.options("/scoped/page")
    head = client.head("/scoped/page")
    for response, status in ((crash, 500), (wrong, 405), (options, 204), (head, 200)):
        assert response.status_code == status
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-layer"] == "family"
    assert wrong.headers["allow"] == "GET, HEAD, OPTIONS"
    assert options.headers["allow"] == "GET, HEAD, OPTIONS"


# -- examples/middleware.py ----------------------------------------------------------------


def test_example_under_uvicorn() -> None:
    with (
        serve("uvicorn", "examples.middleware:app") as server,
        httpx.Client(base_url=server.url, timeout=10) as client,
    ):
        login = client.post("/login", data={"name": "grace", "password": "hopper"})
        assert (login.status_code, login.headers["location"]) == (303, "/private")
        private = client.get("/private")
        assert private.text == "Only for logged-in users: welcome back, grace."
        assert private.headers["x-frame-options"] == "DENY"
        assert uuid.UUID(private.headers["x-request-id"])
        items, body = raw(client, "/api/items", **{"accept-encoding": "gzip"})
        assert items.headers["content-encoding"] == "gzip"
        assert len(json.loads(gzip.decompress(body))["items"]) == 50
        missing = client.get("/nowhere", headers={"x-request-id": "0" * 32})
        assert (missing.status_code, missing.headers["x-request-id"]) == (404, "0" * 32)
        assert missing.headers["x-frame-options"] == "DENY"  # the 404 page is a Site too
    assert "Traceback" not in server.output()


def test_the_bare_router_served_as_asgi2_runs_its_middleware() -> None:
    # uvicorn --interface asgi2 calls router(scope): the instance runs the stack
    # (SessionMiddleware on the Router, CORS on a Mount).
    target = "tests.middleware_apps:browser_router"
    env = {"PAGE_ORIGIN": ALLOWED_ORIGIN}
    with (
        serve("uvicorn", target, "--interface", "asgi2", env=env) as server,
        httpx.Client(base_url=server.url, timeout=10) as client,
    ):
        put = client.put("/open/data", json={"user": "ada"}, headers={"origin": ALLOWED_ORIGIN})
        assert put.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
        assert "session=" in put.headers["set-cookie"]
        assert client.get("/open/data").json() == {"user": "ada", "via": "GET"}
    assert "Traceback" not in server.output()
