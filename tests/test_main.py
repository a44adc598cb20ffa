"""``python -m trane serve``: argument handling, loading, and what each server gets.

The servers themselves are started for real in test_servers.py; here they are
replaced by fakes that record how they were called.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import trane
from asgi import request
from servers import PYTHON, ROOT
from trane import __main__ as cli


@pytest.fixture
def tmp_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A scratch working directory for a ``mainapp`` module; sys.path restored."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield tmp_path
    sys.modules.pop("mainapp", None)


# -- load() ------------------------------------------------------------------


def test_load_imports_module_attribute(tmp_cwd: Path) -> None:
    (tmp_cwd / "mainapp.py").write_text(
        "import types\nclass Hello:\n    pass\nns = types.SimpleNamespace(inner=Hello)\n"
    )
    assert cli.load("mainapp:Hello").__name__ == "Hello"
    assert cli.load("mainapp:ns.inner").__name__ == "Hello"  # dotted attributes
    assert sys.path[0] == str(tmp_cwd)  # the working directory is importable


def test_load_real_example() -> None:
    assert cli.load("examples.demo:router").__class__ is trane.Router


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("examples.demo", "expected 'module:attribute', got 'examples.demo'"),
        (":app", "expected 'module:attribute', got ':app'"),
        ("examples.demo:", "expected 'module:attribute', got 'examples.demo:'"),
        ("nosuchmodule:app", "could not import module 'nosuchmodule'"),
        ("examples.nosuch:app", "could not import module 'examples.nosuch'"),
        ("nosuchpkg.sub:app", "could not import module 'nosuchpkg.sub'"),
        ("examples.demo:nosuch", "module 'examples.demo' has no attribute 'nosuch'"),
        ("examples.demo:router.nosuch", "has no attribute 'router.nosuch'"),
    ],
)
def test_load_errors_are_one_line(target: str, message: str) -> None:
    with pytest.raises(cli.LoadError) as info:
        cli.load(target)
    assert str(info.value) == message or message in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("missing", ["mainap", "other"])
def test_load_keeps_missing_dependency_errors_of_the_module(tmp_cwd: Path, missing: str) -> None:
    # The module exists but imports something that does not: that is a bug in
    # the module, reported as it is, not as "could not import module".
    (tmp_cwd / "mainapp.py").write_text(f"import {missing}\n")
    with pytest.raises(ModuleNotFoundError) as info:
        cli.load("mainapp:app")
    assert info.value.name == missing


# -- main() ------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def record(self, name: str) -> Any:
        def fake(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args, kwargs))
            return self

        return fake


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    import daphne.server
    import hypercorn.asyncio
    import uvicorn

    rec = Recorder()
    monkeypatch.setattr(uvicorn, "run", rec.record("uvicorn.run"))
    monkeypatch.setattr(daphne.server, "Server", rec.record("daphne.Server"))
    rec.run = rec.record("daphne.Server.run")  # type: ignore[attr-defined]

    async def fake_serve(app: Any, config: Any, **kwargs: Any) -> None:
        rec.calls.append(("hypercorn.serve", (app, config), kwargs))

    monkeypatch.setattr(hypercorn.asyncio, "serve", fake_serve)
    return rec


async def _is_demo(app: Any) -> bool:
    return (await request(app, "GET", "/hello/cli")).body == b"Hello, cli!"


async def test_main_serves_with_uvicorn_by_default(recorder: Recorder) -> None:
    assert cli.main(["serve", "examples.demo:router", "--port", "8123"]) == 0
    [(name, args, kwargs)] = recorder.calls
    assert name == "uvicorn.run"
    assert kwargs == {"host": "127.0.0.1", "port": 8123}
    [app] = args
    assert inspect.iscoroutinefunction(app)  # the ASGI 3 adapter, not the router
    assert await _is_demo(app)


def test_main_uvicorn_reload_uses_the_factory(
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRANE_APP", "unset")  # restored (to absent) after the test
    cli.main(["serve", "examples.demo:router", "--reload", "--host", "127.0.0.2"])
    [(name, args, kwargs)] = recorder.calls
    assert name == "uvicorn.run"
    assert args == ("trane.__main__:reload_factory",)
    assert kwargs["factory"] is True
    assert kwargs["reload"] is True
    assert kwargs["host"] == "127.0.0.2"
    assert os.environ["TRANE_APP"] == "examples.demo:router"


async def test_reload_factory_loads_the_target(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANE_APP", "examples.demo:router")
    app = cli.reload_factory()
    assert getattr(app, "_asgi_single_callable", False)
    assert await _is_demo(app)


async def test_main_serves_with_daphne(recorder: Recorder) -> None:
    assert cli.main(["serve", "examples.demo:router", "--server", "daphne", "--port", "8124"]) == 0
    (name, _, kwargs), (run, _, _) = recorder.calls
    assert (name, run) == ("daphne.Server", "daphne.Server.run")
    assert kwargs["endpoints"] == ["tcp:port=8124:interface=127.0.0.1"]
    assert await _is_demo(kwargs["application"])


async def test_main_serves_with_hypercorn(recorder: Recorder) -> None:
    # main() runs its own event loop for hypercorn: call it off this one.
    code = await asyncio.to_thread(
        cli.main, ["serve", "examples.demo:router", "--server", "hypercorn", "--port", "8125"]
    )
    assert code == 0
    [(name, (app, config), _)] = recorder.calls
    assert name == "hypercorn.serve"
    assert config.bind == ["127.0.0.1:8125"]
    assert await _is_demo(app)


def test_main_missing_target_is_one_line_error(
    recorder: Recorder, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["serve", "examples.demo:nosuch"]) == 2
    assert capsys.readouterr().err == (
        "trane: error: module 'examples.demo' has no attribute 'nosuch'\n"
    )
    assert recorder.calls == []


def test_main_reload_needs_uvicorn(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["serve", "examples.demo:app", "--reload", "--server", "daphne"])
    assert info.value.code == 2
    assert "--reload works with --server uvicorn only" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [[], ["serve"], ["serve", "x:y", "--server", "gunicorn"], ["serve", "x:y", "--port", "x"]],
)
def test_main_bad_arguments_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2


def test_python_m_trane_missing_module_prints_one_line() -> None:
    done = subprocess.run(
        [PYTHON, "-m", "trane", "serve", "nosuchmodule:app"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert done.stderr == "trane: error: could not import module 'nosuchmodule'\n"
    assert done.stdout == ""
