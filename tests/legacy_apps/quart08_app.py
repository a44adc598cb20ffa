"""A Quart 0.8 app (ASGI 2: ``Quart.__call__(scope)``), written as its docs did."""

from quart import Quart, request, websocket

app = Quart(__name__)


@app.route("/", methods=["GET", "POST"])
async def hello():
    if request.method == "POST":
        data = await request.get_data()
        return f"received {len(data)} bytes"
    return "hello"


@app.websocket("/ws")
async def ws():
    while True:
        data = await websocket.receive()
        await websocket.send(f"echo {data}")
