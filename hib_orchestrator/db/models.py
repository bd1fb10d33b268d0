"""Tables of the run recorder: runs, plays, tasks, per-task and per-host results, config versions.

``host_results`` is the contract's view of a run (one row per run and host, aggregated over the
host's tasks); ``task_results`` keeps every task of any playbook (ARA-like) without args or
output. ``config_versions`` is the index ``hib history`` reads instead of walking git; it outlives
pruned runs (``run_id`` is set to NULL).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hib_orchestrator.db.base import Base, BigId, UTCDateTime, int_pk, utc_ts

RUN_STATUSES = ("running", "successful", "failed", "canceled", "interrupted", "error")
HOST_STATUSES = ("ok", "changed", "failed", "unreachable", "skipped")
HOST_KINDS = ("device", "provider")


class Run(Base):
    """One ``ansible-playbook`` (or ``hib run``) execution."""

    __tablename__ = "runs"

    id: Mapped[int_pk]
    status: Mapped[str] = mapped_column(String(16))
    playbook: Mapped[str | None] = mapped_column(String(1024))
    started_at: Mapped[utc_ts]
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Liveness of the writing process: a run left "running" by a dead pid on this machine, or
    # with a stale heartbeat from another machine, is marked "interrupted".
    pid: Mapped[int | None] = mapped_column(Integer)
    hostname: Mapped[str | None] = mapped_column(String(255))
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recording_error: Mapped[str | None] = mapped_column(Text)
    ansible_version: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        Index("ix_runs_status", "status"),
        Index("ix_runs_started_at", "started_at"),
    )


class Play(Base):
    """A play of a run."""

    __tablename__ = "plays"

    id: Mapped[int_pk]
    run_id: Mapped[int] = mapped_column(BigId, ForeignKey("runs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(1024))
    started_at: Mapped[utc_ts]

    __table_args__ = (Index("ix_plays_run_id", "run_id"),)


class Task(Base):
    """A task (or handler) of a play; never its arguments."""

    __tablename__ = "tasks"

    id: Mapped[int_pk]
    run_id: Mapped[int] = mapped_column(BigId, ForeignKey("runs.id", ondelete="CASCADE"))
    play_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("plays.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(1024))
    action: Mapped[str] = mapped_column(String(255))
    handler: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[utc_ts]

    __table_args__ = (Index("ix_tasks_run_id", "run_id"),)


class TaskResult(Base):
    """What one task did on one host: status and, for failures, the error (no_log: censored)."""

    __tablename__ = "task_results"

    id: Mapped[int_pk]
    run_id: Mapped[int] = mapped_column(BigId, ForeignKey("runs.id", ondelete="CASCADE"))
    task_id: Mapped[int] = mapped_column(BigId, ForeignKey("tasks.id", ondelete="CASCADE"))
    host: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    changed: Mapped[bool] = mapped_column(Boolean, default=False)
    ignored: Mapped[bool] = mapped_column(Boolean, default=False)
    error_code: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str | None] = mapped_column(Text)
    duration_s: Mapped[float | None] = mapped_column(Float)
    finished_at: Mapped[utc_ts]

    __table_args__ = (
        Index("ix_task_results_task_id", "task_id"),
        Index("ix_task_results_run_id_host", "run_id", "host"),
    )


class HostResult(Base):
    """The contract's per-host outcome of a run, aggregated over the host's tasks."""

    __tablename__ = "host_results"

    run_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    kind: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    changed: Mapped[bool] = mapped_column(Boolean, default=False)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    duration_s: Mapped[float | None] = mapped_column(Float)
    attempts: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    commit: Mapped[str | None] = mapped_column(String(64))
    objects: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    finished_at: Mapped[utc_ts]

    # `hib hosts` and `hib history` look hosts up newest run first.
    __table_args__ = (Index("ix_host_results_host_run_id", "host", "run_id"),)


class ConfigVersion(Base):
    """One committed version of a host's config in the git store (the index of ``hib history``)."""

    __tablename__ = "config_versions"

    id: Mapped[int_pk]
    host: Mapped[str] = mapped_column(String(255))
    commit: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("runs.id", ondelete="SET NULL")
    )
    committed_at: Mapped[utc_ts]
    sha256: Mapped[str | None] = mapped_column(String(64))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("host", "commit", name="uq_config_versions_host_commit"),
        Index("ix_config_versions_host_committed_at", "host", "committed_at"),
        Index("ix_config_versions_run_id", "run_id"),
    )


__all__ = [
    "HOST_KINDS",
    "HOST_STATUSES",
    "RUN_STATUSES",
    "ConfigVersion",
    "HostResult",
    "Play",
    "Run",
    "Task",
    "TaskResult",
]
