"""ASGI 2 <-> ASGI 3 adapters, built on ``asgiref.compatibility``.

A trane object is a double-callable: ``app(scope)`` returns an instance and
``await instance(receive, send)`` runs it. Modern servers (hypercorn, granian,
daphne's ``Server``) want one ``async def app(scope, receive, send)``;
``as_asgi3`` makes that, and ``as_asgi2`` goes the other way so an ASGI 3 app
can sit in a trane ``Mount``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, cast

from asgiref import compatibility

from .types import ASGI2App, ASGI2Instance, ASGI3App, Receive, Scope, Send

# asgiref ships no annotations; give its two functions their types once, here.
is_double_callable: Callable[[Any], bool] = compatibility.is_double_callable
double_to_single_callable: Callable[[Any], Any] = compatibility.double_to_single_callable


def as_asgi3(app: Any) -> ASGI3App:
    """Expose ``app`` (a trane class or router, or any ASGI 2 app) as ASGI 3.

    An app that is ASGI 3 already comes back unchanged. The result may be
    called positionally or with ``scope=``, ``receive=``, ``send=`` keywords
    (as daphne's ``Server`` does), keeps the wrapped object's name and
    docstring, and carries ``_asgi_single_callable = True``.
    """
    if not is_double_callable(app):
        return cast(ASGI3App, app)
    # NOTE: asgiref's wrapper is a fresh function per call, already taking
    # (scope, receive, send) by position or keyword; we only dress it up.
    # A trane object with middleware is an ASGI 3 stack inside: awaited
    # directly, with no ASGI 2 instance per request (see trane.middleware).
    stack = getattr(app, "_trane_asgi3", None)
    asgi3: Any = double_to_single_callable(app) if stack is None else _awaiting(stack)
    functools.update_wrapper(asgi3, app, updated=())
    # NOTE: inspect.signature() follows __wrapped__ and would report the
    # wrapped object's (scope) instead of (scope, receive, send).
    del asgi3.__wrapped__
    if not isinstance(getattr(app, "__name__", None), str):
        asgi3.__name__ = asgi3.__qualname__ = type(app).__name__
    asgi3.__doc__ = getattr(app, "__doc__", None)
    asgi3._asgi_single_callable = True
    asgi3._trane_asgi2 = app  # what a trane Mount unwraps it to
    return cast(ASGI3App, asgi3)


def _awaiting(stack: ASGI3App) -> ASGI3App:
    """A fresh function that awaits ``stack`` (dressed up by ``as_asgi3``)."""

    async def asgi3(scope: Scope, receive: Receive, send: Send) -> None:
        await stack(scope, receive, send)

    return asgi3


class _ASGI2Adapter:
    """``app3`` seen as a double-callable: ``adapter(scope)(receive, send)``."""

    _asgi_double_callable = True

    def __init__(self, app: ASGI3App) -> None:
        self.app = app
        functools.update_wrapper(self, app, updated=())
        del vars(self)["__wrapped__"]  # as in as_asgi3: keep our own signature, (scope)

    def __call__(self, scope: Scope) -> ASGI2Instance:
        return functools.partial(self.app, scope)

    def __repr__(self) -> str:
        return f"as_asgi2({self.app!r})"


def as_asgi2(app: Any) -> ASGI2App:
    """Expose an ASGI 3 app as a double-callable; ASGI 2 apps come back unchanged."""
    if is_double_callable(app):
        return cast(ASGI2App, app)
    return _ASGI2Adapter(app)
