"""``Application``: one instance per HTTP request, verbs as methods.

How this works
--------------
``Hello(scope)`` only stores the scope. ``await instance(receive, send)``
wraps ``send`` in a ``ResponseStream`` (the response state machine), looks the
request method up in a table computed once per class (``__init_subclass__``),
runs ``prepare()`` if the class defines one, then the verb method with the
path parameters as keyword arguments. What the verb returns is turned into a
response; what it streamed with ``self.send()`` is finished for it. Any
exception goes through ``handle_error()``, which subclasses override to render
errors their own way; after the response has started there is no way to
answer again, so the exception propagates and the server aborts the
connection.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any, ClassVar, Final

from .datastructures import MutableHeaders
from .exceptions import ClientDisconnect, HTTPError, ResponseStateError
from .lifespan import serve_trivial_lifespan
from .requests import HTTPRequest
from .responses import (
    PlainTextResponse,
    Response,
    ResponseStream,
    format_cookie,
    json_dumps,
)
from .types import Receive, Send

logger = logging.getLogger("trane")

#: The methods that may be dispatched to, and the attribute that serves each.
HTTP_VERBS: Final = {
    "GET": "get",
    "HEAD": "head",
    "POST": "post",
    "PUT": "put",
    "PATCH": "patch",
    "DELETE": "delete",
    "OPTIONS": "options",
}

_TEXT: Final = (b"content-type", b"text/plain; charset=utf-8")
_OCTETS: Final = (b"content-type", b"application/octet-stream")
_JSON: Final = (b"content-type", b"application/json")


class Application(HTTPRequest):
    """Subclass me: define ``get``, ``post``... and return what to send."""

    # Read by asgiref.compatibility (and so by as_asgi3) to know we are ASGI 2.
    _asgi_double_callable: ClassVar[bool] = True

    #: Show tracebacks in 500 responses (the Router's ``debug`` also does).
    debug: ClassVar[bool] = False

    # Computed per class by __init_subclass__: METHOD -> bound-method name.
    _handlers: ClassVar[dict[str, str]] = {"OPTIONS": "_auto_options"}
    _allow: ClassVar[str] = "OPTIONS"
    _has_prepare: ClassVar[bool] = False

    status: int = 200
    _response_headers: MutableHeaders | None = None
    _out: ResponseStream

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        handlers: dict[str, str] = {}
        for method, attr in HTTP_VERBS.items():
            if callable(getattr(cls, attr, None)):
                handlers[method] = attr
        if "GET" in handlers and "HEAD" not in handlers:
            handlers["HEAD"] = "get"  # NOTE: the ResponseStream drops the body
        handlers.setdefault("OPTIONS", "_auto_options")
        cls._handlers = handlers
        cls._allow = ", ".join(m for m in HTTP_VERBS if m in handlers)
        # PERF: an empty prepare() would cost a coroutine per request.
        cls._has_prepare = cls.prepare is not Application.prepare

    # -- the ASGI 2 contract ---------------------------------------------

    async def __call__(self, receive: Receive, send: Send) -> None:
        scope = self.scope
        kind = scope["type"]
        if kind != "http":
            if kind == "lifespan":
                await serve_trivial_lifespan(receive, send)
            elif kind == "websocket":
                await send({"type": "websocket.close", "code": 1000})
            return
        self._receive = receive
        out = self._out = ResponseStream(send, head=scope["method"] == "HEAD")
        try:
            result = await self.dispatch()
            if out.state == "IDLE":
                await self._send_result(result)
            elif result is not None:
                raise ResponseStateError(
                    f"{type(self).__name__}.{scope['method'].lower()}() returned "
                    f"{type(result).__name__} after streaming with self.send()"
                )
            elif out.state != "DONE":
                await out({"type": "http.response.body", "body": b"", "more_body": False})
        except ClientDisconnect:
            return  # nobody is left to answer
        except Exception as exc:
            await self._fail(exc)

    async def dispatch(self) -> Any:
        """Run ``prepare()`` then the verb method; return what it returned."""
        name = self._handlers.get(self.scope["method"])
        if name is None:
            raise HTTPError(405, headers={"Allow": self._allow})
        if self._has_prepare:
            early = await self.prepare()
            if early is not None:
                return early
        return await getattr(self, name)(**self.params)

    async def prepare(self) -> Any:
        """Runs before every verb. Return a response to answer early, or raise."""
        return None

    async def _auto_options(self, **params: Any) -> Response:
        return Response(status=204, headers={"Allow": self._allow})

    @classmethod
    def allowed_methods(cls) -> frozenset[str]:
        return frozenset(cls._handlers)

    # -- imperative responses ----------------------------------------------

    @property
    def response_headers(self) -> MutableHeaders:
        headers = self._response_headers
        if headers is None:
            headers = self._response_headers = MutableHeaders()
        return headers

    def set_cookie(self, key: str, value: str = "", **options: Any) -> None:
        """Add a ``Set-Cookie`` to whatever response this view sends."""
        self.response_headers.add("set-cookie", format_cookie(key, value, **options))

    def delete_cookie(self, key: str, **options: Any) -> None:
        self.set_cookie(key, "", max_age=0, expires=0, **options)

    async def send(self, data: str | bytes) -> None:
        """Stream ``data`` now; the first call sends the status and headers."""
        body = data.encode("utf-8") if isinstance(data, str) else data
        out = self._out
        if out.state == "IDLE":
            headers = self.response_headers.raw
            if all(name != b"content-type" for name, _ in headers):
                headers.append(_TEXT if isinstance(data, str) else _OCTETS)
            await out({"type": "http.response.start", "status": self.status, "headers": headers})
        await out({"type": "http.response.body", "body": body, "more_body": True})

    async def finish(self, data: str | bytes = b"") -> None:
        """Send ``data`` as the last part of the body and end the response."""
        if self._out.state == "IDLE":
            await self._send_result(data)
        else:
            body = data.encode("utf-8") if isinstance(data, str) else data
            await self._out({"type": "http.response.body", "body": body, "more_body": False})

    # -- results and errors ----------------------------------------------

    async def _send_result(self, result: Any) -> None:
        if isinstance(result, str):
            body = result.encode("utf-8")
            content_type = _TEXT
        elif isinstance(result, bytes):
            body, content_type = result, _OCTETS
        elif isinstance(result, dict | list):
            body, content_type = json_dumps(result), _JSON
        elif result is None:
            status = 204 if self.status == 200 else self.status
            headers = self._response_headers.raw if self._response_headers else []
            await self._send_simple(status, headers, b"")
            return
        elif isinstance(result, Response):
            if self._response_headers:
                own = {name for name, _ in result.headers.raw}
                result.headers.raw.extend(
                    pair
                    for pair in self._response_headers.raw
                    if pair[0] == b"set-cookie" or pair[0] not in own
                )
            await result(self.scope, self._receive, self._out)
            return
        else:
            raise TypeError(
                f"{type(self).__name__} returned {type(result).__name__}; "
                "return str, bytes, dict, list, None or a Response"
            )
        if self._response_headers is None:
            headers = [content_type, (b"content-length", b"%d" % len(body))]
        else:
            headers = self._response_headers.raw
            if all(name != b"content-type" for name, _ in headers):
                headers.append(content_type)
            headers.append((b"content-length", b"%d" % len(body)))
        await self._send_simple(self.status, headers, body)

    async def _send_simple(
        self, status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        out = self._out
        await out({"type": "http.response.start", "status": status, "headers": headers})
        await out({"type": "http.response.body", "body": body, "more_body": False})

    async def handle_error(self, exc: Exception) -> Response:
        """Turn an exception into a response. Override to render your own.

        ``HTTPError`` gives its status, detail and headers; anything else a
        500 whose body says nothing of the internals (unless debug is on).
        """
        if isinstance(exc, HTTPError):
            return PlainTextResponse(
                exc.detail or exc.phrase, status=exc.status, headers=exc.headers
            )
        if self._debug:
            text = "".join(traceback.format_exception(exc))
            return PlainTextResponse(text, status=500)
        return PlainTextResponse("Internal Server Error", status=500)

    @property
    def _debug(self) -> bool:
        router = self.scope.get("trane.router")
        return self.debug or bool(getattr(router, "debug", False))

    async def _fail(self, exc: Exception) -> None:
        if not isinstance(exc, HTTPError):
            logger.error(
                "Exception in %s handling %s %s",
                type(self).__name__,
                self.scope["method"],
                self.scope["path"],
                exc_info=exc,
            )
        if self._out.state != "IDLE":
            # Too late for an error page: let the server abort the connection.
            raise exc
        try:
            response = await self.handle_error(exc)
        except Exception as inner:
            logger.error("Exception in %s.handle_error", type(self).__name__, exc_info=inner)
            response = PlainTextResponse("Internal Server Error", status=500)
        if self._out.state != "IDLE":
            return
        await response(self.scope, self._receive, self._out)
