"""The read side: runs, one run, hosts, history and retention, as plain JSON-ready dicts.

Each listing is a fixed number of statements whatever the size of the database (aggregates and
window functions in SQL, never a query per run or per host).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, case, delete, func, select
from sqlalchemy.sql.elements import ColumnElement

from hib_orchestrator.db.base import utcnow
from hib_orchestrator.db.models import ConfigVersion, HostResult, Run
from hib_orchestrator.errors import ConfigError

DEFAULT_STALE_S = 24 * 3600.0
SUCCESS = ("ok", "changed")


def iso(value: datetime | None) -> str | None:
    """ISO 8601 UTC with a ``Z`` (``None`` stays ``None``)."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _count(status: str) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((HostResult.status == status, 1), else_=0)), 0)


def list_runs(conn: Connection, limit: int | None = 20) -> list[dict[str, Any]]:
    """Runs newest first with per-status host counts (one statement)."""
    recent = select(Run).order_by(Run.id.desc())
    if limit is not None:
        recent = recent.limit(limit)
    runs = recent.subquery("recent")
    counts = (
        select(
            HostResult.run_id.label("run_id"),
            func.count().label("hosts_total"),
            *(_count(s).label(s) for s in ("ok", "changed", "failed", "unreachable", "skipped")),
        )
        .where(HostResult.run_id.in_(select(runs.c.id)))
        .group_by(HostResult.run_id)
        .subquery("counts")
    )
    stmt = (
        select(runs, counts)
        .select_from(runs.outerjoin(counts, counts.c.run_id == runs.c.id))
        .order_by(runs.c.id.desc())
    )
    out = []
    for row in conn.execute(stmt).mappings():
        out.append(
            {
                "id": row["id"],
                "status": row["status"],
                "started_at": iso(row["started_at"]),
                "finished_at": iso(row["finished_at"]),
                "playbook": row["playbook"],
                "hosts_total": row["hosts_total"] or 0,
                **{s: row[s] or 0 for s in ("ok", "changed", "failed", "unreachable", "skipped")},
                "recording_error": row["recording_error"],
            }
        )
    return out


def resolve_run(conn: Connection, ref: str) -> int:
    """The id of ``ref`` (a run id or ``latest``).

    Raises:
        ConfigError: no such run.
    """
    if ref == "latest":
        run_id = conn.execute(select(func.max(Run.id))).scalar()
        if run_id is None:
            raise ConfigError("no runs recorded yet")
        return int(run_id)
    if not ref.isdigit():
        raise ConfigError(f"not a run id: {ref!r} (use a number or 'latest')")
    if conn.execute(select(Run.id).where(Run.id == int(ref))).scalar() is None:
        raise ConfigError(f"no run {ref}")
    return int(ref)


def host_row(row: HostResult | Any) -> dict[str, Any]:
    """The contract's per-host fields of a ``host_results`` row."""
    return {
        "host": row.host,
        "kind": row.kind,
        "status": row.status,
        "changed": bool(row.changed),
        "error_code": row.error_code,
        "error_message": row.error_message,
        "duration_s": row.duration_s,
        "attempts": row.attempts,
        "sha256": row.sha256,
        "size_bytes": row.size_bytes,
        "commit": row.commit,
        "objects": row.objects,
    }


def show_run(conn: Connection, ref: str) -> dict[str, Any]:
    """One run with a row per host (two statements).

    Raises:
        ConfigError: no such run.
    """
    run_id = resolve_run(conn, ref)
    run = conn.execute(select(Run).where(Run.id == run_id)).one()
    hosts = conn.execute(
        select(HostResult).where(HostResult.run_id == run_id).order_by(HostResult.host)
    ).all()
    return {
        "id": run.id,
        "status": run.status,
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "playbook": run.playbook,
        "recording_error": run.recording_error,
        "hosts": [host_row(h) for h in hosts],
    }


def list_hosts(
    conn: Connection, *, stale_after_s: float = DEFAULT_STALE_S, only_stale: bool = False
) -> list[dict[str, Any]]:
    """Every recorded host: its last status, last success and whether that is too old.

    One statement: the newest row per host by window function, joined to the last success.
    """
    ranked = select(
        HostResult.host,
        HostResult.status,
        func.row_number()
        .over(partition_by=HostResult.host, order_by=HostResult.run_id.desc())
        .label("rn"),
    ).subquery("ranked")
    summary = (
        select(
            HostResult.host.label("host"),
            func.max(HostResult.kind).label("kind"),
            func.max(case((HostResult.status.in_(SUCCESS), HostResult.finished_at))).label(
                "last_success_at"
            ),
        )
        .group_by(HostResult.host)
        .subquery("summary")
    )
    stmt = (
        select(ranked.c.host, ranked.c.status, summary.c.kind, summary.c.last_success_at)
        .select_from(ranked.join(summary, summary.c.host == ranked.c.host))
        .where(ranked.c.rn == 1)
        .order_by(ranked.c.host)
    )
    now = utcnow()
    out = []
    for row in conn.execute(stmt):
        last = _as_utc(row.last_success_at)
        age = round((now - last).total_seconds(), 1) if last is not None else None
        stale = age is None or age > stale_after_s
        if only_stale and not stale:
            continue
        out.append(
            {
                "host": row.host,
                "kind": row.kind,
                "last_status": row.status,
                "last_success_at": iso(last),
                "age_s": age,
                "stale": stale,
            }
        )
    return out


def _as_utc(value: datetime | str | None) -> datetime | None:
    # Aggregates (MAX) bypass the column type on SQLite and come back as text.
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def known_host(conn: Connection, host: str) -> bool:
    """True when the database has any result or config version for ``host``."""
    hit = conn.execute(select(HostResult.host).where(HostResult.host == host).limit(1)).first()
    if hit is None:
        hit = conn.execute(
            select(ConfigVersion.host).where(ConfigVersion.host == host).limit(1)
        ).first()
    return hit is not None


def history(conn: Connection, host: str, limit: int | None = None) -> list[dict[str, Any]]:
    """Committed config versions of ``host``, newest first (the DB index, no git walk)."""
    stmt = (
        select(ConfigVersion)
        .where(ConfigVersion.host == host)
        .order_by(ConfigVersion.committed_at.desc(), ConfigVersion.id.desc())
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return [
        {
            "commit": v.commit,
            "run_id": v.run_id,
            "committed_at": iso(v.committed_at),
            "sha256": v.sha256,
            "size_bytes": v.size_bytes,
        }
        for v in conn.execute(stmt)
    ]


def prune_runs(
    conn: Connection, *, older_than_s: float | None = None, keep_last: int | None = None
) -> int:
    """Delete finished runs older than ``older_than_s`` except the newest ``keep_last``.

    Either bound alone works; both together remove only runs that are old *and* not among
    the newest. Running runs are never removed. Returns how many runs were deleted.

    Raises:
        ConfigError: neither bound given, or a negative one.
    """
    if older_than_s is None and keep_last is None:
        raise ConfigError("runs prune needs --older-than and/or --keep-last")
    if (keep_last is not None and keep_last < 0) or (older_than_s is not None and older_than_s < 0):
        raise ConfigError("runs prune bounds must not be negative")
    conditions: list[ColumnElement[bool]] = [Run.status != "running"]
    if older_than_s is not None:
        conditions.append(Run.started_at < utcnow() - timedelta(seconds=older_than_s))
    if keep_last is not None:
        newest = select(Run.id).order_by(Run.id.desc()).limit(keep_last)
        kept = [r for (r,) in conn.execute(newest)]
        if kept:
            conditions.append(Run.id.not_in(kept))
    result = conn.execute(delete(Run).where(and_(*conditions)))
    return int(result.rowcount or 0)


__all__ = [
    "DEFAULT_STALE_S",
    "history",
    "host_row",
    "iso",
    "known_host",
    "list_hosts",
    "list_runs",
    "prune_runs",
    "resolve_run",
    "show_run",
]
