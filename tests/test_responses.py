"""Response classes, cookies, redirects, streaming and the response state machine."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

import trane
from asgi import make_scope, recorder, request
from communicator import Communicator
from trane import responses
from trane.responses import ResponseStream, format_cookie, json_dumps, json_text, speaks_spec_2_4
from trane.types import Message

events: list[str] = []


async def numbers(n: int) -> AsyncIterator[str]:
    try:
        for i in range(n):
            yield f"{i}\n"
    finally:
        events.append("closed")


async def forever() -> AsyncIterator[bytes]:
    try:
        while True:
            yield b"tick\n"
            await asyncio.sleep(0)
    finally:
        events.append("closed")


def sync_chunks() -> Iterator[str | bytes]:
    yield "a"
    yield b""
    yield b"b"


class Views(trane.Application):
    async def get(self, kind: str) -> trane.Response:
        if kind == "plain":
            return trane.PlainTextResponse("héllo", headers={"x-a": "1"})
        if kind == "html":
            return trane.HTMLResponse("<h1>hi</h1>", status=201)
        if kind == "json":
            return trane.JSONResponse({"a": "é", "b": None}, status=202)
        if kind == "bytes":
            return trane.Response(b"\x00", media_type="image/png")
        if kind == "empty":
            return trane.Response(status=204)
        if kind == "redirect":
            return trane.RedirectResponse("/to/é?q=1 2#frag")
        if kind == "see-other":
            return trane.RedirectResponse("https://example.org/", status=303)
        if kind == "stream":
            return trane.StreamingResponse(numbers(3), media_type="text/plain")
        if kind == "sync-stream":
            return trane.StreamingResponse(sync_chunks(), headers={"x-s": "1"})
        if kind == "forever":
            return trane.StreamingResponse(forever(), media_type="text/plain")
        if kind == "cookies":
            response = trane.PlainTextResponse("cookies")
            response.set_cookie("sid", "a b;c", max_age=60, secure=True, httponly=True)
            response.set_cookie(
                "pref", "dark", path="/app", domain="example.org", samesite="strict"
            )
            response.delete_cookie("old")
            return response
        raise trane.HTTPError(404)


router = trane.Router([trane.Route("/{kind}", Views)])


@pytest.fixture(autouse=True)
def _clear_events() -> None:
    events.clear()


# -- plain responses -----------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status", "body", "content_type"),
    [
        ("plain", 200, "héllo".encode(), "text/plain; charset=utf-8"),
        ("html", 201, b"<h1>hi</h1>", "text/html; charset=utf-8"),
        ("json", 202, '{"a":"é","b":null}'.encode(), "application/json"),
        ("bytes", 200, b"\x00", "image/png"),
    ],
)
async def test_response_classes_set_body_type_and_length(
    kind: str, status: int, body: bytes, content_type: str
) -> None:
    result = await request(router, "GET", f"/{kind}")
    assert (result.status, result.body) == (status, body)
    assert result.header("content-type") == content_type
    assert result.header("content-length") == str(len(body))


async def test_response_keeps_given_headers() -> None:
    result = await request(router, "GET", "/plain")
    assert result.header("x-a") == "1"


async def test_response_204_has_no_length_or_type() -> None:
    result = await request(router, "GET", "/empty")
    assert (result.status, result.body, result.headers) == (204, b"", [])


async def test_response_head_keeps_headers_and_drops_body() -> None:
    get = await request(router, "GET", "/json")
    head = await request(router, "HEAD", "/json")
    assert head.headers == get.headers
    assert head.body == b""


async def test_response_is_itself_an_asgi3_app() -> None:
    response = trane.PlainTextResponse("direct", status=201)
    result = await request(response, "GET", "/")
    assert (result.status, result.body) == (201, b"direct")


def test_response_rejects_bad_status_and_content() -> None:
    with pytest.raises(ValueError, match="invalid HTTP status 600"):
        trane.Response(status=600)
    with pytest.raises(ValueError, match="invalid HTTP status 99"):
        trane.Response(status=99)
    with pytest.raises(TypeError, match="must be str or bytes, got dict"):
        trane.Response({"a": 1})
    with pytest.raises(ValueError, match="Out of range float"):
        trane.JSONResponse({"nan": float("nan")})


@pytest.mark.parametrize(
    "value",
    [
        {"hello": "wörld", "n": [1, 2.5, -3], "t": True, "f": False, "z": None},
        ["\u2028", '"quoted"', "back\\slash", "\x00\x1f"],
        {"nested": {"deep": [[{"a": []}]]}, "big": 10**30, "float": 1e-7},
        "top-level string",
        [],
    ],
)
def test_json_dumps_matches_json_dumps(value: Any) -> None:
    expected = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    assert json_dumps(value) == expected.encode()
    assert json_text(value) == expected


def test_json_dumps_refuses_what_json_cannot_encode() -> None:
    with pytest.raises(ValueError, match="Out of range float"):
        json_dumps([float("inf")])
    for encode in (json_dumps, json_text):
        with pytest.raises(ValueError, match=r"a lone surrogate '\\udc00' is no text"):
            encode({"é": "\udc00"})
        with pytest.raises(ValueError, match="Out of range float"):
            encode({"nan": float("nan")})
    with pytest.raises(TypeError, match="not JSON serializable"):
        json_dumps({"when": object()})
    circular: list[Any] = []
    circular.append(circular)
    with pytest.raises(RecursionError):
        json_dumps(circular)
    assert json_dumps({"still": "fine"}) == b'{"still":"fine"}'  # no state left behind


def test_json_dumps_without_the_c_encoder_gives_the_same_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Pythons without json's C accelerator (PyPy) take the fallback.
    value = {"hello": "wörld", "n": [1, 2.5, None], "s": '\u2028"\\'}
    monkeypatch.setattr(json.encoder, "c_make_encoder", None)
    encode = responses._one_shot_encoder()
    assert encode(value).encode() == json_dumps(value)
    with pytest.raises(ValueError, match="Out of range float"):
        encode([float("nan")])


def test_response_repr_names_class_and_status() -> None:
    assert repr(trane.JSONResponse({}, status=201)) == "JSONResponse(status=201)"
    assert repr(trane.Response()) == "Response(status=200)"


async def test_a_view_returning_unencodable_json_is_a_500() -> None:
    circular: dict[str, Any] = {}
    circular["self"] = circular

    class Bad(trane.Application):
        async def get(self) -> dict[str, Any]:
            return circular if self.query.get("kind") == "circular" else {"x": object()}

    for kind in ("circular", "object"):
        result = await request(Bad, "GET", "/", query=f"kind={kind}")
        assert (result.status, result.body) == (500, b"Internal Server Error")


def test_response_explicit_content_type_and_length_win() -> None:
    response = trane.PlainTextResponse(
        "x", headers={"content-type": "text/csv", "content-length": "1"}
    )
    assert response.headers.getlist("content-type") == ["text/csv"]
    assert response.headers.getlist("content-length") == ["1"]


def test_response_headers_are_validated_at_construction() -> None:
    with pytest.raises(ValueError, match="contains CR, LF or NUL"):
        trane.Response(headers={"x-a": "1\r\nx-b: 2"})
    with pytest.raises(ValueError, match="invalid header name"):
        trane.Response(headers={"x-a\r\nx-b": "2"})
    with pytest.raises(ValueError, match="not Latin-1"):
        trane.Response(headers={"x-a": "\u2603"})


# -- cookies -----------------------------------------------------------------


async def test_response_cookies_are_formatted_and_validated() -> None:
    result = await request(router, "GET", "/cookies")
    assert result.header_list("set-cookie") == [
        'sid="a\\040b\\073c"; Max-Age=60; Path=/; Secure; HttpOnly; SameSite=Lax',
        "pref=dark; Path=/app; Domain=example.org; SameSite=Strict",
        "old=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; SameSite=Lax",
    ]


def test_format_cookie_expires_forms() -> None:
    when = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    expected = "k=v; Expires=Wed, 02 Jan 2030 03:04:05 GMT; Path=/; SameSite=Lax"
    assert format_cookie("k", "v", expires=when) == expected
    assert format_cookie("k", "v", expires=when.replace(tzinfo=None)) == expected
    shifted = when.astimezone(timezone(timedelta(hours=2)))
    assert format_cookie("k", "v", expires=shifted) == expected
    assert format_cookie("k", "v", expires=int(when.timestamp())) == expected
    assert format_cookie("k", "v", expires="Wed, 02 Jan 2030 03:04:05 GMT") == expected


def test_format_cookie_minimal() -> None:
    assert format_cookie("k", path=None, samesite=None) == "k="
    assert format_cookie("k", "v", samesite="None", secure=True) == (
        "k=v; Path=/; Secure; SameSite=None"
    )


@pytest.mark.parametrize(
    ("key", "options", "message"),
    [
        ("bad name", {}, "invalid cookie name"),
        ("a;b", {}, "invalid cookie name"),
        ("a\r\nb", {}, "invalid cookie name"),
        ("", {}, "invalid cookie name"),
        ("k", {"samesite": "sometimes"}, "samesite must be"),
        ("k", {"samesite": "none"}, "requires secure=True"),
        ("k", {"max_age": "60"}, "max_age must be an int"),
        ("k", {"max_age": True}, "max_age must be an int"),
        ("k", {"path": "/a; Domain=evil"}, "invalid cookie path"),
        ("k", {"path": "/\r\nx-evil: 1"}, "invalid cookie path"),
        ("k", {"domain": "a.org;x"}, "invalid cookie domain"),
        ("k", {"expires": "Wed;x"}, "invalid cookie expires"),
    ],
)
def test_format_cookie_refuses_bad_attributes(
    key: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        format_cookie(key, "v", **options)


def test_format_cookie_quotes_unsafe_values() -> None:
    assert format_cookie("k", 'a;b\r\n"c', path=None, samesite=None) == (
        'k="a\\073b\\015\\012\\042c"'
    )


# -- redirects ---------------------------------------------------------------


async def test_redirect_response_defaults_to_307_and_quotes_location() -> None:
    result = await request(router, "GET", "/redirect")
    assert result.status == 307
    assert result.header("location") == "/to/%C3%A9?q=1%202#frag"
    assert result.header("content-length") == "0"
    other = await request(router, "GET", "/see-other")
    assert (other.status, other.header("location")) == (303, "https://example.org/")


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "  javascript:alert(1)",
        "java\tscript:alert(1)",
        "\x01javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "DATA:text/html;base64,PHNjcmlwdD4=",
        "vbscript:msgbox(1)",
    ],
)
def test_redirect_response_refuses_unsafe_schemes(url: str) -> None:
    with pytest.raises(ValueError, match="unsafe URL scheme"):
        trane.RedirectResponse(url)


@pytest.mark.parametrize("url", ["/a\r\nSet-Cookie: x=1", "/a\nb", "/a\rb", "/a\x00b"])
def test_redirect_response_refuses_crlf(url: str) -> None:
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        trane.RedirectResponse(url)


def test_redirect_response_refuses_non_redirect_status() -> None:
    with pytest.raises(ValueError, match="redirect status must be"):
        trane.RedirectResponse("/", status=200)


def test_redirect_response_allows_ordinary_urls() -> None:
    for url in ("/path", "https://example.org/x", "//cdn.example.org/a", "mailto:a@b.org"):
        assert trane.RedirectResponse(url).headers["location"] == url


# -- streaming ---------------------------------------------------------------


async def test_streaming_response_sends_chunks_with_more_body() -> None:
    result = await request(router, "GET", "/stream")
    assert result.status == 200
    assert result.header("content-type") == "text/plain; charset=utf-8"
    assert result.header("content-length") is None
    bodies = [(m["body"], m["more_body"]) for m in result.messages[1:]]
    assert bodies == [(b"0\n", True), (b"1\n", True), (b"2\n", True), (b"", False)]
    assert events == ["closed"]


async def test_streaming_response_takes_sync_iterators_and_skips_empty_chunks() -> None:
    result = await request(router, "GET", "/sync-stream")
    assert result.header("x-s") == "1"
    assert result.header("content-type") is None
    assert [m["body"] for m in result.messages[1:]] == [b"a", b"b", b""]


async def test_streaming_response_of_a_list_can_be_sent_again() -> None:
    # A list is not an iterator: nothing to close, and it is all there the next time.
    response = trane.StreamingResponse(["a", b"b"])
    first = await request(response, "GET", "/")
    again = await request(response, "GET", "/")
    assert first.body == again.body == b"ab"
    head = await request(response, "HEAD", "/")
    assert (head.status, head.body) == (200, b"")


async def test_streaming_response_head_sends_no_body() -> None:
    result = await request(router, "HEAD", "/stream")
    assert result.header("content-type") == "text/plain; charset=utf-8"
    assert result.body == b""


async def test_streaming_response_stops_when_client_disconnects() -> None:
    communicator = Communicator(router, make_scope("GET", "/forever"))
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    assert (await communicator.receive_output(1))["type"] == "http.response.start"
    assert (await communicator.receive_output(1))["body"] == b"tick\n"
    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait(1)  # returns: the endless generator was stopped
    assert events == ["closed"]


async def test_streaming_response_error_mid_stream_propagates() -> None:
    async def failing() -> AsyncIterator[bytes]:
        yield b"ok"
        raise RuntimeError("mid-stream")

    sent, receive, send = recorder()
    with pytest.raises(RuntimeError, match="mid-stream"):
        await trane.StreamingResponse(failing())(make_scope(), receive, send)
    assert [m.get("more_body") for m in sent] == [None, True]


# -- the state machine -------------------------------------------------------


async def _collect(
    messages: list[Message], head: bool = False, extensions: dict[str, Any] | None = None
) -> list[Message]:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    stream = ResponseStream(send, head=head, extensions=extensions)
    for message in messages:
        await stream(message)
    return sent


START: Message = {"type": "http.response.start", "status": 200, "headers": []}
MORE: Message = {"type": "http.response.body", "body": b"a", "more_body": True}
LAST: Message = {"type": "http.response.body", "body": b"b"}


async def test_response_stream_allows_start_body_end() -> None:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    stream = ResponseStream(send)
    assert (stream.state, stream.started, stream.done) == ("IDLE", False, False)
    await stream(START)
    assert (stream.state, stream.started, stream.status) == ("STARTED", True, 200)
    await stream(MORE)
    await stream(LAST)
    assert (stream.state, stream.done) == ("DONE", True)
    assert sent == [START, MORE, LAST]


async def test_response_stream_pathsend_ends_the_response() -> None:
    offered: dict[str, Any] = {"http.response.pathsend": {}}
    sent = await _collect([START, {"type": "http.response.pathsend", "path": "/x"}], False, offered)
    assert len(sent) == 2


@pytest.mark.parametrize(
    "message",
    [
        {"type": "http.response.pathsend", "path": "/x"},
        {"type": "http.response.zerocopysend", "file": 3},
        {"type": "http.response.trailers", "headers": []},
    ],
    ids=["pathsend", "zerocopysend", "trailers"],
)
async def test_response_stream_refuses_extensions_the_server_did_not_offer(
    message: Message,
) -> None:
    # Not "already complete" (the old message): the server offered no such extension.
    with pytest.raises(trane.ResponseStateError, match=r"did not offer the 'http\.response"):
        await _collect([START, message])


async def test_response_stream_trailers_follow_the_body_when_offered() -> None:
    offered: dict[str, Any] = {"http.response.trailers": {}}
    start = {**START, "trailers": True}
    trailers = {"type": "http.response.trailers", "headers": [(b"x-sum", b"1")]}
    sent = await _collect([start, MORE, LAST, trailers], False, offered)
    assert sent == [start, MORE, LAST, trailers]
    with pytest.raises(trane.ResponseStateError, match=r"only http\.response\.trailers may follow"):
        await _collect([start, LAST, MORE], False, offered)
    with pytest.raises(trane.ResponseStateError, match="did not offer"):
        await _collect([start], False, {})


async def test_response_stream_zerocopysend_when_offered() -> None:
    offered: dict[str, Any] = {"http.response.zerocopysend": {}}
    more = {"type": "http.response.zerocopysend", "file": 3, "more_body": True}
    last = {"type": "http.response.zerocopysend", "file": 3}
    assert len(await _collect([START, more, last], False, offered)) == 3


async def test_response_stream_turns_oserror_into_client_disconnect() -> None:
    # ASGI spec 2.4: a send to a gone client raises OSError.
    async def gone(message: Message) -> None:
        raise OSError("client gone")

    stream = ResponseStream(gone)
    with pytest.raises(trane.ClientDisconnect):
        await stream(START)


@pytest.mark.parametrize(
    ("messages", "error"),
    [
        ([MORE], "cannot send http.response.body (more_body=True) now: the response has not"),
        ([LAST], "cannot send http.response.body (more_body=False) now: the response has not"),
        ([START, START], "cannot send http.response.start now: the response has already started"),
        (
            [START, LAST, MORE],
            "cannot send http.response.body (more_body=True) now: the "
            "response is already complete; nothing may follow it",
        ),
        (
            [START, LAST, LAST],
            "cannot send http.response.body (more_body=False) now: the "
            "response is already complete",
        ),
        (
            [START, LAST, START],
            "cannot send http.response.start now: the response is already complete",
        ),
        ([{"type": "http.response.bogus"}], "unknown HTTP response message type 'http.re"),
    ],
    ids=[
        "body-first",
        "end-first",
        "two-starts",
        "after-end",
        "two-ends",
        "start-after-end",
        "unknown",
    ],
)
async def test_response_stream_refuses_out_of_order_messages(
    messages: list[Message], error: str
) -> None:
    with pytest.raises(trane.ResponseStateError) as info:
        await _collect(messages)
    assert str(info.value).startswith(error)


async def test_response_stream_refused_message_is_not_sent() -> None:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    stream = ResponseStream(send)
    await stream(START)
    with pytest.raises(trane.ResponseStateError):
        await stream(START)
    assert sent == [START]


async def test_a_response_sent_into_a_started_stream_is_refused() -> None:
    # A view that streamed, then sends a whole Response into its stream.
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    stream = ResponseStream(send)
    await stream(START)
    _, receive, _ = recorder()
    with pytest.raises(trane.ResponseStateError, match="the response has already started"):
        await trane.PlainTextResponse("whole")(make_scope(), receive, stream)
    assert sent == [START]


async def test_response_stream_sent_refuses_everything() -> None:
    # What a view's stray task meets once its returned value went out whole.
    stream = ResponseStream.sent()
    assert stream.done
    for message in (START, MORE, LAST):
        with pytest.raises(trane.ResponseStateError, match="already complete"):
            await stream(message)
    with pytest.raises(trane.ResponseStateError, match="already complete"):
        await stream.send_all(200, [], b"late")


@pytest.mark.parametrize(
    ("spec_version", "speaks"),
    [
        ("2.4", True),
        ("2.5", True),
        ("3", True),
        ("2.3", False),
        ("2", False),
        (None, False),
        ("two", False),
        ("2.x", False),
        ("", False),
    ],
)
def test_speaks_spec_2_4_only_for_a_well_formed_version(
    spec_version: str | None, speaks: bool
) -> None:
    # Only a server known to raise OSError for a gone client is spared the watcher.
    asgi = {"version": "3.0"} if spec_version is None else {"spec_version": spec_version}
    assert speaks_spec_2_4(make_scope(asgi=asgi)) is speaks


async def test_response_stream_head_is_complete_once_the_headers_are_out() -> None:
    sent = await _collect([START, LAST], head=True)
    assert sent[0] is START
    assert [(m["body"], m.get("more_body", False)) for m in sent[1:]] == [(b"", False)]
    # A streamed body is not wanted: the producer is told to stop, as for a gone client.
    with pytest.raises(trane.BodyNotWanted):
        await _collect([START, MORE], head=True)
    assert issubclass(trane.BodyNotWanted, trane.ClientDisconnect)


@pytest.mark.parametrize("response_class", [trane.Response, trane.StreamingResponse])
@pytest.mark.parametrize(
    ("media_type", "message"),
    [("text/html\r\nSet-Cookie: a=b", "contains CR, LF or NUL"), ("text/\u2603", "not Latin-1")],
)
def test_response_media_type_is_validated_like_any_header(
    response_class: type[trane.Response], media_type: str, message: str
) -> None:
    content: Any = [] if response_class is trane.StreamingResponse else b""
    with pytest.raises(ValueError, match=message):
        response_class(content, media_type=media_type)
