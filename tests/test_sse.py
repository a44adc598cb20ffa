"""Server-sent events: framing, EventSourceResponse, send_event, keep-alives, Last-Event-ID."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar

import pytest

import trane
from asgi import make_scope, recorder, request
from trane.responses import ResponseStream
from trane.sse import PING, ServerSentEvent, encode_event, format_event, keep_alive
from trane.testing import TestClient
from trane.types import Message

CLOSED: list[str] = []


# -- framing -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "frame"),
    [
        ({"data": "hello"}, b"data: hello\n\n"),
        ({"data": "a\nb\r\nc\rd"}, b"data: a\ndata: b\ndata: c\ndata: d\n\n"),
        ({"data": "trailing\n"}, b"data: trailing\ndata: \n\n"),
        ({"data": ""}, b"data: \n\n"),
        ({"data": " lead"}, b"data:  lead\n\n"),
        ({"data": "x\u2028y\x0bz"}, "data: x\u2028y\x0bz\n\n".encode()),  # not SSE newlines
        ({"data": b"bytes"}, b"data: bytes\n\n"),
        ({"data": {"a": [1, "é"]}}, 'data: {"a":[1,"é"]}\n\n'.encode()),
        ({"data": 3}, b"data: 3\n\n"),
        (
            {"data": "x", "event": "tick", "id": "7", "retry": 1500},
            b"event: tick\nid: 7\nretry: 1500\ndata: x\n\n",
        ),
        ({"id": ""}, b"id: \n\n"),
        ({"comment": "keep\nalive"}, b": keep\n: alive\n\n"),
        ({"retry": 0}, b"retry: 0\n\n"),
    ],
)
def test_format_event(kwargs: dict[str, Any], frame: bytes) -> None:
    assert format_event(**kwargs) == frame


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"data": "x", "event": "a\nb"},
        {"data": "x", "event": "a\rb"},
        {"data": "x", "id": "1\n2"},
        {"data": "x", "id": "1\x002"},
        {"data": "x", "retry": -1},
        {"data": "x", "retry": 1.5},
        {"data": "x", "retry": True},
    ],
)
def test_format_event_refuses_what_would_break_the_stream(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        format_event(**kwargs)


def test_encode_event_items() -> None:
    assert encode_event("plain") == b"data: plain\n\n"
    assert encode_event(b"raw") == b"data: raw\n\n"
    assert encode_event({"data": 1, "event": "e"}) == b"event: e\ndata: 1\n\n"
    assert encode_event(ServerSentEvent("x", id="9")) == b"id: 9\ndata: x\n\n"


# -- EventSourceResponse -------------------------------------------------------------


async def numbered(n: int, delay: float = 0.0) -> AsyncIterator[ServerSentEvent]:
    try:
        for i in range(n):
            yield ServerSentEvent({"n": i}, event="num", id=str(i))
            await asyncio.sleep(delay)
    finally:
        CLOSED.append("numbered")


def sync_items() -> Iterator[Any]:
    yield "a"
    yield {"data": "b", "id": "2"}


class Events(trane.Application):
    async def get(self, kind: str) -> trane.EventSourceResponse:
        if kind == "async":
            return trane.EventSourceResponse(numbered(3))
        if kind == "sync":
            return trane.EventSourceResponse(sync_items(), headers={"cache-control": "no-store"})
        if kind == "slow":
            return trane.EventSourceResponse(numbered(2, delay=0.45), ping_interval=0.1)
        if kind == "resume":
            first = int(self.last_event_id or "-1") + 1
            return trane.EventSourceResponse(
                ServerSentEvent(i, id=str(i)) for i in range(first, first + 2)
            )
        if kind == "broken":

            async def broken() -> AsyncIterator[str]:
                yield "ok"
                raise RuntimeError("generator failed")

            return trane.EventSourceResponse(broken())
        raise trane.HTTPError(404)


class Imperative(trane.Application):
    sse_ping_interval: ClassVar[float | None] = 0.1

    async def get(self) -> None:
        await self.send_event("first", id="1", event="greeting", retry=3000)
        await asyncio.sleep(0.45)
        await self.send_event({"second": True}, id="2")


class Quiet(Imperative):
    sse_ping_interval = None


router = trane.Router(
    [
        trane.Route("/events/{kind}", Events),
        trane.Route("/imperative", Imperative),
        trane.Route("/quiet", Quiet),
    ]
)


async def test_event_source_response_frames_and_headers() -> None:
    CLOSED.clear()
    result = await request(router, "GET", "/events/async")
    assert result.status == 200
    assert result.header("content-type") == "text/event-stream; charset=utf-8"
    assert result.header("cache-control") == "no-cache"
    assert result.header("x-accel-buffering") == "no"
    assert result.header("content-length") is None
    assert result.body == b"".join(
        f'event: num\nid: {i}\ndata: {{"n":{i}}}\n\n'.encode() for i in range(3)
    )
    assert CLOSED == ["numbered"]


async def test_event_source_response_sync_items_and_own_headers() -> None:
    result = await request(router, "GET", "/events/sync")
    assert result.body == b"data: a\n\nid: 2\ndata: b\n\n"
    assert result.header_list("cache-control") == ["no-store"]


async def test_event_source_response_keep_alive_pings() -> None:
    result = await request(router, "GET", "/events/slow")
    frames = result.body.split(b"\n\n")
    assert frames[0].startswith(b"event: num\nid: 0")
    pings_between = frames[1 : frames.index(next(f for f in frames if b"id: 1" in f))]
    assert len(pings_between) >= 2
    assert set(pings_between) == {b": ping"}


async def test_event_source_response_generator_error_aborts() -> None:
    with pytest.raises(RuntimeError, match="generator failed"):
        await request(router, "GET", "/events/broken")


async def test_event_source_response_iterator_failing_before_any_event_aborts() -> None:
    # The failure comes while the response waits for the first event: no hang.
    closed: list[str] = []

    async def failing() -> AsyncIterator[str]:
        try:
            await asyncio.sleep(0)  # a feed that connects first...
            raise RuntimeError("feed down")  # ...and fails
            yield "never"
        finally:
            closed.append("failing")

    sent, receive, send = recorder()
    response = trane.EventSourceResponse(failing(), ping_interval=None)
    with pytest.raises(RuntimeError, match="feed down"):
        await asyncio.wait_for(response(make_scope(), receive, send), 5)
    assert [m["type"] for m in sent] == ["http.response.start"]  # never ended: aborted
    assert closed == ["failing"]


async def test_event_source_last_event_id() -> None:
    fresh = await request(router, "GET", "/events/resume")
    assert fresh.body == b"id: 0\ndata: 0\n\nid: 1\ndata: 1\n\n"
    resumed = await request(router, "GET", "/events/resume", headers=[(b"last-event-id", b"41")])
    assert resumed.body == b"id: 42\ndata: 42\n\nid: 43\ndata: 43\n\n"


async def test_send_event_imperative_with_pings() -> None:
    result = await request(router, "GET", "/imperative")
    assert result.status == 200
    assert result.header("content-type") == "text/event-stream"
    assert result.header("cache-control") == "no-cache"
    frames = result.body.split(b"\n\n")
    assert frames[0] == b"event: greeting\nid: 1\nretry: 3000\ndata: first"
    assert frames[-2] == b'id: 2\ndata: {"second":true}'
    assert frames[-1] == b""
    assert len(frames[1:-2]) >= 2
    assert set(frames[1:-2]) == {b": ping"}


async def test_send_event_without_pings() -> None:
    result = await request(router, "GET", "/quiet")
    assert b": ping" not in result.body


async def test_event_stream_read_by_a_client_that_leaves() -> None:
    CLOSED.clear()

    class Endless(trane.Application):
        async def get(self) -> trane.EventSourceResponse:
            return trane.EventSourceResponse(numbered(10**9, delay=0.01))

    async with TestClient(Endless) as client, client.stream("GET", "/") as response:
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        lines = response.aiter_lines()
        assert await anext(lines) == "event: num"
        assert await anext(lines) == "id: 0"
    assert CLOSED == ["numbered"]  # closed by the time the client's with-block ended


# -- keep_alive ------------------------------------------------------------------------

START: Message = {"type": "http.response.start", "status": 200, "headers": []}


async def test_keep_alive_stops_once_the_stream_has_ended() -> None:
    sent, _, send = recorder()
    out = ResponseStream(send)
    await out(START)
    await out({"type": "http.response.body", "body": b"", "more_body": False})
    await asyncio.wait_for(keep_alive(out, 0), 5)  # returns: no ping after the end
    assert len(sent) == 2


async def test_keep_alive_stops_quietly_when_the_client_is_gone() -> None:
    # ASGI spec 2.4: a send to a gone client raises OSError; the view learns of it itself.
    sent: list[Message] = []

    async def send(message: Message) -> None:
        if message.get("body") == PING:
            raise OSError("client gone")
        sent.append(message)

    out = ResponseStream(send)
    await out(START)
    await asyncio.wait_for(keep_alive(out, 0), 5)
    assert sent == [START]
