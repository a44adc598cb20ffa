"""Uploads, downloads with ranges, a static mount and a server-sent-events clock.

Serve it with ``python -m trane serve examples.files:app`` and try::

    curl -F note=hi -F file=@README.rst http://127.0.0.1:8000/upload
    curl -r 0-99 http://127.0.0.1:8000/download       # 206: the first 100 bytes
    curl http://127.0.0.1:8000/static/                 # static/index.html
    curl -N http://127.0.0.1:8000/clock                # one event a second
    curl -N -H 'Last-Event-ID: 41' http://127.0.0.1:8000/clock   # resumes at 42

or open http://127.0.0.1:8000/ in a browser.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import trane

HERE = Path(__file__).resolve().parent

PAGE = """<!doctype html>
<meta charset="utf-8">
<title>trane: files and streaming</title>
<link rel="stylesheet" href="/static/style.css">
<h1>Files and streaming</h1>
<form method="post" action="/upload" enctype="multipart/form-data">
  <input name="note" placeholder="a note"> <input type="file" name="file" multiple>
  <button>Upload</button>
</form>
<p><a href="/download">Download this example's source</a> (ranges work:
<code>curl -r 0-99</code>) &middot; <a href="/static/">the static mount</a></p>
<p>Clock: <output id="clock">waiting&hellip;</output></p>
<script>
  const source = new EventSource("/clock");
  source.addEventListener("tick", (e) => {
    document.getElementById("clock").textContent = JSON.parse(e.data).time;
  });
</script>
"""


class Home(trane.Application):
    async def get(self) -> trane.HTMLResponse:
        return trane.HTMLResponse(PAGE)


class Upload(trane.Application):
    # Files are spooled to disk past max_upload_memory (1 MiB), so a large
    # upload costs disk, not memory; the body limit is what caps it.
    max_body_size = 64 * 1024 * 1024
    max_form_files = 8

    async def post(self) -> dict[str, Any]:
        form = await self.form()  # 400 for a malformed body, 413 past the limits
        fields: dict[str, str] = {}
        files: list[dict[str, Any]] = []
        for name, value in form.multi_items():
            if isinstance(value, trane.UploadFile):
                digest = hashlib.sha256()
                while chunk := await value.read(64 * 1024):
                    digest.update(chunk)
                files.append(
                    {
                        "field": name,
                        "filename": value.filename,  # as sent: never used as a path
                        "safe_filename": value.safe_filename,
                        "content_type": value.content_type,
                        "size": value.size,
                        "sha256": digest.hexdigest(),
                    }
                )
            else:
                fields[name] = value
        # The upload files are closed (and their spools deleted) after the response.
        return {"fields": fields, "files": files}


class Download(trane.Application):
    async def get(self) -> trane.FileResponse:
        # ETag, Last-Modified, 304s, HEAD and Range requests come with FileResponse.
        return trane.FileResponse(HERE / "files.py", media_type="text/plain", filename="files.py")


class Clock(trane.Application):
    async def get(self) -> trane.EventSourceResponse:
        try:
            interval = min(max(float(self.query.get("interval", "1")), 0.01), 60.0)
            count = int(self.query.get("count", "0"))
        except ValueError:
            raise trane.HTTPError(400, "interval and count must be numbers") from None
        # A browser that reconnects sends the last id it saw: carry on from there.
        last = self.last_event_id
        first = int(last) + 1 if last is not None and last.isdigit() else 0

        async def ticks() -> AsyncIterator[trane.ServerSentEvent]:
            n = first
            while not count or n < first + count:
                now = time.strftime("%H:%M:%S")
                yield trane.ServerSentEvent({"tick": n, "time": now}, event="tick", id=str(n))
                n += 1
                await asyncio.sleep(interval)

        return trane.EventSourceResponse(ticks(), ping_interval=15.0)


router = trane.Router(
    [
        trane.Route("/", Home),
        trane.Route("/upload", Upload),
        trane.Route("/download", Download),
        trane.Route("/clock", Clock),
        trane.Mount("/static", trane.StaticFiles(directory=HERE / "static", html=True)),
    ]
)

app = trane.as_asgi3(router)
