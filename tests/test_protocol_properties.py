"""The HTTP message protocol, property-tested over every response and request style.

A view reads the request one way (``body()``, ``json()``, ``form()``,
``stream()``, or not at all) and answers another (a returned value, a
``Response``, ``self.send()`` streaming, ``finish()``, ``StreamingResponse``,
``FileResponse`` with and without Range, ``EventSourceResponse``, an error
page). Hypothesis picks those, the method (GET, HEAD, POST), the body's
chunking, and when the client leaves: never, before the body is complete, or
after some of the response. The invariants, checked by ``trane.validate`` on
every message and by the test on the whole exchange:

* at most one ``http.response.start``; nothing after the final body;
* a client that stays gets exactly one complete response, whose body reports
  the exact number of body bytes the view read (for GET and POST);
* the app never hangs (each exchange is bounded) and never raises: only a
  gone client may leave a request unanswered.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trane
from trane.types import Message

FILE = Path(tempfile.mkdtemp()) / "data.bin"
FILE.write_bytes(bytes(range(256)) * 40)

READS = ["none", "body", "json", "form", "stream"]
ANSWERS = [
    "value",
    "response",
    "send",
    "finish",
    "streaming",
    "file",
    "range",
    "events",
    "error",
    "crash",
]


class Protocol(trane.Application):
    sse_ping_interval = None

    async def read(self, how: str) -> int:
        if how == "body":
            return len(await self.body())
        if how == "json":
            return len(json.dumps(await self.json()))
        if how == "form":
            form = await self.form()
            return len(urlencode(list(form.multi_items())))
        if how == "stream":
            return sum([len(chunk) async for chunk in self.stream()])
        return 0

    async def get(self) -> Any:
        how, answer = self.query["read"], self.query["answer"]
        n = await self.read(how)
        text = f"read={n}"
        if answer == "value":
            return text
        if answer == "response":
            return trane.PlainTextResponse(text)
        if answer == "send":
            await self.send(text)
            await self.send("!")
            return None
        if answer == "finish":
            await self.finish(text)
            return None
        if answer == "streaming":

            async def parts() -> AsyncIterator[str]:
                yield text
                yield "!"

            return trane.StreamingResponse(parts())
        if answer in ("file", "range"):
            self.response_headers["x-read"] = text
            return trane.FileResponse(FILE)
        if answer == "events":
            return trane.EventSourceResponse([text, "!"])
        if answer == "error":
            raise trane.HTTPError(409, text)
        raise RuntimeError(text)

    post = get


@st.composite
def exchanges(draw: st.DrawFn) -> dict[str, Any]:
    method = draw(st.sampled_from(["GET", "HEAD", "POST"]))
    read = draw(st.sampled_from(READS))
    answer = draw(st.sampled_from(ANSWERS))
    text = draw(st.text(max_size=40))
    if read == "json":
        body = json.dumps({"k": text}).encode()
    elif read == "form":
        body = urlencode({"k": text, "n": "1"}).encode()
    else:
        body = text.encode()
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=4)))
    chunks = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    # When the client leaves: None (never), or after this many request
    # chunks (before the body is complete), or after this many response messages.
    leave = draw(
        st.one_of(
            st.none(),
            st.tuples(st.just("request"), st.integers(0, len(chunks) - 1)),
            st.tuples(st.just("response"), st.integers(1, 3)),
        )
    )
    spec = draw(st.sampled_from(["2.3", "2.4"]))
    return {
        "method": method,
        "read": read,
        "answer": answer,
        "body": body,
        "chunks": chunks,
        "leave": leave,
        "spec": spec,
    }


async def exchange(case: dict[str, Any]) -> tuple[list[Message], BaseException | None, bool]:
    chunks: list[bytes] = list(case["chunks"])
    leave = case["leave"]
    headers = [(b"host", b"testserver")]
    if case["read"] == "json":
        headers.append((b"content-type", b"application/json"))
    elif case["read"] == "form":
        headers.append((b"content-type", b"application/x-www-form-urlencoded"))
    if case["answer"] == "range":
        headers.append((b"range", b"bytes=10-99"))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": case["spec"]},
        "http_version": "1.1",
        "method": case["method"],
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": f"read={case['read']}&answer={case['answer']}".encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        "extensions": {},
    }
    sent: list[Message] = []
    gone = asyncio.Event()
    complete = asyncio.Event()
    given_chunks = 0

    async def receive() -> Message:
        nonlocal given_chunks
        if leave is not None and leave[0] == "request" and given_chunks == leave[1]:
            gone.set()
        if not gone.is_set() and chunks:
            given_chunks += 1
            chunk = chunks.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}
        waiter = asyncio.ensure_future(gone.wait())
        done = asyncio.ensure_future(complete.wait())
        try:
            await asyncio.wait({waiter, done}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            done.cancel()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if gone.is_set():
            if case["spec"] == "2.4":
                raise OSError("client gone")
            return  # before 2.4 servers drop it
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            complete.set()
        if leave is not None and leave[0] == "response" and len(sent) >= leave[1]:
            gone.set()

    app = trane.validate(trane.as_asgi3(Protocol))
    error: BaseException | None = None
    try:
        await asyncio.wait_for(app(scope, receive, send), 5)
    except Exception as exc:  # judged by the test below
        error = exc
    return sent, error, gone.is_set()


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(exchanges())
def test_every_exchange_keeps_the_protocol(case: dict[str, Any]) -> None:
    sent, error, left = asyncio.run(exchange(case))
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert len(starts) <= 1
    if starts:
        assert sent[0] is starts[0]
    finals = [
        i
        for i, m in enumerate(sent)
        if m["type"] == "http.response.body" and not m.get("more_body", False)
    ]
    assert len(finals) <= 1
    if finals:
        assert finals[0] == len(sent) - 1  # nothing after the final body
    answer = case["answer"]
    if answer == "crash" and not left:
        # An unexpected exception is a 500 page, not an exception out of the app.
        assert error is None
        assert starts[0]["status"] == 500
    if not left:
        assert error is None, error
        assert finals, f"a client that stayed got no complete response: {sent}"
        status = starts[0]["status"]
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        if case["method"] == "HEAD":
            assert body == b""
            return
        read = len(case["body"]) if case["read"] != "none" else 0
        if answer == "crash":
            assert status == 500
        elif answer in ("file", "range"):
            ranged = answer == "range" and case["method"] == "GET"  # Range is for GET only
            expected_length = 90 if ranged else FILE.stat().st_size
            assert len(body) == expected_length
            assert (b"x-read", f"read={read}".encode()) in starts[0]["headers"]
        else:
            assert f"read={read}".encode() in body, (status, body)
    else:
        # A gone client may leave the request unanswered, but nothing may escape
        # from the app but what trane.validate reports (none expected).
        assert error is None or isinstance(error, trane.ClientDisconnect), repr(error)
