"""``hib runs``, ``hib runs show``, ``hib runs prune``, ``hib hosts``, ``hib history``,
``hib config`` and ``hib diff``: the read side of the run database and the config store.

Tables for people (plain aligned text past a few hundred rows, see :mod:`.tables`), ``--json``
(one document on stdout) for machines. An unknown run or host is
one line on stderr and exit 2; reading never fails because a run failed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from hib_orchestrator.cli.tables import Col, Grid, print_grid
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


def _emit_json(doc: Any) -> None:
    # orjson: the same indented text as json.dumps(indent=2, ensure_ascii=False), ~10x faster
    # (json's indenting encoder is pure Python: 0.15 s for the 3.7 MB of a 10,000-host run).
    import orjson

    sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
    sys.stdout.write("\n")
    sys.stdout.flush()


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def _short_ts(value: str | None) -> str:
    # "2026-11-24T09:12:22.149Z" -> "2026-11-24 09:12:22": tables stay narrow.
    return "-" if value is None else value[:19].replace("T", " ")


def _took(run: dict[str, Any]) -> str:
    from datetime import datetime

    if not run["started_at"] or not run["finished_at"]:
        return "-"
    start = datetime.fromisoformat(run["started_at"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(run["finished_at"].replace("Z", "+00:00"))
    return _human_age((end - start).total_seconds())


def _runs_table(runs: list[dict[str, Any]]) -> Grid:
    grid = Grid("runs (newest first)", [
        Col("id", right=True), Col("status", styled=True), Col("started (UTC)"),
        Col("took", right=True), Col("playbook", fold=True),
        *(Col(name, right=True) for name in ("hosts", "ok", "chg", "fail", "unr")),
    ])
    for r in runs:
        grid.rows.append([
            str(r["id"]), r["status"], _short_ts(r["started_at"]), _took(r),
            _cell(r["playbook"]), str(r["hosts_total"]), str(r["ok"]), str(r["changed"]),
            str(r["failed"]), str(r["unreachable"]),
        ])
    return grid


def _run_table(run: dict[str, Any]) -> Grid:
    title = (
        f"run {run['id']} {run['status']}  {run['playbook'] or ''}  "
        f"{_short_ts(run['started_at'])} UTC, took {_took(run)}"
    )
    if run.get("recording_error"):
        title += f"\nrecording error: {run['recording_error']}"
    grid = Grid(title, [
        Col("host"), Col("kind"), Col("status", styled=True), Col("error", fold=True),
        Col("s", right=True), Col("try", right=True), Col("commit"),
    ])
    for h in run["hosts"]:
        error = f"{h['error_code'] or ''} {h['error_message'] or ''}".strip() or "-"
        error = error if len(error) <= 80 else error[:79] + "..."
        grid.rows.append([
            h["host"], _cell(h["kind"]), h["status"], error,
            _cell(h["duration_s"]), _cell(h["attempts"]), (h["commit"] or "-")[:10],
        ])
    return grid


def _hosts_table(hosts: list[dict[str, Any]], stale_label: str) -> Grid:
    grid = Grid(f"hosts (stale: no success within {stale_label})", [
        Col("host"), Col("kind"), Col("last status", styled=True), Col("last success (UTC)"),
        Col("age", right=True), Col("stale", styled=True),
    ])
    for h in hosts:
        age = h["age_s"]
        grid.rows.append([
            h["host"], _cell(h["kind"]), _cell(h["last_status"]),
            _short_ts(h["last_success_at"]),
            "-" if age is None else _human_age(age),
            "stale" if h["stale"] else "fresh",
        ])
    return grid


def _human_age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.1f}s"


def _history_table(host: str, versions: list[dict[str, Any]]) -> Grid:
    grid = Grid(f"config history of {host} (newest first)", [
        Col("commit"), Col("run"), Col("committed (UTC)"), Col("sha256"), Col("bytes"),
    ])
    for v in versions:
        grid.rows.append([
            v["commit"][:12], _cell(v["run_id"]), _short_ts(v["committed_at"]),
            (v["sha256"] or "-")[:12], _cell(v["size_bytes"]),
        ])
    return grid


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
        _emit_json(found)
    else:
        print_grid(_runs_table(found))


def runs_show(
    run: str = typer.Argument(..., metavar="RUN|latest", help="A run id or 'latest'."),
    as_json: bool = JSON_OPTION,
) -> None:
    """One run with a row per host."""
    from hib_orchestrator.recording.queries import show_run

    doc = _read(lambda conn: show_run(conn, run))
    if as_json:
        _emit_json(doc)
    else:
        print_grid(_run_table(doc))


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
        _emit_json({"runs_removed": removed})
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
        _emit_json(found)
    else:
        print_grid(_hosts_table(found, stale or "24h"))


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
        _emit_json(versions)
    else:
        print_grid(_history_table(host, versions))


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
