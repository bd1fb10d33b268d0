"""One write of the recorder: the rows gathered since the last commit, and the SQL that stores
them in a single transaction (executemany inserts, host rows bulk-updated by primary key, the
hosts' ``host_status`` rows upserted)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.orm import Session

from hib_orchestrator.db.models import ConfigVersion, HostResult, Play, Task, TaskResult
from hib_orchestrator.recording import host_status


@dataclass(slots=True)
class PendingTask:
    """A task seen by the callback, not yet in the database."""

    uuid: str
    play_key: int | None
    name: str
    action: str
    handler: bool
    started_at: datetime


@dataclass(slots=True)
class Batch:
    """What one write carries; put back in front of the queue if the write fails."""

    plays: list[tuple[int, str, datetime]]
    tasks: list[PendingTask]
    results: list[dict[str, Any]]
    hosts: dict[str, dict[str, Any]]
    versions: list[dict[str, Any]]

    @classmethod
    def empty_batch(cls) -> Batch:
        """A batch with nothing in it."""
        return cls([], [], [], {}, [])

    def empty(self) -> bool:
        """True when there is nothing to write."""
        return not (self.plays or self.tasks or self.results or self.hosts or self.versions)


def write_batch(
    conn: Connection,
    run_id: int,
    batch: Batch,
    play_ids: dict[int, int],
    task_ids: dict[str, int],
    persisted_hosts: set[str],
) -> tuple[dict[int, int], dict[str, int]]:
    """Store ``batch`` (the caller commits); returns the ids of the new plays and tasks.

    ``play_ids``/``task_ids`` map earlier plays and tasks to their rows; ``persisted_hosts``
    are hosts that already have a ``host_results`` row in this run (updated, not inserted).
    """
    new_plays: dict[int, int] = {}
    for key, name, at in batch.plays:
        new_plays[key] = conn.execute(
            insert(Play).values(run_id=run_id, name=name, started_at=at).returning(Play.id)
        ).scalar_one()
    known_plays = {**play_ids, **new_plays}
    new_tasks: dict[str, int] = {}
    for task in batch.tasks:
        new_tasks[task.uuid] = conn.execute(
            insert(Task)
            .values(
                run_id=run_id,
                play_id=known_plays.get(task.play_key) if task.play_key else None,
                name=task.name,
                action=task.action,
                handler=task.handler,
                started_at=task.started_at,
            )
            .returning(Task.id)
        ).scalar_one()
    known_tasks = {**task_ids, **new_tasks}
    if batch.results:
        rows = [
            {k: v for k, v in r.items() if k != "uuid"}
            | {"run_id": run_id, "task_id": known_tasks[r["uuid"]]}
            for r in batch.results
        ]
        conn.execute(insert(TaskResult), rows)
    _write_hosts(conn, run_id, batch.hosts, persisted_hosts)
    if batch.versions:
        _write_versions(conn, batch.versions)
    return new_plays, new_tasks


def _write_hosts(
    conn: Connection, run_id: int, hosts: dict[str, dict[str, Any]], persisted: set[str]
) -> None:
    rows = [dict(row, run_id=run_id) for row in hosts.values()]
    new = [r for r in rows if r["host"] not in persisted]
    old = [r for r in rows if r["host"] in persisted]
    if new:
        conn.execute(insert(HostResult), new)
    if old:
        # ORM bulk UPDATE by primary key (run_id, host): one executemany.
        with Session(bind=conn) as session:
            session.execute(update(HostResult), old)
    # Same transaction: host_status never disagrees with host_results, whenever the run dies.
    host_status.upsert(conn, rows)


def _write_versions(conn: Connection, versions: list[dict[str, Any]]) -> None:
    existing = {
        (h, c)
        for h, c in conn.execute(
            select(ConfigVersion.host, ConfigVersion.commit).where(
                ConfigVersion.commit.in_({v["commit"] for v in versions})
            )
        )
    }
    fresh = [v for v in versions if (v["host"], v["commit"]) not in existing]
    if fresh:
        conn.execute(insert(ConfigVersion), fresh)


__all__ = ["Batch", "PendingTask", "write_batch"]
