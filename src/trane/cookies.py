"""Cookies: ``format_cookie`` writes one ``Set-Cookie`` value, ``parse_cookies`` reads ``Cookie``.

How this works
--------------
A cookie value is any ``str``, and reads back as the same ``str``.
``format_cookie`` writes it bare when every character is an RFC 6265
cookie-octet (``sid=abc``, ``n=a%20b``); otherwise as a quoted string in
which each UTF-8 byte that is not a cookie-octet is a three-digit octal
escape::

    "a b"  -> n="a\\040b"        "José" -> n="Jos\\303\\251"

This is the form ``http.cookies`` (so Django and Starlette) writes and reads;
like Werkzeug's, non-ASCII text goes as its UTF-8 bytes, since the octal
escapes cannot name a code point past 255. What is written holds only
cookie-octets, the two quotes and backslashes: it can never end the cookie
(``;``), start a header (CR/LF), or be changed on its way through a cookie
jar. Percent signs mean nothing: ``a%20b`` is written and read as it is.

``parse_cookies`` undoes it. A quoted value loses its quotes and has its
``\\ooo`` and ``\\x`` escapes turned back into bytes; every value's bytes are
read as UTF-8 or, if they are not UTF-8, as Latin-1. So an ``"\\351"`` that
``http.cookies`` wrote for "é" still reads "é", and the raw UTF-8 a browser
sends for ``document.cookie = "n=José"`` reads "José".
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Final

_COOKIE_NAME: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 6265 cookie-octet: printable ASCII but for '"', ',', ';' and '\\'.
_COOKIE_VALUE: Final = re.compile(r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*")
_COOKIE_ATTR: Final = re.compile(r"[\x21-\x3a\x3c-\x7e]*")  # printable, no ';' or space
# Each byte as it stands in a quoted cookie value.
_ESCAPED: Final = tuple(
    chr(b) if _COOKIE_VALUE.fullmatch(chr(b)) else f"\\{b:03o}" for b in range(256)
)
_UNESCAPE: Final = re.compile(rb"\\(?:([0-3][0-7][0-7])|(.))", re.DOTALL)


def _escape(key: str, value: str) -> str:
    if _COOKIE_VALUE.fullmatch(value):
        return value
    try:
        data = value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(
            f"cookie value for {key!r} is not valid text (a lone surrogate): {value!r}"
        ) from None
    return '"' + "".join([_ESCAPED[b] for b in data]) + '"'


def format_cookie(
    key: str,
    value: str = "",
    *,
    max_age: int | None = None,
    expires: datetime | str | int | None = None,
    path: str | None = "/",
    domain: str | None = None,
    secure: bool = False,
    httponly: bool = False,
    samesite: str | None = "lax",
) -> str:
    """Build one ``Set-Cookie`` value, refusing anything that could smuggle.

    >>> format_cookie("sid", "abc", max_age=60, httponly=True)
    'sid=abc; Max-Age=60; Path=/; HttpOnly; SameSite=Lax'
    >>> format_cookie("n", "José; x", path=None, samesite=None)
    'n="Jos\\\\303\\\\251\\\\073\\\\040x"'

    Values are escaped as the module docstring says; bad names, paths,
    domains and SameSite values raise ``ValueError``.
    """
    if not _COOKIE_NAME.fullmatch(key):
        raise ValueError(f"invalid cookie name {key!r}")
    parts = [f"{key}={_escape(key, value)}"]
    if max_age is not None:
        if isinstance(max_age, bool) or not isinstance(max_age, int):
            raise ValueError(f"cookie max_age must be an int, got {max_age!r}")
        parts.append(f"Max-Age={max_age}")
    if expires is not None:
        if isinstance(expires, datetime):
            when = expires if expires.tzinfo else expires.replace(tzinfo=timezone.utc)
            expires = format_datetime(when.astimezone(timezone.utc), usegmt=True)
        elif isinstance(expires, int):
            expires = format_datetime(datetime.fromtimestamp(expires, timezone.utc), usegmt=True)
        if not _COOKIE_ATTR.fullmatch(expires.replace(" ", "")):
            raise ValueError(f"invalid cookie expires {expires!r}")
        parts.append(f"Expires={expires}")
    for attr, given in (("Path", path), ("Domain", domain)):
        if given is not None:
            if not _COOKIE_ATTR.fullmatch(given):
                raise ValueError(f"invalid cookie {attr.lower()} {given!r}")
            parts.append(f"{attr}={given}")
    if secure:
        parts.append("Secure")
    if httponly:
        parts.append("HttpOnly")
    if samesite is not None:
        if samesite.lower() not in ("lax", "strict", "none"):
            raise ValueError(f"cookie samesite must be 'lax', 'strict' or 'none', got {samesite!r}")
        if samesite.lower() == "none" and not secure:
            raise ValueError("cookie samesite='none' requires secure=True")
        parts.append(f"SameSite={samesite.capitalize()}")
    return "; ".join(parts)


def _unescape(match: re.Match[bytes]) -> bytes:
    octal, char = match.groups()
    return bytes([int(octal, 8)]) if octal else char


def _decode(value: str) -> str:
    quoted = len(value) > 1 and value[0] == value[-1] == '"'
    if quoted:
        value = value[1:-1]
    # PERF: the usual value is plain ASCII: nothing to decode.
    if value.isascii() and not (quoted and "\\" in value):
        return value
    try:
        data = value.encode("latin-1")
    except UnicodeEncodeError:  # not from a header: already text
        return value
    if quoted:
        data = _UNESCAPE.sub(_unescape, data)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def parse_cookies(header: str) -> dict[str, str]:
    """Parse a ``Cookie`` header the lenient way browsers send it.

    >>> parse_cookies('a=1; b="x\\\\040y"; junk; c=; d="Jos\\\\303\\\\251"')
    {'a': '1', 'b': 'x y', 'c': '', 'd': 'José'}
    """
    cookies: dict[str, str] = {}
    for chunk in header.split(";"):
        key, sep, value = chunk.partition("=")
        key, value = key.strip(), value.strip()
        if sep and key:
            cookies[key] = _decode(value)
    return cookies


__all__ = ["format_cookie", "parse_cookies"]
