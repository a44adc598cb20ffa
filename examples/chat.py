"""A chat: one HTML page, one WebSocket per tab, one channel-layer group per room.

Serve it with ``python -m trane serve examples.chat:app`` and open
http://127.0.0.1:8000/ in two tabs. Every tab in a room joins the group
``chat.<room>``; a message goes to the group and from there to every tab.

One process keeps its groups in memory. To run several processes (say two
uvicorn workers behind a load balancer), point them all at one Redis::

    TRANE_REDIS_URL=redis://127.0.0.1:6379 uvicorn examples.chat:app --port 8001
    TRANE_REDIS_URL=redis://127.0.0.1:6379 uvicorn examples.chat:app --port 8002

and a message typed into a tab on port 8001 shows up in a tab on port 8002.
"""

from __future__ import annotations

import html
import json
import os
import re
from typing import Any

import trane

ROOM = re.compile(r"[a-z0-9-]{1,40}")


def channel_layer() -> Any:
    """channels_redis when TRANE_REDIS_URL is set (``pip install trane[redis]``)."""
    url = os.environ.get("TRANE_REDIS_URL")
    if not url:
        return None  # the router's default: an in-memory layer, this process only
    from channels_redis.core import RedisChannelLayer

    return RedisChannelLayer(hosts=[url])


class ChatSocket(trane.WebSocketApplication):
    encoding = "json"  # receive_json() gets every message; anything else closes 1007
    max_message_size = 4096

    @property
    def group(self) -> str:
        return f"chat.{self.params['room']}"

    async def connect(self) -> None:
        if not ROOM.fullmatch(self.params["room"]):
            await self.deny(404, "no such room")
            return
        # Join before accepting: once the client sees the socket open, it is
        # in the room. Groups are left again on disconnect, automatically.
        await self.group_add(self.group)
        await self.accept()

    async def receive_json(self, data: Any) -> None:
        if not isinstance(data, dict):
            return
        name = str(data.get("name") or "anonymous")[:30]
        text = str(data.get("text") or "").strip()[:500]
        if text:
            # Every member of the group, in any process, gets chat_message().
            await self.group_send(self.group, {"type": "chat.message", "name": name, "text": text})

    async def chat_message(self, event: dict[str, Any]) -> None:
        await self.send_json({"name": event["name"], "text": event["text"]})


class ChatPage(trane.Application):
    async def get(self, room: str = "lobby") -> trane.HTMLResponse:
        if not ROOM.fullmatch(room):
            raise trane.HTTPError(404, "no such room")
        socket = self.url_for("chat-socket", room=room)
        return trane.HTMLResponse(
            PAGE.replace("{{room}}", html.escape(room)).replace("{{socket}}", json.dumps(socket))
        )


PAGE = """<!doctype html>
<html lang="en">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>trane chat: {{room}}</title>
<style>
  body { font: 16px/1.4 system-ui, sans-serif; margin: 0; background: #f4f1ea; color: #222; }
  main { max-width: 36rem; margin: 2rem auto; padding: 1.5rem; background: #fff;
         border-radius: .75rem; box-shadow: 0 2px 12px #0002; }
  h1 { margin: 0 0 .25rem; font-size: 1.4rem; }
  #status { color: #777; font-size: .85rem; margin-bottom: 1rem; }
  #messages { list-style: none; padding: 0; margin: 0 0 1rem; min-height: 8rem;
              border-top: 1px solid #eee; }
  #messages li { padding: .4rem 0; border-bottom: 1px solid #eee; }
  #messages b { color: #8a3b12; margin-right: .4rem; }
  form { display: flex; gap: .5rem; }
  input { font: inherit; padding: .45rem .6rem; border: 1px solid #ccc; border-radius: .4rem; }
  #name { width: 7rem; }
  #text { flex: 1; }
  button { font: inherit; padding: .45rem 1rem; border: 0; border-radius: .4rem;
           background: #8a3b12; color: #fff; cursor: pointer; }
</style>
<main>
  <h1>Room “{{room}}”</h1>
  <div id="status">connecting…</div>
  <ul id="messages"></ul>
  <form id="form">
    <input id="name" placeholder="your name" autocomplete="off">
    <input id="text" placeholder="say something" autocomplete="off">
    <button>Send</button>
  </form>
</main>
<script>
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const socket = new WebSocket(scheme + location.host + {{socket}});
  const status = document.getElementById("status");
  socket.onopen = () => { status.textContent = "connected"; };
  socket.onclose = (e) => { status.textContent = "disconnected (" + e.code + ")"; };
  socket.onmessage = (e) => {
    const message = JSON.parse(e.data);
    const item = document.createElement("li");
    const who = document.createElement("b");
    who.textContent = message.name;
    item.append(who, document.createTextNode(message.text));
    document.getElementById("messages").append(item);
  };
  document.getElementById("form").onsubmit = (e) => {
    e.preventDefault();
    const text = document.getElementById("text");
    const name = document.getElementById("name").value;
    socket.send(JSON.stringify({name: name, text: text.value}));
    text.value = "";
  };
</script>
</html>
"""

router = trane.Router(
    [
        trane.Route("/", ChatPage),
        trane.Route("/rooms/{room}", ChatPage, name="chat-page"),
        trane.WebSocketRoute("/ws/{room}", ChatSocket, name="chat-socket"),
    ],
    channel_layer=channel_layer(),
)

app = trane.as_asgi3(router)
