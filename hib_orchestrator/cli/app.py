"""Builds the typer application from the per-area command modules."""

from __future__ import annotations

import typer

from hib_orchestrator import __version__
from hib_orchestrator.logs import setup_logging
from hib_orchestrator.settings import load_settings


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hib {__version__}")
        raise typer.Exit(0)


def build_app() -> typer.Typer:
    """The ``hib`` app with every command group registered."""
    # Imported here so `import hib_orchestrator.cli.app` stays cheap for tests of one area.
    from hib_orchestrator.cli import db, images, lab, records, run

    app = typer.Typer(
        name="hib",
        help="Backup orchestration for fleets: device configs and image hosts, every run recorded.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def _root(
        version: bool = typer.Option(
            False, "--version", callback=_version, is_eager=True, help="Print the version."
        ),
    ) -> None:
        """hib: back up device configs and image hosts with Ansible; ask what ran and changed."""
        # Every command starts from validated settings: bad configuration is exit 2 up front.
        setup_logging(load_settings())

    for module in (lab, records, db, images, run):
        module.register(app)
    return app
