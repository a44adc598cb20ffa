"""Starlette with ``HTTPEndpoint`` classes (the closest peer to trane's model)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.endpoints import HTTPEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from benchmarks.apps import post_answer


class Hello(HTTPEndpoint):
    async def get(self, request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"Hello, {request.path_params['name']}!")


class HelloJSON(HTTPEndpoint):
    async def get(self, request: Request) -> JSONResponse:
        return JSONResponse({"hello": request.path_params["name"]})


class Post(HTTPEndpoint):
    async def post(self, request: Request) -> JSONResponse:
        return JSONResponse(post_answer(await request.json()))


app = Starlette(
    routes=[
        Route("/hello/{name}", Hello),
        Route("/json/{name}", HelloJSON),
        Route("/post", Post),
    ]
)
