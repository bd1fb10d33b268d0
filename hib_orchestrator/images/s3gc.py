"""Garbage collection of an ``s3://`` image store while other runners keep backing up.

A folder store makes prune and backups exclusive with a lock; runners on other machines cannot
share one, so here the sweep itself is made safe. **The rule: a blob object is deleted only if,
after every backup that was running when prune marked it has finished, no image entry, no blob
row and no snapshot manifest in the bucket names it, and its object was last written before the
prune started.** Step by step:

1. *Mark*: blob rows no entry references (plus objects with no row at all that are older than
   ``orphan_grace``, e.g. uploaded by a killed run) are the candidates; their rows are deleted,
   so from now on no backup can reuse them by MD5 without downloading.
2. *Wait* until every snapshot that was ``running`` at the mark has finished (they may have
   looked a candidate up before the mark). If one is still running after ``wait_s``, nothing
   is swept and the rows come back: a later prune will try again.
3. *Re-check*: candidates named by an entry, a blob row (a backup stored the same bytes again)
   or any manifest in the bucket (a runner with another database) are spared, as are objects
   written since the prune started.
4. *Sweep* through ``trash/``: each candidate is copied there, then deleted.
5. *Re-check again*: a candidate that a backup recorded during the sweep is copied back; the
   others' trash copies are deleted. (A prune that dies between 4 and 5 leaves ``trash/``
   behind; the next prune settles it first, by the same re-check.)

What closes the last gap is on the writer's side (:meth:`S3BlobStore.settle`): a backup that
found a blob already present keeps its download until the database has recorded the blob, then
checks the object is still there and puts it again if not. Either the record lands before step
5 (copied back) or the check runs after step 4 (put again); a snapshot never names a blob that
stays missing.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from hib_orchestrator.images.manifest import _insert_many
from hib_orchestrator.images.models import ImageBlob, ImageEntry, ImageSnapshot
from hib_orchestrator.images.s3store import S3BlobStore
from hib_orchestrator.logs import get_logger

log = get_logger(__name__)
CHUNK = 500
POLL_S = 0.2
DEFAULT_WAIT_S = 3600.0
DEFAULT_ORPHAN_GRACE_S = 3600.0


def collect(
    sessions: sessionmaker[Session],
    store: S3BlobStore,
    started: datetime,
    *,
    wait_s: float = DEFAULT_WAIT_S,
    orphan_grace_s: float = DEFAULT_ORPHAN_GRACE_S,
) -> dict[str, int]:
    """Delete unreferenced blobs by the module's rule; ``{blobs_removed, bytes_freed}``."""
    _recover_trash(sessions, store)
    rows, running = _mark(sessions)
    objects = {o.sha256: o for o in store.iter_objects()}
    with sessions() as s:
        used = set(s.scalars(select(ImageEntry.blob_sha256).distinct()))
    oldest_orphan = started - timedelta(seconds=orphan_grace_s)
    orphans = {
        sha
        for sha, o in objects.items()
        if sha not in rows and sha not in used and _utc(o.last_modified) < oldest_orphan
    }
    candidates = {
        sha
        for sha in set(rows) | orphans
        if sha in objects and _utc(objects[sha].last_modified) < started
    }
    if not _finished(sessions, running, wait_s):
        log.warning("prune: snapshots %s still running; no blob swept this time", running)
        _restore_rows(sessions, rows, set(rows))
        return {"blobs_removed": 0, "bytes_freed": 0}
    spared = _referenced(sessions, candidates) | _in_manifests(store)
    candidates -= spared
    # Rows of objects already gone are garbage; the rest stay.
    _restore_rows(sessions, rows, (set(rows) & objects.keys()) - candidates)
    for sha in sorted(candidates):
        store.trash(sha)
    back = _referenced(sessions, candidates)
    for sha in sorted(candidates):
        if sha in back:
            store.untrash(sha)
        else:
            store.purge(sha)
    _restore_rows(sessions, rows, back)
    removed = candidates - back
    return {"blobs_removed": len(removed), "bytes_freed": sum(objects[s].size for s in removed)}


def _recover_trash(sessions: sessionmaker[Session], store: S3BlobStore) -> None:
    """Finish a sweep an earlier prune did not (it died between steps 4 and 5): what is named
    now goes back, the rest is deleted."""
    left = set(store.iter_trash())
    if not left:
        return
    named = _referenced(sessions, left) | _in_manifests(store)
    for sha in sorted(left):
        if sha in named:
            store.untrash(sha)
        else:
            store.purge(sha)


def _mark(sessions: sessionmaker[Session]) -> tuple[dict[str, dict[str, Any]], list[int]]:
    """Delete the rows of unreferenced blobs; (their rows, snapshots running after that)."""
    with sessions.begin() as s:
        used = set(s.scalars(select(ImageEntry.blob_sha256).distinct()))
        rows = {
            b.sha256: {"sha256": b.sha256, "size": b.size, "md5": b.md5, "created_at": b.created_at}
            for b in s.scalars(select(ImageBlob))
            if b.sha256 not in used
        }
        doomed = sorted(rows)
        for i in range(0, len(doomed), CHUNK):
            s.execute(delete(ImageBlob).where(ImageBlob.sha256.in_(doomed[i : i + CHUNK])))
    with sessions() as s:
        running = list(s.scalars(select(ImageSnapshot.id).where(ImageSnapshot.status == "running")))
    return rows, running


def _finished(sessions: sessionmaker[Session], ids: list[int], wait_s: float) -> bool:
    deadline = time.monotonic() + wait_s
    while ids:
        with sessions() as s:
            ids = list(
                s.scalars(
                    select(ImageSnapshot.id).where(
                        ImageSnapshot.id.in_(ids), ImageSnapshot.status == "running"
                    )
                )
            )
        if not ids:
            break
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_S)
    return True


def _referenced(sessions: sessionmaker[Session], shas: Iterable[str]) -> set[str]:
    """Which of ``shas`` an entry or a blob row names now."""
    wanted = sorted(shas)
    found: set[str] = set()
    with sessions() as s:
        for i in range(0, len(wanted), CHUNK):
            part = wanted[i : i + CHUNK]
            e = ImageEntry
            found.update(s.scalars(select(e.blob_sha256).where(e.blob_sha256.in_(part))))
            found.update(s.scalars(select(ImageBlob.sha256).where(ImageBlob.sha256.in_(part))))
    return found


def _in_manifests(store: S3BlobStore) -> set[str]:
    return {entry[1] for doc in store.manifests() for entry in doc.get("entries", [])}


def _restore_rows(
    sessions: sessionmaker[Session], rows: dict[str, dict[str, Any]], shas: set[str]
) -> None:
    """Put back the marked rows of blobs that stay (ON CONFLICT DO NOTHING: a backup may have
    inserted one meanwhile)."""
    back = [rows[sha] for sha in sorted(shas) if sha in rows]
    if back:
        with sessions.begin() as s:
            _insert_many(s, ImageBlob, back, True)


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
