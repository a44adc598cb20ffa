"""``python -m trane check``: the callers table, the scenarios, the exit codes.

The command is run for real (a subprocess) on the examples and on the broken
app in check_apps.py; the branches of each scenario are driven in-process
with tiny apps whose every behaviour is chosen by the test.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import runpy
import subprocess
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from examples import demo, legacy

import check_apps
from servers import PYTHON, ROOT
from trane import __main__ as cli
from trane import check
from trane.types import Message, Receive, Scope, Send


def run_check(*args: str) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": f"{ROOT}:{ROOT / 'src'}:{ROOT / 'tests'}", "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [PYTHON, "-m", "trane", "check", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


# -- the command, for real ------------------------------------------------------


def test_check_legacy_example_is_clean() -> None:
    done = run_check("examples.legacy:LegacyApp")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert out.startswith("examples.legacy:LegacyApp: ASGI 2 (a class: Class(scope)")
    assert "  uvicorn (auto)                  ASGI 2              works\n" in out
    hypercorn = "  hypercorn                       ASGI 3              FAILS - fix: "
    assert hypercorn + "serve trane.as_asgi3(app)\n" in out
    assert (
        "ok   WebSocket /                             not supported (raised AssertionError" in out
    )
    assert "ok   unknown scope type                      rejected it" in out
    assert out.endswith("No ASGI spec violations.\n")


def test_check_adapted_legacy_example_runs_everywhere_but_starlette_route() -> None:
    done = run_check("examples.legacy:app", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["style"] == "ASGI 3"
    failing = {c["name"]: c["fix"] for c in report["callers"] if not c["works"]}
    assert failing == {
        "uvicorn --interface asgi2": "drop --interface asgi2, or serve trane.as_asgi2(app)",
        "starlette Route": "use Mount(path, app): Route calls a function as endpoint(request)",
    }
    assert report["findings"] == []
    assert report["exit_code"] == 0


def test_check_demo_reports_clean_as_json() -> None:
    done = run_check("examples.demo:app", "--json", "--path", "/hello/ann")
    assert done.returncode == 0, done.stdout
    report = json.loads(done.stdout)
    assert report["exit_code"] == 0
    assert [s["outcome"] for s in report["scenarios"]][:3] == [
        "lifespan.startup.complete",
        "200, 11 body bytes",  # Hello, ann!
        "200, 0 body bytes",
    ]
    assert all(s["ok"] for s in report["scenarios"])
    # NOTE: the Router once added keys to the server's scope in place (see test_validate).
    assert report["findings"] == []


def test_check_broken_app() -> None:
    done = run_check("tests.check_apps:broken")
    assert done.returncode == 1
    out = done.stdout
    for rule in (
        "asgi.scope-mutated",
        "http.status",
        "http.header-name-case",
        "http.body-type",
        "websocket.send-before-accept",
        "websocket.connect-unanswered",
        "lifespan.unanswered",
    ):
        assert f"  [{rule}] " in out, rule
    assert "BAD  unknown scope type                      returned without raising" in out
    assert "BAD  WebSocket /                             returned without answering the" in out
    assert "      fix (app): give 'body' as bytes (encode str first)\n" in out
    assert "      seen in: GET /, HEAD /, POST / (chunked body), POST / (client leaves" in out


@pytest.mark.parametrize(
    ("target", "error"),
    [
        ("nosuchmodule:app", "trane: error: could not import module 'nosuchmodule'\n"),
        (
            "tests.check_apps:nope",
            "trane: error: module 'tests.check_apps' has no attribute 'nope'\n",
        ),
        (
            "tests.check_apps:not_an_app",
            "trane: error: 'tests.check_apps:not_an_app' is a int, not an app\n",
        ),
        (
            "tests.check_import_error:app",
            "trane: error: importing 'tests.check_import_error:app' raised "
            "RuntimeError('this module cannot be imported')\n",
        ),
    ],
)
def test_check_unloadable_target_exits_2(target: str, error: str) -> None:
    done = run_check(target)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", error)


def test_check_in_process_main(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["check", "check_apps:fine"]) == 0
    out = capsys.readouterr().out
    assert "  ok   GET /                                   200, 4 body bytes\n" in out
    assert "lifespan startup                        not supported (raised ValueError" in out
    assert "lifespan shutdown" not in out  # never started


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["check", "nosuch:app"], 2),
        (["check", "check_apps:not_an_app"], 2),
        (["check", "check_import_error:app"], 2),
    ],
)
def test_check_in_process_load_errors(argv: list[str], code: int) -> None:
    assert cli.main(argv) == code


# -- the callers table ------------------------------------------------------------


class AwaitableClass:
    """A Starlette-endpoint-style ASGI 3 class: Class(scope, receive, send) is awaited."""

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope = scope

    def __await__(self) -> Any:
        return asyncio.sleep(0).__await__()


class AsyncCall:
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """An ASGI 3 object."""

    async def method(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A bound async method is an ASGI 3 app too."""


class SyncCall:
    def __call__(self, scope: Scope) -> Callable[[Receive, Send], Awaitable[None]]:
        return functools.partial(AsyncCall(), scope)


async def odd_names(s: Scope, r: Receive, w: Send) -> None:
    """ASGI 3, but daphne's Server calls it with keywords."""


def plain_function(scope: Scope) -> Callable[[Receive, Send], Awaitable[None]]:
    return functools.partial(AsyncCall(), scope)


def table(app: Any) -> dict[str, tuple[str, bool, str]]:
    return {c.name: (c.calls_as, c.works, c.fix) for c in check.callers(app)}


def test_style_reads_hints_then_the_object() -> None:
    assert check.style(legacy.LegacyApp) == (
        check.ASGI2,
        "a class: Class(scope) makes the instance",
    )
    assert check.style(demo.Hello)[1] == "marked _asgi_double_callable"
    assert check.style(demo.app)[1] == "marked _asgi_single_callable"
    assert check.style(AwaitableClass)[0] == check.ASGI3
    assert check.style(check_apps.fine) == (check.ASGI3, "an async function")
    assert check.style(plain_function)[0] == check.ASGI2
    assert check.style(AsyncCall().method)[0] == check.ASGI3
    assert check.style(AsyncCall()) == (check.ASGI3, "an object with an async __call__")
    assert check.style(SyncCall()) == (check.ASGI2, "an object with a plain __call__(scope)")


def test_callers_for_a_trane_router() -> None:
    rows = table(demo.router)
    assert rows["uvicorn (auto)"] == (check.ASGI2, True, "")
    assert rows["hypercorn"] == (check.WSGI, False, "serve trane.as_asgi3(app)")
    assert rows["daphne (command line)"] == (check.ASGI2, True, "")
    assert rows["granian --interface asgi"][1:] == (False, "serve trane.as_asgi3(app)")
    assert rows["starlette Route"] == (check.ASGI3, False, "serve trane.as_asgi3(app)")


def test_callers_for_an_awaitable_class() -> None:
    rows = table(AwaitableClass)
    assert rows["uvicorn (auto)"] == (check.ASGI3, True, "")
    assert rows["hypercorn"] == (
        check.WSGI,
        False,
        check._fix("hypercorn", check.WSGI, check.ASGI3),
    )
    # asgiref (so daphne) reads every class as ASGI 2.
    assert rows["daphne (command line)"] == (
        check.ASGI2,
        False,
        "mark it _asgi_single_callable = True (or serve an async def app(scope, receive, send))",
    )
    assert rows["daphne Server(application=...)"][1] is True


def test_callers_for_odd_functions() -> None:
    assert table(odd_names)["daphne Server(application=...)"] == (
        check.ASGI3_KEYWORDS,
        False,
        "name the parameters scope, receive, send (or serve trane.as_asgi3 of a class)",
    )
    assert table(plain_function)["starlette Route"] == (
        check.HANDLER,
        False,
        "use Mount(path, trane.as_asgi3(app)): Route calls a function as endpoint(request)",
    )
    assert table(plain_function)["uvicorn (auto)"] == (check.ASGI2, True, "")
    assert table(functools.partial(odd_names))["starlette Route"][0] == check.HANDLER
    assert table(AsyncCall())["hypercorn"] == (check.ASGI3, True, "")
    assert table(AsyncCall())["starlette Route"] == (check.ASGI3, True, "")


# -- the scenarios, branch by branch ------------------------------------------------

Behaviour = Callable[[Scope, Receive, Send], Awaitable[None]]


async def _nothing(scope: Scope, receive: Receive, send: Send) -> None:
    """Return at once."""


async def _hang(scope: Scope, receive: Receive, send: Send) -> None:
    await asyncio.Event().wait()


async def _raise(scope: Scope, receive: Receive, send: Send) -> None:
    raise LookupError("nope")


async def _answer(scope: Scope, receive: Receive, send: Send) -> None:
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 204})
    await send({"type": "http.response.body"})
    assert (await receive())["type"] == "http.disconnect"  # once the response is out


def app_of(**behaviours: Behaviour) -> Behaviour:
    """An app doing ``behaviours[scope type]``; a missing type raises."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"].replace(".", "_")
        await behaviours.get(kind, _raise)(scope, receive, send)

    return app


def lifespan_replying(startup: Message, shutdown: Behaviour | None = None) -> Behaviour:
    async def life(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send(startup)
        if shutdown is not None:
            await receive()
            await shutdown(scope, receive, send)
        else:
            await receive()
            await send({"type": "lifespan.shutdown.complete"})

    return life


async def _http_ok(scope: Scope, receive: Receive, send: Send) -> None:
    logging.getLogger("trane.validate").warning("not a violation: no finding")
    await send({"type": "http.response.start", "status": 200})
    await send({"type": "http.response.body", "body": b"ok"})


async def _http_leave_raises(scope: Scope, receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionError("client left")
        if not message.get("more_body"):
            break
    await _http_ok(scope, receive, send)


async def _ws_echo(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "websocket.accept"})
    while (message := await receive())["type"] == "websocket.receive":
        await send({"type": "websocket.send", "text": message["text"]})


async def _ws_deny(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "websocket.close", "code": 1008})


async def _ws_crash(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": 1011})
    raise RuntimeError("crash after accept")


async def _ws_stay(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "websocket.accept"})
    await asyncio.Event().wait()


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(check, "TIMEOUT", 0.5)
    monkeypatch.setattr(check, "UNKNOWN_TIMEOUT", 0.2)


def outcomes(app: Any) -> dict[str, tuple[str, bool]]:
    report = check.check(app, "test:app")
    return {s.name: (s.outcome, s.ok) for s in report.scenarios}


STARTED: Message = {"type": "lifespan.startup.complete"}


@pytest.mark.usefixtures("quick")
def test_scenarios_of_a_good_app() -> None:
    app = app_of(lifespan=lifespan_replying(STARTED), http=_http_leave_raises, websocket=_ws_echo)
    report = check.check(app, "test:app")
    assert {s.name: (s.outcome, s.ok) for s in report.scenarios} == {
        "lifespan startup": ("lifespan.startup.complete", True),
        "GET /": ("200, 2 body bytes", True),
        "HEAD /": ("200, 2 body bytes", True),
        "POST / (chunked body)": ("200, 2 body bytes", True),
        "POST / (client leaves mid-body)": (
            "raised ConnectionError: client left after the client left",
            True,
        ),
        "WebSocket /": ("accepted, sent 1 message(s), returned after the close", True),
        "GET / (required scope keys only)": ("200, 2 body bytes", True),
        "WebSocket / (required scope keys only)": (
            "accepted, sent 1 message(s), returned after the close",
            True,
        ),
        "unknown scope type": ("rejected it: raised LookupError: nope", True),
        "lifespan shutdown": ("lifespan.shutdown.complete", True),
    }
    assert report.exit_code == 0
    assert report.to_text().endswith("No ASGI spec violations.")


@pytest.mark.usefixtures("quick")
def test_scenarios_of_a_hanging_app() -> None:
    app = app_of(lifespan=_hang, http=_hang, websocket=_ws_stay, trane_check_unknown=_hang)
    got = outcomes(app)
    assert got["lifespan startup"] == ("no reply within 0.5s", False)
    assert got["GET /"] == ("still running after 0.5s", False)
    assert got["WebSocket /"] == ("still running 0.5s after the client left", False)
    assert got["unknown scope type"] == (
        "waited instead of raising (asgi.rst: reject unknown protocols)",
        False,
    )


@pytest.mark.usefixtures("quick")
def test_scenarios_of_a_crashing_app() -> None:
    app = app_of(lifespan=lifespan_replying(STARTED, _raise), http=_raise, websocket=_ws_crash)
    got = outcomes(app)
    assert got["GET /"] == ("raised LookupError: nope", False)
    assert got["WebSocket /"] == ("raised RuntimeError: crash after accept", False)
    assert got["lifespan shutdown"] == ("not supported (raised LookupError: nope)", False)


@pytest.mark.usefixtures("quick")
def test_scenarios_of_a_quiet_app() -> None:
    app = app_of(lifespan=_nothing, http=_nothing, websocket=_ws_deny, trane_check_unknown=_nothing)
    report = check.check(app, "test:app")
    got = {s.name: (s.outcome, s.ok) for s in report.scenarios}
    assert got["lifespan startup"] == ("returned without a reply (lifespan not supported)", True)
    assert got["GET /"] == ("None, 0 body bytes", False)
    assert got["POST / (client leaves mid-body)"] == ("returned after the client left", True)
    assert got["WebSocket /"] == ("denied the connection", True)
    assert got["unknown scope type"][1] is False
    assert {f.rule for f in report.findings} == {"http.no-response"}


@pytest.mark.usefixtures("quick")
def test_scenarios_of_an_app_that_fails_startup() -> None:
    failed = {"type": "lifespan.startup.failed", "message": "no database"}
    app = app_of(lifespan=lifespan_replying(failed), http=_answer, websocket=_nothing)
    got = outcomes(app)
    assert got["lifespan startup"] == ("lifespan.startup.failed: no database", False)
    assert got["GET /"] == ("204, 0 body bytes", True)
    assert got["WebSocket /"] == ("returned without answering the handshake", False)
    assert "lifespan shutdown" not in got


async def _http_needs_scheme(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200 if scope["scheme"] else 400})
    await send({"type": "http.response.body", "body": b"ok"})


async def _http_hides_its_error(scope: Scope, receive: Receive, send: Send) -> None:
    # A framework that answers 500 for its own KeyError, as an error handler does.
    status = 200 if "client" in scope else 500
    await send({"type": "http.response.start", "status": status})
    await send({"type": "http.response.body", "body": b"ok"})


async def _ws_needs_subprotocols(scope: Scope, receive: Receive, send: Send) -> None:
    assert scope["subprotocols"] == []  # the check offers none
    await _ws_echo(scope, receive, send)


async def _ws_raises_other_key_errors(scope: Scope, receive: Receive, send: Send) -> None:
    if "scheme" not in scope:
        raise KeyError("path")  # an optional key is missing, but this is another
    raise KeyError(["unhashable"])


@pytest.mark.usefixtures("quick")
def test_scenarios_with_only_the_required_scope_keys() -> None:
    # www.rst: "scheme", "subprotocols" and others are optional, with a default;
    # daphne sends no "scheme" in a WebSocket scope. An app that needs one fails there.
    app = app_of(http=_http_needs_scheme, websocket=_ws_needs_subprotocols)
    report = check.check(app, "test:app")
    got = {s.name: (s.outcome, s.ok) for s in report.scenarios}
    assert got["GET /"] == ("200, 2 body bytes", True)
    assert got["GET / (required scope keys only)"] == (
        "raised KeyError for the optional scope['scheme']",
        False,
    )
    assert got["WebSocket /"][1] is True
    assert got["WebSocket / (required scope keys only)"] == (
        "raised KeyError for the optional scope['subprotocols']",
        False,
    )
    assert [(f.scenario, f.rule, f.side, f.detail, f.fix) for f in report.findings] == [
        (
            "GET / (required scope keys only)",
            "asgi.optional-scope-key",
            "app",
            "the app raised KeyError for scope['scheme'], which www.rst makes optional"
            ' (default "http")',
            """read it with its default: scope.get('scheme', "http")""",
        ),
        (
            "WebSocket / (required scope keys only)",
            "asgi.optional-scope-key",
            "app",
            "the app raised KeyError for scope['subprotocols'], which www.rst makes optional"
            " (default [])",
            "read it with its default: scope.get('subprotocols', [])",
        ),
    ]
    assert report.exit_code == 1


@pytest.mark.usefixtures("quick")
def test_scenarios_with_only_the_required_scope_keys_other_failures() -> None:
    app = app_of(http=_http_hides_its_error, websocket=_ws_raises_other_key_errors)
    report = check.check(app, "test:app")
    got = {s.name: (s.outcome, s.ok) for s in report.scenarios}
    assert got["GET / (required scope keys only)"] == (
        "500, 2 body bytes (with every key: 200)",
        False,
    )
    # Not about an optional key: the app does not take WebSockets, as before.
    assert got["WebSocket / (required scope keys only)"] == (
        "not supported (raised KeyError: 'path')",
        True,
    )
    assert got["WebSocket /"] == ("not supported (raised KeyError: ['unhashable'])", True)
    assert report.findings == []


def test_report_json_round_trips() -> None:
    report = check.Report("m:app", check.ASGI2, "why")
    report.scenarios.append(check.Scenario("GET /", "200", True))
    report.findings.append(check.Finding("GET /", "http.status", "app", "bad", "", "fix it"))
    data = json.loads(report.to_json())
    assert data["exit_code"] == 1
    assert data["findings"][0]["rule"] == "http.status"
    report.callers.append(check.Caller("uvicorn (auto)", check.ASGI2, True))
    text = report.to_text()
    assert "  [http.status] bad\n      seen in: GET /\n      fix (app): fix it" in text


def test_python_m_trane_exits_with_main_s_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["trane", "check", "check_apps:not_an_app"])
    monkeypatch.delitem(sys.modules, "trane.__main__")  # run afresh, as python -m does
    with pytest.raises(SystemExit) as info:
        runpy.run_module("trane.__main__", run_name="__main__")
    assert info.value.code == 2


def test_an_exception_without_a_message_is_named_alone() -> None:
    # Starlette 0.11 raises a bare ClientDisconnect() (tests/test_check_legacy.py):
    # its outcome reads "raised ClientDisconnect", not "raised ClientDisconnect: ".
    assert check._raised(ConnectionError()) == "raised ConnectionError"
    assert check._raised(LookupError("nope")) == "raised LookupError: nope"
