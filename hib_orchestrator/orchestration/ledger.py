"""The run rows ``hib run`` owns: created before ansible-playbook starts, closed if it could not.

The recorder callback inside ansible-playbook attaches to the row (``HIB_RUN_ID``) and records
hosts and the final status. Whatever happens to that process, :func:`close_run` makes sure the
row never stays ``running``.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from hib_orchestrator.db.base import utcnow
from hib_orchestrator.db.idempotency import RunKey
from hib_orchestrator.db.models import Run
from hib_orchestrator.recording.liveness import this_host

# Statuses after which an idempotency key still names its run (no second backup).
KEEPS_KEY = ("running", "successful", "push_pending")


def create_run(engine: Engine, playbook: str) -> int:
    """A new ``running`` run owned by this process."""
    now = utcnow()
    with engine.begin() as conn:
        return int(
            conn.execute(
                insert(Run)
                .values(status="running", playbook=playbook, started_at=now, pid=os.getpid(),
                        hostname=this_host(), heartbeat_at=now)
                .returning(Run.id)
            ).scalar_one()
        )


def run_for_key(engine: Engine, key: str) -> tuple[int, str] | None:
    """The run (id, status) that ``key`` names, if that run still counts."""
    with engine.connect() as conn:
        row = conn.execute(
            select(Run.id, Run.status)
            .join(RunKey, RunKey.run_id == Run.id)
            .where(RunKey.key == key)
        ).first()
    if row is None or row.status not in KEEPS_KEY:
        return None
    return int(row.id), str(row.status)


def claim_key(engine: Engine, key: str, run_id: int) -> int:
    """Point ``key`` at ``run_id`` unless a run that still counts holds it; returns the holder."""
    with engine.begin() as conn:
        current = conn.execute(
            select(RunKey.run_id, Run.status).join(Run, Run.id == RunKey.run_id)
            .where(RunKey.key == key)
        ).first()
        if current is not None and current.status in KEEPS_KEY and current.run_id != run_id:
            return int(current.run_id)
        if current is None:
            try:
                with conn.begin_nested():
                    conn.execute(insert(RunKey).values(key=key, run_id=run_id,
                                                       created_at=utcnow()))
            except IntegrityError:  # another hib claimed it between our read and insert
                holder = conn.execute(select(RunKey.run_id).where(RunKey.key == key)).scalar_one()
                return int(holder)
        else:
            conn.execute(update(RunKey).where(RunKey.key == key).values(run_id=run_id))
    return run_id


def run_status(engine: Engine, run_id: int) -> str:
    with engine.connect() as conn:
        return str(conn.execute(select(Run.status).where(Run.id == run_id)).scalar_one())


def close_run(engine: Engine, run_id: int, status: str, *, only_if: tuple[str, ...] = ()) -> None:
    """Set the final status (only when the current one is in ``only_if``, if given)."""
    stmt = update(Run).where(Run.id == run_id).values(status=status, finished_at=utcnow())
    if only_if:
        stmt = stmt.where(Run.status.in_(only_if))
    with engine.begin() as conn:
        conn.execute(stmt)


def final_status(recorded: str, outcome: Any, selected: int) -> str | None:
    """The status ``hib run`` must set after ansible-runner returned, or None to keep it.

    Args:
        recorded: The status in the database now.
        outcome: The :class:`~hib_orchestrator.orchestration.runner.RunnerOutcome`.
        selected: How many hosts the run selected.
    """
    if outcome.hard_canceled:
        return "interrupted"
    if outcome.soft_canceled and recorded in ("running", "successful", "push_pending", "failed"):
        return "canceled"
    if recorded != "running":
        return None
    if outcome.status == "successful":
        return "successful"
    if outcome.status == "failed" and outcome.stats:
        return "failed"
    return "error" if selected else "successful"
