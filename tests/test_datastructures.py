"""Headers, MutableHeaders, QueryParams, URL and header validation."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from h11._abnf import field_name
from h11._headers import normalize_and_validate
from hypothesis import given, settings
from hypothesis import strategies as st

import trane
from asgi import make_scope, request
from trane.datastructures import encode_header


def h11_abnf_name(name: str) -> bool:
    """Whether h11 takes ``name`` as a header name (an RFC 9110 token)."""
    return re.fullmatch(field_name, name) is not None


class Echo(trane.Application):
    async def get(self) -> dict[str, Any]:
        return {
            "headers": self.headers.multi_items(),
            "query": self.query.multi_items(),
            "url": str(self.url),
        }


# -- Headers -----------------------------------------------------------------


def test_headers_are_case_insensitive_and_multi_valued() -> None:
    headers = trane.Headers([(b"X-A", b"1"), (b"x-a", b"2"), (b"Host", b"h")])
    assert headers["x-a"] == headers["X-A"] == "1"
    assert headers.getlist("X-a") == ["1", "2"]
    assert headers.get("HOST") == "h"
    assert headers.get("missing") is None
    assert headers.get("missing", "d") == "d"
    assert headers.getlist("missing") == []
    assert "x-A" in headers
    assert "missing" not in headers
    assert not headers.__contains__(1)
    assert list(headers) == ["x-a", "host"]
    assert len(headers) == 2
    assert headers.multi_items() == [("X-A", "1"), ("x-a", "2"), ("Host", "h")]
    with pytest.raises(KeyError):
        headers["missing"]


def test_headers_decode_latin1() -> None:
    headers = trane.Headers([(b"x-a", "café".encode("latin-1"))])
    assert headers["x-a"] == "café"


def test_headers_build_their_index_lazily() -> None:
    raw = [(b"x-a", b"1"), (b"X-A", b"2"), (b"host", b"h")]
    headers = trane.Headers(raw)
    assert headers._index is None
    assert headers.raw is raw
    # One name is looked up by scanning the raw pairs: no index is built.
    assert headers["x-a"] == "1"
    assert headers.get("HOST") == "h"
    assert headers.getlist("X-a") == ["1", "2"]
    assert "host" in headers
    assert "missing" not in headers
    assert headers._index is None
    # What needs every name builds it once; lookups use it from then on.
    assert list(headers) == ["x-a", "host"]
    assert headers._index == {"x-a": ["1", "2"], "host": ["h"]}
    assert headers["X-A"] == "1"
    assert headers.getlist("x-a") == ["1", "2"]
    assert dict(headers.items()) == {"x-a": "1", "host": "h"}


def test_headers_non_ascii_names_are_looked_up_as_latin1_text() -> None:
    headers = trane.Headers([("É".encode("latin-1"), b"1"), (b"x-a", b"2")])
    assert headers["é"] == headers.get("É") == "1"
    assert headers.getlist("é") == ["1"]
    assert "é" in headers
    assert "x-a" in headers
    assert headers.get("\u212a") is None  # KELVIN SIGN: not Latin-1
    with pytest.raises(KeyError):
        headers["ü"]


def _model_lookup(raw: list[tuple[bytes, bytes]]) -> dict[str, list[str]]:
    """What Headers answered before it scanned: a dict of decoded, lower-cased names."""
    index: dict[str, list[str]] = {}
    for name, value in raw:
        index.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    return index


_HEADER_NAMES = st.sampled_from(
    [b"x-a", b"X-A", b"x-A", b"x-b", b"xa", b"host", b"Host", b"\xc9", b"\xe9", b"a-x", b""]
)
_KEYS = st.sampled_from(["x-a", "X-a", "x-b", "xa", "host", "HOST", "é", "É", "\xe9", "", "-"])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(_HEADER_NAMES, st.binary(max_size=4)), max_size=8),
    st.lists(_KEYS, max_size=4),
)
def test_headers_lookups_match_the_decoded_dict(
    raw: list[tuple[bytes, bytes]], keys: list[str]
) -> None:
    model = _model_lookup(raw)
    scanned, indexed = trane.Headers(raw), trane.Headers(raw)
    assert list(indexed) == list(model)  # builds its index
    for key in keys:
        for headers in (scanned, indexed):
            values = model.get(key.lower(), [])
            assert headers.get(key) == (values[0] if values else None)
            assert headers.getlist(key) == values
            assert (key in headers) == bool(values)
            if values:
                assert headers[key] == values[0]
            else:
                with pytest.raises(KeyError):
                    headers[key]
    if all(key.isascii() for key in keys):  # a non-ASCII key is looked up in the index
        assert scanned._index is None


def test_headers_repr() -> None:
    assert repr(trane.Headers([(b"a", b"1")])) == "Headers([('a', '1')])"


# -- MutableHeaders ----------------------------------------------------------


def test_mutable_headers_set_replaces_and_add_appends() -> None:
    headers = trane.MutableHeaders()
    headers["X-A"] = "1"
    headers.add("x-a", "2")
    assert headers.raw == [(b"x-a", b"1"), (b"x-a", b"2")]
    assert headers.getlist("x-a") == ["1", "2"]
    headers["x-a"] = "3"
    assert headers.raw == [(b"x-a", b"3")]
    assert headers.setdefault("x-a", "4") == "3"
    assert headers.setdefault("x-b", "5") == "5"
    headers.update({"x-c": "6", "X-B": "7"})
    assert headers.multi_items() == [("x-a", "3"), ("x-c", "6"), ("x-b", "7")]
    del headers["X-C"]
    assert "x-c" not in headers
    with pytest.raises(KeyError):
        del headers["x-c"]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("x-a", "1\r\nSet-Cookie: a=b", "contains CR, LF or NUL"),
        ("x-a", "1\n", "contains CR, LF or NUL"),
        ("x-a", "1\r", "contains CR, LF or NUL"),
        ("x-a", "1\x00", "contains CR, LF or NUL"),
        ("x-a", "1\x01", "contains a control character"),
        ("x-a", "a\x0bb", "contains a control character"),
        ("x-a", "1\x7f", "contains a control character"),
        ("x-a", "\x1b[31m", "contains a control character"),
        ("x-a", "1\x0c", "contains a control character"),
        ("x-a", "\u20ac", "not Latin-1"),
        ("x-a\r\nx-b", "1", "invalid header name"),
        ("x a", "1", "invalid header name"),
        ("x-a:", "1", "invalid header name"),
        ("", "1", "invalid header name"),
        ("caf\u00e9", "1", "invalid header name"),
        ("\u20ac", "1", "header name must be a Latin-1 string"),
    ],
)
def test_mutable_headers_refuse_injection(name: str, value: str, message: str) -> None:
    headers = trane.MutableHeaders()
    with pytest.raises(ValueError, match=message):
        headers[name] = value
    with pytest.raises(ValueError, match=message):
        headers.add(name, value)
    assert headers.raw == []


def test_encode_header_lowercases_and_encodes() -> None:
    assert encode_header("X-Id", "café") == (b"x-id", "café".encode("latin-1"))
    assert encode_header("x", "\ta  b\tc ") == (b"x", b"a  b\tc")  # the ends are stripped
    assert encode_header("x", "") == (b"x", b"")
    assert encode_header("x", 7) == (b"x", b"7")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="header name must be a Latin-1 string"):
        encode_header(7, "x")  # type: ignore[arg-type]


def _in_field_value_grammar(value: str) -> bool:
    """RFC 9110: field-vchar (VCHAR / obs-text), with SP and HTAB between them."""
    return all(ch in " \t" or "!" <= ch <= "~" or "\x80" <= ch <= "\xff" for ch in value)


@settings(max_examples=300, deadline=None)
@given(
    name=st.one_of(st.sampled_from(["x-a", "X-Id", "set-cookie"]), st.text(max_size=8)),
    value=st.text(st.characters(max_codepoint=0x17F), max_size=20),
)
def test_encode_header_accepts_only_what_h11_accepts(name: str, value: str) -> None:
    try:
        raw_name, raw_value = encode_header(name, value)
    except ValueError:
        # Refused: the name is no token, or the value holds a character
        # outside the field-value grammar (the ends are stripped first).
        assert not h11_abnf_name(name) or not _in_field_value_grammar(value.strip(" \t"))
    else:
        assert normalize_and_validate([(raw_name, raw_value)])  # h11 sends it
        assert raw_value == value.strip(" \t").encode("latin-1")


# -- QueryParams ---------------------------------------------------------------


def test_query_params_are_multi_valued() -> None:
    query = trane.QueryParams(b"tag=a&tag=b&x=%20y&empty=&plus=a+b")
    assert query["tag"] == "a"
    assert query.getlist("tag") == ["a", "b"]
    assert query["x"] == " y"
    assert query["empty"] == ""
    assert query["plus"] == "a b"
    assert query.get("missing") is None
    assert query.getlist("missing") == []
    assert list(query) == ["tag", "x", "empty", "plus"]
    assert len(query) == 4
    assert dict(query) == {"tag": "a", "x": " y", "empty": "", "plus": "a b"}
    assert query.multi_items()[:2] == [("tag", "a"), ("tag", "b")]


def test_query_params_from_str_and_pairs() -> None:
    assert trane.QueryParams("a=1&a=2").getlist("a") == ["1", "2"]
    pairs = trane.QueryParams([("a", "1 2"), ("b", "&")])
    assert str(pairs) == "a=1+2&b=%26"
    assert repr(pairs) == "QueryParams('a=1+2&b=%26')"
    assert len(trane.QueryParams()) == 0


_QUERY_TEXT = st.text(alphabet=st.sampled_from("ab=&+%;2F é\x00"), max_size=24)


@settings(max_examples=300, deadline=None)
@given(_QUERY_TEXT | st.binary(max_size=24))
def test_query_params_parse_as_parse_qsl_does(query: str | bytes) -> None:
    # The split without unquoting (taken when nothing is escaped) and parse_qsl
    # must give the same pairs, from bytes (as a server sends) and from text.
    text = query.decode("latin-1") if isinstance(query, bytes) else query
    expected = parse_qsl(text, keep_blank_values=True)
    assert trane.QueryParams(query).multi_items() == expected


# -- URL -------------------------------------------------------------------


def test_url_from_scope_uses_host_header() -> None:
    url = trane.URL.from_scope(make_scope(path="/a/b", query=b"x=1"))
    assert str(url) == "http://testserver/a/b?x=1"
    assert (url.scheme, url.netloc, url.path, url.query) == ("http", "testserver", "/a/b", "x=1")
    assert url == "http://testserver/a/b?x=1"
    assert hash(url) == hash("http://testserver/a/b?x=1")
    assert repr(url) == "URL('http://testserver/a/b?x=1')"


@pytest.mark.parametrize(
    ("scheme", "server", "netloc"),
    [
        ("http", ("10.0.0.1", 80), "10.0.0.1"),
        ("http", ("10.0.0.1", 8000), "10.0.0.1:8000"),
        ("https", ("10.0.0.1", 443), "10.0.0.1"),
        ("https", ("10.0.0.1", 80), "10.0.0.1:80"),
        ("http", ("unix.sock", None), "unix.sock"),
    ],
)
def test_url_from_scope_falls_back_to_server(
    scheme: str, server: tuple[str, int | None], netloc: str
) -> None:
    scope = make_scope(path="/p", scheme=scheme, server=server)
    scope["headers"] = []
    assert str(trane.URL.from_scope(scope)) == f"{scheme}://{netloc}/p"


def test_url_from_scope_without_host_or_server_is_a_path() -> None:
    scope = make_scope(path="/p", query=b"q=1", server=None)
    scope["headers"] = []
    assert str(trane.URL.from_scope(scope)) == "/p?q=1"


def test_url_from_websocket_scope_defaults_to_ws() -> None:
    scope = make_scope(path="/ws", kind="websocket")
    del scope["scheme"]
    assert str(trane.URL.from_scope(scope)) == "ws://testserver/ws"


def test_url_root_path_is_not_doubled() -> None:
    # ASGI: path already includes root_path; old servers sent it without.
    modern = make_scope(path="/app/x", root_path="/app")
    legacy = make_scope(path="/x", root_path="/app")
    assert trane.URL.from_scope(modern).path == "/app/x"
    assert trane.URL.from_scope(legacy).path == "/app/x"


@pytest.mark.parametrize(
    "host",
    [
        "example.com/admin?x=",  # would put a path and query before the real path
        "evil.com:80@good.com",  # a URL parser reads the host as good.com
        "evil.com#",
        "evil.com\\@good.com",
        "a b",
        "example.com:99999",
        "example.com:",
        ":80",
        "[::zz]",
        "[1.2.3.4]",
        "exämple.com",
        "",
    ],
)
def test_url_from_scope_ignores_a_malformed_host_header(host: str) -> None:
    scope = make_scope(path="/public", server=("10.0.0.1", 8000))
    scope["headers"] = [(b"host", host.encode("latin-1"))]
    url = trane.URL.from_scope(scope)
    assert str(url) == "http://10.0.0.1:8000/public"
    assert (url.hostname, url.port) == ("10.0.0.1", 8000)


@pytest.mark.parametrize(
    ("host", "hostname", "port"),
    [
        ("Example.COM", "example.com", None),
        ("example.com:8080", "example.com", 8080),
        ("127.0.0.1:0", "127.0.0.1", 0),
        ("[::1]:8000", "::1", 8000),
        ("[2001:DB8::1]", "2001:db8::1", None),
        ("my_service.internal.", "my_service.internal.", None),
    ],
)
def test_url_from_scope_keeps_a_valid_host_header(
    host: str, hostname: str, port: int | None
) -> None:
    scope = make_scope(path="/p")
    scope["headers"] = [(b"host", host.encode())]
    url = trane.URL.from_scope(scope)
    assert str(url) == f"http://{host}/p"
    assert (url.hostname, url.port) == (hostname, port)


def test_url_from_scope_brackets_an_ipv6_server_address() -> None:
    scope = make_scope(path="/p", server=("::1", 8000))
    scope["headers"] = []
    url = trane.URL.from_scope(scope)
    assert str(url) == "http://[::1]:8000/p"
    assert (url.hostname, url.port) == ("::1", 8000)


def test_url_without_a_netloc_has_no_hostname() -> None:
    url = trane.URL("http", "", "/p")
    assert (url.hostname, url.port) == (None, None)


_HOST_PIECES = st.sampled_from(
    ["example.com", "good.com", "[::1]", "127.0.0.1", ":", ":80", "@", "/", "?", "#", "\\",
     "[", "]", "%2F", " ", "\t", "..", "ä", ":99999", "\x00", "\xff"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    host=st.one_of(
        st.binary(max_size=30),
        st.lists(_HOST_PIECES, max_size=6).map(lambda parts: "".join(parts).encode("latin-1")),
    )
)
def test_url_host_reparses_to_its_own_hostname_and_port(host: bytes) -> None:
    scope = make_scope(path="/public", query=b"q=1", server=("10.0.0.1", 8000))
    scope["headers"] = [(b"host", host)]
    url = trane.URL.from_scope(scope)
    parts = urlsplit(str(url))
    assert (parts.hostname, parts.port) == (url.hostname, url.port)
    assert url.hostname is not None
    assert (parts.path, parts.query, parts.fragment) == ("/public", "q=1", "")


async def test_datastructures_in_a_view() -> None:
    result = await request(Echo, "GET", "/e", query=b"a=1&a=2", headers=[(b"X-Y", b"z")])
    assert result.status == 200
    assert result.text == (
        '{"headers":[["host","testserver"],["X-Y","z"]],'
        '"query":[["a","1"],["a","2"]],"url":"http://testserver/e?a=1&a=2"}'
    )
