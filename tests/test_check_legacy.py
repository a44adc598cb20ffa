"""``python -m trane check`` on apps of the ASGI 2 era, installed from PyPI at their old versions.

Each framework is installed with ``pip install --target <cache> --no-deps`` at
the release its ASGI 2 apps were written for, together with the few old
dependencies the test extras lack or whose current releases dropped something
it imports (Jinja2 3.1 dropped ``escape``, Werkzeug 2.3 ``url_decode``,
whitenoise 4 ``file_not_modified``; aiofiles before 0.6 needs
``asyncio.coroutine``, gone in Python 3.11); the rest (Django, daphne,
asgiref, click, hypercorn, requests, PyYAML, itsdangerous) comes from the
test extras. The
folder goes first on ``PYTHONPATH`` in the subprocess, ahead of the venv's
Starlette 1.x and Channels 4, and is kept in ``~/.cache/trane-legacy-apps``
(``$TRANE_LEGACY_CACHE`` overrides), one folder per pin set and Python, so
the registry is asked once per machine. The apps are in ``tests/legacy_apps/``,
written as those frameworks' docs wrote them.

What the checker reports is asserted exactly; each violation found is a real
one, explained where it is expected. The apps are then served through
``trane.as_asgi3`` by uvicorn (told ``--interface asgi3``) and hypercorn
(which would take a plain ``__call__`` for WSGI) and answer real requests.
Without the registry these tests skip locally and fail under ``CI``.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from conftest import skip_or_fail
from servers import PYTHON, ROOT, Server, serve

APPS = ROOT / "tests" / "legacy_apps"


@dataclass(frozen=True)
class Legacy:
    name: str
    pins: tuple[str, ...]
    target: str  # module:attr in tests/legacy_apps


STARLETTE = Legacy("starlette-0.11.4", ("starlette==0.11.4",), "starlette011_app:app")
QUART = Legacy(
    "quart-0.8.1",
    ("quart==0.8.1", "jinja2==3.0.3", "aiofiles==0.8.0", "blinker==1.4", "multidict==6.0.5"),
    "quart08_app:app",
)
APISTAR = Legacy(
    "apistar-0.5.42",
    ("apistar==0.5.42", "werkzeug==0.16.1", "whitenoise==3.3.1", "aiofiles==0.8.0"),
    "apistar05_app:app",
)
CHANNELS = Legacy("channels-2.4.0", ("channels==2.4.0",), "channels2_app:application")
LEGACY = (STARLETTE, QUART, APISTAR, CHANNELS)


def cache_root() -> Path:
    if os.environ.get("TRANE_LEGACY_CACHE"):
        return Path(os.environ["TRANE_LEGACY_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "trane-legacy-apps"


class Installer:
    """Installs each pin set once into the cache; remembers a failure for the session."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.failed: dict[str, str] = {}

    def folder(self, legacy: Legacy) -> Path:
        key = hashlib.sha256(" ".join(legacy.pins).encode()).hexdigest()[:10]
        return self.root / f"{legacy.name}-py{sys.version_info[0]}{sys.version_info[1]}-{key}"

    def __call__(self, legacy: Legacy) -> Path:
        where = self.folder(legacy)
        if where.is_dir():
            return where
        if legacy.name not in self.failed:
            self.failed[legacy.name] = self._install(legacy, where)
        if self.failed[legacy.name]:
            skip_or_fail(
                f"pip could not install {' '.join(legacy.pins)}: {self.failed[legacy.name]}"
            )
        return where

    def _install(self, legacy: Legacy, where: Path) -> str:
        """Install into a fresh folder, renamed into place when complete: '' or the error."""
        self.root.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f"{where.name}.", dir=self.root))
        pip = [PYTHON, "-m", "pip", "install", "--target", str(scratch), "--no-deps"]
        pip += ["--prefer-binary", "--disable-pip-version-check", "--no-input", "-q"]
        try:
            done = subprocess.run([*pip, *legacy.pins], capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            shutil.rmtree(scratch)
            return "pip took more than 300 s"
        if done.returncode != 0:
            shutil.rmtree(scratch)
            return done.stderr.strip()[-800:]
        try:
            scratch.rename(where)
        except OSError:  # another run put it there first
            shutil.rmtree(scratch)
        return ""


@pytest.fixture(scope="session")
def installed() -> Installer:
    return Installer(cache_root())


def python_path(folder: Path) -> str:
    return os.pathsep.join([str(folder), str(ROOT / "src"), str(APPS)])


@functools.cache
def run_check(folder: Path, target: str, path: str) -> dict[str, Any]:
    """The JSON report of ``python -m trane check target --path path`` (once per session)."""
    env = {"PYTHONPATH": python_path(folder), "PATH": "/usr/bin:/bin", "HOME": str(Path.home())}
    done = subprocess.run(
        [PYTHON, "-m", "trane", "check", target, "--json", "--path", path],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.startswith("{"), done.stdout + done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    assert done.returncode == report["exit_code"], done.stderr
    return report


# -- how each server calls them -----------------------------------------------------

#: The same for all four: each is an object whose plain __call__(scope) returns the instance.
CALLERS = {
    "uvicorn (auto)": ("ASGI 2", ""),
    "uvicorn --interface asgi2": ("ASGI 2", ""),
    "hypercorn": ("WSGI", "serve trane.as_asgi3(app)"),
    "granian --interface asgi": ("ASGI 3", "serve trane.as_asgi3(app)"),
    "daphne (command line)": ("ASGI 2", ""),
    "daphne Server(application=...)": ("ASGI 3, by keyword", "serve trane.as_asgi3(app)"),
    "channels URLRouter": ("ASGI 3", "serve trane.as_asgi3(app)"),
    "starlette Mount": ("ASGI 3", "serve trane.as_asgi3(app)"),
    "starlette Route": ("ASGI 3", "serve trane.as_asgi3(app)"),
}


@pytest.mark.parametrize("legacy", LEGACY, ids=lambda legacy: legacy.name)
def test_legacy_app_is_asgi2_and_each_server_calls_it_so(
    installed: Installer, legacy: Legacy
) -> None:
    report = run_check(installed(legacy), legacy.target, "/")
    assert report["target"] == legacy.target
    assert (report["style"], report["why"]) == ("ASGI 2", "an object with a plain __call__(scope)")
    table = {c["name"]: (c["calls_as"], c["fix"]) for c in report["callers"]}
    assert table == CALLERS
    assert all(c["works"] == (c["fix"] == "") for c in report["callers"])


# -- the scenarios, and what the checker found ------------------------------------------


def scenarios(report: dict[str, Any]) -> list[tuple[str, str, bool]]:
    return [(s["name"], s["outcome"], s["ok"]) for s in report["scenarios"]]


def rules(report: dict[str, Any]) -> dict[str, list[str]]:
    """rule -> the scenarios it was found in, in order."""
    found: dict[str, list[str]] = {}
    for f in report["findings"]:
        found.setdefault(f["rule"], [])
        if f["scenario"] not in found[f["rule"]]:
            found[f["rule"]].append(f["scenario"])
    return found


LEAST = "(required scope keys only)"


def test_starlette_011_adds_to_the_servers_scope(
    installed: Installer,
) -> None:
    report = run_check(installed(STARLETTE), STARLETTE.target, "/")
    assert scenarios(report) == [
        ("lifespan startup", "lifespan.startup.complete", True),
        ("GET /", "200, 17 body bytes", True),  # {"hello":"world"}
        ("HEAD /", "200, 17 body bytes", True),
        ("POST / (chunked body)", "200, 15 body bytes", True),  # {"received":18}
        ("POST / (client leaves mid-body)", "raised ClientDisconnect after the client left", True),
        ("WebSocket /", "accepted, sent 1 message(s), returned after the close", True),
        (f"GET / {LEAST}", "200, 17 body bytes", True),
        (f"WebSocket / {LEAST}", "accepted, sent 1 message(s), returned after the close", True),
        ("unknown scope type", "rejected it: raised AssertionError", True),
        ("lifespan shutdown", "lifespan.shutdown.complete", True),
    ]
    # NOTE: real, as in Starlette 1.x (test_validate.py): Starlette.__call__
    # does scope["app"] = self, the router adds "router", "endpoint" and
    # "path_params", all in the dict the server passed (asgi.rst, Middleware:
    # change a copy, "as changes may leak upstream otherwise").
    assert rules(report) == {"asgi.scope-extended": [s[0] for s in scenarios(report)[:-2]]}
    assert report["exit_code"] == 1


def test_starlette_011_mount_changes_path_in_the_servers_scope(installed: Installer) -> None:
    report = run_check(installed(STARLETTE), STARLETTE.target, "/users/")
    assert all(ok for _, _, ok in scenarios(report))
    assert scenarios(report)[1] == ("GET /users/", "200, 5 body bytes", True)
    # NOTE: real: Router.__call__ does scope.update(child_scope) for the Mount
    # (starlette/routing.py, 0.11), so the server's own scope now says
    # path "/" and root_path "/users".
    found = rules(report)
    assert set(found) == {"asgi.scope-mutated", "asgi.scope-extended"}
    assert found["asgi.scope-mutated"] == [
        "GET /users/",
        "HEAD /users/",
        "POST /users/ (chunked body)",
        "POST /users/ (client leaves mid-body)",
        "WebSocket /users/",
        f"GET /users/ {LEAST}",
        f"WebSocket /users/ {LEAST}",
    ]
    details = {f["detail"] for f in report["findings"] if f["rule"] == "asgi.scope-mutated"}
    assert all("changed 'path'" in detail for detail in details), details


def test_quart_08_needs_scope_keys_the_spec_makes_optional(installed: Installer) -> None:
    report = run_check(installed(QUART), QUART.target, "/ws")
    assert scenarios(report) == [
        ("lifespan startup", "lifespan.startup.complete", True),
        # Quart 0.8 answers HTTP on a WebSocket-only route with 400 (GET), 405.
        ("GET /ws", "400, 118 body bytes", True),
        ("HEAD /ws", "405, 137 body bytes", True),
        ("POST /ws (chunked body)", "405, 137 body bytes", True),
        ("POST /ws (client leaves mid-body)", "returned after the client left", True),
        ("WebSocket /ws", "accepted, sent 1 message(s), returned after the close", True),
        (f"GET /ws {LEAST}", "raised KeyError for the optional scope['scheme']", False),
        (f"WebSocket /ws {LEAST}", "raised KeyError for the optional scope['query_string']", False),
        (
            "unknown scope type",
            "rejected it: raised RuntimeError: ASGI Scope type is unknown",
            True,
        ),
        ("lifespan shutdown", "lifespan.shutdown.complete", True),
    ]
    # NOTE: real: quart/asgi.py (0.8) reads scope["scheme"] and
    # scope["query_string"]; www.rst makes both optional with a default, and
    # daphne sends no "scheme" for a WebSocket (test_quart_08_on_real_servers).
    assert [(f["scenario"], f["rule"], f["fix"]) for f in report["findings"]] == [
        (
            f"GET /ws {LEAST}",
            "asgi.optional-scope-key",
            """read it with its default: scope.get('scheme', "http")""",
        ),
        (
            f"WebSocket /ws {LEAST}",
            "asgi.optional-scope-key",
            """read it with its default: scope.get('query_string', b"")""",
        ),
    ]
    assert report["exit_code"] == 1


def test_quart_08_leaves_a_websocket_it_has_no_route_for_unanswered(
    installed: Installer,
) -> None:
    report = run_check(installed(QUART), QUART.target, "/")
    got = {name: (outcome, ok) for name, outcome, ok in scenarios(report)}
    assert got["GET /"] == ("200, 5 body bytes", True)
    assert got["POST / (chunked body)"] == ("200, 17 body bytes", True)  # received 18 bytes
    # NOTE: real: ASGIWebsocketConnection.handle_websocket (quart/asgi.py,
    # 0.8) sends its error response (here 400: "/" is an HTTP route) only with
    # the websocket.http.response extension, and otherwise nothing: www.rst
    # wants websocket.connect answered by accept or close. uvicorn and
    # hypercorn offer the extension, so there it answers 400.
    assert got["WebSocket /"] == ("returned without answering the handshake", False)
    assert rules(report) == {
        "websocket.connect-unanswered": ["WebSocket /"],
        "asgi.optional-scope-key": [f"GET / {LEAST}", f"WebSocket / {LEAST}"],
    }


@pytest.mark.parametrize("path", ["/", "/static/apistar/css/base.css"])
def test_apistar_05_is_clean(installed: Installer, path: str) -> None:
    report = run_check(installed(APISTAR), APISTAR.target, path)
    # ASyncApp reads scope["method"] first: any scope but HTTP raises, as
    # the spec allows for a protocol an app does not speak.
    not_http = "not supported (raised KeyError: 'method')"
    got = {name: (outcome, ok) for name, outcome, ok in scenarios(report)}
    assert got["lifespan startup"] == (not_http, True)
    assert got[f"WebSocket {path}"] == got[f"WebSocket {path} {LEAST}"] == (not_http, True)
    assert got["unknown scope type"] == ("rejected it: raised KeyError: 'method'", True)
    assert all(ok for _, ok in got.values())
    assert report["findings"] == []
    assert report["exit_code"] == 0


def test_apistar_05_answers_with_its_handlers_and_static_files(installed: Installer) -> None:
    home = {n: o for n, o, _ in scenarios(run_check(installed(APISTAR), APISTAR.target, "/"))}
    assert home["GET /"] == home[f"GET / {LEAST}"] == "200, 34 body bytes"
    assert home["POST / (chunked body)"] == "200, 15 body bytes"  # {"received": 18}
    css = "/static/apistar/css/base.css"
    static = {n: o for n, o, _ in scenarios(run_check(installed(APISTAR), APISTAR.target, css))}
    assert static[f"GET {css}"] == "200, 5553 body bytes"
    assert static[f"HEAD {css}"] == "200, 0 body bytes"


@pytest.mark.parametrize(
    ("path", "answer"),
    [("/", "200, 5 body bytes"), ("/django/", "200, 17 body bytes")],
    ids=["AsyncHttpConsumer", "AsgiHandler"],
)
def test_channels_2_sends_header_names_as_written(
    installed: Installer, path: str, answer: str
) -> None:
    report = run_check(installed(CHANNELS), CHANNELS.target, path)
    got = {name: (outcome, ok) for name, outcome, ok in scenarios(report)}
    assert "lifespan shutdown" not in got  # never started
    assert got["lifespan startup"] == (
        "not supported (raised ValueError: No application configured for scope type 'lifespan')",
        True,
    )
    assert got[f"GET {path}"] == got[f"GET {path} {LEAST}"] == (answer, True)
    assert all(ok for _, ok in got.values())
    # NOTE: real: www.rst, http.response.start: "Header names must be
    # lowercased". The consumer passes on the (b"Content-Type", ...) its docs
    # wrote; AsgiHandler passes on Django's spelling, as Django's own
    # ASGIHandler still does (test_validate.py). Harmless over HTTP/1.1.
    assert rules(report) == {
        "http.header-name-case": [
            f"GET {path}",
            f"HEAD {path}",
            f"POST {path} (chunked body)",
            f"GET {path} {LEAST}",
        ]
    }
    assert {f["detail"] for f in report["findings"]} == {
        "header name b'Content-Type' is not lowercase"
    }
    assert report["exit_code"] == 1


def test_channels_2_websocket_consumer_echoes(installed: Installer) -> None:
    report = run_check(installed(CHANNELS), CHANNELS.target, "/")
    got = {name: outcome for name, outcome, _ in scenarios(report)}
    echoed = "accepted, sent 1 message(s), returned after the close"
    assert got["WebSocket /"] == got[f"WebSocket / {LEAST}"] == echoed
    assert got["unknown scope type"] == (
        "rejected it: raised ValueError: No application configured for scope type"
        " 'trane.check.unknown'"
    )


# -- served by modern servers, through trane.as_asgi3 -------------------------------------

#: (legacy, method, path, the answer's status and body) for one real request each.
REQUESTS = [
    (STARLETTE, "POST", "/", 200, '{"received":100}'),
    (QUART, "POST", "/", 200, "received 100 bytes"),
    (APISTAR, "POST", "/", 200, '{"received":100}'),
    (CHANNELS, "POST", "/", 200, "received 100 bytes"),
    (CHANNELS, "POST", "/django/", 200, "received 100 bytes"),
]
#: Each server's options. uvicorn is told the app is ASGI 3 and hypercorn would
#: take it for WSGI: the legacy app runs there only through trane.as_asgi3
#: (tests/legacy_apps/legacy_asgi3.py).
OPTIONS = {"uvicorn": ("--interface", "asgi3"), "hypercorn": (), "daphne": ()}


@contextlib.contextmanager
def served(installed: Installer, legacy: Legacy, server: str) -> Iterator[Server]:
    env = {
        "PYTHONPATH": python_path(installed(legacy)),
        "LEGACY_APP": legacy.target,
        # What channels2_app sets by default; other tests set it in this process.
        "DJANGO_SETTINGS_MODULE": "channels2_settings",
    }
    with serve(server, "legacy_asgi3:app", *OPTIONS[server], env=env) as running:
        yield running


@pytest.mark.parametrize("server", ["uvicorn", "hypercorn"])
@pytest.mark.parametrize("legacy", LEGACY, ids=lambda legacy: legacy.name)
def test_legacy_app_served_through_as_asgi3(
    installed: Installer, legacy: Legacy, server: str
) -> None:
    with served(installed, legacy, server) as running:
        for _, method, path, status, body in [r for r in REQUESTS if r[0] is legacy]:
            response = httpx.request(method, running.url + path, content=b"x" * 100, timeout=10)
            assert (response.status_code, response.text) == (status, body), running.output()


async def test_quart_08_on_real_servers(installed: Installer) -> None:
    # What the checker's findings on Quart 0.8 mean on real servers.
    with served(installed, QUART, "uvicorn") as running:
        async with connect(f"{running.ws_url}/ws", open_timeout=10) as ws:
            await ws.send("hi")
            assert await ws.recv() == "echo hi"
        # uvicorn offers websocket.http.response: Quart answers its 400 there.
        with pytest.raises(InvalidStatus) as info:
            async with connect(f"{running.ws_url}/", open_timeout=10):
                pass
        assert info.value.response.status_code == 400
    # daphne sends no "scheme" in a WebSocket scope (www.rst: optional,
    # default "ws"): Quart 0.8 raises KeyError, every WebSocket is a 500.
    with served(installed, QUART, "daphne") as running:
        with pytest.raises(InvalidStatus) as info:
            async with connect(f"{running.ws_url}/ws", open_timeout=10):
                pass
        assert info.value.response.status_code == 500
        assert "KeyError: 'scheme'" in running.output()
