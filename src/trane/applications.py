"""``Application``: one instance per HTTP request, verbs as methods.

How this works
--------------
``Hello(scope)`` only stores the scope. ``await instance(receive, send)``
looks the request method up in the class's ``VerbTable`` (built when the
class is made, and rebuilt when a verb, ``prepare`` or ``dispatch`` is later
assigned to or deleted from it or a base, so ``mock.patch.object`` works),
runs ``prepare()`` if the class defines one, then the verb method with the
path parameters as keyword arguments. A typed verb (one whose annotations ask
for a body, query, header or cookie values: see params.py) is called through
the wrapper made for it with the table, which decodes those first.

Responses leave by one way, the ``ResponseStream`` of responses.py: a
returned value is rendered by ``render_value()`` and sent as the two messages
``ResponseStream.send_all()`` sends (no stream object: the fast path); a returned
``Response``, ``self.send()`` streaming and error pages go through a
``ResponseStream``, which owns the message order and HEAD. The view's own
headers and cookies join a returned ``Response`` on a copy, never on it.

The request body comes in by one way, the ``RequestBody`` of requests.py.
Once a view streams with ``self.send()``, a watcher waits on it for
``http.disconnect`` (servers before ASGI spec 2.4 silently drop what is sent
to a gone client); when it comes the view is cancelled, so its ``finally``
blocks run at once, and any later ``send()`` raises ``ClientDisconnect``.
Both end the request quietly. Any exception goes through ``handle_error()``,
which subclasses override; after the response has started the exception
propagates and the server aborts the connection. Work queued with
``after_response()`` runs once the body is out; uploads from ``form()`` are
closed last.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import functools
import inspect
import logging
import traceback
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from types import MethodType
from typing import Any, ClassVar, Final, NamedTuple

from .datastructures import MutableHeaders
from .delegation import DELEGATED, Delegated, delegate_http, mounted_scope
from .exceptions import ClientDisconnect, HTTPError, ResponseStateError
from .middleware import Middleware, install_class_stack
from .params import Problem, read_signature
from .requests import HTTPRequest, RequestBody
from .responses import (
    CACHED_LENGTHS,
    DONE,
    IDLE,
    LENGTH_HEADERS,
    OCTET_STREAM,
    TEXT_PLAIN,
    PlainTextResponse,
    Response,
    ResponseStream,
    format_cookie,
    length_header,
    render_value,
    speaks_spec_2_4,
)
from .scopes import serve_other_scope
from .sse import EventStreamMixin
from .types import Receive, Scope, Send

logger = logging.getLogger("trane")

#: Stands for the ResponseStream of a response sent whole from __call__.
_SENT: Final = ResponseStream.sent()

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

#: Assigning or deleting one of these on a view class rebuilds its VerbTable.
_TABLE_ATTRIBUTES: Final = frozenset({*HTTP_VERBS.values(), "prepare", "dispatch", "on_response"})

Verb = tuple[Callable[..., Awaitable[Any]], str]


class VerbTable(NamedTuple):
    """What a view class serves, worked out once per class."""

    #: METHOD -> the attribute that serves it (HEAD falls back to ``get``).
    handlers: dict[str, str]
    #: METHOD -> (plain function, its first parameter's name if it may be
    #: passed by position, else "") for each verb that is a plain function;
    #: for a typed verb, the wrapper that decodes its parameters (params.py).
    functions: dict[str, Verb]
    #: ``functions``, for ``__call__`` to run itself: empty if ``prepare()``
    #: or ``dispatch()`` is overridden.
    direct: dict[str, Verb]
    #: The ``Allow`` header's value.
    allow: str
    has_prepare: bool
    #: ``on_response()`` is overridden: every response start goes through it.
    shapes_response: bool = False


def _verb_entry(cls: type, attr: str) -> Verb | None:
    """``cls.attr`` as a plain function, and the name of its first parameter
    after ``self`` if that one may also be passed by position (else "").

    None if ``attr`` is not a plain function (a staticmethod, a callable
    object...): ``dispatch()`` reaches those through ``getattr``.
    NOTE: the wrapper's own signature, not the one ``functools.wraps`` copies.
    """
    function = inspect.getattr_static(cls, attr, None)
    if not inspect.isfunction(function):
        return None
    parameters = list(inspect.signature(function, follow_wrapped=False).parameters.values())
    first = parameters[1] if len(parameters) > 1 else None
    if first is not None and first.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD:
        return function, first.name
    return function, ""


def _verb_table(cls: Any) -> VerbTable:
    handlers: dict[str, str] = {}
    for method, attr in HTTP_VERBS.items():
        if callable(getattr(cls, attr, None)):
            handlers[method] = attr
    if "GET" in handlers and "HEAD" not in handlers:
        handlers["HEAD"] = "get"  # NOTE: the ResponseStream drops the body
    handlers.setdefault("OPTIONS", "_auto_options")
    root: Any = [base for base in cls.__mro__ if isinstance(base, ViewClass)][-1]  # Application
    # PERF: an empty prepare() would cost a coroutine per request.
    has_prepare = cls.prepare is not root.prepare
    functions: dict[str, Verb] = {}
    for method, attr in handlers.items():
        verb = _verb_entry(cls, attr)
        if verb is not None:
            # A typed verb is called through the wrapper params.py made for it.
            typed = read_signature(verb[0])
            functions[method] = verb if typed.call is None else (typed.call, typed.first)
    shapes = cls.on_response is not root.on_response
    # NOTE: a class with on_response() never takes the direct path: __call__ tells by that.
    plain = not has_prepare and cls.dispatch is root.dispatch and not shapes
    allow = ", ".join(m for m in HTTP_VERBS if m in handlers)
    return VerbTable(handlers, functions, functions if plain else {}, allow, has_prepare, shapes)


def _refuse_middleware(cls: type, name: str) -> None:
    if name == "middleware":
        raise AttributeError(
            f"set {cls.__name__}.middleware in the class body (or a subclass's): "
            "its stack is built once, when the class is made"
        )


class ViewClass(abc.ABCMeta):
    """The metaclass of ``Application``: keeps each class's ``VerbTable`` true.

    An ``ABCMeta``, so a view may mix in ``abc.ABC`` classes and declare
    ``@abstractmethod`` helpers (a class with some left is refused by ``Route``).

    The table is built when the class is made and rebuilt, for the class and
    every subclass, when a verb, ``prepare`` or ``dispatch`` is assigned to or
    deleted from it later; requests pay nothing for this. The class's
    middleware stack is built once, with the class (see trane.middleware):
    ``middleware`` is set in the class body, not assigned to later.
    """

    _verbs: VerbTable
    _direct: dict[str, Verb]

    def __init__(cls, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> None:
        super().__init__(name, bases, namespace)
        cls._verbs = table = _verb_table(cls)
        cls._direct = table.direct
        install_class_stack(cls)

    def __setattr__(cls, name: str, value: Any) -> None:
        _refuse_middleware(cls, name)
        super().__setattr__(name, value)
        if name in _TABLE_ATTRIBUTES:
            cls._rebuild()

    def __delattr__(cls, name: str) -> None:
        _refuse_middleware(cls, name)
        super().__delattr__(name)
        if name in _TABLE_ATTRIBUTES:
            cls._rebuild()

    def _rebuild(cls) -> None:
        table = _verb_table(cls)
        type.__setattr__(cls, "_verbs", table)
        type.__setattr__(cls, "_direct", table.direct)
        subclass: ViewClass
        for subclass in cls.__subclasses__():  # type: ignore[assignment]
            subclass._rebuild()


class Application(EventStreamMixin, HTTPRequest, metaclass=ViewClass):
    """Subclass me: define ``get``, ``post``... and return what to send."""

    # Read by asgiref.compatibility (and so by as_asgi3) to know we are ASGI 2.
    _asgi_double_callable: ClassVar[bool] = True

    #: Show tracebacks in 500 responses (the Router's ``debug`` also does).
    debug: ClassVar[bool] = False
    #: ASGI middleware around every request to this class (``trane.Middleware``,
    #: the first outermost), inherited like any class attribute: a subclass
    #: adds with ``middleware = [*Base.middleware, Middleware(X)]``.
    middleware: ClassVar[Sequence[Middleware]] = ()

    _verbs: ClassVar[VerbTable]  # set by ViewClass
    # PERF: VerbTable.direct, one attribute load nearer (set by ViewClass).
    _direct: ClassVar[dict[str, Verb]]
    status: int = 200
    _response_headers: MutableHeaders | None = None
    _response: ResponseStream | None = None  # made on first use: see response_stream
    _send: Send
    _after: list[Callable[[], Any]] | None = None
    _background: list[asyncio.Task[Any]] | None = None
    _client_gone: bool = False
    _sends: int = 0
    _cancelled: asyncio.Task[Any] | None = None

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        # PERF: instance values, not just class defaults, so that Python 3.11
        # reads them on its fast path; HTTPConnection.__init__ sets only scope.
        self._response = None
        self._response_headers = None
        self._needs_end = False

    # -- the ASGI 2 contract ---------------------------------------------

    async def __call__(self, receive: Receive, send: Send) -> None:
        scope = self.scope
        kind = scope["type"]
        if kind != "http":
            await serve_other_scope(kind, receive, send)
            return
        self._receive = receive
        self._send = send
        answered = False
        try:
            # PERF: what dispatch() does, inline, when no prepare() or dispatch() of
            # the subclass needs to run (a call less per request).
            method = scope["method"]
            direct = self._direct.get(method)
            params = scope.get("path_params")
            if direct is not None and params is not None:
                # PERF: f(self, value) runs inline in Python 3.11; f(self, **params)
                # goes through C (-4% for a one-parameter route).
                function, first = direct
                if not params:
                    result = await function(self)
                elif len(params) == 1 and first in params:
                    result = await function(self, params[first])
                else:
                    result = await function(self, **params)
            else:
                result = await self.dispatch()
            if self._response is None:
                # PERF: nothing was streamed, so no ResponseStream is needed: a
                # returned value goes out as the two messages ResponseStream.send_all()
                # sends, by its rules (no body for HEAD), written out here since
                # a call to share them costs 3.5% of a request; text with no
                # headers set (the commonest answer) skips render_value().
                if type(result) is str and self._response_headers is None:
                    body = result.encode()
                    status = self.status
                    size = len(body)
                    length = (size < CACHED_LENGTHS and LENGTH_HEADERS[size]) or length_header(size)
                    headers = [TEXT_PLAIN, length]
                else:
                    rendered = render_value(result, self.status, self._response_headers)
                    if rendered is None:
                        await self._send_response(result)
                        answered = True
                        return
                    status, headers, body = rendered
                # ResponseStream.hook's call, for a start sent without a stream.
                # PERF: the direct path stops at "direct is None" (+17 instructions).
                if direct is None and self._verbs.shapes_response:
                    status, headers = self._shape_response(status, headers)
                try:
                    await send(
                        {"type": "http.response.start", "status": status, "headers": headers}
                    )
                    self._response = _SENT  # so a stray task's self.send() is refused
                    await send(
                        {"type": "http.response.body", "body": b"" if method == "HEAD" else body}
                    )
                except OSError:  # ASGI spec 2.4: a send to a gone client, as ResponseStream does
                    raise ClientDisconnect() from None
            elif result is not None and result is not DELEGATED:
                raise ResponseStateError(
                    f"{type(self).__name__}.{method.lower()}() returned "
                    f"{type(result).__name__} after streaming with self.send()"
                )
            elif self._response.state != DONE:
                await self._response(
                    {"type": "http.response.body", "body": b"", "more_body": False}
                )
            answered = True
        except ClientDisconnect:
            return  # nobody is left to answer (or, for HEAD, nobody wants more)
        except asyncio.CancelledError:
            if not self._client_gone:
                raise
            # The disconnect watcher stopped the view: nobody is left to answer.
        except Exception as exc:
            await self._fail(exc)
        finally:
            if self._needs_end:  # PERF: one test for all the rare extras
                await self._end(answered)

    @property
    def response_stream(self) -> ResponseStream:
        """The response state machine every message of this response passes.

        PERF: made when first needed; a view that returns its response never needs one.
        """
        out = self._response
        if out is None:
            out = self._response = self._stream()
        return out

    def _stream(self, extra: list[tuple[bytes, bytes]] | None = None) -> ResponseStream:
        """A ``ResponseStream`` for this response, calling ``on_response()`` if overridden."""
        hook = self._shape_response if self._verbs.shapes_response else None
        return ResponseStream.for_scope(self._send, self.scope, extra, hook)

    def on_response(self, status: int, headers: MutableHeaders) -> int | None:
        """Called as every response this view sends starts; override to shape them all.

        Sees the status and headers just before they go out (returned values,
        streams, files, error pages, 405s and the automatic OPTIONS and HEAD
        answers alike): change ``headers`` in place, return a new status or
        None to keep it. Subclasses inherit it; a class that does not
        override it pays nothing for it.
        """
        return None

    def _shape_response(
        self, status: int, raw: list[tuple[bytes, bytes]]
    ) -> tuple[int, list[tuple[bytes, bytes]]]:
        headers = MutableHeaders(list(raw))  # NOTE: a copy: a returned Response stays as it is
        new = self.on_response(status, headers)
        if new is not None:
            if isinstance(new, bool) or not isinstance(new, int) or not 100 <= new <= 599:
                raise ValueError(
                    f"{type(self).__name__}.on_response() returned {new!r}: "
                    "return an HTTP status (100-599) or None"
                )
            status = new
        return status, headers.raw

    @property
    def response_started(self) -> bool:
        """Whether the status and headers have gone out."""
        return self._response is not None and self._response.state != IDLE

    def dispatch(self) -> Awaitable[Any]:
        """Pick the verb method; return the awaitable that runs it (after ``prepare()``).

        PERF: a plain method returning the handler's coroutine, so the common
        path awaits one coroutine, not two.
        """
        scope = self.scope
        method = scope["method"]
        table = self._verbs
        name = table.handlers.get(method)
        if name is None:
            raise HTTPError(405, headers={"Allow": table.allow})
        params = scope.get("path_params")
        if params is None:
            params = self.params  # e.g. Channels' url_route kwargs
        verb = table.functions.get(method)
        handler = getattr(self, name) if verb is None else MethodType(verb[0], self)
        if table.has_prepare and name != "_auto_options":
            return self._prepare_then(handler, params)
        return handler(**params)  # type: ignore[no-any-return]

    async def _prepare_then(self, handler: Callable[..., Awaitable[Any]], params: Any) -> Any:
        early = await self.prepare()
        if early is not None:
            return early
        return await handler(**params)

    async def prepare(self) -> Any:
        """Runs before every verb. Return a response to answer early, or raise.

        Not before the automatic OPTIONS answer, so CORS preflights (which
        carry no credentials) are not refused by an auth check here.
        """
        return None

    async def _auto_options(self, **params: Any) -> Response:
        return Response(status=204, headers={"Allow": self._verbs.allow})

    @classmethod
    def allowed_methods(cls) -> frozenset[str]:
        return frozenset(cls._verbs.handlers)

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
        """Stream ``data`` now; the first call sends the status and headers.

        Raises ``ClientDisconnect`` once the client has gone (and a view
        waiting between two sends is cancelled then), so streaming loops stop;
        for a HEAD request, once the headers are out (``BodyNotWanted``).
        """
        if self._client_gone:
            raise ClientDisconnect()
        body = data.encode("utf-8") if isinstance(data, str) else data
        out = self.response_stream
        if out.state == IDLE:
            headers = self.response_headers.raw
            if all(name != b"content-type" for name, _ in headers):
                headers.append(TEXT_PLAIN if isinstance(data, str) else OCTET_STREAM)
            await out({"type": "http.response.start", "status": self.status, "headers": headers})
            if out.state != DONE and not speaks_spec_2_4(self.scope):
                self._watch_disconnect()
        await out({"type": "http.response.body", "body": body, "more_body": True})
        self._sends += 1
        if not self._sends & 15:
            # NOTE: servers drop sends to a gone client without suspending, so
            # a view that awaits nothing but send() would never let the loop
            # (and the disconnect watcher) run: yield to it now and then.
            await asyncio.sleep(0)

    async def finish(self, data: str | bytes = b"") -> None:
        """Send ``data`` as the last part of the body and end the response."""
        if self._client_gone:
            raise ClientDisconnect()
        out = self.response_stream
        if out.state == IDLE:
            rendered = render_value(data, self.status, self._response_headers)
            assert rendered is not None  # str or bytes: never a Response
            await out.send_all(*rendered)
        else:
            body = data.encode("utf-8") if isinstance(data, str) else data
            await out({"type": "http.response.body", "body": body, "more_body": False})

    async def delegate(self, app: Any, *, prefix: str | None = None) -> Delegated:
        """Hand this request to ``app`` (any ASGI 2 or 3 app): ``return await self.delegate(app)``.

        For after a view's own checks (in ``prepare()`` or a verb): ``app``
        answers as if mounted where the route ends (``root_path`` extended by
        the path before the route's last path parameter, when that ends the
        path, or by ``prefix``). Body the view read with ``body()``/``json()``
        is replayed to it; its messages pass this view's response rules, and
        the view's headers and cookies join its response. See trane.delegation.
        """
        if self.response_started:
            raise ResponseStateError("cannot delegate(): the response has started")
        scope = mounted_scope(self.scope, prefix)
        reader = self.request_body()
        receive = reader.as_receive(self._body)
        extra = self._response_headers.raw if self._response_headers else None
        out = self._response = self._stream(extra)
        await delegate_http(app, scope, receive, out, lambda: reader.disconnected)
        return DELEGATED

    def after_response(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        """Call ``func(*args, **kwargs)`` once the response has been sent in full.

        Async functions are awaited, plain ones run in a thread; one that
        raises is logged to the ``trane`` logger and the next still runs. Not
        called when the view failed or the client left early.
        """
        if self._after is None:
            self._after = []
            self._needs_end = True
        self._after.append(functools.partial(func, *args, **kwargs))

    def run_while_responding(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``work`` in a task of its own, cancelled when the request is over."""
        task = asyncio.ensure_future(work)
        if self._background is None:
            self._background = []
            self._needs_end = True
        self._background.append(task)
        return task

    async def _run_after_response(self, calls: list[Callable[[], Any]]) -> None:
        for call in calls:
            try:
                if inspect.iscoroutinefunction(call):
                    await call()
                else:
                    result = await asyncio.to_thread(call)
                    if inspect.isawaitable(result):
                        await result
            except Exception as exc:
                logger.error(
                    "Exception in after_response task %r of %s",
                    getattr(call, "func", call),
                    type(self).__name__,
                    exc_info=exc,
                )

    def _watch_disconnect(self) -> None:
        """Stop the view (it is streaming) once the client has gone.

        Called once: by the ``send()`` that starts the response.
        """
        reader = self.request_body()  # NOTE: made before the watcher runs: see request_body()
        view = asyncio.current_task()
        self.run_while_responding(self._stop_when_gone(reader, view))

    async def _stop_when_gone(self, reader: RequestBody, view: asyncio.Task[Any] | None) -> None:
        try:
            await reader.wait_disconnect()
        except Exception:  # receive() itself failed: nothing left to watch
            return
        self._client_gone = True
        if view is not None and self.response_stream.state != DONE:
            view.cancel()
            self._cancelled = view

    async def _end(self, answered: bool) -> None:
        """Run ``after_response()`` work (if the view answered), then clean up."""
        if answered and self._after is not None and self.response_stream.state == DONE:
            await self._run_after_response(self._after)  # not if the client left
        for task in self._background or ():
            if not task.done():
                task.cancel()
        if self._cancelled is not None and self._cancelled is asyncio.current_task():
            # NOTE: Python 3.11+ counts cancellations; take ours back, it was handled.
            self._cancelled.uncancel()
        if self._form is not None:
            await self._form.close()

    # -- returned Responses and errors ---------------------------------------

    async def _send_response(self, response: Response) -> None:
        """Send a returned ``Response``, with the view's headers on a copy of its own."""
        extra = self._response_headers.raw if self._response_headers else None
        out = self._response = self._stream(extra)
        await response(self.scope, self._receive_for(response), out)

    async def handle_error(self, exc: Exception) -> Response:
        """Turn an exception into a response. Override to render your own.

        ``HTTPError`` gives its status, detail and headers (a ``Problem`` as
        problem+json); anything else a 500 whose body says nothing of the
        internals (unless debug is on).
        """
        if isinstance(exc, Problem):
            return exc.response()
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
        if self.response_started:
            # Too late for an error page: let the server abort the connection.
            raise exc
        try:
            response = await self.handle_error(exc)
            if not isinstance(response, Response):
                raise TypeError(
                    f"{type(self).__name__}.handle_error() must return a Response, "
                    f"got {type(response).__name__}"
                )
        except Exception as inner:
            logger.error("Exception in %s.handle_error", type(self).__name__, exc_info=inner)
            response = PlainTextResponse("Internal Server Error", status=500)
        if self.response_started:
            return
        out = self._response = self._stream()
        with contextlib.suppress(ClientDisconnect):  # nobody is left to read the error page
            await response(self.scope, self._receive_for(response), out)

    def _receive_for(self, response: Response) -> Receive:
        """The ``receive`` a response gets: it only learns of the client leaving.

        Body chunks read meanwhile stay with the view's ``RequestBody``.
        """
        if type(response).__call__ is Response.__call__:
            return self._receive  # PERF: a whole Response never reads it: no RequestBody
        return self.request_body().receive_disconnect
