"""Streaming that stops when the client leaves, and work done after the response."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

import trane
from asgi import make_scope, request
from trane.testing import TestClient
from trane.types import Message

LOG: list[str] = []


class Driver:
    """One request whose client leaves after reading ``leave_after`` body messages."""

    def __init__(self, leave_after: int, body: bytes = b"") -> None:
        self.leave_after = leave_after
        self.sent: list[Message] = []
        self.gone = asyncio.Event()
        self.left_at = 0.0
        self.pending_body: list[bytes] = [body]
        self.task: asyncio.Future[None]

    async def receive(self) -> Message:
        if self.pending_body:
            return {"type": "http.request", "body": self.pending_body.pop(), "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if self.gone.is_set():
            return  # as uvicorn and daphne do: the message goes nowhere
        self.sent.append(message)
        bodies = sum(1 for m in self.sent if m["type"] == "http.response.body")
        if bodies >= self.leave_after:
            self.left_at = asyncio.get_running_loop().time()
            self.gone.set()

    async def run(self, app: Any, path: str = "/", timeout: float = 2.0) -> float:
        """Run ``app``; return how long after the client left it took to end."""
        call = trane.as_asgi3(app)(make_scope("GET", path), self.receive, self.send)
        self.task = asyncio.ensure_future(call)
        await asyncio.wait_for(asyncio.shield(self.task), timeout)
        return asyncio.get_running_loop().time() - self.left_at

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")


async def idle_after_two(kind: str) -> AsyncIterator[str]:
    try:
        yield "one\n"
        yield "two\n"
        await asyncio.sleep(60)
        yield "never\n"
    finally:
        LOG.append(f"{kind} closed")


class Streams(trane.Application):
    async def get(self, kind: str) -> Any:
        self.after_response(LOG.append, "after_response ran")
        if kind == "response":
            return trane.StreamingResponse(idle_after_two(kind))
        if kind == "events":
            return trane.EventSourceResponse({"data": line} async for line in idle_after_two(kind))
        try:
            if kind == "send":
                await self.send("one\n")
                await self.send("two\n")
                await asyncio.sleep(60)  # cancelled when the client leaves
                await self.send("never\n")
            elif kind == "send_event":
                await self.send_event("one")
                await self.send_event("two")
                await asyncio.sleep(60)
            elif kind == "busy":
                while True:  # never idle: the next send raises ClientDisconnect
                    await self.send("tick\n")
            elif kind == "finish":
                await self.send("one\n")
                await self.send("two\n")
                await asyncio.sleep(60)
                await self.finish("never")
        finally:
            LOG.append(f"{kind} closed")
        return None


router = trane.Router([trane.Route("/{kind}", Streams)])


@pytest.mark.parametrize("kind", ["response", "events", "send", "send_event", "busy", "finish"])
async def test_streaming_stops_when_the_client_leaves(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    LOG.clear()
    driver = Driver(leave_after=2)
    with caplog.at_level(logging.DEBUG, logger="trane"):
        lag = await driver.run(router, f"/{kind}")
    assert lag < 0.5
    assert [f"{kind} closed"] == LOG  # finally ran; after_response did not
    assert b"never" not in driver.body
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("method", ["send", "finish"])
async def test_send_raises_client_disconnect_once_the_client_left(method: str) -> None:
    seen: list[str] = []

    class Stubborn(trane.Application):
        async def get(self) -> None:
            await self.send("one\n")
            await self.send("two\n")
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                seen.append("cancelled")
                try:
                    await getattr(self, method)("ignoring the cancellation\n")
                except trane.ClientDisconnect:
                    seen.append("ClientDisconnect")
                    raise

    driver = Driver(leave_after=2)
    lag = await driver.run(Stubborn)
    assert lag < 0.5
    assert seen == ["cancelled", "ClientDisconnect"]
    assert not driver.task.cancelled()
    if hasattr(driver.task, "cancelling"):  # Python 3.11+: the cancellation was taken back
        assert driver.task.cancelling() == 0


async def test_streaming_survives_a_server_whose_receive_fails(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The disconnect watcher's receive() raises: the view streams on, nothing is left over.
    class Ticker(trane.Application):
        async def get(self) -> None:
            await self.send("one\n")
            await asyncio.sleep(0.01)  # the watcher runs, and fails, meanwhile
            await self.finish("two\n")

    failed: list[str] = []
    sent: list[Message] = []

    async def receive() -> Message:
        failed.append("receive")
        raise RuntimeError("receive is broken")

    async def send(message: Message) -> None:
        sent.append(message)

    with caplog.at_level(logging.DEBUG):
        await trane.as_asgi3(Ticker)(make_scope(), receive, send)
        gc.collect()  # a failed task nobody retrieved would be reported now
    assert failed == ["receive"]
    assert b"".join(m.get("body", b"") for m in sent[1:]) == b"one\ntwo\n"
    assert sent[-1] == {"type": "http.response.body", "body": b"two\n", "more_body": False}
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_view_can_still_read_the_body_after_streaming_started() -> None:
    class Late(trane.Application):
        async def post(self) -> None:
            await self.send("reading\n")
            await asyncio.sleep(0.01)  # the disconnect watcher runs meanwhile
            await self.send(await self.body())

    result = await request(Late, "POST", "/", body=b"payload")
    assert result.body == b"reading\npayload"


async def test_echo_stream_is_not_stolen_by_the_watcher() -> None:
    class Echo(trane.Application):
        async def post(self) -> None:
            async for chunk in self.stream():
                await self.send(chunk.upper())
                await asyncio.sleep(0)

    result = await request(Echo, "POST", "/", chunks=[b"a", b"b", b"c"])
    assert result.body == b"ABC"


async def test_streaming_to_a_client_that_stays() -> None:
    LOG.clear()
    count = await request(Counting, "GET", "/")
    assert count.body == b"0\n1\n2\n"
    assert LOG == ["after_response ran"]


class Counting(trane.Application):
    async def get(self) -> None:
        self.after_response(LOG.append, "after_response ran")
        for i in range(3):
            await self.send(f"{i}\n")


# -- after_response ----------------------------------------------------------------


class Background(trane.Application):
    async def get(self, kind: str) -> Any:
        if kind == "error":
            self.after_response(self.fail)
            self.after_response(self.record, "second still runs")
        elif kind == "sync":
            self.after_response(self.sync_record, "sync", key="value")
        elif kind == "view-fails":
            self.after_response(self.record, "must not run")
            raise trane.HTTPError(409)
        else:
            self.after_response(self.record, "first")
            self.after_response(self.record, "second")
        return "response"

    async def record(self, text: str) -> None:
        LOG.append(text)

    async def fail(self) -> None:
        raise ValueError("background boom")

    def sync_record(self, text: str, key: str) -> None:
        LOG.append(f"{text} {key} {threading.current_thread() is threading.main_thread()}")


async def test_after_response_runs_once_the_body_is_sent() -> None:
    LOG.clear()
    order: list[str] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body"):
            order.append(f"body sent, log={LOG!r}")

    app = trane.as_asgi3(trane.Router([trane.Route("/{kind}", Background)]))
    await app(make_scope("GET", "/ok"), receive, send)
    assert order == ["body sent, log=[]"]
    assert LOG == ["first", "second"]


async def test_after_response_errors_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    LOG.clear()
    app = trane.Router([trane.Route("/{kind}", Background)])
    with caplog.at_level(logging.ERROR, logger="trane"):
        result = await request(app, "GET", "/error")
    assert result.body == b"response"
    assert LOG == ["second still runs"]
    [record] = caplog.records
    assert "after_response" in record.getMessage()
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == "background boom"


async def test_after_response_sync_function_runs_in_a_thread() -> None:
    LOG.clear()
    await request(trane.Router([trane.Route("/{kind}", Background)]), "GET", "/sync")
    assert LOG == ["sync value False"]


async def test_after_response_awaits_what_a_sync_callable_returns() -> None:
    # A callable object with an async __call__ is not a coroutine function.
    class Notify:
        async def __call__(self, text: str) -> None:
            LOG.append(text)

    class Signup(trane.Application):
        async def post(self) -> str:
            self.after_response(Notify(), "welcome mail sent")
            return "signed up"

    LOG.clear()
    result = await request(Signup, "POST", "/")
    assert result.body == b"signed up"
    assert LOG == ["welcome mail sent"]


async def test_after_response_not_run_when_the_view_fails() -> None:
    LOG.clear()
    result = await request(trane.Router([trane.Route("/{kind}", Background)]), "GET", "/view-fails")
    assert result.status == 409
    assert LOG == []


async def test_after_response_done_when_the_test_client_returns() -> None:
    LOG.clear()
    async with TestClient(trane.Router([trane.Route("/{kind}", Background)])) as client:
        response = await client.get("/ok")
        assert response.text == "response"
        assert LOG == ["first", "second"]


def endless_sync() -> Iterator[bytes]:
    n = 0
    try:
        while n < 100_000:  # bounded, so that a regression fails instead of hanging
            n += 1
            yield b"sync\n"
    finally:
        LOG.append(f"sync generator closed after {n}")


async def endless_async() -> AsyncIterator[bytes]:
    n = 0
    try:
        while n < 100_000:
            n += 1
            yield b"async\n"  # never awaits anything
    finally:
        LOG.append(f"async generator closed after {n}")


@pytest.mark.parametrize("make", [endless_sync, endless_async])
async def test_streaming_response_that_never_awaits_still_stops(make: Any) -> None:
    LOG.clear()

    class Spin(trane.Application):
        async def get(self) -> trane.StreamingResponse:
            return trane.StreamingResponse(make())

    await Driver(leave_after=3).run(Spin, timeout=10)
    [closed] = LOG
    assert int(closed.rsplit(" ", 1)[1]) < 100
