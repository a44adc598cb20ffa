"""Strict JSON in: ``parse_json`` takes only JSON that trane can send back.

How this works
--------------
``json.loads`` accepts more than RFC 8259 JSON: the constants ``NaN``,
``Infinity`` and ``-Infinity``; numbers such as ``1e999`` that overflow to an
infinite float; ``\\u`` escapes that make a lone UTF-16 surrogate
(``"\\ud800"``), a ``str`` with no UTF-8 form; and, given bytes, UTF-16 and
UTF-32 bodies and surrogates encoded as if they were UTF-8. A value holding
any of these cannot be sent back (``json_dumps`` refuses it), so a view that
echoes it would answer 500, a WebSocket close with 1011. ``parse_json``
refuses them while parsing, each with a ``ValueError`` that says why:

* bytes must be UTF-8, decoded strictly (a leading byte order mark is
  skipped, as ``json.loads`` does);
* the decoder's ``parse_constant`` hook raises for the three constants, and
  its ``parse_float`` hook for a float that comes out infinite;
* lone surrogates can only come from ``\\u`` escapes then, so only a text
  with an escape in ``\\ud800``-``\\udfff`` has its strings checked after
  parsing (Python clients escape every emoji that way).

That is the exact way. msgspec's decoder refuses all of these too, takes
nothing the exact way refuses and gives the same values (a property test
holds the two together), in about a third of the instructions; so
``parse_json`` asks it first, and only what it refuses (a byte order mark,
some very long integers, every error) goes the exact way, which takes it
or raises the json module's error saying why.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any, Final, NoReturn

import msgspec

_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE: Final = re.compile(r"\\u[dD][89a-fA-F]")


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(literal: str) -> float:
    number = float(literal)
    if math.isinf(number):
        raise ValueError(f"number {literal[:40]} is out of range")
    return number


# PERF: one decoder, built once (json.loads(text, parse_float=...) builds one
# per call). The parse_float hook costs a Python call per float. Measured here
# (best of 7, parse_json vs json.loads): a 43-byte object 1.9 vs 3.5 us (no
# encoding detection), 10,000 floats 4.1 vs 3.1 ms, 2,000 objects with a float
# each 1.9 vs 1.3 ms, the same without floats 0.79 vs 0.73 ms.
_DECODER: Final = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)
# What _DECODER.decode() runs: (value, end) from (text, start), or StopIteration
# (an attribute every JSONDecoder sets, which typeshed does not list).
_SCAN: Final[Callable[[str, int], tuple[Any, int]]] = _DECODER.scan_once  # type: ignore[attr-defined]


def _has_surrogate(value: Any) -> bool:
    """Whether any string in ``value`` (keys too) holds a surrogate code point."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)  # PERF: json.loads makes exact types only
        if kind is str:
            if not item.isascii() and _SURROGATE.search(item):
                return True
        elif kind is dict:
            stack.extend(item)
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
    return False


def _parse_exactly(data: bytes | str) -> Any:
    """``parse_json`` by the ``json`` module: the value, or the error that says why not."""
    if isinstance(data, str):
        text = data
        if not text.isascii() and _SURROGATE.search(text):
            raise ValueError("the text holds a lone surrogate")
    else:
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        text = data.decode("utf-8")  # UnicodeDecodeError is a ValueError
    try:
        # PERF: the C scanner itself, without decode()'s two whitespace regex
        # matches and two Python calls: what almost every body needs. The
        # 300-byte body of benchmarks' POST /post: 46,859 -> 40,197
        # instructions (json.loads: 49,803), with the cheap "\\u" test below.
        value, end = _SCAN(text, 0)
    except StopIteration:  # no value at 0: leading whitespace, or no JSON
        end = -1
    if end != len(text):  # whitespace around it, or more after it: decode() says
        value = _DECODER.decode(text)
    # PERF: the scan is a few % of a parse (a substring test first, cheaper
    # still); the walk (~60% more, measured on 2,000 objects with an escaped
    # emoji each) runs only after a hit.
    if "\\u" in text and _SURROGATE_ESCAPE.search(text) and _has_surrogate(value):
        raise ValueError("a \\u escape makes a lone surrogate")
    return value


_MSGSPEC_DECODE: Final = msgspec.json.Decoder().decode
# NOTE: msgspec before 0.19 decoded some 20-digit integers wrong (its commit
# 3363eea); there the exact path does all the work.
_decode_fast: Final = (
    _MSGSPEC_DECODE
    if _MSGSPEC_DECODE(b"19999999999999999999") == 19999999999999999999
    else _parse_exactly
)


def parse_json(data: bytes | str) -> Any:
    """Parse RFC 8259 JSON that ``json_dumps`` can write back; ``ValueError`` if not.

    >>> parse_json(b'{"smile": "\\\\ud83d\\\\ude00", "n": 1.5}')
    {'smile': '😀', 'n': 1.5}
    >>> parse_json(b'[NaN]')
    Traceback (most recent call last):
    ...
    ValueError: NaN is not a JSON number
    """
    # PERF: msgspec first (see the module docstring): the 300-byte body of
    # benchmarks' POST /post, 40,510 -> 16,312 instructions per parse; the
    # request, 104,269 -> 80,781 (python -m benchmarks.count --case post).
    try:
        return _decode_fast(data)
    except (ValueError, RecursionError):
        return _parse_exactly(data)


__all__ = ["parse_json"]
