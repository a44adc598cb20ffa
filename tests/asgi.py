"""A tiny in-process ASGI driver for the tests: one request, all messages kept."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from trane import as_asgi3
from trane.types import Message, Send


@dataclass
class Result:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    messages: list[Message] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        key = name.lower().encode()
        for k, v in self.headers:
            if k == key:
                return v.decode("latin-1")
        return None

    def header_list(self, name: str) -> list[str]:
        key = name.lower().encode()
        return [v.decode("latin-1") for k, v in self.headers if k == key]

    @property
    def text(self) -> str:
        return self.body.decode()


def make_scope(
    method: str = "GET",
    path: str = "/",
    *,
    query: bytes = b"",
    headers: Sequence[tuple[bytes, bytes]] = (),
    root_path: str = "",
    kind: str = "http",
    **extra: Any,
) -> dict[str, Any]:
    scope: dict[str, Any] = {
        "type": kind,
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": root_path,
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    scope.update(extra)
    return scope


def recorder() -> tuple[list[Message], Callable[[], Awaitable[Message]], Send]:
    """(sent, receive, send): ``send`` keeps every message in ``sent``; ``receive``
    waits forever, like a server whose client neither sends nor leaves."""
    sent: list[Message] = []

    async def receive() -> Message:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    return sent, receive, send


async def request(
    app: Any,
    method: str = "GET",
    path: str = "/",
    *,
    body: bytes = b"",
    chunks: Sequence[bytes] | None = None,
    disconnect_after_body: bool = False,
    **scope_args: Any,
) -> Result:
    """Run ``app`` (ASGI 2 or 3) for one request and collect its response."""
    scope = make_scope(method, path, **scope_args)
    parts = list(chunks) if chunks is not None else [body]
    done = asyncio.Event()
    sent: list[Message] = []

    async def receive() -> Message:
        if parts:
            chunk = parts.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(parts)}
        if not disconnect_after_body:
            await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            done.set()

    await asyncio.wait_for(as_asgi3(app)(scope, receive, send), 10)
    done.set()
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert len(starts) <= 1, sent
    body_out = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    if not starts:
        return Result(0, [], body_out, sent)
    return Result(starts[0]["status"], list(starts[0]["headers"]), body_out, sent)
