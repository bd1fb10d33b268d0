"""Read and maintain the image store: list, restore, verify and prune snapshots.

Each function takes a session factory and a :class:`BlobStore` and returns plain data (the
contract's JSON shapes); the CLI only prints it.
"""

from __future__ import annotations

import bisect
import random
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from hib_orchestrator.db.types import utcnow
from hib_orchestrator.errors import ConfigError, StoreError
from hib_orchestrator.images.blobstore import BlobStore
from hib_orchestrator.images.models import ImageBlob, ImageEntry, ImageSnapshot
from hib_orchestrator.images.s3store import S3BlobStore, snapshot_stamp

DONE = ("ok", "partial")


def find_snapshot(s: Session, provider: str, run: int | None = None) -> ImageSnapshot:
    """The provider's snapshot for run ``run`` (a run id, else a snapshot id), or its latest
    finished one.

    Raises:
        ConfigError: no such provider or snapshot (bad input, exit 2).
    """
    q = select(ImageSnapshot).where(ImageSnapshot.provider == provider)
    snap: ImageSnapshot | None
    if run is None:
        snap = s.scalars(
            q.where(ImageSnapshot.status.in_(DONE)).order_by(ImageSnapshot.id.desc()).limit(1)
        ).first()
    else:
        by_run = q.where(ImageSnapshot.run_id == run).order_by(ImageSnapshot.id.desc())
        snap = s.scalars(by_run).first() or s.scalars(q.where(ImageSnapshot.id == run)).first()
    if snap is None:
        which = f"run {run}" if run is not None else "a finished snapshot"
        raise ConfigError(f"no image snapshot of {provider!r} for {which}")
    return snap


def _present(snap: ImageSnapshot) -> Any:
    e = ImageEntry
    return (
        (e.provider == snap.provider)
        & (e.first_seen_snapshot <= snap.id)
        & (e.last_seen_snapshot >= snap.id)
    )


def list_objects(
    sessions: sessionmaker[Session], provider: str, run: int | None = None
) -> list[dict[str, Any]]:
    """``hib images ls``: objects of a snapshot plus tombstones of keys gone by then."""
    with sessions() as s:
        snap = find_snapshot(s, provider, run)
        rows = {e.key: e for e in s.scalars(select(ImageEntry).where(_present(snap)))}
        e = ImageEntry
        gone = s.scalars(
            select(e)
            .where(e.provider == provider, e.deleted_upstream, e.deleted_snapshot <= snap.id)
            .order_by(e.id)
        )
        tombs = {t.key: t for t in gone if t.key not in rows}
    out = [_ls_row(r, False) for r in rows.values()]
    out += [_ls_row(t, True) for t in tombs.values()]
    return sorted(out, key=lambda r: r["key"])


def _ls_row(e: ImageEntry, deleted: bool) -> dict[str, Any]:
    return {
        "key": e.key,
        "size_bytes": e.size,
        "sha256": e.blob_sha256,
        "etag": e.etag,
        "first_seen_run": e.first_seen_run
        if e.first_seen_run is not None
        else e.first_seen_snapshot,
        "last_seen_run": e.last_seen_run if e.last_seen_run is not None else e.last_seen_snapshot,
        "deleted_upstream": deleted,
    }


def safe_relpath(key: str) -> PurePosixPath:
    """A provider key as a relative path that cannot escape the restore folder."""
    rel = PurePosixPath(key.lstrip("/"))
    if not rel.parts or any(p in ("..", "") for p in rel.parts):
        raise StoreError(f"key {key!r} cannot be restored as a path")
    return rel


def restore(
    sessions: sessionmaker[Session],
    store: BlobStore,
    provider: str,
    dest: Path,
    run: int | None = None,
    include_deleted: bool = False,
) -> dict[str, int]:
    """``hib images restore``: write a snapshot's objects under ``dest`` as key paths; with
    ``include_deleted`` also the last version of keys deleted upstream by then (migrations off
    a host whose images vanish)."""
    rows = list_objects(sessions, provider, run)
    items = [
        (r["key"], r["sha256"], r["size_bytes"])
        for r in rows
        if include_deleted or not r["deleted_upstream"]
    ]
    files = total = 0
    for key, sha, size in items:
        target = dest / safe_relpath(key)
        try:
            store.copy_to(sha, target)
        except FileNotFoundError as err:
            raise StoreError(f"blob {sha} for {key!r} is missing from the image store") from err
        files += 1
        total += size
    return {"files": files, "bytes": total}


def verify(
    sessions: sessionmaker[Session], store: BlobStore, sample_pct: float = 100.0
) -> dict[str, Any]:
    """``hib verify``: re-hash stored blobs (all, or a random sample) against their names."""
    if not 0 < sample_pct <= 100:
        raise ConfigError(f"--sample must be in (0, 100], not {sample_pct}")
    with sessions() as s:
        shas = list(s.scalars(select(ImageBlob.sha256).order_by(ImageBlob.sha256)))
    if sample_pct < 100 and shas:
        shas = random.sample(shas, max(1, round(len(shas) * sample_pct / 100)))
    corrupt: list[str] = []
    missing: list[str] = []
    # An object store answers each GET after a round trip: hash several at once.
    with ThreadPoolExecutor(store.read_parallelism, thread_name_prefix="hib-verify") as pool:
        hashes = list(pool.map(store.hash_file, shas))
    for sha, actual in zip(shas, hashes, strict=True):
        if actual is None:
            missing.append(sha)
        elif actual != sha:
            corrupt.append(sha)
    return {"checked": len(shas), "corrupt": corrupt, "missing": missing}


def _kept(snaps: list[ImageSnapshot], last: int, daily: int, weekly: int) -> set[int]:
    """restic-style retention over one provider's finished snapshots (newest first)."""
    keep = {s.id for s in snaps[:last]}
    days: dict[str, int] = {}
    weeks: dict[str, int] = {}
    for snap in snaps:
        at: datetime = snap.started_at
        iso = at.isocalendar()
        day, week = at.strftime("%Y-%m-%d"), f"{iso.year}-W{iso.week:02d}"
        if day not in days and len(days) < daily:
            days[day] = snap.id
        if week not in weeks and len(weeks) < weekly:
            weeks[week] = snap.id
    return keep | set(days.values()) | set(weeks.values())


def prune(
    sessions: sessionmaker[Session],
    store: BlobStore,
    keep_last: int,
    keep_daily: int = 0,
    keep_weekly: int = 0,
) -> dict[str, int]:
    """``hib prune``: drop snapshots outside the policy, then versions no kept snapshot sees,
    then blobs no version references."""
    if keep_last < 1 or keep_daily < 0 or keep_weekly < 0:
        raise ConfigError("--keep-last must be >= 1 and --keep-daily/--keep-weekly >= 0")
    started = utcnow()
    # A folder store: prune excludes backups by the store lock. An s3:// store takes no lock
    # (other machines could not see it); its sweep rule is in s3gc.
    with store.lock("store", busy="an image backup is running on this image store"):
        removed = _apply_retention(sessions, keep_last, keep_daily, keep_weekly)
        if isinstance(store, S3BlobStore):
            from hib_orchestrator.images import s3gc

            store.drop_manifests(removed)
            garbage = s3gc.collect(
                sessions, store, started, wait_s=store.prune_wait_s,
                orphan_grace_s=store.orphan_grace_s,
            )
        else:
            garbage = _collect_garbage(sessions, store)
    return {"snapshots_removed": len(removed), **garbage}


def _apply_retention(
    sessions: sessionmaker[Session], keep_last: int, keep_daily: int, keep_weekly: int
) -> set[tuple[str, int, str]]:
    """Delete snapshots outside the policy and versions no remaining snapshot sees; returns
    (provider, snapshot id, start stamp) of each snapshot removed."""
    with sessions.begin() as s:
        by_provider: dict[str, list[ImageSnapshot]] = defaultdict(list)
        for snap in s.scalars(
            select(ImageSnapshot)
            .where(ImageSnapshot.status != "running")
            .order_by(ImageSnapshot.id.desc())
        ):
            by_provider[snap.provider].append(snap)
        removed: set[tuple[str, int, str]] = set()
        for provider, snaps in by_provider.items():
            keep = _kept(snaps, keep_last, keep_daily, keep_weekly)
            removed |= {
                (provider, x.id, snapshot_stamp(x.started_at)) for x in snaps if x.id not in keep
            }
        doomed = sorted(sid for _, sid, _ in removed)
        for i in range(0, len(doomed), 500):
            s.execute(delete(ImageSnapshot).where(ImageSnapshot.id.in_(doomed[i : i + 500])))
        _drop_unseen_entries(s)
    return removed


def _drop_unseen_entries(s: Session) -> None:
    remaining: dict[str, list[int]] = defaultdict(list)
    for provider, sid in s.execute(
        select(ImageSnapshot.provider, ImageSnapshot.id).order_by(ImageSnapshot.id)
    ):
        remaining[provider].append(sid)
    e = ImageEntry
    dead = []
    for id_, provider, first, last in s.execute(
        select(e.id, e.provider, e.first_seen_snapshot, e.last_seen_snapshot)
    ):
        ids = remaining.get(provider, [])
        i = bisect.bisect_left(ids, first)
        if i == len(ids) or ids[i] > last:
            dead.append(id_)
    for i in range(0, len(dead), 500):
        s.execute(delete(ImageEntry).where(ImageEntry.id.in_(dead[i : i + 500])))


def _collect_garbage(sessions: sessionmaker[Session], store: BlobStore) -> dict[str, int]:
    with sessions.begin() as s:
        used = set(s.scalars(select(ImageEntry.blob_sha256).distinct()))
        unused = [sha for sha in s.scalars(select(ImageBlob.sha256)) if sha not in used]
        for i in range(0, len(unused), 500):
            s.execute(delete(ImageBlob).where(ImageBlob.sha256.in_(unused[i : i + 500])))
    freed = sum(store.delete(sha) for sha in unused)
    return {"blobs_removed": len(unused), "bytes_freed": freed}


def list_snapshots(
    sessions: sessionmaker[Session], provider: str | None = None
) -> list[dict[str, Any]]:
    """Snapshots, newest first, as plain data."""
    q = select(ImageSnapshot).order_by(ImageSnapshot.id.desc())
    if provider:
        q = q.where(ImageSnapshot.provider == provider)
    cols = (
        "id",
        "run_id",
        "provider",
        "provider_type",
        "status",
        "started_at",
        "finished_at",
        "objects_total",
        "new",
        "changed",
        "unchanged",
        "deleted_upstream",
        "failed",
        "bytes",
        "error_code",
    )
    with sessions() as s:
        return [{c: getattr(snap, c) for c in cols} for snap in s.scalars(q)]
