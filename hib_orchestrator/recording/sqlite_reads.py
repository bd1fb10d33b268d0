"""The read commands' light path on SQLite: the standard library's ``sqlite3``, no SQLAlchemy.

``hib hosts``, ``hib runs``, ``hib runs show`` and ``hib history`` spend most of their time
importing SQLAlchemy (~0.2 s) before they read anything. On SQLite this module answers them
with the same SQL the Core queries of :mod:`.queries` produce and the same row shaping
(:mod:`.shapes`), so the output is identical::

    conn = open_reader(load_settings())      # None: use open_engine() and .queries instead
    if conn is not None:
        list_hosts(conn, stale_after_s=86400.0)

:func:`open_reader` keeps :func:`~hib_orchestrator.recording.database.open_engine`'s
guarantees or declines: it returns ``None`` (and the caller takes the SQLAlchemy path, which
migrates and closes dead runs) when the URL is not a plain SQLite file, the file does not
exist, the schema is not at the packaged head, or a ``running`` run is not provably alive
(its pid on this machine, a recent heartbeat).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from datetime import UTC, datetime
from typing import Any

from hib_orchestrator.db.revisions import packaged_heads
from hib_orchestrator.errors import ConfigError
from hib_orchestrator.procs import pid_alive
from hib_orchestrator.recording import shapes
from hib_orchestrator.recording.shapes import COUNTED, DEFAULT_STALE_S, HOST_FIELDS
from hib_orchestrator.settings import Settings

#: A running run whose heartbeat is younger than this (and whose pid on this machine is alive)
#: needs no reaping. Well under the liveness check's STALE_AFTER_S, so this path never calls a
#: run alive that :func:`~hib_orchestrator.recording.liveness.reap_interrupted` would close.
FRESH_HEARTBEAT_S = 60.0
#: Wait this long for a writer's lock, as the SQLAlchemy engine does (DEFAULT_BUSY_TIMEOUT_MS).
BUSY_TIMEOUT_S = 10.0

_PREFIX = "sqlite:///"


def sqlite_path(db_url: str) -> str | None:
    """The file of a plain ``sqlite:///PATH`` URL; ``None`` for anything else (another backend,
    a driver suffix, query parameters, percent-escapes, an in-memory database)."""
    if not db_url.startswith(_PREFIX):
        return None
    path = db_url[len(_PREFIX):]
    if not path or path == ":memory:" or any(c in path for c in "?%#"):
        return None
    return path


def open_reader(settings: Settings) -> sqlite3.Connection | None:
    """A read connection to the configured SQLite database, or ``None`` when this path cannot
    vouch for it (see the module docstring); the caller closes it."""
    path = sqlite_path(settings.db_url)
    if path is None or not os.path.isfile(path):
        return None
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)
    try:
        if _current_revisions(conn) != packaged_heads() or not _runs_are_alive(conn):
            conn.close()
            return None
    except sqlite3.Error:
        conn.close()
        return None
    return conn


def _current_revisions(conn: sqlite3.Connection) -> frozenset[str]:
    try:
        return frozenset(r for (r,) in conn.execute("SELECT version_num FROM alembic_version"))
    except sqlite3.OperationalError:  # no alembic_version table: a database never migrated
        return frozenset()


def _runs_are_alive(conn: sqlite3.Connection) -> bool:
    running = conn.execute(
        "SELECT pid, hostname, heartbeat_at, started_at FROM runs WHERE status = 'running'"
    ).fetchall()
    if not running:
        return True
    me = socket.gethostname()
    now = datetime.now(UTC).replace(tzinfo=None)
    for pid, hostname, heartbeat_at, started_at in running:
        sign = heartbeat_at or started_at
        if hostname != me or pid is None or sign is None or not pid_alive(pid):
            return False
        if (now - datetime.fromisoformat(sign)).total_seconds() > FRESH_HEARTBEAT_S:
            return False
    return True


def _mapping(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip((d[0] for d in cursor.description), row, strict=True))


_RUN_COLUMNS = "id, status, playbook, started_at, finished_at, recording_error"


def list_runs(conn: sqlite3.Connection, limit: int | None = 20) -> list[dict[str, Any]]:
    """:func:`.queries.list_runs` on ``sqlite3``."""
    sql = f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY id DESC"
    params: tuple[Any, ...] = ()
    if limit is not None:
        sql += " LIMIT ?"
        params = (limit,)
    cur = conn.execute(sql, params)
    found = [_mapping(cur, row) for row in cur]
    counts: dict[int, dict[str, int]] = {r["id"]: dict.fromkeys(COUNTED, 0) for r in found}
    if found:
        marks = ", ".join("?" * len(counts))
        by_status = conn.execute(
            "SELECT run_id, status, count(*) FROM host_results "
            f"WHERE run_id IN ({marks}) GROUP BY run_id, status",
            list(counts),
        )
        for run_id, status, n in by_status:
            counts[run_id][status] = counts[run_id].get(status, 0) + n
    return shapes.run_summaries(found, counts)


def resolve_run(conn: sqlite3.Connection, ref: str) -> int:
    """:func:`.queries.resolve_run` on ``sqlite3``.

    Raises:
        ConfigError: no such run.
    """
    if ref == "latest":
        run_id = conn.execute("SELECT max(id) FROM runs").fetchone()[0]
        if run_id is None:
            raise ConfigError("no runs recorded yet")
        return int(run_id)
    if not ref.isdigit():
        raise ConfigError(f"not a run id: {ref!r} (use a number or 'latest')")
    if conn.execute("SELECT id FROM runs WHERE id = ?", (int(ref),)).fetchone() is None:
        raise ConfigError(f"no run {ref}")
    return int(ref)


_HOST_COLUMNS = ", ".join(f'"{name}"' for name in HOST_FIELDS)
_CHANGED = HOST_FIELDS.index("changed")
_OBJECTS = HOST_FIELDS.index("objects")


def show_run(conn: sqlite3.Connection, ref: str) -> dict[str, Any]:
    """:func:`.queries.show_run` on ``sqlite3``.

    Raises:
        ConfigError: no such run.
    """
    run_id = resolve_run(conn, ref)
    cur = conn.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,))
    run = _mapping(cur, cur.fetchone())
    hosts = []
    rows = conn.execute(
        f"SELECT {_HOST_COLUMNS} FROM host_results WHERE run_id = ? ORDER BY host", (run_id,)
    )
    for row in rows:
        # What SQLAlchemy's Boolean and JSON column types do on the way out.
        host = dict(zip(HOST_FIELDS, row, strict=True))
        host["changed"] = bool(row[_CHANGED]) if row[_CHANGED] is not None else None
        if row[_OBJECTS] is not None:
            host["objects"] = json.loads(row[_OBJECTS])
        hosts.append(host)
    return shapes.run_document(run, hosts)


# The CASE of hib_orchestrator.recording.host_status.last_success() (SUCCESS_STATUSES: ok, changed).
_HOSTS_SQL = (
    "SELECT host, kind, status, CASE WHEN ((status = 'ok' OR status = 'changed') AND "
    "(earlier_success_at IS NULL OR finished_at > earlier_success_at)) THEN finished_at "
    "ELSE earlier_success_at END FROM host_status ORDER BY host"
)


def list_hosts(
    conn: sqlite3.Connection, *, stale_after_s: float = DEFAULT_STALE_S, only_stale: bool = False
) -> list[dict[str, Any]]:
    """:func:`.queries.list_hosts` on ``sqlite3``."""
    return shapes.host_statuses(conn.execute(_HOSTS_SQL), stale_after_s=stale_after_s,
                                only_stale=only_stale)


def known_host(conn: sqlite3.Connection, host: str) -> bool:
    """:func:`.queries.known_host` on ``sqlite3``."""
    hit = conn.execute("SELECT host FROM host_status WHERE host = ?", (host,)).fetchone()
    if hit is None:
        hit = conn.execute(
            "SELECT host FROM config_versions WHERE host = ? LIMIT 1", (host,)
        ).fetchone()
    return hit is not None


def history(conn: sqlite3.Connection, host: str, limit: int | None = None) -> list[dict[str, Any]]:
    """:func:`.queries.history` on ``sqlite3``."""
    sql = ('SELECT "commit", run_id, committed_at, sha256, size_bytes FROM config_versions '
           "WHERE host = ? ORDER BY committed_at DESC, id DESC")
    params: tuple[Any, ...] = (host,)
    if limit is not None:
        sql += " LIMIT ?"
        params = (host, limit)
    cur = conn.execute(sql, params)
    return shapes.versions(_mapping(cur, row) for row in cur)


__all__ = [
    "BUSY_TIMEOUT_S",
    "FRESH_HEARTBEAT_S",
    "history",
    "known_host",
    "list_hosts",
    "list_runs",
    "open_reader",
    "resolve_run",
    "show_run",
    "sqlite_path",
]
