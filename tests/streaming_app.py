"""The app test_files_servers.py runs under real servers.

Each streaming view sends two chunks, then idles for a minute: only a
disconnect watcher can stop it early. Its ``finally`` block records when it
ran, and ``/log`` reports those times, so a test can check how soon after the
client left the server side noticed. ``examples/files.py`` is mounted at
``/example``.
"""

from __future__ import annotations

import asyncio
import hashlib
import resource
import time
from collections.abc import AsyncIterator
from typing import Any

from examples import files

import trane

#: kind -> time.time() when that view's stream stopped (its finally ran).
STOPPED: dict[str, float] = {}
IDLE = 60.0


def _rss_kib() -> int:
    """The resident set size now (Linux), in KiB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() // 1024


async def _sample_peak(peak: list[int]) -> None:
    while True:
        peak[0] = max(peak[0], _rss_kib())
        await asyncio.sleep(0.005)


class SSE(trane.Application):
    async def get(self) -> trane.EventSourceResponse:
        async def events() -> AsyncIterator[dict[str, Any]]:
            try:
                yield {"data": "one", "id": "1"}
                yield {"data": "two", "id": "2"}
                await asyncio.sleep(IDLE)
                yield {"data": "too late", "id": "3"}
            finally:
                STOPPED["sse"] = time.time()

        return trane.EventSourceResponse(events(), ping_interval=IDLE)


class SendEvent(trane.Application):
    sse_ping_interval = None

    async def get(self) -> None:
        try:
            await self.send_event("one", id="1")
            await self.send_event("two", id="2")
            await asyncio.sleep(IDLE)
            await self.send_event("too late", id="3")
        finally:
            STOPPED["send_event"] = time.time()


class Send(trane.Application):
    async def get(self) -> None:
        try:
            await self.send("one\n")
            await self.send("two\n")
            await asyncio.sleep(IDLE)
            await self.send("too late\n")
        finally:
            STOPPED["send"] = time.time()


class SendLoop(trane.Application):
    """Never idle: stops because send() raises ClientDisconnect (or is cancelled)."""

    async def get(self) -> None:
        try:
            while True:
                await self.send("tick\n" * 100)
                await asyncio.sleep(0.01)
        finally:
            STOPPED["send_loop"] = time.time()


class Stream(trane.Application):
    async def get(self) -> trane.StreamingResponse:
        async def chunks() -> AsyncIterator[str]:
            try:
                yield "one\n"
                yield "two\n"
                await asyncio.sleep(IDLE)
                yield "too late\n"
            finally:
                STOPPED["stream"] = time.time()

        return trane.StreamingResponse(chunks(), media_type="text/plain")


class Log(trane.Application):
    async def get(self) -> dict[str, float]:
        return STOPPED

    async def delete(self) -> None:
        STOPPED.clear()


class Upload(trane.Application):
    max_body_size = 64 * 1024 * 1024

    async def post(self) -> dict[str, Any]:
        before = _rss_kib()
        peak = [before]
        sampler = asyncio.ensure_future(_sample_peak(peak))
        try:
            form = await self.form()
        finally:
            sampler.cancel()
        files: dict[str, Any] = {}
        for name, value in form.multi_items():
            if isinstance(value, trane.UploadFile):
                digest = hashlib.sha256()
                while chunk := await value.read(256 * 1024):
                    digest.update(chunk)
                files[name] = {
                    "size": value.size,
                    "sha256": digest.hexdigest(),
                    "in_memory": value.in_memory,
                }
        return {"files": files, "rss_before_kib": before, "rss_peak_kib": max(peak)}


router = trane.Router(
    [
        trane.Route("/sse", SSE),
        trane.Route("/send-event", SendEvent),
        trane.Route("/send", Send),
        trane.Route("/send-loop", SendLoop),
        trane.Route("/stream", Stream),
        trane.Route("/log", Log),
        trane.Route("/upload", Upload),
        trane.Mount("/example", files.router),
    ]
)

app = trane.as_asgi3(router)
