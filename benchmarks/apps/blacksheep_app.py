"""BlackSheep with plain routes (needs ``await app.start()`` before use)."""

from __future__ import annotations

from blacksheep import Application, Request, Response, json, text

from benchmarks.apps import post_answer

app = Application()


@app.router.get("/hello/{name}")
async def hello(name: str) -> Response:
    return text(f"Hello, {name}!")


@app.router.get("/json/{name}")
async def hello_json(name: str) -> Response:
    return json({"hello": name})


@app.router.post("/post")
async def post(request: Request) -> Response:
    return json(post_answer(await request.json()))
