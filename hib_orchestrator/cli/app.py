"""Builds the typer application from the per-area command modules."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from hib_orchestrator import __version__
from hib_orchestrator.logs import setup_logging
from hib_orchestrator.settings import load_settings


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hib {__version__}")
        raise typer.Exit(0)


class _WholeHelpGroup(TyperGroup):
    """Group help listing each command's whole description (click cuts them at the width)."""

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit=10_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


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
        # click's plain help: typer's rich help imports rich's console, markdown and pretty
        # printer (~0.08 s, half of `hib --help`); every command's help stays complete.
        rich_markup_mode=None,
        cls=_WholeHelpGroup,
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
    _whole_help(app)
    return app


def _whole_help(app: typer.Typer) -> None:
    # Every command group (`hib lab`, `hib runs`, ...) lists whole descriptions too.
    for info in app.registered_groups:
        info.cls = _WholeHelpGroup
        if info.typer_instance is not None:
            _whole_help(info.typer_instance)
