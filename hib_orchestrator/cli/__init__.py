"""The ``hib`` command line. Only this package imports typer and rich.

Commands live in one module per area (``lab.py``, ``records.py``, ...), each exposing
``register(app)``; :func:`main` maps errors to the contract's exit codes:
0 success, 1 a host failed / damage found, 2 bad usage or configuration, 3 canceled/interrupted.

The plain read commands on SQLite are answered by :mod:`.quick` before typer is even imported
(start-up is most of their time); everything else, and anything :mod:`.quick` is unsure of, goes
through the typer app, built on first use (``hib_orchestrator.cli.app``).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from hib_orchestrator.errors import ConfigError, HibError

if TYPE_CHECKING:
    import typer

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CANCELED = 3

_APP: list[typer.Typer] = []


def _app() -> typer.Typer:
    if not _APP:
        from hib_orchestrator.cli.app import build_app

        _APP.append(build_app())
    return _APP[0]


def __getattr__(name: str) -> Any:
    # ``app`` is built on first use: importing typer is most of ``hib``'s start-up.
    if name == "app":
        return _app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: run ``hib`` and return its exit code."""
    try:
        return _dispatch(sys.argv[1:] if argv is None else argv)
    except ConfigError as exc:
        print(f"hib: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except HibError as exc:
        print(f"hib: error [{exc.code}]: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("hib: interrupted", file=sys.stderr)
        return EXIT_CANCELED


def _dispatch(argv: list[str]) -> int:
    from hib_orchestrator.cli import quick

    answered = quick.run(argv)
    if answered is not None:
        return answered
    import typer

    try:  # typer >= 0.24 vendors click; older releases use the click package.
        from typer._click.exceptions import ClickException, NoArgsIsHelpError
    except ImportError:  # pragma: no cover
        from click.exceptions import (  # type: ignore[assignment]
            ClickException,
            NoArgsIsHelpError,
        )

    try:
        rv = _app()(args=argv, prog_name="hib", standalone_mode=False)
    except typer.Abort:
        print("hib: aborted", file=sys.stderr)
        return EXIT_CANCELED
    except typer.Exit as exc:
        return exc.exit_code
    except NoArgsIsHelpError as exc:
        exc.show(file=sys.stdout)  # bare `hib`: the help on stdout, exit 2
        return exc.exit_code or EXIT_USAGE
    except ClickException as exc:
        exc.show()
        return exc.exit_code or EXIT_USAGE
    return rv if isinstance(rv, int) else EXIT_OK


__all__ = ["EXIT_CANCELED", "EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "app", "main"]
