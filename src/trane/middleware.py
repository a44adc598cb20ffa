"""``Middleware``: ASGI layers around a router, a route or a family of view classes.

How this works
--------------
``Middleware(cls, *args, **kwargs)`` only records a layer. The stack is built
once, when the ``Router``, ``Mount``, ``Route``/``WebSocketRoute`` or view
class that lists it is made: ``build_stack(middleware, app)`` wraps ``app``
in the last layer first, so the first listed is the outermost, as in
Starlette::

    Router(routes, middleware=[Middleware(A), Middleware(B)])
    request -> A -> B -> the router -> the view

Middleware speak ASGI 3 (``cls(app, ...)``, then ``await layer(scope,
receive, send)``); trane's objects are ASGI 2 double-callables. So the
innermost app is the trane object behind a plain (not ``async``) function,
``asgi3_of(app)``, that returns its instance's coroutine for the middleware
to await. The finished stack is kept as ``_trane_asgi3`` on its router or
view class: ``as_asgi3()`` awaits it directly, and so does a parent router's
route to it, so served that way (as ``python -m trane serve`` does) a request
costs the middleware's own code and nothing more that counts (``python -m
benchmarks.middleware``). Called as ASGI 2, ``router(scope)``,
``route.serve(scope)`` and ``View(scope)`` return ``MethodType(stack,
scope)``: an instance whose ``(receive, send)`` calls the stack.

A legacy ASGI 2 middleware (``cls(inner)`` returning a double-callable, the
Channels 2 style) gets its inner app as a double-callable and is turned into
ASGI 3 with ``as_asgi3``. Which kind a class is, is read from its
``__call__`` (``async``, or how many arguments it takes); a factory function
cannot be read before it is called, so it gets an inner app that answers
both ways, and what it returns is read instead.

A view class's ``middleware`` is an ordinary class attribute: a subclass that
does not set it runs through its base's layers, one that adds to them says
``middleware = [*Base.middleware, Middleware(X)]`` (and ``[]`` opts out).
``install_class_stack`` gives every class with layers its own stack (the
innermost app makes an instance of that class) and a ``__new__`` that hands
out the stack's instance instead of the view, so however the class is served
(a route, ``as_asgi3(View)``, Channels' ``URLRouter``) it is through its
layers. Classes that never had layers get no ``__new__`` and pay nothing.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Iterator
from types import MethodType
from typing import Any, Concatenate, Final, ParamSpec

from .compat import as_asgi2, as_asgi3, is_double_callable
from .types import ASGI2App, ASGI3App, Receive, Scope, Send

P = ParamSpec("P")

# PERF: module globals, not attribute loads, on the per-request paths.
_new: Final = object.__new__


class Middleware:
    """One layer: ``cls(app, *args, **kwargs)`` when the stack is built.

    >>> Middleware(dict, size=1)
    Middleware(dict, size=1)

    Iterates as ``(cls, args, kwargs)``, as Starlette's ``Middleware`` does;
    Starlette's own ``Middleware`` objects are accepted wherever this is.
    """

    __slots__ = ("args", "cls", "kwargs")

    # NOTE: a Callable, not a callback Protocol: against a Protocol's __call__,
    # mypy reads a middleware class's own __call__ instead of its constructor.
    def __init__(
        self, cls: Callable[Concatenate[Any, P], Any], /, *args: P.args, **kwargs: P.kwargs
    ) -> None:
        if not callable(cls):
            raise TypeError(f"Middleware takes a middleware class or factory, got {cls!r}")
        self.cls: Any = cls
        self.args: tuple[Any, ...] = args
        self.kwargs: dict[str, Any] = kwargs

    def __iter__(self) -> Iterator[Any]:
        return iter((self.cls, self.args, self.kwargs))

    def __repr__(self) -> str:
        name = getattr(self.cls, "__name__", repr(self.cls))
        options = [repr(value) for value in self.args]
        options += [f"{key}={value!r}" for key, value in self.kwargs.items()]
        return f"Middleware({', '.join([name, *options])})"


def checked(middleware: Iterable[Any]) -> list[Middleware]:
    """``middleware`` as a list, each entry a ``Middleware`` (or Starlette's); else TypeError."""
    if isinstance(middleware, Middleware) or inspect.isclass(middleware):
        raise TypeError(f"middleware takes a list of Middleware(...), got {middleware!r}")
    layers = list(middleware)
    for layer in layers:
        if not isinstance(layer, Middleware) and not all(
            hasattr(layer, name) for name in ("cls", "args", "kwargs")
        ):
            raise TypeError(
                f"middleware entries are trane.Middleware(cls, ...), got {layer!r}; "
                f"write Middleware({getattr(layer, '__name__', 'cls')}, ...)"
            )
    return layers


# -- which ASGI version a middleware speaks ----------------------------------


def _takes_scope_only(call: Callable[..., Any], skip: int) -> bool | None:
    """True if ``call`` takes ``(scope)`` (after ``skip`` leading parameters),
    False if ``(scope, receive, send)``; None if it cannot be told.

    >>> _takes_scope_only(lambda scope: None, 0), _takes_scope_only(lambda s, r, w: None, 0)
    (True, False)
    """
    if inspect.iscoroutinefunction(call):
        return False
    try:
        parameters = list(inspect.signature(call).parameters.values())[skip:]
    except (TypeError, ValueError):  # a builtin without a signature
        return None
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    required = [p for p in parameters if p.default is p.empty and p.kind is not p.VAR_KEYWORD]
    if any(p.kind not in positional for p in required):  # *args, or a keyword it must get
        return None
    if len(required) == 1 and sum(1 for p in parameters if p.kind in positional) < 3:
        return True
    return False if len(required) == 3 else None


def _hinted(obj: Any) -> bool | None:
    """asgiref's hints: ``_asgi_double_callable`` (True), ``_asgi_single_callable`` (False)."""
    if getattr(obj, "_asgi_single_callable", False):
        return False
    if getattr(obj, "_asgi_double_callable", False):
        return True
    return None


def _class_speaks_asgi2(cls: Any) -> bool | None:
    """Whether the layers ``cls`` makes are ASGI 2; None if not a class or unknown."""
    if not inspect.isclass(cls):
        return None
    hint = _hinted(cls)
    if hint is not None:
        return hint
    return _takes_scope_only(cls.__call__, skip=1)


def _speaks_asgi2(layer: Any) -> bool:
    """Whether a made layer is ASGI 2 (asgiref's guess where its signature is unclear)."""
    hint = _hinted(layer)
    if hint is not None:
        return hint
    if inspect.isfunction(layer) or inspect.ismethod(layer):
        known = _takes_scope_only(layer, skip=0)
    else:
        known = _class_speaks_asgi2(type(layer))
    return is_double_callable(layer) if known is None else known


class _Either:
    """An ASGI 3 app that also answers ASGI 2's ``app(scope)``: the inner app
    of a factory whose kind is only known once it has been called."""

    _asgi_single_callable = True  # NOTE: what a middleware that asks asgiref should use

    def __init__(self, app: ASGI3App) -> None:
        self.app = app

    def __call__(
        self, scope: Scope, receive: Receive | None = None, send: Send | None = None
    ) -> Any:
        if receive is None or send is None:
            return functools.partial(self.app, scope)
        return self.app(scope, receive, send)


def _wrap(cls: Any, args: tuple[Any, ...], kwargs: dict[str, Any], app: ASGI3App) -> ASGI3App:
    legacy = _class_speaks_asgi2(cls)
    if legacy is None:
        inner: Any = _Either(app)
    else:
        inner = as_asgi2(app) if legacy else app
    layer = cls(inner, *args, **kwargs)
    if not callable(layer):
        raise TypeError(f"middleware {cls!r} returned {layer!r}, which is not an ASGI app")
    if legacy is None:
        legacy = _speaks_asgi2(layer)
    if legacy:
        return as_asgi3(layer)
    return layer  # type: ignore[no-any-return]


def build_stack(middleware: Iterable[Any], app: ASGI3App) -> ASGI3App:
    """``app`` inside every layer of ``middleware``, the first one outermost."""
    for layer in reversed(checked(middleware)):
        app = _wrap(layer.cls, tuple(layer.args), dict(layer.kwargs), app)
    return app


# -- trane's double-callables inside a stack ------------------------------------


def asgi3_of(app: ASGI2App) -> ASGI3App:
    """``app`` (a double-callable) as the innermost app of a stack.

    PERF: a plain function returning the instance's coroutine: no coroutine
    of its own per request. Marked for asgiref (``guarantee_single_callable``,
    used by OpenTelemetry), which would take a plain function for ASGI 2.
    """

    def inner(scope: Scope, receive: Receive, send: Send) -> Any:
        return app(scope)(receive, send)

    inner._asgi_single_callable = True  # type: ignore[attr-defined]
    return inner


def wrap(app: ASGI2App, middleware: Iterable[Any]) -> ASGI2App:
    """``app`` inside ``middleware``, still a double-callable; ``app`` itself if none.

    A router or view class with middleware of its own is entered at its ASGI 3
    stack (``_trane_asgi3``): no ASGI 2 instance in between.
    """
    layers = checked(middleware)
    own = getattr(app, "_trane_asgi3", None)
    if not layers and own is None:
        return app
    stack = build_stack(layers, asgi3_of(app) if own is None else own)
    # PERF: partial(MethodType, stack)(scope) is MethodType(stack, scope), an
    # ASGI 2 instance (a "bound method" with scope as its self) made and
    # called in C: 1,100 instructions a request less than a functools.partial.
    return functools.partial(MethodType, stack)


def install_class_stack(cls: Any) -> None:
    """Build ``cls.middleware`` into a stack of its own, once, when the class is made.

    A class with layers gets its stack as ``cls._trane_asgi3`` (which
    ``as_asgi3(cls)`` awaits directly) and (once, inherited by its
    subclasses) the ``__new__`` below; a class without layers whose
    base has that ``__new__`` gets a stack of None, and ``__new__`` then makes
    a plain instance.
    """
    layers = checked(cls.middleware)
    if not layers:
        cls._trane_asgi3 = None
        return
    new = cls.__new__
    if new is not _new_through_stack and new is not object.__new__:
        raise TypeError(f"{cls.__name__} has middleware, so trane needs its __new__; it has one")
    cls._trane_asgi3 = build_stack(layers, _instance_of(cls))
    if new is not _new_through_stack:
        cls.__new__ = staticmethod(_new_through_stack)


def _new_through_stack(cls: Any, scope: Scope) -> Any:
    """``View(scope)`` of a class with middleware: the instance that runs the stack."""
    stack = cls._trane_asgi3
    if stack is None:  # a subclass that set ``middleware = []``
        return _new(cls)
    return MethodType(stack, scope)


def _instance_of(cls: Any) -> ASGI3App:
    """The innermost app of a class's stack: a real instance of ``cls``, run."""

    def inner(scope: Scope, receive: Receive, send: Send) -> Any:
        view = _new(cls)  # NOTE: not cls(scope), which would enter the stack again
        view.__init__(scope)
        return view(receive, send)

    inner._asgi_single_callable = True  # type: ignore[attr-defined]
    return inner


# -- what middleware may want to know of trane's routes ---------------------------


def route_template(router: Any, scope: Scope) -> str | None:
    """The template of the route ``router`` serves ``scope`` with, mounts joined.

    For middleware that name requests by route rather than by path (tracing,
    metrics), e.g. OpenTelemetry's ``default_span_details``. It matches the
    path once more (``router.resolve``), so it costs a route lookup.

    >>> import trane
    >>> api = trane.Router([trane.Route("/users/{id:int}", trane.Application)])
    >>> router = trane.Router([trane.Mount("/api", api)])
    >>> route_template(router, {"type": "http", "method": "GET", "path": "/api/users/7"})
    '/api/users/{id:int}'
    >>> route_template(router, {"type": "http", "method": "GET", "path": "/nowhere"}) is None
    True

    A mounted app that is not a trane router ends the template at its prefix.
    """
    path: str = scope.get("path", "")
    root_path: str = scope.get("root_path", "")
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :]
    template = ""
    while True:
        found = router.resolve(path or "/", scope)
        if found is None:
            return None
        route, _, remainder = found
        if not hasattr(route, "routes"):  # a Route: the end of the path
            return template + str(route.path)
        template += str(route.path).rstrip("/")  # a Mount: its prefix, then what it serves
        router = route.app
        if not hasattr(router, "resolve"):
            return template or "/"
        path = remainder


__all__ = [
    "Middleware",
    "asgi3_of",
    "build_stack",
    "checked",
    "install_class_stack",
    "route_template",
    "wrap",
]
