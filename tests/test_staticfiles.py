"""StaticFiles: serving, HEAD, 405, html mode, and every way out of the directory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import trane
from asgi import Result, request


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """tmp/static (served), tmp/static-private and tmp/secret.txt (not served)."""
    static = tmp_path / "static"
    (static / "css").mkdir(parents=True)
    (static / "docs").mkdir()
    (static / "css" / "site.css").write_text("body{}")
    (static / "hello.txt").write_text("hello")
    (static / "docs" / "index.html").write_text("<h1>docs</h1>")
    (static / "%2e%2e").mkdir()  # a literal name: double encoding stays harmless
    (static / "%2e%2e" / "x.txt").write_text("literal")
    (tmp_path / "static-private").mkdir()
    (tmp_path / "static-private" / "secret.txt").write_text("private")
    (tmp_path / "secret.txt").write_text("secret")
    os.symlink(tmp_path / "secret.txt", static / "link-out.txt")
    os.symlink(tmp_path / "static-private", static / "dir-out")
    os.symlink(static / "hello.txt", static / "link-in.txt")
    (static / "trap").mkdir()  # html mode's index.html, linked out of the directory
    os.symlink(tmp_path / "secret.txt", static / "trap" / "index.html")
    return static


def router(static: Path, **options: Any) -> trane.Router:
    return trane.Router([trane.Mount("/static", trane.StaticFiles(directory=static, **options))])


async def fetch(app: Any, path: str, method: str = "GET", **kwargs: Any) -> Result:
    return await request(app, method, path, **kwargs)


async def test_static_serves_files(site: Path) -> None:
    app = router(site)
    result = await fetch(app, "/static/hello.txt")
    assert (result.status, result.body) == (200, b"hello")
    assert result.header("content-type") == "text/plain; charset=utf-8"
    assert result.header("etag") is not None
    css = await fetch(app, "/static/css/site.css")
    assert (css.status, css.header("content-type")) == (200, "text/css; charset=utf-8")
    assert (await fetch(app, "/static/css//./site.css")).status == 200
    assert (await fetch(app, "/static/%2e%2e/x.txt")).body == b"literal"
    assert (await fetch(app, "/static/link-in.txt")).body == b"hello"


async def test_static_head_conditional_and_range(site: Path) -> None:
    app = router(site)
    head = await fetch(app, "/static/hello.txt", "HEAD")
    assert (head.status, head.body, head.header("content-length")) == (200, b"", "5")
    etag = head.header("etag")
    assert etag is not None
    cached = await fetch(app, "/static/hello.txt", headers=[(b"if-none-match", etag.encode())])
    assert cached.status == 304
    ranged = await fetch(app, "/static/hello.txt", headers=[(b"range", b"bytes=1-2")])
    assert (ranged.status, ranged.body) == (206, b"el")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
async def test_static_other_methods_are_405(site: Path, method: str) -> None:
    result = await fetch(router(site), "/static/hello.txt", method)
    assert result.status == 405
    assert result.header("allow") == "GET, HEAD"


async def test_static_directories_without_html_are_404(site: Path) -> None:
    app = router(site)
    for path in ("/static", "/static/", "/static/docs", "/static/docs/", "/static/nope.txt"):
        assert (await fetch(app, path)).status == 404, path
    assert (await fetch(app, "/static/hello.txt/")).status == 404


async def test_static_html_mode(site: Path) -> None:
    app = router(site, html=True)
    docs = await fetch(app, "/static/docs/")
    assert (docs.status, docs.body) == (200, b"<h1>docs</h1>")
    assert docs.header("content-type") == "text/html; charset=utf-8"
    redirect = await fetch(app, "/static/docs")
    assert (redirect.status, redirect.header("location")) == (307, "/static/docs/")
    assert (await fetch(app, "/static/")).status == 404  # no index.html at the top
    assert (await fetch(app, "/static/nope")).status == 404
    (site / "404.html").write_text("<h1>gone</h1>")
    missing = await fetch(app, "/static/nope")
    assert (missing.status, missing.body) == (404, b"<h1>gone</h1>")
    head = await fetch(app, "/static/nope", "HEAD")
    assert (head.status, head.body) == (404, b"")


async def test_static_html_redirect_is_never_protocol_relative(site: Path) -> None:
    (site / "evil.com").mkdir()
    (site / "evil.com" / "index.html").write_text("x")
    app = router(site, html=True)
    redirect = await fetch(app, "/static//evil.com")
    assert redirect.header("location") == "/static/evil.com/"
    root = trane.StaticFiles(directory=site, html=True)
    at_root = await fetch(root, "//evil.com")
    assert at_root.header("location") == "/evil.com/"


TRAVERSALS = [
    "/static/../secret.txt",
    "/static/css/../../secret.txt",
    "/static/..",
    "/static/../static-private/secret.txt",
    "/static/./../secret.txt",
    "/static/..\\secret.txt",
    "/static/css\\..\\..\\secret.txt",
    "/static/\\secret.txt",
    "/static//etc/passwd",
    "/static/" + str(Path("/etc/passwd")),
    "/static/hello.txt\x00.png",
    "/static/\x00",
    "/static/%2e%2e/secret.txt",
    "/static/%2e%2e%2fsecret.txt",
    "/static/..%2fsecret.txt",
    "/static/%252e%252e/secret.txt",
    "/static/\u2024\u2024/secret.txt",
    "/static/\uff0e\uff0e/secret.txt",
    "/static/link-out.txt",
    "/static/dir-out/secret.txt",
    "/static/trap/",
    "/static/" + "a" * 5000,
    "/static/" + "a/" * 3000,
]


@pytest.mark.parametrize("path", TRAVERSALS)
async def test_static_never_leaves_the_directory(site: Path, path: str) -> None:
    for options in ({}, {"html": True}):
        result = await fetch(router(site, **options), path)
        assert result.status == 404, (path, result.status, result.body)
        for secret in (b"secret", b"private", b"root:"):
            assert secret not in result.body


async def test_static_sibling_directory_sharing_the_prefix(site: Path) -> None:
    # Neither the mount ("/static" vs "/static-private") nor the file system check
    # (".../static" vs ".../static-private") is fooled by a shared prefix.
    app = router(site)
    assert (await fetch(app, "/static-private/secret.txt")).status == 404
    bare = trane.StaticFiles(directory=site)
    assert (await fetch(bare, "/../static-private/secret.txt")).status == 404
    assert (await fetch(bare, "/dir-out/secret.txt")).status == 404


async def test_static_follow_symlinks(site: Path) -> None:
    app = router(site, follow_symlinks=True)
    assert (await fetch(app, "/static/link-out.txt")).body == b"secret"
    assert (await fetch(app, "/static/dir-out/secret.txt")).body == b"private"
    assert (await fetch(app, "/static/../secret.txt")).status == 404  # ".." is still refused


async def test_static_directory_that_is_a_symlink(site: Path, tmp_path: Path) -> None:
    alias = tmp_path / "alias"
    os.symlink(site, alias)
    app = router(alias)
    assert (await fetch(app, "/static/hello.txt")).body == b"hello"
    assert (await fetch(app, "/static/link-out.txt")).status == 404


async def test_static_special_files_are_404(site: Path) -> None:
    os.mkfifo(site / "pipe")
    assert (await fetch(router(site), "/static/pipe")).status == 404


async def test_static_missing_directory() -> None:
    with pytest.raises(RuntimeError, match="does not exist"):
        trane.StaticFiles(directory="/no/such/dir")
    lazy = trane.StaticFiles(directory="/no/such/dir", check_dir=False)
    assert (await fetch(lazy, "/x")).status == 404


async def test_static_lifespan_and_websocket_scopes(site: Path) -> None:
    from communicator import Communicator

    app = trane.StaticFiles(directory=site)
    lifespan = Communicator(app, {"type": "lifespan"})
    await lifespan.send_input({"type": "lifespan.startup"})
    assert await lifespan.receive_output() == {"type": "lifespan.startup.complete"}
    ws = Communicator(app, {"type": "websocket", "path": "/"})
    await ws.send_input({"type": "websocket.connect"})
    assert (await ws.receive_output())["type"] == "websocket.close"
    assert "StaticFiles" in repr(app)


def test_static_segments() -> None:
    segments = trane.StaticFiles.segments
    assert segments({"path": "/static/a/b.txt", "root_path": "/static"}) == ["a", "b.txt"]
    assert segments({"path": "/a//./b/", "root_path": ""}) == ["a", "b"]
    assert segments({"path": "/a/../b"}) is None


@pytest.mark.parametrize(
    ("path", "root_path", "status"),
    [
        ("/static/hello.txt", "/static", 200),
        ("/hello.txt", "/static", 200),  # an older server: path without root_path
        ("/staticx/hello.txt", "/static", 404),  # "/static" + "x/hello.txt"
        ("/static-css/site.css", "/static", 404),  # not "/static" + "-css/site.css"
    ],
)
async def test_static_root_path_is_cut_off_only_at_a_segment_boundary(
    site: Path, path: str, root_path: str, status: int
) -> None:
    (site / "x").mkdir()
    (site / "x" / "hello.txt").write_text("x hello")
    (site / "-css").mkdir()
    (site / "-css" / "site.css").write_text("-css")
    app = trane.StaticFiles(directory=site)
    result = await fetch(app, path, root_path=root_path)
    assert result.status == status
    segments = trane.StaticFiles.segments({"path": path, "root_path": root_path})
    assert segments == (None if status == 404 else ["hello.txt"])
