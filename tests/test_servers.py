"""The demo app under real servers, each started once for this module.

uvicorn serves it both ways (ASGI 3 through the adapter, and the bare router
as ASGI 2), daphne, hypercorn and granian through the adapter, and ``python -m
trane serve`` with each ``--server``. Every test talks HTTP to 127.0.0.1 with httpx.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from servers import Server, serve


@dataclass(frozen=True)
class Setup:
    server: str
    target: str
    args: tuple[str, ...]
    lifespan: bool  # does this server run the lifespan protocol?


SETUPS = {
    # NOTE: every row serves the demo under trane.validate (tests/validated_apps.py);
    # test_server_validator_findings, last, reads what the lenient one logged.
    "uvicorn": Setup("uvicorn", "tests.validated_apps:demo_app", (), True),
    "uvicorn-asgi2": Setup(
        "uvicorn", "tests.validated_apps:demo_router", ("--interface", "asgi2"), True
    ),
    "daphne": Setup("daphne", "tests.validated_apps:demo_app", (), False),
    "hypercorn": Setup("hypercorn", "tests.validated_apps:demo_app", (), True),
    "granian": Setup("granian", "tests.validated_apps:demo_app_lenient", (), True),
    "trane-uvicorn": Setup(
        "trane", "tests.validated_apps:demo_router", ("--server", "uvicorn"), True
    ),
    "trane-daphne": Setup(
        "trane", "tests.validated_apps:demo_router", ("--server", "daphne"), False
    ),
    "trane-hypercorn": Setup(
        "trane", "tests.validated_apps:demo_router", ("--server", "hypercorn"), True
    ),
}


@dataclass
class Running:
    setup: Setup
    server: Server
    client: httpx.Client


@pytest.fixture(scope="module", params=list(SETUPS))
def running(request: pytest.FixtureRequest) -> Iterator[Running]:
    setup = SETUPS[request.param]
    with (
        serve(setup.server, setup.target, *setup.args) as server,
        httpx.Client(base_url=server.url, timeout=10) as client,
    ):
        yield Running(setup, server, client)


def test_server_view(running: Running) -> None:
    response = running.client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert '<a href="/hello/world">' in response.text  # url_for through the real server


def test_server_path_param(running: Running) -> None:
    response = running.client.get("/hello/caf%C3%A9")
    assert response.status_code == 200
    assert response.text == "Hello, café!"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-length"] == str(len("Hello, café!".encode()))


def test_server_streams_incrementally(running: Running) -> None:
    # The view sleeps 0.2 s between lines. A server that buffered the response
    # would deliver all three at once; streamed, they arrive >= 0.4 s apart.
    arrivals: list[tuple[float, bytes]] = []
    with running.client.stream("GET", "/count/3", params={"delay": "0.2"}) as response:
        assert response.status_code == 200
        assert "content-length" not in response.headers
        for chunk in response.iter_raw():
            arrivals.append((time.monotonic(), chunk))
    assert [chunk for _, chunk in arrivals] == [b"count 0\n", b"count 1\n", b"count 2\n"]
    assert arrivals[-1][0] - arrivals[0][0] >= 0.3


def test_server_json_body(running: Running) -> None:
    response = running.client.post("/items", json={"a": [1, "é"]})
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    assert response.json()["item"] == {"a": [1, "é"]}
    bad = running.client.post(
        "/items", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert bad.status_code == 400
    assert bad.text.startswith("Invalid JSON")


def test_server_body_too_large(running: Running) -> None:
    response = running.client.post(
        "/items",
        content=b"[" + b"1," * 40_000 + b"1]",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413


def test_server_not_found(running: Running) -> None:
    response = running.client.get("/nope")
    assert (response.status_code, response.text) == (404, "Not Found")
    assert running.client.get("/count/x").status_code == 404


def test_server_method_not_allowed(running: Running) -> None:
    response = running.client.delete("/hello/world")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, OPTIONS"
    options = running.client.options("/items")
    assert (options.status_code, options.headers["allow"]) == (204, "POST, OPTIONS")


def test_server_head(running: Running) -> None:
    get = running.client.get("/hello/world")
    head = running.client.head("/hello/world")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"] == "13"
    assert head.headers["content-type"] == get.headers["content-type"]


def test_server_mounted_legacy_app(running: Running) -> None:
    response = running.client.get("/legacy/a/b")
    assert response.status_code == 200
    assert response.text == "legacy at /legacy saw /legacy/a/b"


def test_server_lifespan_state(running: Running) -> None:
    response = running.client.get("/info", params={"q": "1"})
    assert response.status_code == 200
    assert json.loads(response.text) == {"started": running.setup.lifespan, "query": {"q": "1"}}


def test_server_validator_findings(running: Running) -> None:
    """What trane.validate found in this module's traffic: nothing of trane's.

    granian (2.8.9) gives the client's port as a str, which the spec says is
    an int: its one finding, logged by the lenient validator it serves."""
    rules = set(re.findall(r"\[([a-z]+\.[a-z0-9.-]+)\] ", running.server.output()))
    if running.setup.server == "granian":
        assert rules == {"scope.field"}
        assert "scope['client'] is ('127.0.0.1', '" in running.server.output()
    else:
        assert rules == set()
