"""Finds runs left ``running`` by a process that died (kill -9, power loss) and closes them.

A run row carries the writer's pid, hostname and a heartbeat the recorder refreshes every
``HEARTBEAT_INTERVAL_S``. On this machine a dead (or zombie) pid is proof; for a run written
from another machine only a heartbeat older than ``STALE_AFTER_S`` is. Age alone never is: a
long run that keeps its heartbeat stays ``running``.
"""

from __future__ import annotations

import socket
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select, update

from hib_orchestrator.db.tables import runs
from hib_orchestrator.db.types import utcnow
from hib_orchestrator.procs import pid_alive

HEARTBEAT_INTERVAL_S = 30.0
STALE_AFTER_S = 300.0


def this_host() -> str:
    """The name runs are stamped with (compared on liveness checks)."""
    return socket.gethostname()




def _is_dead(
    pid: int | None,
    hostname: str | None,
    last_sign: datetime | None,
    now: datetime,
    me: str,
    stale_after_s: float,
) -> bool:
    stale = last_sign is None or now - last_sign > timedelta(seconds=stale_after_s)
    if hostname == me and pid is not None:
        return not pid_alive(pid) or stale
    return stale


def reap_interrupted(conn: Connection, *, stale_after_s: float = STALE_AFTER_S) -> list[int]:
    """Mark dead ``running`` runs ``interrupted``; returns their ids. The caller commits."""
    now = utcnow()
    me = this_host()
    rows = conn.execute(
        select(runs.c.id, runs.c.pid, runs.c.hostname, runs.c.heartbeat_at, runs.c.started_at)
        .where(runs.c.status == "running")
    ).all()
    dead = [
        row.id
        for row in rows
        if _is_dead(row.pid, row.hostname, row.heartbeat_at or row.started_at, now, me,
                    stale_after_s)
    ]
    if dead:
        conn.execute(
            update(runs)
            .where(runs.c.id.in_(dead), runs.c.status == "running")
            .values(
                status="interrupted",
                finished_at=func.coalesce(runs.c.heartbeat_at, runs.c.started_at),
            )
        )
    return dead


__all__ = ["HEARTBEAT_INTERVAL_S", "STALE_AFTER_S", "pid_alive", "reap_interrupted", "this_host"]
