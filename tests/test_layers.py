"""InMemoryChannelLayer: the Channels layer API, bounded, and where views find a layer."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import pytest

import trane
from trane import layers
from trane.layers import ChannelFull, InMemoryChannelLayer, get_channel_layer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(layers, "_now", fake)
    return fake


async def test_layer_send_then_receive() -> None:
    layer = InMemoryChannelLayer()
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "hello", "n": 1})
    assert await layer.receive(channel) == {"type": "hello", "n": 1}
    assert layer._channels == {}  # drained: nothing kept


async def test_layer_receive_waits_for_send() -> None:
    layer = InMemoryChannelLayer()
    waiting = asyncio.ensure_future(layer.receive("work"))
    await asyncio.sleep(0)
    await layer.send("work", {"type": "job"})
    assert await asyncio.wait_for(waiting, 1) == {"type": "job"}
    assert layer._channels == {}


async def test_layer_new_channel_names_are_unique_and_valid() -> None:
    layer = InMemoryChannelLayer()
    names = {await layer.new_channel() for _ in range(100)}
    assert len(names) == 100
    for name in names:
        assert name.startswith("specific.")
        assert "!" in name
        await layer.send(name, {"type": "x"})  # accepted by the validator
    other = InMemoryChannelLayer()
    assert names.isdisjoint({await other.new_channel() for _ in range(100)})


@pytest.mark.parametrize("name", ["", "a b", "é", "x" * 100, 7, "a/b"])
async def test_layer_rejects_invalid_names(name: Any) -> None:
    layer = InMemoryChannelLayer()
    with pytest.raises(TypeError, match="name must be"):
        await layer.send(name, {"type": "x"})
    with pytest.raises(TypeError, match="name must be"):
        await layer.group_add(name, "channel")
    with pytest.raises(TypeError, match="name must be"):
        await layer.group_send(name, {"type": "x"})


@pytest.mark.parametrize("message", [{"no": "type"}, {"type": 1}, ["type"], None])
async def test_layer_rejects_messages_without_type(message: Any) -> None:
    layer = InMemoryChannelLayer()
    with pytest.raises(TypeError, match="str 'type'"):
        await layer.send("c", message)
    with pytest.raises(TypeError, match="str 'type'"):
        await layer.group_send("g", message)


async def test_layer_messages_are_copied_like_msgpack() -> None:
    layer = InMemoryChannelLayer()
    inner = {"list": [1, 2]}
    message = {"type": "x", "inner": inner, "pair": (1, "a"), "raw": b"\x00"}
    await layer.send("c", message)
    inner["list"].append(3)
    assert await layer.receive("c") == {
        "type": "x",
        "inner": {"list": [1, 2]},
        "pair": [1, "a"],  # a tuple comes back a list, as from Redis
        "raw": b"\x00",
    }
    with pytest.raises(TypeError, match="not set"):
        await layer.send("c", {"type": "x", "bad": {1, 2}})


async def test_layer_capacity_raises_channel_full() -> None:
    layer = InMemoryChannelLayer(capacity=2)
    await layer.send("c", {"type": "1"})
    await layer.send("c", {"type": "2"})
    with pytest.raises(ChannelFull, match="channel 'c' is full"):
        await layer.send("c", {"type": "3"})
    assert (await layer.receive("c"))["type"] == "1"
    await layer.send("c", {"type": "3"})


async def test_layer_expiry_drops_messages_and_dead_members(clock: Clock) -> None:
    layer = InMemoryChannelLayer(expiry=10, capacity=5)
    await layer.group_add("g", "dead")
    await layer.group_add("g", "alive")
    for _ in range(5):
        await layer.group_send("g", {"type": "x"})
    for _ in range(5):
        assert await layer.receive("alive") == {"type": "x"}
    with pytest.raises(ChannelFull):
        await layer.send("dead", {"type": "x"})
    clock.now += 11
    # Nobody read "dead" for longer than the expiry: its messages go, and so
    # does its group membership.
    await layer.group_send("g", {"type": "y"})
    assert set(layer._groups["g"]) == {"alive"}
    assert await layer.receive("alive") == {"type": "y"}
    assert "dead" not in layer._channels


async def test_layer_memory_stays_bounded(clock: Clock) -> None:
    layer = InMemoryChannelLayer(expiry=5, capacity=10)
    for i in range(1000):
        for _ in range(10):
            await layer.send(f"gone-{i}", {"type": "x"})
        clock.now += 0.1
    # Only the channels of the last ~5 seconds still hold messages.
    assert len(layer._channels) <= 60
    assert len(layer._backlog) <= 60
    clock.now += 10
    await layer.send("trigger", {"type": "x"})
    assert set(layer._channels) == {"trigger"}


async def test_layer_groups() -> None:
    layer = InMemoryChannelLayer()
    a, b = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("room", a)
    await layer.group_add("room", b)
    await layer.group_add("room", b)  # twice is once
    await layer.group_send("room", {"type": "hi"})
    assert await layer.receive(a) == {"type": "hi"}
    assert await layer.receive(b) == {"type": "hi"}
    await layer.group_discard("room", a)
    await layer.group_discard("room", a)  # leaving twice is fine
    await layer.group_send("room", {"type": "again"})
    assert await layer.receive(b) == {"type": "again"}
    assert a not in layer._channels
    await layer.group_discard("room", b)
    assert layer._groups == {}
    assert layer._memberships == {}
    await layer.group_send("room", {"type": "nobody"})  # an empty group is fine


async def test_layer_group_members_get_their_own_copy() -> None:
    layer = InMemoryChannelLayer()
    await layer.group_add("g", "a")
    await layer.group_add("g", "b")
    await layer.group_send("g", {"type": "x", "items": []})
    first = await layer.receive("a")
    first["items"].append("mutated")
    assert await layer.receive("b") == {"type": "x", "items": []}


async def test_layer_group_send_skips_full_members() -> None:
    layer = InMemoryChannelLayer(capacity=1)
    await layer.group_add("g", "slow")
    await layer.group_add("g", "fast")
    await layer.group_send("g", {"type": "1"})
    assert await layer.receive("fast") == {"type": "1"}
    await layer.group_send("g", {"type": "2"})  # "slow" is full: it misses this one
    assert await layer.receive("fast") == {"type": "2"}
    assert await layer.receive("slow") == {"type": "1"}


async def test_layer_group_membership_expires(clock: Clock) -> None:
    layer = InMemoryChannelLayer(group_expiry=100)
    await layer.group_add("g", "old")
    clock.now += 50
    await layer.group_add("g", "new")
    clock.now += 60
    await layer.group_send("g", {"type": "x"})
    assert set(layer._groups["g"]) == {"new"}
    assert "old" not in layer._channels


async def test_layer_cancelled_receive_keeps_a_delivered_message() -> None:
    layer = InMemoryChannelLayer()
    waiting = asyncio.ensure_future(layer.receive("c"))
    await asyncio.sleep(0)
    await layer.send("c", {"type": "precious"})  # delivered to the waiter...
    waiting.cancel()  # ...which is cancelled before it could run
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert await layer.receive("c") == {"type": "precious"}


async def test_layer_cancelled_receive_leaves_nothing_behind() -> None:
    layer = InMemoryChannelLayer()
    waiting = asyncio.ensure_future(layer.receive("c"))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert layer._channels == {}


def test_layer_works_across_event_loops() -> None:
    layer = InMemoryChannelLayer()
    left: list[asyncio.Future[Any]] = []

    async def abandoned() -> None:
        # A receiver left waiting when its loop ends must not break the next loop.
        left.append(asyncio.ensure_future(layer.receive("c")))
        await asyncio.sleep(0)

    async def round_trip() -> Any:
        await layer.send("c", {"type": "x"})
        return await asyncio.wait_for(layer.receive("c"), 1)

    asyncio.run(abandoned())
    assert asyncio.run(round_trip()) == {"type": "x"}
    assert asyncio.run(round_trip()) == {"type": "x"}


async def test_layer_flush() -> None:
    layer = InMemoryChannelLayer()
    await layer.send("c", {"type": "x"})
    await layer.group_add("g", "c")
    await layer.flush()
    assert layer._channels == {}
    assert layer._groups == {}
    await layer.close()
    assert "groups" in layer.extensions
    assert "flush" in layer.extensions


def test_layer_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="capacity"):
        InMemoryChannelLayer(capacity=0)


def test_layer_repr() -> None:
    assert repr(InMemoryChannelLayer()).startswith("InMemoryChannelLayer(channels=0")


# -- which layer a connection gets ------------------------------------------


def test_get_channel_layer_prefers_the_scope() -> None:
    own = InMemoryChannelLayer()
    assert get_channel_layer({"trane.channel_layer": own}) is own


def test_get_channel_layer_defaults_to_one_in_memory_layer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Without Channels loaded, trane does not go looking for Django settings.
    monkeypatch.delitem(sys.modules, "channels", raising=False)
    default = get_channel_layer({})
    assert isinstance(default, InMemoryChannelLayer)
    assert get_channel_layer(None) is default is layers.default_channel_layer()


def test_get_channel_layer_asks_channels_when_it_is_loaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configured = InMemoryChannelLayer()
    monkeypatch.setitem(sys.modules, "channels", sys)  # any module: "it is imported"
    monkeypatch.setattr(layers, "_channels_layer", lambda: configured)
    assert get_channel_layer({}) is configured
    monkeypatch.setattr(layers, "_channels_layer", lambda: None)  # no CHANNEL_LAYERS
    assert get_channel_layer({}) is layers.default_channel_layer()


async def test_router_puts_its_layer_in_the_scope(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "channels", raising=False)
    own = InMemoryChannelLayer()
    seen: list[Any] = []

    class View(trane.Application):
        async def get(self) -> str:
            seen.append(get_channel_layer(self.scope))
            return "ok"

    from asgi import request

    result = await request(trane.Router([trane.Route("/", View)], channel_layer=own), "GET", "/")
    assert result.status == 200
    assert seen == [own]
    await request(trane.Router([trane.Route("/", View)]), "GET", "/")
    assert seen[1] is layers.default_channel_layer()
