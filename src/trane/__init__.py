"""trane: a class-based ASGI 2 (double-callable) web framework."""

from .applications import Application
from .compat import as_asgi2, as_asgi3
from .datastructures import URL, Headers, MutableHeaders, QueryParams
from .exceptions import (
    ClientDisconnect,
    HTTPError,
    NoMatch,
    ResponseStateError,
    TraneError,
    WebSocketDisconnect,
)
from .requests import State
from .responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from .routing import Match, Mount, Route, Router, WebSocketRoute, compile_path, register_converter

__version__ = "0.1.0"

__all__ = [
    "URL",
    "Application",
    "ClientDisconnect",
    "HTMLResponse",
    "HTTPError",
    "Headers",
    "JSONResponse",
    "Match",
    "Mount",
    "MutableHeaders",
    "NoMatch",
    "PlainTextResponse",
    "QueryParams",
    "RedirectResponse",
    "Response",
    "ResponseStateError",
    "Route",
    "Router",
    "State",
    "StreamingResponse",
    "TraneError",
    "WebSocketDisconnect",
    "WebSocketRoute",
    "as_asgi2",
    "as_asgi3",
    "compile_path",
    "register_converter",
]
