"""Cookies: what set_cookie writes, self.cookies reads back, for any text value."""

from __future__ import annotations

import asyncio
import os
from http.cookies import SimpleCookie
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trane
from servers import ROOT, serve
from trane.cookies import format_cookie, parse_cookies
from trane.testing import TestClient


class SetCookie(trane.Application):
    async def post(self) -> str:
        data = await self.json()
        self.set_cookie("n", data["value"])
        return "set"


class ReadCookie(trane.Application):
    async def get(self) -> dict[str, Any]:
        return {"value": self.cookies.get("n")}


app = trane.as_asgi3(
    trane.Router([trane.Route("/set", SetCookie), trane.Route("/read", ReadCookie)])
)

TRICKY = ["José", "a b", "a%20b", 'x"y', "💥", "", "a;b", "a,b", "\\", '"quoted"', "\r\n",
          "\x00\x7f", " lead and trail ", "\\351", "é", "Ã©", "a=b", "日本語"]  # fmt: skip


async def round_trip(client: httpx.AsyncClient, value: str) -> Any:
    """Set the cookie through the app, let the client's jar send it back, read it."""
    client.cookies.clear()
    response = await client.post("/set", json={"value": value})
    assert response.status_code == 200, response.text
    response = await client.get("/read")
    assert response.status_code == 200, response.text
    return response.json()["value"]


# -- through a cookie jar ------------------------------------------------------


async def test_cookies_round_trip_through_a_cookie_jar() -> None:
    async with TestClient(app) as client:
        for value in TRICKY:
            assert await round_trip(client, value) == value, value


def test_cookies_round_trip_through_uvicorn_and_a_cookie_jar() -> None:
    async def main(url: str) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            for value in TRICKY:
                assert await round_trip(client, value) == value, value

    paths = os.pathsep.join(str(ROOT / part) for part in ("", "src", "tests"))
    with serve("uvicorn", "test_cookies:app", env={"PYTHONPATH": paths}) as server:
        asyncio.run(main(server.url))


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=st.text(max_size=40))
async def test_cookies_round_trip_any_text(value: str) -> None:
    async with TestClient(app) as client:
        assert await round_trip(client, value) == value


# -- the encoding ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("abc", "abc"),
        ("a%20b", "a%20b"),  # percent signs are cookie-octets: written, and read, as they are
        ("a b", '"a\\040b"'),
        ("José", '"Jos\\303\\251"'),  # UTF-8 bytes, as Werkzeug writes them
        ('x"y\\', '"x\\042y\\134"'),
        ("a;b,c", '"a\\073b\\054c"'),
        ("\r\n", '"\\015\\012"'),
        ("", ""),
    ],
)
def test_format_cookie_writes_cookie_octets_or_an_escaped_quoted_string(
    value: str, written: str
) -> None:
    assert format_cookie("n", value, path=None, samesite=None) == f"n={written}"
    assert parse_cookies(f"n={written}") == {"n": value}


def test_format_cookie_values_that_differ_are_written_differently() -> None:
    assert format_cookie("n", "a b") != format_cookie("n", "a%20b")
    assert format_cookie("n", '"a"') != format_cookie("n", "a")


def test_format_cookie_never_smuggles_a_header_or_an_attribute() -> None:
    header = format_cookie("n", "x\r\nSet-Cookie: admin=1; Domain=evil.com", path=None)
    assert header == 'n="x\\015\\012Set-Cookie:\\040admin=1\\073\\040Domain=evil.com"; SameSite=Lax'
    assert header.isprintable()
    assert header.count(";") == 1
    with pytest.raises(ValueError, match="invalid cookie name"):
        format_cookie("a;b", "v")


def test_format_cookie_refuses_a_lone_surrogate() -> None:
    with pytest.raises(ValueError, match="cookie value for 'n' is not valid text"):
        format_cookie("n", "a\ud800")


def test_parse_cookies_reads_what_http_cookies_writes() -> None:
    # Django and Starlette write with http.cookies: Latin-1 code points as octal.
    jar: SimpleCookie = SimpleCookie()
    jar["a"] = "é and ;"
    jar["b"] = 'q"\\'
    header = "; ".join(f"{k}={m.coded_value}" for k, m in jar.items())
    assert parse_cookies(header) == {"a": "é and ;", "b": 'q"\\'}


@pytest.mark.parametrize("value", ["a b", 'x"y\\', "a;b,c", "\r\n\t", "plain"])
def test_http_cookies_reads_what_format_cookie_writes(value: str) -> None:
    jar: SimpleCookie = SimpleCookie()
    jar.load(format_cookie("n", value, path=None, samesite=None))
    assert jar["n"].value == value


def test_parse_cookies_reads_raw_utf8_from_a_browser() -> None:
    # document.cookie = "n=José" is sent as UTF-8 bytes; ASGI headers are Latin-1.
    assert parse_cookies("n=" + "José".encode().decode("latin-1")) == {"n": "José"}
    assert parse_cookies("n=caf\xe9") == {"n": "café"}  # not UTF-8: Latin-1
    assert parse_cookies('n="\\\\u263a \\"x\\""') == {"n": '\\u263a "x"'}
    assert parse_cookies("n=\u263a") == {"n": "\u263a"}  # already text


def test_parse_cookies_is_lenient() -> None:
    assert parse_cookies('a=1; b="x y"; junk; c=; =d; e=a=b; f="; g="x') == {
        "a": "1",
        "b": "x y",
        "c": "",
        "e": "a=b",
        "f": '"',
        "g": '"x',
    }
