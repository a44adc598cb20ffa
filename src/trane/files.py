"""``FileResponse``: a file from disk, with validators, conditional requests and ranges.

How this works
--------------
Nothing touches the disk until the response is sent: then the file is
stat-ed (in a worker thread), and the request headers decide what goes out::

    If-None-Match / If-Modified-Since match      -> 304, no body
    Range, satisfiable, one range                 -> 206, Content-Range
    Range, satisfiable, several ranges            -> 206, multipart/byteranges
    Range, nothing satisfiable                    -> 416, Content-Range: bytes */N
    anything else (or If-Range no longer matches) -> 200, the whole file

The body is read in ``chunk_size`` pieces in a worker thread, one read
running ahead while a piece is sent, and sending stops as soon as the client
disconnects. A server that offers ``http.response.pathsend`` is handed the
path of a whole file to send itself; one that offers
``http.response.zerocopysend`` the open file, range by range (granian offers
the first; uvicorn, hypercorn and daphne neither). HEAD gets the same
headers and no body.
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
import re
import secrets
import stat
from collections.abc import Iterator, Mapping
from email.utils import formatdate, parsedate_to_datetime
from typing import ClassVar, Final
from urllib.parse import quote

from .datastructures import Headers
from .exceptions import HTTPError
from .responses import Response, response_stream, until_disconnect
from .threads import finished, in_thread, one_thread, start_in_thread
from .types import Receive, Scope, Send

#: Past this many ranges in one header the whole file is sent instead.
MAX_RANGES: Final = 100

_RANGE_SPEC: Final = re.compile(r"([0-9]*)[ \t]*-[ \t]*([0-9]*)")
_HUGE: Final = 1 << 63

# Headers a 304 does not repeat: they describe a body it does not have.
_NOT_IN_304: Final = frozenset(
    {b"content-type", b"content-length", b"content-disposition", b"accept-ranges"}
)


def _number(digits: str) -> int:
    # NOTE: int() of a few thousand digits is slow (and refused past 4300);
    # anything past 18 digits is larger than any file anyway.
    return _HUGE if len(digits) > 18 else int(digits)


def parse_range(header: str, size: int) -> list[tuple[int, int]] | None:
    """The byte ranges of a ``Range`` header, as ``[(start, end), ...]``, end exclusive.

    >>> parse_range("bytes=0-4, -3", 10)
    [(0, 5), (7, 10)]
    >>> parse_range("bytes=2-5,4-8", 10)      # overlapping ranges are merged
    [(2, 9)]
    >>> parse_range("bytes=20-", 10)          # nothing satisfiable: answer 416
    []
    >>> parse_range("items=0-4", 10) is None  # not understood: send it all
    True

    Linear in the length of the header: one split, one regex match a range.
    """
    unit, sep, specs = header.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    pieces = specs.split(",", MAX_RANGES)
    if len(pieces) > MAX_RANGES:
        return None
    ranges: list[tuple[int, int]] = []
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue  # RFC 9110 allows empty list elements
        match = _RANGE_SPEC.fullmatch(piece)
        if match is None:
            return None
        first, last = match.groups()
        if first:
            start = _number(first)
            end = size
            if last:
                end = _number(last) + 1
                if end <= start:
                    return None  # "5-2" is invalid: ignore the header
            end = min(end, size)
        elif last:
            start, end = max(size - _number(last), 0), size
        else:
            return None
        if start < end:
            ranges.append((start, end))
    if not ranges:
        return [] if any(piece.strip() for piece in pieces) else None
    ranges.sort()
    merged = [ranges[0]]
    for start, end in ranges[1:]:
        last_start, last_end = merged[-1]
        if start <= last_end:
            merged[-1] = (last_start, max(last_end, end))
        else:
            merged.append((start, end))
    return merged


def _etag_listed(header: str, etag: str) -> bool:
    """Weak comparison of ``etag`` against an ``If-None-Match`` list."""
    if header.strip() == "*":
        return True
    for tag in header.split(","):
        tag = tag.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag == etag:
            return True
    return False


def _http_date(header: str) -> float | None:
    try:
        return parsedate_to_datetime(header).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def content_disposition(kind: str, filename: str) -> str:
    """``attachment; filename="..."``, with ``filename*`` for non-ASCII names.

    >>> content_disposition("attachment", "résumé.pdf")
    'attachment; filename="rsum.pdf"; filename*=utf-8\\'\\'r%C3%A9sum%C3%A9.pdf'
    """
    cleaned = re.sub(r"[\x00-\x1f\x7f]", "", filename)
    ascii = cleaned.encode("ascii", "ignore").decode("ascii")
    fallback = ascii.replace("\\", "\\\\").replace('"', '\\"')
    value = f'{kind}; filename="{fallback}"'
    if ascii != cleaned:
        value += f"; filename*=utf-8''{quote(cleaned, safe='')}"
    return value


# NOTE: O_NONBLOCK, should the path have become a FIFO since it was stat-ed:
# opening one to read would wait for a writer (reads of a file ignore it).
_OPEN_FLAGS: Final = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def _stat_file(path: str) -> os.stat_result:
    try:
        result = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise HTTPError(404) from None
    if not stat.S_ISREG(result.st_mode):
        raise HTTPError(404)
    return result


def _open_file(path: str) -> tuple[int, os.stat_result]:
    """A descriptor open on the regular file at ``path``, and its stat; 404 if none. Blocking.

    Only a path that stat says is a regular file is opened (opening a device
    may do something); the stat returned is the opened file's own.
    """
    _stat_file(path)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except (FileNotFoundError, NotADirectoryError):  # gone since
        raise HTTPError(404) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):  # replaced since
        os.close(fd)
        raise HTTPError(404)
    return fd, info


def _pread_portable(fd: int, size: int, offset: int) -> bytes:
    """``os.pread`` where there is none (Windows): one reader per descriptor."""
    os.lseek(fd, offset, os.SEEK_SET)
    return os.read(fd, size)


_pread: Final = getattr(os, "pread", _pread_portable)


class _OpenFile:
    """The file a ``FileResponse`` reads: opened when first read unless opened already."""

    __slots__ = ("fd", "path")

    def __init__(self, path: str, fd: int | None = None) -> None:
        self.path = path
        self.fd = fd

    def open(self) -> int:
        """The file descriptor, opened now if it is not yet. Blocking."""
        fd = self.fd
        if fd is None:
            fd = self.fd = os.open(self.path, _OPEN_FLAGS)
        return fd

    def read(self, offset: int, size: int) -> bytes:
        """``size`` bytes at ``offset`` (fewer at the end of the file). Blocking."""
        return _pread(self.open(), size, offset)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _reads(
    parts: list[tuple[bytes, int, int]], chunk_size: int
) -> Iterator[tuple[bytes, int, int]]:
    """(preamble, offset, size) of each read that sends ``parts``, in order.

    >>> list(_reads([(b"--a", 0, 5), (b"--b", 8, 9)], 4))
    [(b'--a', 0, 4), (b'', 4, 1), (b'--b', 8, 1)]
    """
    for preamble, start, end in parts:
        for offset in range(start, end, chunk_size):
            yield preamble, offset, min(chunk_size, end - offset)
            preamble = b""


class FileResponse(Response):
    """The file at ``path``; ``filename`` makes it a download under that name.

    The Content-Type is guessed from the name; conditional requests, HEAD and
    ``Range`` requests are answered as the module docstring shows. A missing
    file (or a directory) raises ``HTTPError(404)`` when the response is sent.
    """

    #: Bytes read from the file (and sent) at a time; one read runs ahead.
    chunk_size: ClassVar[int] = 256 * 1024
    #: Read every file in one thread of the process (``threads.one_thread``:
    #: fewer page faults, see there), not in asyncio's default executor.
    #: False lets reads of many files run in parallel (network file systems).
    read_in_one_thread: ClassVar[bool] = True

    def __init__(
        self,
        path: str | os.PathLike[str],
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        *,
        filename: str | None = None,
        content_disposition_type: str = "attachment",
        stat_result: os.stat_result | None = None,
    ) -> None:
        self.path = os.fspath(path)
        self.filename = filename
        self.stat_result = stat_result
        if media_type is None:
            media_type = (
                mimetypes.guess_type(filename or self.path)[0] or "application/octet-stream"
            )
        super().__init__(None, status=status, headers=headers, media_type=media_type)
        if filename is not None:
            self.headers.setdefault(
                "content-disposition", content_disposition(content_disposition_type, filename)
            )

    def _init_headers(self) -> None:
        self._add_content_type()  # the length depends on the Range asked for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.stat_result is None:
            # PERF: stat and open in one thread hand-off (the first read opens it otherwise).
            fd, info = await in_thread(_open_file, self.path)
            file = _OpenFile(self.path, fd)
        else:
            info, file = self.stat_result, _OpenFile(self.path)
        try:
            await self._send(scope, receive, send, info, file)
        finally:
            file.close()

    async def _send(
        self, scope: Scope, receive: Receive, send: Send, info: os.stat_result, file: _OpenFile
    ) -> None:
        size = info.st_size
        method = scope.get("method", "GET")
        out = response_stream(send, scope)
        request = Headers(scope.get("headers", []))
        # The ETag the response carries is the one conditional requests compare.
        etag: str = self.headers.get("etag") or f'"{info.st_mtime_ns:x}-{size:x}"'
        # So is its Last-Modified (None: one that is no date, which no date matches).
        own_date: str | None = self.headers.get("last-modified")
        modified = info.st_mtime if own_date is None else _http_date(own_date)
        headers = self.headers.raw[:]
        names = {name for name, _ in headers}
        for name, value in (
            (b"accept-ranges", b"bytes"),
            (b"etag", etag.encode("latin-1")),
            (b"last-modified", formatdate(info.st_mtime, usegmt=True).encode("latin-1")),
        ):
            if name not in names:
                headers.append((name, value))
        ranges: list[tuple[int, int]] | None = None
        if self.status == 200 and method in ("GET", "HEAD"):
            if self._not_modified(request, etag, modified):
                kept = [pair for pair in headers if pair[0] not in _NOT_IN_304]
                await out.send_all(304, kept, b"")
                return
            range_header: str | None = request.get("range")
            if range_header is not None and self._if_range_holds(request, etag, modified):
                ranges = parse_range(range_header, size)

        if ranges == []:
            headers = [pair for pair in headers if pair[0] not in _NOT_IN_304]
            headers += [(b"content-range", b"bytes */%d" % size), (b"content-length", b"0")]
            await out.send_all(416, headers, b"")
            return
        if ranges is None:
            ranges = [(0, size)]
            status = self.status
            headers.append((b"content-length", b"%d" % size))
            parts: list[tuple[bytes, int, int]] = [(b"", 0, size)]
            closing = b""
        elif len(ranges) == 1:
            status = 206
            start, end = ranges[0]
            headers += [
                (b"content-range", b"bytes %d-%d/%d" % (start, end - 1, size)),
                (b"content-length", b"%d" % (end - start)),
            ]
            parts = [(b"", start, end)]
            closing = b""
        else:
            status = 206
            boundary = secrets.token_hex(16).encode("ascii")
            content_type = next((v for k, v in headers if k == b"content-type"), None)
            parts = []
            for index, (start, end) in enumerate(ranges):
                preamble = b"\r\n" if index else b""
                preamble += b"--" + boundary + b"\r\n"
                if content_type is not None:
                    preamble += b"content-type: " + content_type + b"\r\n"
                preamble += b"content-range: bytes %d-%d/%d\r\n\r\n" % (start, end - 1, size)
                parts.append((preamble, start, end))
            closing = b"\r\n--" + boundary + b"--\r\n"
            length = sum(len(p) + end - start for p, start, end in parts) + len(closing)
            headers = [pair for pair in headers if pair[0] != b"content-type"]
            headers += [
                (b"content-type", b"multipart/byteranges; boundary=" + boundary),
                (b"content-length", b"%d" % length),
            ]

        await out({"type": "http.response.start", "status": status, "headers": headers})
        if out.done:  # a HEAD response: complete with its headers
            return
        if size == 0:
            await out({"type": "http.response.body", "body": b"", "more_body": False})
            return
        extensions = scope.get("extensions") or {}
        if status != 206 and "http.response.pathsend" in extensions:
            path = os.path.abspath(self.path)  # noqa: ASYNC240 (no I/O: string work)
            await out({"type": "http.response.pathsend", "path": path})
            return
        if "http.response.zerocopysend" in extensions:
            produce = self._hand_over_parts(out, file, parts, closing)
        else:
            produce = self._send_parts(out, file, parts, closing)
        # The client may leave in the middle of a large file: stop reading then.
        await until_disconnect(produce, scope, receive)

    async def _hand_over_parts(
        self, send: Send, file: _OpenFile, parts: list[tuple[bytes, int, int]], closing: bytes
    ) -> None:
        """Hand ``parts`` of ``file`` to the server to send (``http.response.zerocopysend``).

        The server reads the file itself (``sendfile``); the file stays open
        until the last message has been sent.
        """
        fd = file.fd if file.fd is not None else await in_thread(file.open)
        # NOTE: a file object over the open descriptor (no I/O), as the extension asks for.
        with open(fd, "rb", buffering=0, closefd=False) as handle:  # noqa: ASYNC230
            last = len(parts) - 1
            for index, (preamble, start, end) in enumerate(parts):
                if preamble:
                    await send({"type": "http.response.body", "body": preamble, "more_body": True})
                await send(
                    {
                        "type": "http.response.zerocopysend",
                        "file": handle,
                        "offset": start,
                        "count": end - start,
                        "more_body": index < last or bool(closing),
                    }
                )
        if closing:
            await send({"type": "http.response.body", "body": closing, "more_body": False})

    async def _send_parts(
        self, send: Send, file: _OpenFile, parts: list[tuple[bytes, int, int]], closing: bytes
    ) -> None:
        """Send ``parts`` of ``file``, each chunk read in a thread while the one before is sent.

        PERF: one thread hand-off per ``chunk_size`` bytes (positioned reads:
        no seeks), and the next read runs while a chunk is being sent.
        """
        executor = one_thread() if self.read_in_one_thread else None
        reads = _reads(parts, self.chunk_size)
        step = next(reads)  # NOTE: never empty: empty files and 416s are answered earlier
        reading = start_in_thread(file.read, step[1], step[2], executor=executor)
        try:
            while True:
                preamble, _, size = step
                chunk = await finished(reading)
                ahead = next(reads, None)
                if ahead is not None:
                    reading = start_in_thread(file.read, ahead[1], ahead[2], executor=executor)
                if preamble:
                    await send({"type": "http.response.body", "body": preamble, "more_body": True})
                if len(chunk) != size:
                    raise RuntimeError(f"{self.path!r} shrank while it was being sent")
                more = ahead is not None or bool(closing)
                await send({"type": "http.response.body", "body": chunk, "more_body": more})
                if ahead is None:
                    break
                step = ahead
        finally:
            if not reading.done():  # a read ahead, left by an error or a cancellation
                await asyncio.wait((reading,))
        if closing:
            await send({"type": "http.response.body", "body": closing, "more_body": False})

    @staticmethod
    def _not_modified(request: Headers, etag: str, mtime: float | None) -> bool:
        if_none_match: str | None = request.get("if-none-match")
        if if_none_match is not None:
            return _etag_listed(if_none_match, etag)
        if_modified_since: str | None = request.get("if-modified-since")
        if if_modified_since is not None:
            since = _http_date(if_modified_since)
            return since is not None and mtime is not None and int(mtime) <= since
        return False

    @staticmethod
    def _if_range_holds(request: Headers, etag: str, mtime: float | None) -> bool:
        if_range: str | None = request.get("if-range")
        if if_range is None:
            return True
        if_range = if_range.strip()
        if if_range.startswith(('"', "W/")):
            return if_range == etag  # strong comparison: a weak tag never matches
        since = _http_date(if_range)
        return since is not None and mtime is not None and int(mtime) == since


__all__ = ["FileResponse", "content_disposition", "parse_range"]
