"""Starlette with plain function endpoints."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse
from starlette.routing import Mount, Route

from benchmarks.apps import FILE_PATH, new_hash, post_answer, upload_answer


async def hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"Hello, {request.path_params['name']}!")


async def hello_json(request: Request) -> JSONResponse:
    return JSONResponse({"hello": request.path_params["name"]})


async def body(request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(len(await request.body())))


async def stream(request: Request) -> PlainTextResponse:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
    return PlainTextResponse(str(size))


async def post(request: Request) -> JSONResponse:
    return JSONResponse(post_answer(await request.json()))


async def upload(request: Request) -> JSONResponse:
    async with request.form() as form:
        file = form["file"]
        assert isinstance(file, UploadFile)
        digest = None
        if request.query_params.get("hash"):
            sha = new_hash()
            while chunk := await file.read(1 << 20):
                sha.update(chunk)
            digest = sha.hexdigest()
        fields = {key: value for key, value in form.multi_items() if isinstance(value, str)}
        return JSONResponse(upload_answer(file.size or 0, fields, digest))


async def file(request: Request) -> FileResponse:
    return FileResponse(FILE_PATH)


def make_app(filler_routes: int = 0, full: bool = True) -> Starlette:
    """The hello app; ``filler_routes`` extra ``/route{i}/{name}`` routes come first.

    ``full=False`` leaves out the routes after ``/hello/{name}``.
    """
    routes = [Route(f"/route{i}/{{name}}", hello) for i in range(filler_routes)]
    routes.append(Route("/hello/{name}", hello))
    if not full:
        return Starlette(routes=routes)
    routes += [
        Route("/json/{name}", hello_json),
        Route("/body", body, methods=["POST"]),
        Route("/stream", stream, methods=["POST"]),
        Route("/post", post, methods=["POST"]),
        Route("/upload", upload, methods=["POST"]),
        Route("/file", file),
    ]
    return Starlette(routes=routes)


def make_mounted(mounted: bool) -> Starlette:
    """``GET /api/hello/{name}``: from a router mounted at ``/api``, or routed directly."""
    if mounted:
        return Starlette(routes=[Mount("/api", routes=[Route("/hello/{name}", hello)])])
    return Starlette(routes=[Route("/api/hello/{name}", hello)])


app = make_app()
