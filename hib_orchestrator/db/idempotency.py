"""Idempotency keys of ``hib run``: a key names at most one run that counts.

A second ``hib run --idempotency-key K`` while K's run is running, or after it succeeded,
returns that run instead of backing up again. After a failed, canceled or interrupted run the
key moves to the new run.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from hib_orchestrator.db.base import Base, BigId, UTCDateTime


class RunKey(Base):
    """One idempotency key and the run it currently names."""

    __tablename__ = "run_keys"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    run_id: Mapped[int] = mapped_column(BigId, ForeignKey("runs.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
