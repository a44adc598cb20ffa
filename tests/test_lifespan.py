"""Lifespan: startup/shutdown hooks, the lifespan context manager, state for views."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

import trane
from asgi import request
from communicator import Communicator

log: list[str] = []


class ShowState(trane.Application):
    async def get(self) -> dict[str, Any]:
        return {"db": self.state.db if "db" in self.state else None}


def sync_startup() -> None:
    log.append("sync startup")


async def async_startup() -> None:
    log.append("async startup")


async def async_shutdown() -> None:
    log.append("async shutdown")


def sync_shutdown() -> None:
    log.append("sync shutdown")


@asynccontextmanager
async def lifespan(app: trane.Router) -> AsyncIterator[dict[str, Any]]:
    log.append(f"enter {type(app).__name__}")
    yield {"db": "connected"}
    log.append("exit")


routes = [trane.Route("/state", ShowState)]
router = trane.Router(
    routes,
    on_startup=[sync_startup, async_startup],
    on_shutdown=[async_shutdown, sync_shutdown],
    lifespan=lifespan,
)


@pytest.fixture(autouse=True)
def _clear_log() -> None:
    log.clear()


async def _startup(app: Any, scope_state: dict[str, Any] | None = None) -> Communicator:
    scope: dict[str, Any] = {"type": "lifespan", "asgi": {"version": "3.0"}}
    if scope_state is not None:
        scope["state"] = scope_state
    communicator = Communicator(app, scope)
    await communicator.send_input({"type": "lifespan.startup"})
    return communicator


async def test_lifespan_runs_hooks_and_context_in_order() -> None:
    state: dict[str, Any] = {}
    communicator = await _startup(router, state)
    assert await communicator.receive_output() == {"type": "lifespan.startup.complete"}
    assert log == ["sync startup", "async startup", "enter Router"]
    assert state == {"db": "connected"}
    await communicator.send_input({"type": "lifespan.shutdown"})
    assert await communicator.receive_output() == {"type": "lifespan.shutdown.complete"}
    await communicator.wait()
    assert log[3:] == ["exit", "async shutdown", "sync shutdown"]


async def test_lifespan_state_reaches_views() -> None:
    state: dict[str, Any] = {}
    communicator = await _startup(router, state)
    await communicator.receive_output()
    # Servers hand every request a shallow copy of the lifespan state.
    result = await request(router, "GET", "/state", state=dict(state))
    assert result.body == b'{"db":"connected"}'
    await communicator.send_input({"type": "lifespan.shutdown"})
    await communicator.receive_output()


async def test_lifespan_state_without_server_support_falls_back_to_router() -> None:
    local = trane.Router(routes, lifespan=lifespan)
    communicator = await _startup(local)  # no "state" in the lifespan scope
    assert await communicator.receive_output() == {"type": "lifespan.startup.complete"}
    result = await request(local, "GET", "/state")  # no "state" in the request scope
    assert result.body == b'{"db":"connected"}'
    await communicator.send_input({"type": "lifespan.shutdown"})
    await communicator.receive_output()


async def test_lifespan_without_startup_gives_empty_state() -> None:
    result = await request(trane.Router(routes, lifespan=lifespan), "GET", "/state")
    assert result.body == b'{"db":null}'


async def test_lifespan_without_hooks_completes() -> None:
    communicator = await _startup(trane.Router(routes))
    assert await communicator.receive_output() == {"type": "lifespan.startup.complete"}
    await communicator.send_input({"type": "lifespan.shutdown"})
    assert await communicator.receive_output() == {"type": "lifespan.shutdown.complete"}
    await communicator.wait()


async def test_lifespan_context_may_yield_none() -> None:
    @asynccontextmanager
    async def nothing(app: trane.Router) -> AsyncIterator[None]:
        yield

    state: dict[str, Any] = {}
    communicator = await _startup(trane.Router(routes, lifespan=nothing), state)
    assert await communicator.receive_output() == {"type": "lifespan.startup.complete"}
    assert state == {}


async def test_lifespan_failing_startup_hook_reports_the_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken() -> None:
        raise RuntimeError("database is down")

    communicator = await _startup(trane.Router(routes, on_startup=[broken]))
    assert await communicator.receive_output() == {
        "type": "lifespan.startup.failed",
        "message": "RuntimeError: database is down",
    }
    await communicator.wait()
    assert "Application startup failed" in caplog.text


async def test_lifespan_failing_context_is_reported_and_unwound() -> None:
    @asynccontextmanager
    async def half(app: trane.Router) -> AsyncIterator[dict[str, Any]]:
        log.append("half enter")
        raise ConnectionError()
        yield {}

    communicator = await _startup(trane.Router(routes, lifespan=half))
    assert await communicator.receive_output() == {
        "type": "lifespan.startup.failed",
        "message": "ConnectionError",
    }
    assert log == ["half enter"]


async def test_lifespan_context_must_yield_a_mapping() -> None:
    @asynccontextmanager
    async def bad(app: trane.Router) -> AsyncIterator[Any]:
        yield ["not", "a", "mapping"]
        log.append("bad exit")

    communicator = await _startup(trane.Router(routes, lifespan=bad))
    message = await communicator.receive_output()
    assert message["type"] == "lifespan.startup.failed"
    assert message["message"].startswith("TypeError: lifespan must yield a mapping or None")
    assert log == ["bad exit"]  # the context that was entered is exited


async def test_lifespan_failing_shutdown_reports_the_message() -> None:
    def broken() -> None:
        raise ValueError("flush failed")

    communicator = await _startup(trane.Router(routes, on_shutdown=[broken]))
    await communicator.receive_output()
    await communicator.send_input({"type": "lifespan.shutdown"})
    assert await communicator.receive_output() == {
        "type": "lifespan.shutdown.failed",
        "message": "ValueError: flush failed",
    }


async def test_lifespan_bare_view_class_completes_trivially() -> None:
    communicator = await _startup(ShowState)
    assert await communicator.receive_output() == {"type": "lifespan.startup.complete"}
    await communicator.send_input({"type": "lifespan.shutdown"})
    assert await communicator.receive_output() == {"type": "lifespan.shutdown.complete"}
