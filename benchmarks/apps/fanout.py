"""Group fan-out: the same chat member written for trane and for Channels, on one layer.

How this works
--------------
Both apps serve the same two endpoints:

* ``/fan``: a member. It joins the group ``fan`` before it accepts and sends
  each ``fan.message`` event on to its client as ``{"seq": ..., "text": ...}``.
* ``/pub``: a publisher in no group. The text ``"N tag"`` makes it
  ``group_send`` N events (seq 0 to N-1) to ``fan``, then answer ``"sent N"``.

The layer is Django's ``CHANNEL_LAYERS["default"]``, configured here from the
environment, so both frameworks use the very same instance in a process
(trane finds it through Channels, as it would in a Django project):

* ``FANOUT_LAYER=memory`` (default): ``trane.InMemoryChannelLayer``;
* ``FANOUT_LAYER=redis``: ``channels_redis.core.RedisChannelLayer``;
* ``FANOUT_LAYER=pubsub``: ``channels_redis.pubsub.RedisPubSubChannelLayer``;

with ``FANOUT_REDIS_URL`` and ``FANOUT_PREFIX`` (keeps one framework's keys
apart from the other's on one Redis).

Channels' consumers ``await aclose_old_connections()`` (a thread hop that
closes stale Django database connections) before every handler; it is a
no-op here, so the two connection loops are compared, not Django.

    uvicorn benchmarks.apps.fanout:trane_app --interface asgi2
    uvicorn benchmarks.apps.fanout:channels_app
"""

from __future__ import annotations

import os
from typing import Any

import benchmarks.apps  # noqa: F401  (puts src/ on sys.path if needed)
import trane
from benchmarks.apps import Receive, Send, lifespan

GROUP = "fan"
LAYERS = {
    "memory": "trane.layers.InMemoryChannelLayer",
    "redis": "channels_redis.core.RedisChannelLayer",
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
}


def channel_layers() -> dict[str, Any]:
    """The ``CHANNEL_LAYERS`` setting for this process's environment."""
    kind = os.environ.get("FANOUT_LAYER", "memory")
    config: dict[str, Any] = {}
    if kind != "memory":
        url = os.environ.get("FANOUT_REDIS_URL", "redis://127.0.0.1:6379")
        config = {"hosts": [url], "prefix": os.environ.get("FANOUT_PREFIX", "asgi")}
    return {"default": {"BACKEND": LAYERS[kind], "CONFIG": config}}


def _configure() -> None:
    from django.conf import settings

    if not settings.configured:
        settings.configure(CHANNEL_LAYERS=channel_layers())
    import channels.consumer
    import channels.generic.websocket

    async def no_database_hop() -> None:
        return None

    channels.consumer.aclose_old_connections = no_database_hop
    channels.generic.websocket.aclose_old_connections = no_database_hop


_configure()

from channels.generic.websocket import (  # noqa: E402
    AsyncJsonWebsocketConsumer,
    AsyncWebsocketConsumer,
)
from channels.layers import get_channel_layer  # noqa: E402


def event(seq: int, text: str) -> dict[str, Any]:
    return {"type": "fan.message", "seq": seq, "text": text}


def parse_order(text: str) -> tuple[int, str]:
    """``"200 tag"`` -> ``(200, "tag")``."""
    count, _, tag = text.partition(" ")
    return int(count), tag


# -- trane ------------------------------------------------------------------


class TraneMember(trane.WebSocketApplication):
    groups = [GROUP]

    async def fan_message(self, event: dict[str, Any]) -> None:
        await self.send_json({"seq": event["seq"], "text": event["text"]})


class TranePublisher(trane.WebSocketApplication):
    async def receive_text(self, text: str) -> None:
        count, tag = parse_order(text)
        for seq in range(count):
            await self.group_send(GROUP, event(seq, tag))
        await self.send_text(f"sent {count}")


trane_app = trane.Router(
    [trane.WebSocketRoute("/fan", TraneMember), trane.WebSocketRoute("/pub", TranePublisher)]
)


# -- Channels ---------------------------------------------------------------


class ChannelsMember(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    groups = [GROUP]

    async def fan_message(self, event: dict[str, Any]) -> None:
        await self.send_json({"seq": event["seq"], "text": event["text"]})


class ChannelsPublisher(AsyncWebsocketConsumer):  # type: ignore[misc]
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        count, tag = parse_order(text_data or "")
        for seq in range(count):
            await self.channel_layer.group_send(GROUP, event(seq, tag))
        await self.send(text_data=f"sent {count}")


_member = ChannelsMember.as_asgi()
_publisher = ChannelsPublisher.as_asgi()


async def channels_app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
    elif scope["path"] == "/fan":
        await _member(scope, receive, send)
    else:
        await _publisher(scope, receive, send)


def layer() -> Any:
    """The one layer both apps use in this process."""
    return get_channel_layer()
