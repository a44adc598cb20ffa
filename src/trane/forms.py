"""Form bodies: ``application/x-www-form-urlencoded`` and ``multipart/form-data``.

How this works
--------------
``parse_form()`` feeds the request body, chunk by chunk as it arrives, to
python-multipart's streaming parsers. Their callbacks only record what they
saw in a list; after each chunk the list is replayed here, where we may
``await``: file data goes to an ``UploadFile`` (a ``SpooledTemporaryFile``
whose writes move to a worker thread once it has rolled over to disk) in
batches of ``WRITE_BATCH`` bytes, one written while the next fills, and
field values collect in memory up to ``max_part_size``. Each part's headers
are bounded too, in number (``max_part_headers``) and in bytes of names and
values (``max_part_header_size``), by trane itself; python-multipart is given
the same bounds (it has its own since 0.0.27), so they hold whatever version
is installed. Memory therefore stays bounded by one chunk, two write batches,
the spool threshold of each file, the fields and one part's headers, however
large the body.

Every way a body can be wrong ends in ``HTTPError``: 400 when it is malformed
(no boundary, truncated, a part without a name, bad delimiters, undecodable
text, too many fields, files or part headers), 413 when a part is too large. Parser errors
never escape as a 500.

File names are kept as the client sent them, on ``UploadFile.filename``; trane
never uses them on the file system (the spool file is anonymous).
``UploadFile.safe_filename`` gives a harmless last path component for code that
wants to store the file under its name.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from collections.abc import AsyncIterator
from typing import Any, Final, NamedTuple
from urllib.parse import unquote_to_bytes

from python_multipart import MultipartParser, QuerystringParser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartState

from .datastructures import Headers, MultiDict
from .exceptions import HTTPError
from .threads import in_thread

#: Bytes of an upload kept in memory before it is spooled to a temporary file.
SPOOL_SIZE: Final = 1024 * 1024
#: File data the parser collects before writing it to an upload in one go...
WRITE_BATCH: Final = 1024 * 1024
#: ...or this many chunks of it (tiny chunks cost little memory then).
WRITE_PIECES: Final = 64

_MAX_BOUNDARY: Final = 200
_BOUNDARY_CHARS: Final = re.compile(r"[\x20-\x7e]+")


class UploadFile:
    """An uploaded file: its name as the client sent it, its data on a spool.

    ``await read()``, ``write()``, ``seek()`` and ``close()`` run in a worker
    thread once the data has rolled over to disk, so a large upload never
    blocks the event loop. ``file`` is the underlying binary file object.
    """

    file: tempfile.SpooledTemporaryFile[bytes]

    def __init__(
        self,
        filename: str,
        *,
        content_type: str | None = None,
        headers: Headers | None = None,
        spool_size: int = SPOOL_SIZE,
    ) -> None:
        self.filename = filename
        self.content_type = content_type
        self.headers = headers if headers is not None else Headers()
        self.size = 0
        # NOTE: unbuffered once on disk: _spill() writes to its file descriptor.
        self.file = tempfile.SpooledTemporaryFile(max_size=spool_size, buffering=0)  # noqa: SIM115
        self._spool_size = spool_size

    @property
    def in_memory(self) -> bool:
        """Whether the data is still in memory (it has not rolled over to disk)."""
        return not getattr(self.file, "_rolled", True)

    @property
    def safe_filename(self) -> str:
        """``filename`` reduced to a harmless last path component."""
        return safe_filename(self.filename)

    async def write(self, data: bytes) -> None:
        await self._write_all([data], len(data))

    async def _write_all(self, chunks: list[bytes], size: int) -> None:
        """Write ``chunks`` (``size`` bytes in all) with at most one thread hand-off.

        PERF: in-memory writes are cheap; only disk writes (including the
        rollover that copies the spool to disk) go to a thread.
        """
        if self.in_memory and self.file.tell() + size <= self._spool_size:
            self.file.writelines(chunks)
        else:
            await in_thread(self._spill, chunks, size)
        self.size = max(self.size, self.file.tell())

    def _spill(self, chunks: list[bytes], size: int) -> None:
        """Write ``chunks`` to the file on disk (rolling the spool over first)."""
        # PERF: one writev() is one system call for the whole batch, with no
        # copy: this thread gives up and waits for the GIL once, not per chunk.
        # NOTE: the spool file is unbuffered (see __init__), so nothing sits in
        # a buffer the file descriptor's writes would pass.
        fd = self.file.fileno()  # rolls the spool over: what was in memory is written first
        written = os.writev(fd, chunks)
        if written < size:  # a short write (a signal, a full disk): write the rest
            rest = memoryview(b"".join(chunks))[written:]
            while rest:
                rest = rest[os.write(fd, rest) :]
        # NOTE: let go of the data now: the executor keeps its arguments until
        # this thread next holds the GIL, which may be a batch later.
        chunks.clear()

    async def read(self, size: int = -1) -> bytes:
        if self.in_memory:
            return self.file.read(size)
        return await asyncio.to_thread(self.file.read, size)

    async def seek(self, offset: int, whence: int = 0) -> int:
        if self.in_memory:
            return self.file.seek(offset, whence)
        return await asyncio.to_thread(self.file.seek, offset, whence)

    async def close(self) -> None:
        if self.in_memory:
            self.file.close()
        else:
            await asyncio.to_thread(self.file.close)

    @property
    def closed(self) -> bool:
        return self.file.closed

    def __repr__(self) -> str:
        return (
            f"UploadFile(filename={self.filename!r}, size={self.size!r}, "
            f"content_type={self.content_type!r})"
        )


def safe_filename(name: str) -> str:
    """The last path component of ``name``, without anything a file system minds.

    >>> safe_filename("../../etc/passwd")
    'passwd'
    >>> safe_filename("C:\\\\Users\\\\me\\\\report.pdf")
    'report.pdf'
    >>> safe_filename("..\\x00")
    'upload'
    """
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable())
    name = name.strip(". ")
    name = name.encode("utf-8")[:255].decode("utf-8", "ignore")
    return name or "upload"


FormValue = str | UploadFile


class FormData(MultiDict[FormValue]):
    """A parsed form: multi-valued like the query string.

    ``form["tag"]`` and ``form.get("tag")`` give the first value,
    ``form.getlist("tag")`` all of them; files are ``UploadFile`` objects.
    """

    __slots__ = ()

    @property
    def files(self) -> list[UploadFile]:
        return [value for _, value in self._list if isinstance(value, UploadFile)]

    async def close(self) -> None:
        """Close every upload (their temporary files go away)."""
        for upload in self.files:
            await upload.close()


# -- header parameters ---------------------------------------------------

# One token per match, decided by its first character, so a scan is linear
# whatever the input: a quoted string (closing quote optional), a ";", or a
# run of anything else.
_PARAM_TOKENS: Final = re.compile(r'"(?:[^"\\]+|\\.)*"?|;|[^";]+', re.DOTALL)
_QUOTED_PAIR: Final = re.compile(r'\\([\\"])')


def parse_options_header(value: str) -> tuple[str, dict[str, str]]:
    """Split a ``Content-Type``-like header into its value and parameters.

    >>> parse_options_header('form-data; name="a;b"; filename="x\\\\"y.txt"')
    ('form-data', {'name': 'a;b', 'filename': 'x"y.txt'})

    Linear in the length of the header; parameter names are lower-cased, and
    the RFC 2231 ``name*=`` forms (forbidden in forms by RFC 7578) are dropped.
    """
    segments: list[str] = []
    current: list[str] = []
    for match in _PARAM_TOKENS.finditer(value):
        token = match.group()
        if token == ";":
            segments.append("".join(current))
            current = []
        else:
            current.append(token)
    segments.append("".join(current))
    main = segments[0].strip().lower()
    params: dict[str, str] = {}
    for segment in segments[1:]:
        key, sep, raw = segment.partition("=")
        key = key.strip().lower()
        if not sep or not key or "*" in key or key in params:
            continue
        raw = raw.strip()
        if raw.startswith('"'):
            raw = raw[1:-1] if len(raw) > 1 and raw.endswith('"') else raw[1:]
            raw = _QUOTED_PAIR.sub(r"\1", raw)
        params[key] = raw
    return main, params


def _header_text(raw: str) -> str:
    """Header values arrive as Latin-1; browsers put UTF-8 names in them."""
    data = raw.encode("latin-1")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return raw


# -- the parsers ---------------------------------------------------------


async def parse_form(
    content_type: str | None,
    chunks: AsyncIterator[bytes],
    *,
    max_fields: int = 1000,
    max_files: int = 100,
    max_part_size: int = 1024 * 1024,
    spool_size: int = SPOOL_SIZE,
    max_part_headers: int = 16,
    max_part_header_size: int = 8 * 1024,
) -> FormData:
    """Parse a form body read from ``chunks``; raise ``HTTPError`` if it is bad."""
    if content_type is None:
        raise HTTPError(400, "Expected a form body, got no Content-Type")
    media_type, params = parse_options_header(content_type)
    if media_type == "application/x-www-form-urlencoded":
        return await _parse_urlencoded(chunks, max_fields, max_part_size)
    if media_type == "multipart/form-data":
        boundary = params.get("boundary")
        if not boundary:
            raise HTTPError(400, "Malformed multipart body: no boundary in the Content-Type")
        if len(boundary) > _MAX_BOUNDARY or not _BOUNDARY_CHARS.fullmatch(boundary):
            raise HTTPError(400, f"Malformed multipart body: invalid boundary {boundary[:80]!r}")
        limits = _Limits(
            max_fields, max_files, max_part_size, spool_size, max_part_headers, max_part_header_size
        )
        return await _parse_multipart(boundary.encode("latin-1"), chunks, limits)
    raise HTTPError(400, f"Expected a form body, got Content-Type {content_type!r}")


def _decode_field(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPError(400, f"Malformed form: {what} is not UTF-8") from None


async def _parse_urlencoded(
    chunks: AsyncIterator[bytes], max_fields: int, max_part_size: int
) -> FormData:
    items: list[tuple[str, FormValue]] = []
    name = bytearray()
    value = bytearray()
    count = 0

    def on_field_start() -> None:
        nonlocal count
        count += 1
        if count > max_fields:
            raise HTTPError(400, f"Too many form fields (at most {max_fields})")
        name.clear()
        value.clear()

    def on_field_name(data: bytes, start: int, end: int) -> None:
        name.extend(data[start:end])
        if len(name) > max_part_size:
            raise HTTPError(413, f"Form field name larger than {max_part_size} bytes")

    def on_field_data(data: bytes, start: int, end: int) -> None:
        value.extend(data[start:end])
        if len(value) > max_part_size:
            raise HTTPError(413, f"Form field larger than {max_part_size} bytes")

    def on_field_end() -> None:
        key = _decode_field(unquote_to_bytes(bytes(name).replace(b"+", b" ")), "a field name")
        text = _decode_field(unquote_to_bytes(bytes(value).replace(b"+", b" ")), f"field {key!r}")
        items.append((key, text))

    parser = QuerystringParser(
        {
            "on_field_start": on_field_start,
            "on_field_name": on_field_name,
            "on_field_data": on_field_data,
            "on_field_end": on_field_end,
        }
    )
    try:
        async for chunk in chunks:
            # NOTE: some parsers split on ";" too (the HTML 4 advice), others
            # do not; a body that means different things to a cache and to the
            # app is how parameter cloaking works, so refuse it outright.
            if b";" in chunk:
                raise HTTPError(400, "Malformed form: ';' is not a field separator (use %3B)")
            parser.write(chunk)
        parser.finalize()
    except FormParserError as exc:  # pragma: no cover (raised in strict mode only, unused)
        raise HTTPError(400, f"Malformed form: {exc}") from None
    return FormData(items)


# Events the multipart callbacks record, replayed after each chunk.
_HEADERS: Final = 0
_DATA: Final = 1
_END: Final = 2


class _Limits(NamedTuple):
    max_fields: int
    max_files: int
    max_part_size: int
    spool_size: int
    max_part_headers: int
    max_part_header_size: int


async def _parse_multipart(
    boundary: bytes, chunks: AsyncIterator[bytes], limits: _Limits
) -> FormData:
    max_fields, max_files, max_part_size, spool_size, max_headers, max_header_size = limits
    events: list[tuple[int, Any]] = []
    headers: list[tuple[bytes, bytes]] = []
    field = bytearray()
    header_value = bytearray()
    header_size = 0  # bytes of names and values in this part's headers

    def on_header_begin() -> None:
        if len(headers) >= max_headers:
            raise HTTPError(400, f"Too many headers in a multipart part (at most {max_headers})")

    def count_header_bytes(size: int) -> None:
        nonlocal header_size
        header_size += size
        if header_size > max_header_size:
            raise HTTPError(400, f"Multipart part headers larger than {max_header_size} bytes")

    def on_header_field(data: bytes, start: int, end: int) -> None:
        count_header_bytes(end - start)
        field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        count_header_bytes(end - start)
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        headers.append((bytes(field).lower(), bytes(header_value)))
        field.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        nonlocal header_size
        events.append((_HEADERS, list(headers)))
        headers.clear()
        header_size = 0

    def on_part_data(data: bytes, start: int, end: int) -> None:
        events.append((_DATA, data[start:end]))

    def on_part_end() -> None:
        events.append((_END, None))

    try:
        parser = MultipartParser(
            boundary,
            {
                "on_header_begin": on_header_begin,
                "on_header_field": on_header_field,
                "on_header_value": on_header_value,
                "on_header_end": on_header_end,
                "on_headers_finished": on_headers_finished,
                "on_part_data": on_part_data,
                "on_part_end": on_part_end,
            },
            # NOTE: python-multipart's own bounds (per header line), kept no
            # tighter than ours so that ours, with their messages, govern.
            max_header_count=max_headers + 1,
            max_header_size=max_header_size,
        )
    except FormParserError as exc:  # pragma: no cover (a boundary past 200 is refused above)
        raise HTTPError(400, f"Malformed multipart body: {exc}") from None

    items: list[tuple[str, FormValue]] = []
    fields = files = 0
    name = ""
    value: bytearray | None = None  # the field being read, or None for a file
    upload: _BatchWriter | None = None  # the file being read
    try:
        async for chunk in chunks:
            try:
                parser.write(chunk)
            except FormParserError as exc:
                raise HTTPError(400, f"Malformed multipart body: {exc}") from None
            for kind, data in events:
                # NOTE: a part's _HEADERS event always comes before its _DATA
                # and _END events, so there is an upload or a field value.
                if kind == _DATA:
                    if upload is not None:
                        await upload.add(data)
                    else:
                        assert value is not None
                        value.extend(data)
                        if len(value) > max_part_size:
                            raise HTTPError(
                                413, f"Form field {name!r} larger than {max_part_size} bytes"
                            )
                elif kind == _HEADERS:
                    name, filename, part_headers = _part_info(data)
                    if filename is None:
                        fields += 1
                        if fields > max_fields:
                            raise HTTPError(400, f"Too many form fields (at most {max_fields})")
                        value = bytearray()
                    else:
                        files += 1
                        if files > max_files:
                            raise HTTPError(400, f"Too many files (at most {max_files})")
                        file = UploadFile(
                            filename,
                            content_type=part_headers.get("content-type"),
                            headers=part_headers,
                            spool_size=spool_size,
                        )
                        items.append((name, file))
                        upload = _BatchWriter(file)
                else:  # _END
                    if upload is not None:
                        await upload.finish()
                        await upload.file.seek(0)
                    else:
                        assert value is not None
                        items.append((name, _decode_field(bytes(value), f"field {name!r}")))
                    upload = value = None
            events.clear()
        parser.finalize()
        if parser.state != MultipartState.END:
            raise HTTPError(400, "Malformed multipart body: truncated (no closing boundary)")
    except BaseException:
        if upload is not None:
            await upload.abandon()
        for _, item in items:
            if isinstance(item, UploadFile):
                await item.close()
        raise
    return FormData(items)


class _BatchWriter:
    """Writes an upload's data in batches; one batch is written while the next fills.

    PERF: one thread hand-off per ``WRITE_BATCH`` bytes, not per chunk (64
    KiB from uvicorn), and the parser goes on reading while a batch is
    written. At most two batches are held: the one being written and the
    one filling.
    """

    __slots__ = ("batch", "file", "size", "writing")

    def __init__(self, file: UploadFile) -> None:
        self.file = file
        self.batch: list[bytes] = []
        self.size = 0
        self.writing: asyncio.Future[None] | None = None

    async def add(self, data: bytes) -> None:
        batch = self.batch
        batch.append(data)
        self.size += len(data)
        if self.size >= WRITE_BATCH or len(batch) >= WRITE_PIECES:
            await self._written()
            self.writing = asyncio.ensure_future(self.file._write_all(batch, self.size))
            self.batch = []
            self.size = 0

    async def _written(self) -> None:
        writing = self.writing
        if writing is not None:
            self.writing = None
            await writing

    async def finish(self) -> None:
        """Write what is left; the upload is whole when this returns."""
        await self._written()
        if self.batch:
            batch, self.batch = self.batch, []
            await self.file._write_all(batch, self.size)
            self.size = 0

    async def abandon(self) -> None:
        """Wait for a write under way, whatever its outcome (the upload is closed next)."""
        writing = self.writing
        if writing is not None:
            self.writing = None
            # NOTE: its error, if any, is retrieved and dropped: the form failed of another.
            await asyncio.gather(writing, return_exceptions=True)


def _part_info(raw_headers: list[tuple[bytes, bytes]]) -> tuple[str, str | None, Headers]:
    """The field name, file name (None for a plain field) and headers of a part."""
    headers = Headers(raw_headers)
    disposition = headers.get("content-disposition")
    if disposition is None:
        raise HTTPError(400, "Malformed multipart body: a part has no Content-Disposition")
    kind, params = parse_options_header(disposition)
    if kind != "form-data":
        raise HTTPError(400, f"Malformed multipart body: Content-Disposition {kind!r}")
    name = params.get("name")
    if name is None:
        raise HTTPError(400, "Malformed multipart body: a part has no name")
    filename = params.get("filename")
    return (
        _header_text(name),
        None if filename is None else _header_text(filename),
        headers,
    )


__all__ = ["FormData", "UploadFile", "parse_form", "parse_options_header", "safe_filename"]
