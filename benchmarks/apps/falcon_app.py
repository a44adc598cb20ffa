"""Falcon ``falcon.asgi.App`` with resource classes."""

from __future__ import annotations

import falcon
import falcon.asgi

from benchmarks.apps import post_answer


class HelloResource:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, name: str) -> None:
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = f"Hello, {name}!"


class JSONResource:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, name: str) -> None:
        resp.media = {"hello": name}


class PostResource:
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.media = post_answer(await req.get_media())


def make_app(filler_routes: int = 0, full: bool = True) -> falcon.asgi.App:  # type: ignore[type-arg]
    """The hello app; ``filler_routes`` extra ``/route{i}/{name}`` routes come first.

    ``full=False`` leaves out the routes after ``/hello/{name}``.
    """
    app = falcon.asgi.App()
    hello = HelloResource()
    for i in range(filler_routes):
        app.add_route(f"/route{i}/{{name}}", hello)
    app.add_route("/hello/{name}", hello)
    if full:
        app.add_route("/json/{name}", JSONResource())
        app.add_route("/post", PostResource())
    return app


app = make_app()
