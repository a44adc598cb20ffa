"""A Starlette 0.11 app (the last ASGI 2 release line), written as its README did.

``app(scope)`` returns the instance; uvicorn's "Quickstart" served it as is.
"""

from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route, Router

app = Starlette()


@app.on_event("startup")
async def startup():
    app.state_ready = True


@app.route("/", methods=["GET", "HEAD", "POST"])
async def homepage(request):
    if request.method == "POST":
        body = await request.body()
        return JSONResponse({"received": len(body)})
    return JSONResponse({"hello": "world"})


@app.websocket_route("/")
async def websocket_endpoint(websocket):
    await websocket.accept()
    text = await websocket.receive_text()
    await websocket.send_text("Hello, " + text)
    await websocket.close()


async def list_users(request):
    return PlainTextResponse("users")


# "Submounting routes", as the 0.11 docs put a group of routes under a prefix.
app.mount("/users", Router([Route("/", endpoint=list_users, methods=["GET"])]))
