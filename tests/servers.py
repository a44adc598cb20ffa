"""Real servers for the tests: start one in a subprocess, wait until it listens.

``serve(...)`` picks a free 127.0.0.1 port by binding port 0, starts the
server command, and polls the port (never sleeps blindly) until it accepts
connections or the process dies; on exit the process group is terminated
and, if need be, killed. What the server printed is kept for assertions.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def command(server: str, target: str, port: int, *extra: str) -> list[str]:
    """The command line that serves ``target`` (module:attr) with ``server``."""
    host = "127.0.0.1"
    if server == "uvicorn":
        return [PYTHON, "-m", "uvicorn", target, "--host", host, "--port", str(port), *extra]
    if server == "daphne":
        return [PYTHON, "-m", "daphne", "-b", host, "-p", str(port), *extra, target]
    if server == "hypercorn":
        return [PYTHON, "-m", "hypercorn", target, "--bind", f"{host}:{port}", *extra]
    if server == "granian":  # ASGI 3 only: the adapter is what it serves
        return [
            PYTHON,
            "-m",
            "granian",
            "--interface",
            "asgi",
            "--host",
            host,
            "--port",
            str(port),
            *extra,
            target,
        ]
    if server == "trane":  # python -m trane serve, with --server in extra
        return [PYTHON, "-m", "trane", "serve", target, "--host", host, "--port", str(port), *extra]
    raise ValueError(f"unknown server {server!r}")


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early with code {process.returncode}")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"server did not listen on port {port} within {timeout}s")


@contextlib.contextmanager
def serve(
    server: str,
    target: str,
    *extra: str,
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
    timeout: float = 20.0,
    port: int | None = None,
) -> Iterator[Server]:
    """Run ``server`` on ``target`` for the duration of the ``with`` block."""
    port = port or free_port()
    log = tempfile.NamedTemporaryFile(prefix=f"{server}-", suffix=".log", delete=False)  # noqa: SIM115
    full_env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}", **(env or {})}
    process = subprocess.Popen(
        command(server, target, port, *extra),
        cwd=cwd,
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    handle = Server(server, port, process, Path(log.name))
    try:
        try:
            wait_for_port(port, process, timeout)
        except Exception as exc:
            raise RuntimeError(f"{server} failed to start: {exc}\n{handle.output()}") from exc
        yield handle
    finally:
        stop(process)
        log.close()


def stop(process: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
