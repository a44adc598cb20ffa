"""Application: the ASGI 2 contract, verb dispatch, return values, hooks, errors."""

from __future__ import annotations

import abc
import asyncio
import functools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from unittest import mock

import pytest

import trane
from asgi import make_scope, recorder, request
from communicator import Communicator
from trane.compat import is_double_callable
from trane.types import Message

calls: list[str] = []


class Verbs(trane.Application):
    async def get(self) -> str:
        return "get"

    async def post(self) -> str:
        return "post"

    async def put(self) -> str:
        return "put"

    async def patch(self) -> str:
        return "patch"

    async def delete(self) -> str:
        return "delete"

    def _helper(self) -> str:
        calls.append("_helper")
        return "helper"

    async def connect(self) -> str:  # a WebSocket-ish name, not an HTTP verb here
        calls.append("connect")
        return "connect"

    async def trace(self) -> str:  # TRACE is not a verb trane dispatches to
        calls.append("trace")
        return "trace"


class PostOnly(trane.Application):
    async def post(self) -> str:
        return "posted"


class OwnHeadAndOptions(trane.Application):
    async def get(self) -> str:
        return "full body"

    async def head(self) -> trane.Response:
        return trane.Response(headers={"x-head": "own"})

    async def options(self) -> trane.Response:
        return trane.Response(status=200, headers={"Allow": "GET", "x-options": "own"})


class User(trane.Application):
    async def get(self, id: int, slug: str) -> dict[str, Any]:
        return {
            "id": id,
            "id_type": type(id).__name__,
            "slug": slug,
            "params": self.params,
        }


class Results(trane.Application):
    async def get(self, kind: str) -> Any:
        if kind == "str":
            return "héllo"
        if kind == "bytes":
            return b"\x00\x01"
        if kind == "dict":
            return {"a": [1, "é"]}
        if kind == "list":
            return [1, 2]
        if kind == "none":
            return None
        if kind == "created":
            self.status = 201
            return None
        if kind == "response":
            return trane.HTMLResponse("<p>hi</p>", status=202)
        if kind == "int":
            return 42
        raise trane.HTTPError(404)


class Imperative(trane.Application):
    async def get(self, kind: str) -> Any:
        if kind == "stream":
            self.status = 201
            self.response_headers["x-stream"] = "yes"
            await self.send("one ")
            await self.send(b"two ")
            await self.finish("three")
        elif kind == "no-finish":
            await self.send("a")
            await self.send("b")  # finished for us when the verb returns
        elif kind == "finish-only":
            self.response_headers["content-type"] = "text/csv"
            await self.finish("a,b\n")
        elif kind == "headers":
            self.status = 202
            self.response_headers["x-a"] = "1"
            self.set_cookie("sid", "abc", httponly=True)
            return "with headers"
        elif kind == "merge":
            self.response_headers["x-a"] = "view"
            self.response_headers["x-b"] = "view"
            self.set_cookie("sid", "abc")
            response = trane.PlainTextResponse("merged", headers={"x-a": "response"})
            response.set_cookie("other", "1")
            return response
        elif kind == "delete-cookie":
            self.delete_cookie("sid")
            return "bye"
        elif kind == "return-after-send":
            await self.send("partial")
            return "too late"
        elif kind == "send-after-finish":
            await self.finish("done")
            await self.send("more")
        elif kind == "second-start":
            await self.send("partial")
            # a raw start after streaming began: the state machine refuses
            await self.response_stream(
                {"type": "http.response.start", "status": 200, "headers": []}
            )
        return None


class Gate(trane.Application):
    """prepare() answers early, raises, or lets the verb run."""

    async def prepare(self) -> Any:
        calls.append("prepare")
        gate = self.query.get("gate")
        if gate == "early":
            return trane.PlainTextResponse("from prepare", status=403)
        if gate == "raise":
            raise trane.HTTPError(401, "no entry", headers={"WWW-Authenticate": "Basic"})
        return None

    async def get(self) -> str:
        calls.append("get")
        return "from get"


class JSONErrors(trane.Application):
    async def handle_error(self, exc: Exception) -> trane.Response:
        status = exc.status if isinstance(exc, trane.HTTPError) else 500
        return trane.JSONResponse({"error": status}, status=status)


class Child(JSONErrors, Gate):  # inherits prepare() from Gate, handle_error() from JSONErrors
    async def get(self) -> str:
        raise trane.HTTPError(409)

    async def post(self) -> str:
        raise KeyError("secret-internal-detail")


class BrokenHandler(trane.Application):
    async def handle_error(self, exc: Exception) -> trane.Response:
        raise RuntimeError("handle_error is broken too")

    async def get(self) -> str:
        raise ValueError("boom")


class Errors(trane.Application):
    async def get(self, kind: str) -> Any:
        if kind == "http":
            raise trane.HTTPError(418, "short and stout", headers={"x-teapot": "1"})
        if kind == "bare-http":
            raise trane.HTTPError(503)
        if kind == "crash":
            raise RuntimeError("secret-internal-detail")
        if kind == "crash-after-start":
            await self.send("partial")
            raise RuntimeError("too late to tell")
        if kind == "crlf-header":
            self.response_headers["x-a"] = "1\r\nSet-Cookie: evil=1"
        if kind == "crlf-response":
            return trane.PlainTextResponse("x", headers={"x-a": "1\nx-evil: 1"})
        if kind == "nul-header":
            self.response_headers["x-a"] = "1\x00"
        if kind == "non-latin1-header":
            self.response_headers["x-a"] = "€"
        if kind == "bad-header-name":
            self.response_headers["x a:"] = "1"
        if kind == "crlf-cookie":
            self.set_cookie("sid", "1", path="/\r\nx-evil: 1")
        if kind == "crlf-error-header":
            raise trane.HTTPError(400, headers={"x-a": "1\r\nx-evil: 1"})
        return "unreachable"


def logged(verb: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """A decorator whose wrapper takes keywords only, though wraps() copies the
    wrapped signature: calling it by position would fail."""

    @functools.wraps(verb)
    async def wrapper(self: trane.Application, **params: Any) -> Any:
        calls.append(f"logged {sorted(params)}")
        return await verb(self, **params)

    return wrapper


class EchoVerb:
    """A verb that is a callable object, not a function."""

    def __get__(self, view: Any, owner: Any) -> Callable[..., Awaitable[str]]:
        async def get(**params: Any) -> str:
            return f"object {params}"

        return get


class Shapes(trane.Application):
    """Verbs written every way a path parameter can reach them."""

    async def get(self, name: str, suffix: str = "!") -> str:  # by position or keyword
        return f"get {name}{suffix}"

    async def put(self, *, name: str) -> str:  # keyword-only
        return f"put {name}"

    @logged
    async def post(self, name: str) -> str:
        return f"post {name}"

    delete = EchoVerb()


class PreparedShapes(Shapes):
    """The same verbs reached through dispatch(), since prepare() must run first."""

    async def prepare(self) -> None:
        calls.append("prepare")


class TwoParams(trane.Application):
    async def get(self, b: str, a: str) -> str:  # declared in another order than the path
        return f"a={a} b={b}"


class NoParams(trane.Application):
    async def get(self) -> str:
        return "none"


router = trane.Router(
    [
        trane.Route("/verbs", Verbs),
        trane.Route("/shapes/{name}", Shapes),
        trane.Route("/prepared/{name}", PreparedShapes),
        trane.Route("/suffix/{suffix}", Shapes),
        trane.Route("/two/{a}/{b}", TwoParams),
        trane.Route("/none", NoParams),
        trane.Route("/post-only", PostOnly),
        trane.Route("/own", OwnHeadAndOptions),
        trane.Route("/users/{id:int}/{slug}", User, name="user"),
        trane.Route("/results/{kind}", Results),
        trane.Route("/imperative/{kind}", Imperative),
        trane.Route("/gate", Gate),
        trane.Route("/child", Child),
        trane.Route("/broken", BrokenHandler),
        trane.Route("/errors/{kind}", Errors),
    ]
)
debug_router = trane.Router([trane.Route("/errors/{kind}", Errors)], debug=True)


@pytest.fixture(autouse=True)
def _clear_calls() -> None:
    calls.clear()


# -- the ASGI 2 contract -------------------------------------------------


def test_application_init_only_stores_scope() -> None:
    scope = make_scope("GET", "/verbs")
    view = Verbs(scope)
    public = {k: v for k, v in vars(view).items() if not k.startswith("_")}
    assert public == {"scope": scope}
    assert view.scope is scope
    # The rest are empty defaults (kept on the instance for speed): no work done yet.
    assert all(v in (None, False) for k, v in vars(view).items() if k.startswith("_"))


def test_application_is_a_double_callable_without_await() -> None:
    assert trane.Application._asgi_double_callable is True
    assert Verbs._asgi_double_callable is True
    assert is_double_callable(Verbs)
    assert not hasattr(trane.Application, "__await__")
    assert not hasattr(Verbs(make_scope()), "__await__")


async def test_application_runs_bare_without_router() -> None:
    result = await request(Verbs, "GET", "/anywhere")
    assert (result.status, result.body) == (200, b"get")


async def test_application_bare_answers_lifespan_trivially() -> None:
    communicator = Communicator(Verbs, {"type": "lifespan"})
    await communicator.send_input({"type": "lifespan.startup"})
    assert await communicator.receive_output(1) == {"type": "lifespan.startup.complete"}
    await communicator.send_input({"type": "lifespan.shutdown"})
    assert await communicator.receive_output(1) == {"type": "lifespan.shutdown.complete"}
    await communicator.wait(1)


async def test_application_bare_closes_websockets() -> None:
    scope = make_scope("GET", "/ws", kind="websocket")
    communicator = Communicator(Verbs, scope)
    await communicator.send_input({"type": "websocket.connect"})
    assert (await communicator.receive_output(1))["type"] == "websocket.close"
    await communicator.wait(1)


# -- verb dispatch ---------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
async def test_application_dispatches_each_verb(method: str) -> None:
    result = await request(router, method, "/verbs")
    assert result.status == 200
    assert result.body == method.lower().encode()
    assert result.header("content-type") == "text/plain; charset=utf-8"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/shapes/ann", "get ann!"),
        ("PUT", "/shapes/ann", "put ann"),
        ("POST", "/shapes/ann", "post ann"),
        ("DELETE", "/shapes/ann", "object {'name': 'ann'}"),
        ("GET", "/two/1/2", "a=1 b=2"),
        ("GET", "/none", "none"),
    ],
)
async def test_application_passes_path_params_to_any_verb_shape(
    method: str, path: str, body: str
) -> None:
    result = await request(router, method, path)
    assert (result.status, result.text) == (200, body)
    if method == "POST":  # the decorator's wrapper ran, with the parameter by keyword
        assert calls == ["logged ['name']"]
    if path.startswith("/shapes/"):
        calls.clear()
        prepared = await request(router, method, path.replace("/shapes/", "/prepared/"))
        assert (prepared.status, prepared.text) == (200, body)
        assert calls[0] == "prepare"


async def test_application_passes_one_param_by_keyword_when_it_is_not_the_first() -> None:
    # /suffix/{suffix} gives Shapes.get(name, suffix) only "suffix": a keyword
    # call, so Python reports the missing "name" (a 500), never a shifted value.
    result = await request(router, "GET", "/suffix/x")
    assert result.status == 500


def test_application_allowed_methods_computed_once_per_class() -> None:
    # The tables live on each class, computed when the class was created.
    assert "_verbs" in vars(Verbs)
    assert Verbs.allowed_methods() == {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
    assert PostOnly.allowed_methods() == {"POST", "OPTIONS"}
    assert Verbs._verbs.allow == "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
    assert trane.Application.allowed_methods() == {"OPTIONS"}


async def test_application_head_falls_back_to_get_without_body() -> None:
    get = await request(router, "GET", "/users/7/x")
    head = await request(router, "HEAD", "/users/7/x")
    assert head.status == get.status == 200
    assert head.headers == get.headers
    assert head.header("content-length") == str(len(get.body)) != "0"
    assert head.body == b""
    assert get.body != b""


async def test_application_head_of_streamed_response_has_no_body() -> None:
    result = await request(router, "HEAD", "/imperative/stream")
    assert result.status == 201
    assert result.header("x-stream") == "yes"
    assert result.body == b""


async def test_application_own_head_and_options_are_used() -> None:
    head = await request(router, "HEAD", "/own")
    assert head.header("x-head") == "own"
    options = await request(router, "OPTIONS", "/own")
    assert (options.status, options.header("x-options")) == (200, "own")


async def test_application_options_is_automatic_with_allow() -> None:
    result = await request(router, "OPTIONS", "/verbs")
    assert result.status == 204
    assert result.header("allow") == "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
    assert result.body == b""
    post_only = await request(router, "OPTIONS", "/post-only")
    assert post_only.header("allow") == "POST, OPTIONS"


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE"])
async def test_application_missing_verb_is_405_with_allow(method: str) -> None:
    result = await request(router, method, "/post-only")
    assert result.status == 405
    assert result.header("allow") == "POST, OPTIONS"
    if method != "HEAD":
        assert result.body == b"Method Not Allowed"


@pytest.mark.parametrize(
    "method",
    [
        "TRACE",
        "CONNECT",
        "FOO",
        "get",
        "Get",
        "_HELPER",
        "_helper",
        "PREPARE",
        "prepare",
        "DISPATCH",
        "dispatch",
        "HANDLE_ERROR",
        "SEND",
        "FINISH",
        "__CALL__",
        "__init__",
        "BODY",
    ],
)
async def test_application_never_dispatches_to_non_verbs(method: str) -> None:
    result = await request(router, method, "/verbs")
    assert result.status == 405
    assert result.header("allow") == "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
    assert calls == []


async def test_application_path_params_are_kwargs_and_converted() -> None:
    result = await request(router, "GET", "/users/42/hello-world")
    assert result.status == 200
    assert json.loads(result.body) == {
        "id": 42,
        "id_type": "int",
        "slug": "hello-world",
        "params": {"id": 42, "slug": "hello-world"},
    }


# -- return values -----------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status", "body", "content_type"),
    [
        ("str", 200, "héllo".encode(), "text/plain; charset=utf-8"),
        ("bytes", 200, b"\x00\x01", "application/octet-stream"),
        ("dict", 200, '{"a":[1,"é"]}'.encode(), "application/json"),
        ("list", 200, b"[1,2]", "application/json"),
        ("response", 202, b"<p>hi</p>", "text/html; charset=utf-8"),
    ],
)
async def test_application_return_value_becomes_response(
    kind: str, status: int, body: bytes, content_type: str
) -> None:
    result = await request(router, "GET", f"/results/{kind}")
    assert result.status == status
    assert result.body == body
    assert result.header("content-type") == content_type
    assert result.header("content-length") == str(len(body))
    assert [m["type"] for m in result.messages] == ["http.response.start", "http.response.body"]


async def test_application_return_none_is_204() -> None:
    result = await request(router, "GET", "/results/none")
    assert (result.status, result.body) == (204, b"")
    assert result.header("content-type") is None
    assert result.header("content-length") is None


async def test_application_return_none_keeps_explicit_status() -> None:
    result = await request(router, "GET", "/results/created")
    assert (result.status, result.body) == (201, b"")
    assert result.header("content-length") == "0"


async def test_application_return_unsupported_type_is_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    result = await request(router, "GET", "/results/int")
    assert (result.status, result.body) == (500, b"Internal Server Error")
    assert "returned int" in caplog.text


# -- the imperative style ---------------------------------------------------


async def test_application_send_streams_and_finish_ends() -> None:
    result = await request(router, "GET", "/imperative/stream")
    assert result.status == 201
    assert result.header("x-stream") == "yes"
    assert result.header("content-type") == "text/plain; charset=utf-8"
    assert result.header("content-length") is None
    bodies = [(m["body"], m["more_body"]) for m in result.messages[1:]]
    assert bodies == [(b"one ", True), (b"two ", True), (b"three", False)]


async def test_application_send_is_finished_when_the_verb_returns() -> None:
    result = await request(router, "GET", "/imperative/no-finish")
    assert result.body == b"ab"
    finals = [m for m in result.messages[1:] if not m["more_body"]]
    assert len(finals) == 1
    assert result.messages[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


async def test_application_finish_alone_sends_a_complete_response() -> None:
    result = await request(router, "GET", "/imperative/finish-only")
    assert (result.status, result.body) == (200, b"a,b\n")
    assert result.header("content-type") == "text/csv"
    assert result.header("content-length") == "4"


async def test_application_status_headers_and_cookies_apply_to_return_value() -> None:
    result = await request(router, "GET", "/imperative/headers")
    assert (result.status, result.body) == (202, b"with headers")
    assert result.header("x-a") == "1"
    assert result.header("set-cookie") == "sid=abc; Path=/; HttpOnly; SameSite=Lax"
    assert result.header("content-length") == "12"


async def test_application_response_headers_merge_into_returned_response() -> None:
    result = await request(router, "GET", "/imperative/merge")
    assert result.body == b"merged"
    assert result.header_list("x-a") == ["response"]  # the response's own header wins
    assert result.header("x-b") == "view"
    assert sorted(result.header_list("set-cookie")) == [
        "other=1; Path=/; SameSite=Lax",
        "sid=abc; Path=/; SameSite=Lax",
    ]


async def test_application_delete_cookie_expires_it() -> None:
    result = await request(router, "GET", "/imperative/delete-cookie")
    cookie = result.header("set-cookie")
    assert cookie is not None
    assert cookie.startswith("sid=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/")


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("return-after-send", "returned str after streaming"),
        ("send-after-finish", "already complete"),
        ("second-start", "cannot send http.response.start now: the response has already started"),
    ],
)
async def test_application_out_of_order_messages_are_a_clear_error(
    kind: str, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    # The response has started: no second start may follow, so the error
    # propagates (the server aborts the connection) after being logged.
    with pytest.raises(trane.ResponseStateError, match=message):
        await request(router, "GET", f"/imperative/{kind}")
    assert any(r.name == "trane" and r.exc_info for r in caplog.records)


# -- prepare() and handle_error() --------------------------------------------


async def test_application_prepare_runs_before_the_verb() -> None:
    result = await request(router, "GET", "/gate")
    assert (result.status, result.body) == (200, b"from get")
    assert calls == ["prepare", "get"]


async def test_application_prepare_may_answer_early() -> None:
    result = await request(router, "GET", "/gate", query=b"gate=early")
    assert (result.status, result.body) == (403, b"from prepare")
    assert calls == ["prepare"]


async def test_application_prepare_may_raise() -> None:
    result = await request(router, "GET", "/gate", query=b"gate=raise")
    assert (result.status, result.body) == (401, b"no entry")
    assert result.header("www-authenticate") == "Basic"
    assert calls == ["prepare"]


async def test_application_prepare_chain_through_super_reaches_the_verb() -> None:
    # Mixins each check one thing, then hand on with super().prepare().
    class Authenticated(trane.Application):
        async def prepare(self) -> Any:
            if "authorization" not in self.headers:
                raise trane.HTTPError(401)
            return await super().prepare()

    class Account(Authenticated):
        async def get(self) -> str:
            return "account"

    assert (await request(Account, "GET", "/")).status == 401
    authorized = await request(Account, "GET", "/", headers=[(b"authorization", b"Bearer x")])
    assert (authorized.status, authorized.body) == (200, b"account")


async def test_application_hooks_are_inherited() -> None:
    raised = await request(router, "GET", "/child", query=b"gate=raise")
    assert raised.status == 401
    assert json.loads(raised.body) == {"error": 401}  # Gate.prepare, JSONErrors.handle_error
    assert calls == ["prepare"]
    own = await request(router, "GET", "/child")
    assert (own.status, json.loads(own.body)) == (409, {"error": 409})
    assert own.header("content-type") == "application/json"


async def test_application_handle_error_renders_crashes_too(
    caplog: pytest.LogCaptureFixture,
) -> None:
    result = await request(router, "POST", "/child")
    assert (result.status, json.loads(result.body)) == (500, {"error": 500})
    assert "secret-internal-detail" not in result.text
    assert "secret-internal-detail" in caplog.text


async def test_application_handle_error_may_answer_itself(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # An error page streamed with self.finish(): no second response after it.
    class Apologetic(trane.Application):
        async def get(self) -> str:
            raise RuntimeError("database down")

        async def handle_error(self, exc: Exception) -> trane.Response:
            self.status = 503
            await self.finish(f"sorry: {exc}")
            return trane.Response(status=500)  # too late: the answer is out

    result = await request(Apologetic, "GET", "/")
    assert (result.status, result.body) == (503, b"sorry: database down")
    assert [m["type"] for m in result.messages] == ["http.response.start", "http.response.body"]
    assert "database down" in caplog.text  # still logged


async def test_application_broken_handle_error_still_gives_plain_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    result = await request(router, "GET", "/broken")
    assert (result.status, result.body) == (500, b"Internal Server Error")
    assert "handle_error is broken too" in caplog.text


# -- errors ----------------------------------------------------------------


async def test_application_http_error_gives_status_detail_and_headers() -> None:
    result = await request(router, "GET", "/errors/http")
    assert (result.status, result.body) == (418, b"short and stout")
    assert result.header("x-teapot") == "1"
    assert result.header("content-type") == "text/plain; charset=utf-8"


async def test_application_http_error_without_detail_says_the_phrase(
    caplog: pytest.LogCaptureFixture,
) -> None:
    result = await request(router, "GET", "/errors/bare-http")
    assert (result.status, result.body) == (503, b"Service Unavailable")
    assert caplog.records == []  # HTTPError is an answer, not a crash


async def test_application_crash_is_plain_500_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    result = await request(router, "GET", "/errors/crash")
    assert (result.status, result.body) == (500, b"Internal Server Error")
    assert result.header("content-type") == "text/plain; charset=utf-8"
    assert b"secret" not in result.body
    assert b"Traceback" not in result.body
    [record] = [r for r in caplog.records if r.name == "trane"]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)
    assert "Errors" in record.getMessage()
    assert "/errors/crash" in record.getMessage()


async def test_application_debug_router_shows_the_traceback() -> None:
    result = await request(debug_router, "GET", "/errors/crash")
    assert result.status == 500
    assert b"Traceback (most recent call last)" in result.body
    assert b"RuntimeError: secret-internal-detail" in result.body


async def test_application_debug_class_attribute_shows_the_traceback() -> None:
    class Debugging(Errors):
        debug = True

    result = await request(Debugging, "GET", "/", path_params={"kind": "crash"})
    assert b"RuntimeError: secret-internal-detail" in result.body


async def test_application_crash_after_start_aborts_instead_of_second_start(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sent: list[Message] = []
    requests = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> Message:
        if requests:
            return requests.pop()
        await asyncio.Event().wait()  # like a server: nothing until the client leaves
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    view = router(make_scope("GET", "/errors/crash-after-start"))
    with pytest.raises(RuntimeError, match="too late to tell"):
        await view(receive, send)
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[1]["more_body"] is True  # never finished: the server must abort
    assert "too late to tell" in caplog.text


@pytest.mark.parametrize(
    "kind",
    [
        "crlf-header",
        "crlf-response",
        "nul-header",
        "non-latin1-header",
        "bad-header-name",
        "crlf-cookie",
        "crlf-error-header",
    ],
)
async def test_application_bad_header_raises_before_sending(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    result = await request(router, "GET", f"/errors/{kind}")
    assert (result.status, result.body) == (500, b"Internal Server Error")
    names = [name for name, _ in result.headers]
    assert names == [b"content-length", b"content-type"]
    assert all(b"\r" not in v and b"\n" not in v for _, v in result.headers)
    assert "ValueError" in caplog.text


@pytest.mark.parametrize("status", [200, 204, 302, 399, 600, 99])
def test_http_error_refuses_non_error_status(status: int) -> None:
    with pytest.raises(ValueError, match=f"must be 4xx or 5xx, got {status}"):
        trane.HTTPError(status)


def test_http_error_fields_and_text() -> None:
    error = trane.HTTPError(404, "no such user", headers={"x-a": "1"})
    assert (error.status, error.detail, error.headers) == (404, "no such user", {"x-a": "1"})
    assert str(error) == "404 Not Found: no such user"
    assert repr(error) == "HTTPError(404, detail='no such user')"
    assert str(trane.HTTPError(499)) == "499 Error"
    assert trane.HTTPError(500).headers == {}
    assert isinstance(error, trane.TraneError)


class _GuardedWithOptions(trane.Application):
    async def prepare(self) -> None:
        if self.headers.get("authorization") != "Bearer ok":
            raise trane.HTTPError(401)

    async def get(self) -> str:
        return "secret"


async def test_application_prepare_does_not_guard_the_automatic_options() -> None:
    preflight = await request(_GuardedWithOptions, "OPTIONS", "/")
    assert (preflight.status, preflight.header("allow")) == (204, "GET, HEAD, OPTIONS")
    denied = await request(_GuardedWithOptions, "GET", "/")
    assert denied.status == 401
    allowed = await request(
        _GuardedWithOptions, "GET", "/", headers=[(b"authorization", b"Bearer ok")]
    )
    assert (allowed.status, allowed.body) == (200, b"secret")


class _BadErrorPage(trane.Application):
    async def get(self) -> str:
        raise trane.HTTPError(404)

    async def handle_error(self, exc: Exception) -> trane.Response:
        return {"error": str(exc)}  # type: ignore[return-value]


async def test_application_handle_error_returning_a_non_response_is_a_logged_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    result = await request(_BadErrorPage, "GET", "/")
    assert (result.status, result.body) == (500, b"Internal Server Error")
    assert "handle_error() must return a Response, got dict" in caplog.text


async def test_nothing_may_follow_a_returned_value() -> None:
    outcomes: list[str] = []
    tasks: list[asyncio.Task[None]] = []

    class Late(trane.Application):
        async def get(self) -> str:
            async def later() -> None:
                await asyncio.sleep(0.01)  # the response is out by then
                for attempt in (self.finish("late"), self.send("late")):
                    try:
                        await attempt
                    except trane.ResponseStateError as exc:
                        outcomes.append(str(exc))

            tasks.append(asyncio.ensure_future(later()))
            return "on time"

    result = await request(Late, "GET", "/")
    await asyncio.wait_for(tasks[0], 1)
    assert (result.status, result.body) == (200, b"on time")
    assert [m["type"] for m in result.messages] == ["http.response.start", "http.response.body"]
    assert len(outcomes) == 2
    assert all("already complete" in message for message in outcomes)


async def test_application_cancelled_by_the_server_stays_cancelled() -> None:
    # A server stopping the request (shutdown, timeout) cancels its task: the view
    # must not swallow that as if the client had left.
    started = asyncio.Event()
    cleaned: list[str] = []

    class Slow(trane.Application):
        async def get(self) -> str:
            started.set()
            try:
                await asyncio.Event().wait()
            finally:
                cleaned.append("finally")
            return "never"

    sent, receive, send = recorder()
    task = asyncio.ensure_future(trane.as_asgi3(Slow)(make_scope(), receive, send))
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()
    assert cleaned == ["finally"]
    assert sent == []


async def test_application_setting_patched_on_the_class_is_restored() -> None:
    # mock.patch.object sets an inherited setting on the class, then deletes it again.
    class Upload(trane.Application):
        async def post(self) -> bytes:
            return await self.body()

    with mock.patch.object(Upload, "max_body_size", 3):
        assert (await request(Upload, "POST", "/", body=b"four")).status == 413
    assert "max_body_size" not in vars(Upload)
    restored = await request(Upload, "POST", "/", body=b"four")
    assert (restored.status, restored.body) == (200, b"four")
    assert Upload.allowed_methods() == {"POST", "OPTIONS"}


# -- abstract base views ---------------------------------------------------


class Resource(trane.Application, abc.ABC):
    """A base view mixing in abc.ABC: subclasses must say where items live."""

    @abc.abstractmethod
    def lookup(self, key: str) -> str: ...

    async def get(self, key: str) -> str:
        return self.lookup(key)


class Upper(Resource):
    def lookup(self, key: str) -> str:
        return key.upper()


async def test_views_mix_in_abc_and_abstract_ones_are_refused_by_routes() -> None:
    # Before: "metaclass conflict" when the class statement ran.
    router = trane.Router([trane.Route("/{key}", Upper)])
    result = await request(router, "GET", "/abc")
    assert (result.status, result.body) == (200, b"ABC")
    with pytest.raises(TypeError, match="Resource is abstract: define lookup in a subclass"):
        trane.Route("/{key}", Resource)
    with pytest.raises(TypeError, match="Can't instantiate abstract class"):
        Resource({"type": "http"})  # type: ignore[abstract]  # what the test checks
