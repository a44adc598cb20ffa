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
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import trane
from asgi import request
from servers import PYTHON, ROOT, serve
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


# -- --server granian and --workers N ------------------------------------------


@pytest.fixture
def multi(recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> Recorder:
    import granian
    import hypercorn.run

    monkeypatch.setenv("TRANE_APP", "unset")  # restored after the test
    monkeypatch.setattr(hypercorn.run, "run", recorder.record("hypercorn.run"))
    monkeypatch.setattr(granian, "Granian", recorder.record("granian.Granian"))
    recorder.serve = recorder.record("granian.Granian.serve")  # type: ignore[attr-defined]
    return recorder


def test_main_uvicorn_workers_use_the_factory(multi: Recorder) -> None:
    assert cli.main(["serve", "examples.legacy:LegacyApp", "--workers", "3"]) == 0
    [(name, args, kwargs)] = multi.calls
    assert (name, args) == ("uvicorn.run", (cli.FACTORY,))
    assert kwargs["workers"] == 3
    assert (kwargs["factory"], kwargs["reload"], kwargs["reload_dirs"]) == (True, False, None)
    assert os.environ["TRANE_APP"] == "examples.legacy:LegacyApp"


def test_main_hypercorn_workers_run_the_factory(multi: Recorder) -> None:
    argv = ["serve", "examples.legacy:LegacyApp", "--server", "hypercorn", "--workers", "2"]
    assert cli.main(argv) == 0
    [(name, (config,), _)] = multi.calls
    assert name == "hypercorn.run"
    assert config.workers == 2
    assert config.application_path == "trane.__main__:reload_factory()"
    assert config.bind == ["127.0.0.1:8000"]


async def test_main_serves_with_granian(multi: Recorder) -> None:
    assert cli.main(["serve", "examples.demo:router", "--server", "granian", "--port", "8126"]) == 0
    (name, args, kwargs), (serve_name, _, _) = multi.calls
    assert (name, serve_name) == ("granian.Granian", "granian.Granian.serve")
    assert args == (cli.FACTORY,)
    assert kwargs["factory"] is True
    assert (kwargs["address"], kwargs["port"], kwargs["workers"]) == ("127.0.0.1", 8126, 1)
    assert str(kwargs["interface"].value) == "asgi"
    assert await _is_demo(cli.reload_factory())  # what each granian worker will load


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (
            ["--server", "daphne", "--workers", "2"],
            "--workers works with --server uvicorn, hypercorn, granian; daphne runs one process",
        ),
        (["--workers", "0"], "--workers must be 1 or more, got 0"),
        (["--workers", "2", "--reload"], "--reload and --workers do not go together"),
    ],
)
def test_main_workers_errors(
    argv: list[str], error: str, recorder: Recorder, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["serve", "examples.legacy:app", *argv])
    assert info.value.code == 2
    assert error in capsys.readouterr().err
    assert recorder.calls == []


def test_main_daphne_workers_error_from_the_command_line() -> None:
    done = subprocess.run(
        [
            PYTHON,
            "-m",
            "trane",
            "serve",
            "examples.legacy:app",
            "--server",
            "daphne",
            "--workers",
            "2",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert done.stderr.endswith(
        "error: --workers works with --server uvicorn, hypercorn, granian; daphne runs one"
        " process (run several behind a load balancer instead)\n"
    )


# -- the same, on real servers ---------------------------------------------------


def _session(leader: int) -> list[int]:
    """The other processes of the session ``leader`` started (its workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == leader:
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[3]) == leader:  # field 6 of stat, the session id
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize(
    ("server", "target", "path", "body"),
    [
        ("uvicorn", "serve_apps:hello3", "/a", "hello from ASGI 3 at /a"),
        ("hypercorn", "examples.legacy:LegacyApp", "/b", "legacy GET /b"),
        ("granian", "examples.legacy:LegacyApp", "/c", "legacy GET /c"),
        ("daphne", "serve_apps:hello3", "/d", "hello from ASGI 3 at /d"),
    ],
)
def test_serve_runs_any_app_on_each_server(server: str, target: str, path: str, body: str) -> None:
    env = {"PYTHONPATH": f"{ROOT}:{ROOT / 'src'}:{ROOT / 'tests'}"}
    with serve("trane", target, "--server", server, env=env) as running:
        response = httpx.get(running.url + path, timeout=10)
    assert (response.status_code, response.text) == (200, body)


@pytest.mark.parametrize("server", ["uvicorn", "hypercorn", "granian"])
def test_serve_workers_on_real_servers(server: str) -> None:
    env = {"PYTHONPATH": f"{ROOT}:{ROOT / 'src'}:{ROOT / 'tests'}"}
    with serve("trane", "serve_apps:Pid", "--server", server, "--workers", "2", env=env) as running:
        deadline = time.monotonic() + 20
        while len(workers := _session(running.process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(workers) >= 2, running.output()
        with httpx.Client(base_url=running.url, timeout=10) as client:
            pids = {int(client.get("/").text) for _ in range(5)}
    # Answered by worker processes, not by the supervisor.
    assert pids <= set(workers)
