"""Uploads, ranges, static files and streaming disconnects under real uvicorn and daphne.

The app is tests/streaming_app.py, with examples/files.py mounted at /example.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from servers import ROOT, Server, serve

SOURCE = (ROOT / "examples" / "files.py").read_bytes()
STATIC = ROOT / "examples" / "static"
BOUNDARY = "trane-servers-boundary-3f9a"
UPLOAD_SIZE = 24 * 1024 * 1024


@pytest.fixture(scope="module", params=["uvicorn", "daphne"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    with serve(request.param, "tests.streaming_app:app") as srv:
        yield srv


def client(srv: Server, **kwargs: Any) -> httpx.Client:
    return httpx.Client(base_url=srv.url, timeout=10, **kwargs)


# -- uploads -----------------------------------------------------------------------------


def upload_body(block: bytes, blocks: int) -> Iterator[bytes]:
    """A multipart body sent as many 64 KiB chunks (chunked transfer encoding)."""
    yield (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="file"; filename="../../big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    for _ in range(blocks):
        yield block
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def test_multi_megabyte_upload_in_chunks(server: Server) -> None:
    block = os.urandom(64 * 1024)
    blocks = UPLOAD_SIZE // len(block)
    expected = hashlib.sha256(block * blocks).hexdigest()
    headers = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
    with client(server) as http:
        response = http.post("/upload", content=upload_body(block, blocks), headers=headers)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["files"]["file"] == {
        "size": UPLOAD_SIZE,
        "sha256": expected,
        "in_memory": False,
    }
    growth_mib = (result["rss_peak_kib"] - result["rss_before_kib"]) / 1024
    before_mib = result["rss_before_kib"] / 1024
    print(f"\n{server.name}: RSS {before_mib:.1f} MiB, +{growth_mib:.1f} MiB while parsing 24 MiB")
    if server.name == "uvicorn":
        # uvicorn applies back-pressure, so the parse holds a chunk and the
        # 1 MiB spool at a time. (daphne buffers every request body in full
        # before the app runs, so its number says nothing about trane.)
        assert growth_mib < 8


def test_example_upload_form(server: Server) -> None:
    files = {"file": ("notes.txt", b"n" * 100_000, "text/plain")}
    with client(server) as http:
        response = http.post("/example/upload", data={"note": "hi"}, files=files)
    assert response.status_code == 200
    [info] = response.json()["files"]
    assert info["size"] == 100_000
    assert info["sha256"] == hashlib.sha256(b"n" * 100_000).hexdigest()


def test_malformed_upload_is_400(server: Server) -> None:
    headers = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
    with client(server) as http:
        truncated = http.post(
            "/upload", content=b"--" + BOUNDARY.encode() + b"\r\n", headers=headers
        )
        no_boundary = http.post(
            "/upload", content=b"x", headers={"content-type": "multipart/form-data"}
        )
    assert truncated.status_code == 400
    assert no_boundary.status_code == 400


# -- ranges --------------------------------------------------------------------------------


def test_range_requests_with_httpx(server: Server) -> None:
    with client(server) as http:
        full = http.get("/example/download")
        assert full.status_code == 200
        assert full.content == SOURCE
        assert full.headers["accept-ranges"] == "bytes"
        one = http.get("/example/download", headers={"range": "bytes=10-19"})
        assert one.status_code == 206
        assert one.content == SOURCE[10:20]
        assert one.headers["content-range"] == f"bytes 10-19/{len(SOURCE)}"
        many = http.get("/example/download", headers={"range": "bytes=0-4,-5"})
        assert many.status_code == 206
        assert many.headers["content-type"].startswith("multipart/byteranges; boundary=")
        assert SOURCE[:5] in many.content
        assert SOURCE[-5:] in many.content
        unsatisfiable = http.get("/example/download", headers={"range": "bytes=99999999-"})
        assert unsatisfiable.status_code == 416
        assert unsatisfiable.headers["content-range"] == f"bytes */{len(SOURCE)}"
        cached = http.get("/example/download", headers={"if-none-match": full.headers["etag"]})
        assert cached.status_code == 304
        head = http.head("/example/download")
        assert head.headers["content-length"] == str(len(SOURCE))


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_range_request_with_curl(server: Server) -> None:
    done = subprocess.run(
        ["curl", "-sS", "--max-time", "10", "-r", "0-99", f"{server.url}/example/download"],
        capture_output=True,
        check=True,
        timeout=20,
    )
    assert done.stdout == SOURCE[:100]


# -- static files ----------------------------------------------------------------------------


def test_static_files(server: Server) -> None:
    with client(server) as http:
        css = http.get("/example/static/style.css")
        assert css.status_code == 200
        assert css.content == (STATIC / "style.css").read_bytes()
        assert css.headers["content-type"] == "text/css; charset=utf-8"
        index = http.get("/example/static/")
        assert index.content == (STATIC / "index.html").read_bytes()
        redirect = http.get("/example/static")
        assert (redirect.status_code, redirect.headers["location"]) == (307, "/example/static/")
        missing = http.get("/example/static/nope.css")
        assert missing.status_code == 404
        assert missing.content == (STATIC / "404.html").read_bytes()
        assert http.post("/example/static/style.css").status_code == 405


def raw_get(srv: Server, target: str) -> tuple[int, bytes]:
    """Send a request line exactly as given (httpx would normalise the path)."""
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data.partition(b"\r\n\r\n")[2]


@pytest.mark.parametrize(
    "target",
    [
        "/example/static/../files.py",
        "/example/static/%2e%2e/files.py",
        "/example/static/..%2ffiles.py",
        "/example/static/%2e%2e%2f%2e%2e%2fsetup.cfg",
        "/example/static/..%5cfiles.py",
        "/example/static//etc/passwd",
        "/example/static/%2fetc%2fpasswd",
        "/example/static/style.css%00.png",
    ],
)
def test_static_traversal_under_real_servers(server: Server, target: str) -> None:
    status, body = raw_get(server, target)
    assert status in (400, 404), (target, status)
    for secret in (b"import trane", b"[metadata]", b"root:"):
        assert secret not in body


# -- streaming and disconnects ----------------------------------------------------------------


def stopped_at(srv: Server, kind: str, timeout: float = 5.0) -> float:
    deadline = time.monotonic() + timeout
    with client(srv) as http:
        while time.monotonic() < deadline:
            log = http.get("/log").json()
            if kind in log:
                return float(log[kind])
            time.sleep(0.02)
    raise AssertionError(f"{kind}: the server side never stopped\n{srv.output()[-2000:]}")


def test_sse_client_disconnects_early(server: Server) -> None:
    with client(server) as http:
        http.delete("/log")
        with http.stream("GET", "/sse") as response:
            assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
            lines = response.iter_lines()
            assert next(lines) == "id: 1"
            assert next(lines) == "data: one"
        left = time.time()  # the connection is closed: the response was not read to the end
    assert stopped_at(server, "sse") - left < 1.0


@pytest.mark.parametrize("kind", ["send_event", "send", "send_loop", "stream"])
def test_streaming_views_stop_when_the_client_leaves(server: Server, kind: str) -> None:
    with client(server) as http:
        http.delete("/log")
        with http.stream("GET", "/" + kind.replace("_", "-")) as response:
            assert response.status_code == 200
            assert next(response.iter_raw())
        left = time.time()
    assert stopped_at(server, kind) - left < 1.0


def test_no_errors_logged(server: Server) -> None:
    output = server.output()
    assert "Traceback" not in output
    assert "Exception" not in output
