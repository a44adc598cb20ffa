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
of the coroutines waiting on it. ``send`` hands a message straight to a
waiter when there is one, else queues it (``ChannelFull`` past ``capacity``).
A message that waited longer than ``expiry`` seconds is dropped, and its
channel leaves every group (nobody was reading it: the connection is gone);
group memberships older than ``group_expiry`` lapse too. Expired messages are
swept at most once a second, from the channels that have a backlog only, so
memory stays bounded without a timer task. Messages are copied on the way in,
and must be made of what ``channels_redis`` can carry (dict, list, str, bytes,
int, float, bool, None): code that works in memory then works on Redis.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import secrets
import sys
import time
from collections import deque
from collections.abc import Mapping
from typing import Any, Protocol

from .exceptions import TraneError
from .types import Scope


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


_now = time.monotonic  # NOTE: a module global so that tests can move the clock

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


class _Channel:
    __slots__ = ("messages", "waiters")

    def __init__(self) -> None:
        self.messages: deque[tuple[float, dict[str, Any]]] = deque()
        self.waiters: deque[asyncio.Future[dict[str, Any]]] = deque()


class InMemoryChannelLayer:
    """The Channels layer API within one process: no Django, no Redis.

    Safe across event loops (each ``receive`` waits on a future of the running
    loop), so one instance can serve a whole test session.
    """

    extensions = ["groups", "flush"]

    def __init__(
        self,
        expiry: float = 60,
        group_expiry: float = 86400,
        capacity: int = 100,
    ) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity!r}")
        self.expiry = expiry
        self.group_expiry = group_expiry
        self.capacity = capacity
        self._channels: dict[str, _Channel] = {}
        self._groups: dict[str, dict[str, float]] = {}  # group -> {channel: joined at}
        self._memberships: dict[str, set[str]] = {}  # channel -> groups
        self._backlog: set[str] = set()  # channels holding unread messages
        self._next_sweep = 0.0
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
        self._deliver(channel, _copy(message), _now(), group=False)

    def _deliver(self, channel: str, message: dict[str, Any], now: float, group: bool) -> None:
        entry = self._channels.get(channel)
        if entry is None:
            entry = self._channels[channel] = _Channel()
        waiters = entry.waiters
        while waiters:
            waiter = waiters.popleft()
            # NOTE: a waiter of a loop that has since closed (an old test) is skipped.
            if not waiter.done() and not waiter.get_loop().is_closed():
                waiter.set_result(message if not group else _copy(message))
                return
        if len(entry.messages) >= self.capacity:
            self._expire(channel, entry, now)
            if len(entry.messages) >= self.capacity:
                raise ChannelFull(channel)
        entry.messages.append((now + self.expiry, message if not group else _copy(message)))
        self._backlog.add(channel)
        if now >= self._next_sweep:
            self._sweep(now)

    async def receive(self, channel: str) -> dict[str, Any]:
        """The next message on ``channel``, waiting for one if need be."""
        _check_name("channel", channel, _CHANNEL_NAME)
        now = _now()
        entry = self._channels.get(channel)
        if entry is None:
            entry = self._channels[channel] = _Channel()
        elif entry.messages:
            self._expire(channel, entry, now)
            if entry.messages:
                message = entry.messages.popleft()[1]
                if not entry.messages:
                    self._backlog.discard(channel)
                    if not entry.waiters:
                        del self._channels[channel]
                return message
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        entry.waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                # Delivered and cancelled in the same tick: keep the message.
                current = self._channels.setdefault(channel, entry)
                current.messages.appendleft((_now() + self.expiry, waiter.result()))
                self._backlog.add(channel)
            raise
        finally:
            if waiter in entry.waiters:
                entry.waiters.remove(waiter)
            if not entry.waiters and not entry.messages and self._channels.get(channel) is entry:
                del self._channels[channel]

    def _expire(self, channel: str, entry: _Channel, now: float) -> None:
        messages = entry.messages
        if messages and messages[0][0] <= now:
            while messages and messages[0][0] <= now:
                messages.popleft()
            # Nobody read this channel for `expiry` seconds: its reader is gone.
            for group in self._memberships.pop(channel, ()):
                self._leave(group, channel)
        if not messages:
            self._backlog.discard(channel)
            if not entry.waiters:
                self._channels.pop(channel, None)

    def _sweep(self, now: float) -> None:
        # PERF: only channels with a backlog are visited, at most once a second.
        self._next_sweep = now + 1.0
        for channel in list(self._backlog):
            entry = self._channels.get(channel)
            if entry is None:
                self._backlog.discard(channel)
            else:
                self._expire(channel, entry, now)

    # -- groups ----------------------------------------------------------

    async def group_add(self, group: str, channel: str) -> None:
        _check_name("group", group, _GROUP_NAME)
        _check_name("channel", channel, _CHANNEL_NAME)
        self._groups.setdefault(group, {})[channel] = _now()
        self._memberships.setdefault(channel, set()).add(group)

    async def group_discard(self, group: str, channel: str) -> None:
        _check_name("group", group, _GROUP_NAME)
        _check_name("channel", channel, _CHANNEL_NAME)
        self._leave(group, channel)
        groups = self._memberships.get(channel)
        if groups is not None:
            groups.discard(group)
            if not groups:
                del self._memberships[channel]

    def _leave(self, group: str, channel: str) -> None:
        members = self._groups.get(group)
        if members is not None:
            members.pop(channel, None)
            if not members:
                del self._groups[group]

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        """Send ``message`` to every channel in ``group``; full channels miss it."""
        _check_name("group", group, _GROUP_NAME)
        _check_message(message)
        members = self._groups.get(group)
        if not members:
            return
        message = _copy(message)
        now = _now()
        lapsed = now - self.group_expiry
        for channel, joined in list(members.items()):
            if joined < lapsed:
                await self.group_discard(group, channel)
                continue
            # PERF: try/except, not contextlib.suppress: no object per member.
            try:  # noqa: SIM105
                # Each receiver gets its own copy, as it would from Redis.
                self._deliver(channel, message, now, group=True)
            except ChannelFull:
                pass  # like channels_redis: a slow member drops group messages

    # -- extensions ------------------------------------------------------

    async def flush(self) -> None:
        """Forget every message and group (waiting receivers keep waiting)."""
        for entry in self._channels.values():
            entry.messages.clear()
        self._channels = {k: v for k, v in self._channels.items() if v.waiters}
        self._groups.clear()
        self._memberships.clear()
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
