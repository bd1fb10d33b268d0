"""``hib db upgrade``: apply the packaged migrations to the configured run database."""

from __future__ import annotations

import json

import typer

from hib_orchestrator.settings import load_settings


def register(app: typer.Typer) -> None:
    """Add ``hib db`` to ``app``."""
    db = typer.Typer(help="The run database.", no_args_is_help=True)

    @db.command("upgrade")
    def db_upgrade(
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
    ) -> None:
        """Apply migrations (the recorder and every command also do this on first use)."""
        from hib_orchestrator.db.engine import get_engine
        from hib_orchestrator.db.migrate import upgrade

        before, after = upgrade(get_engine(load_settings().db_url))
        if as_json:
            typer.echo(json.dumps({"before": list(before), "after": list(after)}))
        else:
            typer.echo(f"database at {', '.join(after)} (was {', '.join(before) or 'empty'})")

    app.add_typer(db, name="db")


__all__ = ["register"]
