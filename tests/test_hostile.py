"""Hostile requests, seeded and bounded: every answer is < 500, none hangs.

A fixed-seed generator throws odd methods, traversal and oversized path
segments, lying Content-Lengths, junk content types, cookies and ranges,
random and deeply nested bodies and odd query strings at the example apps.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import examples.demo
import examples.files
import examples.inheritance
import pytest

import trane
from asgi import request
from trane.testing import TestClient

SEGMENTS = ["..", "%2e%2e", "a b", "\x00", "é", "x" * 3000, "9" * 5000, "-1", "1.5", "",
            "a/b", "\\..\\", "%00", "💥"]  # fmt: skip
APPS: dict[str, tuple[Any, list[str]]] = {
    "demo": (examples.demo.app, ["/", "/hello/%s", "/items", "/count/%s", "/info", "/legacy/%s"]),
    "files": (examples.files.app, ["/", "/upload", "/download/%s", "/static/%s", "/clock"]),
    "inheritance": (examples.inheritance.app, ["/", "/notes", "/notes/%s", "/admin/%s"]),
}


def _line(rnd: random.Random, n: int) -> bytes:
    """Random bytes that can stand in a header value (no CR or LF)."""
    return bytes(rnd.randrange(256) for _ in range(n)).replace(b"\r", b"").replace(b"\n", b"")


def _hostile(rnd: random.Random, templates: list[str]) -> dict[str, Any]:
    template = rnd.choice(templates)
    path = template % rnd.choice(SEGMENTS) if "%s" in template else template
    content_type = rnd.choice([b"application/json", b"multipart/form-data",
                               b"multipart/form-data; boundary=xyz", b"text/plain",
                               b"application/x-www-form-urlencoded", _line(rnd, 10),
                               b"application/json; charset=utf-16"])  # fmt: skip
    headers = [(b"content-type", content_type)]
    if rnd.random() < 0.3:
        lengths = [b"-1", b"abc", b"99999999999999999999", b"5", b" 5"]
        headers.append((b"content-length", rnd.choice(lengths)))
    if rnd.random() < 0.3:
        headers.append((b"cookie", _line(rnd, 20)))
    if rnd.random() < 0.3:
        ranges = [b"bytes=0-", b"bytes=-5", b"bytes=5-1", b"bytes=" + b"0-1," * 500, b"junk"]
        headers.append((b"range", rnd.choice(ranges)))
    if rnd.random() < 0.3:
        headers.append((b"authorization", b"Bearer " + _line(rnd, 8)))
    body = _line(rnd, rnd.randrange(3000)) if rnd.random() < 0.7 else b'{"a": [' * 2000
    query = rnd.choice([b"", b"a=1&a=2", b"%ff%fe", b"x=" + b"%" * 100, b"&&&==;;",
                        b"delay=abc", b"delay=1e309", b"n=" + b"9" * 5000])  # fmt: skip
    method = rnd.choice(["GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "PATCH", "BREW"])
    return {"method": method, "path": path, "body": body, "headers": headers, "query": query}


@pytest.mark.parametrize("name", sorted(APPS))
async def test_hostile_requests_never_get_a_5xx(name: str) -> None:
    app, templates = APPS[name]
    rnd = random.Random(f"trane-{name}")
    for _ in range(250):
        spec = _hostile(rnd, templates)
        method, path = spec.pop("method"), spec.pop("path")
        result = await asyncio.wait_for(
            request(app, method, path, disconnect_after_body=True, **spec), 5
        )
        assert 200 <= result.status < 500, (method, path[:80], spec["headers"], result.body[:200])


# -- JSON that could not be sent back ---------------------------------------------


class JsonEcho(trane.WebSocketApplication):
    encoding = "json"

    async def receive_json(self, data: Any) -> None:
        await self.send_json(data)


@pytest.mark.parametrize(
    "text", ["NaN", "[-Infinity]", "1e999", '"\\ud800"', '{"\\udfff": 1}', '"\ud800"']
)
async def test_hostile_websocket_json_closes_1007(text: str) -> None:
    # These reached receive_json, whose echo then failed: a 1011 close.
    async with TestClient(JsonEcho) as client, client.websocket_connect("/") as ws:
        await ws.send_text('["fine"]')
        assert await ws.receive_json() == ["fine"]
        await ws.send_text(text)
        with pytest.raises(trane.WebSocketDisconnect) as caught:
            await ws.receive()
        assert (caught.value.code, caught.value.reason) == (1007, "invalid JSON")


# -- the parsers, through one view ------------------------------------------------


class Parsers(trane.Application):
    allowed_hosts = ["testserver", "*.example.com"]

    async def post(self) -> dict[str, Any]:
        out: dict[str, Any] = {"url": str(self.url), "cookies": self.cookies}
        if self.query.get("kind") == "json":
            out["json"] = await self.json()
        else:
            form = await self.form()
            out["form"] = [key for key, _ in form.multi_items()]
        return out


HOSTS = [b"testserver", b"a.example.com:8080", b"evil.com", b"example.com/admin?x=", b"[::1",
         b"evil.com:80@a.example.com", b"", b"\xff", b"a" * 5000, b"testserver:9"]  # fmt: skip
COOKIES = [b'n="\\351"', b'n="\\', b"n=" + b"\\" * 1000, b'n="' + b"\\1" * 1000 + b'"',
           b"n=\xc3", b"n=%ff%", b"=;=;;", b'a="b"c"; d']  # fmt: skip
JSON = [b"NaN", b"-Infinity", b"1e999", b'"\\ud800"', b'{"\\udc00": 1}', b"[" * 5000,
        b'"\\ud83d\\ude00"', b'"\xed\xa0\x80"', b"1" * 5000, b"\xef\xbb\xbf{}"]  # fmt: skip
BOUNDARY = "hostile"
FORM_HEAD = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\n'.encode()
FORMS = [FORM_HEAD + b"a:\r\n" * 50_000, FORM_HEAD + b"X: " + b"y" * 100_000 + b"\r\n",
         FORM_HEAD + b"\r\nvalue", FORM_HEAD + b"\r\nv\r\n--" + BOUNDARY.encode() + b"--\r\n",
         FORM_HEAD + b"X-Pad:" + b" " * 100_000 + b"1\r\n\r\nv\r\n"]  # fmt: skip


async def test_hostile_hosts_cookies_json_and_forms_never_get_a_5xx() -> None:
    rnd = random.Random("trane-parsers")
    async with TestClient(Parsers) as client:
        for _ in range(150):
            headers = {b"host": rnd.choice(HOSTS), b"cookie": rnd.choice(COOKIES)}
            if rnd.random() < 0.5:
                params, body = {"kind": "json"}, rnd.choice(JSON)
                headers[b"content-type"] = b"application/json"
            else:
                params, body = {"kind": "form"}, rnd.choice(FORMS)
                headers[b"content-type"] = f"multipart/form-data; boundary={BOUNDARY}".encode()
            response = await client.post("/", params=params, content=body, headers=headers)
            assert response.status_code < 500, (headers, body[:80], response.text[:200])
