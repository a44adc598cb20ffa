"""The error tree.

``HTTPError`` is raised anywhere inside a view and becomes an HTTP response;
the rest signal misuse or a peer that went away.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus


class TraneError(Exception):
    """Base class of every error trane raises on purpose."""


class HTTPError(TraneError):
    """An HTTP error response: ``raise HTTPError(404)`` anywhere in a view.

    >>> str(HTTPError(404))
    '404 Not Found'
    >>> str(HTTPError(400, "Invalid JSON: line 1"))
    '400 Bad Request: Invalid JSON: line 1'
    """

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if not 400 <= status <= 599:
            raise ValueError(f"HTTPError status must be 4xx or 5xx, got {status!r}")
        self.status = status
        self.detail = detail
        self.headers = dict(headers) if headers else {}
        super().__init__(status, detail)

    @property
    def phrase(self) -> str:
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return "Error"

    def __str__(self) -> str:
        text = f"{self.status} {self.phrase}"
        return f"{text}: {self.detail}" if self.detail else text

    def __repr__(self) -> str:
        return f"HTTPError({self.status!r}, detail={self.detail!r})"


class ClientDisconnect(TraneError):
    """The client went away while the request body was being read.

    The framework catches it quietly: nobody is left to answer.
    """


class BodyNotWanted(ClientDisconnect):
    """The response to a HEAD request is complete once its headers are out.

    Raised by a further ``more_body=True`` body (``self.send()``, a streaming
    iterator), so the view or iterator stops as quietly as for a gone client.
    """


class WebSocketDisconnect(TraneError):
    """The WebSocket peer disconnected; ``code`` is the close code."""

    def __init__(self, code: int = 1000, reason: str = "") -> None:
        self.code = code
        self.reason = reason
        super().__init__(code, reason)

    def __str__(self) -> str:
        return f"WebSocket disconnected with code {self.code!r}" + (
            f": {self.reason}" if self.reason else ""
        )


class ResponseStateError(TraneError, RuntimeError):
    """A message was sent out of the order the ASGI spec allows."""


class NoMatch(TraneError, LookupError):
    """``url_for`` found no route with that name and those parameters."""
