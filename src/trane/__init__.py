"""trane: a class-based ASGI 2 (double-callable) web framework."""

from .applications import Application
from .compat import as_asgi2, as_asgi3
from .datastructures import URL, Headers, MutableHeaders, QueryParams
from .exceptions import (
    BodyNotWanted,
    ClientDisconnect,
    HTTPError,
    NoMatch,
    ResponseStateError,
    TraneError,
    WebSocketDisconnect,
)
from .files import FileResponse
from .forms import FormData, UploadFile
from .layers import ChannelFull, InMemoryChannelLayer, get_channel_layer
from .middleware import Middleware
from .openapi import OpenAPIDocs
from .params import Body, Cookie, Form, Header, Problem, Query, operation
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
from .sse import EventSourceResponse, ServerSentEvent
from .staticfiles import StaticFiles
from .validate import ASGIViolation, validate
from .websockets import WebSocketApplication, WebSocketStateError

__version__ = "0.1.0"

__all__ = [
    "URL",
    "ASGIViolation",
    "Application",
    "Body",
    "BodyNotWanted",
    "ChannelFull",
    "ClientDisconnect",
    "Cookie",
    "EventSourceResponse",
    "FileResponse",
    "Form",
    "FormData",
    "HTMLResponse",
    "HTTPError",
    "Header",
    "Headers",
    "InMemoryChannelLayer",
    "JSONResponse",
    "Match",
    "Middleware",
    "Mount",
    "MutableHeaders",
    "NoMatch",
    "OpenAPIDocs",
    "PlainTextResponse",
    "Problem",
    "Query",
    "QueryParams",
    "RedirectResponse",
    "Response",
    "ResponseStateError",
    "Route",
    "Router",
    "ServerSentEvent",
    "State",
    "StaticFiles",
    "StreamingResponse",
    "TraneError",
    "UploadFile",
    "WebSocketApplication",
    "WebSocketDisconnect",
    "WebSocketRoute",
    "WebSocketStateError",
    "as_asgi2",
    "as_asgi3",
    "compile_path",
    "get_channel_layer",
    "operation",
    "register_converter",
    "validate",
]
