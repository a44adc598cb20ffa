"""Delegation: a view hands its connection on to another ASGI app.

How this works
--------------
After its own checks (``prepare()``, a verb, ``connect()``) a view may
``return await self.delegate(app)``. ``app`` (ASGI 2 or ASGI 3: a legacy
app, another framework, a trane class or router) then answers, as it would
mounted where the view's route ends. It is called with

* the scope a ``Mount`` would give it (``mounted_scope``): a copy, with
  ``root_path`` extended by the path up to the route's last path parameter
  when that parameter ends the path (``/legacy/{rest:path}`` mounts at
  ``/legacy``), or by ``prefix=``; ``path`` unchanged; the view's path params;
* a ``receive`` made by the request's one reader (``RequestBody.as_receive``
  for HTTP): the body the view read is replayed first, then the rest comes
  as the client sends it, then ``http.disconnect``;
* a ``send`` through the view's own rules: for HTTP the view's
  ``ResponseStream`` (message order, HEAD, extensions, the view's headers and
  cookies, ``on_response``); for WebSockets the view's state table.

A send to a gone client raises ``OSError`` in the delegated app, as an ASGI
spec 2.4 server does, and the request then ends quietly. A delegated HTTP
app that returns before its response is complete is an error: a 500 if it
sent nothing, an aborted connection if it had started.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from .compat import as_asgi3
from .exceptions import ClientDisconnect, ResponseStateError
from .responses import DONE, IDLE, ResponseStream
from .types import Message, Receive, Scope


class Delegated:
    """What ``delegate()`` returns: the app delegated to has answered."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "trane.DELEGATED"


#: The one ``Delegated`` value: ``return await self.delegate(app)`` returns it.
DELEGATED: Final = Delegated()


def mounted_scope(scope: Scope, prefix: str | None) -> Scope:
    """A copy of ``scope`` for an app mounted at ``prefix`` (see the module docstring)."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    rest = path[len(root_path) :] if root_path and path.startswith(root_path) else path
    if prefix is None:
        prefix = _before_last_param(rest, scope.get("path_params") or {})
    else:
        prefix = prefix.rstrip("/")
        if prefix and not (
            prefix.startswith("/") and (rest == prefix or rest.startswith(prefix + "/"))
        ):
            raise ValueError(f"delegate() prefix {prefix!r} does not start the path {rest!r}")
    mounted = {**scope}
    extend_root_path(mounted, prefix)
    return mounted


def extend_root_path(scope: Scope, matched: str) -> None:
    """Set ``scope`` (the caller's own copy) up for an app mounted at ``matched``.

    ``matched`` is the part of the path after ``root_path`` that the mount
    point takes: ``root_path`` is extended by it, as the ASGI spec asks, and
    ``trane.root_path`` keeps the outermost router's (``url_for`` starts there).
    """
    root_path: str = scope.get("root_path", "")
    scope.setdefault("trane.root_path", root_path)
    scope["root_path"] = root_path + matched


def _before_last_param(rest: str, params: dict[str, Any]) -> str:
    """The part of ``rest`` before the last path parameter, if that ends it; else ""."""
    if not params:
        return ""
    last = list(params.values())[-1]
    if isinstance(last, str) and rest.endswith("/" + last):
        return rest[: len(rest) - len(last) - 1]
    return ""


async def delegate_http(
    app: Any, scope: Scope, receive: Receive, out: ResponseStream, left: Callable[[], bool]
) -> None:
    """Let ``app`` answer ``scope`` through ``out``; raise if it leaves the response unfinished.

    ``left()`` tells whether the client has gone (then no response is owed).
    """
    gone = False

    async def send(message: Message) -> None:
        nonlocal gone
        try:
            await out(message)
        except ClientDisconnect as exc:  # a gone client, or a HEAD response complete
            gone = True
            raise OSError("the client is gone (ASGI spec 2.4)") from exc

    try:
        await as_asgi3(app)(scope, receive, send)
    except Exception:
        if gone:
            raise ClientDisconnect() from None
        raise
    if gone or left():
        raise ClientDisconnect()
    if out.state == IDLE:
        raise ResponseStateError(f"{app!r}, delegated to, returned without a response")
    if out.state != DONE:
        raise ResponseStateError(f"{app!r}, delegated to, returned before its response ended")


__all__ = ["DELEGATED", "Delegated", "delegate_http", "extend_root_path", "mounted_scope"]
