"""Image backups of a run still in flight, read from their snapshot rows.

The transfer engine writes running counts into ``image_snapshots`` with each flush, so any
process (``hib run``'s live view) can follow a long image backup without a side channel.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from hib_orchestrator.images.models import ImageSnapshot


@dataclass(frozen=True, slots=True)
class Transfer:
    provider: str
    objects_done: int
    objects_total: int
    bytes_done: int


def running_transfers(engine: Engine, run_id: int) -> list[Transfer]:
    """Snapshots of ``run_id`` still running (empty when the database is busy or absent)."""
    s = ImageSnapshot
    query = select(s.provider, s.objects_total, s.new, s.changed, s.unchanged, s.failed,
                   s.bytes).where(s.run_id == run_id, s.status == "running")
    try:
        with engine.connect() as conn:
            rows = conn.execute(query).all()
    except SQLAlchemyError:
        return []  # progress is a nicety; a busy database must not break the view
    return [Transfer(r.provider, r.new + r.changed + r.unchanged + r.failed, r.objects_total,
                     r.bytes) for r in rows]
