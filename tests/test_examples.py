"""Every example in examples/ runs: in-process, and under a real server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from examples import demo, inheritance, legacy

from asgi import request
from communicator import Communicator
from servers import serve
from trane.testing import TestClient

ALICE = [(b"authorization", b"Bearer s3cret")]
ADMIN = [(b"authorization", b"Bearer r00t")]
JSON = [(b"content-type", b"application/json")]


@pytest.fixture(autouse=True)
def _restore_notes() -> Iterator[None]:
    saved = {k: dict(v) for k, v in inheritance.NOTES.items()}
    yield
    inheritance.NOTES.clear()
    inheritance.NOTES.update(saved)


# -- demo.py -----------------------------------------------------------------


async def test_demo_home_links_with_url_for() -> None:
    result = await request(demo.app, "GET", "/")
    assert result.status == 200
    assert result.header("content-type") == "text/html; charset=utf-8"
    assert b'<a href="/hello/world">/hello/world</a>' in result.body


async def test_demo_hello() -> None:
    result = await request(demo.app, "GET", "/hello/ann")
    assert (result.status, result.body) == (200, b"Hello, ann!")


async def test_demo_items() -> None:
    # The TestClient runs the lifespan and, like uvicorn, hands every request a
    # shallow copy of its state: the visit counter must survive that.
    async with TestClient(demo.app) as client:
        first = await client.post("/items", json={"a": 1})
        assert (first.status_code, first.json()) == (201, {"item": {"a": 1}, "visits": 1})
        assert (await client.post("/items", json=[])).json() == {"item": [], "visits": 2}
    # No lifespan (daphne runs none): no counter, and still no error.
    without = await request(demo.router, "POST", "/items", body=b"[]", headers=JSON, state={})
    assert json.loads(without.body) == {"item": [], "visits": None}
    bad = await request(demo.router, "POST", "/items", body=b"{", headers=JSON)
    assert bad.status == 400
    big = await request(demo.router, "POST", "/items", body=b"1" * (64 * 1024 + 1))
    assert big.status == 413


async def test_demo_count_streams() -> None:
    result = await request(demo.app, "GET", "/count/3", query=b"delay=0.01")
    assert result.body == b"count 0\ncount 1\ncount 2\n"
    assert [m.get("more_body") for m in result.messages[1:]] == [True, True, True, False]
    bad = await request(demo.app, "GET", "/count/3", query=b"delay=soon")
    assert (bad.status, bad.body) == (400, b"delay must be a number of seconds")


async def test_demo_info_and_legacy_mount() -> None:
    info = await request(demo.app, "GET", "/info", query=b"x=1", state={})
    assert json.loads(info.body) == {"started": False, "query": {"x": "1"}}
    mounted = await request(demo.app, "GET", "/legacy/deep/er")
    assert mounted.body == b"legacy at /legacy saw /legacy/deep/er"


async def test_demo_lifespan_sets_started() -> None:
    communicator = Communicator(demo.app, {"type": "lifespan", "state": {}})
    await communicator.send_input({"type": "lifespan.startup"})
    assert await communicator.receive_output() == {"type": "lifespan.startup.complete"}
    await communicator.send_input({"type": "lifespan.shutdown"})
    assert await communicator.receive_output() == {"type": "lifespan.shutdown.complete"}


# -- inheritance.py ----------------------------------------------------------


async def _api(
    method: str, path: str, headers: list[tuple[bytes, bytes]] = ALICE, body: bytes = b""
) -> tuple[int, Any, dict[str, str]]:
    result = await request(inheritance.app, method, path, headers=headers, body=body)
    payload = json.loads(result.body) if result.body else None
    return result.status, payload, {k.decode(): v.decode() for k, v in result.headers}


async def test_inheritance_open_view_needs_no_token() -> None:
    assert await _api("GET", "/health", headers=[]) == (
        200,
        {"ok": True},
        {"content-type": "application/json", "content-length": "11"},
    )


@pytest.mark.parametrize(
    "headers",
    [[], [(b"authorization", b"Bearer wrong")], [(b"authorization", b"Basic s3cret")]],
    ids=["none", "wrong", "scheme"],
)
async def test_inheritance_prepare_rejects_without_token(
    headers: list[tuple[bytes, bytes]],
) -> None:
    status, payload, response_headers = await _api("GET", "/notes", headers=headers)
    assert status == 401
    assert payload == {"error": "Unauthorized", "detail": "missing or wrong token"}
    assert response_headers["www-authenticate"] == "Bearer"


async def test_inheritance_prepare_may_answer_early() -> None:
    status, payload, _ = await _api("GET", "/health", headers=[(b"accept", b"text/html")])
    assert status == 406
    assert payload == {"error": "Not Acceptable", "detail": "this API only speaks JSON"}


async def test_inheritance_notes_round_trip() -> None:
    status, payload, _ = await _api("GET", "/notes")
    assert (status, payload["user"], len(payload["notes"])) == (200, "alice", 1)
    status, note, headers = await _api("POST", "/notes", ALICE + JSON, b'{"text": "buy milk"}')
    assert status == 201
    assert note == {"id": 2, "text": "buy milk", "owner": "alice"}
    assert headers["location"] == "/notes/2"
    assert (await _api("GET", "/notes/2"))[1] == note
    assert (await _api("DELETE", "/notes/2"))[0] == 204
    gone = await _api("GET", "/notes/2")
    assert gone[:2] == (404, {"error": "Not Found", "detail": "no note 2"})


async def test_inheritance_notes_are_per_user() -> None:
    status, payload, _ = await _api("GET", "/notes/1", headers=ADMIN)
    assert (status, payload["detail"]) == (404, "no note 1")


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        (b"{oops", 400, "Invalid JSON: Expecting property name enclosed in double quotes"),
        (b"[1]", 422, "expected an object with text"),
        (b'{"title": "x"}', 422, "expected an object with text"),
        (b'{"text": "' + b"x" * 20_000 + b'"}', 413, "Request body larger than 16384 bytes"),
    ],
)
async def test_inheritance_errors_render_as_json(body: bytes, status: int, detail: str) -> None:
    got_status, payload, headers = await _api("POST", "/notes", ALICE + JSON, body)
    assert got_status == status
    assert payload["detail"].startswith(detail)
    assert headers["content-type"] == "application/json"


async def test_inheritance_method_not_allowed_is_json_with_allow() -> None:
    status, payload, headers = await _api("PUT", "/notes")
    assert (status, payload) == (405, {"error": "Method Not Allowed", "detail": None})
    assert headers["allow"] == "GET, HEAD, POST, OPTIONS"
    assert (await _api("_ERROR", "/notes"))[0] == 405  # helpers are never dispatched to


async def test_inheritance_subclass_extends_prepare() -> None:
    status, payload, _ = await _api("GET", "/admin")
    assert (status, payload["detail"]) == (403, "admins only")
    assert await _api("GET", "/admin", headers=ADMIN) == (
        200,
        {"notes": 1},
        {"content-type": "application/json", "content-length": "11"},
    )
    assert (await _api("GET", "/admin", headers=[]))[0] == 401


async def test_inheritance_crash_is_json_500_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    status, payload, _ = await _api("POST", "/admin", headers=ADMIN)
    assert (status, payload) == (500, {"error": "Internal Server Error", "detail": None})
    assert "the database is on fire" in caplog.text


# -- legacy.py ---------------------------------------------------------------


@pytest.mark.parametrize("app", [legacy.LegacyApp, legacy.app], ids=["asgi2", "adapted"])
async def test_legacy_app_in_process(app: Any) -> None:
    result = await request(app, "GET", "/any/where")
    assert (result.status, result.body) == (200, b"legacy GET /any/where")
    echo = await request(app, "POST", "/echo", chunks=[b"hel", b"lo"])
    assert echo.body == b"hello"
    assert echo.header("content-length") == "5"


def test_legacy_app_is_adapted_to_asgi3() -> None:
    assert legacy.app.__name__ == "LegacyApp"
    assert getattr(legacy.app, "_asgi_single_callable", False) is True


async def test_legacy_app_lifespan() -> None:
    communicator = Communicator(legacy.app, {"type": "lifespan"})
    await communicator.send_input({"type": "lifespan.startup"})
    assert await communicator.receive_output() == {"type": "lifespan.startup.complete"}
    await communicator.send_input({"type": "lifespan.shutdown"})
    assert await communicator.receive_output() == {"type": "lifespan.shutdown.complete"}
    await communicator.wait()


# -- under real servers ------------------------------------------------------


def test_legacy_example_under_hypercorn() -> None:
    # hypercorn dropped ASGI 2; the adapter is what makes this work.
    with (
        serve("hypercorn", "examples.legacy:app") as server,
        httpx.Client(base_url=server.url, timeout=10) as client,
    ):
        response = client.get("/from/hypercorn")
        assert (response.status_code, response.text) == (200, "legacy GET /from/hypercorn")
        echo = client.post("/echo", content=iter([b"chunked ", b"body"]))
        assert echo.text == "chunked body"
        # Lifespan ran (hypercorn would log a lifespan error otherwise).
        assert "lifespan" not in server.output().lower()


def test_inheritance_example_under_trane_serve() -> None:
    with (
        serve("trane", "examples.inheritance:app", "--server", "uvicorn") as server,
        httpx.Client(base_url=server.url, timeout=10) as client,
    ):
        assert client.get("/notes").json()["detail"] == "missing or wrong token"
        auth = {"authorization": "Bearer s3cret"}
        created = client.post("/notes", json={"text": "over the wire"}, headers=auth)
        assert created.status_code == 201
        assert created.headers["location"] == "/notes/2"
        assert client.get("/notes/2", headers=auth).json()["text"] == "over the wire"


def test_demo_under_uvicorn_counts_visits() -> None:
    """uvicorn copies the lifespan state for each request: the count still goes up."""
    with (
        serve("uvicorn", "examples.demo:app") as server,
        httpx.Client(base_url=server.url, timeout=10) as client,
    ):
        visits = [client.post("/items", json={"n": n}).json()["visits"] for n in range(3)]
        assert visits == [1, 2, 3]
        assert client.get("/info").json() == {"started": True, "query": {}}
