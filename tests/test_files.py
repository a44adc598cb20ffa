"""FileResponse: validators, conditional requests, HEAD, ranges, pathsend; examples/files.py."""

from __future__ import annotations

import asyncio
import email.utils
import itertools
import os
import re
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from examples import files as example
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import trane
import trane.files
from asgi import Result, make_scope, request
from trane.files import MAX_RANGES, content_disposition, parse_range
from trane.testing import TestClient
from trane.types import Message

DATA = bytes(range(256)) * 1200  # 300 KiB: several chunks
MTIME = 1_700_000_000
EXAMPLE_SOURCE = Path(example.__file__).read_bytes()


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "data.txt"
    path.write_bytes(DATA)
    os.utime(path, (MTIME, MTIME))
    return path


class Serve(trane.Application):
    async def get(self) -> trane.FileResponse:
        options: dict[str, Any] = {}
        if "filename" in self.query:
            options["filename"] = self.query["filename"]
        return trane.FileResponse(self.query["path"], **options)


def get(path: Path, *headers: tuple[bytes, bytes], method: str = "GET", **kwargs: Any) -> Any:
    query = b"path=" + str(path).encode()
    return request(Serve, method, "/", query=query, headers=list(headers), **kwargs)


def etag_of(path: Path) -> str:
    info = path.stat()
    return f'"{info.st_mtime_ns:x}-{info.st_size:x}"'


# -- parse_range ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-4", [(0, 5)]),
        ("bytes=5-", [(5, 10)]),
        ("bytes=-3", [(7, 10)]),
        ("bytes=-30", [(0, 10)]),
        ("bytes=8-100", [(8, 10)]),
        ("BYTES = 0 - 0 ,", [(0, 1)]),
        ("bytes=0-1,5-6", [(0, 2), (5, 7)]),
        ("bytes=5-6,0-1", [(0, 2), (5, 7)]),  # sorted
        ("bytes=0-3,2-5,6-7", [(0, 8)]),  # overlapping and adjacent merged
        ("bytes=0-0,0-0,0-0", [(0, 1)]),
        ("bytes=10-", []),
        ("bytes=10-20,30-", []),
        ("bytes=-0", []),
        ("bytes=0-1,10-", [(0, 2)]),
        ("bytes=" + "9" * 5000 + "-", []),
        ("bytes=0-" + "9" * 5000, [(0, 10)]),
        ("bytes=-" + "9" * 5000, [(0, 10)]),
        ("bytes=5-2", None),
        ("bytes=a-b", None),
        ("bytes=-", None),
        ("bytes=1-2-3", None),
        ("bytes=", None),
        ("bytes=,", None),
        ("items=0-1", None),
        ("bytes 0-1", None),
        ("bytes=" + "0-0," * 100, None),  # too many ranges: send it all
    ],
)
def test_parse_range(header: str, expected: list[tuple[int, int]] | None) -> None:
    assert parse_range(header, 10) == expected


def test_parse_range_is_linear_in_the_header() -> None:
    started = time.perf_counter()
    assert parse_range("bytes=" + "1-2," * 1_000_000, 10) is None
    assert parse_range("bytes=" + " " * 1_000_000 + "1-2", 10) == [(1, 3)]
    assert parse_range("bytes=" + "1" * 1_000_000, 10) is None
    assert time.perf_counter() - started < 2


def test_parse_range_empty_file() -> None:
    assert parse_range("bytes=0-", 0) == []
    assert parse_range("bytes=-5", 0) == []


def test_content_disposition() -> None:
    assert content_disposition("attachment", "a b.txt") == 'attachment; filename="a b.txt"'
    assert content_disposition("inline", 'x"y\\z\r\n.txt') == 'inline; filename="x\\"y\\\\z.txt"'
    assert content_disposition("attachment", "résumé.pdf") == (
        "attachment; filename=\"rsum.pdf\"; filename*=utf-8''r%C3%A9sum%C3%A9.pdf"
    )


# -- FileResponse --------------------------------------------------------------


async def test_file_response_full(data_file: Path) -> None:
    result = await get(data_file)
    assert result.status == 200
    assert result.body == DATA
    assert result.header("content-type") == "text/plain; charset=utf-8"
    assert result.header("content-length") == str(len(DATA))
    assert result.header("accept-ranges") == "bytes"
    assert result.header("etag") == etag_of(data_file)
    assert result.header("last-modified") == email.utils.formatdate(MTIME, usegmt=True)
    bodies = [m for m in result.messages if m["type"] == "http.response.body"]
    chunks = -(-len(DATA) // trane.FileResponse.chunk_size)
    assert len(bodies) == chunks > 1  # sent in chunk_size pieces
    assert all(len(m["body"]) <= trane.FileResponse.chunk_size for m in bodies)
    assert [m["more_body"] for m in bodies] == [True] * (chunks - 1) + [False]


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("a.html", "text/html; charset=utf-8"),
        ("a.json", "application/json"),
        ("a.png", "image/png"),
        ("a.unknown-ext", "application/octet-stream"),
    ],
)
async def test_file_response_content_type_from_name(
    tmp_path: Path, name: str, content_type: str
) -> None:
    path = tmp_path / name
    path.write_bytes(b"x")
    assert (await get(path)).header("content-type") == content_type


async def test_file_response_head(data_file: Path) -> None:
    full = await get(data_file)
    head = await get(data_file, method="HEAD")
    assert head.status == 200
    assert head.body == b""
    assert head.headers == full.headers


async def test_file_response_download_name(data_file: Path) -> None:
    query = b"path=" + str(data_file).encode() + b"&filename=r%C3%A9sum%C3%A9.txt"
    result = await request(Serve, "GET", "/", query=query)
    assert result.header("content-disposition") == (
        "attachment; filename=\"rsum.txt\"; filename*=utf-8''r%C3%A9sum%C3%A9.txt"
    )


async def test_file_response_if_none_match(data_file: Path) -> None:
    etag = etag_of(data_file)
    for value in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        result = await get(data_file, (b"if-none-match", value.encode()))
        assert result.status == 304, value
        assert result.body == b""
        assert result.header("etag") == etag
        assert result.header("content-length") is None
        assert result.header("content-type") is None
    assert (await get(data_file, (b"if-none-match", b'"other"'))).status == 200
    # If-None-Match wins over If-Modified-Since.
    future = email.utils.formatdate(MTIME + 100, usegmt=True).encode()
    both = await get(data_file, (b"if-none-match", b'"other"'), (b"if-modified-since", future))
    assert both.status == 200


async def test_file_response_if_modified_since(data_file: Path) -> None:
    same = email.utils.formatdate(MTIME, usegmt=True).encode()
    later = email.utils.formatdate(MTIME + 60, usegmt=True).encode()
    earlier = email.utils.formatdate(MTIME - 60, usegmt=True).encode()
    assert (await get(data_file, (b"if-modified-since", same))).status == 304
    assert (await get(data_file, (b"if-modified-since", later))).status == 304
    assert (await get(data_file, (b"if-modified-since", earlier))).status == 200
    assert (await get(data_file, (b"if-modified-since", b"yesterday"))).status == 200
    head = await get(data_file, (b"if-modified-since", same), method="HEAD")
    assert head.status == 304


async def test_file_response_single_range(data_file: Path) -> None:
    result = await get(data_file, (b"range", b"bytes=100-199"))
    assert result.status == 206
    assert result.body == DATA[100:200]
    assert result.header("content-range") == f"bytes 100-199/{len(DATA)}"
    assert result.header("content-length") == "100"
    suffix = await get(data_file, (b"range", b"bytes=-10"))
    assert suffix.body == DATA[-10:]
    assert suffix.header("content-range") == f"bytes {len(DATA) - 10}-{len(DATA) - 1}/{len(DATA)}"
    tail = await get(data_file, (b"range", b"bytes=200000-"))
    assert tail.body == DATA[200000:]


def parse_byteranges(result: Result) -> list[tuple[str, bytes]]:
    content_type = result.header("content-type")
    assert content_type is not None
    match = re.fullmatch(r"multipart/byteranges; boundary=(\w+)", content_type)
    assert match is not None
    boundary = match.group(1).encode()
    assert result.header("content-length") == str(len(result.body))
    body = result.body
    assert body.endswith(b"\r\n--" + boundary + b"--\r\n")
    parts = []
    for chunk in body[: -len(boundary) - 8].split(b"--" + boundary + b"\r\n")[1:]:
        head, _, content = chunk.partition(b"\r\n\r\n")
        headers = dict(line.split(b": ", 1) for line in head.split(b"\r\n"))
        assert headers[b"content-type"] == b"text/plain; charset=utf-8"
        parts.append((headers[b"content-range"].decode(), content.removesuffix(b"\r\n")))
    return parts


async def test_file_response_multiple_ranges(data_file: Path) -> None:
    result = await get(data_file, (b"range", b"bytes=0-9, 100-109, -5"))
    assert result.status == 206
    size = len(DATA)
    assert parse_byteranges(result) == [
        (f"bytes 0-9/{size}", DATA[:10]),
        (f"bytes 100-109/{size}", DATA[100:110]),
        (f"bytes {size - 5}-{size - 1}/{size}", DATA[-5:]),
    ]
    head = await get(data_file, (b"range", b"bytes=0-9, 100-109, -5"), method="HEAD")
    assert head.body == b""
    assert head.header("content-length") == result.header("content-length")


async def test_file_response_unsatisfiable_range(data_file: Path) -> None:
    result = await get(data_file, (b"range", f"bytes={len(DATA)}-".encode()))
    assert result.status == 416
    assert result.header("content-range") == f"bytes */{len(DATA)}"
    assert result.body == b""


async def test_file_response_malformed_range_sends_everything(data_file: Path) -> None:
    result = await get(data_file, (b"range", b"bytes=oops"))
    assert (result.status, len(result.body)) == (200, len(DATA))


async def test_file_response_if_range(data_file: Path) -> None:
    etag = etag_of(data_file).encode()
    date = email.utils.formatdate(MTIME, usegmt=True).encode()
    ranged = (b"range", b"bytes=0-1")
    assert (await get(data_file, ranged, (b"if-range", etag))).status == 206
    assert (await get(data_file, ranged, (b"if-range", date))).status == 206
    assert (await get(data_file, ranged, (b"if-range", b'"stale"'))).status == 200
    assert (await get(data_file, ranged, (b"if-range", b"W/" + etag))).status == 200
    older = email.utils.formatdate(MTIME - 1, usegmt=True).encode()
    assert (await get(data_file, ranged, (b"if-range", older))).status == 200


class Respond(trane.Application):
    """Sends the FileResponse the test put in ``scope["response"]``."""

    async def get(self) -> trane.FileResponse:
        response: trane.FileResponse = self.scope["response"]
        return response


async def test_file_response_own_etag_is_sent_and_honoured(data_file: Path) -> None:
    # Before: the computed ETag was compared, so the one the client had was never matched.
    def own() -> trane.FileResponse:
        return trane.FileResponse(data_file, headers={"ETag": '"v1"'})

    fresh = await request(Respond, response=own())
    assert fresh.header_list("etag") == ['"v1"']
    revalidated = await request(Respond, response=own(), headers=[(b"if-none-match", b'"v1"')])
    assert (revalidated.status, revalidated.body) == (304, b"")
    assert revalidated.header_list("etag") == ['"v1"']
    ranged = [(b"range", b"bytes=0-1"), (b"if-range", b'"v1"')]
    resumed = await request(Respond, response=own(), headers=ranged)
    assert (resumed.status, resumed.body) == (206, DATA[:2])
    computed = [(b"if-none-match", etag_of(data_file).encode())]
    assert (await request(Respond, response=own(), headers=computed)).status == 200


async def test_file_response_own_last_modified_is_the_one_compared(data_file: Path) -> None:
    # Before: the file's mtime was compared, not the Last-Modified the client was sent.
    stamp = "Wed, 01 Jan 2020 00:00:00 GMT"

    def own(value: str = stamp) -> trane.FileResponse:
        return trane.FileResponse(data_file, headers={"Last-Modified": value})

    fresh = await request(Respond, response=own())
    assert fresh.header_list("last-modified") == [stamp]
    since = [(b"if-modified-since", stamp.encode())]
    revalidated = await request(Respond, response=own(), headers=since)
    assert (revalidated.status, revalidated.body) == (304, b"")
    ranged = [(b"range", b"bytes=0-1"), (b"if-range", stamp.encode())]
    resumed = await request(Respond, response=own(), headers=ranged)
    assert (resumed.status, resumed.body) == (206, DATA[:2])
    earlier = [(b"if-modified-since", b"Tue, 31 Dec 2019 23:59:59 GMT")]
    assert (await request(Respond, response=own(), headers=earlier)).status == 200
    # A Last-Modified that is no date: no date-based condition ever holds.
    assert (await request(Respond, response=own("soon"), headers=since)).status == 200
    resent = await request(Respond, response=own("soon"), headers=ranged)
    assert (resent.status, resent.body) == (200, DATA)


async def test_file_response_ranges_of_a_file_without_a_content_type(data_file: Path) -> None:
    response = trane.FileResponse(data_file)
    del response.headers["content-type"]
    result = await request(Respond, response=response, headers=[(b"range", b"bytes=0-1,-2")])
    assert result.status == 206
    content_type = result.header("content-type") or ""
    boundary = content_type.removeprefix("multipart/byteranges; boundary=").encode()
    size = len(DATA)
    assert result.body == (
        b"--%b\r\ncontent-range: bytes 0-1/%d\r\n\r\n%b\r\n"
        b"--%b\r\ncontent-range: bytes %d-%d/%d\r\n\r\n%b\r\n--%b--\r\n"
        % (boundary, size, DATA[:2], boundary, size - 2, size - 1, size, DATA[-2:], boundary)
    )


@pytest.fixture
def shrunk_file(data_file: Path) -> tuple[Path, os.stat_result]:
    """The data file cut to 1000 bytes, and its stat from before."""
    info = data_file.stat()
    data_file.write_bytes(DATA[:1000])
    return data_file, info


async def test_file_response_of_a_file_that_shrinks_while_sent_fails(
    shrunk_file: tuple[Path, os.stat_result],
) -> None:
    # The Content-Length is out already: a short body must not be ended as if whole.
    path, info = shrunk_file
    response = trane.FileResponse(path, stat_result=info)
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    with pytest.raises(RuntimeError, match="shrank while it was being sent"):
        await response(make_scope(), receive, send)
    assert sent[0]["headers"][-1] == (b"content-length", b"%d" % len(DATA))
    bodies = [m for m in sent if m["type"] == "http.response.body"]
    # What went out (nothing, if the short read was seen before sending) is the
    # file's start, and the body was never ended: the server aborts it.
    assert DATA[:1000].startswith(b"".join(m["body"] for m in bodies))
    assert all(m["more_body"] for m in bodies)


async def test_file_response_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    result = await get(path)
    assert (result.status, result.body, result.header("content-length")) == (200, b"", "0")
    assert (await get(path, (b"range", b"bytes=0-"))).status == 416


async def test_file_response_missing_file_or_directory_is_404(tmp_path: Path) -> None:
    assert (await get(tmp_path / "missing.txt")).status == 404
    assert (await get(tmp_path)).status == 404
    assert (await get(tmp_path / "missing" / "deeper.txt")).status == 404


async def test_file_response_uses_pathsend_when_advertised(data_file: Path) -> None:
    extensions: dict[str, Any] = {"http.response.pathsend": {}}
    query = b"path=" + str(data_file).encode()
    result = await request(Serve, "GET", "/", query=query, extensions=extensions)
    assert result.status == 200
    assert result.messages[-1] == {"type": "http.response.pathsend", "path": str(data_file)}
    ranged = await request(
        Serve, "GET", "/", query=query, extensions=extensions, headers=[(b"range", b"bytes=0-0")]
    )
    assert ranged.body == DATA[:1]  # a range is not the whole file: sent as body
    head = await request(Serve, "HEAD", "/", query=query, extensions=extensions)
    assert head.messages[-1]["type"] == "http.response.body"


async def test_file_response_status_and_headers_kept(data_file: Path) -> None:
    response = trane.FileResponse(data_file, status=404, headers={"x-a": "1"})
    sent: list[Message] = []

    async def receive() -> Message:
        await asyncio.sleep(10)
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await response(make_scope(headers=[(b"range", b"bytes=0-0")]), receive, send)
    assert sent[0]["status"] == 404  # no ranges for an error page
    assert (b"x-a", b"1") in sent[0]["headers"]
    assert b"".join(m.get("body", b"") for m in sent) == DATA


async def _send_file(
    response: trane.FileResponse,
    headers: list[tuple[bytes, bytes]],
    extensions: dict[str, Any] | None = None,
) -> Result:
    """Send ``response``; its body as a server gives it (zerocopysend read as sendfile would)."""
    sent: list[Message] = []
    body = bytearray()

    async def receive() -> Message:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)
        if message["type"] == "http.response.body":
            body.extend(message.get("body", b""))
        elif message["type"] == "http.response.zerocopysend":
            fd = message["file"].fileno()
            body.extend(os.pread(fd, message["count"], message["offset"]))

    scope = make_scope(headers=headers, extensions=extensions or {})
    await response(scope, receive, send)
    start = sent[0]
    return Result(start["status"], start["headers"], bytes(body), sent)


_RANGE_SPECS = st.lists(
    st.one_of(
        st.tuples(st.integers(0, 3000), st.integers(0, 3000)).map(lambda r: f"{min(r)}-{max(r)}"),
        st.integers(0, 3000).map(lambda n: f"{n}-"),
        st.integers(1, 3000).map(lambda n: f"-{n}"),
    ),
    min_size=0,
    max_size=4,
)


@settings(max_examples=120, deadline=None)
@given(
    data=st.binary(min_size=1, max_size=2500),
    chunk_size=st.sampled_from([1, 7, 100, 4096]),
    specs=_RANGE_SPECS,
    one_thread=st.booleans(),
    zerocopy=st.booleans(),
)
async def test_file_response_bodies_are_byte_exact(
    data: bytes, chunk_size: int, specs: list[str], one_thread: bool, zerocopy: bool
) -> None:
    ranges = parse_range("bytes=" + ",".join(specs), len(data)) if specs else None
    assume(ranges != [])  # 416: no body (tested above)
    options = {"chunk_size": chunk_size, "read_in_one_thread": one_thread}
    response_class = type("Chunked", (trane.FileResponse,), options)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.bin"
        path.write_bytes(data)
        headers = [(b"range", ("bytes=" + ",".join(specs)).encode())] if specs else []
        extensions: dict[str, Any] = {"http.response.zerocopysend": {}} if zerocopy else {}
        result = await _send_file(response_class(path), headers, extensions)
    if ranges is None:
        assert (result.status, result.body) == (200, data)
    elif len(ranges) == 1:
        start, end = ranges[0]
        assert (result.status, result.body) == (206, data[start:end])
    else:
        assert result.status == 206
        assert [content for _, content in parse_byteranges(result)] == [
            data[start:end] for start, end in ranges
        ]
    bodies = [m for m in result.messages if m["type"] != "http.response.start"]
    assert all(len(m.get("body", b"")) <= max(chunk_size, 200) for m in bodies)
    assert [m.get("more_body", False) for m in bodies][-1] is False
    assert any(m["type"] == "http.response.zerocopysend" for m in bodies) == zerocopy


async def test_file_response_zerocopysend_hands_over_the_open_file(data_file: Path) -> None:
    extensions: dict[str, Any] = {"http.response.zerocopysend": {}}
    info = os.stat(data_file)
    for response in (
        trane.FileResponse(data_file),
        trane.FileResponse(data_file, stat_result=info),
    ):
        result = await _send_file(response, [(b"range", b"bytes=10-19")], extensions)
        assert (result.status, result.body) == (206, DATA[10:20])
        last = result.messages[-1]
        assert (last["type"], last["offset"], last["count"]) == (
            "http.response.zerocopysend",
            10,
            10,
        )
        assert last["more_body"] is False
        assert last["file"].closed  # closed once handed over: the server has sent it
    several = await _send_file(
        trane.FileResponse(data_file), [(b"range", b"bytes=0-9, 100-109")], extensions
    )
    assert [content for _, content in parse_byteranges(several)] == [DATA[:10], DATA[100:110]]
    kinds = [m["type"].rpartition(".")[2] for m in several.messages]
    assert kinds == ["start", "body", "zerocopysend", "body", "zerocopysend", "body"]


async def test_file_response_closes_every_file_it_opens(
    data_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: set[int] = set()
    real_open, real_close = os.open, os.close

    def recording_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        fd = real_open(path, flags, *args, **kwargs)
        opened.add(fd)
        return fd

    def recording_close(fd: int) -> None:
        opened.discard(fd)
        real_close(fd)

    monkeypatch.setattr(os, "open", recording_open)
    monkeypatch.setattr(os, "close", recording_close)
    etag = etag_of(data_file).encode()
    assert (await get(data_file)).body == DATA
    assert (await get(data_file, method="HEAD")).status == 200
    assert (await get(data_file, (b"if-none-match", etag))).status == 304
    assert (await get(data_file, (b"range", b"bytes=999999-"))).status == 416
    assert (await get(data_file, (b"range", b"bytes=0-1,5-6"))).status == 206
    query = b"path=" + str(data_file).encode()
    pathsend: dict[str, Any] = {"http.response.pathsend": {}}
    assert (await request(Serve, "GET", "/", query=query, extensions=pathsend)).status == 200
    info = os.stat(data_file)
    assert (await _send_file(trane.FileResponse(data_file, stat_result=info), [])).body == DATA
    head = trane.FileResponse(data_file, stat_result=info)
    assert (await _send_file(head, [(b"if-none-match", etag)])).status == 304
    assert opened == set()


async def test_file_response_fifo_is_404_and_never_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert (await asyncio.wait_for(get(fifo), 5)).status == 404


async def test_file_response_file_gone_or_replaced_after_stat_is_404(
    data_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open

    def gone(path: Any, flags: int, *args: Any) -> int:
        raise FileNotFoundError(path)

    monkeypatch.setattr(os, "open", gone)
    assert (await get(data_file)).status == 404
    monkeypatch.setattr(os, "open", real_open)
    directory = os.stat(tmp_path)
    monkeypatch.setattr(os, "fstat", lambda fd: directory)
    assert (await get(data_file)).status == 404


async def test_file_response_file_that_shrank_while_sent_is_an_error(data_file: Path) -> None:
    info = os.stat(data_file)
    grown = os.stat_result((*info[:6], info.st_size + 10, *info[7:10]), vars_of(info))
    with pytest.raises(RuntimeError, match="shrank while it was being sent"):
        await _send_file(trane.FileResponse(data_file, stat_result=grown), [])


async def test_file_response_client_gone_while_a_read_runs_ahead_waits_for_it(
    data_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    offsets: list[int] = []
    real_read = trane.files._OpenFile.read

    def slow_read(self: Any, offset: int, size: int) -> bytes:
        offsets.append(offset)
        if len(offsets) == 2:  # the read ahead, while the first chunk is sent
            release.wait(10)
        return real_read(self, offset, size)

    async def receive() -> Message:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body":
            raise OSError("connection reset")  # ASGI spec 2.4: the client has gone

    monkeypatch.setattr(trane.files._OpenFile, "read", slow_read)
    response = type("Small", (trane.FileResponse,), {"chunk_size": 1024})(data_file)
    scope = make_scope(asgi={"version": "3.0", "spec_version": "2.4"})
    task = asyncio.ensure_future(response(scope, receive, send))
    for _ in range(50):
        await asyncio.sleep(0)
        if len(offsets) == 2:
            break
    for _ in range(5):
        await asyncio.sleep(0)
    assert not task.done()  # the file stays open until the read ahead has ended
    release.set()
    await task  # the client left: nothing more to do
    assert offsets == [0, 1024]


def vars_of(info: os.stat_result) -> dict[str, Any]:
    """The named-only fields of a stat result (st_mtime_ns...), to build another."""
    return {name: getattr(info, name) for name in dir(info) if name.startswith("st_")}


def test_pread_without_os_pread(data_file: Path) -> None:
    fd = os.open(data_file, os.O_RDONLY)
    try:
        assert trane.files._pread_portable(fd, 5, 256) == DATA[256:261]
        assert trane.files._pread_portable(fd, 10, len(DATA) - 3) == DATA[-3:]
    finally:
        os.close(fd)


async def test_file_response_stops_reading_when_the_client_leaves(data_file: Path) -> None:
    class SmallChunks(trane.FileResponse):
        chunk_size = 1024

    response = SmallChunks(data_file)
    sent: list[Message] = []
    gone = asyncio.Event()

    async def receive() -> Message:
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)
        if len(sent) == 3:
            gone.set()
        await asyncio.sleep(0.001)  # a slow client

    await asyncio.wait_for(response(make_scope(), receive, send), 5)
    bodies = [m for m in sent if m["type"] == "http.response.body"]
    assert 2 <= len(bodies) < 10  # 300 chunks if it had not stopped


# -- examples/files.py, in-process -------------------------------------------------


async def test_example_files_in_process() -> None:
    async with TestClient(example.app) as client:
        home = await client.get("/")
        assert home.status_code == 200
        assert "multipart/form-data" in home.text

        files = {"file": ("../notes.txt", b"hello " * 1000, "text/plain")}
        upload = await client.post("/upload", data={"note": "hi"}, files=files)
        assert upload.status_code == 200
        result = upload.json()
        assert result["fields"] == {"note": "hi"}
        [info] = result["files"]
        assert (info["filename"], info["safe_filename"], info["size"]) == (
            "../notes.txt",
            "notes.txt",
            6000,
        )

        download = await client.get("/download", headers={"range": "bytes=0-99"})
        assert download.status_code == 206
        assert download.content == EXAMPLE_SOURCE[:100]
        assert download.headers["content-disposition"] == 'attachment; filename="files.py"'

        static = await client.get("/static/")
        assert static.status_code == 200
        assert "Served by trane.StaticFiles" in static.text
        missing = await client.get("/static/nope.css")
        assert missing.status_code == 404
        assert "Nothing under /static" in missing.text

        clock = await client.get("/clock", params={"interval": "0.01", "count": "3"})
        assert clock.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert re.findall(r"id: (\d+)", clock.text) == ["0", "1", "2"]
        resumed = await client.get(
            "/clock", params={"interval": "0.01", "count": "2"}, headers={"last-event-id": "41"}
        )
        assert re.findall(r"id: (\d+)", resumed.text) == ["42", "43"]
        bad = await client.get("/clock", params={"interval": "soon"})
        assert bad.status_code == 400


# -- parse_range against a model (RFC 9110 section 14.1.2) ---------------------

_SPEC = st.one_of(
    st.tuples(st.integers(0, 60), st.none() | st.integers(0, 60)),  # first-[last]
    st.tuples(st.none(), st.integers(0, 60)),  # -suffix
)


def _model(specs: list[tuple[int | None, int | None]], size: int) -> list[tuple[int, int]] | None:
    """The byte positions each spec selects, unioned: what a careful reader takes."""
    chosen: set[int] = set()
    for first, last in specs:
        if first is not None and last is not None and last < first:
            return None  # invalid: the header is ignored
        if first is None:
            assert last is not None
            chosen.update(range(max(size - last, 0), size))
        else:
            chosen.update(range(first, size if last is None else min(last + 1, size)))
    runs: list[tuple[int, int]] = []
    for position in sorted(chosen):
        if runs and runs[-1][1] == position:
            runs[-1] = (runs[-1][0], position + 1)
        else:
            runs.append((position, position + 1))
    return runs


@settings(max_examples=300, deadline=None)
@given(
    specs=st.lists(_SPEC, min_size=1, max_size=6),
    size=st.integers(0, 50),
    spaces=st.sampled_from(["", " ", "  "]),
)
def test_parse_range_agrees_with_the_model(
    specs: list[tuple[int | None, int | None]], size: int, spaces: str
) -> None:
    text = f",{spaces}".join(
        f"{'' if first is None else first}-{'' if last is None else last}" for first, last in specs
    )
    got = parse_range(f"bytes={text}", size)
    expected = _model(specs, size)

    # Adjacent ranges may stay apart (both forms send the same bytes); compare bytes.
    def positions(ranges: list[tuple[int, int]] | None) -> set[int] | None:
        return None if ranges is None else {p for a, b in ranges for p in range(a, b)}

    assert positions(got) == positions(expected)
    if got:
        assert all(0 <= a < b <= size for a, b in got)
        assert all(b1 < a2 for (_, b1), (a2, _) in itertools.pairwise(got))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80), st.integers(0, 10**6))
def test_parse_range_never_fails_on_any_header(header: str, size: int) -> None:
    got = parse_range(header, size)
    assert got is None or all(0 <= a < b <= size for a, b in got)
    assert got is None or len(got) <= MAX_RANGES
