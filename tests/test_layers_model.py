"""Channel layers against a reference model (hypothesis stateful testing).

``LayerMachine`` drives a layer with random ``send``, ``receive``,
``group_add``, ``group_discard``, ``group_send`` and, where the clock can be
moved, time passing ``expiry`` and ``group_expiry``, and checks every answer
against ``Model``: a few dicts and deques that say what the Channels layer
API promises. The same machine runs against trane's ``InMemoryChannelLayer``,
Channels' ``channels.layers.InMemoryChannelLayer`` and (tests/test_redis.py)
``channels_redis`` on a real Redis.

What the model says
-------------------
* A channel holds at most ``CAPACITY`` messages; ``send`` past that raises
  the layer's ``ChannelFull``, ``group_send`` skips that member.
* A waiting receiver is handed the next message at once; else messages are
  received in the order they were sent.
* A message older than ``expiry`` is gone, and its channel leaves every group
  at that moment (a ``group_add`` after it stands); a membership older than
  ``group_expiry`` lapses.

Where the engines differ, and what each run leaves out
------------------------------------------------------
* Redis keeps its own time: no clock can be injected, so its run never moves
  time (expiry 60 s is never reached) and checks the rest.
* Channels' in-memory layer applies expiry only inside ``receive`` and
  ``group_send`` (a ``send`` to a channel full of expired messages raises
  ``ChannelFull``; a channel that joins a group after its messages expired
  leaves it again later), and compares ``int(time.time())`` for group expiry.
  So its run moves the clock in whole seconds and, right after, calls
  ``group_send`` to an empty group, which is a no-op for the model and makes
  Channels clean up. trane's run does neither: it moves the clock by
  fractions of a second too, so expiry happens between its once-a-second
  sweeps and must still be exact.
* Expiry times are not whole numbers, so no message expires at exactly the
  moment it is looked at (the engines disagree on ``<`` and ``<=``).
* Only trane's run also checks what the layer holds in memory: nothing but
  live channels and memberships, plus what expired since its last sweep.
"""

from __future__ import annotations

import asyncio
import types
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, ClassVar

import channels.exceptions
import channels.layers
import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from trane.layers import ChannelFull, InMemoryChannelLayer

CHANNELS = ("ch.a", "ch.b", "ch.c")
GROUPS = ("g.x", "g.y")
CAPACITY = 3
START = 1000.0


class Model:
    """What a layer should do, as plainly as it can be written."""

    def __init__(self, expiry: float, group_expiry: float) -> None:
        self.expiry = expiry
        self.group_expiry = group_expiry
        self.now = START
        self.queues: dict[str, deque[tuple[int, float]]] = {c: deque() for c in CHANNELS}
        self.groups: dict[str, dict[str, float]] = {g: {} for g in GROUPS}  # -> joined at
        self.waiting: set[str] = set()  # channels with a receiver waiting
        self.dropped = 0

    def deliver(self, channel: str, n: int) -> str:
        """``"handed"`` to the waiting receiver, ``"queued"`` or ``"full"``."""
        if channel in self.waiting:
            self.waiting.discard(channel)
            return "handed"
        queue = self.queues[channel]
        if len(queue) >= CAPACITY:
            return "full"
        queue.append((n, self.now))
        return "queued"

    def members(self, group: str) -> list[str]:
        return list(self.groups[group])

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for channel, queue in self.queues.items():
            expired = False
            while queue and queue[0][1] + self.expiry <= self.now:
                queue.popleft()
                expired = True
            if expired:
                for members in self.groups.values():
                    members.pop(channel, None)
        for members in self.groups.values():
            for channel, joined in list(members.items()):
                if joined < self.now - self.group_expiry:
                    del members[channel]


class Engine:
    """How the machine makes, drives and checks one kind of layer."""

    name: ClassVar[str]
    expiry: ClassVar[float] = 60.0
    group_expiry: ClassVar[float] = 86400.0
    clock_steps: ClassVar[tuple[float, ...]] = ()  # empty: time cannot be moved
    timeout: ClassVar[float] = 1.0  # for an answer the model says is there

    def __init__(self) -> None:
        self.now = START

    def make(self) -> Any:
        raise NotImplementedError

    def is_full(self, exc: BaseException) -> bool:
        return isinstance(exc, channels.exceptions.ChannelFull)

    async def after_advance(self, layer: Any) -> None:
        """Called once the clock moved."""

    async def settle(self, layer: Any, waiting: int) -> None:
        """Return once the ``waiting`` receivers wait inside the layer."""
        for _ in range(3):
            await asyncio.sleep(0)

    async def close(self, layer: Any) -> None:
        await layer.flush()

    def check(self, layer: Any, model: Model) -> None:
        """Engine-specific invariants."""


class TraneEngine(Engine):
    name = "trane"
    expiry = 10.3
    group_expiry = 30.3
    clock_steps = (0.25, 0.5, 1.0, 3.0, 7.0, 12.0)

    def make(self) -> InMemoryChannelLayer:
        return InMemoryChannelLayer(
            expiry=self.expiry,
            group_expiry=self.group_expiry,
            capacity=CAPACITY,
            clock=lambda: self.now,
        )

    def is_full(self, exc: BaseException) -> bool:
        return isinstance(exc, ChannelFull)

    def check(self, layer: InMemoryChannelLayer, model: Model) -> None:
        assert layer.dropped == model.dropped
        now = model.now
        swept = layer._next_sweep - 1.0  # when the last sweep ran
        stale = set()
        for channel in CHANNELS:
            entry = layer._channels.get(channel)
            if entry is None:
                assert not model.queues[channel]
                assert channel not in model.waiting
                continue
            # Messages not yet expired are the model's; expired ones are kept
            # only until the next sweep; and no empty state is kept.
            assert [m["n"] for at, m in entry.messages if at > now] == [
                n for n, _ in model.queues[channel]
            ]
            expired = [at for at, _ in entry.messages if at <= now]
            assert all(at > swept for at in expired), channel
            if expired:
                stale.add(channel)
            assert bool(entry.waiters) == (channel in model.waiting)
            assert entry.messages or entry.waiters
        assert set(layer._channels) <= set(CHANNELS)
        held = {(g, c) for g, members in layer._groups.items() for c in members}
        assert held == set(layer._joined)
        expected = {(g, c) for g, members in model.groups.items() for c in members}
        assert expected <= held
        for group, channel in held - expected:  # expired or lapsed since the sweep
            joined = layer._joined[group, channel]
            assert channel in stale or swept - model.group_expiry <= joined, (group, channel)


class ChannelsEngine(Engine):
    name = "channels"
    expiry = 10.3
    group_expiry = 30.3
    clock_steps = (1.0, 1.0, 2.0, 3.0, 7.0, 12.0)  # whole seconds: int(time.time())

    def make(self) -> Any:
        # NOTE: Channels reads time.time() through its module's `time`.
        self._real_time = channels.layers.time
        channels.layers.time = types.SimpleNamespace(time=lambda: self.now)
        return channels.layers.InMemoryChannelLayer(
            expiry=self.expiry, group_expiry=self.group_expiry, capacity=CAPACITY
        )

    async def after_advance(self, layer: Any) -> None:
        await layer.group_send("tick", {"type": "tick"})  # makes Channels clean up

    async def close(self, layer: Any) -> None:
        try:
            await layer.flush()
        finally:
            channels.layers.time = self._real_time


class LayerMachine(RuleBasedStateMachine):
    """Random layer operations, each answer checked against the model."""

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        self.model = Model(engine.expiry, engine.group_expiry)
        self.loop = asyncio.new_event_loop()
        self.layer = engine.make()
        self.receivers: dict[str, asyncio.Future[Any]] = {}
        self.counter = 0

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return self.loop.run_until_complete(coroutine)

    def next_message(self) -> tuple[int, dict[str, Any]]:
        self.counter += 1
        return self.counter, {"type": "m", "n": self.counter}

    async def answer(self, receiver: asyncio.Future[Any], n: int) -> None:
        message = await asyncio.wait_for(receiver, self.engine.timeout)
        assert message == {"type": "m", "n": n}

    async def _send(self, channel: str, n: int, message: dict[str, Any], outcome: str) -> None:
        refused: Exception | None = None
        try:
            await self.layer.send(channel, message)
        except Exception as exc:
            refused = exc
        assert (refused is not None) == (outcome == "full"), (channel, outcome, refused)
        if refused is not None:
            assert self.engine.is_full(refused), refused
        if outcome == "handed":
            await self.answer(self.receivers.pop(channel), n)
        await self.engine.settle(self.layer, len(self.receivers))

    @rule(channel=st.sampled_from(CHANNELS))
    def send(self, channel: str) -> None:
        n, message = self.next_message()
        self.run(self._send(channel, n, message, self.model.deliver(channel, n)))

    async def _receive(self, channel: str) -> None:
        queue = self.model.queues[channel]
        if queue:
            n, _ = queue.popleft()
            await self.answer(asyncio.ensure_future(self.layer.receive(channel)), n)
        else:  # nothing there: the receiver waits for the next message
            self.model.waiting.add(channel)
            self.receivers[channel] = asyncio.ensure_future(self.layer.receive(channel))
            await self.engine.settle(self.layer, len(self.receivers))

    @precondition(lambda self: len(self.receivers) < len(CHANNELS))
    @rule(data=st.data())
    def receive(self, data: st.DataObject) -> None:
        free = [c for c in CHANNELS if c not in self.receivers]
        self.run(self._receive(data.draw(st.sampled_from(free), label="channel")))

    @rule(group=st.sampled_from(GROUPS), channel=st.sampled_from(CHANNELS))
    def group_add(self, group: str, channel: str) -> None:
        self.model.groups[group][channel] = self.model.now
        self.run(self.layer.group_add(group, channel))

    @rule(group=st.sampled_from(GROUPS), channel=st.sampled_from(CHANNELS))
    def group_discard(self, group: str, channel: str) -> None:
        self.model.groups[group].pop(channel, None)
        self.run(self.layer.group_discard(group, channel))

    async def _group_send(self, group: str, n: int, message: dict[str, Any]) -> None:
        handed = []
        for channel in self.model.members(group):
            outcome = self.model.deliver(channel, n)
            if outcome == "handed":
                handed.append(self.receivers.pop(channel))
            elif outcome == "full":
                self.model.dropped += 1
        await self.layer.group_send(group, message)
        for receiver in handed:
            await self.answer(receiver, n)
        await self.engine.settle(self.layer, len(self.receivers))

    @rule(group=st.sampled_from(GROUPS))
    def group_send(self, group: str) -> None:
        n, message = self.next_message()
        self.run(self._group_send(group, n, message))

    @precondition(lambda self: bool(self.engine.clock_steps))
    @rule(step=st.integers(0, 5))
    def advance(self, step: int) -> None:
        seconds = self.engine.clock_steps[step]
        self.model.advance(seconds)
        self.engine.now += seconds
        self.run(self.engine.after_advance(self.layer))

    @invariant()
    def engine_state(self) -> None:
        self.engine.check(self.layer, self.model)

    async def _last_answers(self) -> None:
        # Each waiting receiver gets the next message, and nothing else before it.
        for channel in list(self.receivers):
            n, message = self.next_message()
            await self.layer.send(channel, message)
            await self.answer(self.receivers.pop(channel), n)

    def teardown(self) -> None:
        try:
            self.run(self._last_answers())
        finally:
            for receiver in self.receivers.values():
                receiver.cancel()
            try:
                self.run(self.engine.close(self.layer))
            finally:
                self.loop.close()


def check_layer(engine: Callable[[], Engine], max_examples: int, steps: int = 30) -> None:
    """Run the machine against ``engine()``: an Engine class or any factory."""

    class Machine(LayerMachine):
        def __init__(self) -> None:
            super().__init__(engine())

    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=max_examples,
            stateful_step_count=steps,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


def test_layer_model_trane_in_memory() -> None:
    check_layer(TraneEngine, max_examples=100)


def test_layer_model_channels_in_memory() -> None:
    check_layer(ChannelsEngine, max_examples=60)
