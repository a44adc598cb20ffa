"""Router, Route, WebSocketRoute, Mount and the path converters.

How this works
--------------
Route templates are split into segments and stored in a trie::

    "/users/{id:int}/posts"  ->  "users" / {id:int} / "posts"
    "/files/{p:path}"        ->  "files" / tail "/{p:path}" (a regex)

A node holds its static children in a dict, its parameter children in a list,
and *tails*: routes whose rest (a ``path`` converter, a segment such as
``{name}.{ext}``, a Mount's prefix) is matched by hand, in linear time, by
route_matcher (a regex there could backtrack). Matching splits the
request path once and walks it: one dict lookup per static segment however
many routes there are, so 1000 routes ``/route{i}/{name}`` cost the same to
match as three. The walk first follows the likeliest branch without looking
back (static, else the first parameter, and into a Mount whose prefix it
has walked when nothing else there can take the path), as Python code
compiled from the trie (see route_compiler); only if that does not end on a
full match does a complete depth-first search (``resolve``) run, in the
order static segments, then parameters, then tails, and routes of one node
in registration order. A Mount gets the router's copy of the scope with
``root_path`` extended by what its prefix matched (``extend_root_path``).

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
from collections.abc import Awaitable, Mapping, Sequence
from decimal import Decimal
from types import MethodType
from typing import Any, ClassVar, Final, Protocol, TypeVar, cast
from urllib.parse import quote

from .applications import Application
from .compat import as_asgi2, is_double_callable
from .delegation import extend_root_path
from .exceptions import HTTPError, NoMatch
from .lifespan import Hook, Lifespan, LifespanContext
from .middleware import asgi3_of, build_stack, checked, wrap
from .openapi import build_document
from .route_compiler import Walk, compile_walk
from .route_matcher import Param, SegmentPattern, TailPattern
from .scopes import unknown_scope
from .types import ASGI2App, ASGI2Instance, ASGI3App, Receive, Scope, Send

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
        if value is None:
            raise ValueError("str parameter must not be None")
        text = str(value)
        if not text or "/" in text:
            raise ValueError(f"str parameter must be non-empty and without '/': {text!r}")
        return text


class PathConverter:
    regex = ".*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: Any) -> str:
        if value is None:
            raise ValueError("path parameter must not be None")
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
        number = float(value)
        if math.isinf(number):  # 400 digits read as inf, which to_string refuses
            raise ValueError(f"float parameter out of range: {value!r}")
        return number

    def to_string(self, value: Any) -> str:
        """Digits the regex takes (no exponent) that read back equal: 1e-20 is not "0".

        >>> FloatConverter().to_string(1e-20), FloatConverter().to_string(2.0)
        ('0.00000000000000000001', '2')
        """
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"float parameter must be a number: {value!r}") from None
        if number < 0 or not math.isfinite(number):
            raise ValueError(f"float parameter must be finite and non-negative: {value!r}")
        # repr() is the shortest text that reads back equal; + 0.0 makes -0.0 0.0.
        text = format(Decimal(repr(number + 0.0)), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text


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

    NOTE: the router does not run this regex: with several parameters in one
    segment it can backtrack for seconds on a long path. Routes match with
    route_matcher, in linear time (and may split such a segment differently
    when a converter refuses the greedy split).
    """
    pattern, fmt, convs = _compile_fragment(template)
    return re.compile(f"^{pattern}$"), fmt, convs


def _compile_fragment(template: str) -> tuple[str, str, dict[str, Converter[Any]]]:
    pattern, fmt, last = "", "", 0
    convs: dict[str, Converter[Any]] = {}
    kinds: set[str] = set()
    for m in _PARAM.finditer(template):
        name, conv_name = m.group(1), m.group(2) or "str"
        if not name.isidentifier():
            raise ValueError(f"invalid parameter name {name!r} in {template!r}")
        if name in convs:
            raise ValueError(f"duplicate parameter {name!r} in {template!r}")
        if conv_name not in CONVERTERS:
            raise ValueError(f"unknown converter {conv_name!r} in {template!r}")
        if convs and m.start() == last:
            previous = list(convs)[-1]
            raise ValueError(
                f"parameters {{{previous}}} and {{{name}}} need literal text between them"
                f" in {template!r}: nothing tells where one ends"
            )
        if conv_name == "path" and "path" in kinds:
            raise ValueError(f"at most one path parameter in {template!r}")
        kinds.add(conv_name)
        converter = CONVERTERS[conv_name]
        literal = template[last : m.start()]
        if "{" in literal or "}" in literal:
            raise ValueError(f"unbalanced braces in route template {template!r}")
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


def _parse_segments(template: str) -> tuple[list[_Segment], str]:
    """Split a template into trie segments and a tail left for a regex.

    >>> segs, tail = _parse_segments("/users/{id:int}/files/{p:path}")
    >>> [(s.literal, s.name) for s in segs], tail
    ([('users', ''), (None, 'id'), ('files', '')], '/{p:path}')

    A segment is static text or exactly one ``{param}`` whose converter stays
    within a segment; from the first other segment (``{p:path}``,
    ``{name}.{ext}``) on, the rest of the template is the tail.
    """
    parts = template.split("/")[1:]
    segments: list[_Segment] = []
    for i, part in enumerate(parts):
        if "{" not in part and "}" not in part:
            segments.append(_Segment(part, "", None))
            continue
        m = _PARAM.fullmatch(part)
        conv_name = m.group(2) or "str" if m else ""
        if m is None or conv_name == "path" or conv_name not in CONVERTERS:
            return segments, "/" + "/".join(parts[i:])
        segments.append(_Segment(None, m.group(1), CONVERTERS[conv_name]))
    return segments, ""


def _segment_pattern(text: str) -> SegmentPattern:
    """One segment of a route's tail, for route_matcher (its template checked already)."""
    literals, params, last = [], [], 0
    for m in _PARAM.finditer(text):
        conv_name = m.group(2) or "str"
        literals.append(text[last : m.start()])
        params.append(Param(m.group(1), CONVERTERS[conv_name], spans=conv_name == "path"))
        last = m.end()
    literals.append(text[last:])
    return SegmentPattern(literals, params)


def _tail_pattern(tail: str, mount: bool = False) -> TailPattern:
    """A template's tail, ``"/a/{b}.{c}"`` or ``""``, as a route_matcher pattern."""
    return TailPattern([_segment_pattern(part) for part in tail.split("/")[1:]], mount)


class _Segment:
    """One trie step: static ``literal`` text, or a parameter ``name``."""

    __slots__ = ("converter", "literal", "name", "pattern")

    def __init__(self, literal: str | None, name: str, converter: Any) -> None:
        self.literal = literal
        self.name = name
        self.converter = converter
        # PERF: a str parameter is any non-empty segment: no regex to run.
        self.pattern = (
            re.compile(converter.regex)
            if converter is not None and not isinstance(converter, StringConverter)
            else None
        )

    def key(self) -> tuple[str | None, str, Any]:
        return (self.literal, self.name, self.converter)


# -- routes --------------------------------------------------------------


class Match(enum.Enum):
    NONE = 0
    PARTIAL = 1  # the path matches, the method or protocol does not
    FULL = 2


class BaseRoute:
    """What the router stores: a template, an app, and how it matches."""

    scope_types: ClassVar[frozenset[str]] = frozenset({"http", "websocket"})
    #: The methods the route's class serves; None: any.
    methods: frozenset[str] | None = None

    def __init__(
        self, path: str, app: Any, name: str | None = None, middleware: Sequence[Any] = ()
    ) -> None:
        if not path.startswith("/"):
            raise ValueError(f"route paths must start with '/': {path!r}")
        self.path = path
        self.app = app
        self.name = name
        #: What the router calls with the scope: ``app`` inside the route's
        #: middleware (see trane.middleware), or ``app`` itself without any.
        self.serve: ASGI2App = wrap(app, middleware)
        _, self.format, self.converters = _compile_fragment(path)
        self.segments, tail = _parse_segments(path)
        #: Matches what is left of the path after the segments; None: nothing may be.
        self.tail: TailPattern | None = _tail_pattern(tail) if tail else None

    def match_tail(self, parts: list[str], i: int) -> tuple[dict[str, Any], str] | None:
        """Params from the tail matched against ``parts[i:]``, and the remainder (mounts)."""
        if self.tail is None:
            return ({}, "") if i == len(parts) else None
        found = self.tail.match(parts, i)
        return None if found is None else (found[1], found[2])

    def match_kind(self, scope: Scope) -> Match:
        """FULL, PARTIAL (a method the class lacks) or NONE (another protocol)."""
        if scope["type"] not in self.scope_types:
            return Match.NONE
        methods = self.methods
        if methods is not None and scope["method"] not in methods:
            return Match.PARTIAL
        return Match.FULL

    def url_path_for(self, params: Mapping[str, Any]) -> str:
        """The URL path for ``params``: one that leads back here with them, or NoMatch.

        The path is built as a server hands it over (decoded), matched
        against this route alone, and percent-encoded only if every
        parameter's text comes back as it went in. It never starts with
        ``//`` (scheme-relative: another host) nor holds a ``.``/``..``
        segment (which clients remove).
        """
        if set(params) != set(self.converters):
            raise NoMatch(
                f"route {self.name!r} takes parameters {sorted(self.converters)!r}, "
                f"got {sorted(params)!r}"
            )
        try:
            texts = {k: self.converters[k].to_string(v) for k, v in params.items()}
        except (ValueError, TypeError, OverflowError) as exc:
            raise NoMatch(f"cannot build a URL for route {self.name!r}: {exc}") from None
        path = self.format.format(**texts)
        if self.split_path(path) != texts:
            raise NoMatch(
                f"cannot build a URL for route {self.name!r}: {path!r} would not match it"
                f" with the same parameters {params!r}"
            )
        segments = path.split("/")
        if "." in segments or ".." in segments:
            raise NoMatch(
                f"cannot build a URL for route {self.name!r}: {path!r} has a '.' or '..'"
                " segment, which clients remove"
            )
        try:
            url = "/".join(quote(segment, safe=_PATH_SAFE) for segment in segments)
        except UnicodeEncodeError as exc:
            raise NoMatch(f"cannot build a URL for route {self.name!r}: {exc}") from None
        return "/%2F" + url[2:] if url.startswith("//") else url

    def split_path(self, path: str) -> dict[str, str] | None:
        """Each parameter's text in ``path`` (decoded), if this route alone matches it all.

        >>> Route("/files/{name}.{ext}", object).split_path("/files/a.tar.gz")
        {'name': 'a.tar', 'ext': 'gz'}
        """
        parts = path.split("/")
        n = len(self.segments) + 1
        if parts[0] or len(parts) < n:
            return None
        texts: dict[str, str] = {}
        for segment, part in zip(self.segments, parts[1:n], strict=True):
            if segment.literal is not None:
                if part != segment.literal:
                    return None
                continue
            if not part or (segment.pattern is not None and not segment.pattern.fullmatch(part)):
                return None
            try:
                segment.converter.convert(part)
            except ValueError:
                return None
            texts[segment.name] = part
        if self.tail is None:
            return texts if len(parts) == n else None
        found = self.tail.match(parts, n)
        if found is None or found[2]:  # a Mount's path: its prefix, nothing after
            return None
        return {**texts, **found[0]}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r}, {self.app!r}, name={self.name!r})"


class Route(BaseRoute):
    """An HTTP route to an ``Application`` subclass (or any ASGI 2 app).

    ``middleware`` (a list of ``trane.Middleware``) wraps this route only.
    """

    scope_types = frozenset({"http"})

    def __init__(
        self, path: str, cls: Any, name: str | None = None, *, middleware: Sequence[Any] = ()
    ) -> None:
        super().__init__(path, _as_double_callable(cls), name, middleware)
        allowed = getattr(cls, "allowed_methods", None)
        self.methods = allowed() if callable(allowed) else None


class WebSocketRoute(BaseRoute):
    """A WebSocket route to a ``WebSocketApplication`` subclass (``middleware``: as Route's)."""

    scope_types = frozenset({"websocket"})

    def __init__(
        self, path: str, cls: Any, name: str | None = None, *, middleware: Sequence[Any] = ()
    ) -> None:
        super().__init__(path, _as_double_callable(cls), name, middleware)


class Mount(BaseRoute):
    """Everything under ``prefix`` goes to ``app``: a Router or any ASGI app.

    The child sees ``root_path`` extended by the prefix and ``path`` unchanged,
    as the ASGI spec asks. ``middleware`` wraps what is served under the
    prefix (a mounted router's lifespan is run by the parent, outside it).
    """

    def __init__(
        self, prefix: str, app: Any, name: str | None = None, *, middleware: Sequence[Any] = ()
    ) -> None:
        prefix = prefix.rstrip("/")
        if prefix and not prefix.startswith("/"):
            raise ValueError(f"mount prefixes must start with '/': {prefix!r}")
        if any(m.group(2) == "path" for m in _PARAM.finditer(prefix)):
            raise ValueError(f"a Mount prefix cannot take a path parameter: {prefix!r}")
        super().__init__(prefix or "/", _as_double_callable(app), name, middleware)
        #: The template without its trailing "/" ("" for a Mount at the root).
        self.prefix = prefix
        if not prefix:  # mounted at the root: every path is the remainder
            self.segments, self.format = [], ""
        tail = _parse_segments(prefix)[1] if prefix else ""
        self.tail = _tail_pattern(tail, mount=True)

    @property
    def routes(self) -> list[BaseRoute]:
        return getattr(self.app, "routes", [])


def _as_double_callable(app: Any) -> ASGI2App:
    if not callable(app):
        raise TypeError(f"expected an ASGI application or view class, got {app!r}")
    abstract = getattr(app, "__abstractmethods__", None)
    if isinstance(app, type) and abstract:  # NOTE: else every request would be a 500
        raise TypeError(
            f"{app.__name__} is abstract: define {', '.join(sorted(abstract))} "
            "in a subclass and route to that"
        )
    if is_double_callable(app):
        return cast(ASGI2App, app)
    # NOTE: as_asgi3(router) is mounted as the router itself: no adapter on an
    # adapter, and the router's route names still nest under the Mount's name.
    original: ASGI2App | None = getattr(app, "_trane_asgi2", None)
    return original if original is not None else as_asgi2(app)


# -- the router ----------------------------------------------------------


class _Node:
    """A trie node: static children by segment text, then parameter children."""

    __slots__ = ("any_method", "by_method", "children", "mount", "params", "routes", "tails")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.params: list[tuple[_Segment, _Node]] = []
        self.routes: list[BaseRoute] = []  # routes that end exactly here
        self.tails: list[BaseRoute] = []  # routes that match the rest by regex
        # PERF: the HTTP route that fully matches here, by method (see index()).
        self.by_method: dict[str, BaseRoute] = {}
        self.any_method: BaseRoute | None = None
        #: The Mount the compiled walk may enter here (see index()).
        self.mount: Mount | None = None

    def index(self) -> None:
        """Precompute, per method, the first HTTP route here that serves it,
        and the Mount a path going on past this node falls to."""
        first = self.tails[0] if self.tails else None
        self.mount = None
        # NOTE: only a Mount whose whole prefix is in the trie (nothing left
        # for its tail to match), so it takes any rest of the path, any method.
        if isinstance(first, Mount) and first.tail is not None and not first.tail.segments:
            self.mount = first if "http" in first.scope_types else None
        self.by_method, self.any_method = {}, None
        for route in self.routes:
            if "http" not in route.scope_types or self.any_method is not None:
                continue
            if route.methods is None:
                self.any_method = route  # serves any method no earlier route took
            else:
                for method in route.methods:
                    self.by_method.setdefault(method, route)


class _NotFound(Application):
    """What the router hands out when nothing matches."""

    async def __call__(self, receive: Receive, send: Send) -> None:
        if self.scope["type"] == "websocket":
            # Closing before accept makes the server answer 403 to the handshake.
            await send({"type": "websocket.close", "code": 1000})
        else:
            await super().__call__(receive, send)

    def dispatch(self) -> Awaitable[Any]:
        raise HTTPError(404)


class _Debugging:
    """The outermost router, as the views under a mounted ``Router(debug=True)`` see it.

    ``url_for`` still starts at the outermost router; ``debug`` is on.
    """

    __slots__ = ("router",)
    debug: Final = True

    def __init__(self, router: Any) -> None:
        self.router = router

    def __getattr__(self, name: str) -> Any:
        return getattr(self.router, name)


_FULL: Final = Match.FULL  # PERF: a global lookup, not an enum class attribute
_PARTIAL: Final = Match.PARTIAL


class Router:
    """Routes scopes to views. Itself an ASGI 2 app: ``router(scope)``.

    ``middleware`` (a list of ``trane.Middleware``, the first outermost) wraps
    everything the router serves: lifespan, 404 and 405 answers too. The
    stack is built here, once; ``router(scope)`` then returns the instance
    that runs it (the router's class becomes a subclass whose ``__call__``
    does that, so a router without middleware runs exactly as before).
    """

    _asgi_double_callable = True
    #: The middleware stack, an ASGI 3 app (None without middleware); ``as_asgi3``
    #: and a parent router's ``Mount`` enter it directly.
    _trane_asgi3: ASGI3App | None = None

    def __init__(
        self,
        routes: Sequence[BaseRoute] = (),
        on_startup: Sequence[Hook] = (),
        on_shutdown: Sequence[Hook] = (),
        lifespan: LifespanContext | None = None,
        debug: bool = False,
        not_found: type[Application] = _NotFound,
        channel_layer: Any = None,
        *,
        middleware: Sequence[Any] = (),
    ) -> None:
        self.debug = debug
        self.not_found = not_found
        #: The channel layer of WebSocket groups (see trane.layers); None: the default.
        self.channel_layer = channel_layer
        self.lifespan = Lifespan(
            self,
            on_startup,
            on_shutdown,
            lifespan,
            mounts=self._mounted_lifespans,
            prepare=self._compile,  # at startup rather than on the first request
        )
        self.routes: list[BaseRoute] = []
        self._root = _Node()
        # PERF: above the root, so that walking path.split("/") from here needs
        # no slice: "/a/b" splits into "", "a", "b".
        self._top = _Node()
        self._top.children[""] = self._root
        self._names: dict[str, BaseRoute] = {}
        self._walk: Walk = self._compile_then_walk
        self._walk_source = ""  # the compiled walk's source, to read when debugging
        for route in routes:
            self.add(route)
        self.middleware = checked(middleware)
        plain = _PLAIN.get(type(self), type(self))
        if self.middleware:
            self.__class__ = _with_stack(plain)
            dispatch = MethodType(plain.__call__, self)  # the routing below, no stack
            self._trane_asgi3 = build_stack(self.middleware, asgi3_of(dispatch))
        elif plain is not type(self):  # a router with middleware's class, used again
            self.__class__ = plain

    def add(self, route: BaseRoute) -> None:
        """Register one more route (after the ones already there)."""
        if not isinstance(route, BaseRoute):
            raise TypeError(f"expected a Route, WebSocketRoute or Mount, got {route!r}")
        if route.name is not None and route.name in self._names:
            raise ValueError(f"duplicate route name {route.name!r}")
        node = self._root
        for segment in route.segments:
            if segment.literal is not None:
                node = node.children.setdefault(segment.literal, _Node())
                continue
            for existing, child in node.params:
                if existing.key() == segment.key():
                    node = child
                    break
            else:
                child = _Node()
                node.params.append((segment, child))
                node = child
        if route.tail is None:
            node.routes.append(route)
        else:
            node.tails.append(route)
        node.index()
        self.routes.append(route)
        if route.name is not None:
            self._names[route.name] = route
        self._walk = self._compile_then_walk  # recompiled when next needed

    def _mounted_lifespans(self) -> list[tuple[str, Lifespan]]:
        """The lifespans of the trane routers mounted here, in route order."""
        return [
            (route.path, route.app.lifespan)
            for route in self.routes
            if isinstance(route, Mount) and isinstance(route.app, Router)
        ]

    def _compile(self) -> None:
        self._walk, self._walk_source = compile_walk(self._top)

    def _compile_then_walk(
        self, scope: Scope, parts: list[str], n: int, method: str
    ) -> BaseRoute | None:
        self._compile()
        return self._walk(scope, parts, n, method)

    def resolve(self, path: str, scope: Scope) -> tuple[BaseRoute, dict[str, Any], str] | None:
        """The route for ``path``: (route, params, unmatched remainder for mounts).

        A full match wins; failing that, the first partial one (its class
        will answer 405). Static segments are tried before parameters, and
        parameters before tails; routes in one place in registration order.
        (``__call__`` tries a faster walk first; it finds the same route.)
        """
        if not path.startswith("/"):  # NOTE: no segment may be skipped unread
            return None
        partial: list[tuple[BaseRoute, dict[str, Any], str]] = []
        found = self._search(self._root, path.split("/"), 1, {}, scope, partial)
        return found or (partial[0] if partial else None)

    def _search(
        self,
        node: _Node,
        parts: list[str],
        i: int,
        params: dict[str, Any],
        scope: Scope,
        partial: list[tuple[BaseRoute, dict[str, Any], str]],
    ) -> tuple[BaseRoute, dict[str, Any], str] | None:
        if i == len(parts):
            for route in node.routes:
                kind = route.match_kind(scope)
                if kind is _FULL:
                    return route, dict(params), ""
                if kind is _PARTIAL and not partial:
                    partial.append((route, dict(params), ""))
        else:
            part = parts[i]
            child = node.children.get(part)
            if child is not None:
                found = self._search(child, parts, i + 1, params, scope, partial)
                if found:
                    return found
            for segment, child in node.params if part else ():
                if segment.pattern is not None and not segment.pattern.fullmatch(part):
                    continue
                try:
                    params[segment.name] = segment.converter.convert(part)
                except ValueError:
                    continue
                found = self._search(child, parts, i + 1, params, scope, partial)
                del params[segment.name]
                if found:
                    return found
        if node.tails:
            for route in node.tails:
                kind = route.match_kind(scope)
                if kind is Match.NONE:
                    continue
                matched = route.match_tail(parts, i)
                if matched is None:
                    continue
                found_params = {**params, **matched[0]}
                if kind is _FULL:
                    return route, found_params, matched[1]
                if not partial:
                    partial.append((route, found_params, matched[1]))
        return None

    def __call__(self, scope: Scope) -> ASGI2Instance:
        kind = scope["type"]
        if kind != "http":
            if kind == "lifespan":
                return self.lifespan(scope)
            if kind != "websocket":
                raise unknown_scope(kind)
        # The server's scope is the server's: what the router adds goes on a copy
        # (the ASGI spec asks this of anything that changes a scope for an inner app).
        scope = {**scope}
        if "trane.router" not in scope:  # the outermost router: url_for starts here
            scope["trane.router"] = self
            if "state" not in scope:  # a server without lifespan state
                scope["state"] = self.lifespan.state
            if "path_remaining" in scope:  # under a Channels URLRouter prefix
                _mount_where_channels_matched(scope)
        elif self.debug and not getattr(scope["trane.router"], "debug", False):  # mounted
            scope["trane.router"] = _Debugging(scope["trane.router"])
        if self.channel_layer is not None:
            scope["trane.channel_layer"] = self.channel_layer
        path = scope["path"]
        root_path = scope.get("root_path", "")
        if kind == "http" and not root_path:
            # PERF: the likeliest branch first, with no backtracking (see
            # route_compiler); a full match there is the one resolve() finds first.
            # Without a root_path there is nothing to strip and no Mount
            # parameters to merge (-123 instructions a request).
            # PERF: the walk and route.serve are instance attributes; Python 3.11
            # cannot specialize calling one as a method, but can load it and then
            # call it (-220 instructions a request in-process, 23,600 -> 23,380).
            parts = path.split("/")
            walk = self._walk
            route = walk(scope, parts, len(parts), scope["method"])
            if route is not None:
                serve = route.serve
                return serve(scope)
            return self._serve_resolved(scope, path, None)
        outer = None  # the parameters of the Mounts above us
        if root_path:  # NOTE: a Mount with parameters always extends root_path
            if path.startswith(root_path):
                # NOTE: "/apix/admin" under "/api" leaves "x/admin": neither the
                # walk nor resolve() matches a path not starting with "/".
                path = path[len(root_path) :]
            outer = scope.get("path_params")
        if kind == "http":
            parts = path.split("/")
            walk = self._walk
            route = walk(scope, parts, len(parts), scope["method"])
            if route is not None:
                if outer:
                    scope["path_params"] = {**outer, **scope["path_params"]}
                serve = route.serve
                return serve(scope)
        return self._serve_resolved(scope, path, outer)

    def _serve_resolved(
        self, scope: Scope, path: str, outer: dict[str, Any] | None
    ) -> ASGI2Instance:
        """What ``__call__`` serves when the walk found nothing: ``resolve()``'s answer."""
        found = self.resolve(path or "/", scope)
        if found is None:
            return self.not_found(scope)
        route, params, remainder = found
        if outer:
            params = {**outer, **params}
        if isinstance(route, Mount):
            extend_root_path(scope, path[: len(path) - len(remainder)])
        scope["path_params"] = params
        return route.serve(scope)

    def openapi(
        self,
        *,
        title: str,
        version: str,
        description: str | None = None,
        servers: Sequence[str] = (),
    ) -> dict[str, Any]:
        """The OpenAPI 3.1 document of this router's routes (see trane.openapi)."""
        return build_document(
            self.routes, title=title, version=version, description=description, servers=servers
        )

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


def _mount_where_channels_matched(scope: Scope) -> None:
    """Treat what Channels' URLRouter matched (``path`` minus ``path_remaining``)
    as a Mount prefix: ``root_path`` becomes it, so the router routes on the rest."""
    path: str = scope["path"]
    rest: str = scope["path_remaining"]
    matched = path[: len(path) - len(rest)] if path.endswith(rest) else path
    scope["root_path"] = matched.rstrip("/")  # NOTE: it starts with the server's root_path


#: Router classes -> their subclass for routers with middleware, and back.
_LAYERED: dict[type[Router], type[Router]] = {}
_PLAIN: dict[type[Router], type[Router]] = {}


def _with_stack(cls: type[Router]) -> type[Router]:
    """``cls`` with a ``__call__`` that runs the router's middleware (made once per class)."""
    layered = _LAYERED.get(cls)
    if layered is None:
        namespace = {"__call__": _run_stack, "__module__": cls.__module__, "__doc__": cls.__doc__}
        layered = _LAYERED[cls] = type(cls.__name__, (cls,), namespace)
        layered.__qualname__ = cls.__qualname__
        _PLAIN[layered] = cls
    return layered


def _run_stack(self: Router, scope: Scope) -> ASGI2Instance:
    """``router(scope)`` of a router with middleware: the instance that runs its stack."""
    return MethodType(self._trane_asgi3, scope)  # type: ignore[arg-type]  # set with the class


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
