"""Strict JSON in (parse_json) and out (json_dumps): only what can be sent back."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trane import strictjson
from trane.responses import json_dumps
from trane.strictjson import parse_json

REFUSED = [
    (b"NaN", "NaN is not a JSON number"),
    (b"[Infinity]", "Infinity is not a JSON number"),
    (b'{"a": -Infinity}', "-Infinity is not a JSON number"),
    (b"1e999", "number 1e999 is out of range"),
    (b"[-1.5E+400]", r"number -1\.5E\+400 is out of range"),
    (b"1" * 400 + b".0", "is out of range"),
    (b'"\\ud800"', "lone surrogate"),
    (b'"\\uDFFF x"', "lone surrogate"),
    (b'{"\\ud83d": 1}', "lone surrogate"),  # in a key
    (b'["\\ude00\\ud83d"]', "lone surrogate"),  # a pair the wrong way round
    (b'"\xed\xa0\x80"', "invalid continuation byte"),  # a surrogate encoded in UTF-8
    ('"\\ud800"'.encode("utf-16"), "invalid start byte"),  # UTF-16: not UTF-8
    (b"\xef\xbb\xbf", "Expecting value"),
]


@pytest.mark.parametrize(("body", "message"), REFUSED)
def test_parse_json_refuses_what_cannot_be_sent_back(body: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_json(body)


@pytest.mark.parametrize(
    ("body", "value"),
    [
        (b'"\\ud83d\\ude00"', "\U0001f600"),  # a pair is one character
        (b'"\\\\ud800"', "\\ud800"),  # an escaped backslash, then text
        (b"1e308", 1e308),
        (b"-0.0", -0.0),
        (b"1e-999", 0.0),  # underflow is a number, just a small one
        (b"\xef\xbb\xbf[1]", [1]),  # a UTF-8 byte order mark is skipped
        # msgspec refuses the mark: the exact way then checks the escape-like text
        (b'\xef\xbb\xbf["\\\\ud800", {"\\u00e9": [1]}]', ["\\ud800", {"\u00e9": [1]}]),
        ('"\U0001f600"'.encode(), "\U0001f600"),
        (b'{"a": [1, 2.5, null, true]}', {"a": [1, 2.5, None, True]}),
    ],
)
def test_parse_json_accepts_json(body: bytes, value: Any) -> None:
    assert parse_json(body) == value
    assert parse_json(body.decode("utf-8-sig")) == value


def test_parse_json_refuses_a_raw_surrogate_in_text() -> None:
    with pytest.raises(ValueError, match="lone surrogate"):
        parse_json('["\ud800"]')


def test_json_dumps_refuses_what_it_cannot_send_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="cannot encode as JSON: Out of range float"):
        json_dumps({"x": float("nan")})
    with pytest.raises(ValueError, match="cannot encode as JSON: a lone surrogate '\\\\ud800'"):
        json_dumps(["ok", "\ud800"])


# -- the invariant ---------------------------------------------------------------

# Any JSON value Python's encoder can write, NaN, infinities and surrogates too.
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(st.characters(codec=None, min_codepoint=0, max_codepoint=0xFFFF), max_size=8),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
)


def _sendable(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return not any("\ud800" <= ch <= "\udfff" for ch in value)
    if isinstance(value, list):
        return all(_sendable(item) for item in value)
    if isinstance(value, dict):
        return all(_sendable(k) and _sendable(v) for k, v in value.items())
    return True


@settings(max_examples=300, deadline=None)
@given(value=_VALUES, ascii_escapes=st.booleans())
def test_parse_json_takes_exactly_what_json_dumps_can_send(value: Any, ascii_escapes: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_escapes)
    try:
        body = text.encode("utf-8")
    except UnicodeEncodeError:
        body = text.encode("utf-8", "surrogatepass")  # what json.loads(bytes) would take
    try:
        parsed = parse_json(body)
    except ValueError:
        assert not _sendable(value)
    else:
        assert _sendable(value)
        assert json_dumps(parsed) == json_dumps(value)


# -- the fast path (the C scanner called directly) ----------------------------------


@pytest.mark.parametrize(
    ("body", "value"),
    [(b" [1]", [1]), (b"[1]\n", [1]), (b"\t{} \r\n", {}), (b'"x"', "x"), (b"7", 7)],
)
def test_parse_json_takes_whitespace_around_the_value(body: bytes, value: Any) -> None:
    assert parse_json(body) == value


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "Expecting value: line 1 column 1"),
        (b"  ", "Expecting value: line 1 column 3"),
        (b"[1] x", "Extra data: line 1 column 5"),
        (b"[1]]", "Extra data: line 1 column 4"),
        (b'{"a" 1}', "Expecting ':' delimiter: line 1 column 6"),
        (b" nul", "Expecting value: line 1 column 2"),
    ],
)
def test_parse_json_errors_say_what_and_where(body: bytes, message: str) -> None:
    with pytest.raises(json.JSONDecodeError, match=message):
        parse_json(body)


# Text from JSON's own pieces, so that most examples are JSON or nearly so.
_JSONISH = st.lists(
    st.sampled_from(['{"a":', "[", "]", "}", ",", " ", "\n", "1", "-2.5", '"x"', "null", "tru"]),
    max_size=10,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(_JSONISH)
def test_parse_json_agrees_with_json_loads(text: str) -> None:
    expected: Any
    try:
        expected = json.loads(text)
    except json.JSONDecodeError as exc:
        expected = (exc.msg, exc.pos)
        with pytest.raises(json.JSONDecodeError) as caught:
            parse_json(text.encode())
        assert (caught.value.msg, caught.value.pos) == expected
        return
    assert parse_json(text.encode()) == expected
    assert parse_json(text) == expected


# -- msgspec first; what it refuses goes the json module's way -----------------------

_PIECES = st.sampled_from(
    [
        *(b'{"a":', b"[", b"]", b"}", b",", b" ", b'"', b"\\", b"x", b"null", b"true"),
        *(b"0", b"-", b"1.5", b"e", b"E+", b"-0.0", b"1e999", b"4.9e-325", b"NaN", b"Infinity"),
        *(b"19999999999999999999", b"-18446744073709551617", b"1" * 5000),
        *(b"\\ud800", b"\\udc00", b"\\ud83d\\ude00", b"\\u00e9", b"\\n", b"\\/"),
        *(b"\xff", b"\xed\xa0\x80", b"\xc3\xa9", b"\xf0\x9f\x98\x80", b"\xef\xbb\xbf", b"\x00"),
    ]
)


def _outcome(parse: Any, data: bytes | str) -> tuple[str, str]:
    try:
        return ("value", repr(parse(data)))  # repr: 1, 1.0 and True differ
    except (ValueError, RecursionError) as exc:
        return (type(exc).__name__, str(exc))


@settings(max_examples=500, deadline=None)
@given(st.lists(_PIECES, max_size=12).map(b"".join), st.booleans())
def test_parse_json_answers_as_the_exact_parse(body: bytes, as_text: bool) -> None:
    data: bytes | str = body
    if as_text:
        data = body.decode("utf-8", "surrogateescape")
    assert _outcome(parse_json, data) == _outcome(strictjson._parse_exactly, data)
