"""Image snapshots, manifest entries and blobs in the run database.

A manifest entry is one *version* of one provider key: it is valid for every snapshot of its
provider from ``first_seen_snapshot`` to ``last_seen_snapshot`` (snapshot ids grow per
provider). A run where nothing changed therefore writes no entry rows, it only moves
``last_seen_snapshot`` forward. A key that vanished upstream keeps its last version, flagged
``deleted_upstream`` (a tombstone); its blob stays until retention prunes every snapshot that
saw it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hib_orchestrator.db.base import Base, BigId, UTCDateTime, int_pk, utc_ts

SNAPSHOT_STATUSES = ("running", "ok", "partial", "failed", "interrupted")


class ImageSnapshot(Base):
    """One backup of one provider (inventory host) in one run."""

    __tablename__ = "image_snapshots"

    id: Mapped[int_pk]
    run_id: Mapped[int | None] = mapped_column(BigId, index=True)
    provider: Mapped[str] = mapped_column(String(255), index=True)
    provider_type: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[utc_ts]
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="running")
    listing_complete: Mapped[bool] = mapped_column(Boolean, default=False)
    objects_total: Mapped[int] = mapped_column(Integer, default=0)
    new: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    deleted_upstream: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    error_code: Mapped[str | None] = mapped_column(String(32))
    error_message: Mapped[str | None] = mapped_column(String(500))


class ImageEntry(Base):
    """One version of one provider key, valid over a range of that provider's snapshots."""

    __tablename__ = "image_entries"
    __table_args__ = (
        Index("ix_image_entries_provider_key", "provider", "key"),
        Index("ix_image_entries_provider_last", "provider", "last_seen_snapshot"),
    )

    id: Mapped[int_pk]
    provider: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(1024))
    blob_sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    etag: Mapped[str] = mapped_column(String(128), default="")
    first_seen_snapshot: Mapped[int] = mapped_column(BigId)
    last_seen_snapshot: Mapped[int] = mapped_column(BigId)
    first_seen_run: Mapped[int | None] = mapped_column(BigId)
    last_seen_run: Mapped[int | None] = mapped_column(BigId)
    deleted_upstream: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_snapshot: Mapped[int | None] = mapped_column(BigId)


class ImageBlob(Base):
    """One stored blob (content-addressed), shared by every entry with the same bytes."""

    __tablename__ = "image_blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    md5: Mapped[str | None] = mapped_column(String(32), index=True)
    created_at: Mapped[utc_ts]


IMAGE_TABLES = (ImageSnapshot.__table__, ImageEntry.__table__, ImageBlob.__table__)
