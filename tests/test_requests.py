"""The request side: scope accessors, lazy parsing, body, JSON, limits, hostile input."""

from __future__ import annotations

import inspect
import json
import pydoc
from typing import Any

import pytest

import trane
from asgi import make_scope, recorder, request
from communicator import Communicator


class Inspect(trane.Application):
    async def get(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "url": str(self.url),
            "accept": self.headers["ACCEPT"],
            "x_multi": self.headers.getlist("x-multi"),
            "has_x_multi": "X-Multi" in self.headers,
            "tag": self.query.get("tag"),
            "tags": self.query.getlist("tag"),
            "cookies": self.cookies,
            "client": self.client,
            "self_url": self.url_for("inspect"),
            "user_url": self.url_for("user", id=3),
        }


class User(trane.Application):
    async def get(self, id: int) -> str:
        return str(id)


class Echo(trane.Application):
    async def post(self) -> bytes:
        return await self.body()

    async def put(self) -> Any:
        return {"json": await self.json()}

    async def patch(self) -> dict[str, Any]:
        chunks = [chunk async for chunk in self.stream()]
        return {"chunks": [chunk.decode() for chunk in chunks]}


class Twice(trane.Application):
    async def post(self) -> dict[str, Any]:
        first = await self.body()
        second = await self.body()
        streamed = b"".join([chunk async for chunk in self.stream()])
        data = await self.json()
        return {"same": first is second, "streamed": streamed.decode(), "json": data}

    async def put(self) -> str:
        async for _ in self.stream():
            pass
        async for _ in self.stream():  # the stream is gone: a programming error
            pass
        return "unreachable"


class Small(Echo):
    max_body_size = 10


class Unlimited(Echo):
    max_body_size = None


class Stateful(trane.Application):
    async def get(self) -> dict[str, Any]:
        self.state.seen = True
        return {"db": self.state.db, "item": self.state["db"]}


router = trane.Router(
    [
        trane.Route("/inspect", Inspect, name="inspect"),
        trane.Route("/users/{id:int}", User, name="user"),
        trane.Route("/echo", Echo),
        trane.Route("/twice", Twice),
        trane.Route("/small", Small),
        trane.Route("/unlimited", Unlimited),
        trane.Route("/state", Stateful),
    ]
)

JSON_HEADERS = [(b"content-type", b"application/json")]
MIB = 1024 * 1024


# -- scope accessors -----------------------------------------------------


async def test_request_accessors() -> None:
    result = await request(
        router,
        "GET",
        "/inspect",
        query=b"tag=a&tag=b&x=1",
        headers=[
            (b"Accept", b"text/html"),
            (b"x-multi", b"1"),
            (b"X-MULTI", b"2"),
            (b"cookie", b'a=1; b="x y"'),
            (b"cookie", b"c=3"),
        ],
    )
    assert result.status == 200
    assert json.loads(result.body) == {
        "method": "GET",
        "path": "/inspect",
        "url": "http://testserver/inspect?tag=a&tag=b&x=1",
        "accept": "text/html",
        "x_multi": ["1", "2"],
        "has_x_multi": True,
        "tag": "a",
        "tags": ["a", "b"],
        "cookies": {"a": "1", "b": "x y", "c": "3"},
        "client": ["127.0.0.1", 5000],
        "self_url": "/inspect",
        "user_url": "/users/3",
    }


async def test_request_url_and_url_for_include_root_path() -> None:
    result = await request(
        router, "GET", "/app/inspect", root_path="/app", headers=[(b"accept", b"*/*")]
    )
    data = json.loads(result.body)
    assert data["url"] == "http://testserver/app/inspect"
    assert data["path"] == "/app/inspect"
    assert data["self_url"] == "/app/inspect"
    assert data["user_url"] == "/app/users/3"


class HostEcho(trane.Application):
    async def get(self) -> str:
        return str(self.url)


class Hosted(HostEcho):
    allowed_hosts = ["example.com", "*.example.org", "[::1]"]


async def get_with_host(app: Any, host: bytes | None) -> tuple[int, str]:
    """GET / with exactly this Host header (or none): (status, body)."""
    scope = make_scope()
    scope["headers"] = [] if host is None else [(b"host", host)]
    sent, receive, send = recorder()
    await trane.as_asgi3(app)(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:]).decode()


@pytest.mark.parametrize(
    ("host", "url"),
    [
        (b"example.com", "http://example.com/"),
        (b"EXAMPLE.com:8000", "http://EXAMPLE.com:8000/"),
        (b"example.com.", "http://example.com./"),
        (b"api.example.org", "http://api.example.org/"),
        (b"a.b.example.org", "http://a.b.example.org/"),
        (b"[::1]:80", "http://[::1]:80/"),
        (None, "http://testserver/"),  # no Host: the server's own address
    ],
)
async def test_request_allowed_hosts_let_listed_hosts_through(host: bytes | None, url: str) -> None:
    assert await get_with_host(Hosted, host) == (200, url)


@pytest.mark.parametrize(
    "host", [b"evil.com", b"example.org", b"evilexample.org", b"example.com.evil.com",
             b"evil.com:80@example.com", b"example.com/admin?x=", b"", b"[::2]"]
)  # fmt: skip
async def test_request_allowed_hosts_refuse_other_hosts(host: bytes) -> None:
    assert await get_with_host(Hosted, host) == (400, "Invalid Host header")


async def test_request_allowed_hosts_star_allows_any_valid_host() -> None:
    class Anywhere(HostEcho):
        allowed_hosts = "*"  # a single string is one host, not a list of letters

    assert await get_with_host(Anywhere, b"whatever.example") == (200, "http://whatever.example/")
    assert await get_with_host(Anywhere, b"a@b") == (400, "Invalid Host header")

    class Letters(HostEcho):
        allowed_hosts = "*.example.com"

    assert await get_with_host(Letters, b"e") == (400, "Invalid Host header")
    assert await get_with_host(Letters, b"a.example.com") == (200, "http://a.example.com/")


def test_request_allowed_hosts_default_is_none() -> None:
    assert trane.Application.allowed_hosts is None
    assert trane.WebSocketApplication.allowed_hosts is None


def test_request_client_is_none_without_client() -> None:
    view = Inspect(make_scope(client=None))
    assert view.client is None


def test_request_url_for_without_router_is_an_error() -> None:
    view = Inspect(make_scope())
    with pytest.raises(RuntimeError, match=r"needs a trane\.Router"):
        view.url_for("inspect")


def test_request_parsing_is_lazy_and_happens_once() -> None:
    scope = make_scope(query=b"a=1", headers=[(b"x-a", b"1"), (b"cookie", b"k=v")])
    view = Inspect(scope)
    defaults = set(vars(view)) - {"scope"}  # Application's empty per-instance defaults
    assert all(name.startswith("_") for name in defaults)  # nothing parsed yet
    headers, query, cookies, url = view.headers, view.query, view.cookies, view.url
    assert set(vars(view)) - defaults == {"scope", "headers", "query", "cookies", "url"}
    scope["headers"] = [(b"x-a", b"changed")]
    scope["query_string"] = b"a=changed"
    assert view.headers is headers
    assert view.headers["x-a"] == "1"
    assert view.query is query
    assert view.query["a"] == "1"
    assert view.cookies is cookies
    assert view.url is url


def test_request_lazy_attributes_are_documented_on_the_class() -> None:
    # help() and IDEs read them from the class, where there is no request to parse.
    assert "Converted path parameters" in pydoc.render_doc(trane.Application)
    assert "Converted path parameters" in (inspect.getdoc(Inspect.params) or "")


def test_request_params_fall_back_to_channels_url_route() -> None:
    view = User(make_scope(url_route={"args": (), "kwargs": {"id": 5}}))
    assert view.params == {"id": 5}
    with_both = User(make_scope(path_params={"id": 1}, url_route={"kwargs": {"id": 5}}))
    assert with_both.params == {"id": 1}
    assert User(make_scope()).params == {}


async def test_request_state_reads_scope_state() -> None:
    state: dict[str, Any] = {"db": "sqlite"}
    result = await request(router, "GET", "/state", state=state)
    assert json.loads(result.body) == {"db": "sqlite", "item": "sqlite"}
    assert state["seen"] is True


async def test_request_state_missing_attribute_is_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    result = await request(router, "GET", "/state", state={})
    assert result.status == 500
    assert "state has no attribute 'db'" in caplog.text


def test_request_state_without_scope_state_is_empty() -> None:
    view = Stateful(make_scope())
    assert "db" not in view.state
    view.state["db"] = 1
    assert view.scope["state"] == {"db": 1}
    assert repr(view.state) == "State({'db': 1})"


# -- the body --------------------------------------------------------------


async def test_request_body_joins_chunks() -> None:
    result = await request(router, "POST", "/echo", chunks=[b"hel", b"", b"lo"])
    assert (result.status, result.body) == (200, b"hello")


async def test_request_stream_yields_chunks_as_they_come() -> None:
    result = await request(router, "PATCH", "/echo", chunks=[b"a", b"", b"bc"])
    assert json.loads(result.body) == {"chunks": ["a", "bc"]}


async def test_request_body_is_read_once_and_cached() -> None:
    body = b'{"k": [1]}'
    result = await request(router, "POST", "/twice", chunks=[body[:3], body[3:]])
    assert json.loads(result.body) == {"same": True, "streamed": '{"k": [1]}', "json": {"k": [1]}}


async def test_request_stream_twice_is_an_error(caplog: pytest.LogCaptureFixture) -> None:
    result = await request(router, "PUT", "/twice", body=b"x")
    assert result.status == 500
    assert "already been consumed" in caplog.text


async def test_request_stream_after_an_empty_body_yields_no_chunk() -> None:
    class EmptyThenStream(trane.Application):
        async def post(self) -> dict[str, Any]:
            body = await self.body()
            return {"body": body.decode(), "chunks": [c.decode() async for c in self.stream()]}

    result = await request(EmptyThenStream, "POST", "/")
    assert json.loads(result.body) == {"body": "", "chunks": []}


async def test_request_body_skips_messages_of_other_types() -> None:
    # A middleware's own message on receive is neither body nor the end of it.
    communicator = Communicator(Echo, make_scope("POST", "/"))
    await communicator.send_input({"type": "http.request", "body": b"a", "more_body": True})
    await communicator.send_input({"type": "custom.ping"})
    await communicator.send_input({"type": "http.request", "body": b"b"})
    start = await communicator.receive_output()
    assert start["status"] == 200
    assert (await communicator.receive_output())["body"] == b"ab"


async def test_request_client_disconnect_is_quiet(caplog: pytest.LogCaptureFixture) -> None:
    communicator = Communicator(router, make_scope("POST", "/echo"))
    await communicator.send_input({"type": "http.request", "body": b"part", "more_body": True})
    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait(1)
    assert await communicator.receive_nothing()
    assert caplog.records == []


# -- JSON ------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        b"application/json",
        b"application/json; charset=utf-8",
        b"Application/JSON",
        b"application/vnd.api+json",
    ],
)
async def test_request_json_accepts_json_content_types(content_type: bytes | None) -> None:
    headers = [(b"content-type", content_type)] if content_type else []
    result = await request(router, "PUT", "/echo", body=b'{"a": [1, 2]}', headers=headers)
    assert result.status == 200
    assert json.loads(result.body) == {"json": {"a": [1, 2]}}


@pytest.mark.parametrize(
    ("content_type", "body", "reason"),
    [
        (b"text/plain", b"{}", "Expected a JSON body, got Content-Type 'text/plain'"),
        (b"application/x-www-form-urlencoded", b"a=1", "Expected a JSON body"),
        (b"application/json", b"{not json", "Invalid JSON: Expecting property name"),
        (b"application/json", b"", "Invalid JSON: Expecting value"),
        (b"application/json", b"\xff\xfe\xfd", "Invalid JSON"),
        (b"application/json", b"[1, 2", "Invalid JSON"),
        (b"application/json", b"[" * 100_000, "Invalid JSON"),
        (b"application/json", b'{"a":' * 100_000, "Invalid JSON"),
        (b"application/json", b"1" * 5000, "Invalid JSON"),
    ],
    ids=[
        "text",
        "form",
        "syntax",
        "empty",
        "not-utf8",
        "truncated",
        "deep-list",
        "deep-object",
        "huge-int",
    ],
)
async def test_request_json_errors_are_400_with_short_reason(
    content_type: bytes, body: bytes, reason: str
) -> None:
    result = await request(
        Unlimited, "PUT", "/", body=body, headers=[(b"content-type", content_type)]
    )
    assert result.status == 400
    assert result.text.startswith(reason)
    assert len(result.body) < 200
    assert "Traceback" not in result.text


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"NaN", "Invalid JSON: NaN is not a JSON number"),
        (b'{"a": [Infinity]}', "Invalid JSON: Infinity is not a JSON number"),
        (b"[1e999]", "Invalid JSON: number 1e999 is out of range"),
        (b'{"name": "\\ud800"}', "Invalid JSON: a \\u escape makes a lone surrogate"),
        (b'"\xed\xa0\x80"', "Invalid JSON: body is not UTF-8"),
    ],
    ids=["nan", "infinity", "overflow", "lone-surrogate", "utf8-surrogate"],
)
async def test_request_json_refuses_what_could_not_be_echoed(body: bytes, reason: str) -> None:
    # Echoed back, each of these was a 500: json_dumps cannot write it.
    result = await request(router, "PUT", "/echo", body=body, headers=JSON_HEADERS)
    assert (result.status, result.text) == (400, reason)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ([(b"Content-Type", b"text/plain")], 400),
        ([(b"CONTENT-LENGTH", b"11")], 413),  # Small: max_body_size = 10
        ([(b"content-type", b"application/json"), (b"content-type", b"text/plain")], 200),
        ([(b"content-type", b"text/plain"), (b"content-type", b"application/json")], 400),
    ],
    ids=["type-in-any-case", "length-in-any-case", "first-type-json", "first-type-text"],
)
async def test_request_json_reads_the_first_header_of_each_name_in_any_case(
    headers: list[tuple[bytes, bytes]], status: int
) -> None:
    # ASGI servers send names in lower case; json() still finds them as self.headers does.
    result = await request(router, "PUT", "/small", body=b'{"a": 1}', headers=headers)
    assert result.status == status
    if status == 400:
        assert result.text == "Expected a JSON body, got Content-Type 'text/plain'"


async def test_request_json_reads_a_subclass_body() -> None:
    class Unwrapped(Echo):
        async def body(self) -> bytes:
            return (await super().body()).removeprefix(b"wrapped:")

    result = await request(Unwrapped, "PUT", "/", body=b'wrapped:{"a": 1}', headers=JSON_HEADERS)
    assert (result.status, json.loads(result.body)) == (200, {"json": {"a": 1}})


async def test_request_json_echoes_a_surrogate_pair() -> None:
    body = b'{"smile": "\\ud83d\\ude00", "raw": "\\\\ud800"}'
    result = await request(router, "PUT", "/echo", body=body, headers=JSON_HEADERS)
    assert result.status == 200
    assert json.loads(result.body) == {"json": {"smile": "\U0001f600", "raw": "\\ud800"}}


# -- max_body_size ---------------------------------------------------------


async def test_request_default_limit_is_one_mib() -> None:
    assert trane.Application.max_body_size == MIB
    exact = await request(router, "POST", "/echo", chunks=[b"x" * (MIB // 2)] * 2)
    assert (exact.status, len(exact.body)) == (200, MIB)
    over = await request(router, "POST", "/echo", chunks=[b"x" * (MIB // 2)] * 2 + [b"x"])
    assert (over.status, over.body) == (413, b"Request body larger than 1048576 bytes")


async def test_request_no_limit_when_none() -> None:
    result = await request(router, "POST", "/unlimited", chunks=[b"x" * MIB] * 2)
    assert (result.status, len(result.body)) == (200, 2 * MIB)


async def test_request_limit_counts_chunks_without_content_length() -> None:
    result = await request(router, "POST", "/small", chunks=[b"x" * 6, b"x" * 6])
    assert (result.status, result.body) == (413, b"Request body larger than 10 bytes")


async def test_request_lying_content_length_does_not_bypass_limit() -> None:
    result = await request(
        router, "POST", "/small", body=b"x" * 11, headers=[(b"content-length", b"3")]
    )
    assert result.status == 413


async def test_request_declared_content_length_over_limit_is_413_before_reading() -> None:
    communicator = Communicator(
        router,
        make_scope("POST", "/small", headers=[(b"content-length", b"11")]),
    )
    # No body is sent at all: the answer comes from the header alone.
    start = await communicator.receive_output(1)
    assert start["status"] == 413
    await communicator.receive_output(1)
    await communicator.wait(1)


@pytest.mark.parametrize(
    "content_length",
    [b"9" * 30, b"9" * 5000],
    ids=["huge", "beyond-int-digit-limit"],
)
async def test_request_huge_content_length_is_413(content_length: bytes) -> None:
    result = await request(
        router, "POST", "/echo", body=b"x", headers=[(b"content-length", content_length)]
    )
    assert (result.status, result.body) == (413, b"Request body larger than 1048576 bytes")


@pytest.mark.parametrize(
    "content_length",
    [b"abc", b"-1", b"1.5", b" 5", b"0x10", b"", "\xb2".encode("latin-1"), "\u0661".encode()],
    ids=[
        "letters",
        "negative",
        "float",
        "space",
        "hex",
        "empty",
        "superscript-two",
        "arabic-one-utf8",
    ],
)
async def test_request_non_digit_content_length_is_400(content_length: bytes) -> None:
    result = await request(
        router, "POST", "/echo", body=b"x", headers=[(b"content-length", content_length)]
    )
    assert result.status == 400
    assert result.text.startswith("Invalid Content-Length")


async def test_request_content_length_ignored_without_limit() -> None:
    result = await request(
        router, "POST", "/unlimited", body=b"abc", headers=[(b"content-length", b"9" * 5000)]
    )
    assert (result.status, result.body) == (200, b"abc")


async def test_request_content_length_with_leading_zeros_is_a_number() -> None:
    result = await request(
        router, "POST", "/small", body=b"abc", headers=[(b"content-length", b"0" * 5000 + b"3")]
    )
    assert (result.status, result.body) == (200, b"abc")
