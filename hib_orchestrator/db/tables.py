"""Tables of the run recorder as SQLAlchemy Core: runs, plays, tasks, per-task and per-host
results, config versions and the per-host status.

``host_results`` is the contract's view of a run (one row per run and host, aggregated over the
host's tasks); ``task_results`` keeps every task of any playbook (ARA-like) without args or
output. ``config_versions`` is the index ``hib history`` reads instead of walking git; it outlives
pruned runs (``run_id`` is set to NULL). ``host_status`` is one row per host, kept by the
recorder with each write of ``host_results`` (see :mod:`hib_orchestrator.recording.host_status`),
so ``hib hosts`` reads one row per host instead of ranking every result.

Core, not ORM: the read commands import only this module (``sqlalchemy.orm`` costs each of them
~0.08 s of start-up). :mod:`.models` maps ORM classes onto these tables for the write side.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from hib_orchestrator.db.types import METADATA, BigId, UTCDateTime

#: ``push_pending``: successful, but the config commit is not on HIB_CONFIG_REMOTE yet (the next
#: run pushes it); a run with a failed host stays ``failed``.
RUN_STATUSES = ("running", "successful", "push_pending", "failed", "canceled", "interrupted",
                "error")
HOST_STATUSES = ("ok", "changed", "failed", "unreachable", "skipped")
HOST_KINDS = ("device", "provider")
#: Host statuses that count as a successful backup (``hib hosts``' last success).
SUCCESS_STATUSES = ("ok", "changed")


def _id() -> Column[int]:
    return Column("id", BigId, primary_key=True, autoincrement=True)


def _run_fk(
    ondelete: str = "CASCADE", *, nullable: bool = True, primary_key: bool = False
) -> Column[int]:
    return Column("run_id", BigId, ForeignKey("runs.id", ondelete=ondelete),
                  nullable=nullable and not primary_key, primary_key=primary_key)


runs = Table(
    "runs",
    METADATA,
    _id(),
    Column("status", String(16), nullable=False),
    Column("playbook", String(1024)),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime()),
    # Liveness of the writing process: a run left "running" by a dead pid on this machine, or
    # with a stale heartbeat from another machine, is marked "interrupted".
    Column("pid", Integer),
    Column("hostname", String(255)),
    Column("heartbeat_at", UTCDateTime()),
    Column("recording_error", Text),
    Column("ansible_version", String(32)),
    Index("ix_runs_status", "status"),
    Index("ix_runs_started_at", "started_at"),
)

plays = Table(
    "plays",
    METADATA,
    _id(),
    _run_fk(nullable=False),
    Column("name", String(1024), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Index("ix_plays_run_id", "run_id"),
)

tasks = Table(
    "tasks",
    METADATA,
    _id(),
    _run_fk(nullable=False),
    Column("play_id", BigId, ForeignKey("plays.id", ondelete="CASCADE")),
    Column("name", String(1024), nullable=False),
    Column("action", String(255), nullable=False),
    Column("handler", Boolean, nullable=False, default=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Index("ix_tasks_run_id", "run_id"),
)

task_results = Table(
    "task_results",
    METADATA,
    _id(),
    _run_fk(nullable=False),
    Column("task_id", BigId, ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False),
    Column("host", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("changed", Boolean, nullable=False, default=False),
    Column("ignored", Boolean, nullable=False, default=False),
    Column("error_code", String(64)),
    Column("message", Text),
    Column("duration_s", Float),
    Column("finished_at", UTCDateTime(), nullable=False),
    Index("ix_task_results_task_id", "task_id"),
    Index("ix_task_results_run_id_host", "run_id", "host"),
)

host_results = Table(
    "host_results",
    METADATA,
    _run_fk(primary_key=True),
    Column("host", String(255), primary_key=True),
    Column("kind", String(16)),
    Column("status", String(16), nullable=False),
    Column("changed", Boolean, nullable=False, default=False),
    Column("error_code", String(64)),
    Column("error_message", Text),
    Column("duration_s", Float),
    Column("attempts", Integer),
    Column("sha256", String(64)),
    Column("size_bytes", BigInteger),
    Column("commit", String(64)),
    Column("objects", JSON(none_as_null=True)),
    Column("finished_at", UTCDateTime(), nullable=False),
    # The host_status upkeep looks hosts up newest run first.
    Index("ix_host_results_host_run_id", "host", "run_id"),
    # `hib runs` counts each run's hosts per status from this index alone.
    Index("ix_host_results_run_id_status", "run_id", "status"),
)

config_versions = Table(
    "config_versions",
    METADATA,
    _id(),
    Column("host", String(255), nullable=False),
    Column("commit", String(64), nullable=False),
    _run_fk(ondelete="SET NULL"),
    Column("committed_at", UTCDateTime(), nullable=False),
    Column("sha256", String(64)),
    Column("size_bytes", BigInteger),
    UniqueConstraint("host", "commit", name="uq_config_versions_host_commit"),
    Index("ix_config_versions_host_committed_at", "host", "committed_at"),
    Index("ix_config_versions_run_id", "run_id"),
)

# One row per host: its newest host_results row (run, status, error, end) and the last success
# *before* that row. Keeping the earlier success apart lets the newest row change status
# (a later task fails, a failure is rescued) without losing or inventing a success.
# No foreign key to runs: `hib runs prune` rebuilds the rows of the hosts it touched.
host_status = Table(
    "host_status",
    METADATA,
    Column("host", String(255), primary_key=True),
    Column("kind", String(16)),
    Column("run_id", BigId, nullable=False),
    Column("status", String(16), nullable=False),
    Column("error_code", String(64)),
    Column("finished_at", UTCDateTime(), nullable=False),
    Column("earlier_success_at", UTCDateTime()),
)

__all__ = [
    "HOST_KINDS",
    "HOST_STATUSES",
    "RUN_STATUSES",
    "SUCCESS_STATUSES",
    "config_versions",
    "host_results",
    "host_status",
    "plays",
    "runs",
    "task_results",
    "tasks",
]
