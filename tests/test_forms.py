"""Forms: urlencoded and multipart parsing, uploads, limits and hostile bodies."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import os
import random
import tempfile
import threading
import tracemalloc
from collections.abc import AsyncIterator
from typing import Any
from unittest import mock

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from python_multipart import MultipartParser

import trane
import trane.forms
from asgi import Result, request
from trane.exceptions import HTTPError
from trane.forms import FormData, UploadFile, parse_form, parse_options_header, safe_filename

BOUNDARY = "----trane-boundary-7MA4YWxkTrZu0gW"
MULTIPART = [(b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode())]
URLENCODED = [(b"content-type", b"application/x-www-form-urlencoded")]

#: Uploads the views saw, to check afterwards that they were closed.
SEEN: list[UploadFile] = []


def part(
    name: str | None,
    value: bytes,
    filename: str | None = None,
    content_type: str | None = None,
    boundary: str = BOUNDARY,
) -> bytes:
    disposition = "form-data"
    if name is not None:
        disposition += f'; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
    if content_type is not None:
        head += f"Content-Type: {content_type}\r\n"
    return head.encode() + b"\r\n" + value + b"\r\n"


def multipart(*parts: bytes, boundary: str = BOUNDARY) -> bytes:
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


async def describe(form: FormData) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            SEEN.append(value)
            data = await value.read()
            item: Any = {
                "filename": value.filename,
                "safe": value.safe_filename,
                "type": value.content_type,
                "size": value.size,
                "data": data.decode("latin-1"),
                "in_memory": value.in_memory,
            }
        else:
            item = value
        out.setdefault(key, []).append(item)
    return out


class Form(trane.Application):
    max_body_size = 32 * 1024 * 1024
    max_upload_memory = 1024

    async def post(self) -> dict[str, Any]:
        form = await self.form()
        assert await self.form() is form  # parsed once
        return await describe(form)


class Limited(trane.Application):
    max_body_size = 4096
    max_form_fields = 3
    max_form_files = 1
    max_part_size = 10

    async def post(self) -> dict[str, Any]:
        return await describe(await self.form())


class BodyThenForm(trane.Application):
    async def post(self) -> dict[str, Any]:
        body = await self.body()
        form = await self.form()
        return {"length": len(body), "form": await describe(form)}


class AfterResponse(trane.Application):
    """The uploads are still open for work done after the response."""

    async def post(self) -> str:
        form = await self.form()
        upload = form["file"]
        assert isinstance(upload, UploadFile)
        self.after_response(self.digest, upload)
        return "ok"

    async def digest(self, upload: UploadFile) -> None:
        await upload.seek(0)
        DIGESTS.append(len(await upload.read()))


DIGESTS: list[int] = []


async def post(app: Any = Form, body: bytes = b"", **kwargs: Any) -> Result:
    kwargs.setdefault("headers", MULTIPART)
    return await request(app, "POST", "/", body=body, **kwargs)


def data(result: Result) -> Any:
    assert result.status == 200, result.body
    return json.loads(result.body)


# -- urlencoded --------------------------------------------------------------


async def test_form_urlencoded_fields() -> None:
    result = await post(body=b"a=1&b=x+y%21&a=2&empty=&flag", headers=URLENCODED)
    assert data(result) == {"a": ["1", "2"], "b": ["x y!"], "empty": [""], "flag": [""]}


async def test_form_urlencoded_in_chunks_and_utf8() -> None:
    body = b"name=J%C3%BCrgen&city=K%C3%B6ln"
    chunks = [body[i : i + 3] for i in range(0, len(body), 3)]
    result = await request(Form, "POST", "/", chunks=chunks, headers=URLENCODED)
    assert data(result) == {"name": ["Jürgen"], "city": ["Köln"]}


async def test_form_urlencoded_charset_parameter_and_empty_body() -> None:
    headers = [(b"content-type", b"application/x-www-form-urlencoded; charset=utf-8")]
    assert data(await post(body=b"", headers=headers)) == {}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"a=1;b=2", b"';' is not a field separator"),
        (b"a=%ff%fe", b"not UTF-8"),
        (b"%c3=1", b"not UTF-8"),
    ],
)
async def test_form_urlencoded_malformed_is_400(body: bytes, reason: bytes) -> None:
    result = await post(body=body, headers=URLENCODED)
    assert result.status == 400
    assert reason in result.body


# -- multipart ---------------------------------------------------------------


async def test_form_multipart_fields_and_files() -> None:
    body = multipart(
        part("title", "Grüße".encode()),
        part("tag", b"a"),
        part("tag", b"b"),
        part("doc", b"%PDF-1.4 \r\n--not-a-boundary", "report.pdf", "application/pdf"),
        part("empty", b"", ""),
    )
    result = data(await post(body=body))
    assert result["title"] == ["Grüße"]
    assert result["tag"] == ["a", "b"]
    [doc] = result["doc"]
    assert doc["filename"] == "report.pdf"
    assert doc["type"] == "application/pdf"
    assert doc["data"] == "%PDF-1.4 \r\n--not-a-boundary"
    assert doc["size"] == len(doc["data"])
    assert result["empty"][0]["filename"] == ""
    assert result["empty"][0]["size"] == 0


async def test_form_multipart_filenames_kept_as_sent_but_never_used_as_paths() -> None:
    names = [
        "../../etc/passwd",
        "/etc/shadow",
        "C:\\\\Windows\\\\win.ini",
        "a\x00b.txt",
        "..",
        "résumé.pdf",
    ]
    body = multipart(*(part(f"f{i}", b"x" * 2000, name) for i, name in enumerate(names)))
    SEEN.clear()
    result = data(await post(body=body))
    sent = [result[f"f{i}"][0] for i in range(len(names))]
    assert [item["filename"] for item in sent] == [
        "../../etc/passwd",
        "/etc/shadow",
        "C:\\Windows\\win.ini",
        "a\x00b.txt",
        "..",
        "résumé.pdf",
    ]
    assert [item["safe"] for item in sent] == [
        "passwd",
        "shadow",
        "win.ini",
        "ab.txt",
        "upload",
        "résumé.pdf",
    ]
    # Rolled over to disk (2000 > 1024 bytes) into anonymous temporary files.
    assert not any(item["in_memory"] for item in sent)
    for upload in SEEN:
        assert not isinstance(upload.file.name, str)


async def test_form_multipart_names_not_in_utf8_are_read_as_latin1() -> None:
    head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="caf\xe9"\r\n\r\n'
    result = await post(body=multipart(head.encode("latin-1") + b"x\r\n"))
    assert data(result) == {"café": ["x"]}


async def test_form_multipart_split_into_tiny_chunks() -> None:
    body = multipart(part("a", b"1" * 50), part("f", b"\r\n--" * 40, "f.bin"))
    chunks = [body[i : i + 7] for i in range(0, len(body), 7)]
    result = data(await request(Form, "POST", "/", chunks=chunks, headers=MULTIPART))
    assert result["a"] == ["1" * 50]
    assert result["f"][0]["data"] == "\r\n--" * 40


async def test_form_multipart_quoted_boundary_and_odd_names() -> None:
    boundary = 'we:ird=,bound"ary'
    quoted = boundary.replace('"', '\\"')
    headers = [(b"content-type", f'multipart/form-data; boundary="{quoted}"'.encode())]
    body = multipart(
        f'--{boundary}\r\nContent-Disposition: form-data; name="a;b"; filename="x\\"y.txt"\r\n'
        "\r\nhi\r\n".encode(),
        boundary=boundary,
    )
    result = data(await post(body=body, headers=headers))
    assert result["a;b"][0]["filename"] == 'x"y.txt'


async def test_form_uploads_are_closed_after_the_request() -> None:
    SEEN.clear()
    await post(body=multipart(part("f", b"x" * 5000, "big.bin"), part("g", b"y", "small.txt")))
    assert len(SEEN) == 2
    assert all(upload.closed for upload in SEEN)


async def test_form_uploads_stay_open_for_after_response() -> None:
    DIGESTS.clear()
    result = await post(AfterResponse, body=multipart(part("file", b"z" * 3000, "z.bin")))
    assert result.body == b"ok"
    assert DIGESTS == [3000]


async def test_form_after_body_parses_the_cached_body() -> None:
    body = multipart(part("a", b"1"), part("f", b"data", "f.txt"))
    result = data(await post(BodyThenForm, body=body))
    assert result["length"] == len(body)
    assert result["form"]["a"] == ["1"]
    assert result["form"]["f"][0]["data"] == "data"


async def test_form_data_mapping() -> None:
    upload = UploadFile("f.txt")
    form = FormData([("a", "1"), ("a", "2"), ("f", upload)])
    assert form["a"] == "1"
    assert form.get("missing") is None
    assert form.getlist("a") == ["1", "2"]
    assert list(form) == ["a", "f"]
    assert len(form) == 2
    assert form.files == [upload]
    assert "FormData" in repr(form)
    await form.close()
    assert upload.closed


# -- spooling ----------------------------------------------------------------


async def test_upload_file_spools_to_disk_through_a_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[tuple[str, bool]] = []

    def record(what: str) -> None:
        threads.append((what, threading.current_thread() is threading.main_thread()))

    class Recording(tempfile.SpooledTemporaryFile[bytes]):
        def writelines(self, lines: Any) -> None:
            record("writelines")
            super().writelines(lines)

        def rollover(self) -> None:
            record("rollover")
            super().rollover()

    monkeypatch.setattr(tempfile, "SpooledTemporaryFile", Recording)
    upload = UploadFile("a.bin", spool_size=10)
    await upload.write(b"12345")  # fits in memory: written on the event loop
    assert upload.in_memory
    await upload.write(b"6789012345")  # rolls over: the copy and write run in a thread
    assert not upload.in_memory
    await upload.write(b"more")
    assert threads == [
        ("writelines", True),
        ("rollover", False),  # then the data, with os.writev() on the file descriptor
        ("rollover", False),  # a no-op once rolled over
    ]
    assert upload.size == 19
    await upload.seek(0)
    assert await upload.read() == b"1234567890123456789"[:15] + b"more"
    await upload.close()
    assert upload.closed
    assert "a.bin" in repr(upload)


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("/abs/path.txt", "path.txt"),
        (".hidden", "hidden"),
        ("nul\x00byte\n.txt", "nulbyte.txt"),
        ("", "upload"),
        ("../", "upload"),
        ("é" * 300, "é" * 127),
    ],
)
def test_safe_filename(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


# -- limits ------------------------------------------------------------------


async def test_form_limits_fields_files_and_part_size() -> None:
    ok = await post(Limited, body=multipart(part("a", b"1"), part("b", b"2"), part("f", b"", "f")))
    assert ok.status == 200
    fields = await post(Limited, body=multipart(*(part(f"x{i}", b"1") for i in range(4))))
    assert (fields.status, fields.body) == (400, b"Too many form fields (at most 3)")
    files = await post(Limited, body=multipart(part("f", b"", "a"), part("g", b"", "b")))
    assert (files.status, files.body) == (400, b"Too many files (at most 1)")
    big = await post(Limited, body=multipart(part("a", b"x" * 11)))
    assert (big.status, big.body) == (413, b"Form field 'a' larger than 10 bytes")
    body = await post(Limited, body=multipart(part("f", b"x" * 5000, "f")))
    assert body.status == 413
    assert b"larger than 4096 bytes" in body.body


async def test_form_limits_urlencoded() -> None:
    fields = await post(Limited, body=b"a=1&b=2&c=3&d=4", headers=URLENCODED)
    assert (fields.status, fields.body) == (400, b"Too many form fields (at most 3)")
    big = await post(Limited, body=b"a=" + b"x" * 11, headers=URLENCODED)
    assert (big.status, big.body) == (413, b"Form field larger than 10 bytes")
    name = await post(Limited, body=b"x" * 11 + b"=1", headers=URLENCODED)
    assert name.status == 413


async def test_form_limits_are_inherited() -> None:
    class Child(Limited):
        pass

    result = await post(Child, body=b"a=1&b=2&c=3&d=4", headers=URLENCODED)
    assert result.status == 400


class HeaderPolicy(trane.Application):
    max_part_headers = 20
    max_part_header_size = 100

    async def post(self) -> dict[str, Any]:
        return await describe(await self.form())


def headed(*lines: bytes, name: str = "a") -> bytes:
    """A body of one field part with these extra header lines."""
    head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n'.encode()
    return multipart(head + b"".join(line + b"\r\n" for line in lines) + b"\r\n1\r\n")


async def test_form_part_header_limits_are_class_policies() -> None:
    assert (trane.Application.max_part_headers, trane.Application.max_part_header_size) == (
        16,
        8192,
    )
    # 20 headers with 100 bytes of names and values pass (the Content-Disposition
    # header has 38); python-multipart's own default allows 8 headers.
    ok = await post(HeaderPolicy, body=headed(*[b"X: 1"] * 18, b"X-Y: " + b"y" * 23))
    assert data(ok) == {"a": ["1"]}
    count = await post(HeaderPolicy, body=headed(*[b"X: 1"] * 20))
    assert (count.status, count.body) == (400, b"Too many headers in a multipart part (at most 20)")
    size = await post(HeaderPolicy, body=headed(*[b"X-Long: " + b"y" * 30] * 2))
    assert (size.status, size.body) == (400, b"Multipart part headers larger than 100 bytes")
    # The limits are per part: each of many parts may use them all.
    parts = [headed(*[b"X: 1"] * 19, name=f"f{i}").rsplit(b"--" + BOUNDARY.encode(), 1)[0]
             for i in range(5)]  # fmt: skip
    many = await post(HeaderPolicy, body=multipart(*parts))
    assert data(many) == {f"f{i}": ["1"] for i in range(5)}


async def post_measured(view: Any, chunks: list[bytes]) -> tuple[Any, int]:
    """POST ``chunks`` as a multipart body to ``view``: its result, and tracemalloc's peak."""
    tracemalloc.start()
    try:
        result = await request(view, "POST", "/", chunks=chunks, headers=MULTIPART)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


@pytest.mark.parametrize(
    "lines",
    [
        [b"a:"] * 250_000,  # 1 MiB of empty headers: grew RSS by 33 MB before
        [b"X-Big: " + b"y" * (1024 * 1024)],  # one huge header
        [b"X-Big: " + b"y" * 4000] * 3,  # several lines, each under the per-line bound
        [b"X-Pad:" + b" " * (1024 * 1024) + b"1"],  # a huge run of spaces
    ],
    ids=["many-empty", "one-huge", "three-large", "spaces"],
)
async def test_form_hostile_part_headers_are_400_with_bounded_memory(lines: list[bytes]) -> None:
    body = headed(*lines)
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    result, peak = await post_measured(SizeOnly, chunks)
    assert result.status == 400, result.body
    assert b"header" in result.body.lower(), result.body
    assert peak < len(body) // 2 + 512 * 1024, peak


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        ([b"a:"] * 250_000, b"Too many headers in a multipart part (at most 16)"),
        ([b"X-Big: " + b"y" * (1024 * 1024)], b"Multipart part headers larger than 8192 bytes"),
    ],
    ids=["many-empty", "one-huge"],
)
async def test_form_part_header_limits_hold_without_python_multipart_bounds(
    monkeypatch: pytest.MonkeyPatch, lines: list[bytes], reason: bytes
) -> None:
    # As python-multipart before 0.0.27: no header bounds of its own.
    def unbounded(boundary: bytes, callbacks: Any, **_: Any) -> MultipartParser:
        return MultipartParser(boundary, callbacks, max_header_count=2**62, max_header_size=2**62)

    monkeypatch.setattr(trane.forms, "MultipartParser", unbounded)
    body = headed(*lines)
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    result, peak = await post_measured(SizeOnly, chunks)
    assert (result.status, result.body) == (400, reason)
    assert peak < len(body) // 2 + 512 * 1024, peak


def _multi_megabyte_upload(size: int) -> tuple[list[bytes], int]:
    """A multipart body of ``size`` file bytes, as 64 KiB chunks sharing one buffer."""
    blob = bytes(range(256)) * 256  # 64 KiB
    head = part("file", b"", "big.bin")[: -len(b"\r\n")]
    chunks = [head] + [blob] * (size // len(blob)) + [f"\r\n--{BOUNDARY}--\r\n".encode()]
    return chunks, size


class SizeOnly(trane.Application):
    max_body_size = 64 * 1024 * 1024

    async def post(self) -> dict[str, Any]:
        form = await self.form()
        upload = form["file"]
        assert isinstance(upload, UploadFile)
        return {"size": upload.size, "in_memory": upload.in_memory}


async def test_form_multi_megabyte_parse_allocates_little() -> None:
    chunks, size = _multi_megabyte_upload(16 * 1024 * 1024)
    result, peak = await post_measured(SizeOnly, chunks)
    assert json.loads(result.body) == {"size": size, "in_memory": False}
    # 16 MiB went through; at most the 1 MiB spool and a few chunks were held.
    assert peak < 3 * 1024 * 1024, peak


async def test_form_over_max_body_size_in_chunks_is_413_with_bounded_memory() -> None:
    chunks, _ = _multi_megabyte_upload(8 * 1024 * 1024)

    class Small(SizeOnly):
        max_body_size = 2 * 1024 * 1024

    result, peak = await post_measured(Small, chunks)
    assert (result.status, result.body) == (413, b"Request body larger than 2097152 bytes")
    assert peak < 3 * 1024 * 1024, peak


async def _fresh_chunks(body: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    """``body`` in ``size`` pieces, each a new bytes object as a server's are."""
    view = memoryview(body)
    for start in range(0, len(body), size):
        yield bytes(view[start : start + size])


async def test_form_upload_is_written_in_batches_hash_exact_with_bounded_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = random.Random(7).randbytes(5 * 1024 * 1024 + 12345)
    body = multipart(part("a", b"1"), part("file", data, "big.bin"), part("b", b"2"))
    real_to_thread = asyncio.to_thread
    handoffs = 0

    async def counting_to_thread(func: Any, /, *args: Any) -> Any:
        nonlocal handoffs
        handoffs += 1
        return await real_to_thread(func, *args)

    monkeypatch.setattr(asyncio, "to_thread", counting_to_thread)
    tracemalloc.start()
    try:
        form = await parse_form(f"multipart/form-data; boundary={BOUNDARY}", _fresh_chunks(body))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    upload = form["file"]
    assert isinstance(upload, UploadFile)
    assert (form["a"], form["b"], upload.size) == ("1", "2", len(data))
    assert not upload.in_memory
    writes = handoffs
    assert writes <= len(data) // trane.forms.WRITE_BATCH + 2  # then seek(0): one more
    assert hashlib.sha256(await upload.read()).digest() == hashlib.sha256(data).digest()
    await form.close()
    # One batch written while the next fills, one 64 KiB chunk, the parser's own.
    assert peak < 2 * trane.forms.WRITE_BATCH + 512 * 1024, peak


@settings(max_examples=100, deadline=None)
@given(
    files=st.lists(st.binary(max_size=300), min_size=1, max_size=3),
    batch=st.sampled_from([1, 7, 64, 1024 * 1024]),
    spool=st.sampled_from([0, 50, 1024 * 1024]),
    cuts=st.lists(st.integers(min_value=0), max_size=12),
)
async def test_form_uploads_are_exact_whatever_the_batch_size(
    files: list[bytes], batch: int, spool: int, cuts: list[int]
) -> None:
    for data in files:
        assume(f"\r\n--{BOUNDARY}".encode() not in b"\r\n" + data)
    body = multipart(*(part(f"f{i}", data, f"{i}.bin") for i, data in enumerate(files)))
    with mock.patch.object(trane.forms, "WRITE_BATCH", batch):
        form = await _parse(body, cuts, spool_size=spool)
    try:
        for i, data in enumerate(files):
            upload = form[f"f{i}"]
            assert isinstance(upload, UploadFile)
            assert (upload.size, await upload.read()) == (len(data), data)
            assert upload.in_memory == (len(data) <= spool)
    finally:
        await form.close()


async def test_form_many_tiny_chunks_are_written_every_few_pieces(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A client trickling bytes makes tiny messages: a batch of 1 MiB of them would
    # hold far more memory in bytes objects than in data. 64 pieces end a batch.
    batches: list[int] = []
    real_spill = UploadFile._spill

    def spill(self: UploadFile, chunks: list[bytes], size: int) -> None:
        batches.append(len(chunks))
        real_spill(self, chunks, size)

    monkeypatch.setattr(UploadFile, "_spill", spill)
    data = bytes(range(200))
    body = multipart(part("file", data, "a.bin"))
    start = body.index(data)
    form = await _parse(body, list(range(start, start + len(data))), spool_size=0)
    upload = form["file"]
    assert isinstance(upload, UploadFile)
    assert await upload.read() == data
    await form.close()
    assert max(batches) == trane.forms.WRITE_PIECES
    assert sum(batches) >= len(data)


async def test_upload_file_short_writes_are_finished(monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = os.write

    def short_writev(fd: int, buffers: list[bytes]) -> int:
        return real_write(fd, buffers[0][:3])  # as after a signal: only 3 bytes went

    def short_write(fd: int, data: Any) -> int:
        return real_write(fd, bytes(data[:2]))

    monkeypatch.setattr(os, "writev", short_writev)
    monkeypatch.setattr(os, "write", short_write)
    upload = UploadFile("a.bin", spool_size=0)
    await upload._write_all([b"abcdef", b"ghij"], 10)
    assert upload.size == 10
    await upload.seek(0)
    assert await upload.read() == b"abcdefghij"
    await upload.close()


async def test_upload_write_cancelled_midway_waits_for_its_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started, release = threading.Event(), threading.Event()
    finished: list[bool] = []

    def slow_spill(self: UploadFile, chunks: list[bytes], size: int) -> None:
        started.set()
        release.wait(10)
        finished.append(True)

    monkeypatch.setattr(UploadFile, "_spill", slow_spill)
    upload = UploadFile("a.bin", spool_size=0)
    task = asyncio.ensure_future(upload.write(b"x"))
    await asyncio.to_thread(started.wait, 10)
    task.cancel()
    for _ in range(5):
        await asyncio.sleep(0)
    assert not task.done()  # the thread cannot be stopped: the write waits for it
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert finished == [True]
    await upload.close()


async def test_form_error_while_a_batch_is_written_closes_the_upload(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(trane.forms, "WRITE_BATCH", 4)
    uploads: list[UploadFile] = []
    real_init = UploadFile.__init__

    def keep(self: UploadFile, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        uploads.append(self)

    def failing_spill(self: UploadFile, chunks: list[bytes], size: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(UploadFile, "__init__", keep)
    monkeypatch.setattr(UploadFile, "_spill", failing_spill)

    async def chunks() -> AsyncIterator[bytes]:
        yield part("file", b"", "a.bin")[: -len(b"\r\n")] + b"12345678"
        raise HTTPError(413, "too large")  # what RequestBody raises past max_body_size

    with pytest.raises(HTTPError) as caught:  # the form's own error, not the write's
        await parse_form(f"multipart/form-data; boundary={BOUNDARY}", chunks(), spool_size=0)
    assert caught.value.status == 413
    assert [upload.closed for upload in uploads] == [True]


async def test_form_failed_batch_write_is_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trane.forms, "WRITE_BATCH", 4)

    def failing_spill(self: UploadFile, chunks: list[bytes], size: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(UploadFile, "_spill", failing_spill)
    body = multipart(part("file", b"0123456789" * 3, "a.bin"))
    with pytest.raises(OSError, match="disk full"):
        await _parse(body, [5, 20, 30], spool_size=0)


# -- malformed input ---------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "body", "reason"),
    [
        ([(b"content-type", b"multipart/form-data")], b"--x\r\n", b"no boundary"),
        ([(b"content-type", b'multipart/form-data; boundary=""')], b"--\r\n", b"no boundary"),
        (
            [(b"content-type", b"multipart/form-data; boundary=" + b"b" * 300)],
            b"",
            b"invalid boundary",
        ),
        (
            [(b"content-type", "multipart/form-data; boundary=é".encode())],
            b"",
            b"invalid boundary",
        ),
        (MULTIPART, part("a", b"1"), b"truncated"),
        (MULTIPART, part("a", b"1")[:-10], b"truncated"),
        (MULTIPART, b"", b"truncated"),
        (MULTIPART, part("a", b"1") + f"--{BOUNDARY}-X\r\n".encode(), b"Malformed multipart"),
        (MULTIPART, b"--wrong-boundary\r\n\r\n", b"Malformed multipart"),
        (MULTIPART, multipart(part(None, b"1")), b"a part has no name"),
        (
            MULTIPART,
            multipart(f"--{BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nx\r\n".encode()),
            b"no Content-Disposition",
        ),
        (
            MULTIPART,
            multipart(
                f'--{BOUNDARY}\r\nContent-Disposition: inline; name="a"\r\n\r\nx\r\n'.encode()
            ),
            b"Content-Disposition 'inline'",
        ),
        (
            MULTIPART,
            multipart(f"--{BOUNDARY}\r\nno colon here\r\n\r\nx\r\n".encode()),
            b"Malformed multipart",
        ),
        (
            MULTIPART,
            multipart(f"--{BOUNDARY}\r\n".encode() + b"X-A: 1\r\n" * 20 + b"\r\nx\r\n"),
            b"Too many headers in a multipart part (at most 16)",
        ),
        (MULTIPART, multipart(part("a", b"\xff\xfe")), b"field 'a' is not UTF-8"),
        ([], b"a=1", b"got no Content-Type"),
        ([(b"content-type", b"application/json")], b"{}", b"Expected a form body"),
    ],
)
async def test_form_malformed_is_400(
    headers: list[tuple[bytes, bytes]], body: bytes, reason: bytes
) -> None:
    result = await post(body=body, headers=headers)
    assert result.status == 400, result.body
    assert reason in result.body, result.body


async def test_form_random_bytes_never_500() -> None:
    rng = random.Random(4)
    for _ in range(200):
        body = rng.randbytes(rng.randrange(0, 400))
        if rng.random() < 0.5:
            body = f"--{BOUNDARY}\r\n".encode() + body
        for headers in (MULTIPART, URLENCODED):
            result = await post(body=body, headers=headers)
            assert result.status in (200, 400, 413), (body, result.status, result.body)


async def test_form_mutated_valid_bodies_never_500() -> None:
    valid = multipart(part("a", b"hello"), part("f", b"file data\r\n", "f.txt", "text/plain"))
    rng = random.Random(7)
    for _ in range(300):
        body = bytearray(valid)
        for _ in range(rng.randrange(1, 4)):
            body[rng.randrange(len(body))] = rng.choice(b'\r\n-:;"= ax\x00\xff')
        result = await post(body=bytes(body))
        assert result.status in (200, 400), (bytes(body), result.status, result.body)


async def test_form_pathological_boundary_is_linear() -> None:
    boundary = "a" * 69 + "b"  # 70 characters, the RFC maximum
    headers = [(b"content-type", f"multipart/form-data; boundary={boundary}".encode())]
    near_miss = f"\r\n--{'a' * 69}c".encode()  # matches all but the last character
    filler = near_miss * (4 * 1024 * 1024 // len(near_miss))
    body = part("file", filler, "f.bin", boundary=boundary)
    body += f"--{boundary}--\r\n".encode()
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    result = await asyncio.wait_for(
        request(SizeOnly, "POST", "/", chunks=chunks, headers=headers), timeout=10
    )
    assert json.loads(result.body)["size"] == len(filler)


async def test_form_pathological_boundary_of_dashes_and_crlf_body() -> None:
    boundary = "-" * 70
    headers = [(b"content-type", f"multipart/form-data; boundary={boundary}".encode())]
    # CRLF and 71 dashes: one dash short of a delimiter, over and over.
    filler = (b"\r\n" + b"-" * 71) * (2 * 1024 * 1024 // 73)
    body = part("file", filler, "f.bin", boundary=boundary) + f"--{boundary}--\r\n".encode()
    result = await asyncio.wait_for(
        request(SizeOnly, "POST", "/", body=body, headers=headers), timeout=10
    )
    assert json.loads(result.body)["size"] == len(filler)


async def test_form_pathological_content_type_header_is_linear() -> None:
    values = [
        'multipart/form-data; boundary="' + "\\" * 200_000,
        "multipart/form-data" + '; a="' * 50_000,
        "multipart/form-data" + ";" * 200_000 + "boundary=x",
    ]
    for value in values:
        headers = [(b"content-type", value.encode())]
        result = await asyncio.wait_for(post(body=b"--x--\r\n", headers=headers), timeout=5)
        assert result.status in (200, 400)


# -- properties --------------------------------------------------------------


def _quoted(text: str) -> bytes:
    """``text`` as an RFC 7578 quoted-string parameter, UTF-8 like browsers send."""
    return b'"' + text.replace("\\", "\\\\").replace('"', '\\"').encode() + b'"'


async def _parse(body: bytes, cuts: list[int], **limits: Any) -> FormData:
    points = sorted({0, len(body), *(cut % (len(body) + 1) for cut in cuts)})

    async def chunks() -> AsyncIterator[bytes]:
        for start, end in itertools.pairwise(points):
            yield body[start:end]

    return await parse_form(f"multipart/form-data; boundary={BOUNDARY}", chunks(), **limits)


_NAMES = st.text(st.characters(blacklist_characters="\r\n", codec="utf-8"), max_size=12)
_PARTS = st.lists(
    st.tuples(
        _NAMES,
        st.one_of(st.none(), _NAMES),
        st.one_of(st.text(max_size=30), st.binary(max_size=300)),
    ),
    max_size=6,
)


@settings(max_examples=150, deadline=None)
@given(parts=_PARTS, cuts=st.lists(st.integers(min_value=0), max_size=12))
async def test_form_multipart_gives_back_every_field_and_file(
    parts: list[tuple[str, str | None, str | bytes]], cuts: list[int]
) -> None:
    body = b""
    expected: list[tuple[str, str | None, bytes]] = []
    for name, filename, content in parts:
        if filename is None:
            content = content if isinstance(content, str) else content.decode("latin-1")
            data = content.encode()
        else:
            data = content.encode() if isinstance(content, str) else content
        assume(f"\r\n--{BOUNDARY}".encode() not in b"\r\n" + data)
        disposition = b"form-data; name=" + _quoted(name)
        if filename is not None:
            disposition += b"; filename=" + _quoted(filename)
        body += f"--{BOUNDARY}\r\n".encode() + b"Content-Disposition: " + disposition
        body += b"\r\n\r\n" + data + b"\r\n"
        expected.append((name, filename, data))
    body += f"--{BOUNDARY}--\r\n".encode()
    form = await _parse(body, cuts, spool_size=64)
    try:
        got: list[tuple[str, str | None, bytes]] = []
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                got.append((key, value.filename, await value.read()))
            else:
                got.append((key, None, value.encode()))
        assert got == expected
    finally:
        await form.close()


_HOSTILE_LINES = st.lists(
    st.one_of(
        st.just(b"a:"),
        st.just(b":"),
        st.builds(lambda n: b"X-Big: " + b"y" * n, st.integers(0, 20_000)),
        st.builds(lambda n: b"X-Pad:" + b" " * n + b"1", st.integers(0, 20_000)),
        st.binary(max_size=40),
    ),
    max_size=40,
)


@settings(max_examples=100, deadline=None)
@given(
    lines=_HOSTILE_LINES,
    end=st.sampled_from([b"\r\nx\r\n--%s--\r\n", b"\r\nx", b"", b"\r\nx\r\n--%s"]),
    cuts=st.lists(st.integers(min_value=0), max_size=8),
)
async def test_form_hostile_multipart_is_400_or_413_never_another_error(
    lines: list[bytes], end: bytes, cuts: list[int]
) -> None:
    body = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\n'.encode()
    body += b"".join(line + b"\r\n" for line in lines) + end.replace(b"%s", BOUNDARY.encode())
    status = 200
    try:
        form = await _parse(body, cuts)
    except trane.HTTPError as exc:  # anything else fails the test
        status = exc.status
    else:
        await form.close()
    assert status in (200, 400, 413)


# -- header parameters -------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("text/plain", ("text/plain", {})),
        ("Multipart/Form-Data; Boundary=abc", ("multipart/form-data", {"boundary": "abc"})),
        (
            'form-data; name="a;b"; filename="c.txt"',
            ("form-data", {"name": "a;b", "filename": "c.txt"}),
        ),
        ('form-data; name="q\\"uote\\\\"', ("form-data", {"name": 'q"uote\\'})),
        ('form-data; name="C:\\path\\f"', ("form-data", {"name": "C:\\path\\f"})),
        ('form-data; name="open', ("form-data", {"name": "open"})),
        ("form-data; name*=utf-8''x; name=y", ("form-data", {"name": "y"})),
        ("form-data; junk; =x; name=a; name=b", ("form-data", {"name": "a"})),
        ("", ("", {})),
    ],
)
def test_parse_options_header(value: str, expected: tuple[str, dict[str, str]]) -> None:
    assert parse_options_header(value) == expected
