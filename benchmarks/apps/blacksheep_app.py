"""BlackSheep with plain routes (needs ``await app.start()`` before use)."""

from __future__ import annotations

from blacksheep import Application, Response, json, text

app = Application()


@app.router.get("/hello/{name}")
async def hello(name: str) -> Response:
    return text(f"Hello, {name}!")


@app.router.get("/json/{name}")
async def hello_json(name: str) -> Response:
    return json({"hello": name})
