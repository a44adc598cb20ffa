"""InMemoryChannelLayer: the Channels layer API, bounded, and where views find a layer."""

from __future__ import annotations

import asyncio
import sys
import types
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
def clock() -> Clock:
    return Clock()


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
    layer = InMemoryChannelLayer(clock=clock, expiry=10, capacity=5)
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
    layer = InMemoryChannelLayer(clock=clock, expiry=5, capacity=10)
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
    layer = InMemoryChannelLayer(clock=clock, group_expiry=100)
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


# -- after expiry, and under bursts ----------------------------------------


async def test_layer_send_to_a_channel_full_of_expired_messages_is_kept(clock: Clock) -> None:
    layer = InMemoryChannelLayer(clock=clock, expiry=10, capacity=2)
    await layer.send("c", {"type": "old.1"})
    await layer.send("c", {"type": "old.2"})
    clock.now += 11
    await layer.send("c", {"type": "new"})  # accepted: the old ones expired...
    assert await asyncio.wait_for(layer.receive("c"), 1) == {"type": "new"}  # ...and kept


async def test_layer_receiver_hears_its_channel_after_its_messages_expired(clock: Clock) -> None:
    # A WebSocket whose handler ran past `expiry` reads its channel again.
    layer = InMemoryChannelLayer(clock=clock, expiry=10)
    await layer.send("c", {"type": "old"})
    clock.now += 11
    waiting = asyncio.ensure_future(layer.receive("c"))
    await asyncio.sleep(0)
    await layer.send("c", {"type": "direct"})
    assert await asyncio.wait_for(waiting, 1) == {"type": "direct"}
    assert layer._channels == {}


async def test_layer_sweeps_dead_channels_under_traffic_to_waiting_receivers(
    clock: Clock,
) -> None:
    layer = InMemoryChannelLayer(clock=clock, expiry=60, capacity=10)
    for i in range(50):
        for n in range(10):
            await layer.send(f"dead.{i}", {"type": "x", "n": n})
    clock.now += 3600
    # Steady traffic that never queues: every message goes to a waiting receiver.
    for _ in range(3):
        waiting = asyncio.ensure_future(layer.receive("live"))
        await asyncio.sleep(0)
        await layer.send("live", {"type": "y"})
        assert await waiting == {"type": "y"}
        clock.now += 1
    assert layer._channels == {}
    assert layer._backlog == set()


async def test_layer_group_add_after_expiry_stands(clock: Clock) -> None:
    layer = InMemoryChannelLayer(clock=clock, expiry=10)
    await layer.group_add("old", "c")
    await layer.send("c", {"type": "unread"})
    clock.now += 11
    await layer.group_add("new", "c")  # "c" left "old" when its message expired
    await layer.group_send("new", {"type": "a"})
    await layer.group_send("old", {"type": "b"})
    assert await asyncio.wait_for(layer.receive("c"), 1) == {"type": "a"}
    assert set(layer._groups) == {"new"}


async def test_layer_lapsed_memberships_are_swept(clock: Clock) -> None:
    layer = InMemoryChannelLayer(clock=clock, group_expiry=100)
    for i in range(20):
        await layer.group_add(f"quiet.{i}", "c")  # groups nobody sends to
    clock.now += 101
    await layer.group_add("fresh", "c")
    assert set(layer._groups) == {"fresh"}
    assert layer._memberships == {"c": {"fresh"}}


async def test_layer_group_send_burst_reaches_members_that_keep_up() -> None:
    layer = InMemoryChannelLayer()  # capacity 100, burst of 200
    got: dict[str, list[int]] = {name: [] for name in ("a", "b", "c")}

    async def member(name: str) -> None:
        await layer.group_add("g", name)
        while True:
            got[name].append((await layer.receive(name))["n"])

    members = [asyncio.ensure_future(member(name)) for name in got]
    await asyncio.sleep(0)
    for n in range(200):
        await layer.group_send("g", {"type": "event", "n": n})
    await asyncio.sleep(0)
    for task in members:
        task.cancel()
    await asyncio.gather(*members, return_exceptions=True)
    assert got == {name: list(range(200)) for name in got}
    assert layer.dropped == 0


async def test_layer_group_send_yields_once_a_member_has_a_batch_waiting() -> None:
    layer = InMemoryChannelLayer()
    await layer.group_add("g", "slow")
    yielded = []
    for n in range(40):
        ran: list[int] = []
        asyncio.get_running_loop().call_soon(ran.append, n)
        await layer.group_send("g", {"type": "event", "n": n})
        yielded += ran  # the loop had a turn during this group_send
    assert yielded == list(range(31, 40))  # from the 32nd message waiting on
    assert [(await layer.receive("slow"))["n"] for _ in range(40)] == list(range(40))


async def test_layer_group_send_loss_to_a_member_that_never_reads_is_visible(
    caplog: pytest.LogCaptureFixture,
) -> None:
    layer = InMemoryChannelLayer(capacity=100)
    await layer.group_add("g", "stuck")
    with caplog.at_level("WARNING", logger="trane"):
        for n in range(200):
            await layer.group_send("g", {"type": "event", "n": n})
    assert layer.dropped == 100
    assert [r.getMessage() for r in caplog.records if "stuck" in r.getMessage()] == [
        "channel 'stuck' is 100 messages behind: group messages to it are dropped "
        "until it catches up"
    ]
    assert [(await layer.receive("stuck"))["n"] for _ in range(100)] == list(range(100))


async def test_layer_expiry_is_exact_between_sweeps(clock: Clock) -> None:
    # Sweeps run at most once a second; what a caller sees does not wait for them.
    layer = InMemoryChannelLayer(clock=clock, expiry=10)
    await layer.group_add("g", "a")
    await layer.group_add("g", "b")
    await layer.send("a", {"type": "first"})  # at 1000
    clock.now += 5
    await layer.send("a", {"type": "second"})  # at 1005
    await layer.send("b", {"type": "unread"})
    clock.now += 4.9
    await layer.group_add("h", "a")  # a sweep runs; nothing has expired yet
    clock.now += 0.2  # "first" expires; no sweep is due
    await layer.group_add("h", "a")  # so "a" leaves "g" and "h", then joins "h" again
    await layer.group_send("g", {"type": "g"})
    assert await layer.receive("a") == {"type": "second"}
    clock.now = 1014.95
    await layer.group_discard("nothing", "x")  # a sweep runs; nothing has expired
    clock.now = 1015.2  # "unread" expires; no sweep is due
    await layer.group_send("g", {"type": "late"})  # "b" leaves "g" first: nobody gets it
    assert set(layer._groups) == {"h"}
    assert await layer.receive("b") == {"type": "g"}
    assert layer.expired == 2
    clock.now += 20
    await layer.group_send("h", {"type": "h"})
    assert await layer.receive("a") == {"type": "h"}
    assert layer._channels == {}


async def test_layer_group_send_stops_waiting_for_a_member_that_left() -> None:
    layer = InMemoryChannelLayer(capacity=1)
    await layer.group_add("g", "full")
    await layer.group_send("g", {"type": "1"})
    sending = asyncio.ensure_future(layer.group_send("g", {"type": "2"}))
    await asyncio.sleep(0)
    await asyncio.sleep(0)  # group_send is waiting for room on "full"...
    await layer.group_discard("g", "full")  # ...which leaves the group
    await sending
    assert layer.dropped == 0
    assert await layer.receive("full") == {"type": "1"}
    assert layer._channels == {}


@pytest.mark.parametrize("group", [False, True], ids=["send", "group_send"])
async def test_layer_send_skips_a_cancelled_waiter(group: bool) -> None:
    layer = InMemoryChannelLayer()
    await layer.group_add("g", "c")
    waiting = asyncio.ensure_future(layer.receive("c"))
    await asyncio.sleep(0)
    waiting.cancel()  # its finally has not run yet when the message comes
    if group:
        await layer.group_send("g", {"type": "x"})
    else:
        await layer.send("c", {"type": "x"})
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert await layer.receive("c") == {"type": "x"}


async def test_layer_cancelled_receive_hands_its_message_to_the_next_waiter() -> None:
    layer = InMemoryChannelLayer()
    first = asyncio.ensure_future(layer.receive("c"))
    second = asyncio.ensure_future(layer.receive("c"))
    await asyncio.sleep(0)
    await layer.send("c", {"type": "precious"})  # handed to the first...
    first.cancel()  # ...cancelled before it ran
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await asyncio.wait_for(second, 1) == {"type": "precious"}


async def test_layer_cancelled_receive_puts_its_message_first_in_line() -> None:
    layer = InMemoryChannelLayer()
    waiting = asyncio.ensure_future(layer.receive("c"))
    await asyncio.sleep(0)
    await layer.send("c", {"type": "1"})
    waiting.cancel()
    layer._channels["c"].messages.append((layer._clock() + 60, {"type": "2"}))
    layer._backlog.add("c")
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert [(await layer.receive("c"))["type"] for _ in range(2)] == ["1", "2"]


def test_layer_skips_a_waiter_of_a_closed_loop() -> None:
    layer = InMemoryChannelLayer()
    loop = asyncio.new_event_loop()
    left: list[asyncio.Future[Any]] = []

    async def wait() -> None:
        left.append(asyncio.ensure_future(layer.receive("c")))
        await asyncio.sleep(0)

    loop.run_until_complete(wait())
    loop.close()  # closed with its receiver still waiting

    async def round_trip() -> Any:
        await layer.send("c", {"type": "x"})
        return await layer.receive("c")

    assert asyncio.run(round_trip()) == {"type": "x"}


async def test_layer_group_members_get_their_own_copy_of_a_flat_message() -> None:
    layer = InMemoryChannelLayer()
    await layer.group_add("g", "a")
    await layer.group_add("g", "b")
    await layer.group_send("g", {"type": "x", "n": 1})
    first = await layer.receive("a")
    first["n"] = 2
    assert await layer.receive("b") == {"type": "x", "n": 1}


# -- receive_ready() and notify(): how a WebSocket loop reads its channel -----


async def test_layer_receive_ready_takes_what_is_queued_without_waiting() -> None:
    layer = InMemoryChannelLayer()
    assert layer.receive_ready("c", 10) == []  # an unknown channel: nothing
    for n in range(3):
        await layer.send("c", {"type": "x", "n": n})
    assert [m["n"] for m in layer.receive_ready("c", 2)] == [0, 1]
    assert [m["n"] for m in layer.receive_ready("c", 2)] == [2]
    assert layer._channels == {}  # drained and not watched: forgotten
    assert layer._backlog == set()
    with pytest.raises(TypeError, match="channel name"):
        layer.receive_ready("bad name", 1)


async def test_layer_receive_ready_drops_expired_messages(clock: Clock) -> None:
    layer = InMemoryChannelLayer(expiry=10, clock=clock)
    await layer.send("c", {"type": "old"})
    clock.now += 9.5
    assert layer.receive_ready("other", 10) == []  # the sweep runs, "old" is not due yet
    clock.now += 0.7  # due now, and the next sweep is not
    assert layer.receive_ready("c", 10) == []
    assert layer.expired == 1


async def test_layer_notify_hands_the_next_message_to_the_watcher() -> None:
    layer = InMemoryChannelLayer()
    watcher: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    layer.notify("c", watcher)
    assert set(layer._channels) == {"c"}  # watched: known
    await layer.send("c", {"type": "x"})
    assert watcher.result() == {"type": "x"}
    assert layer.receive_ready("c", 10) == []  # handed, not queued
    await layer.send("c", {"type": "y"})  # the watcher is done: this one queues
    assert set(layer._channels) == {"c"}
    layer.notify("c", None)  # stop: a channel with messages stays
    assert layer.receive_ready("c", 10) == [{"type": "y"}]
    assert layer._channels == {}
    layer.notify("c", None)  # stopping an unknown channel does nothing
    assert layer._channels == {}


async def test_layer_notify_wakes_at_once_when_messages_wait() -> None:
    layer = InMemoryChannelLayer()
    await layer.send("c", {"type": "x"})
    watcher: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    layer.notify("c", watcher)
    assert watcher.done()
    assert watcher.result() is None  # woken: take them with receive_ready()
    assert layer.receive_ready("c", 10) == [{"type": "x"}]
    layer.notify("c", None)
    assert layer._channels == {}
    with pytest.raises(TypeError, match="channel name"):
        layer.notify("bad name", watcher)


async def test_layer_notify_lets_a_waiting_receive_go_first() -> None:
    layer = InMemoryChannelLayer()
    receiving = asyncio.ensure_future(layer.receive("c"))
    await asyncio.sleep(0)
    watcher: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    layer.notify("c", watcher)
    await layer.send("c", {"type": "first"})
    await layer.send("c", {"type": "second"})
    assert await receiving == {"type": "first"}
    assert watcher.result() == {"type": "second"}


async def test_layer_notify_a_new_watcher_replaces_the_last() -> None:
    layer = InMemoryChannelLayer()
    loop = asyncio.get_running_loop()
    old: asyncio.Future[Any] = loop.create_future()
    new: asyncio.Future[Any] = loop.create_future()
    layer.notify("c", old)
    layer.notify("c", new)
    await layer.send("c", {"type": "x"})
    assert not old.done()
    assert new.result() == {"type": "x"}


async def test_layer_flush_keeps_watched_channels() -> None:
    layer = InMemoryChannelLayer()
    watcher: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    layer.notify("c", watcher)
    await layer.flush()
    await layer.send("c", {"type": "after the flush"})
    assert watcher.result() == {"type": "after the flush"}


def test_layer_queues_for_a_watcher_of_a_closed_loop() -> None:
    layer = InMemoryChannelLayer()
    loop = asyncio.new_event_loop()
    left: list[asyncio.Future[None]] = []

    async def watch() -> None:
        watcher: asyncio.Future[Any] = loop.create_future()
        layer.notify("c", watcher)
        left.append(asyncio.ensure_future(wait(watcher)))  # as a WebSocket loop would
        await asyncio.sleep(0)

    async def wait(watcher: asyncio.Future[Any]) -> None:
        await watcher

    loop.run_until_complete(watch())
    loop.close()  # closed with its watcher still waiting

    async def round_trip() -> Any:
        await layer.send("c", {"type": "x"})
        return layer.receive_ready("c", 10)

    assert asyncio.run(round_trip()) == [{"type": "x"}]
    assert layer._channels == {}  # the dead watcher was let go


def test_channels_layer_is_the_one_django_settings_configure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import channels.layers
    import django.conf

    configured = InMemoryChannelLayer()
    monkeypatch.setattr(channels.layers, "get_channel_layer", lambda: configured)
    monkeypatch.setattr(django.conf, "settings", types.SimpleNamespace(configured=False))
    assert layers._channels_layer() is None  # Django not set up
    monkeypatch.setattr(django.conf, "settings", types.SimpleNamespace(configured=True))
    assert layers._channels_layer() is None  # set up, but no CHANNEL_LAYERS
    monkeypatch.setattr(
        django.conf,
        "settings",
        types.SimpleNamespace(configured=True, CHANNEL_LAYERS={"default": {}}),
    )
    assert layers._channels_layer() is configured
