"""``validate(app)``: check every message between a server and an ASGI app.

How this works
--------------
``validate(app)`` returns an app of the same style it was given (an ASGI 3
callable for an ASGI 3 app, a double-callable for an ASGI 2 one, detected by
``trane.compat.is_double_callable``, asgiref's rule). For each connection it
makes one checker for the scope type (``_HTTP``, ``_WebSocket``,
``_Lifespan``; other scope types only get the message-shape checks), checks
the scope the server sent, and wraps ``receive`` and ``send``:

* what the app **sends** is checked before the server sees it: message type
  and keys, key types (bytes vs str, header pairs, status), order (a small
  state machine per protocol), and extension messages only when the scope
  offers the extension;
* what the server **gives** the app is checked as well (``http.request`` body
  bytes, ``more_body`` bool, event order), so the validator can stand in front
  of any app, also behind a router;
* the scope is snapshotted (a structural deep copy, leaves compared by value
  or identity) and compared each time the app calls ``receive``/``send``,
  after an ASGI 2 ``app(scope)`` and when the app returns: an app that
  changes the scope for a sub-app must change a copy (asgi.rst, Middleware:
  "changes may leak upstream otherwise"). A key changed or removed in place
  is ``asgi.scope-mutated`` (uvicorn's access log reads ``root_path`` and
  ``path`` back from the scope it passed), keys merely added are
  ``asgi.scope-extended``. ``scope["state"]`` is left out: that namespace
  belongs to the app;
* when the app returns normally, what it still owed is checked (an HTTP
  response started and never finished, a WebSocket handshake never answered,
  a lifespan event never replied to).

Every rule has a short id (``RULES``). A violation raises ``ASGIViolation``
naming the rule, the offending message and a one-line fix; with
``strict=False`` it is logged to the ``trane.validate`` logger (the record
carries it as ``record.violation``) and the message goes through. In strict
mode the first violation is also raised when the app returns, even if the
app swallowed it.

What is *not* a rule, because the spec allows it: calling ``receive`` again
after ``http.disconnect`` (www.rst: disconnect "is sent ... if receive is
called after a response has been sent or after the HTTP connection has been
closed", so it may be called any number of times); sending after the client
went away (spec 2.4: the server raises ``OSError`` or ignores it); an app
raising on a scope type it does not handle (asgi.rst asks for exactly that);
extra keys in any message. Two judgement calls, said here: a message after
the final body (or after ``websocket.close``) is a rule although www.rst
says it "will be ignored", because uvicorn raises on it; and accept
``headers`` before spec 2.1 or a close ``reason`` before 2.3 count only when
non-empty, since an older server ignores the extra key anyway (asgi.rst,
Error Handling). Spec texts: asgiref ``specs/asgi.rst``,
``specs/www.rst`` (2.0-2.5), ``specs/lifespan.rst``, ``docs/extensions.rst``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Final

from .compat import is_double_callable
from .exceptions import TraneError
from .types import ASGI2Instance, Message, Receive, Scope, Send

__all__ = ["RULES", "ASGIViolation", "validate"]

logger = logging.getLogger("trane.validate")

APP: Final = "app"
SERVER: Final = "server"

#: rule id -> (who is at fault, the one-line fix).
RULES: Final[dict[str, tuple[str, str]]] = {
    # Any protocol.
    "asgi.message-shape": (APP, "send a dict with a str 'type' key"),
    "asgi.scope-mutated": (
        APP,
        "change a copy of the scope (dict(scope, key=value)) and pass the copy on",
    ),
    "asgi.scope-extended": (
        APP,
        "add keys to a copy of the scope (dict(scope, key=value)) and pass the copy on",
    ),
    "scope.shape": (SERVER, "call the app with a dict scope that has a str 'type'"),
    "scope.asgi": (SERVER, "give scope['asgi'] as a dict of str 'version' / 'spec_version'"),
    "scope.field": (SERVER, "give every scope key the type the spec names"),
    "scope.headers": (SERVER, "give scope['headers'] as [name, value] pairs of bytes"),
    # HTTP, what the app sends.
    "http.unknown-send-type": (
        APP,
        "send only http.response.start/body (or an extension message the scope offers)",
    ),
    "http.status": (APP, "give 'status' as an int from 100 to 599"),
    "http.headers": (APP, "give 'headers' as an iterable of [name, value] pairs of bytes"),
    "http.header-name-case": (APP, "lowercase response header names (b'content-type')"),
    "http.pseudo-header": (APP, "drop pseudo headers (':status'...): the server makes them"),
    "http.body-type": (APP, "give 'body' as bytes (encode str first)"),
    "http.more-body-type": (APP, "give 'more_body' as a bool"),
    "http.start-before-body": (APP, "send http.response.start before any body"),
    "http.start-twice": (APP, "send http.response.start exactly once per request"),
    "http.after-final-body": (
        APP,
        "send nothing once the response is complete (the body with more_body=False)",
    ),
    "http.extension-not-offered": (
        APP,
        "check scope['extensions'] for the extension before sending its messages",
    ),
    "http.extension-fields": (APP, "give the extension message the keys and types it names"),
    "http.trailers-order": (
        APP,
        "set trailers=True in http.response.start and send trailers after the final body",
    ),
    "http.pathsend-mixed": (
        APP,
        "send either http.response.pathsend once or http.response.body, not both",
    ),
    "http.debug-order": (APP, "send http.response.debug once, before http.response.start"),
    "http.no-response": (APP, "send a response (start, then body) before returning"),
    "http.unfinished-response": (
        APP,
        "finish the response with more_body=False (and its trailers) before returning",
    ),
    # HTTP, what the server gives.
    "http.receive-unknown-type": (SERVER, "give the app only http.request / http.disconnect"),
    "http.request-fields": (SERVER, "give http.request a bytes 'body' and a bool 'more_body'"),
    "http.receive-order": (
        SERVER,
        "give no http.request after the body was complete or after http.disconnect",
    ),
    # WebSocket, what the app sends.
    "websocket.unknown-send-type": (
        APP,
        "send only websocket.accept/send/close (or denial messages the scope offers)",
    ),
    "websocket.accept-twice": (APP, "accept the connection once"),
    "websocket.send-before-accept": (APP, "send websocket.accept before websocket.send"),
    "websocket.after-close": (APP, "send nothing after websocket.close"),
    "websocket.send-data": (
        APP,
        "give exactly one of 'bytes' (bytes) or 'text' (str); the other None or absent",
    ),
    "websocket.accept-fields": (
        APP,
        "give 'subprotocol' as str or None and 'headers' as byte pairs without "
        "sec-websocket-protocol",
    ),
    "websocket.close-fields": (APP, "give 'code' as an int and 'reason' as a str or None"),
    "websocket.spec-version": (
        APP,
        "read scope['asgi']['spec_version']: accept headers need 2.1, close reasons 2.3",
    ),
    "websocket.extension-not-offered": (
        APP,
        "check scope['extensions'] for 'websocket.http.response' before a denial response",
    ),
    "websocket.denial-after-accept": (
        APP,
        "send websocket.http.response.* only before accepting, instead of accepting",
    ),
    "websocket.denial-order": (
        APP,
        "send websocket.http.response.start once, then its body until more_body=False, "
        "and nothing else",
    ),
    "websocket.connect-unanswered": (
        APP,
        "answer websocket.connect with websocket.accept or websocket.close before returning",
    ),
    "websocket.denial-unfinished": (
        APP,
        "finish the denial response with more_body=False before returning",
    ),
    # WebSocket, what the server gives.
    "websocket.receive-unknown-type": (
        SERVER,
        "give the app only websocket.connect/receive/disconnect",
    ),
    "websocket.receive-order": (
        SERVER,
        "give websocket.connect first and once, and nothing but disconnect after disconnect",
    ),
    "websocket.receive-data": (
        SERVER,
        "give websocket.receive exactly one of 'bytes' (bytes) or 'text' (str)",
    ),
    "websocket.disconnect-fields": (
        SERVER,
        "give websocket.disconnect an int 'code' and a str or None 'reason'",
    ),
    # Lifespan.
    "lifespan.unknown-send-type": (
        APP,
        "send only lifespan.startup.complete/failed and lifespan.shutdown.complete/failed",
    ),
    "lifespan.unexpected-reply": (
        APP,
        "reply once to each event: startup.* after lifespan.startup, shutdown.* after "
        "lifespan.shutdown",
    ),
    "lifespan.failed-message": (APP, "give the failure 'message' as a str"),
    "lifespan.unanswered": (
        APP,
        "reply to lifespan.startup / lifespan.shutdown before returning",
    ),
    "lifespan.receive-unknown-type": (
        SERVER,
        "give the app only lifespan.startup / lifespan.shutdown",
    ),
    "lifespan.receive-order": (
        SERVER,
        "give lifespan.startup once, then lifespan.shutdown after startup completed",
    ),
}


class ASGIViolation(TraneError):
    """A message (or scope) broke a rule of the ASGI spec.

    >>> str(ASGIViolation("http.status", {"type": "http.response.start", "status": "200"},
    ...     "status is 'str'"))  # doctest: +NORMALIZE_WHITESPACE
    "[http.status] status is 'str' in {'type': 'http.response.start', 'status': '200'};
    fix (app): give 'status' as an int from 100 to 599"
    """

    def __init__(self, rule: str, message: Any, detail: str) -> None:
        self.rule = rule
        self.message = message
        self.detail = detail
        self.side, self.fix = RULES[rule]
        super().__init__(rule, message, detail)

    def __str__(self) -> str:
        shown = repr(self.message)
        if len(shown) > 200:  # a whole body or scope is not a useful message
            shown = shown[:197] + "..."
        where = "" if self.message is None else f" in {shown}"
        return f"[{self.rule}] {self.detail}{where}; fix ({self.side}): {self.fix}"


# -- field checks, shared by the protocols -----------------------------------


def _typename(value: object) -> str:
    return type(value).__name__


def _bad_pairs(headers: object) -> str | None:
    """Why ``headers`` is not an iterable of [bytes, bytes] pairs, or None."""
    if isinstance(headers, (str, bytes)) or not isinstance(headers, Iterable):
        return f"headers is {_typename(headers)}, not an iterable of pairs"
    for pair in headers:
        if isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence) or len(pair) != 2:
            return f"header {pair!r} is not a [name, value] pair"
        name, value = pair
        if not isinstance(name, bytes) or not isinstance(value, bytes):
            return f"header {pair!r} is ({_typename(name)}, {_typename(value)}), not bytes"
    return None


def _version(scope: Scope) -> tuple[int, ...]:
    """``scope["asgi"]["spec_version"]`` as a tuple; "2.0" when missing (www.rst)."""
    asgi = scope.get("asgi")
    text = asgi.get("spec_version", "2.0") if isinstance(asgi, Mapping) else "2.0"
    try:
        return tuple(int(part) for part in str(text).split("."))
    except ValueError:
        return (2, 0)


def _snapshot(value: Any, depth: int = 0) -> Any:
    """A structural copy for comparing: containers copied, other leaves by identity.

    >>> _snapshot({"a": [1, b"x"]}) == _snapshot({"a": [1, b"x"]})
    True
    """
    if value is None or isinstance(value, (str, bytes, int, float)):
        return (type(value), value)
    if depth < 16:
        if isinstance(value, dict):
            return {key: _snapshot(item, depth + 1) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return (type(value), [_snapshot(item, depth + 1) for item in value])
    return ("id", id(value))


def _scope_snapshot(scope: Scope) -> dict[str, Any]:
    # NOTE: "state" is the app's own namespace (lifespan.rst): not compared.
    return {key: _snapshot(value) for key, value in scope.items() if key != "state"}


# -- one checker per connection ----------------------------------------------


class _Connection:
    """Rules common to every scope type; subclasses add a protocol's rules."""

    def __init__(self, scope: Scope, strict: bool) -> None:
        self.scope = scope
        self.strict = strict
        self.violation: ASGIViolation | None = None
        self.disconnected = False
        self._snapshot = _scope_snapshot(scope)
        self.check_scope()

    def fail(self, rule: str, message: Any, detail: str) -> None:
        violation = ASGIViolation(rule, message, detail)
        if not self.strict:
            logger.warning("%s", violation, extra={"violation": violation})
            return
        if self.violation is None:
            self.violation = violation
        raise violation

    def check_scope(self) -> None:
        """The server's scope: overridden per protocol."""

    def check_unchanged(self, where: str) -> None:
        now = _scope_snapshot(self.scope)
        if now == self._snapshot:
            return
        before = self._snapshot
        self._snapshot = now  # report each change once
        added = sorted(set(now) - set(before))
        removed = sorted(set(before) - set(now))
        changed = sorted(key for key in set(now) & set(before) if now[key] != before[key])
        if removed or changed:
            parts = [
                f"{verb} {', '.join(map(repr, keys))}"
                for verb, keys in (("changed", changed), ("removed", removed), ("added", added))
                if keys
            ]
            detail = "; ".join(parts)
            self.fail("asgi.scope-mutated", None, f"the app changed its scope {where}: {detail}")
        else:
            keys = ", ".join(map(repr, added))
            self.fail("asgi.scope-extended", None, f"the app added {keys} to its scope {where}")

    def sending(self, message: Message) -> Message:
        """Check ``message`` before the server gets it; return what to pass on."""
        if not isinstance(message, Mapping) or not isinstance(message.get("type"), str):
            self.fail("asgi.message-shape", message, "a sent message is not a dict with a 'type'")
            return message
        for key in ("headers", "links"):
            if isinstance(message.get(key), Iterator):
                # NOTE: an iterator would be used up by checking it; the server
                # gets a list copy instead (the app's dict is left untouched).
                message = {**message, key: list(message[key])}
        self.check_send(message)
        return message

    def received(self, message: Message) -> None:
        if not isinstance(message, Mapping) or not isinstance(message.get("type"), str):
            self.fail("asgi.message-shape", message, "the server gave a message without a 'type'")
            return
        self.check_receive(message)

    def check_send(self, message: Message) -> None:
        """A protocol's send rules (none for an unknown scope type)."""

    def check_receive(self, message: Message) -> None:
        """A protocol's receive rules (none for an unknown scope type)."""

    def returned(self) -> None:
        """The app returned normally: anything it still owed is a violation."""

    # Shared field checks.

    def check_key(
        self,
        message: Message,
        key: str,
        types: tuple[type, ...],
        rule: str,
        *,
        required: bool = False,
        none: bool = False,
    ) -> None:
        if key not in message:
            if required:
                self.fail(rule, message, f"{key!r} is missing")
            return
        value = message[key]
        if value is None and none:
            return
        if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
            wanted = " or ".join(t.__name__ for t in types)
            self.fail(rule, message, f"{key!r} is {_typename(value)}, not {wanted}")

    def check_headers(self, message: Message, rule: str = "http.headers") -> None:
        headers = message.get("headers", [])
        why = _bad_pairs(headers)
        if why is not None:
            self.fail(rule, message, why)
            return
        for name, _ in headers:
            if name.startswith(b":"):
                self.fail("http.pseudo-header", message, f"pseudo header {name!r}")
            elif name != name.lower():
                self.fail(
                    "http.header-name-case", message, f"header name {name!r} is not lowercase"
                )

    def check_start(self, message: Message) -> None:
        """The keys of http.response.start (also websocket.http.response.start)."""
        status = message.get("status")
        if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
            self.fail("http.status", message, f"status {status!r} is not an int in 100..599")
        self.check_headers(message)

    def check_body(self, message: Message) -> None:
        self.check_key(message, "body", (bytes,), "http.body-type")
        self.check_key(message, "more_body", (bool,), "http.more-body-type")

    def check_scope_keys(self, keys: Mapping[str, tuple[tuple[type, ...], bool]]) -> None:
        """``keys``: name -> (allowed types, required); None is allowed for optional keys."""
        scope = self.scope
        for key, (types, required) in keys.items():
            if key not in scope:
                if required:
                    self.fail("scope.field", None, f"scope[{key!r}] is missing")
                continue
            value = scope[key]
            if value is None and not required:
                continue
            if not isinstance(value, types) or isinstance(value, bool):
                wanted = " or ".join(t.__name__ for t in types)
                self.fail(
                    "scope.field", None, f"scope[{key!r}] is {_typename(value)}, not {wanted}"
                )

    def check_common_scope(self) -> None:
        scope = self.scope
        asgi = scope.get("asgi", {})
        if not isinstance(asgi, Mapping) or any(
            not isinstance(asgi[key], str) for key in ("version", "spec_version") if key in asgi
        ):
            self.fail("scope.asgi", None, f"scope['asgi'] is {asgi!r}")
        if "state" in scope and not isinstance(scope["state"], dict):
            self.fail("scope.field", None, f"scope['state'] is {_typename(scope['state'])}")

    def check_www_scope(self) -> None:
        """The keys HTTP and WebSocket scopes share (www.rst, Connection Scope)."""
        self.check_common_scope()
        self.check_scope_keys(
            {
                "path": ((str,), True),
                "query_string": ((bytes,), self.scope["type"] == "http"),
                "raw_path": ((bytes,), False),
                "root_path": ((str,), False),
                "scheme": ((str,), False),
                "http_version": ((str,), False),
                "extensions": ((dict,), False),
            }
        )
        scope = self.scope
        if scope.get("scheme") == "":
            self.fail("scope.field", None, "scope['scheme'] is empty")
        # NOTE: the spec lists 1.0, 1.1 and 2; hypercorn serves HTTP/3 as "3".
        if scope.get("http_version", "1.1") not in ("1.0", "1.1", "2", "3"):
            self.fail("scope.field", None, f"scope['http_version'] is {scope['http_version']!r}")
        why = _bad_pairs(scope.get("headers"))
        if why is not None:
            self.fail("scope.headers", None, why)
        for key, port_types in (("client", (int,)), ("server", (int, type(None)))):
            value = scope.get(key)
            if value is None:
                continue
            if (
                isinstance(value, (str, bytes))
                or not isinstance(value, Sequence)
                or len(value) != 2
                or not isinstance(value[0], str)
                or not isinstance(value[1], port_types)
            ):
                self.fail("scope.field", None, f"scope[{key!r}] is {value!r}, not [host, port]")

    def offers(self, extension: str) -> bool:
        extensions = self.scope.get("extensions")
        return isinstance(extensions, Mapping) and extension in extensions


# -- HTTP ----------------------------------------------------------------------

# Response states: what the app has sent so far.
IDLE: Final = "IDLE"  # nothing
STARTED: Final = "STARTED"  # http.response.start (and maybe some body)
TRAILERS: Final = "TRAILERS"  # the final body; trailers announced and owed
DONE: Final = "DONE"  # the response is complete

_HTTP_EXTENSIONS: Final = {
    "http.response.trailers": "http.response.trailers",
    "http.response.pathsend": "http.response.pathsend",
    "http.response.zerocopysend": "http.response.zerocopysend",
    "http.response.early_hint": "http.response.early_hint",
    "http.response.debug": "http.response.debug",
    "http.response.push": "http.response.push",
}


class _HTTP(_Connection):
    def __init__(self, scope: Scope, strict: bool) -> None:
        self.state = IDLE
        self.trailers = False  # announced in http.response.start
        self.body_sent = False
        self.debug_sent = False
        self.request_complete = False
        super().__init__(scope, strict)

    def check_scope(self) -> None:
        self.check_www_scope()
        self.check_scope_keys({"method": ((str,), True)})
        method = self.scope.get("method")
        if isinstance(method, str) and method != method.upper():
            self.fail("scope.field", None, f"scope['method'] {method!r} is not uppercase")

    def check_send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            return self.send_start(message)
        if kind == "http.response.body":
            return self.send_body(message)
        if kind not in _HTTP_EXTENSIONS:
            return self.fail("http.unknown-send-type", message, f"unknown type {kind!r}")
        if not self.offers(_HTTP_EXTENSIONS[kind]):
            return self.fail(
                "http.extension-not-offered", message, f"the scope does not offer {kind!r}"
            )
        if self.state == DONE:
            return self.fail("http.after-final-body", message, "the response was complete")
        getattr(self, "send_" + kind.rsplit(".", 1)[1])(message)
        return None

    def send_start(self, message: Message) -> None:
        if self.state == DONE:
            return self.fail("http.after-final-body", message, "the response was complete")
        if self.state != IDLE:
            return self.fail("http.start-twice", message, "a second http.response.start")
        self.check_start(message)
        self.check_key(message, "trailers", (bool,), "http.extension-fields")
        self.trailers = message.get("trailers") is True
        if self.trailers and not self.offers("http.response.trailers"):
            self.fail(
                "http.extension-not-offered",
                message,
                "trailers=True without http.response.trailers",
            )
        self.state = STARTED
        return None

    def send_body(self, message: Message) -> None:
        if self.state == IDLE:
            return self.fail("http.start-before-body", message, "body before http.response.start")
        if self.state != STARTED:
            return self.fail("http.after-final-body", message, "the final body was sent already")
        self.check_body(message)
        self.body_sent = True
        if not message.get("more_body", False):
            self.state = TRAILERS if self.trailers else DONE
        return None

    def send_trailers(self, message: Message) -> None:
        if not self.trailers or self.state != TRAILERS:
            why = (
                "no trailers=True in http.response.start"
                if not self.trailers
                else ("trailers before the final body")
            )
            return self.fail("http.trailers-order", message, why)
        self.check_headers(message)
        self.check_key(message, "more_trailers", (bool,), "http.extension-fields")
        if not message.get("more_trailers", False):
            self.state = DONE
        return None

    def send_pathsend(self, message: Message) -> None:
        if self.state == IDLE:
            return self.fail("http.start-before-body", message, "pathsend before the start")
        if self.body_sent or self.state != STARTED:
            return self.fail("http.pathsend-mixed", message, "pathsend after a body message")
        self.check_key(message, "path", (str,), "http.extension-fields", required=True)
        self.state = TRAILERS if self.trailers else DONE
        return None

    def send_zerocopysend(self, message: Message) -> None:
        if self.state == IDLE:
            return self.fail("http.start-before-body", message, "zerocopysend before the start")
        if self.state != STARTED:
            return self.fail("http.after-final-body", message, "the final body was sent already")
        if not callable(getattr(message.get("file"), "fileno", None)):
            self.fail("http.extension-fields", message, "'file' has no fileno()")
        for key in ("offset", "count"):
            self.check_key(message, key, (int,), "http.extension-fields", none=True)
        self.check_key(message, "more_body", (bool,), "http.more-body-type")
        self.body_sent = True
        if not message.get("more_body", False):
            self.state = TRAILERS if self.trailers else DONE
        return None

    def send_early_hint(self, message: Message) -> None:
        # NOTE: extensions.rst says "after the Response Start message", hypercorn
        # (the server that implements it) takes it only before; both agree it
        # comes before the final body, and that is all this checks.
        if self.state == TRAILERS:
            return self.fail("http.after-final-body", message, "early hint after the final body")
        links = message.get("links")
        if isinstance(links, (str, bytes)) or not isinstance(links, Iterable):
            return self.fail("http.extension-fields", message, "'links' is not an iterable")
        if not all(isinstance(link, bytes) for link in links):
            self.fail("http.extension-fields", message, "'links' holds a non-bytes item")
        return None

    def send_debug(self, message: Message) -> None:
        if self.state != IDLE or self.debug_sent:
            return self.fail("http.debug-order", message, "debug after the start or twice")
        self.debug_sent = True
        self.check_key(message, "info", (dict,), "http.extension-fields", required=True)
        return None

    def send_push(self, message: Message) -> None:
        if self.state != STARTED:
            rule = "http.start-before-body" if self.state == IDLE else "http.after-final-body"
            return self.fail(rule, message, "push outside the response body")
        self.check_key(message, "path", (str,), "http.extension-fields", required=True)
        self.check_headers(message)
        return None

    def check_receive(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.disconnect":
            self.disconnected = True
            return
        if kind != "http.request":
            self.fail("http.receive-unknown-type", message, f"unknown type {kind!r}")
            return
        if self.request_complete or self.disconnected:
            why = "after http.disconnect" if self.disconnected else "after the final body"
            self.fail("http.receive-order", message, f"http.request {why}")
        self.check_key(message, "body", (bytes,), "http.request-fields")
        self.check_key(message, "more_body", (bool,), "http.request-fields")
        if not message.get("more_body", False):
            self.request_complete = True

    def returned(self) -> None:
        if self.disconnected or self.state == DONE:
            return
        if self.state == IDLE:
            self.fail("http.no-response", None, "the app returned without a response")
        else:
            self.fail("http.unfinished-response", None, "the app returned mid-response")


# -- WebSocket -------------------------------------------------------------------

CONNECTING: Final = "CONNECTING"  # handshake not answered
ACCEPTED: Final = "ACCEPTED"
DENYING: Final = "DENYING"  # websocket.http.response.start sent, body owed
CLOSED: Final = "CLOSED"  # closed or denied by the app


class _WebSocket(_Connection):
    def __init__(self, scope: Scope, strict: bool) -> None:
        self.state = CONNECTING
        self.connected = False  # websocket.connect received
        super().__init__(scope, strict)

    def check_scope(self) -> None:
        self.check_www_scope()
        self.check_scope_keys({"subprotocols": ((list, tuple), False)})
        for subprotocol in self.scope.get("subprotocols") or ():
            if not isinstance(subprotocol, str):
                self.fail("scope.field", None, f"subprotocol {subprotocol!r} is not a str")

    def check_send(self, message: Message) -> None:
        kind = message["type"]
        denial = kind.startswith("websocket.http.response.")
        if kind not in (
            "websocket.accept",
            "websocket.send",
            "websocket.close",
            "websocket.http.response.start",
            "websocket.http.response.body",
        ):
            return self.fail("websocket.unknown-send-type", message, f"unknown type {kind!r}")
        if denial and not self.offers("websocket.http.response"):
            return self.fail(
                "websocket.extension-not-offered", message, "no websocket.http.response extension"
            )
        if self.state == CLOSED:
            return self.fail("websocket.after-close", message, "the connection was closed")
        if self.state == DENYING and kind != "websocket.http.response.body":
            return self.fail("websocket.denial-order", message, "mid-denial, expected its body")
        if kind == "websocket.accept":
            return self.send_accept(message)
        if kind == "websocket.send":
            return self.send_data(message)
        if kind == "websocket.close":
            self.check_key(message, "code", (int,), "websocket.close-fields")
            self.check_key(message, "reason", (str,), "websocket.close-fields", none=True)
            if message.get("reason") and _version(self.scope) < (2, 3):
                self.fail("websocket.spec-version", message, "a close reason before spec 2.3")
            self.state = CLOSED
            return None
        if self.state == ACCEPTED:
            return self.fail("websocket.denial-after-accept", message, "denial after accept")
        if kind == "websocket.http.response.start":
            self.check_start(message)
            self.state = DENYING
            return None
        if self.state != DENYING:
            return self.fail("websocket.denial-order", message, "denial body before its start")
        self.check_body(message)
        if not message.get("more_body", False):
            self.state = CLOSED
        return None

    def send_accept(self, message: Message) -> None:
        if self.state == ACCEPTED:
            return self.fail("websocket.accept-twice", message, "a second websocket.accept")
        self.check_key(message, "subprotocol", (str,), "websocket.accept-fields", none=True)
        headers = message.get("headers")
        if headers:
            if _version(self.scope) < (2, 1):
                self.fail("websocket.spec-version", message, "accept headers before spec 2.1")
            self.check_headers(message, "websocket.accept-fields")
            if _bad_pairs(headers) is None and any(
                name.lower() == b"sec-websocket-protocol" for name, _ in headers
            ):
                self.fail(
                    "websocket.accept-fields", message, "sec-websocket-protocol in accept headers"
                )
        self.state = ACCEPTED
        return None

    def send_data(self, message: Message) -> None:
        if self.state != ACCEPTED:
            return self.fail("websocket.send-before-accept", message, "send before accept")
        why = _bad_data(message)
        if why is not None:
            self.fail("websocket.send-data", message, why)
        return None

    def check_receive(self, message: Message) -> None:
        kind = message["type"]
        if kind not in ("websocket.connect", "websocket.receive", "websocket.disconnect"):
            self.fail("websocket.receive-unknown-type", message, f"unknown type {kind!r}")
            return
        if self.disconnected and kind != "websocket.disconnect":
            self.fail("websocket.receive-order", message, f"{kind} after websocket.disconnect")
        elif (kind == "websocket.connect") == self.connected and kind != "websocket.disconnect":
            order = "a second websocket.connect" if self.connected else f"{kind} before connect"
            self.fail("websocket.receive-order", message, order)
        if kind == "websocket.connect":
            self.connected = True
        elif kind == "websocket.receive":
            why = _bad_data(message)
            if why is not None:
                self.fail("websocket.receive-data", message, why)
        else:
            self.disconnected = True
            self.check_key(message, "code", (int,), "websocket.disconnect-fields", required=True)
            self.check_key(message, "reason", (str,), "websocket.disconnect-fields", none=True)

    def returned(self) -> None:
        if self.disconnected:
            return
        if self.state == CONNECTING:
            self.fail("websocket.connect-unanswered", None, "the app returned before answering")
        elif self.state == DENYING:
            self.fail("websocket.denial-unfinished", None, "the app returned mid-denial")


def _bad_data(message: Message) -> str | None:
    """Why a websocket.send/receive does not carry exactly one of bytes or text."""
    data, text = message.get("bytes"), message.get("text")
    if (data is None) == (text is None):
        return "neither 'bytes' nor 'text'" if data is None else "both 'bytes' and 'text'"
    if data is not None and not isinstance(data, bytes):
        return f"'bytes' is {_typename(data)}"
    if text is not None and not isinstance(text, str):
        return f"'text' is {_typename(text)}"
    return None


# -- Lifespan --------------------------------------------------------------------

WAITING: Final = "WAITING"  # for lifespan.startup
STARTING: Final = "STARTING"  # startup received, reply owed
RUNNING: Final = "RUNNING"  # startup complete
STOPPING: Final = "STOPPING"  # shutdown received, reply owed
STOPPED: Final = "STOPPED"  # startup failed or shutdown answered

#: sent type -> (the state it answers, the state after it)
_LIFESPAN_REPLIES: Final = {
    "lifespan.startup.complete": (STARTING, RUNNING),
    "lifespan.startup.failed": (STARTING, STOPPED),
    "lifespan.shutdown.complete": (STOPPING, STOPPED),
    "lifespan.shutdown.failed": (STOPPING, STOPPED),
}

#: received type -> (the state it may come in, the state after it)
_LIFESPAN_EVENTS: Final = {
    "lifespan.startup": (WAITING, STARTING),
    "lifespan.shutdown": (RUNNING, STOPPING),
}


class _Lifespan(_Connection):
    def __init__(self, scope: Scope, strict: bool) -> None:
        self.state = WAITING
        super().__init__(scope, strict)

    def check_scope(self) -> None:
        self.check_common_scope()

    def check_send(self, message: Message) -> None:
        kind = message["type"]
        if kind not in _LIFESPAN_REPLIES:
            self.fail("lifespan.unknown-send-type", message, f"unknown type {kind!r}")
            return
        answers, after = _LIFESPAN_REPLIES[kind]
        if self.state != answers:
            self.fail("lifespan.unexpected-reply", message, f"{kind} in state {self.state}")
            return
        self.check_key(message, "message", (str,), "lifespan.failed-message")
        self.state = after

    def check_receive(self, message: Message) -> None:
        kind = message["type"]
        if kind not in _LIFESPAN_EVENTS:
            self.fail("lifespan.receive-unknown-type", message, f"unknown type {kind!r}")
            return
        expected, after = _LIFESPAN_EVENTS[kind]
        if self.state != expected:
            self.fail("lifespan.receive-order", message, f"{kind} in state {self.state}")
        self.state = after

    def returned(self) -> None:
        if self.state in (STARTING, STOPPING):
            self.fail("lifespan.unanswered", None, f"the app returned in state {self.state}")


_CHECKERS: Final[dict[str, type[_Connection]]] = {
    "http": _HTTP,
    "websocket": _WebSocket,
    "lifespan": _Lifespan,
}


def _connection(scope: Scope, strict: bool) -> _Connection:
    kind = scope.get("type") if isinstance(scope, Mapping) else None
    if not isinstance(kind, str):
        violation = ASGIViolation("scope.shape", scope, "the scope has no str 'type'")
        if strict:
            raise violation
        logger.warning("%s", violation, extra={"violation": violation})
        kind = ""
    return _CHECKERS.get(kind, _Connection)(scope, strict)


async def _run(
    connection: _Connection,
    call: Callable[[Receive, Send], Awaitable[None]],
    receive: Receive,
    send: Send,
) -> None:
    """Run one app instance with checked ``receive``/``send``."""

    async def checked_receive() -> Message:
        connection.check_unchanged("before receive()")
        message = await receive()
        connection.received(message)
        return message

    async def checked_send(message: Message) -> None:
        connection.check_unchanged("before send()")
        try:
            await send(connection.sending(message))
        except OSError:
            # ASGI spec 2.4: the server's way of saying the client has gone.
            connection.disconnected = True
            raise

    try:
        await call(checked_receive, checked_send)
    except Exception as exc:
        # The app may have caught our violation and failed on something else.
        violation = connection.violation
        if violation is not None and violation is not exc:
            raise violation from exc
        raise
    connection.check_unchanged("when the app returned")
    connection.returned()
    if connection.violation is not None:
        raise connection.violation  # the app swallowed it: it still happened


class _ValidatedASGI2:
    """A validated double-callable: ``validated(scope)(receive, send)``."""

    _asgi_double_callable = True

    def __init__(self, app: Any, strict: bool) -> None:
        self.app = app
        self.strict = strict

    def __call__(self, scope: Scope) -> ASGI2Instance:
        connection = _connection(scope, self.strict)
        instance = self.app(scope)
        connection.check_unchanged("in app(scope)")
        return functools.partial(_run, connection, instance)

    def __repr__(self) -> str:
        return f"validate({self.app!r})"


def validate(app: Any, *, strict: bool = True) -> Any:
    """Wrap an ASGI 2 or ASGI 3 ``app`` so each message is checked against the spec.

    Returns the same style it got. ``strict=True`` raises ``ASGIViolation``;
    ``strict=False`` logs each violation to ``trane.validate`` and goes on.
    """
    if is_double_callable(app):
        return _ValidatedASGI2(app, strict)

    async def validated(scope: Scope, receive: Receive, send: Send) -> None:
        connection = _connection(scope, strict)

        async def call(receive: Receive, send: Send) -> None:
            await app(scope, receive, send)

        await _run(connection, call, receive, send)

    validated._asgi_single_callable = True  # type: ignore[attr-defined]
    validated.__name__ = validated.__qualname__ = (
        f"validate({getattr(app, '__name__', type(app).__name__)})"
    )
    return validated
