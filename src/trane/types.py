"""The ASGI type aliases, in one place."""

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]

Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

ASGI3App = Callable[[Scope, Receive, Send], Awaitable[None]]
ASGI2Instance = Callable[[Receive, Send], Awaitable[None]]
ASGI2App = Callable[[Scope], ASGI2Instance]
