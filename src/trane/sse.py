"""Server-sent events: ``EventSourceResponse`` and the ``text/event-stream`` framing.

An event is a few ``field: value`` lines and a blank line::

    format_event("line 1\\nline 2", event="tick", id="7")
    -> b"event: tick\\nid: 7\\ndata: line 1\\ndata: line 2\\n\\n"

``EventSourceResponse`` sends the events an (async) iterator yields, and a
``: ping`` comment whenever nothing was sent for ``ping_interval`` seconds, so
proxies keep the connection open. The iterator runs in a task of its own and
is closed (its ``finally`` blocks run) as soon as the client disconnects.
Views stream events imperatively with ``await self.send_event(...)`` and read
the ``Last-Event-ID`` a reconnecting browser sends as ``self.last_event_id``
(``EventStreamMixin``, a base of ``Application``). Both send through the
``ResponseStream`` like every response, so HEAD ends with the headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Final

from .responses import STARTED, ResponseStream, StreamingResponse, close_iterator, json_dumps

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from .datastructures import Headers, MutableHeaders

PING: Final = b": ping\n\n"
_LINES: Final = re.compile(r"\r\n|\r|\n")

#: The headers every event stream carries (no caching, no proxy buffering).
SSE_HEADERS: Final = {"cache-control": "no-cache", "x-accel-buffering": "no"}


@dataclass(frozen=True)
class ServerSentEvent:
    """One event; ``data`` that is not ``str``/``bytes`` is sent as JSON."""

    data: Any = None
    event: str | None = None
    id: str | None = None
    retry: int | None = None
    comment: str | None = None

    def encode(self) -> bytes:
        return format_event(
            self.data, event=self.event, id=self.id, retry=self.retry, comment=self.comment
        )


def format_event(
    data: Any = None,
    *,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
    comment: str | None = None,
) -> bytes:
    """Frame one event; CR, LF and CRLF in ``data`` become separate ``data:`` lines.

    >>> format_event({"t": 1}, event="tick", id="1")
    b'event: tick\\nid: 1\\ndata: {"t":1}\\n\\n'
    >>> format_event(comment="keep-alive")
    b': keep-alive\\n\\n'

    ``event`` and ``id`` may not contain CR or LF (nor ``id`` NUL), and
    ``retry`` must be a non-negative int: anything else raises ``ValueError``.
    """
    lines: list[str] = []
    if comment is not None:
        lines.extend(f": {line}" for line in _LINES.split(comment))
    if event is not None:
        if _LINES.search(event):
            raise ValueError(f"SSE event name contains CR or LF: {event!r}")
        lines.append(f"event: {event}")
    if id is not None:
        if _LINES.search(id) or "\x00" in id:
            raise ValueError(f"SSE id contains CR, LF or NUL: {id!r}")
        lines.append(f"id: {id}")
    if retry is not None:
        if isinstance(retry, bool) or not isinstance(retry, int) or retry < 0:
            raise ValueError(f"SSE retry must be a non-negative int, got {retry!r}")
        lines.append(f"retry: {retry}")
    if data is not None:
        if isinstance(data, bytes):
            text = data.decode("utf-8")
        elif isinstance(data, str):
            text = data
        else:
            text = json_dumps(data).decode("utf-8")
        lines.extend(f"data: {line}" for line in _LINES.split(text))
    if not lines:
        raise ValueError("an SSE event needs data, event, id, retry or a comment")
    return ("\n".join(lines) + "\n\n").encode("utf-8")


EventItem = ServerSentEvent | Mapping[str, Any] | str | bytes


def encode_event(item: EventItem) -> bytes:
    """``ServerSentEvent``, a dict of its fields, or plain data (``str``/``bytes``)."""
    if isinstance(item, ServerSentEvent):
        return item.encode()
    if isinstance(item, Mapping):
        return ServerSentEvent(**item).encode()
    return format_event(item)


async def keep_alive(out: ResponseStream, interval: float) -> None:
    """Send a ``: ping`` comment every ``interval`` seconds while ``out`` streams."""
    while True:
        await asyncio.sleep(interval)
        if out.state != STARTED:
            return
        try:
            await out({"type": "http.response.body", "body": PING, "more_body": True})
        except Exception:  # the client is gone or the stream ended: the view will know
            return


_END: Final = object()


class EventSourceResponse(StreamingResponse):
    """A ``text/event-stream`` of the events an (async) iterator yields.

    Items are ``ServerSentEvent`` objects, dicts of their fields
    (``{"data": ..., "event": ..., "id": ...}``) or plain ``str``/``bytes``
    data. A ``: ping`` comment goes out after ``ping_interval`` seconds without
    an event (``None``: never).
    """

    media_type = "text/event-stream"

    def __init__(
        self,
        content: AsyncIterable[EventItem] | Iterable[EventItem],
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        *,
        ping_interval: float | None = 15.0,
    ) -> None:
        super().__init__(content, status=status, headers=headers)  # type: ignore[arg-type]
        for name, value in SSE_HEADERS.items():
            self.headers.setdefault(name, value)
        self.ping_interval = ping_interval

    async def _chunks(self) -> AsyncIterator[bytes]:
        content: Any = self.content
        if isinstance(content, AsyncIterable):
            async for item in content:
                yield encode_event(item)
        else:
            for item in content:
                yield encode_event(item)

    async def _produce(self, queue: asyncio.Queue[object]) -> None:
        chunks = self._chunks()
        try:
            async for chunk in chunks:
                await queue.put(chunk)
        finally:
            await chunks.aclose()  # type: ignore[attr-defined]
            await close_iterator(self.content)
        await queue.put(_END)

    async def _send_body(self, out: ResponseStream) -> None:
        # NOTE: the iterator runs in a task of its own, so waiting for it can
        # time out (for a ping) without cancelling it mid-event.
        queue: asyncio.Queue[object] = asyncio.Queue(maxsize=1)
        producer = asyncio.ensure_future(self._produce(queue))
        getter: asyncio.Future[object] | None = None
        try:
            while True:
                if getter is None:
                    getter = asyncio.ensure_future(queue.get())
                waiting: set[asyncio.Future[Any]] = {getter}
                if not producer.done():
                    waiting.add(producer)
                elif not getter.done() and queue.empty():
                    producer.result()  # raises what the iterator raised
                done, _ = await asyncio.wait(
                    waiting, timeout=self.ping_interval, return_when=asyncio.FIRST_COMPLETED
                )
                if getter in done:
                    item, getter = getter.result(), None
                    if item is _END:
                        break
                    assert isinstance(item, bytes)
                    await out({"type": "http.response.body", "body": item, "more_body": True})
                elif not done:
                    await out({"type": "http.response.body", "body": PING, "more_body": True})
        finally:
            if getter is not None:
                getter.cancel()
            if not producer.done():
                producer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await producer
        await out({"type": "http.response.body", "body": b"", "more_body": False})


class EventStreamMixin:
    """``send_event()`` and ``last_event_id`` for views (a base of ``Application``)."""

    #: Seconds between ``: ping`` comments once ``send_event()`` streams; None: never.
    sse_ping_interval: ClassVar[float | None] = 15.0

    if TYPE_CHECKING:  # what Application provides

        @property
        def headers(self) -> Headers: ...
        @property
        def response_headers(self) -> MutableHeaders: ...
        @property
        def response_stream(self) -> ResponseStream: ...
        @property
        def response_started(self) -> bool: ...
        async def send(self, data: str | bytes) -> None: ...
        def run_while_responding(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]: ...

    async def send_event(
        self,
        data: Any = None,
        *,
        event: str | None = None,
        id: str | None = None,
        retry: int | None = None,
    ) -> None:
        """Send one server-sent event; the first call starts a ``text/event-stream``."""
        chunk = format_event(data, event=event, id=id, retry=retry)
        if self.response_started:
            await self.send(chunk)
            return
        headers = self.response_headers
        headers.setdefault("content-type", "text/event-stream")
        for name, value in SSE_HEADERS.items():
            headers.setdefault(name, value)
        await self.send(chunk)
        if self.sse_ping_interval is not None:
            self.run_while_responding(keep_alive(self.response_stream, self.sse_ping_interval))

    @property
    def last_event_id(self) -> str | None:
        """The ``Last-Event-ID`` a reconnecting ``EventSource`` sends, if any."""
        value: str | None = self.headers.get("last-event-id")
        return value


__all__ = [
    "EventSourceResponse",
    "EventStreamMixin",
    "ServerSentEvent",
    "encode_event",
    "format_event",
]
