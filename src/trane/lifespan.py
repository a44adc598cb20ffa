"""Lifespan: startup and shutdown hooks, and the state they hand to views.

How this works
--------------
The router answers the ``lifespan`` scope. On ``lifespan.startup`` it starts
itself, then every trane ``Router`` mounted under it, in route order and depth
first (a router mounted twice starts once). Starting one router runs its
``on_startup`` callables, then enters its ``lifespan`` async context manager;
a dict the context yields is merged into the one lifespan state (a key two
routers yield is an error), which servers copy into every request scope as
``scope["state"]`` and views read as ``self.state``.

Whatever started is remembered in an undo list: its ``on_shutdown`` hooks,
its context's exit, its mounts. ``lifespan.shutdown`` runs the list last
first, so the last mount stops first and the outermost router last; every
step runs even if an earlier one failed. A failure is reported with
``lifespan.startup.failed`` (or ``.shutdown.failed``) and a message that says
where it happened, ``"mount '/api': RuntimeError: db down"``; a failed
startup first stops again what had started, so the server refuses to start
instead of serving half-set-up.

A message out of the protocol's order is a ``RuntimeError``, not an assert.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from .types import Message, Receive, Scope, Send

logger = logging.getLogger("trane")

Hook = Callable[[], Any]
LifespanContext = Callable[[Any], AbstractAsyncContextManager[Mapping[str, Any] | None]]
_Undo = list[Callable[[], Awaitable[Any]]]


class _Failure(Exception):
    """A failure whose message already says where it happened."""


def _expect(message: Message, kind: str) -> None:
    got = message.get("type")
    if got != kind:
        raise RuntimeError(f"lifespan: expected {kind!r}, got {got!r}")


async def serve_trivial_lifespan(receive: Receive, send: Send) -> None:
    """Complete startup and shutdown with nothing to do (a bare view class)."""
    while True:
        kind = (await receive()).get("type")
        if kind == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif kind == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
        else:
            raise RuntimeError(f"lifespan: unexpected ASGI message {kind!r}")


async def _run_hooks(hooks: Sequence[Hook]) -> None:
    for hook in hooks:
        result = hook()
        if inspect.isawaitable(result):
            await result


class _Startup:
    """One startup: the state it fills, the lifespans and keys already seen."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state
        self.started: set[Lifespan] = set()
        self.keys: set[str] = set()

    def merge(self, values: Mapping[str, Any] | None) -> None:
        if values is None:
            return
        if not isinstance(values, Mapping):
            raise TypeError(f"lifespan must yield a mapping or None, got {values!r}")
        for key in values:
            if key in self.keys:
                raise ValueError(f"lifespan state key {key!r} is already set by another router")
        self.keys.update(values)
        self.state.update(values)


class Lifespan:
    """A router's lifespan: hooks, an optional context manager, the state.

    ``mounts`` lists the ``(prefix, Lifespan)`` of the routers mounted under
    this one; ``prepare`` runs first at startup (the router compiles its
    routes there).
    """

    def __init__(
        self,
        app: Any,
        on_startup: Sequence[Hook] = (),
        on_shutdown: Sequence[Hook] = (),
        lifespan: LifespanContext | None = None,
        *,
        mounts: Callable[[], Iterable[tuple[str, Lifespan]]] = tuple,
        prepare: Callable[[], None] = lambda: None,
    ) -> None:
        self.app = app
        self.on_startup = list(on_startup)
        self.on_shutdown = list(on_shutdown)
        self.context = lifespan
        self.mounts = mounts
        self.prepare = prepare
        #: The state of the last startup, for servers without lifespan state.
        self.state: dict[str, Any] = {}

    def __call__(self, scope: Scope) -> Callable[[Receive, Send], Any]:
        async def instance(receive: Receive, send: Send) -> None:
            await self._serve(scope, receive, send)

        return instance

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = scope.get("state")
        if state is None:
            state = {}
        _expect(await receive(), "lifespan.startup")
        startup = _Startup(state)
        startup.started.add(self)
        try:
            undo = await self._start(startup)
        except BaseException as exc:
            logger.error("Application startup failed", exc_info=exc)
            await send({"type": "lifespan.startup.failed", "message": _describe(exc)})
            if not isinstance(exc, Exception):
                raise
            return
        await send({"type": "lifespan.startup.complete"})

        try:
            _expect(await receive(), "lifespan.shutdown")
        except BaseException:
            await _unwind_quietly(undo)
            raise
        try:
            await _unwind(undo)
        except Exception as exc:
            logger.error("Application shutdown failed", exc_info=exc)
            await send({"type": "lifespan.shutdown.failed", "message": _describe(exc)})
            return
        await send({"type": "lifespan.shutdown.complete"})

    async def _start(self, startup: _Startup) -> _Undo:
        """Start this router and its mounts; what undoes it, last step last."""
        self.state = startup.state
        undo: _Undo = []
        try:
            self.prepare()
            await _run_hooks(self.on_startup)
            undo.append(lambda: _run_hooks(self.on_shutdown))
            if self.context is not None:
                context = self.context(self.app)
                values = await context.__aenter__()
                undo.append(lambda: context.__aexit__(None, None, None))
                startup.merge(values)
            for prefix, mounted in self.mounts():
                if mounted in startup.started:
                    continue
                startup.started.add(mounted)
                try:
                    inner = await mounted._start(startup)
                except Exception as exc:
                    raise _Failure(f"mount {prefix!r}: {_describe(exc)}") from exc
                undo.append(functools.partial(_unwind_mount, prefix, inner))
        except BaseException:
            await _unwind_quietly(undo)
            raise
        return undo


async def _unwind(undo: _Undo) -> None:
    """Run every step of ``undo``, last first; raise what failed."""
    errors: list[Exception] = []
    while undo:
        try:
            await undo.pop()()
        except Exception as exc:
            if errors and exc.__context__ is None:
                exc.__context__ = errors[-1]  # so the log shows every one, as ExitStack does
            errors.append(exc)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise _Failure("; ".join(_describe(exc) for exc in errors)) from errors[-1]


async def _unwind_mount(prefix: str, undo: _Undo) -> None:
    try:
        await _unwind(undo)
    except Exception as exc:
        raise _Failure(f"mount {prefix!r}: {_describe(exc)}") from exc


async def _unwind_quietly(undo: _Undo) -> None:
    """Undo a startup that is failing anyway: log, do not mask, what fails."""
    try:
        await _unwind(undo)
    except Exception as exc:
        logger.error("Shutdown after a failed startup failed", exc_info=exc)


def _describe(exc: BaseException) -> str:
    """``"RuntimeError: db down"``; a ``_Failure`` already says it all."""
    if isinstance(exc, _Failure):
        return str(exc)
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
