"""``StaticFiles``: a directory served over HTTP, mountable like any app.

How a request path becomes a file
---------------------------------
The path left after the mount prefix is split on ``/``. Empty and ``.``
segments are dropped; a ``..`` segment, a backslash, a NUL or a drive letter
anywhere means 404, before the file system is asked anything. (The server has
already percent-decoded the path once; it is never decoded again, so
``%2e%2e`` arrives here as ``..`` and ``%252e%252e`` as a harmless literal
name.) The joined path is then resolved with ``realpath`` and must still lie
inside the directory, compared by whole path components, so a symlink
pointing elsewhere and a sibling such as ``static-private`` next to
``static`` are both 404. With ``follow_symlinks=True`` symlinks are trusted
and only the lexical check applies.

Only GET and HEAD are served (405 otherwise); files go out through
``FileResponse``, with validators, 304s and ranges. With ``html=True`` a
directory serves its ``index.html`` (``/docs`` redirects to ``/docs/``) and a
missing file serves ``404.html`` if there is one.
"""

from __future__ import annotations

import asyncio
import functools
import os
import stat
from typing import Final
from urllib.parse import quote

from .files import FileResponse
from .responses import PlainTextResponse, RedirectResponse, Response, ResponseStream
from .scopes import serve_other_scope
from .types import ASGI2Instance, Receive, Scope, Send

_FOUND: Final = "found"
_REDIRECT: Final = "redirect"


class StaticFiles:
    """Serve files under ``directory``: ``Mount("/static", StaticFiles(directory="static"))``."""

    _asgi_double_callable = True

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        html: bool = False,
        follow_symlinks: bool = False,
        check_dir: bool = True,
    ) -> None:
        self.directory = os.path.realpath(directory)
        self.html = html
        self.follow_symlinks = follow_symlinks
        if check_dir and not os.path.isdir(self.directory):
            raise RuntimeError(f"StaticFiles directory {os.fspath(directory)!r} does not exist")

    def __call__(self, scope: Scope) -> ASGI2Instance:
        return functools.partial(self._serve, scope)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http":
            await serve_other_scope(kind, receive, send)
            return
        method = scope["method"]
        out = ResponseStream(send, head=method == "HEAD")
        response = await self._respond(scope, method)
        await response(scope, receive, out)

    async def _respond(self, scope: Scope, method: str) -> Response:
        if method not in ("GET", "HEAD"):
            return PlainTextResponse(
                "Method Not Allowed", status=405, headers={"Allow": "GET, HEAD"}
            )
        segments = self.segments(scope)
        if segments is not None:
            trailing = scope["path"].endswith("/")
            found = await asyncio.to_thread(self._lookup, segments, trailing)
            if found is not None:
                what, path, info = found
                if what == _REDIRECT:
                    root = scope.get("root_path", "")
                    location = root + "/" + "".join(segment + "/" for segment in segments)
                    return RedirectResponse(quote(location))
                return FileResponse(path, stat_result=info)
        if self.html:
            found = await asyncio.to_thread(self._lookup, ["404.html"], False)
            if found is not None and found[0] == _FOUND:
                return FileResponse(found[1], status=404, stat_result=found[2])
        return PlainTextResponse("Not Found", status=404)

    @staticmethod
    def segments(scope: Scope) -> list[str] | None:
        """The path under the mount as safe segments, or None when it is not safe.

        >>> StaticFiles.segments({"path": "/static/css//a.css", "root_path": "/static"})
        ['css', 'a.css']
        >>> StaticFiles.segments({"path": "/static/../secret", "root_path": "/static"}) is None
        True
        >>> StaticFiles.segments({"path": "/staticx/a.css", "root_path": "/static"}) is None
        True
        """
        path: str = scope["path"]
        root_path: str = scope.get("root_path", "")
        if root_path and path.startswith(root_path):
            path = path[len(root_path) :]
            if path[:1] not in ("", "/"):  # "/staticx/a" is not under "/static"
                return None
        segments: list[str] = []
        for segment in path.split("/"):
            if segment in ("", "."):
                continue
            if (
                segment == ".."
                or "\\" in segment
                or "\x00" in segment
                or os.path.splitdrive(segment)[0]
                or os.path.isabs(segment)
            ):
                return None
            segments.append(segment)
        return segments

    def _inside(self, path: str) -> bool:
        try:
            return os.path.commonpath([self.directory, path]) == self.directory
        except ValueError:  # pragma: no cover - Windows only: paths on different drives
            return False

    def _resolve(self, *parts: str) -> str | None:
        joined = os.path.join(self.directory, *parts)
        path = os.path.abspath(joined) if self.follow_symlinks else os.path.realpath(joined)
        return path if self._inside(path) else None

    def _lookup(
        self, segments: list[str], trailing_slash: bool
    ) -> tuple[str, str, os.stat_result] | None:
        """(found or redirect, path, stat) for the segments; None for 404. Blocking."""
        try:
            path = self._resolve(*segments)
            if path is None:
                return None
            info = os.stat(path)
            if stat.S_ISDIR(info.st_mode):
                if not self.html:
                    return None
                if not trailing_slash:
                    return _REDIRECT, path, info
                path = self._resolve(*segments, "index.html")
                if path is None:
                    return None
                info = os.stat(path)
            elif trailing_slash:
                return None  # "/file.txt/" names a directory that is not there
            if not stat.S_ISREG(info.st_mode):
                return None
            return _FOUND, path, info
        except (OSError, ValueError):
            return None

    def __repr__(self) -> str:
        return f"StaticFiles(directory={self.directory!r}, html={self.html!r})"


__all__ = ["StaticFiles"]
