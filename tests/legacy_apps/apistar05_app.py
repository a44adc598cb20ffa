"""An API Star 0.5 ``ASyncApp`` (ASGI 2: ``__call__(scope)``), written as its README did."""

from apistar import ASyncApp, Route, http


async def welcome(name=None):
    if name is None:
        return {"message": "Welcome to API Star!"}
    return {"message": f"Welcome to API Star, {name}!"}


async def echo(body: http.Body):
    return {"received": len(body)}


routes = [
    Route("/", method="GET", handler=welcome),
    Route("/", method="POST", handler=echo),
]

app = ASyncApp(routes=routes)
