"""The compatibility matrix: five ways to write an app, eight ways to run one.

Each cell is a real server answering a real GET (httpx), the app fitted the
way ``trane.check`` says that server needs (``matrix_apps.fit``). Each row
(a server, or a router served by uvicorn) is started once for the module:
the six servers run one process per app, all five started at once; the two
routers mount the five apps in one process. README.rst shows the table that
``test_readme_shows_the_matrix`` renders from the same ``fit``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from collections.abc import Iterator

import httpx
import pytest

from matrix_apps import APPS, CALLERS, expected, fit
from servers import PYTHON, ROOT, command, free_port, stop, wait_for_port

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, (ROOT, ROOT / "src", ROOT / "tests")))}

DAPHNE_SERVER = (
    "import sys, matrix_apps\n"
    "from daphne.endpoints import build_endpoint_description_strings as endpoints\n"
    "from daphne.server import Server\n"
    "app = getattr(matrix_apps, sys.argv[1])\n"
    "Server(application=app, endpoints=endpoints(host='127.0.0.1', port=int(sys.argv[2]))).run()\n"
)


def row_command(row: str, target: str, port: int) -> list[str]:
    """The command serving ``target`` (an attribute of matrix_apps) for ``row``."""
    if row == "uvicorn_asgi2":
        return command("uvicorn", f"matrix_apps:{target}", port, "--interface", "asgi2")
    if row == "daphne_server":
        return [PYTHON, "-c", DAPHNE_SERVER, target, str(port)]
    if row in ("channels", "starlette"):
        return command("uvicorn", f"matrix_apps:{row}_app", port, "--factory")
    return command(row, f"matrix_apps:{target}", port)


@contextlib.contextmanager
def start_all(commands: list[list[str]], ports: list[int]) -> Iterator[None]:
    """Start every command at once, then wait for each port."""
    processes: list[subprocess.Popen[bytes]] = []
    logs = []
    try:
        for argv in commands:
            log = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
            logs.append(log)
            processes.append(
                subprocess.Popen(
                    argv,
                    cwd=ROOT,
                    env=ENV,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        for port, process, log in zip(ports, processes, logs, strict=True):
            try:
                wait_for_port(port, process, timeout=60)
            except Exception as exc:
                log.seek(0)
                raise RuntimeError(f"{process.args!r}: {exc}\n{log.read().decode()}") from exc
        yield
    finally:
        for process in processes:
            stop(process)
        for log in logs:
            log.close()


@pytest.fixture(scope="module", params=list(CALLERS))
def row(request: pytest.FixtureRequest) -> Iterator[tuple[str, dict[str, str]]]:
    """(row key, app name -> URL to GET) with the row's servers running."""
    key: str = request.param
    if key in ("channels", "starlette"):
        port = free_port()
        urls = {name: f"http://127.0.0.1:{port}/{name}/x" for name in APPS}
        with start_all([row_command(key, "", port)], [port]):
            yield key, urls
        return
    ports = [free_port() for _ in APPS]
    commands = [
        row_command(key, f"{name}__{key}", port) for name, port in zip(APPS, ports, strict=True)
    ]
    with start_all(commands, ports):
        yield (
            key,
            {name: f"http://127.0.0.1:{port}/x" for name, port in zip(APPS, ports, strict=True)},
        )


@pytest.mark.parametrize("app", list(APPS))
def test_matrix_cell(row: tuple[str, dict[str, str]], app: str) -> None:
    key, urls = row
    response = httpx.get(urls[app], timeout=10)
    assert response.status_code == 200, (key, app, response.text)
    assert response.text == expected(app, httpx.URL(urls[app]).path)


# -- the table in README.rst ------------------------------------------------------

COLUMNS = {
    "uvicorn": "uvicorn",
    "uvicorn_asgi2": "uvicorn asgi2",
    "daphne": "daphne CLI",
    "daphne_server": "daphne Server",
    "hypercorn": "hypercorn",
    "granian": "granian",
    "channels": "URLRouter",
    "starlette": "Mount",
}
ROWS = {
    "router": "trane Router",
    "view": "trane view class",
    "legacy": "legacy ASGI 2 class",
    "consumer": "Channels 2 consumer",
    "asgi3": "ASGI 3 function",
}


def render_table() -> str:
    """The matrix as an RST grid table: how each cell's app was fitted."""
    header = ["app", *COLUMNS.values()]
    body = [[ROWS[name], *(fit(APPS[name], CALLERS[key])[1] for key in COLUMNS)] for name in APPS]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def rule(char: str) -> str:
        return "+" + "+".join(char * (w + 2) for w in widths) + "+"

    def line(cells: list[str]) -> str:
        return "|" + "|".join(f" {c:<{w}} " for c, w in zip(cells, widths, strict=True)) + "|"

    out = [rule("-"), line(header), rule("=")]
    for cells in body:
        out += [line(cells), rule("-")]
    return "\n".join(out)


def test_readme_shows_the_matrix() -> None:
    readme = (ROOT / "README.rst").read_text()
    assert render_table() in readme, "\n" + render_table()
