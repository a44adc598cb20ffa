"""Channel layers: the engine behind ``group_add`` / ``group_send``.

How this works
--------------
trane does not ship a broker; it speaks the *channel layer* API of Django
Channels, so any Channels layer works (``channels_redis`` for many processes)
and a WebSocket view finds its layer the same way whatever it runs under:

1. ``scope["trane.channel_layer"]``, put there by ``Router(channel_layer=...)``;
2. else, when Django Channels is loaded and configured (``CHANNEL_LAYERS``),
   ``channels.layers.get_channel_layer()``;
3. else one process-wide ``InMemoryChannelLayer`` (``default_channel_layer()``).

``InMemoryChannelLayer`` implements that API for one process with no Django:
each channel is a bounded deque of ``(expires_at, message)`` plus the futures
of the coroutines waiting on it; each group is an ordered set of channels,
and one record of memberships in the order they were made (``group_add``
again renews one) lets lapsed ones be dropped from its front.

* One clock (``clock=``, ``time.monotonic`` by default), and every operation
  first brings what it touches up to date. A channel's messages older than
  ``expiry`` are dropped, and the channel leaves every group (nobody read it:
  the connection is gone), before it is sent to, received from, added to a
  group or sent a group message; memberships older than ``group_expiry``
  lapse before a ``group_send``. What a caller sees never depends on when
  the last clean-up ran, and a channel stays usable after its messages
  expired.
* Memory: any operation, at most once a second, also sweeps the channels
  that hold messages and the lapsed memberships, so what dead connections
  left behind is freed under any traffic, without a timer task.
* ``send`` yields to the event loop before it delivers, so a receiver
  reading in a loop drains between the sends of a burst (and a cancelled
  send delivered nothing). ``group_send`` delivers at once and yields after
  delivering once a member has 32 messages waiting (``_BURST``): members take
  a burst in batches, trane's WebSocket loop each batch in one wake-up,
  rather than one loop turn per message, and no member gets further behind
  than that before it gets a turn. A full channel is waited for a few loop
  turns; one still full after that is really behind: ``send`` raises
  ``ChannelFull``, ``group_send`` skips it (like ``channels_redis``), counts
  the loss in ``dropped`` and logs it to the ``trane`` logger once until the
  channel catches up.
* Messages are copied on the way in, and must be made of what
  ``channels_redis`` can carry (dict, list, str, bytes, int, float, bool,
  None): code that works in memory then works on Redis. Each group member
  gets its own copy (``dict.copy()`` for a message of scalars only).
* Beyond the Channels API, for trane's WebSocket loop, which waits for its
  client and its channel at once with no task per message: ``notify(channel,
  future)`` makes ``future`` the channel's watcher, handed the next message
  as its result (after any waiting ``receive()``), or woken with ``None`` at
  once if messages are queued; ``receive_ready(channel, limit)`` takes what is
  queued without waiting. A watched channel is kept until
  ``notify(channel, None)``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import re
import secrets
import sys
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from .exceptions import TraneError
from .types import Scope

logger = logging.getLogger("trane")


class ChannelLayer(Protocol):
    """What trane needs from a layer: the Channels layer API with groups."""

    async def new_channel(self, prefix: str = ...) -> str: ...
    async def send(self, channel: str, message: dict[str, Any]) -> None: ...
    async def receive(self, channel: str) -> dict[str, Any]: ...
    async def group_add(self, group: str, channel: str) -> None: ...
    async def group_discard(self, group: str, channel: str) -> None: ...
    async def group_send(self, group: str, message: dict[str, Any]) -> None: ...


class ChannelFull(TraneError):
    """``send()`` found the channel holding ``capacity`` unread messages."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        super().__init__(channel)

    def __str__(self) -> str:
        return f"channel {self.channel!r} is full"


# The names Channels accepts, so that names valid here are valid on Redis.
_MAX_NAME_LENGTH = 100
_CHANNEL_NAME = re.compile(r"[a-zA-Z\d\-_.]+(![\d\w\-_.]*)?")
_GROUP_NAME = re.compile(r"[a-zA-Z\d\-_.]+")


def _check_name(kind: str, name: object, pattern: re.Pattern[str]) -> None:
    if not (isinstance(name, str) and len(name) < _MAX_NAME_LENGTH and pattern.fullmatch(name)):
        raise TypeError(
            f"{kind} name must be a str shorter than {_MAX_NAME_LENGTH} characters of "
            f"ASCII letters, digits, '-', '_' or '.': {name!r}"
        )


_SCALARS = (str, bytes, int, float, bool, type(None))


def _copy(value: Any) -> Any:
    """Copy a message the way a trip through msgpack would (tuples become lists).

    >>> _copy({"type": "chat.message", "to": ("a", "b")})
    {'type': 'chat.message', 'to': ['a', 'b']}
    >>> _copy({"type": "x", "when": object()})
    Traceback (most recent call last):
    ...
    TypeError: layer messages hold dict, list, str, bytes, int, float, bool, None; not object
    """
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, dict):
        return {k if isinstance(k, _SCALARS) else _copy(k): _copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_copy(v) for v in value]
    raise TypeError(
        "layer messages hold dict, list, str, bytes, int, float, bool, None; "
        f"not {type(value).__name__}"
    )


def _check_message(message: object) -> None:
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise TypeError(f"a channel layer message is a dict with a str 'type': {message!r}")


# NOTE: loop turns a full channel is waited for before it counts as behind. A
# receiver reading in a loop frees a slot within one turn; a trane WebSocket
# under uvicorn needs two (a 200-event burst reached its 3 members 167 times
# each with one turn, 200 with two or more; the sender's own connection,
# busy in its handler, gets 101 either way).
_PATIENCE = 8

# PERF: messages a member may have waiting before group_send yields to the
# loop. Yielding before every delivery woke each member once per message;
# in batches of 32 (the most trane's WebSocket loop takes per wake-up) the
# fan-out server spends 46,562 -> 41,786 instructions per event.
_BURST = 32


class _Channel:
    __slots__ = ("behind", "messages", "waiters", "watcher")

    def __init__(self) -> None:
        self.messages: deque[tuple[float, dict[str, Any]]] = deque()
        self.waiters: deque[asyncio.Future[dict[str, Any]]] = deque()
        self.watcher: asyncio.Future[Any] | None = None  # see notify()
        self.behind = False  # a group message was dropped since it was last empty


class InMemoryChannelLayer:
    """The Channels layer API within one process: no Django, no Redis.

    Safe across event loops (each ``receive`` waits on a future of the running
    loop), so one instance can serve a whole test session. ``dropped`` counts
    the group messages that members too far behind missed, ``expired`` the
    messages that waited past ``expiry``. ``clock`` lets tests move time.
    """

    extensions = ["groups", "flush"]

    def __init__(
        self,
        expiry: float = 60,
        group_expiry: float = 86400,
        capacity: int = 100,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity!r}")
        self.expiry = expiry
        self.group_expiry = group_expiry
        self.capacity = capacity
        self.dropped = 0
        self.expired = 0
        self._clock = clock
        self._channels: dict[str, _Channel] = {}
        self._groups: dict[str, dict[str, None]] = {}  # group -> its channels, in order
        self._memberships: dict[str, set[str]] = {}  # channel -> its groups
        self._joined: OrderedDict[tuple[str, str], float] = OrderedDict()  # oldest first
        self._backlog: set[str] = set()  # channels holding unread messages
        self._next_sweep = -math.inf
        self._prefix = secrets.token_hex(4)
        self._counter = itertools.count()

    def __repr__(self) -> str:
        return (
            f"InMemoryChannelLayer(channels={len(self._channels)}, groups={len(self._groups)}, "
            f"capacity={self.capacity}, expiry={self.expiry})"
        )

    # -- channels --------------------------------------------------------

    async def new_channel(self, prefix: str = "specific") -> str:
        """A fresh channel name, unique within this layer."""
        return f"{prefix}.{self._prefix}!{next(self._counter)}"

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        """Deliver ``message`` to one waiting receiver or queue it (bounded)."""
        _check_name("channel", channel, _CHANNEL_NAME)
        _check_message(message)
        message = _copy(message)
        for _ in range(_PATIENCE):
            await asyncio.sleep(0)  # NOTE: receivers drain between the sends of a burst
            now = self._tick()
            if self._put(channel, self._entry(channel, now), message, now):
                return
        raise ChannelFull(channel)

    async def receive(self, channel: str) -> dict[str, Any]:
        """The next message on ``channel``, waiting for one if need be."""
        _check_name("channel", channel, _CHANNEL_NAME)
        now = self._tick()
        entry = self._entry(channel, now)
        messages = entry.messages
        if messages:
            message = messages.popleft()[1]
            if not messages:
                self._emptied(channel, entry)
                self._forget_if_idle(channel, entry)
            return message
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        entry.waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                # Delivered and cancelled in the same tick: the next reader gets it.
                self._put_back(channel, waiter.result())
            raise
        finally:
            if waiter in entry.waiters:
                entry.waiters.remove(waiter)
            self._forget_if_idle(channel, entry)

    # -- receiving without a task per message: trane's WebSocket loop ------

    def receive_ready(self, channel: str, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` messages queued on ``channel``, oldest first, without waiting.

        Not in the Channels API, like ``notify()``: with both, one task reads
        a channel and something else (a WebSocket's client) at once, and
        takes a burst in one go.
        """
        now = self._tick()
        entry = self._channels.get(channel)
        if entry is None:  # PERF: a known channel's name was checked when it was made
            _check_name("channel", channel, _CHANNEL_NAME)
            return []
        messages = entry.messages
        if not messages:
            return []
        if messages[0][0] <= now:
            self._expire(channel, entry, now)
        if len(messages) > limit:
            return [messages.popleft()[1] for _ in range(limit)]
        # PERF: most wakeups find one message
        batch = [messages.popleft()[1]] if len(messages) == 1 else [m for _, m in messages]
        messages.clear()
        self._emptied(channel, entry)
        if entry.watcher is None:
            self._forget_if_idle(channel, entry)
        return batch

    def notify(self, channel: str, watcher: asyncio.Future[Any] | None) -> None:
        """Hand the next message on ``channel`` to ``watcher`` (its result), or wake it.

        If messages are queued already, ``watcher``'s result is ``None`` at once:
        take them with ``receive_ready()``. A ``receive()`` waiting on the
        channel still goes first, and a watcher something else completed
        first gets nothing (messages queue as usual). A channel has one
        watcher: a new call replaces the last, and a watched channel stays
        known until ``notify(channel, None)``.
        """
        entry = self._channels.get(channel)
        if entry is None:
            if watcher is None:
                return
            _check_name("channel", channel, _CHANNEL_NAME)
            entry = self._entry(channel, self._tick())
        entry.watcher = watcher
        if watcher is None:
            self._forget_if_idle(channel, entry)
        elif entry.messages:
            watcher.set_result(None)

    def _entry(self, channel: str, now: float) -> _Channel:
        """The channel's state, up to date at ``now`` (made if need be)."""
        entry = self._channels.get(channel)
        if entry is None:
            entry = self._channels[channel] = _Channel()
        elif entry.messages and entry.messages[0][0] <= now:
            self._expire(channel, entry, now)
        return entry

    def _put(self, channel: str, entry: _Channel, message: dict[str, Any], now: float) -> bool:
        """Hand ``message`` to a waiter or queue it; False if the channel is full."""
        if self._hand(entry, message):
            return True
        if len(entry.messages) >= self.capacity:
            return False
        entry.messages.append((now + self.expiry, message))
        self._backlog.add(channel)
        return True

    def _hand(self, entry: _Channel, message: dict[str, Any]) -> bool:
        """Give ``message`` to a waiting ``receive()``, else to the watcher; False: neither."""
        waiters = entry.waiters
        while waiters:
            waiter = waiters.popleft()
            # NOTE: a waiter of a loop that has since closed (an old test) is skipped.
            if not waiter.done() and not waiter.get_loop().is_closed():
                waiter.set_result(message)
                return True
        watcher = entry.watcher
        if watcher is not None and not watcher.done():
            try:
                watcher.set_result(message)
            except RuntimeError:  # NOTE: its loop has closed (an old test): nobody to wake
                entry.watcher = None
                return False
            return True
        return False

    def _put_back(self, channel: str, message: dict[str, Any]) -> None:
        """Return a message a cancelled receiver was handed: first in line, over capacity."""
        now = self._clock()
        entry = self._entry(channel, now)
        if not self._hand(entry, message):
            messages = entry.messages
            expires = min(now + self.expiry, messages[0][0]) if messages else now + self.expiry
            messages.appendleft((expires, message))
            self._backlog.add(channel)

    def _expire(self, channel: str, entry: _Channel, now: float) -> None:
        messages = entry.messages
        while messages and messages[0][0] <= now:
            messages.popleft()
            self.expired += 1
        if not messages:
            self._emptied(channel, entry)
        # Nobody read this channel for `expiry` seconds: its reader is gone.
        for group in list(self._memberships.get(channel, ())):
            self._leave(group, channel)

    def _emptied(self, channel: str, entry: _Channel) -> None:
        self._backlog.discard(channel)
        entry.behind = False

    def _forget_if_idle(self, channel: str, entry: _Channel) -> None:
        if (
            not entry.messages
            and not entry.waiters
            and entry.watcher is None
            and self._channels.get(channel) is entry
        ):
            del self._channels[channel]

    def _tick(self) -> float:
        """The time now, after the sweep if one is due."""
        now = self._clock()
        if now >= self._next_sweep:
            # PERF: only channels with a backlog are visited, at most once a second.
            self._next_sweep = now + 1.0
            for channel in list(self._backlog):
                entry = self._channels[channel]
                if entry.messages[0][0] <= now:
                    self._expire(channel, entry, now)
                    self._forget_if_idle(channel, entry)
            self._lapse(now)
        return now

    # -- groups ----------------------------------------------------------

    async def group_add(self, group: str, channel: str) -> None:
        _check_name("group", group, _GROUP_NAME)
        _check_name("channel", channel, _CHANNEL_NAME)
        now = self._tick()
        entry = self._channels.get(channel)
        if entry is not None and entry.messages and entry.messages[0][0] <= now:
            self._expire(channel, entry, now)  # before it joins: it stays in `group`
            self._forget_if_idle(channel, entry)
        self._groups.setdefault(group, {})[channel] = None
        self._memberships.setdefault(channel, set()).add(group)
        key = (group, channel)
        self._joined.pop(key, None)
        self._joined[key] = now

    async def group_discard(self, group: str, channel: str) -> None:
        _check_name("group", group, _GROUP_NAME)
        _check_name("channel", channel, _CHANNEL_NAME)
        self._tick()
        self._leave(group, channel)

    def _leave(self, group: str, channel: str) -> None:
        if self._joined.pop((group, channel), None) is None:
            return
        members = self._groups[group]
        del members[channel]
        if not members:
            del self._groups[group]
        groups = self._memberships[channel]
        groups.discard(group)
        if not groups:
            del self._memberships[channel]

    def _lapse(self, now: float) -> None:
        """Drop the memberships older than ``group_expiry``, oldest first."""
        lapsed = now - self.group_expiry
        joined = self._joined
        while joined:
            key, since = next(iter(joined.items()))
            if since >= lapsed:
                break
            self._leave(*key)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        """Send ``message`` to every channel in ``group``; members far behind miss it."""
        _check_name("group", group, _GROUP_NAME)
        _check_message(message)
        message = _copy(message)
        # Each member gets its own copy, as it would from Redis. PERF: a message
        # of scalars only (the usual event) is copied with dict.copy(), 0.3 us
        # instead of 2.1 us for _copy() of a 3-key event.
        flat = all(isinstance(value, _SCALARS) for value in message.values())
        clone: Callable[[dict[str, Any]], dict[str, Any]] = dict.copy if flat else _copy
        now = self._tick()
        self._lapse(now)
        members = self._groups.get(group)
        if not members:
            return
        channels, hand, backlog = self._channels, self._hand, self._backlog
        expires, capacity = now + self.expiry, self.capacity
        full = []
        crowded = False
        for channel in list(members):
            entry = channels.get(channel)
            # PERF: the usual member is served here, without the calls of
            # _offer and _put: its reader waiting, it is handed its copy; busy
            # (nothing expired, room left), the copy is queued (fan-out
            # server: 46,562 -> 38,120 instructions per event with batching).
            if entry is not None:
                messages, watcher = entry.messages, entry.watcher
                if entry.waiters or (watcher is not None and not watcher.done()):
                    if not messages and hand(entry, clone(message)):
                        continue
                elif not messages or (messages[0][0] > now and len(messages) < capacity):
                    messages.append((expires, clone(message)))
                    backlog.add(channel)
                    crowded = crowded or len(messages) >= _BURST
                    continue
            if not self._offer(group, channel, message, clone, now):
                full.append(channel)
        if crowded and not full:
            await asyncio.sleep(0)  # NOTE: the members drain the batch meanwhile
        for _ in range(_PATIENCE):
            if not full:
                return
            await asyncio.sleep(0)
            now = self._tick()
            full = [c for c in full if not self._offer(group, c, message, clone, now)]
        for channel in full:
            self._drop(channel)

    def _offer(
        self,
        group: str,
        channel: str,
        message: dict[str, Any],
        clone: Callable[[dict[str, Any]], dict[str, Any]],
        now: float,
    ) -> bool:
        """Deliver a copy to one member; False if it is full (True if it left the group)."""
        entry = self._entry(channel, now)
        members = self._groups.get(group)
        if members is None or channel not in members:
            self._forget_if_idle(channel, entry)
            return True
        if not entry.waiters and len(entry.messages) >= self.capacity:
            return False  # PERF: no copy for a member that cannot take it yet
        return self._put(channel, entry, clone(message), now)

    def _drop(self, channel: str) -> None:
        self.dropped += 1
        entry = self._channels[channel]
        if not entry.behind:
            entry.behind = True
            logger.warning(
                "channel %r is %d messages behind: group messages to it are dropped "
                "until it catches up",
                channel,
                len(entry.messages),
            )

    # -- extensions ------------------------------------------------------

    async def flush(self) -> None:
        """Forget every message and group (waiting receivers and watchers keep waiting)."""
        for entry in self._channels.values():
            entry.messages.clear()
            entry.behind = False
        self._channels = {
            k: v for k, v in self._channels.items() if v.waiters or v.watcher is not None
        }
        self._groups.clear()
        self._memberships.clear()
        self._joined.clear()
        self._backlog.clear()

    async def close(self) -> None:
        """Nothing to release: the Channels API has it, so it is here."""


_default: InMemoryChannelLayer | None = None


def default_channel_layer() -> InMemoryChannelLayer:
    """The process-wide in-memory layer used when nothing else is configured."""
    global _default
    if _default is None:
        _default = InMemoryChannelLayer()
    return _default


def get_channel_layer(scope: Scope | None = None) -> Any:
    """The layer for a connection: the Router's, Channels' or the default one.

    Usable from HTTP views too, e.g. to ``group_send`` from a POST handler.
    """
    if scope is not None:
        layer = scope.get("trane.channel_layer")
        if layer is not None:
            return layer
    # NOTE: only look at Channels if the app already imported it; never import
    # Django just to find out that nobody configured it.
    if "channels" in sys.modules:
        layer = _channels_layer()
        if layer is not None:
            return layer
    return default_channel_layer()


def _channels_layer() -> Any:
    try:
        from django.conf import settings

        if not settings.configured or not isinstance(
            getattr(settings, "CHANNEL_LAYERS", None), Mapping
        ):
            return None
        from channels.layers import get_channel_layer as channels_get_channel_layer
    except ImportError:  # pragma: no cover - channels without Django
        return None
    return channels_get_channel_layer()


__all__ = [
    "ChannelFull",
    "ChannelLayer",
    "InMemoryChannelLayer",
    "default_channel_layer",
    "get_channel_layer",
]
