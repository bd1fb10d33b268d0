"""ORM classes of the run recorder, mapped onto the Core tables of :mod:`.tables`.

The write side and tests use these; the read commands use the tables directly (no ORM import).
The ``Mapped[...]`` annotations type the attributes; the columns come from ``__table__``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Mapped

from hib_orchestrator.db import tables
from hib_orchestrator.db.base import Base
from hib_orchestrator.db.tables import HOST_KINDS, HOST_STATUSES, RUN_STATUSES


class Run(Base):
    """One ``ansible-playbook`` (or ``hib run``) execution."""

    __table__ = tables.runs

    id: Mapped[int]
    status: Mapped[str]
    playbook: Mapped[str | None]
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    pid: Mapped[int | None]
    hostname: Mapped[str | None]
    heartbeat_at: Mapped[datetime | None]
    recording_error: Mapped[str | None]
    ansible_version: Mapped[str | None]


class Play(Base):
    """A play of a run."""

    __table__ = tables.plays

    id: Mapped[int]
    run_id: Mapped[int]
    name: Mapped[str]
    started_at: Mapped[datetime]


class Task(Base):
    """A task (or handler) of a play; never its arguments."""

    __table__ = tables.tasks

    id: Mapped[int]
    run_id: Mapped[int]
    play_id: Mapped[int | None]
    name: Mapped[str]
    action: Mapped[str]
    handler: Mapped[bool]
    started_at: Mapped[datetime]


class TaskResult(Base):
    """What one task did on one host: status and, for failures, the error (no_log: censored)."""

    __table__ = tables.task_results

    id: Mapped[int]
    run_id: Mapped[int]
    task_id: Mapped[int]
    host: Mapped[str]
    status: Mapped[str]
    changed: Mapped[bool]
    ignored: Mapped[bool]
    error_code: Mapped[str | None]
    message: Mapped[str | None]
    duration_s: Mapped[float | None]
    finished_at: Mapped[datetime]


class HostResult(Base):
    """The contract's per-host outcome of a run, aggregated over the host's tasks."""

    __table__ = tables.host_results

    run_id: Mapped[int]
    host: Mapped[str]
    kind: Mapped[str | None]
    status: Mapped[str]
    changed: Mapped[bool]
    error_code: Mapped[str | None]
    error_message: Mapped[str | None]
    duration_s: Mapped[float | None]
    attempts: Mapped[int | None]
    sha256: Mapped[str | None]
    size_bytes: Mapped[int | None]
    commit: Mapped[str | None]
    objects: Mapped[dict[str, Any] | None]
    finished_at: Mapped[datetime]


class ConfigVersion(Base):
    """One committed version of a host's config in the git store (the index of ``hib history``)."""

    __table__ = tables.config_versions

    id: Mapped[int]
    host: Mapped[str]
    commit: Mapped[str]
    run_id: Mapped[int | None]
    committed_at: Mapped[datetime]
    sha256: Mapped[str | None]
    size_bytes: Mapped[int | None]


class HostStatus(Base):
    """One host's newest outcome and its last success before that (``hib hosts``)."""

    __table__ = tables.host_status

    host: Mapped[str]
    kind: Mapped[str | None]
    run_id: Mapped[int]
    status: Mapped[str]
    error_code: Mapped[str | None]
    finished_at: Mapped[datetime]
    earlier_success_at: Mapped[datetime | None]


__all__ = [
    "HOST_KINDS",
    "HOST_STATUSES",
    "RUN_STATUSES",
    "ConfigVersion",
    "HostResult",
    "HostStatus",
    "Play",
    "Run",
    "Task",
    "TaskResult",
]
