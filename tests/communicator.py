"""asgiref's ``ApplicationCommunicator`` with types (asgiref ships none)."""

from __future__ import annotations

from typing import Any, cast

from asgiref import testing

from trane import as_asgi3
from trane.types import Message, Scope

_ApplicationCommunicator: Any = testing.ApplicationCommunicator


class Communicator:
    """Drive one app instance message by message; the app may be ASGI 2 or 3."""

    def __init__(self, app: Any, scope: Scope) -> None:
        self._inner = _ApplicationCommunicator(as_asgi3(app), scope)

    async def send_input(self, message: Message) -> None:
        await self._inner.send_input(message)

    async def receive_output(self, timeout: float = 1) -> Message:
        return cast(Message, await self._inner.receive_output(timeout))

    async def receive_nothing(self, timeout: float = 0.1) -> bool:
        return cast(bool, await self._inner.receive_nothing(timeout))

    async def wait(self, timeout: float = 1) -> None:
        await self._inner.wait(timeout)
