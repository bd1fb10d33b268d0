"""The read commands without typer or SQLAlchemy, for the plain forms people type most.

``hib hosts``, ``hib runs``, ``hib runs show RUN`` and ``hib history HOST`` (with ``--json``,
``--stale``, ``--limit``) on a SQLite run database are answered here, through
:mod:`hib_orchestrator.recording.sqlite_reads`: importing typer (which parses options through
pydantic) and SQLAlchemy cost ~0.3 s, several times the query itself.

This is an accelerator, never a second interface: anything it does not recognise exactly
(another command, ``--help``, a repeated or malformed option, ``--``, PostgreSQL, a database
that needs migrating or has a run to reap, a host with no history in the database) returns
``None`` before printing anything, and :func:`hib_orchestrator.cli.main` runs the typer app,
which gives today's answer, usage errors included. Both paths print through :mod:`.views`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hib_orchestrator.errors import ConfigError
from hib_orchestrator.settings import load_settings

#: command words -> (positional arguments, options taking a value); ``--json`` is a flag of each.
_COMMANDS: dict[tuple[str, ...], tuple[int, frozenset[str]]] = {
    ("hosts",): (0, frozenset({"--stale"})),
    ("runs",): (0, frozenset({"--limit"})),
    ("runs", "show"): (1, frozenset()),
    ("history",): (1, frozenset({"--limit"})),
}


@dataclass(slots=True)
class Call:
    """One recognised read command line."""

    words: tuple[str, ...]
    args: list[str] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)
    as_json: bool = False


def parse(argv: Sequence[str]) -> Call | None:
    """``argv`` as a :class:`Call`, or ``None`` unless it is exactly one of the plain forms."""
    words = tuple(argv[:2]) if argv[:2] == ["runs", "show"] else tuple(argv[:1])
    spec = _COMMANDS.get(words)
    if spec is None:
        return None
    positionals, valued = spec
    call = Call(words)
    rest = list(argv[len(words):])
    while rest:
        token = rest.pop(0)
        name, eq, value = token.partition("=")
        if token == "--json":
            if call.as_json:
                return None
            call.as_json = True
        elif name in valued and name not in call.options:
            if not eq:
                if not rest:
                    return None
                value = rest.pop(0)
            if not value or value.startswith("-"):
                return None
            call.options[name] = value
        elif token.startswith("-"):
            return None
        else:
            call.args.append(token)
    if len(call.args) != positionals:
        return None
    limit = call.options.get("--limit")
    if limit is not None and not (limit.isascii() and limit.isdigit() and int(limit) >= 1):
        return None
    return call


def run(argv: Sequence[str]) -> int | None:
    """Answer ``argv`` and return 0, or ``None`` when the typer app must answer it.

    Raises:
        ConfigError: a bad ``--stale`` duration, an unknown run (exit 2, as on the typer path).
    """
    call = parse(argv)
    if call is None:
        return None
    try:
        settings = load_settings()
    except ConfigError:
        return None  # the typer app reports it, exactly as for every other command
    from hib_orchestrator.recording import sqlite_reads

    conn = sqlite_reads.open_reader(settings)
    if conn is None:
        return None
    from hib_orchestrator.logs import setup_logging

    setup_logging(settings)  # what the app's root callback does before every command
    try:
        found = _answer(call, conn)
    except sqlite3.Error:
        return None  # the SQLAlchemy path reports database trouble its own way
    finally:
        conn.close()
    if found is None:
        return None
    doc, grid = found
    from hib_orchestrator.cli import views

    if call.as_json:
        views.emit_json(doc)
    else:
        from hib_orchestrator.cli.tables import print_grid

        print_grid(grid(doc))
    return 0


def _answer(call: Call, conn: sqlite3.Connection) -> tuple[Any, Any] | None:
    from hib_orchestrator.cli import views
    from hib_orchestrator.recording import sqlite_reads as reads

    if call.words == ("hosts",):
        from hib_orchestrator.recording.durations import parse_duration
        from hib_orchestrator.recording.shapes import DEFAULT_STALE_S

        stale = call.options.get("--stale")
        bound = parse_duration(stale) if stale is not None else DEFAULT_STALE_S
        hosts = reads.list_hosts(conn, stale_after_s=bound, only_stale=stale is not None)
        return hosts, lambda doc: views.hosts_table(doc, stale or "24h")
    limit = int(call.options["--limit"]) if "--limit" in call.options else None
    if call.words == ("runs",):
        return reads.list_runs(conn, 20 if limit is None else limit), views.runs_table
    if call.words == ("runs", "show"):
        return reads.show_run(conn, call.args[0]), views.run_table
    host = call.args[0]
    versions = reads.history(conn, host, limit)
    if not versions:
        return None  # the typer path falls back to the config store's git log, or says unknown
    return versions, lambda doc: views.history_table(host, doc)


__all__ = ["Call", "parse", "run"]
