"""``hib runs``, ``hib runs show``, ``hib runs prune``, ``hib hosts``, ``hib history``,
``hib config`` and ``hib diff``: the read side of the run database and the config store.

Tables for people (plain aligned text past a few hundred rows, see :mod:`.tables`), ``--json``
(one document on stdout) for machines. An unknown run or host is
one line on stderr and exit 2; reading never fails because a run failed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from hib_orchestrator.cli.tables import print_grid
from hib_orchestrator.cli.views import (
    emit_json,
    history_table,
    hosts_table,
    run_table,
    runs_table,
)
from hib_orchestrator.errors import ConfigError
from hib_orchestrator.recording.durations import parse_duration
from hib_orchestrator.settings import load_settings

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from hib_orchestrator.configstore import ConfigStore

# The queries (and SQLAlchemy), the config store and rich load when a command needs them, not
# when `hib` starts.
DEFAULT_STALE_S = 24 * 3600.0

T = TypeVar("T")
JSON_OPTION = typer.Option(False, "--json", help="Print one JSON document on stdout.")


@contextmanager
def _connection(write: bool = False) -> Iterator[Connection]:
    from hib_orchestrator.recording.database import open_engine

    engine = open_engine(load_settings())
    with engine.begin() if write else engine.connect() as conn:
        yield conn


def _read(fn: Callable[[Connection], T]) -> T:
    with _connection() as conn:
        return fn(conn)


def _store() -> ConfigStore:
    from hib_orchestrator.configstore import ConfigStore

    return ConfigStore(load_settings().config_store)


def _history_from_store(host: str) -> list[dict[str, Any]]:
    # Fallback for a store older than the database (or a wiped DB): one git log, still correct.
    versions = _store().versions(host)
    return [
        {
            "commit": v.commit,
            "run_id": int(v.run_id) if v.run_id and v.run_id.isdigit() else v.run_id,
            "committed_at": v.committed_at.isoformat(),
            "sha256": None,
            "size_bytes": None,
        }
        for v in versions
    ]


def runs_list(
    ctx: typer.Context,
    limit: int = typer.Option(20, "--limit", min=1, help="How many runs, newest first."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Recorded runs: list (newest first), show one, prune old ones."""
    if ctx.invoked_subcommand is not None:
        return
    from hib_orchestrator.recording.queries import list_runs

    found = _read(lambda conn: list_runs(conn, limit))
    if as_json:
        emit_json(found)
    else:
        print_grid(runs_table(found))


def runs_show(
    run: str = typer.Argument(..., metavar="RUN|latest", help="A run id or 'latest'."),
    as_json: bool = JSON_OPTION,
) -> None:
    """One run with a row per host."""
    from hib_orchestrator.recording.queries import show_run

    doc = _read(lambda conn: show_run(conn, run))
    if as_json:
        emit_json(doc)
    else:
        print_grid(run_table(doc))


def runs_prune(
    older_than: str | None = typer.Option(
        None, "--older-than", metavar="DURATION", help="Remove runs started before (7d, 24h)."
    ),
    keep_last: int | None = typer.Option(
        None, "--keep-last", min=0, help="Always keep this many newest runs."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Delete old runs and their results (the config history index stays)."""
    from hib_orchestrator.recording.queries import prune_runs

    seconds = parse_duration(older_than) if older_than is not None else None
    with _connection(write=True) as conn:
        removed = prune_runs(conn, older_than_s=seconds, keep_last=keep_last)
    if as_json:
        emit_json({"runs_removed": removed})
    else:
        typer.echo(f"removed {removed} run(s)")


def hosts_cmd(
    stale: str | None = typer.Option(
        None, "--stale", metavar="DURATION",
        help="Only hosts without a success within DURATION (24h, 7d).",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Every recorded host: last status, last success, staleness (default bound 24h)."""
    from hib_orchestrator.recording.queries import list_hosts

    bound = parse_duration(stale) if stale is not None else DEFAULT_STALE_S
    found = _read(lambda conn: list_hosts(conn, stale_after_s=bound, only_stale=stale is not None))
    if as_json:
        emit_json(found)
    else:
        print_grid(hosts_table(found, stale or "24h"))


def history_cmd(
    host: str = typer.Argument(..., help="Inventory host name."),
    limit: int | None = typer.Option(None, "--limit", min=1),
    as_json: bool = JSON_OPTION,
) -> None:
    """Committed config versions of HOST, newest first."""
    from hib_orchestrator.recording.queries import history, known_host

    def query(conn: Connection) -> tuple[bool, list[dict[str, Any]]]:
        return known_host(conn, host), history(conn, host, limit)

    known, versions = _read(query)
    if not versions:
        versions = _history_from_store(host)[:limit]
    if not known and not versions:
        raise ConfigError(f"unknown host {host!r}: nothing recorded for it")
    if as_json:
        emit_json(versions)
    else:
        print_grid(history_table(host, versions))


def config_cmd(
    host: str = typer.Argument(..., help="Inventory host name."),
    rev: str | None = typer.Option(None, "--rev", help="A commit (default: the latest)."),
) -> None:
    """Print the stored config text of HOST."""
    text = _store().read(host, rev)
    typer.echo(text, nl=not text.endswith("\n"))


def diff_cmd(
    host: str = typer.Argument(..., help="Inventory host name."),
    rev_a: str | None = typer.Argument(None, metavar="[REV_A]"),
    rev_b: str | None = typer.Argument(None, metavar="[REV_B]"),
    show_all: bool = typer.Option(False, "--all", help="Also show changed volatile lines "
                                  "(timestamps, counters) the backup ignores."),
) -> None:
    """Unified diff of HOST's config (default: previous version vs latest).

    Volatile lines (what the platform profiles ignore when comparing) are left out unless
    ``--all`` is given.
    """
    if rev_a is None and rev_b is None:
        from hib_orchestrator.recording.queries import history

        # The two newest versions from the index: no history walk in git.
        newest = _read(lambda conn: history(conn, host, 2))
        if len(newest) == 2:
            rev_a, rev_b = newest[1]["commit"], newest[0]["commit"]
    text = _store().diff(host, rev_a, rev_b)
    if not show_all:
        from hib_orchestrator.devices.diffs import significant_diff

        text = significant_diff(text)
    typer.echo(text, nl=bool(text) and not text.endswith("\n"))


def register(app: typer.Typer) -> None:
    """Add the read-side commands to ``app``."""
    runs = typer.Typer(invoke_without_command=True)
    runs.callback()(runs_list)
    runs.command("show")(runs_show)
    runs.command("prune")(runs_prune)
    app.add_typer(runs, name="runs")
    app.command("hosts")(hosts_cmd)
    app.command("history")(history_cmd)
    app.command("config")(config_cmd)
    app.command("diff")(diff_cmd)


__all__ = ["register"]
