"""trane: the hello app as a bare ``Router`` (ASGI 2) and via ``trane.as_asgi3``.

Serve with ``uvicorn benchmarks.apps.trane_app:app --interface asgi2`` or
``uvicorn benchmarks.apps.trane_app:app3 --interface asgi3``.
"""

from __future__ import annotations

from typing import Any

import benchmarks.apps  # noqa: F401  (puts src/ on sys.path if needed)
import trane
from benchmarks.apps import FILE_PATH, new_hash, post_answer, upload_answer

BIG_BODY = 64 * 1024 * 1024


class Hello(trane.Application):
    async def get(self, name: str) -> str:
        return f"Hello, {name}!"


class HelloJSON(trane.Application):
    async def get(self, name: str) -> dict[str, str]:
        return {"hello": name}


class Body(trane.Application):
    max_body_size = BIG_BODY

    async def post(self) -> str:
        return str(len(await self.body()))


class Stream(trane.Application):
    max_body_size = BIG_BODY

    async def post(self) -> str:
        size = 0
        async for chunk in self.stream():
            size += len(chunk)
        return str(size)


class Post(trane.Application):
    async def post(self) -> dict[str, Any]:
        return post_answer(await self.json())


class Upload(trane.Application):
    max_body_size = BIG_BODY

    async def post(self) -> dict[str, Any]:
        form = await self.form()
        upload = form["file"]
        assert isinstance(upload, trane.UploadFile)
        digest = None
        if self.query.get("hash"):
            sha = new_hash()
            while chunk := await upload.read(1 << 20):
                sha.update(chunk)
            digest = sha.hexdigest()
        fields = {key: value for key, value in form.multi_items() if isinstance(value, str)}
        return upload_answer(upload.size, fields, digest)


class File(trane.Application):
    async def get(self) -> trane.FileResponse:
        return trane.FileResponse(FILE_PATH)


def make_router(filler_routes: int = 0, full: bool = True) -> trane.Router:
    """The hello app; ``filler_routes`` extra ``/route{i}/{name}`` routes come first.

    ``full=False`` leaves out the routes after ``/hello/{name}``.
    """
    routes = [trane.Route(f"/route{i}/{{name}}", Hello) for i in range(filler_routes)]
    routes.append(trane.Route("/hello/{name}", Hello))
    if not full:
        return trane.Router(routes)
    routes += [
        trane.Route("/json/{name}", HelloJSON),
        trane.Route("/body", Body),
        trane.Route("/stream", Stream),
        trane.Route("/post", Post),
        trane.Route("/upload", Upload),
        trane.Route("/file", File),
    ]
    return trane.Router(routes)


def make_mounted(mounted: bool) -> trane.Router:
    """``GET /api/hello/{name}``: from a router mounted at ``/api``, or routed directly."""
    if mounted:
        return trane.Router([trane.Mount("/api", make_router(full=False))])
    return trane.Router([trane.Route("/api/hello/{name}", Hello)])


router = make_router()
app = router
app3 = trane.as_asgi3(router)
