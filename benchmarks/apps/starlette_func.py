"""Starlette with plain function endpoints."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route


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
    ]
    return Starlette(routes=routes)


app = make_app()
