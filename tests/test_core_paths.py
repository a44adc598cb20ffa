"""The one way out and the one way in: each case here failed before they existed.

``Wire`` plays the server for one request: the test pushes what the client
sends (body chunks, a disconnect) when it likes, and every message the app
sends is kept.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any
from unittest import mock

import pytest

import trane
from asgi import make_scope
from trane.types import Message


class Wire:
    """A server's side of one HTTP request, driven by the test."""

    def __init__(self, method: str = "GET", **scope: Any) -> None:
        self.scope = make_scope(method, "/", **scope)
        self.incoming: asyncio.Queue[Message] = asyncio.Queue()
        self.sent: list[Message] = []
        self.receives = 0
        self.complete = asyncio.Event()

    def chunk(self, body: bytes, more: bool = True) -> None:
        self.incoming.put_nowait({"type": "http.request", "body": body, "more_body": more})

    def leave(self) -> None:
        self.incoming.put_nowait({"type": "http.disconnect"})

    async def receive(self) -> Message:
        self.receives += 1
        return await self.incoming.get()

    async def send(self, message: Message) -> None:
        self.sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self.complete.set()

    def run(self, app: Any) -> asyncio.Task[None]:
        return asyncio.ensure_future(trane.as_asgi3(app)(self.scope, self.receive, self.send))

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")

    @property
    def starts(self) -> list[Message]:
        return [m for m in self.sent if m["type"] == "http.response.start"]


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_body_read_after_streaming_and_a_pause_while_the_upload_still_arrives() -> None:
    # Before: RuntimeError "the request body stream has already been consumed".
    class Late(trane.Application):
        async def post(self) -> None:
            await self.send("reading\n")
            await asyncio.sleep(0.01)  # a database call; the watcher reads meanwhile
            await self.send(await self.body())

    wire = Wire("POST")
    task = wire.run(Late)
    wire.chunk(b"pay")
    await asyncio.sleep(0.02)
    wire.chunk(b"load", more=False)
    await asyncio.wait_for(wire.complete.wait(), 5)
    wire.leave()
    await asyncio.wait_for(task, 5)
    assert wire.body == b"reading\npayload"


async def test_streaming_response_iterator_reads_the_whole_upload() -> None:
    # Before: chunks went to the StreamingResponse's disconnect watcher.
    class Upper(trane.Application):
        async def post(self) -> trane.StreamingResponse:
            async def transform() -> AsyncIterator[bytes]:
                async for chunk in self.stream():
                    yield chunk.upper()

            return trane.StreamingResponse(transform())

    wire = Wire("POST")
    task = wire.run(Upper)
    for part in (b"a", b"b", b"c"):
        wire.chunk(part)
        await settle()
    wire.chunk(b"d", more=False)
    await asyncio.wait_for(wire.complete.wait(), 5)
    wire.leave()
    await asyncio.wait_for(task, 5)
    assert wire.body == b"ABCD"


@pytest.mark.parametrize("gone_at", ["http.response.start", "http.response.body"])
@pytest.mark.parametrize("answer", ["text", "json"])
async def test_a_returned_value_to_a_gone_client_ends_quietly(
    gone_at: str, answer: str, caplog: pytest.LogCaptureFixture
) -> None:
    # ASGI spec 2.4: the server raises OSError for a send to a client that left.
    class Answer(trane.Application):
        async def get(self) -> Any:
            return "text" if answer == "text" else {"json": True}

    wire = Wire(asgi={"version": "3.0", "spec_version": "2.4"})
    tried: list[str] = []

    async def send(message: Message) -> None:
        tried.append(message["type"])
        if message["type"] == gone_at:
            raise OSError("client gone")

    wire.send = send  # type: ignore[method-assign]
    await asyncio.wait_for(wire.run(Answer), 5)  # no exception escapes
    assert tried[-1] == gone_at  # nothing more was tried (no error page) once it had gone
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


SHARED = trane.PlainTextResponse("shared")


async def test_a_returned_response_is_never_changed() -> None:
    # Before: every request added one more Set-Cookie to the module-level object.
    class Cookie(trane.Application):
        async def get(self) -> trane.Response:
            self.set_cookie("seen", "1")
            self.response_headers["x-view"] = "yes"
            return SHARED

    before = list(SHARED.headers.raw)
    for _ in range(3):
        wire = Wire()
        wire.leave()
        await wire.run(Cookie)
        headers = wire.starts[0]["headers"]
        assert [v for k, v in headers if k == b"set-cookie"] == [b"seen=1; Path=/; SameSite=Lax"]
        assert (b"x-view", b"yes") in headers
    assert SHARED.headers.raw == before


@pytest.mark.parametrize("kind", ["stream", "events"])
async def test_view_headers_join_a_returned_stream_on_the_wire_only(kind: str) -> None:
    stream = trane.StreamingResponse(["a", "b"], headers={"x-own": "1"})
    before = list(stream.headers.raw)

    class Feed(trane.Application):
        async def get(self) -> trane.StreamingResponse:
            self.set_cookie("seen", "1")
            self.response_headers["x-view"] = "yes"
            if kind == "stream":
                return stream
            return trane.EventSourceResponse(["tick"], headers={"x-view": "its own"})

    wire = Wire()
    task = wire.run(Feed)
    await asyncio.wait_for(wire.complete.wait(), 5)
    wire.leave()
    await asyncio.wait_for(task, 5)
    headers = wire.starts[0]["headers"]
    assert (b"set-cookie", b"seen=1; Path=/; SameSite=Lax") in headers
    x_view = [v for k, v in headers if k == b"x-view"]
    assert x_view == ([b"yes"] if kind == "stream" else [b"its own"])  # the response's wins
    assert wire.body == (b"ab" if kind == "stream" else b"data: tick\n\n")
    assert stream.headers.raw == before


async def test_trailers_not_offered_is_named_so() -> None:
    # Before: "the response is already complete", which it was not.
    class Trailers(trane.Application):
        async def get(self) -> None:
            await self.send("body")
            await self.response_stream({"type": "http.response.trailers", "headers": []})

    wire = Wire()
    task = wire.run(Trailers)
    with pytest.raises(trane.ResponseStateError, match="did not offer"):
        await asyncio.wait_for(task, 5)


class Endless(trane.Application):
    closed: list[str] = []

    async def get(self, kind: str = "streaming") -> Any:
        if kind == "streaming":
            return trane.StreamingResponse(self.forever("streaming"))
        if kind == "events":
            return trane.EventSourceResponse(self.forever("events"))
        try:
            while True:
                if kind == "send":
                    await self.send("tick\n")
                else:
                    await self.send_event("tick")
                await asyncio.sleep(0.001)
        finally:
            self.closed.append(kind)

    async def forever(self, kind: str) -> AsyncIterator[str]:
        self.closed.append(f"{kind} started")
        try:
            while True:
                yield "tick\n"
                await asyncio.sleep(0.001)
        finally:
            self.closed.append(kind)


@pytest.mark.parametrize("kind", ["streaming", "events", "send", "send_event"])
async def test_head_on_a_stream_is_complete_with_its_headers(kind: str) -> None:
    # Before: the generator ran on and the final more_body=False never came.
    Endless.closed.clear()
    wire = Wire("HEAD", path_params={"kind": kind})
    task = wire.run(Endless)
    await asyncio.wait_for(wire.complete.wait(), 5)
    await asyncio.wait_for(task, 5)  # the view ended without the client leaving
    assert len(wire.starts) == 1
    assert wire.body == b""
    assert wire.sent[-1] == {"type": "http.response.body", "body": b""}
    # A view's loop is stopped at its next send; an iterator is never started.
    assert Endless.closed == ([kind] if kind.startswith("send") else [])


async def test_partly_read_body_then_streaming_stops_when_the_client_leaves() -> None:
    # Before: the watcher gave up on a partly read body; the view ran forever.
    stopped = asyncio.Event()

    class Partial(trane.Application):
        async def post(self) -> None:
            chunks = self.stream()
            await anext(chunks)  # read part of the upload only
            try:
                while True:
                    await self.send("tick\n")
                    await asyncio.sleep(0.001)
            finally:
                stopped.set()

    wire = Wire("POST")
    task = wire.run(Partial)
    wire.chunk(b"first")
    wire.chunk(b"second")
    await asyncio.sleep(0.02)
    wire.leave()
    await asyncio.wait_for(stopped.wait(), 5)
    await asyncio.wait_for(task, 5)


async def test_a_verb_patched_after_the_class_is_made_is_served() -> None:
    # Before: the per-class tables kept the old function.
    class Patched(trane.Application):
        async def get(self) -> str:
            return "real"

    class Child(Patched):
        pass

    async def fake(self: Any) -> str:
        return "fake"

    async def answer(cls: Any) -> bytes:
        wire = Wire()
        wire.leave()
        await wire.run(cls)
        return wire.body

    with mock.patch.object(Patched, "get", fake):
        assert await answer(Patched) == b"fake"
        assert await answer(Child) == b"fake"
    assert await answer(Patched) == b"real"

    async def post(self: Any) -> str:
        return "posted"

    Patched.post = post
    assert Child.allowed_methods() == {"GET", "HEAD", "POST", "OPTIONS"}
    del Patched.post  # type: ignore[attr-defined]
    assert Child.allowed_methods() == {"GET", "HEAD", "OPTIONS"}
