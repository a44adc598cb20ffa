"""Lifespan: startup and shutdown hooks, and the state they hand to views.

The router answers the ``lifespan`` scope. On ``lifespan.startup`` it runs the
``on_startup`` callables, then enters the ``lifespan`` async context manager
(if any); a dict it yields is merged into the lifespan state, which servers
copy into every request scope as ``scope["state"]`` and views read as
``self.state``. Failures are reported with ``lifespan.startup.failed`` and the
error's message, so the server refuses to start instead of serving half-set-up.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import Any

from .types import Receive, Scope, Send

logger = logging.getLogger("trane")

Hook = Callable[[], Any]
LifespanContext = Callable[[Any], AbstractAsyncContextManager[Mapping[str, Any] | None]]


async def serve_trivial_lifespan(receive: Receive, send: Send) -> None:
    """Complete startup and shutdown with nothing to do (a bare view class)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def serve_other_scope(kind: str, receive: Receive, send: Send) -> None:
    """What an HTTP-only app does with a scope that is not HTTP.

    Lifespan completes with nothing to do; a WebSocket is closed before
    accept, which servers answer with a 403.
    """
    if kind == "lifespan":
        await serve_trivial_lifespan(receive, send)
    elif kind == "websocket":
        await send({"type": "websocket.close", "code": 1000})


async def _run_hooks(hooks: Sequence[Hook]) -> None:
    for hook in hooks:
        result = hook()
        if inspect.isawaitable(result):
            await result


class Lifespan:
    """The router's lifespan: hooks, an optional context manager, the state."""

    def __init__(
        self,
        app: Any,
        on_startup: Sequence[Hook] = (),
        on_shutdown: Sequence[Hook] = (),
        lifespan: LifespanContext | None = None,
    ) -> None:
        self.app = app
        self.on_startup = list(on_startup)
        self.on_shutdown = list(on_shutdown)
        self.context = lifespan
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
        self.state = state
        stack = AsyncExitStack()
        message = await receive()
        assert message["type"] == "lifespan.startup", message
        try:
            await _run_hooks(self.on_startup)
            if self.context is not None:
                values = await stack.enter_async_context(self.context(self.app))
                if values is not None:
                    if not isinstance(values, Mapping):
                        raise TypeError(f"lifespan must yield a mapping or None, got {values!r}")
                    state.update(values)
        except BaseException as exc:
            logger.error("Application startup failed", exc_info=exc)
            await send({"type": "lifespan.startup.failed", "message": _describe(exc)})
            await stack.aclose()
            if not isinstance(exc, Exception):
                raise
            return
        await send({"type": "lifespan.startup.complete"})

        message = await receive()
        assert message["type"] == "lifespan.shutdown", message
        try:
            await stack.aclose()
            await _run_hooks(self.on_shutdown)
        except Exception as exc:
            logger.error("Application shutdown failed", exc_info=exc)
            await send({"type": "lifespan.shutdown.failed", "message": _describe(exc)})
            return
        await send({"type": "lifespan.shutdown.complete"})


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
