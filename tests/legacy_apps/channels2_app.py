"""A Channels 2 project's asgi.py, with the consumers its docs wrote.

``ProtocolTypeRouter`` and every consumer are ASGI 2 (``Consumer(scope)``,
then ``await instance(receive, send)``). The HTTP consumer sets its header
as the "Consumers" page did: ``(b"Content-Type", b"text/plain")``.
"""

import json
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "channels2_settings")
django.setup()

from channels.generic.http import AsyncHttpConsumer  # noqa: E402
from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.http import AsgiHandler  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402


class BasicHttpConsumer(AsyncHttpConsumer):
    async def handle(self, body):
        text = f"received {len(body)} bytes" if body else "hello"
        await self.send_response(200, text.encode(), headers=[(b"Content-Type", b"text/plain")])


class EchoConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        await self.accept()

    async def disconnect(self, close_code):
        pass

    async def receive(self, text_data=None, bytes_data=None):
        await self.send(text_data=json.dumps({"message": text_data}))


application = ProtocolTypeRouter(
    {
        "http": URLRouter(
            [
                path("", BasicHttpConsumer),
                path("django/", AsgiHandler),
            ]
        ),
        "websocket": URLRouter([path("", EchoConsumer)]),
    }
)
