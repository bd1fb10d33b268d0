"""Keeps ``host_status`` (one row per host) equal to what ``host_results`` says about each host.

The invariant, for every host with at least one ``host_results`` row:

* ``run_id``, ``status``, ``error_code``, ``finished_at``: the host's row of its newest run;
* ``earlier_success_at``: the newest ``finished_at`` among its ok/changed rows of older runs;
* ``kind``: the newest non-null kind.

The recorder's writer calls :func:`upsert` in the transaction that writes the run's host rows,
so a run killed at any point leaves the two tables agreeing. One ``INSERT .. ON CONFLICT DO
UPDATE`` per batch; the row lock of the conflict makes concurrent runs safe on PostgreSQL.
Per host row written, in SQL:

* newer run than the stored one: the stored newest row becomes an earlier row (its success, if
  any, moves into ``earlier_success_at``);
* same run (the row is rewritten as later tasks end): only the newest-row fields change;
* older run (two runs overlapping on a host): the newest row stays; the earlier success is
  recomputed from ``host_results`` (index ``(host, run_id)``), which already holds the row.

:func:`rebuild` recomputes every row from ``host_results`` (``hib runs prune`` after deleting
runs; the migration that created the table does the same backfill).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, and_, case, delete, func, literal_column, or_, select
from sqlalchemy.sql.elements import ColumnElement

from hib_orchestrator.db.tables import SUCCESS_STATUSES, host_results, host_status

_FIELDS = ("host", "kind", "run_id", "status", "error_code", "finished_at")


def _later(a: ColumnElement[Any], b: ColumnElement[Any]) -> ColumnElement[Any]:
    # GREATEST() ignores NULLs on PostgreSQL but SQLite's max(a, b) returns NULL: spell it out.
    return case((a.is_(None), b), (b.is_(None), a), (a > b, a), else_=b)


def _succeeded(status: ColumnElement[str]) -> ColumnElement[bool]:
    # Not IN (...): an expanding IN cannot go into an executemany (the batch upsert).
    return or_(*(status == s for s in SUCCESS_STATUSES))


def _earlier_success(host: ColumnElement[str], before_run: ColumnElement[int]) -> Any:
    older = host_results.alias("older")
    return (
        select(func.max(older.c.finished_at))
        .where(older.c.host == host, older.c.run_id < before_run,
               _succeeded(older.c.status))
        .scalar_subquery()
    )


def _newest_kind(host: ColumnElement[str]) -> Any:
    older = host_results.alias("kinds")
    return (
        select(older.c.kind)
        .where(older.c.host == host, older.c.kind.is_not(None))
        .order_by(older.c.run_id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _insert(conn: Connection) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(host_status)
    if conn.dialect.name == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(host_status)
    raise NotImplementedError(f"host_status upsert on {conn.dialect.name}")  # pragma: no cover


def upsert(conn: Connection, rows: Iterable[Mapping[str, Any]]) -> None:
    """Fold ``host_results`` rows just written (the caller's transaction) into ``host_status``.

    ``rows`` must name each host at most once (one statement cannot update a row twice).
    """
    values = [{k: r[k] for k in _FIELDS} | {"earlier_success_at": None} for r in rows]
    if not values:
        return
    ins = _insert(conn)
    new, cur = ins.excluded, host_status.c
    newer = new.run_id > cur.run_id
    same = new.run_id == cur.run_id
    newest = new.run_id >= cur.run_id
    stored_success = case((_succeeded(cur.status), cur.finished_at))
    stmt = ins.on_conflict_do_update(
        index_elements=[cur.host],
        set_={
            **{name: case((newest, new[name]), else_=cur[name])
               for name in ("run_id", "status", "error_code", "finished_at")},
            "kind": case((newest, func.coalesce(new.kind, cur.kind)),
                         else_=func.coalesce(cur.kind, new.kind)),
            "earlier_success_at": case(
                (same, cur.earlier_success_at),
                (newer, _later(cur.earlier_success_at, stored_success)),
                # Spelled as text: SQLAlchemy correlates subqueries only into an enclosing
                # SELECT, and would add both tables to this subquery's FROM instead.
                else_=_earlier_success(literal_column("excluded.host"),
                                       literal_column("host_status.run_id")),
            ),
        },
    )
    conn.execute(stmt, values)


def rebuild(conn: Connection) -> None:
    """Recompute every row from ``host_results`` (the caller commits)."""
    hr = host_results
    newest = (
        select(hr.c.host, func.max(hr.c.run_id).label("run_id")).group_by(hr.c.host)
        .subquery("newest")
    )
    rows = select(
        hr.c.host, _newest_kind(hr.c.host), hr.c.run_id, hr.c.status, hr.c.error_code,
        hr.c.finished_at, _earlier_success(hr.c.host, hr.c.run_id),
    ).select_from(
        hr.join(newest, and_(newest.c.host == hr.c.host, newest.c.run_id == hr.c.run_id))
    )
    conn.execute(delete(host_status))
    conn.execute(host_status.insert().from_select([*_FIELDS, "earlier_success_at"], rows))


def last_success() -> ColumnElement[Any]:
    """SQL for a host's last success from its ``host_status`` row (NULL: never)."""
    c = host_status.c
    return case(
        (and_(_succeeded(c.status),
              or_(c.earlier_success_at.is_(None), c.finished_at > c.earlier_success_at)),
         c.finished_at),
        else_=c.earlier_success_at,
    )


__all__ = ["last_success", "rebuild", "upsert"]
