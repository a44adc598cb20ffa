"""``python -m trane check module:app``: will this app run there, and does it keep the spec?

How this works
--------------
Two halves, both on an app already loaded:

* ``callers(app)`` reads the app the way each server and router does. They
  disagree: each decides "ASGI 2 or ASGI 3?" with its own rule, mirrored in
  one small function below that cites the installed code it copies. A
  caller works when the way it calls the app is the way the app wants to be
  called (``style(app)``: the hints asgiref defines, then uvicorn's rule);
  otherwise the row carries the fix, usually ``trane.as_asgi3(app)``.
* ``scenarios(app)`` drives the app in-process, wrapped in
  ``trane.validate(strict=False)``, through fixed scenarios: lifespan startup,
  GET, HEAD, a POST with a chunked body, a client that leaves mid-body, a
  WebSocket connect/message/close, a GET and a WebSocket again with only the
  scope keys www.rst requires (``OPTIONAL_KEYS`` left out, as some servers
  do), a scope type nobody knows, lifespan shutdown. Every ``ASGIViolation``
  logged meanwhile becomes a finding, and so does a KeyError the app raised
  for an optional key left out (``asgi.optional-scope-key``, the checker's
  own rule: ``validate`` cannot tell whose KeyError it sees).
  What the spec allows is not a failure: an app may raise on a lifespan or
  WebSocket scope it does not support, or deny a WebSocket; it should raise
  on the unknown scope type (asgi.rst, "Protocol Specifications").

``Report.exit_code`` is 0 with no finding and no failed scenario, else 1;
the callers table is advice (the fix for each row), not a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Final

from .compat import as_asgi3, is_double_callable
from .types import ASGI3App, Message, Receive, Scope, Send
from .validate import ASGIViolation, validate

ASGI2: Final = "ASGI 2"  # app(scope), then await instance(receive, send)
ASGI3: Final = "ASGI 3"  # await app(scope, receive, send)
ASGI3_KEYWORDS: Final = "ASGI 3, by keyword"  # await app(scope=, receive=, send=)
WSGI: Final = "WSGI"  # app(environ, start_response)
HANDLER: Final = "request handler"  # Starlette: await endpoint(request) -> Response

TIMEOUT = 5.0  # seconds a scenario may take before it is a failure
UNKNOWN_TIMEOUT = 1.0  # seconds an app may wait on a scope type it does not know


# -- how each server and router calls an app ---------------------------------


def _coroutine_call(app: Any) -> bool:
    # NOTE: the servers read __call__ itself (a class's is its instances' method).
    return inspect.iscoroutinefunction(getattr(app, "__call__", None))  # noqa: B004


def style(app: Any) -> tuple[str, str]:
    """(ASGI2 or ASGI3, why): how ``app`` wants to be called.

    The hints asgiref defines come first, then uvicorn's reading of the object.
    """
    if getattr(app, "_asgi_single_callable", False):
        return ASGI3, "marked _asgi_single_callable"
    if getattr(app, "_asgi_double_callable", False):
        return ASGI2, "marked _asgi_double_callable"
    if inspect.isclass(app):
        if hasattr(app, "__await__"):
            return ASGI3, "a class with __await__: Class(scope, receive, send) is awaited"
        return ASGI2, "a class: Class(scope) makes the instance"
    if inspect.isfunction(app) or inspect.ismethod(app):
        if inspect.iscoroutinefunction(app):
            return ASGI3, "an async function"
        return ASGI2, "a plain function: app(scope) returns the instance"
    if _coroutine_call(app):
        return ASGI3, "an object with an async __call__"
    return ASGI2, "an object with a plain __call__(scope)"


def _uvicorn_auto(app: Any) -> str:
    # uvicorn/config.py, Config.load(), interface "auto": hints are not read.
    if inspect.isclass(app):
        return ASGI3 if hasattr(app, "__await__") else ASGI2
    if inspect.isfunction(app):
        return ASGI3 if inspect.iscoroutinefunction(app) else ASGI2
    return ASGI3 if _coroutine_call(app) else ASGI2


def _uvicorn_asgi2(app: Any) -> str:
    # uvicorn/middleware/asgi2.py, ASGI2Middleware.__call__: app(scope)(receive, send).
    return ASGI2


def _hypercorn(app: Any) -> str:
    # hypercorn/utils.py, is_asgi() then app_wrappers.ASGIWrapper.__call__:
    # an async function or async __call__ is ASGI 3, anything else is WSGI.
    if inspect.iscoroutinefunction(app) or _coroutine_call(app):
        return ASGI3
    return WSGI


def _granian(app: Any) -> str:
    # granian/asgi.py, _callback_wrapper(): callback(scope, proto.receive, proto.send).
    return ASGI3


def _daphne_cli(app: Any) -> str:
    # daphne/cli.py, CommandLineInterface.run(): asgiref's guarantee_single_callable.
    return ASGI2 if is_double_callable(app) else ASGI3


def _daphne_server(app: Any) -> str:
    # daphne/server.py, Server.create_application(): self.application(scope=...,
    # receive=..., send=...); no adapter, keywords.
    return ASGI3_KEYWORDS


def _channels_router(app: Any) -> str:
    # channels/routing.py, URLRouter.__call__ (and ProtocolTypeRouter):
    # await application(dict(scope, ...), receive, send).
    return ASGI3


def _starlette_mount(app: Any) -> str:
    # starlette/routing.py, Mount.handle(): await self.app(scope, receive, send).
    return ASGI3


def _starlette_route(app: Any) -> str:
    # starlette/routing.py, Route.__init__(): a function or method (partials
    # unwrapped) is a request handler; anything else is called as ASGI 3.
    handler = app
    while isinstance(handler, functools.partial):
        handler = handler.func
    if inspect.isfunction(handler) or inspect.ismethod(handler):
        return HANDLER
    return ASGI3


CALLERS: Final[dict[str, Callable[[Any], str]]] = {
    "uvicorn (auto)": _uvicorn_auto,
    "uvicorn --interface asgi2": _uvicorn_asgi2,
    "hypercorn": _hypercorn,
    "granian --interface asgi": _granian,
    "daphne (command line)": _daphne_cli,
    "daphne Server(application=...)": _daphne_server,
    "channels URLRouter": _channels_router,
    "starlette Mount": _starlette_mount,
    "starlette Route": _starlette_route,
}


@dataclass
class Caller:
    name: str
    calls_as: str
    works: bool
    fix: str = ""


def _takes_keywords(app: Any) -> bool:
    try:
        inspect.signature(app).bind(scope=None, receive=None, send=None)
    except TypeError:
        return False
    except ValueError:  # pragma: no cover - a builtin without a signature: assume so
        return True
    return True


def _fix(name: str, calls_as: str, wants: str) -> str:
    """What makes the call work, for a caller that calls ``calls_as`` an app wanting ``wants``."""
    if calls_as == HANDLER:
        wrap = "app" if wants == ASGI3 else "trane.as_asgi3(app)"
        return f"use Mount(path, {wrap}): Route calls a function as endpoint(request)"
    if wants == ASGI2:
        return "serve trane.as_asgi3(app)"
    if name.startswith("uvicorn --interface"):
        return "drop --interface asgi2, or serve trane.as_asgi2(app)"
    if calls_as == ASGI3_KEYWORDS:
        return "name the parameters scope, receive, send (or serve trane.as_asgi3 of a class)"
    return "mark it _asgi_single_callable = True (or serve an async def app(scope, receive, send))"


def callers(app: Any) -> list[Caller]:
    """How each server and router in ``CALLERS`` will call ``app``, and whether that works."""
    wants, _ = style(app)
    rows = []
    for name, how in CALLERS.items():
        calls_as = how(app)
        works = calls_as == wants or (
            calls_as == ASGI3_KEYWORDS and wants == ASGI3 and _takes_keywords(app)
        )
        rows.append(Caller(name, calls_as, works, "" if works else _fix(name, calls_as, wants)))
    return rows


# -- the in-process scenarios -----------------------------------------------------


@dataclass
class Scenario:
    name: str
    outcome: str
    ok: bool


@dataclass
class Finding:
    scenario: str
    rule: str
    side: str
    detail: str
    message: str
    fix: str


class _Collect(logging.Handler):
    """Keeps the ASGIViolation of each record ``trane.validate`` logs."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.violations: list[ASGIViolation] = []

    def emit(self, record: logging.LogRecord) -> None:
        violation = getattr(record, "violation", None)
        if isinstance(violation, ASGIViolation):
            self.violations.append(violation)


def _raised(exc: BaseException) -> str:
    text = str(exc)
    return f"raised {type(exc).__name__}: {text}" if text else f"raised {type(exc).__name__}"


#: The scope keys www.rst makes optional, with the default an app must assume
#: when one is missing (``state`` aside: without it a server simply has no
#: lifespan state). The "required scope keys only" scenarios leave them out:
#: daphne, for one, sends no ``scheme`` in a WebSocket scope.
OPTIONAL_KEYS: Final[dict[str, dict[str, str]]] = {
    "http": {
        "scheme": '"http"',
        "raw_path": "None",
        "root_path": '""',
        "client": "None",
        "server": "None",
    },
    "websocket": {
        "http_version": '"1.1"',
        "scheme": '"ws"',
        "raw_path": "None",
        "query_string": 'b""',
        "root_path": '""',
        "client": "None",
        "server": "None",
        "subprotocols": "[]",
    },
}
OPTIONAL_KEY: Final = "asgi.optional-scope-key"  # a finding of the checker, not of validate
LEAST: Final = "required scope keys only"


def _required_only(scope: Scope) -> Scope:
    optional = OPTIONAL_KEYS[scope["type"]]
    return {key: value for key, value in scope.items() if key not in optional}


async def _required_keys_only(
    app: ASGI3App, protocol: str, run: Callable[[ASGI3App], Awaitable[tuple[str, bool]]]
) -> tuple[tuple[str, bool], tuple[str, str] | None]:
    """``run(app)`` with a scope made by ``_required_only``: (outcome, (protocol, key)
    when the app raised KeyError for an optional key left out)."""
    needed: list[str] = []

    async def noting(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await app(scope, receive, send)
        except KeyError as exc:
            key = exc.args[0] if exc.args else None
            if isinstance(key, str) and key in OPTIONAL_KEYS[protocol] and key not in scope:
                needed.append(key)
            raise

    outcome = await run(noting)
    if not needed:
        return outcome, None
    key = needed[0]
    return (f"raised KeyError for the optional scope[{key!r}]", False), (protocol, key)


def _http_scope(method: str, path: str, state: dict[str, Any], headers: list[Any]) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"trane-check"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": dict(state),
    }


async def _http(
    app: ASGI3App,
    method: str,
    path: str,
    state: dict[str, Any],
    chunks: tuple[bytes, ...] = (),
    leave: bool = False,
    least: bool = False,
) -> tuple[str, bool]:
    """One request; ``leave``: the client goes away after the first chunk;
    ``least``: the scope has only the keys the spec requires."""
    headers = [(b"content-type", b"text/plain")] if chunks else []
    if chunks and not leave:
        headers.append((b"content-length", str(sum(map(len, chunks))).encode()))
    scope = _http_scope(method, path, state, headers)
    if least:
        scope = _required_only(scope)
    parts = list(chunks) or [b""]
    sent: list[Message] = []
    complete = asyncio.Event()

    async def receive() -> Message:
        # A leaving client sends its first chunk only, then is gone.
        if parts and not (leave and len(parts) < len(chunks)):
            chunk = parts.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(parts)}
        if not leave:
            await complete.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)
        if message.get("type") == "http.response.body" and not message.get("more_body"):
            complete.set()

    try:
        await asyncio.wait_for(app(scope, receive, send), TIMEOUT)
    except TimeoutError:
        return f"still running after {TIMEOUT:g}s", False
    except Exception as exc:
        # NOTE: raising once the client is gone is how many frameworks unwind.
        return _raised(exc) + (" after the client left" if leave else ""), leave
    status = next((m.get("status") for m in sent if m.get("type") == "http.response.start"), None)
    size = sum(len(m.get("body") or b"") for m in sent if m.get("type") == "http.response.body")
    if leave:
        return "returned after the client left", True
    return f"{status}, {size} body bytes", status is not None


async def _websocket(
    app: ASGI3App, path: str, state: dict[str, Any], least: bool = False
) -> tuple[str, bool]:
    """Connect, send "hello", take what comes for a moment, then disconnect."""
    scope: Scope = {**_http_scope("GET", path, state, []), "type": "websocket", "scheme": "ws"}
    del scope["method"]
    scope["subprotocols"] = []
    if least:
        scope = _required_only(scope)
    incoming: asyncio.Queue[Message] = asyncio.Queue()
    incoming.put_nowait({"type": "websocket.connect"})
    answer: list[str] = []
    replies = 0
    loop = asyncio.get_running_loop()

    def leave() -> None:
        incoming.put_nowait({"type": "websocket.disconnect", "code": 1000})

    async def send(message: Message) -> None:
        nonlocal replies
        kind = message.get("type")
        if kind == "websocket.accept" and not answer:
            answer.append("accepted")
            incoming.put_nowait({"type": "websocket.receive", "text": "hello"})
            loop.call_later(0.3, leave)
        elif kind in ("websocket.close", "websocket.http.response.start") and not answer:
            answer.append("denied")
        elif kind == "websocket.send":
            replies += 1

    try:
        await asyncio.wait_for(app(scope, incoming.get, send), TIMEOUT)
    except TimeoutError:
        return f"still running {TIMEOUT:g}s after the client left", False
    except Exception as exc:
        if not answer:  # the spec's way to say "no WebSocket here"
            return f"not supported ({_raised(exc)})", True
        return _raised(exc), False
    if not answer:
        return "returned without answering the handshake", False
    if answer[0] == "denied":
        return "denied the connection", True
    return f"accepted, sent {replies} message(s), returned after the close", True


class _Lifespan:
    """The lifespan task, kept running between startup and shutdown."""

    def __init__(self, app: ASGI3App) -> None:
        self.state: dict[str, Any] = {}
        self.incoming: asyncio.Queue[Message] = asyncio.Queue()
        self.replies: asyncio.Queue[Message] = asyncio.Queue()
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}
        scope["state"] = self.state
        self.task = asyncio.ensure_future(app(scope, self.incoming.get, self.replies.put))
        self.running = False

    async def event(self, kind: str) -> tuple[str, bool]:
        self.incoming.put_nowait({"type": kind})
        reply = asyncio.ensure_future(self.replies.get())
        done, _ = await asyncio.wait(
            {reply, self.task}, timeout=TIMEOUT, return_when="FIRST_COMPLETED"
        )
        if reply not in done:
            reply.cancel()
        if reply in done:
            message = reply.result()
            answer = str(message.get("type"))
            if answer.endswith(".failed"):
                return f"{answer}: {message.get('message', '')}", False
            self.running = answer == "lifespan.startup.complete"
            return answer, True
        if self.task in done:
            exc = self.task.exception()
            if exc is None:
                return "returned without a reply (lifespan not supported)", True
            return f"not supported ({_raised(exc)})", kind == "lifespan.startup"
        return f"no reply within {TIMEOUT:g}s", False

    async def stop(self) -> None:
        if not self.task.done():
            self.task.cancel()
        with contextlib.suppress(BaseException):
            await self.task


async def _unknown_scope(app: ASGI3App) -> tuple[str, bool]:
    scope = {"type": "trane.check.unknown", "asgi": {"version": "3.0"}}
    # Nothing ever arrives: receive() hands out futures nobody resolves.
    receive: Receive = asyncio.get_running_loop().create_future

    async def send(message: Message) -> None:
        """Whatever it sends goes nowhere."""

    try:
        await asyncio.wait_for(app(scope, receive, send), UNKNOWN_TIMEOUT)
    except TimeoutError:
        return "waited instead of raising (asgi.rst: reject unknown protocols)", False
    except Exception as exc:
        return f"rejected it: {_raised(exc)}", True
    return "returned without raising (asgi.rst: reject unknown protocols)", False


async def scenarios(app: Any, path: str = "/") -> tuple[list[Scenario], list[Finding]]:
    """Drive ``app`` in-process under ``trane.validate``; (scenarios, findings)."""
    checked = as_asgi3(validate(app, strict=False))
    collect = _Collect()
    logger = logging.getLogger("trane.validate")
    logger.addHandler(collect)
    results: list[Scenario] = []
    findings: list[Finding] = []

    def record(name: str, outcome: tuple[str, bool], needed: tuple[str, str] | None = None) -> None:
        results.append(Scenario(name, *outcome))
        if needed is not None:
            protocol, key = needed
            default = OPTIONAL_KEYS[protocol][key]
            detail = f"the app raised KeyError for scope[{key!r}], which www.rst makes optional"
            fix = f"read it with its default: scope.get({key!r}, {default})"
            findings.append(
                Finding(name, OPTIONAL_KEY, "app", f"{detail} (default {default})", "", fix)
            )
        for violation in collect.violations:
            shown = "" if violation.message is None else repr(violation.message)[:200]
            findings.append(
                Finding(
                    name, violation.rule, violation.side, violation.detail, shown, violation.fix
                )
            )
        collect.violations.clear()

    try:
        lifespan = _Lifespan(checked)
        record("lifespan startup", await lifespan.event("lifespan.startup"))
        state = lifespan.state
        full = await _http(checked, "GET", path, state)
        record(f"GET {path}", full)
        record(f"HEAD {path}", await _http(checked, "HEAD", path, state))
        chunks = (b"first,", b"second,", b"third")
        record(f"POST {path} (chunked body)", await _http(checked, "POST", path, state, chunks))
        record(
            f"POST {path} (client leaves mid-body)",
            await _http(checked, "POST", path, state, chunks, leave=True),
        )
        record(f"WebSocket {path}", await _websocket(checked, path, state))
        least = functools.partial(_http, method="GET", path=path, state=state, least=True)
        outcome, needed = await _required_keys_only(checked, "http", least)
        status, full_status = outcome[0].partition(",")[0], full[0].partition(",")[0]
        if outcome[1] and full[1] and status != full_status:  # a framework that hid the error
            outcome = (f"{outcome[0]} (with every key: {full_status})", False)
        record(f"GET {path} ({LEAST})", outcome, needed)
        least = functools.partial(_websocket, path=path, state=state, least=True)
        record(
            f"WebSocket {path} ({LEAST})", *await _required_keys_only(checked, "websocket", least)
        )
        record("unknown scope type", await _unknown_scope(checked))
        if lifespan.running:
            record("lifespan shutdown", await lifespan.event("lifespan.shutdown"))
        await lifespan.stop()
    finally:
        logger.removeHandler(collect)
    return results, findings


# -- the report -----------------------------------------------------------------------


@dataclass
class Report:
    target: str
    style: str
    why: str
    callers: list[Caller] = field(default_factory=list)
    scenarios: list[Scenario] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.findings or not all(s.ok for s in self.scenarios) else 0

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "exit_code": self.exit_code}, indent=2)

    def to_text(self) -> str:
        lines = [f"{self.target}: {self.style} ({self.why})", "", "How each server calls it:"]
        width = max(len(c.name) for c in self.callers)
        for c in self.callers:
            verdict = "works" if c.works else f"FAILS - fix: {c.fix}"
            lines.append(f"  {c.name:<{width}}  {c.calls_as:<18}  {verdict}")
        lines += ["", "Scenarios, under trane.validate:"]
        width = max(len(s.name) for s in self.scenarios)
        for s in self.scenarios:
            lines.append(f"  {'ok ' if s.ok else 'BAD'}  {s.name:<{width}}  {s.outcome}")
        lines.append("")
        if not self.findings:
            lines.append("No ASGI spec violations.")
            return "\n".join(lines)
        # The same violation in several scenarios is listed once.
        grouped: dict[tuple[str, str, str], list[Finding]] = {}
        for f in self.findings:
            grouped.setdefault((f.rule, f.detail, f.message), []).append(f)
        lines.append(f"{len(self.findings)} ASGI spec violation(s):")
        for (rule, detail, message), found in grouped.items():
            where = f" in {message}" if message else ""
            seen = ", ".join(dict.fromkeys(f.scenario for f in found))
            lines.append(f"  [{rule}] {detail}{where}")
            lines.append(f"      seen in: {seen}")
            lines.append(f"      fix ({found[0].side}): {found[0].fix}")
        return "\n".join(lines)


def check(app: Any, target: str, path: str = "/") -> Report:
    """The whole report on ``app`` (loaded from ``target``)."""
    wants, why = style(app)
    results, findings = asyncio.run(scenarios(app, path))
    return Report(target, wants, why, callers(app), results, findings)
