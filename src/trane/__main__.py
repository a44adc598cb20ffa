"""``python -m trane serve|check module:attr``: run an app, or check it.

``serve`` runs it on uvicorn (the default), daphne, hypercorn or granian,
with ``--workers N`` on all but daphne. Whatever the
server, it gets the app through ``as_asgi3``, so trane objects and legacy
ASGI 2 apps run on servers that no longer take ASGI 2. ``check`` says how
each server would call the app and drives it through the spec checker
(``trane.check``): exit 0 when clean, 1 with findings, 2 when the target
cannot be loaded.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any

from .check import check as check_app
from .compat import as_asgi3

SERVERS = ("uvicorn", "daphne", "hypercorn", "granian")
#: The servers that can run several worker processes (--workers N). daphne
#: has no such option: run several daphne processes behind a load balancer.
MULTIPROCESS = ("uvicorn", "hypercorn", "granian")
FACTORY = "trane.__main__:reload_factory"


class LoadError(Exception):
    """The ``module:attr`` target could not be loaded."""


def load(target: str) -> Any:
    """Import ``module:attr`` (attr may be dotted); raise LoadError with one line."""
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise LoadError(f"expected 'module:attribute', got {target!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        obj: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # Only the target (or a package on its way) missing is our error to
        # report; a module the target itself imports is a bug in the target.
        if exc.name == module_name or module_name.startswith(f"{exc.name}."):
            raise LoadError(f"could not import module {module_name!r}") from None
        raise
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise LoadError(f"module {module_name!r} has no attribute {attr!r}") from None
    return obj


def reload_factory() -> Any:
    """For servers that import the app themselves, in each worker process.

    uvicorn's --reload and --workers, hypercorn's and granian's workers: the
    target travels in the ``TRANE_APP`` environment variable.
    """
    return as_asgi3(load(os.environ["TRANE_APP"]))


def serve(target: str, server: str, host: str, port: int, reload: bool, workers: int = 1) -> None:
    app = as_asgi3(load(target))
    if reload or workers > 1 or server == "granian":
        os.environ["TRANE_APP"] = target  # for the processes that load it again
    if server == "uvicorn":
        import uvicorn

        if reload or workers > 1:
            # NOTE: uvicorn takes --reload and --workers only with an import string.
            uvicorn.run(
                FACTORY,
                factory=True,
                host=host,
                port=port,
                reload=reload,
                reload_dirs=[os.getcwd()] if reload else None,
                workers=workers,
            )
        else:
            uvicorn.run(app, host=host, port=port)
    elif server == "daphne":
        from daphne.endpoints import build_endpoint_description_strings
        from daphne.server import Server

        Server(
            application=app,
            endpoints=build_endpoint_description_strings(host=host, port=port),
        ).run()
    elif server == "hypercorn":
        from hypercorn.config import Config

        config = Config()
        config.bind = [f"{host}:{port}"]
        config.accesslog = "-"
        if workers > 1:
            from hypercorn.run import run

            # hypercorn evaluates the part after ':' in the module: a call works.
            config.application_path = FACTORY + "()"
            config.workers = workers
            run(config)
        else:
            from hypercorn.asyncio import serve as hypercorn_serve

            asyncio.run(hypercorn_serve(app, config))  # type: ignore[arg-type]
    else:
        from granian import Granian
        from granian.constants import Interfaces

        # granian always imports the app itself, in its worker processes.
        Granian(
            FACTORY,
            factory=True,
            address=host,
            port=port,
            interface=Interfaces.ASGI,
            workers=workers,
        ).serve()


def check(target: str, as_json: bool, path: str) -> int:
    try:
        app = load(target)
    except LoadError as exc:
        print(f"trane: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # the module itself failed: report it, do not crash
        print(f"trane: error: importing {target!r} raised {exc!r}", file=sys.stderr)
        return 2
    if not callable(app):
        print(f"trane: error: {target!r} is a {type(app).__name__}, not an app", file=sys.stderr)
        return 2
    report = check_app(app, target, path)
    print(report.to_json() if as_json else report.to_text())
    return report.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trane")
    commands = parser.add_subparsers(dest="command", required=True)
    checking = commands.add_parser("check", help="check module:attr against the ASGI spec")
    checking.add_argument("target", help="the app, as module:attribute")
    checking.add_argument("--json", action="store_true", help="print the report as JSON")
    checking.add_argument("--path", default="/", help="the path the scenarios request")
    run = commands.add_parser("serve", help="serve module:attr")
    run.add_argument("target", help="the app, as module:attribute")
    run.add_argument("--server", choices=SERVERS, default="uvicorn")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--reload", action="store_true", help="restart on code changes (uvicorn)")
    run.add_argument(
        "--workers",
        type=int,
        default=1,
        help=f"worker processes ({', '.join(MULTIPROCESS)}; daphne runs one)",
    )
    args = parser.parse_args(argv)
    if args.command == "check":
        return check(args.target, args.json, args.path)
    if args.reload and args.server != "uvicorn":
        parser.error("--reload works with --server uvicorn only")
    if args.workers < 1:
        parser.error(f"--workers must be 1 or more, got {args.workers}")
    if args.workers > 1 and args.server not in MULTIPROCESS:
        parser.error(
            f"--workers works with --server {', '.join(MULTIPROCESS)}; {args.server} runs one"
            " process (run several behind a load balancer instead)"
        )
    if args.workers > 1 and args.reload:
        parser.error("--reload and --workers do not go together (uvicorn reloads one process)")
    try:
        load(args.target)
    except LoadError as exc:
        print(f"trane: error: {exc}", file=sys.stderr)
        return 2
    serve(args.target, args.server, args.host, args.port, args.reload, args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
