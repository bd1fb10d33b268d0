"""``hib lab``: the simulated fleet (placeholder until the lab lands)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    lab = typer.Typer(help="A simulated fleet on loopback.", no_args_is_help=True)
    app.add_typer(lab, name="lab")
