"""``trane.validate``: one broken app (or server) per rule, clean apps stay clean.

Each rule in ``RULES`` has a case below that breaks it and nothing else; the
case runs strict (``ASGIViolation`` with that rule id) and lenient (the rule
logged to ``trane.validate``, the message let through). Real apps, trane's
examples and third-party frameworks, run under the validator with the test
client; what a third-party app really does wrong is asserted as a finding.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import os
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import blacksheep
import pytest
from examples import chat, demo, files, inheritance, legacy

import trane
from trane import check as trane_check
from trane.compat import is_double_callable
from trane.testing import TestClient
from trane.types import Message, Receive, Scope, Send
from trane.validate import RULES, ASGIViolation

RECEIVE = "receive"  # a script step: await receive()
START: Message = {"type": "http.response.start", "status": 200, "headers": []}
BODY: Message = {"type": "http.response.body", "body": b"ok"}
PART: Message = {"type": "http.response.body", "body": b"ok", "more_body": True}
REQUEST: Message = {"type": "http.request", "body": b"", "more_body": False}
CONNECT: Message = {"type": "websocket.connect"}
ACCEPT: Message = {"type": "websocket.accept"}
CLOSE: Message = {"type": "websocket.close", "code": 1000}
DENY: Message = {"type": "websocket.http.response.start", "status": 403, "headers": []}
DENY_BODY: Message = {"type": "websocket.http.response.body", "body": b"no"}
STARTUP: Message = {"type": "lifespan.startup"}
SHUTDOWN: Message = {"type": "lifespan.shutdown"}
STARTED: Message = {"type": "lifespan.startup.complete"}
STOPPED: Message = {"type": "lifespan.shutdown.complete"}

Step = Message | str | Callable[[Scope], object]


def http_scope(**extra: Any) -> dict[str, Any]:
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", None),
        "state": {},
    }
    scope.update(extra)
    return scope


def ws_scope(**extra: Any) -> dict[str, Any]:
    scope = http_scope(**{"type": "websocket", "scheme": "ws", "subprotocols": ["chat"], **extra})
    del scope["method"]
    return scope


def life_scope(**extra: Any) -> dict[str, Any]:
    return {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}, **extra}


def offer(*names: str) -> dict[str, dict[str, object]]:
    return {name: {} for name in names}


def script(*steps: Step) -> Callable[[Scope, Receive, Send], Any]:
    """An ASGI 3 app that plays ``steps``: messages to send, receives, scope edits."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for step in steps:
            if step == RECEIVE:
                await receive()
            elif callable(step):
                step(scope)
            else:
                await send(step)  # type: ignore[arg-type]

    return app


@dataclass
class Server:
    """A scripted server: gives ``incoming`` in order, then ``then`` forever."""

    incoming: list[Message]
    then: Message | None = None
    sent: list[Message] = field(default_factory=list)

    async def receive(self) -> Message:
        if self.incoming:
            return self.incoming.pop(0)
        assert self.then is not None, "the app received more than the test gave"
        return dict(self.then)

    async def send(self, message: Message) -> None:
        self.sent.append(message)


def server_for(scope: Scope, incoming: list[Message] | None = None) -> Server:
    kind = scope.get("type")
    if kind == "http":
        return Server(
            [REQUEST] if incoming is None else list(incoming), {"type": "http.disconnect"}
        )
    if kind == "websocket":
        then = {"type": "websocket.disconnect", "code": 1000}
        return Server([CONNECT] if incoming is None else list(incoming), then)
    return Server(list(incoming or []))


@dataclass
class Case:
    scope: dict[str, Any]
    steps: tuple[Step, ...]
    incoming: list[Message] | None = None


def case(scope: dict[str, Any], *steps: Step, incoming: list[Message] | None = None) -> Case:
    return Case(scope, steps, incoming)


def _set(key: str, value: object) -> Callable[[Scope], object]:
    return lambda scope: scope.__setitem__(key, value)


class FileLike:
    """What http.response.zerocopysend needs of a file: a fileno()."""

    def fileno(self) -> int:
        return 0


PATHSEND = offer("http.response.pathsend")
WS_DENIAL = offer("websocket.http.response")

#: rule -> a case that breaks that rule (and no other before it).
BROKEN: dict[str, Case] = {
    "asgi.message-shape": case(http_scope(), ["http.response.start"]),  # type: ignore[arg-type]
    "asgi.scope-mutated": case(http_scope(), _set("path", "/other"), START, BODY),
    "asgi.scope-extended": case(http_scope(), _set("user", "ann"), START, BODY),
    "scope.shape": case({"path": "/"}),
    "scope.asgi": case(http_scope(asgi="3.0"), START, BODY),
    "scope.field": case(http_scope(path=b"/"), START, BODY),
    "scope.headers": case(http_scope(headers=[("host", "x")]), START, BODY),
    "http.unknown-send-type": case(http_scope(), {"type": "http.response.chunk"}),
    "http.status": case(http_scope(), {**START, "status": "200"}, BODY),
    "http.headers": case(http_scope(), {**START, "headers": [("a", "b")]}, BODY),
    "http.header-name-case": case(http_scope(), {**START, "headers": [(b"A", b"b")]}, BODY),
    "http.pseudo-header": case(http_scope(), {**START, "headers": [(b":status", b"200")]}, BODY),
    "http.body-type": case(http_scope(), START, {**BODY, "body": "text"}),
    "http.more-body-type": case(http_scope(), START, {**BODY, "more_body": 0}),
    "http.start-before-body": case(http_scope(), BODY),
    "http.start-twice": case(http_scope(), START, START, BODY),
    "http.after-final-body": case(http_scope(), START, BODY, BODY),
    "http.extension-not-offered": case(
        http_scope(), START, {"type": "http.response.pathsend", "path": "/x"}
    ),
    "http.extension-fields": case(
        http_scope(extensions=PATHSEND), START, {"type": "http.response.pathsend", "path": b"/"}
    ),
    "http.trailers-order": case(
        http_scope(extensions=offer("http.response.trailers")),
        START,
        {"type": "http.response.trailers", "headers": []},
    ),
    "http.pathsend-mixed": case(
        http_scope(extensions=PATHSEND),
        START,
        PART,
        {"type": "http.response.pathsend", "path": "/"},
    ),
    "http.debug-order": case(
        http_scope(extensions=offer("http.response.debug")),
        START,
        {"type": "http.response.debug", "info": {}},
    ),
    "http.no-response": case(http_scope(), RECEIVE),
    "http.unfinished-response": case(http_scope(), START, PART),
    "http.receive-unknown-type": case(
        http_scope(), RECEIVE, START, BODY, incoming=[{"type": "http.response.start"}]
    ),
    "http.request-fields": case(
        http_scope(), RECEIVE, START, BODY, incoming=[{"type": "http.request", "body": "x"}]
    ),
    "http.receive-order": case(
        http_scope(), RECEIVE, RECEIVE, START, BODY, incoming=[REQUEST, REQUEST]
    ),
    "websocket.unknown-send-type": case(ws_scope(), RECEIVE, {"type": "websocket.ping"}),
    "websocket.accept-twice": case(ws_scope(), RECEIVE, ACCEPT, ACCEPT),
    "websocket.send-before-accept": case(
        ws_scope(), RECEIVE, {"type": "websocket.send", "text": "hi"}
    ),
    "websocket.after-close": case(ws_scope(), RECEIVE, CLOSE, CLOSE),
    "websocket.send-data": case(
        ws_scope(), RECEIVE, ACCEPT, {"type": "websocket.send", "text": "a", "bytes": b"b"}
    ),
    "websocket.accept-fields": case(ws_scope(), RECEIVE, {**ACCEPT, "subprotocol": b"chat"}),
    "websocket.close-fields": case(ws_scope(), RECEIVE, {**CLOSE, "code": "1000"}),
    "websocket.spec-version": case(
        ws_scope(asgi={"version": "3.0", "spec_version": "2.0"}),
        RECEIVE,
        {**ACCEPT, "headers": [(b"x-a", b"b")]},
    ),
    "websocket.extension-not-offered": case(ws_scope(), RECEIVE, DENY, DENY_BODY),
    "websocket.denial-after-accept": case(
        ws_scope(extensions=WS_DENIAL), RECEIVE, ACCEPT, DENY, DENY_BODY
    ),
    "websocket.denial-order": case(ws_scope(extensions=WS_DENIAL), RECEIVE, DENY_BODY),
    "websocket.connect-unanswered": case(ws_scope(), RECEIVE),
    "websocket.denial-unfinished": case(ws_scope(extensions=WS_DENIAL), RECEIVE, DENY),
    "websocket.receive-unknown-type": case(
        ws_scope(), RECEIVE, CLOSE, incoming=[{"type": "websocket.open"}]
    ),
    "websocket.receive-order": case(
        ws_scope(), RECEIVE, CLOSE, incoming=[{"type": "websocket.receive", "text": "a"}]
    ),
    "websocket.receive-data": case(
        ws_scope(),
        RECEIVE,
        ACCEPT,
        RECEIVE,
        CLOSE,
        incoming=[CONNECT, {"type": "websocket.receive"}],
    ),
    "websocket.disconnect-fields": case(
        ws_scope(), RECEIVE, ACCEPT, RECEIVE, incoming=[CONNECT, {"type": "websocket.disconnect"}]
    ),
    "lifespan.unknown-send-type": case(life_scope(), {"type": "lifespan.ready"}),
    "lifespan.unexpected-reply": case(life_scope(), STARTED),
    "lifespan.failed-message": case(
        life_scope(),
        RECEIVE,
        {"type": "lifespan.startup.failed", "message": 1},
        incoming=[STARTUP],
    ),
    "lifespan.unanswered": case(life_scope(), RECEIVE, incoming=[STARTUP]),
    "lifespan.receive-unknown-type": case(
        life_scope(), RECEIVE, incoming=[{"type": "lifespan.begin"}]
    ),
    "lifespan.receive-order": case(life_scope(), RECEIVE, STOPPED, incoming=[SHUTDOWN]),
}


def test_every_rule_has_a_broken_case() -> None:
    assert set(BROKEN) == set(RULES)


async def run(app: Any, scope: Scope, server: Server, *, strict: bool = True) -> None:
    checked = trane.validate(app, strict=strict)
    await asyncio.wait_for(trane.as_asgi3(checked)(scope, server.receive, server.send), 5)


@pytest.mark.parametrize("rule", sorted(BROKEN))
async def test_broken_app_is_caught_strictly(rule: str) -> None:
    broken = BROKEN[rule]
    scope = copy.deepcopy(broken.scope)
    with pytest.raises(ASGIViolation) as info:
        await run(script(*broken.steps), scope, server_for(scope, broken.incoming))
    violation = info.value
    assert violation.rule == rule
    side, fix = RULES[rule]
    assert (violation.side, violation.fix) == (side, fix)
    assert str(violation).startswith(f"[{rule}] ")
    assert str(violation).endswith(f"; fix ({side}): {fix}")


@pytest.mark.parametrize("rule", sorted(BROKEN))
async def test_broken_app_is_logged_when_lenient(
    rule: str, caplog: pytest.LogCaptureFixture
) -> None:
    broken = BROKEN[rule]
    scope = copy.deepcopy(broken.scope)
    server = server_for(scope, broken.incoming)
    with caplog.at_level(logging.WARNING, logger="trane.validate"):
        await run(script(*broken.steps), scope, server, strict=False)
    logged = [record.getMessage() for record in caplog.records]
    assert logged, "nothing logged"
    assert logged[0].startswith(f"[{rule}] ")
    # The messages went through as the app sent them.
    assert server.sent == [step for step in broken.steps if not callable(step) and step != RECEIVE]


# -- what is not a violation -------------------------------------------------

TRAILERS = offer("http.response.trailers")

#: name -> a case that must pass clean.
CLEAN: dict[str, Case] = {
    "http": case(http_scope(), RECEIVE, START, PART, BODY),
    "http-empty-body-defaults": case(
        http_scope(), {"type": "http.response.start", "status": 204}, {"type": "http.response.body"}
    ),
    "receive-after-disconnect-again": case(
        http_scope(), START, BODY, RECEIVE, RECEIVE, RECEIVE, incoming=[]
    ),
    "return-after-disconnect-without-response": case(
        http_scope(), RECEIVE, RECEIVE, incoming=[{"type": "http.disconnect"}]
    ),
    "chunked-request": case(
        http_scope(method="POST"),
        RECEIVE,
        RECEIVE,
        START,
        BODY,
        incoming=[{"type": "http.request", "body": b"a", "more_body": True}, REQUEST],
    ),
    "trailers": case(
        http_scope(extensions=TRAILERS),
        {**START, "trailers": True},
        BODY,
        {"type": "http.response.trailers", "headers": [(b"x-sum", b"1")], "more_trailers": True},
        {"type": "http.response.trailers", "headers": []},
    ),
    "pathsend": case(
        http_scope(extensions=PATHSEND), START, {"type": "http.response.pathsend", "path": "/x"}
    ),
    "pathsend-with-trailers": case(
        http_scope(extensions={**PATHSEND, **TRAILERS}),
        {**START, "trailers": True},
        {"type": "http.response.pathsend", "path": "/x"},
        {"type": "http.response.trailers", "headers": []},
    ),
    "zerocopysend": case(
        http_scope(extensions=offer("http.response.zerocopysend")),
        START,
        {"type": "http.response.zerocopysend", "file": open(os.devnull, "rb"), "more_body": True},  # noqa: SIM115
        {
            "type": "http.response.zerocopysend",
            "file": FileLike(),
            "offset": 0,
            "count": None,
        },
    ),
    "early-hint-before-and-after-start": case(
        http_scope(extensions=offer("http.response.early_hint")),
        {"type": "http.response.early_hint", "links": [b"</a.css>; rel=preload"]},
        START,
        {"type": "http.response.early_hint", "links": []},
        BODY,
    ),
    "debug": case(
        http_scope(extensions=offer("http.response.debug")),
        {"type": "http.response.debug", "info": {"template": "x"}},
        START,
        BODY,
    ),
    "push": case(
        http_scope(extensions=offer("http.response.push")),
        START,
        {"type": "http.response.push", "path": "/a.css", "headers": []},
        BODY,
    ),
    "headers-iterator": case(http_scope(), {**START, "headers": iter([(b"a", b"b")])}, BODY),
    "websocket": case(
        ws_scope(),
        RECEIVE,
        {**ACCEPT, "subprotocol": "chat", "headers": [(b"x-a", b"b")]},
        {"type": "websocket.send", "bytes": b"x", "text": None},
        RECEIVE,
        {"type": "websocket.send", "text": "y"},
        RECEIVE,
        {"type": "websocket.send", "text": "sent after the client left: the server's business"},
        incoming=[
            CONNECT,
            {"type": "websocket.receive", "text": "a"},
            {"type": "websocket.disconnect", "code": 1005, "reason": None},
        ],
    ),
    "websocket-close-reason": case(ws_scope(), RECEIVE, {**CLOSE, "reason": "bye"}),
    "websocket-empty-reason-on-2.0": case(
        ws_scope(asgi={"version": "3.0"}), RECEIVE, ACCEPT, {**CLOSE, "reason": ""}
    ),
    "websocket-denial": case(
        ws_scope(extensions=WS_DENIAL), RECEIVE, DENY, {**DENY_BODY, "more_body": True}, DENY_BODY
    ),
    "websocket-client-left-before-answer": case(
        ws_scope(),
        RECEIVE,
        RECEIVE,
        incoming=[CONNECT, {"type": "websocket.disconnect", "code": 1006}],
    ),
    "websocket-return-after-accept": case(ws_scope(), RECEIVE, ACCEPT),
    "lifespan": case(
        life_scope(),
        RECEIVE,
        _set("state", {"pool": object()}),
        STARTED,
        RECEIVE,
        {"type": "lifespan.shutdown.failed", "message": "oops"},
        incoming=[STARTUP, SHUTDOWN],
    ),
    "lifespan-startup-failed": case(
        life_scope(), RECEIVE, {"type": "lifespan.startup.failed"}, incoming=[STARTUP]
    ),
    "unknown-scope-type": case(
        {"type": "chat.room", "anything": b"goes"},
        RECEIVE,
        {"type": "chat.hello"},
        incoming=[{"type": "chat.join"}],
    ),
    "server-without-optional-keys": case(
        {
            "type": "http",
            "method": "GET",
            "path": "/",
            "query_string": b"",
            "headers": [],
            "raw_path": None,
            "client": None,
        },
        START,
        BODY,
    ),
}


@pytest.mark.parametrize("name", sorted(CLEAN))
async def test_correct_app_passes_clean(name: str, caplog: pytest.LogCaptureFixture) -> None:
    clean = CLEAN[name]
    scope = clean.scope
    with caplog.at_level(logging.WARNING, logger="trane.validate"):
        await run(script(*clean.steps), dict(scope), server_for(scope, clean.incoming))
    assert caplog.records == []


# -- wrapping: both styles, exceptions -----------------------------------------


class LegacyChanger:
    """An ASGI 2 app that routes by changing the scope it was given."""

    def __init__(self, scope: Scope) -> None:
        scope["path"] = "/routed"
        self.scope = scope

    async def __call__(self, receive: Receive, send: Send) -> None:
        await send(START)
        await send(BODY)


def test_validate_keeps_the_style_it_got() -> None:
    two = trane.validate(legacy.LegacyApp)
    assert is_double_callable(two)
    assert repr(two) == f"validate({legacy.LegacyApp!r})"
    three = trane.validate(script())
    assert not is_double_callable(three)
    assert three.__name__ == "validate(app)"
    assert not is_double_callable(trane.validate(demo.app))


async def test_validate_asgi2_app_checks_the_constructor() -> None:
    scope = http_scope()
    with pytest.raises(ASGIViolation) as info:
        trane.validate(LegacyChanger)(scope)
    assert info.value.rule == "asgi.scope-mutated"
    assert "in app(scope): changed 'path'" in str(info.value)
    assert "in {" not in str(info.value)  # no message to show


async def test_validate_reports_a_violation_the_app_swallowed() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(START)
        try:
            await send({**BODY, "body": "text"})
        except ASGIViolation:
            await send(BODY)

    with pytest.raises(ASGIViolation) as info:
        await run(app, http_scope(), server_for(http_scope()))
    assert info.value.rule == "http.body-type"


async def test_validate_reports_the_first_of_several_swallowed() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for message in ({**START, "status": 0}, {**START, "headers": [(b"A", b"b")]}):
            with contextlib.suppress(ASGIViolation):
                await send(message)
        await send(START)
        await send(BODY)

    with pytest.raises(ASGIViolation) as info:
        await run(app, http_scope(), server_for(http_scope()))
    assert info.value.rule == "http.status"


async def test_validate_copes_with_a_cyclic_scope() -> None:
    loop: list[object] = []
    loop.append(loop)
    scope = http_scope(cyclic=loop)
    await run(script(START, BODY), scope, server_for(scope))


@pytest.mark.parametrize("strict", [True, False])
async def test_validate_bad_server_message(strict: bool, caplog: pytest.LogCaptureFixture) -> None:
    server = Server(["oops"])  # type: ignore[list-item]
    with caplog.at_level(logging.WARNING, logger="trane.validate"):
        if strict:
            with pytest.raises(ASGIViolation, match="the server gave a message without a 'type'"):
                await run(script(RECEIVE), life_scope(), server)
        else:
            await run(script(RECEIVE), life_scope(), server, strict=False)
            assert logged_rules(caplog) == {"asgi.message-shape"}


async def test_validate_raises_the_violation_over_what_followed() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send({**START, "status": 999})
        except ASGIViolation:
            raise RuntimeError("error page failed") from None

    with pytest.raises(ASGIViolation) as info:
        await run(app, http_scope(), server_for(http_scope()))
    assert info.value.rule == "http.status"
    assert isinstance(info.value.__cause__, RuntimeError)


async def test_validate_lets_app_errors_through() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise KeyError("boom")

    with pytest.raises(KeyError):
        await run(app, http_scope(), server_for(http_scope()))


async def test_validate_lenient_scope_shape(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="trane.validate"):
        await run(script(), {"type": 1}, Server([]), strict=False)
    assert [r.getMessage()[:13] for r in caplog.records] == ["[scope.shape]"]


def test_violation_message_is_short_for_big_messages() -> None:
    violation = ASGIViolation("http.body-type", {"body": "x" * 1000}, "body is str")
    assert len(str(violation)) < 400
    assert "...; fix (app)" in str(violation)


@pytest.mark.parametrize(
    ("scope", "detail"),
    [
        (http_scope(method="get"), "scope['method'] 'get' is not uppercase"),
        (http_scope(scheme=""), "scope['scheme'] is empty"),
        (http_scope(http_version="0.9"), "scope['http_version'] is '0.9'"),
        (http_scope(client=["1.2.3.4"]), "scope['client'] is ['1.2.3.4'], not [host, port]"),
        (http_scope(server=("h", "80")), "scope['server'] is ('h', '80'), not [host, port]"),
        (http_scope(state=[]), "scope['state'] is list"),
        (http_scope(query_string=None), "scope['query_string'] is NoneType, not bytes"),
        ({"type": "http", "path": "/", "query_string": b"", "headers": []}, "'method'] is missing"),
        (ws_scope(subprotocols=[b"chat"]), "subprotocol b'chat' is not a str"),
        (http_scope(headers="host: x"), "headers is str, not an iterable of pairs"),
        (http_scope(headers=[b"host"]), "header b'host' is not a [name, value] pair"),
    ],
)
async def test_validate_scope_details(scope: Scope, detail: str) -> None:
    with pytest.raises(ASGIViolation) as info:
        await run(script(START, BODY), scope, server_for(scope))
    assert detail in str(info.value)


@pytest.mark.parametrize(
    ("scope", "steps", "detail"),
    [
        (
            http_scope(),
            [START, {"type": "http.response.body", "more_body": True}, START],
            "a second http.response.start",
        ),
        (http_scope(), [START, BODY, START], "the response was complete"),
        (
            http_scope(extensions=PATHSEND),
            [START, BODY, {"type": "http.response.pathsend"}],
            "the response was complete",
        ),
        (
            http_scope(),
            [{**START, "trailers": True}],
            "trailers=True without http.response.trailers",
        ),
        (
            http_scope(extensions=TRAILERS),
            [{**START, "trailers": True}, BODY, BODY],
            "the final body was sent already",
        ),
        (
            http_scope(extensions=TRAILERS),
            [{**START, "trailers": True}, PART, {"type": "http.response.trailers"}],
            "trailers before the final body",
        ),
        (
            http_scope(extensions=TRAILERS),
            [{**START, "trailers": "yes"}],
            "'trailers' is str, not bool",
        ),
        (
            http_scope(extensions=PATHSEND),
            [{"type": "http.response.pathsend", "path": "/"}],
            "pathsend before the start",
        ),
        (
            http_scope(extensions=offer("http.response.zerocopysend")),
            [{"type": "http.response.zerocopysend", "file": 3}],
            "zerocopysend before the start",
        ),
        (
            http_scope(extensions={**offer("http.response.zerocopysend"), **TRAILERS}),
            [{**START, "trailers": True}, BODY, {"type": "http.response.zerocopysend"}],
            "the final body was sent already",
        ),
        (
            http_scope(extensions=offer("http.response.zerocopysend")),
            [START, {"type": "http.response.zerocopysend", "file": 3, "count": "all"}],
            "'file' has no fileno()",
        ),
        (
            http_scope(extensions={**offer("http.response.early_hint"), **TRAILERS}),
            [{**START, "trailers": True}, BODY, {"type": "http.response.early_hint", "links": []}],
            "early hint after the final body",
        ),
        (
            http_scope(extensions=offer("http.response.early_hint")),
            [{"type": "http.response.early_hint", "links": b"</a>"}],
            "'links' is not an iterable",
        ),
        (
            http_scope(extensions=offer("http.response.early_hint")),
            [{"type": "http.response.early_hint", "links": iter(["</a>"])}],
            "'links' holds a non-bytes item",
        ),
        (
            http_scope(extensions=offer("http.response.debug")),
            [{"type": "http.response.debug"}],
            "'info' is missing",
        ),
        (
            http_scope(extensions=offer("http.response.push")),
            [{"type": "http.response.push", "path": "/"}],
            "push outside the response body",
        ),
        (
            http_scope(extensions=offer("http.response.push")),
            [START, BODY, {"type": "http.response.push", "path": "/"}],
            "the response was complete",
        ),
        (
            http_scope(extensions={**offer("http.response.push"), **TRAILERS}),
            [{**START, "trailers": True}, BODY, {"type": "http.response.push", "path": "/"}],
            "push outside the response body",
        ),
    ],
)
async def test_validate_http_details(scope: Scope, steps: list[Step], detail: str) -> None:
    with pytest.raises(ASGIViolation) as info:
        await run(script(*steps), scope, server_for(scope))
    assert detail in str(info.value)


@pytest.mark.parametrize(
    ("scope", "steps", "incoming", "detail"),
    [
        (
            ws_scope(),
            [RECEIVE, ACCEPT, {**ACCEPT, "headers": [(b"sec-websocket-protocol", b"x")]}],
            None,
            "a second websocket.accept",
        ),
        (
            ws_scope(),
            [RECEIVE, {**ACCEPT, "headers": [(b"Sec-WebSocket-Protocol", b"x")]}],
            None,
            "header name b'Sec-WebSocket-Protocol' is not lowercase",
        ),
        (
            ws_scope(),
            [RECEIVE, {**ACCEPT, "headers": [(b"sec-websocket-protocol", b"x")]}],
            None,
            "sec-websocket-protocol in accept headers",
        ),
        (ws_scope(), [RECEIVE, {**ACCEPT, "headers": [("x", "y")]}], None, "not bytes"),
        (
            ws_scope(asgi={"version": "3.0", "spec_version": "2.2"}),
            [RECEIVE, {**CLOSE, "reason": "bye"}],
            None,
            "a close reason before spec 2.3",
        ),
        (
            ws_scope(asgi={"version": "3.0", "spec_version": "two"}),
            [RECEIVE, {**CLOSE, "reason": "bye"}],
            None,
            "a close reason before spec 2.3",
        ),
        (
            ws_scope(extensions=WS_DENIAL),
            [RECEIVE, DENY, ACCEPT],
            None,
            "mid-denial, expected its body",
        ),
        (
            ws_scope(extensions=WS_DENIAL),
            [RECEIVE, DENY, DENY_BODY, CLOSE],
            None,
            "the connection was closed",
        ),
        (
            ws_scope(),
            [RECEIVE, ACCEPT, {"type": "websocket.send"}],
            None,
            "neither 'bytes' nor 'text'",
        ),
        (
            ws_scope(),
            [RECEIVE, ACCEPT, {"type": "websocket.send", "bytes": "x"}],
            None,
            "'bytes' is str",
        ),
        (
            ws_scope(),
            [RECEIVE, ACCEPT, {"type": "websocket.send", "text": b"x"}],
            None,
            "'text' is bytes",
        ),
        (ws_scope(), [RECEIVE, RECEIVE, CLOSE], [CONNECT, CONNECT], "a second websocket.connect"),
        (
            ws_scope(),
            [RECEIVE, RECEIVE, RECEIVE],
            [
                CONNECT,
                {"type": "websocket.disconnect", "code": 1000},
                {"type": "websocket.receive", "text": "late"},
            ],
            "websocket.receive after websocket.disconnect",
        ),
        (
            ws_scope(),
            [RECEIVE, RECEIVE],
            [CONNECT, {"type": "websocket.disconnect", "code": 1000, "reason": 1}],
            "'reason' is int",
        ),
        (
            http_scope(),
            [RECEIVE, RECEIVE, START, BODY],
            [{"type": "http.disconnect"}, REQUEST],
            "http.request after http.disconnect",
        ),
        (
            http_scope(),
            [RECEIVE, START, BODY],
            [{"type": "http.request", "more_body": "no"}],
            "'more_body' is str, not bool",
        ),
        (
            life_scope(),
            [RECEIVE, STARTED, STARTED],
            [STARTUP],
            "lifespan.startup.complete in state RUNNING",
        ),
        (
            life_scope(),
            [RECEIVE, STARTED, RECEIVE],
            [STARTUP, SHUTDOWN],
            "the app returned in state STOPPING",
        ),
        (
            life_scope(),
            [RECEIVE, STARTED, RECEIVE],
            [STARTUP, STARTUP],
            "lifespan.startup in state RUNNING",
        ),
    ],
)
async def test_validate_protocol_details(
    scope: Scope, steps: list[Step], incoming: list[Message] | None, detail: str
) -> None:
    server = server_for(scope, incoming)
    with pytest.raises(ASGIViolation) as info:
        await run(script(*steps), scope, server)
    assert detail in str(info.value)


# -- real apps: trane's examples -------------------------------------------------


def logged_rules(caplog: pytest.LogCaptureFixture) -> set[str]:
    """The rule ids a lenient validator logged."""
    return {
        record.getMessage()[1:].split("]", 1)[0]
        for record in caplog.records
        if record.name == "trane.validate"
    }


async def exercise(client: TestClient) -> None:
    """GET, HEAD, POST and a 404 on whatever routes the app has."""
    for path in ("/", "/hello/x", "/count/3", "/info", "/legacy/a", "/nope"):
        await client.get(path)
    await client.head("/")
    await client.post("/items", json={"a": 1})
    await client.post("/echo", content=b"x" * 100)


# NOTE: trane's Router once added 'trane.router' and 'path_params' to the scope
# it was given, in place (found here first); it now adds them to a copy.
ROUTER_FINDING: set[str] = set()


@pytest.mark.parametrize(
    ("app", "expected"),
    [
        (demo.router, ROUTER_FINDING),
        (demo.app, ROUTER_FINDING),
        (inheritance.router, ROUTER_FINDING),
        (files.router, ROUTER_FINDING),
        (chat.router, ROUTER_FINDING),
        (legacy.LegacyApp, set()),
        (legacy.app, set()),
        (demo.Hello, set()),
    ],
)
async def test_examples_run_under_the_validator(
    app: Any, expected: set[str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="trane.validate"):
        async with TestClient(trane.validate(app, strict=False)) as client:
            await exercise(client)
    assert logged_rules(caplog) == expected


async def test_chat_websocket_under_the_validator(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="trane.validate"):
        client = TestClient(trane.validate(chat.router, strict=False))
        async with client, client.websocket_connect("/ws/lobby") as ws:
            await ws.send_text('{"name": "ann", "text": "hi"}')
            assert "hi" in await ws.receive_text()
    assert logged_rules(caplog) == ROUTER_FINDING


async def test_legacy_example_strict() -> None:
    async with TestClient(trane.validate(legacy.LegacyApp)) as client:
        assert (await client.post("/echo", content=b"hi")).text == "hi"
        assert (await client.get("/x")).text == "legacy GET /x"


# -- real apps: third-party frameworks -------------------------------------------


def starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse
    from starlette.routing import Mount, Route, WebSocketRoute
    from starlette.websockets import WebSocket

    async def home(request: Request) -> PlainTextResponse:
        return PlainTextResponse("hi")

    async def echo(request: Request) -> JSONResponse:
        return JSONResponse({"n": len(await request.body())})

    async def socket(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(await websocket.receive_text())
        await websocket.close()

    inner = Starlette(routes=[Route("/a", home)])
    return Starlette(
        routes=[
            Route("/", home),
            Route("/echo", echo, methods=["POST"]),
            WebSocketRoute("/ws", socket),
            Mount("/legacy", inner),
        ]
    )


def falcon_app() -> Any:
    import falcon.asgi

    class Resource:
        async def on_get(self, req: Any, resp: Any) -> None:
            resp.text = "hi"

        async def on_post(self, req: Any, resp: Any) -> None:
            resp.media = {"n": len(await req.stream.read())}

        async def on_websocket(self, req: Any, ws: Any) -> None:
            await ws.accept()
            await ws.send_text(await ws.receive_text())
            await ws.close()

    app = falcon.asgi.App()
    for route in ("/", "/echo", "/ws"):
        app.add_route(route, Resource())
    return app


def django_app() -> Any:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "examples.channels_site.settings")
    import django

    django.setup()
    from django.core.handlers.asgi import ASGIHandler

    return ASGIHandler()


def django_urls() -> Any:
    from django.http import HttpRequest, HttpResponse, JsonResponse
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt

    def home(request: HttpRequest) -> HttpResponse:
        return HttpResponse("hi")

    @csrf_exempt  # type: ignore[untyped-decorator]
    def echo(request: HttpRequest) -> HttpResponse:
        return JsonResponse({"n": len(request.body)})

    urls = types.ModuleType("validate_urls")
    urls.urlpatterns = [path("", home), path("echo", echo)]  # type: ignore[attr-defined]
    return urls


def blacksheep_app() -> Any:
    from blacksheep import json, text

    app = blacksheep.Application()

    @app.router.get("/")
    async def home() -> Any:
        return text("hi")

    @app.router.post("/echo")
    async def echo(request: blacksheep.Request) -> Any:
        return json({"n": len(await request.read() or b"")})

    return app


def wsgi_app() -> Any:
    from asgiref.wsgi import WsgiToAsgi

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        size = len(environ["wsgi.input"].read())
        if environ["PATH_INFO"] not in ("/", "/echo"):
            start_response("404 Not Found", [])
            return []
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hi" if environ["REQUEST_METHOD"] == "GET" else b'{"n": %d}' % size]

    return WsgiToAsgi(app)  # type: ignore[no-untyped-call]


@pytest.fixture
def django_settings() -> Iterator[None]:
    app = django_app()  # sets Django up
    del app
    from django.test.utils import override_settings

    with override_settings(ROOT_URLCONF=django_urls(), ALLOWED_HOSTS=["testserver"]):
        yield


async def check_third_party(app: Any, *, websocket: bool, lifespan: bool) -> None:
    async with TestClient(trane.validate(app, strict=False), lifespan=lifespan) as client:
        assert (await client.get("/")).text == "hi"
        assert (await client.head("/")).status_code in (200, 404, 405)
        assert (await client.post("/echo", content=b"x" * 100)).json() == {"n": 100}
        assert (await client.get("/nope")).status_code == 404
        if websocket:
            async with client.websocket_connect("/ws") as ws:
                await ws.send_text("yo")
                assert await ws.receive_text() == "yo"


async def test_third_party_starlette(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="trane.validate"):
        await check_third_party(starlette_app(), websocket=True, lifespan=True)
        async with TestClient(trane.validate(starlette_app(), strict=False)) as client:
            assert (await client.get("/legacy/a")).text == "hi"
    # NOTE: a finding, not a false alarm: Starlette.__call__ sets scope["app"]
    # and Router.app does scope.update(child_scope) (starlette/routing.py), so
    # a Mount changes root_path in the scope its caller passed.
    assert logged_rules(caplog) == {"asgi.scope-extended", "asgi.scope-mutated"}
    mutated = [r.getMessage() for r in caplog.records if "scope-mutated" in r.getMessage()]
    assert all("changed 'root_path'" in text for text in mutated), mutated


async def test_third_party_falcon(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="trane.validate"):
        await check_third_party(falcon_app(), websocket=True, lifespan=True)
    assert logged_rules(caplog) == set()


@pytest.mark.usefixtures("django_settings")
async def test_third_party_django(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="trane.validate"):
        # ASGIHandler raises on a lifespan scope, as the spec allows.
        await check_third_party(django_app(), websocket=False, lifespan=False)
    # NOTE: a finding: Django sends header names as it spells them
    # (b"Content-Type"); www.rst says "Header names must be lowercased".
    assert logged_rules(caplog) == {"http.header-name-case"}


async def test_third_party_blacksheep(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="trane.validate"):
        await check_third_party(blacksheep_app(), websocket=False, lifespan=True)
    assert logged_rules(caplog) == set()


async def test_third_party_wsgi_to_asgi(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="trane.validate"):
        await check_third_party(wsgi_app(), websocket=False, lifespan=False)
    assert logged_rules(caplog) == set()


def failed_and_found(app: Any) -> tuple[list[str], set[str]]:
    """What ``trane check`` says of ``app``: the scenarios it failed, the rules it broke."""
    report = trane_check.check(app, "third:party")
    return [s.name for s in report.scenarios if not s.ok], {f.rule for f in report.findings}


LEAST_WEBSOCKET = "WebSocket / (required scope keys only)"


@pytest.mark.parametrize(
    ("make", "failed", "rules"),
    [
        (starlette_app, [], {"asgi.scope-extended"}),
        # NOTE: real, not false alarms: both read a WebSocket scope's
        # "query_string", which www.rst has made optional (default b"") since
        # 2017, though uvicorn, hypercorn and daphne all send it; BlackSheep
        # also adds "raw_path" to a scope that has none.
        (falcon_app, [LEAST_WEBSOCKET], {"asgi.optional-scope-key"}),
        (blacksheep_app, [LEAST_WEBSOCKET], {"asgi.optional-scope-key", "asgi.scope-extended"}),
        (wsgi_app, [], set()),
    ],
    ids=["starlette", "falcon", "blacksheep", "wsgi_to_asgi"],
)
def test_third_party_under_trane_check(
    make: Callable[[], Any], failed: list[str], rules: set[str]
) -> None:
    # tests/test_check_legacy.py does the same for releases of the ASGI 2 era.
    assert failed_and_found(make()) == (failed, rules)


@pytest.mark.usefixtures("django_settings")
def test_third_party_django_under_trane_check() -> None:
    from django.test.utils import override_settings

    with override_settings(ALLOWED_HOSTS=["trane-check"]):
        assert failed_and_found(django_app()) == ([], {"http.header-name-case"})


async def test_a_client_gone_by_oserror_may_leave_the_response_unfinished() -> None:
    # ASGI spec 2.4: the server raises OSError from send for a gone client; an
    # app that stops there owes nothing more (not http.unfinished-response).
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        with contextlib.suppress(OSError):
            await send({"type": "http.response.body", "body": b"x", "more_body": True})

    sent: list[Any] = []

    async def gone_after_start(message: Any) -> None:
        if sent:
            raise OSError("client gone")
        sent.append(message)

    async def receive() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    await trane.validate(app)(http_scope(), receive, gone_after_start)
    assert len(sent) == 1
