"""Snapshot and manifest bookkeeping for one provider backup (all SQL of the engine lives here).

Writes are batched and short, so several provider backups (Ansible forks) can share one SQLite
database; blob rows are inserted with ON CONFLICT DO NOTHING because two providers may store
the same bytes at the same moment.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from hib_orchestrator.db.base import utcnow
from hib_orchestrator.errors import RecordingError
from hib_orchestrator.images.models import ImageBlob, ImageEntry, ImageSnapshot

CHUNK = 500
_MAX_PARAMS = 999
LOCKED_TRIES = 8
F = TypeVar("F", bound=Callable[..., Any])


def _db_call(fn: F) -> F:
    """Retry a short transaction while SQLite says "database is locked"; other DB failures and
    the last lock failure become RecordingError (a result for the host, not a crash)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for attempt in range(LOCKED_TRIES):
            try:
                return fn(*args, **kwargs)
            except OperationalError as err:
                if "locked" not in str(err) or attempt + 1 == LOCKED_TRIES:
                    raise RecordingError(f"image manifest: {str(err.orig)[:160]}") from err
                time.sleep(random.uniform(0.05, 0.25) * 2**attempt)
            except SQLAlchemyError as err:
                raise RecordingError(f"image manifest: {type(err).__name__}: {err}") from err
        raise AssertionError("unreachable")  # pragma: no cover

    return wrapper  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class Known:
    """The latest recorded version of one key."""

    id: int
    size: int
    etag: str
    blob: str
    last_seen: int
    deleted: bool


class Manifest:
    """The DB side of one backup: one snapshot row plus the entries it touches."""

    def __init__(self, sessions: sessionmaker[Session], provider: str, run_id: int | None) -> None:
        self.sessions = sessions
        self.provider = provider
        self.run_id = run_id
        self.snapshot_id = 0
        self.started_at: datetime | None = None
        self.previous_id: int | None = None

    @_db_call
    def start(self, provider_type: str) -> int:
        """Close stale snapshots as interrupted (the caller holds the provider lock), open one."""
        with self.sessions.begin() as s:
            s.execute(
                update(ImageSnapshot)
                .where(ImageSnapshot.provider == self.provider, ImageSnapshot.status == "running")
                .values(status="interrupted", finished_at=utcnow())
            )
            self.previous_id = s.scalar(
                select(func.max(ImageSnapshot.id)).where(ImageSnapshot.provider == self.provider)
            )
            snap = ImageSnapshot(
                run_id=self.run_id,
                provider=self.provider,
                provider_type=provider_type,
                started_at=utcnow(),
                status="running",
            )
            s.add(snap)
            s.flush()
            self.snapshot_id = snap.id
            self.started_at = snap.started_at
        return self.snapshot_id

    @_db_call
    def known(self) -> dict[str, Known]:
        """Latest version per key for this provider."""
        e = ImageEntry
        rows = (
            select(
                e.id, e.key, e.size, e.etag, e.blob_sha256, e.last_seen_snapshot, e.deleted_upstream
            )
            .where(e.provider == self.provider)
            .order_by(e.id)
        )
        with self.sessions() as s:
            return {
                key: Known(id_, size, etag, blob, last, bool(deleted))
                for id_, key, size, etag, blob, last, deleted in s.execute(rows)
            }

    @_db_call
    def md5_index(self, md5s: Iterable[str]) -> dict[tuple[str, int], str]:
        """(md5, size) → sha256 for blobs already stored, to skip downloading known bytes."""
        wanted = sorted(set(md5s))
        found: dict[tuple[str, int], str] = {}
        if not wanted:
            return found
        with self.sessions() as s:
            conn = s.connection()
            # Plain driver SQL: compiling an expanding IN of 500 values cost ~15 ms a query.
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            for i in range(0, len(wanted), CHUNK):
                part = wanted[i : i + CHUNK]
                sql = (
                    "SELECT md5, size, sha256 FROM image_blobs "
                    f"WHERE md5 IN ({', '.join(mark for _ in part)})"
                )
                for md5, size, sha in conn.exec_driver_sql(sql, tuple(part)):
                    if md5 is not None:
                        found[(md5, size)] = sha
        return found

    @_db_call
    def bump(self, ids: Sequence[int]) -> None:
        """Extend unchanged versions to this snapshot (no new rows for unchanged objects)."""
        with self.sessions.begin() as s:
            for i in range(0, len(ids), CHUNK):
                s.execute(
                    update(ImageEntry)
                    .where(ImageEntry.id.in_(ids[i : i + CHUNK]))
                    .values(last_seen_snapshot=self.snapshot_id, last_seen_run=self.run_id)
                )

    @_db_call
    def tombstone(self, ids: Sequence[int]) -> None:
        """Mark versions whose key vanished upstream (the blob is kept)."""
        with self.sessions.begin() as s:
            for i in range(0, len(ids), CHUNK):
                s.execute(
                    update(ImageEntry)
                    .where(ImageEntry.id.in_(ids[i : i + CHUNK]))
                    .values(deleted_upstream=True, deleted_snapshot=self.snapshot_id)
                )

    def entry_row(self, key: str, size: int, etag: str, blob: str) -> dict[str, Any]:
        """A new version row valid for this snapshot only (so far)."""
        return {
            "provider": self.provider,
            "key": key,
            "blob_sha256": blob,
            "size": size,
            "etag": etag,
            "first_seen_snapshot": self.snapshot_id,
            "last_seen_snapshot": self.snapshot_id,
            "first_seen_run": self.run_id,
            "last_seen_run": self.run_id,
            "deleted_upstream": False,
        }

    @_db_call
    def add(
        self,
        entries: list[dict[str, Any]],
        blobs: list[dict[str, Any]],
        counts: dict[str, int] | None = None,
    ) -> None:
        """Insert finished items (blob rows first) and the running counts in one transaction,
        so a kill loses at most one flush and ``hib images snapshots`` shows live progress."""
        if not entries and not blobs and not counts:
            return
        with self.sessions.begin() as s:
            if blobs:
                now = utcnow()
                _insert_many(s, ImageBlob, [{**row, "created_at": now} for row in blobs], True)
            if entries:
                _insert_many(s, ImageEntry, entries)
            if counts:
                s.execute(
                    update(ImageSnapshot)
                    .where(ImageSnapshot.id == self.snapshot_id)
                    .values(**counts)
                )

    @_db_call
    def present(self) -> list[tuple[str, str, int]]:
        """(key, sha256, size) of every object this snapshot holds (its manifest)."""
        e = ImageEntry
        q = (
            select(e.key, e.blob_sha256, e.size)
            .where(
                e.provider == self.provider,
                e.first_seen_snapshot <= self.snapshot_id,
                e.last_seen_snapshot >= self.snapshot_id,
            )
            .order_by(e.key)
        )
        with self.sessions() as s:
            return [(k, sha, size) for k, sha, size in s.execute(q)]

    @_db_call
    def finish(self, status: str, counts: dict[str, int], error: tuple[str, str] | None) -> None:
        """Close the snapshot with its counts."""
        with self.sessions.begin() as s:
            s.execute(
                update(ImageSnapshot)
                .where(ImageSnapshot.id == self.snapshot_id)
                .values(
                    status=status,
                    finished_at=utcnow(),
                    listing_complete=status in ("ok", "partial"),
                    error_code=error[0] if error else None,
                    error_message=error[1][:500] if error else None,
                    **counts,
                )
            )


def _insert_many(
    session: Session, model: Any, rows: list[dict[str, Any]], ignore_existing: bool = False
) -> None:
    """Multi-row INSERTs straight on the driver (``VALUES (...), (...), ...``).

    SQLAlchemy's per-row parameter processing, then the driver's per-row step (each one a GIL
    release that 16 download threads fight over), were the largest share of the engine's
    interpreter time in a full backup. Each value goes only through its column type's bind
    processor (datetimes as SQLite stores them, booleans). ``ignore_existing`` adds ON CONFLICT
    DO NOTHING (SQLite 3.24+ and PostgreSQL alike): two providers may store the same blob at
    the same moment.
    """
    conn = session.connection()
    dialect = conn.dialect
    table = model.__table__
    names = list(rows[0])
    procs = [table.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names]
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    quote = dialect.identifier_preparer.quote
    head = f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) VALUES "
    one = f"({', '.join(mark for _ in names)})"
    tail = " ON CONFLICT DO NOTHING" if ignore_existing else ""
    pairs = list(zip(names, procs, strict=True))
    # SQLite before 3.32 allows 999 parameters per statement.
    per = max(1, _MAX_PARAMS // len(names))
    for i in range(0, len(rows), per):
        batch = rows[i : i + per]
        params: list[Any] = []
        for row in batch:
            params.extend(
                p(row[n]) if p is not None and row[n] is not None else row[n] for n, p in pairs
            )
        conn.exec_driver_sql(head + ", ".join(one for _ in batch) + tail, tuple(params))
