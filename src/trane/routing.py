"""Router, Route, WebSocketRoute, Mount and the path converters.

How this works
--------------
Each route template is split into a *static prefix* (its leading segments
without ``{``) and a *rest* compiled to a regex::

    "/users/{id:int}/posts"  ->  static ("users",)  rest "/{id:int}/posts"
    "/about"                 ->  static ("about",)  rest ""

The static prefixes form a trie of dicts. Matching walks the request path one
segment at a time down the trie (one dict lookup a segment, however many
routes there are), then tries the routes stored on the nodes it passed,
deepest first and in registration order within a node, against the rest of the
path. So a static route always beats a parameter one, and 1000 routes
``/route{i}/{name}`` cost the same to match as three.

``Router`` is itself an ASGI 2 double-callable: ``router(scope)`` returns the
matched class's instance (the view), with the converted parameters in
``scope["path_params"]``. A route whose path matches but whose class does not
serve the method is a partial match: it is used only when no full match
exists, and its class answers 405 with ``Allow``.
"""

from __future__ import annotations

import enum
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Protocol, TypeVar, cast
from urllib.parse import quote

from .applications import Application
from .compat import as_asgi2, is_double_callable
from .exceptions import HTTPError, NoMatch
from .lifespan import Hook, Lifespan, LifespanContext
from .types import ASGI2App, ASGI2Instance, Receive, Scope, Send

T = TypeVar("T")


# -- converters ----------------------------------------------------------


class Converter(Protocol[T]):
    regex: str

    def convert(self, value: str) -> T: ...
    def to_string(self, value: T) -> str: ...


class StringConverter:
    regex = "[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: Any) -> str:
        text = str(value)
        if not text or "/" in text:
            raise ValueError(f"str parameter must be non-empty and without '/': {text!r}")
        return text


class PathConverter:
    regex = ".*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: Any) -> str:
        return str(value)


class IntegerConverter:
    regex = "[0-9]+"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"int parameter must be a non-negative int: {value!r}")
        return str(value)


class FloatConverter:
    regex = r"[0-9]+(?:\.[0-9]+)?"

    def convert(self, value: str) -> float:
        return float(value)

    def to_string(self, value: Any) -> str:
        value = float(value)
        if value < 0 or not math.isfinite(value):
            raise ValueError(f"float parameter must be finite and non-negative: {value!r}")
        return f"{value:.15f}".rstrip("0").rstrip(".")


class UUIDConverter:
    regex = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

    def convert(self, value: str) -> uuid.UUID:
        return uuid.UUID(value)

    def to_string(self, value: Any) -> str:
        return str(uuid.UUID(str(value)))


CONVERTERS: dict[str, Converter[Any]] = {
    "str": StringConverter(),
    "path": PathConverter(),
    "int": IntegerConverter(),
    "float": FloatConverter(),
    "uuid": UUIDConverter(),
}


def register_converter(name: str, converter: Converter[Any]) -> None:
    """Make ``{param:name}`` available in route templates."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"invalid converter name {name!r}")
    re.compile(converter.regex)
    CONVERTERS[name] = converter


_PARAM = re.compile(r"{([^{}:]*)(?::([^{}]*))?}")
# What url_for leaves unquoted in a parameter value: RFC 3986 path characters.
_PATH_SAFE = "/:@!$&'()*+,;="


def compile_path(template: str) -> tuple[re.Pattern[str], str, dict[str, Converter[Any]]]:
    """Compile a template to (regex, format string, converters).

    >>> regex, fmt, convs = compile_path("/users/{id:int}/{slug}")
    >>> regex.pattern
    '^/users/(?P<id>[0-9]+)/(?P<slug>[^/]+)$'
    >>> fmt, sorted(convs)
    ('/users/{id}/{slug}', ['id', 'slug'])
    """
    pattern, fmt, convs = _compile_fragment(template)
    return re.compile(f"^{pattern}$"), fmt, convs


def _compile_fragment(template: str) -> tuple[str, str, dict[str, Converter[Any]]]:
    pattern, fmt, convs, last = "", "", {}, 0
    for m in _PARAM.finditer(template):
        name, conv_name = m.group(1), m.group(2) or "str"
        if not name.isidentifier():
            raise ValueError(f"invalid parameter name {name!r} in {template!r}")
        if name in convs:
            raise ValueError(f"duplicate parameter {name!r} in {template!r}")
        if conv_name not in CONVERTERS:
            raise ValueError(f"unknown converter {conv_name!r} in {template!r}")
        converter = CONVERTERS[conv_name]
        literal = template[last : m.start()]
        pattern += re.escape(literal) + f"(?P<{name}>{converter.regex})"
        fmt += literal.replace("{", "{{").replace("}", "}}") + "{" + name + "}"
        convs[name] = converter
        last = m.end()
    literal = template[last:]
    if "{" in literal or "}" in literal:
        raise ValueError(f"unbalanced braces in route template {template!r}")
    pattern += re.escape(literal)
    fmt += literal
    return pattern, fmt, convs


def _split_static(template: str) -> tuple[tuple[str, ...], str]:
    """``"/users/{id}/x"`` -> ``(("users",), "/{id}/x")``; ``"/"`` -> ``(("",), "")``."""
    segments = template.split("/")[1:]
    for i, segment in enumerate(segments):
        if "{" in segment:
            return tuple(segments[:i]), "/" + "/".join(segments[i:])
    return tuple(segments), ""


# -- routes --------------------------------------------------------------


class Match(enum.Enum):
    NONE = 0
    PARTIAL = 1  # the path matches, the method or protocol does not
    FULL = 2


class BaseRoute:
    """What the router stores: a template, an app, and how to match the rest."""

    scope_types: ClassVar[frozenset[str]] = frozenset({"http", "websocket"})

    def __init__(self, path: str, app: Any, name: str | None = None) -> None:
        if not path.startswith("/"):
            raise ValueError(f"route paths must start with '/': {path!r}")
        self.path = path
        self.app = app
        self.name = name
        self.static, rest = _split_static(path)
        if any("}" in segment for segment in self.static):
            raise ValueError(f"unbalanced braces in route template {path!r}")
        pattern, self.format, self.converters = _compile_fragment(rest)
        self._rest = re.compile(f"^{pattern}$") if self.converters else None
        self._rest_literal = rest

    def match_rest(self, rest: str) -> tuple[dict[str, Any], str] | None:
        """Params and matched prefix length for the path left after the static part."""
        if self._rest is None:
            return ({}, "") if rest == self._rest_literal else None
        m = self._rest.match(rest)
        if m is None:
            return None
        try:
            params = {k: self.converters[k].convert(v) for k, v in m.groupdict().items()}
        except ValueError:
            return None
        return params, ""

    def match_kind(self, scope: Scope) -> Match:
        return Match.FULL if scope["type"] in self.scope_types else Match.NONE

    def url_path_for(self, params: Mapping[str, Any]) -> str:
        if set(params) != set(self.converters):
            raise NoMatch(
                f"route {self.name!r} takes parameters {sorted(self.converters)!r}, "
                f"got {sorted(params)!r}"
            )
        try:
            values = {
                k: quote(self.converters[k].to_string(v), safe=_PATH_SAFE)
                for k, v in params.items()
            }
        except ValueError as exc:
            raise NoMatch(f"cannot build a URL for route {self.name!r}: {exc}") from None
        prefix = "/" + "/".join(self.static) if self.static else ""
        return prefix + self.format.format(**values)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r}, {self.app!r}, name={self.name!r})"


class Route(BaseRoute):
    """An HTTP route to an ``Application`` subclass (or any ASGI 2 app)."""

    scope_types = frozenset({"http"})

    def __init__(self, path: str, cls: Any, name: str | None = None) -> None:
        super().__init__(path, _as_double_callable(cls), name)
        handlers = getattr(cls, "_handlers", None)
        self.methods: frozenset[str] | None = frozenset(handlers) if handlers else None

    def match_kind(self, scope: Scope) -> Match:
        if scope["type"] != "http":
            return Match.NONE
        if self.methods is not None and scope["method"] not in self.methods:
            return Match.PARTIAL
        return Match.FULL


class WebSocketRoute(BaseRoute):
    """A WebSocket route to a ``WebSocketApplication`` subclass."""

    scope_types = frozenset({"websocket"})

    def __init__(self, path: str, cls: Any, name: str | None = None) -> None:
        super().__init__(path, _as_double_callable(cls), name)


class Mount(BaseRoute):
    """Everything under ``prefix`` goes to ``app``: a Router or any ASGI app.

    The child sees ``root_path`` extended by the prefix and ``path`` unchanged,
    as the ASGI spec asks.
    """

    def __init__(self, prefix: str, app: Any, name: str | None = None) -> None:
        prefix = prefix.rstrip("/")
        if prefix and not prefix.startswith("/"):
            raise ValueError(f"mount prefixes must start with '/': {prefix!r}")
        super().__init__(prefix or "/", _as_double_callable(app), name)
        if not prefix:  # mounted at the root: every path is "rest"
            self.static = ()
            pattern, self.format, self.converters = "", "", {}
        else:
            pattern = self._rest.pattern[1:-1] if self._rest else re.escape(self._rest_literal)
        self._rest = re.compile(f"^{pattern}(?P<_trane_rest>/.*)?$")

    def match_rest(self, rest: str) -> tuple[dict[str, Any], str] | None:
        assert self._rest is not None
        m = self._rest.match(rest)
        if m is None:
            return None
        values = m.groupdict()
        remainder = values.pop("_trane_rest") or ""
        try:
            params = {k: self.converters[k].convert(v) for k, v in values.items()}
        except ValueError:
            return None
        return params, remainder

    @property
    def routes(self) -> list[BaseRoute]:
        return getattr(self.app, "routes", [])


def _as_double_callable(app: Any) -> ASGI2App:
    if not callable(app):
        raise TypeError(f"expected an ASGI application or view class, got {app!r}")
    if is_double_callable(app):
        return cast(ASGI2App, app)
    # NOTE: as_asgi3(router) is mounted as the router itself: no adapter on an
    # adapter, and the router's route names still nest under the Mount's name.
    original: ASGI2App | None = getattr(app, "_trane_asgi2", None)
    return original if original is not None else as_asgi2(app)


# -- the router ----------------------------------------------------------


class _Node:
    __slots__ = ("children", "routes")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.routes: list[BaseRoute] = []


class _NotFound(Application):
    """What the router hands out when nothing matches."""

    async def __call__(self, receive: Receive, send: Send) -> None:
        if self.scope["type"] == "websocket":
            # Closing before accept makes the server answer 403 to the handshake.
            await send({"type": "websocket.close", "code": 1000})
        else:
            await super().__call__(receive, send)

    async def dispatch(self) -> Any:
        raise HTTPError(404)


class Router:
    """Routes scopes to views. Itself an ASGI 2 app: ``router(scope)``."""

    _asgi_double_callable = True

    def __init__(
        self,
        routes: Sequence[BaseRoute] = (),
        on_startup: Sequence[Hook] = (),
        on_shutdown: Sequence[Hook] = (),
        lifespan: LifespanContext | None = None,
        debug: bool = False,
        not_found: type[Application] = _NotFound,
        channel_layer: Any = None,
    ) -> None:
        self.debug = debug
        self.not_found = not_found
        #: The channel layer of WebSocket groups (see trane.layers); None: the default.
        self.channel_layer = channel_layer
        self.lifespan = Lifespan(self, on_startup, on_shutdown, lifespan)
        self.routes: list[BaseRoute] = []
        self._root = _Node()
        self._names: dict[str, BaseRoute] = {}
        for route in routes:
            self.add(route)

    def add(self, route: BaseRoute) -> None:
        """Register one more route (after the ones already there)."""
        if not isinstance(route, BaseRoute):
            raise TypeError(f"expected a Route, WebSocketRoute or Mount, got {route!r}")
        node = self._root
        for segment in route.static:
            node = node.children.setdefault(segment, _Node())
        node.routes.append(route)
        self.routes.append(route)
        if route.name is not None:
            if route.name in self._names:
                raise ValueError(f"duplicate route name {route.name!r}")
            self._names[route.name] = route

    def resolve(self, path: str, scope: Scope) -> tuple[BaseRoute, dict[str, Any], str] | None:
        """The route for ``path``: (route, params, unmatched rest for mounts)."""
        # Walk the static trie; remember each node passed and where it ended.
        node, visited, pos, end = self._root, [(self._root, 0)], 1, 0
        children = node.children
        while children:
            end = path.find("/", pos)
            child = children.get(path[pos:] if end < 0 else path[pos:end])
            if child is None:
                break
            node = child
            visited.append((node, len(path) if end < 0 else end))
            if end < 0:
                break
            children = node.children
            pos = end + 1
        partial: tuple[BaseRoute, dict[str, Any], str] | None = None
        for node, offset in reversed(visited):
            if not node.routes:
                continue
            rest = path[offset:]
            for route in node.routes:
                kind = route.match_kind(scope)
                if kind is Match.NONE:
                    continue
                matched = route.match_rest(rest)
                if matched is None:
                    continue
                if kind is Match.FULL:
                    return route, matched[0], matched[1]
                if partial is None:
                    partial = (route, matched[0], matched[1])
        return partial

    def __call__(self, scope: Scope) -> ASGI2Instance:
        kind = scope["type"]
        if kind == "lifespan":
            return self.lifespan(scope)
        if "trane.router" not in scope:
            scope["trane.router"] = self
            scope["trane.root_path"] = scope.get("root_path", "")
            if "state" not in scope:
                scope["state"] = self.lifespan.state
        if self.channel_layer is not None:
            scope["trane.channel_layer"] = self.channel_layer
        path = scope["path"]
        root_path = scope.get("root_path", "")
        if root_path and path.startswith(root_path):
            path = path[len(root_path) :]
        found = self.resolve(path or "/", scope)
        if found is None:
            return self.not_found(scope)
        route, params, remainder = found
        outer = scope.get("path_params")
        if outer:
            params = {**outer, **params}
        if isinstance(route, Mount):
            prefix = path[: len(path) - len(remainder)]
            scope = {**scope, "root_path": root_path + prefix, "path_params": params}
        else:
            scope["path_params"] = params
        return route.app(scope)  # type: ignore[no-any-return]

    def url_for(self, name: str, /, **params: Any) -> str:
        """The path for route ``name``; ``"api:user"`` looks inside Mount "api"."""
        route = self._names.get(name)
        if route is not None and not isinstance(route, Mount):
            return route.url_path_for(params)
        mount_name, sep, rest = name.partition(":")
        mount = self._names.get(mount_name)
        if sep and isinstance(mount, Mount) and isinstance(mount.app, Router):
            own = {k: params.pop(k) for k in list(params) if k in mount.converters}
            prefix = mount.url_path_for(own).rstrip("/")
            return prefix + mount.app.url_for(rest, **params)
        raise NoMatch(f"no route named {name!r}")


__all__ = [
    "CONVERTERS",
    "BaseRoute",
    "Converter",
    "Match",
    "Mount",
    "Route",
    "Router",
    "WebSocketRoute",
    "compile_path",
    "register_converter",
]
