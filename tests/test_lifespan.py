"""Lifespan: startup/shutdown hooks, the lifespan context manager, state for views."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

import trane
from asgi import request
from communicator import Communicator
from trane.routing import BaseRoute

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


# -- mounted routers -------------------------------------------------------


def _recording_router(
    name: str,
    routes: list[BaseRoute] | None = None,
    *,
    fail_startup: str = "",
    fail_shutdown: str = "",
    debug: bool = False,
) -> trane.Router:
    """A router whose hooks and context log ``name``; its state says it ran."""

    def startup() -> None:
        log.append(f"{name} startup")

    def shutdown() -> None:
        log.append(f"{name} shutdown")
        if fail_shutdown:
            raise ValueError(fail_shutdown)

    @asynccontextmanager
    async def context(app: trane.Router) -> AsyncIterator[dict[str, Any]]:
        assert app is mounted
        log.append(f"{name} enter")
        if fail_startup:
            raise RuntimeError(fail_startup)
        yield {name: f"{name} ready"}
        log.append(f"{name} exit")

    mounted = trane.Router(
        routes if routes is not None else [trane.Route("/state", ShowAll)],
        on_startup=[startup],
        on_shutdown=[shutdown],
        lifespan=context,
        debug=debug,
    )
    return mounted


class ShowAll(trane.Application):
    async def get(self) -> dict[str, Any]:
        return dict(self.scope["state"])


def _tree(**failures: str) -> trane.Router:
    """outer, with /api (which mounts /v1) and /admin mounted, in that order."""
    v1 = _recording_router("v1", fail_startup=failures.get("v1", ""))
    api = _recording_router(
        "api",
        [trane.Route("/state", ShowAll), trane.Mount("/v1", v1)],
        fail_shutdown=failures.get("api_shutdown", ""),
    )
    admin = _recording_router("admin", fail_startup=failures.get("admin", ""))
    return _recording_router(
        "outer",
        [
            trane.Mount("/api", trane.as_asgi3(api)),
            trane.Route("/state", ShowAll),
            trane.Mount("/admin", admin),
        ],
    )


async def test_lifespan_starts_mounted_routers_depth_first_and_stops_them_in_reverse() -> None:
    outer = _tree()
    state: dict[str, Any] = {}
    communicator = await _startup(outer, state)
    assert await communicator.receive_output() == {"type": "lifespan.startup.complete"}
    assert log == [
        "outer startup",
        "outer enter",
        "api startup",
        "api enter",
        "v1 startup",
        "v1 enter",
        "admin startup",
        "admin enter",
    ]
    everything = {name: f"{name} ready" for name in ("outer", "api", "v1", "admin")}
    assert state == everything
    # The one state dict reaches the views under every mount.
    for path in ("/state", "/api/state", "/api/v1/state", "/admin/state"):
        result = await request(outer, "GET", path, state=dict(state))
        assert result.body == JSON(everything), path
    log.clear()
    await communicator.send_input({"type": "lifespan.shutdown"})
    assert await communicator.receive_output() == {"type": "lifespan.shutdown.complete"}
    await communicator.wait()
    assert log == [
        "admin exit",
        "admin shutdown",
        "v1 exit",
        "v1 shutdown",
        "api exit",
        "api shutdown",
        "outer exit",
        "outer shutdown",
    ]


def JSON(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


async def test_lifespan_mount_failure_names_the_mount_and_unwinds_what_started(
    caplog: pytest.LogCaptureFixture,
) -> None:
    communicator = await _startup(_tree(admin="db down"))
    assert await communicator.receive_output() == {
        "type": "lifespan.startup.failed",
        "message": "mount '/admin': RuntimeError: db down",
    }
    await communicator.wait()
    assert log == [
        "outer startup",
        "outer enter",
        "api startup",
        "api enter",
        "v1 startup",
        "v1 enter",
        "admin startup",
        "admin enter",
        "admin shutdown",
        "v1 exit",
        "v1 shutdown",
        "api exit",
        "api shutdown",
        "outer exit",
        "outer shutdown",
    ]
    assert "Application startup failed" in caplog.text


async def test_lifespan_nested_mount_failure_names_every_mount_on_the_way() -> None:
    communicator = await _startup(_tree(v1="no disk"))
    assert await communicator.receive_output() == {
        "type": "lifespan.startup.failed",
        "message": "mount '/api': mount '/v1': RuntimeError: no disk",
    }
    await communicator.wait()
    assert "admin startup" not in log  # nothing after the failure started
    assert log[-5:] == ["v1 shutdown", "api exit", "api shutdown", "outer exit", "outer shutdown"]


async def test_lifespan_mount_shutdown_failure_is_reported_after_the_rest_stopped() -> None:
    communicator = await _startup(_tree(api_shutdown="flush failed"))
    assert (await communicator.receive_output())["type"] == "lifespan.startup.complete"
    await communicator.send_input({"type": "lifespan.shutdown"})
    assert await communicator.receive_output() == {
        "type": "lifespan.shutdown.failed",
        "message": "mount '/api': ValueError: flush failed",
    }
    assert log[-2:] == ["outer exit", "outer shutdown"]


async def test_lifespan_every_shutdown_failure_is_reported() -> None:
    def broken() -> None:
        raise OSError("disk full")

    inner = trane.Router([], on_shutdown=[broken])
    outer = trane.Router([trane.Mount("/in", inner)], on_shutdown=[broken])
    communicator = await _startup(outer)
    await communicator.receive_output()
    await communicator.send_input({"type": "lifespan.shutdown"})
    assert await communicator.receive_output() == {
        "type": "lifespan.shutdown.failed",
        "message": "mount '/in': OSError: disk full; OSError: disk full",
    }


async def test_lifespan_router_mounted_twice_starts_once() -> None:
    shared = _recording_router("shared")
    outer = trane.Router([trane.Mount("/a", shared), trane.Mount("/b", shared)])
    state: dict[str, Any] = {}
    communicator = await _startup(outer, state)
    assert await communicator.receive_output() == {"type": "lifespan.startup.complete"}
    assert log == ["shared startup", "shared enter"]
    assert state == {"shared": "shared ready"}


async def test_lifespan_state_key_yielded_by_two_routers_is_an_error() -> None:
    twin = _recording_router("twin")
    outer = trane.Router([trane.Mount("/a", twin), trane.Mount("/b", _recording_router("twin"))])
    communicator = await _startup(outer)
    message = await communicator.receive_output()
    assert message == {
        "type": "lifespan.startup.failed",
        "message": "mount '/b': ValueError: lifespan state key 'twin' is already set "
        "by another router",
    }
    assert log[-2:] == ["twin exit", "twin shutdown"]


async def test_lifespan_foreign_mounts_are_left_alone() -> None:
    outer = trane.Router([trane.Mount("/legacy", ShowAll)])
    communicator = await _startup(outer)
    assert await communicator.receive_output() == {"type": "lifespan.startup.complete"}


async def test_lifespan_of_a_mounted_router_served_alone_still_works() -> None:
    """A router that is mounted elsewhere runs its own mounts when served by itself."""
    inner = _recording_router("inner")
    middle = trane.Router([trane.Mount("/inner", inner)])
    trane.Router([trane.Mount("/middle", middle)])
    communicator = await _startup(middle)
    assert await communicator.receive_output() == {"type": "lifespan.startup.complete"}
    assert log == ["inner startup", "inner enter"]


# -- protocol errors -------------------------------------------------------


async def test_lifespan_first_message_must_be_startup() -> None:
    communicator = Communicator(router, {"type": "lifespan", "asgi": {"version": "3.0"}})
    await communicator.send_input({"type": "lifespan.shutdown"})
    with pytest.raises(
        RuntimeError, match=r"expected 'lifespan\.startup', got 'lifespan\.shutdown'"
    ):
        await communicator.wait()
    assert log == []


async def test_lifespan_unexpected_message_after_startup_shuts_down_and_raises() -> None:
    communicator = await _startup(router)
    assert (await communicator.receive_output())["type"] == "lifespan.startup.complete"
    await communicator.send_input({"type": "lifespan.startup"})
    with pytest.raises(
        RuntimeError, match=r"expected 'lifespan\.shutdown', got 'lifespan\.startup'"
    ):
        await communicator.wait()
    assert log[-3:] == ["exit", "async shutdown", "sync shutdown"]


async def test_lifespan_bare_view_class_rejects_unknown_messages() -> None:
    communicator = await _startup(ShowState)
    assert await communicator.receive_output() == {"type": "lifespan.startup.complete"}
    await communicator.send_input({"type": "lifespan.reload"})
    with pytest.raises(RuntimeError, match=r"unexpected ASGI message 'lifespan\.reload'"):
        await communicator.wait()


async def test_lifespan_failing_unwind_after_a_failed_startup_is_logged_not_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken() -> None:
        raise OSError("cannot flush")

    first = trane.Router([], on_shutdown=[broken])
    outer = trane.Router([trane.Mount("/first", first), trane.Mount("/second", _tree(v1="x"))])
    communicator = await _startup(outer)
    assert await communicator.receive_output() == {
        "type": "lifespan.startup.failed",
        "message": "mount '/second': mount '/api': mount '/v1': RuntimeError: x",
    }
    assert "Shutdown after a failed startup failed" in caplog.text
    assert "OSError: cannot flush" in caplog.text


class Halt(BaseException):
    """Not an Exception: like KeyboardInterrupt, it must get through."""


async def test_lifespan_base_exception_in_startup_is_reported_and_raised() -> None:
    def halt() -> None:
        raise Halt("stop now")

    communicator = await _startup(trane.Router([], on_startup=[halt]))
    assert await communicator.receive_output() == {
        "type": "lifespan.startup.failed",
        "message": "Halt: stop now",
    }
    with pytest.raises(Halt):
        await communicator.wait()
