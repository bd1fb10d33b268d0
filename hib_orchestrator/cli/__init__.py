"""The ``hib`` command line. Only this package imports typer and rich.

Commands live in one module per area (``lab.py``, ``records.py``, ...), each exposing
``register(app)``; :func:`main` maps errors to the contract's exit codes:
0 success, 1 a host failed / damage found, 2 bad usage or configuration, 3 canceled/interrupted.
"""

from __future__ import annotations

import sys

import typer

from hib_orchestrator.cli.app import build_app
from hib_orchestrator.errors import ConfigError, HibError

try:  # typer >= 0.24 vendors click; older releases use the click package.
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover
    from click.exceptions import ClickException  # type: ignore[assignment]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CANCELED = 3

app = build_app()


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: run ``hib`` and return its exit code."""
    try:
        rv = app(args=argv, prog_name="hib", standalone_mode=False)
    except typer.Abort:
        print("hib: aborted", file=sys.stderr)
        return EXIT_CANCELED
    except typer.Exit as exc:
        return exc.exit_code
    except ClickException as exc:
        exc.show()
        return exc.exit_code or EXIT_USAGE
    except ConfigError as exc:
        print(f"hib: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except HibError as exc:
        print(f"hib: error [{exc.code}]: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("hib: interrupted", file=sys.stderr)
        return EXIT_CANCELED
    return rv if isinstance(rv, int) else EXIT_OK




__all__ = ["EXIT_CANCELED", "EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "app", "main"]
