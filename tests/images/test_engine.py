"""Snapshots, tombstones, dedup, restore, verify and prune through real backups."""

from __future__ import annotations

import filecmp
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, update

from hib_orchestrator.images import catalog
from hib_orchestrator.images.models import ImageBlob, ImageSnapshot


def _tree(root: Path, files: dict[str, bytes]) -> None:
    for key, data in files.items():
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(data)


def _same_tree(a: Path, b: Path) -> bool:
    cmp = filecmp.dircmp(a, b)

    def ok(c: filecmp.dircmp) -> bool:  # type: ignore[type-arg]
        if c.left_only or c.right_only or c.funny_files:
            return False
        _, mismatch, errors = filecmp.cmpfiles(c.left, c.right, c.common_files, shallow=False)
        return not mismatch and not errors and all(ok(s) for s in c.subdirs.values())

    return ok(cmp)


def test_basename_collisions_deletion_tombstone_and_restore(runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "src"
    _tree(src, {"2023/a.png": b"2023 bytes", "2024/a.png": b"2024 bytes", "b.png": b"bee"})
    first = runner.run("local-001", name="pics", path=str(src))
    assert first.new == 3
    rows = {r["key"]: r for r in catalog.list_objects(runner.sessions, "pics")}
    assert rows["2023/a.png"]["sha256"] != rows["2024/a.png"]["sha256"]

    (src / "2024" / "a.png").unlink()
    second = runner.run("local-001", name="pics", path=str(src))
    assert (second.deleted_upstream, second.unchanged, second.new) == (1, 2, 0)
    rows = {r["key"]: r for r in catalog.list_objects(runner.sessions, "pics")}
    assert rows["2024/a.png"]["deleted_upstream"] is True
    assert runner.store.has(rows["2024/a.png"]["sha256"])  # blob kept

    latest = tmp_path / "latest"
    assert catalog.restore(runner.sessions, runner.store, "pics", latest)["files"] == 2
    assert not (latest / "2024" / "a.png").exists()
    everything = tmp_path / "everything"
    doc = catalog.restore(runner.sessions, runner.store, "pics", everything, include_deleted=True)
    assert doc["files"] == 3
    assert (everything / "2024" / "a.png").read_bytes() == b"2024 bytes"
    earlier = tmp_path / "earlier"
    doc = catalog.restore(runner.sessions, runner.store, "pics", earlier, first.snapshot_id)
    assert doc == {"files": 3, "bytes": len(b"2023 bytes2024 bytesbee")}
    (src / "2024" / "a.png").write_bytes(b"2024 bytes")
    os.utime(src / "2024" / "a.png")
    assert _same_tree(src, earlier)

    blobs = len(list(runner.store.iter_files()))
    third = runner.run("local-001", name="pics", path=str(src))
    assert third.new == 1  # came back: a new object again, but the same stored blob
    assert len(list(runner.store.iter_files())) == blobs


def test_restore_reproduces_a_bucket_byte_for_byte(runner, standins, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import boto3
    from botocore.config import Config

    result = runner.run("s3-001")
    assert result.status == "ok"
    out = tmp_path / "restored"
    doc = catalog.restore(runner.sessions, runner.store, "s3-001", out)
    _, s = standins.provider("s3-001")
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=s["endpoint"],
        aws_access_key_id=s["access_key_id"],
        aws_secret_access_key=s["secret_access_key"],
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=s["bucket"])["Contents"]]
    assert doc["files"] == len(keys) == 43
    for key in keys:
        body = client.get_object(Bucket=s["bucket"], Key=key)["Body"].read()
        assert (out / key).read_bytes() == body, key


def test_duplicates_across_providers_are_stored_once(runner) -> None:  # type: ignore[no-untyped-def]
    runner.run("s3-001")
    runner.run("smms-001")
    with runner.sessions() as s:
        blobs = s.scalar(select(func.count()).select_from(ImageBlob))
    # 43 + 28 objects, 3 shared images present at both providers.
    assert blobs == 43 + 28 - 3
    assert len(list(runner.store.iter_files())) == blobs


def test_verify_finds_corrupt_and_missing_blobs(runner) -> None:  # type: ignore[no-untyped-def]
    runner.run("smms-001")
    clean = catalog.verify(runner.sessions, runner.store)
    assert clean == {"checked": 28, "corrupt": [], "missing": []}
    files = sorted(runner.store.iter_files())
    bad_sha, bad_path = files[0]
    raw = bytearray(bad_path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    bad_path.write_bytes(bytes(raw))
    gone_sha, gone_path = files[1]
    gone_path.unlink()
    doc = catalog.verify(runner.sessions, runner.store)
    assert doc["corrupt"] == [bad_sha] and doc["missing"] == [gone_sha]
    sample = catalog.verify(runner.sessions, runner.store, sample_pct=10)
    assert sample["checked"] == 3


def test_prune_keeps_policy_and_collects_garbage(runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "src"
    sizes = []
    for i in range(4):
        _tree(src, {"only.png": f"version {i}".encode() * (i + 1)})
        sizes.append(len(f"version {i}".encode() * (i + 1)))
        runner.run("local-001", name="churn", path=str(src))
    doc = catalog.prune(runner.sessions, runner.store, keep_last=2)
    assert doc == {"snapshots_removed": 2, "blobs_removed": 2, "bytes_freed": sizes[0] + sizes[1]}
    assert len(list(runner.store.iter_files())) == 2
    assert catalog.verify(runner.sessions, runner.store)["corrupt"] == []
    again = catalog.prune(runner.sessions, runner.store, keep_last=2)
    assert again == {"snapshots_removed": 0, "blobs_removed": 0, "bytes_freed": 0}


def test_prune_keeps_unchanged_blobs_seen_by_kept_snapshots(runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "src"
    _tree(src, {"stable.png": b"stable"})
    for _ in range(3):
        runner.run("local-001", name="steady", path=str(src))
    doc = catalog.prune(runner.sessions, runner.store, keep_last=1)
    assert doc["snapshots_removed"] == 2 and doc["blobs_removed"] == 0
    assert [r["key"] for r in catalog.list_objects(runner.sessions, "steady")] == ["stable.png"]


def test_keep_daily_keeps_one_per_day(runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "src"
    _tree(src, {"x.png": b"x"})
    ids = [runner.run("local-001", name="daily", path=str(src)).snapshot_id for _ in range(4)]
    day0 = datetime(2026, 1, 10, 12, tzinfo=UTC)
    with runner.sessions.begin() as s:  # two snapshots on each of two days
        for n, sid in enumerate(ids):
            at = day0 + timedelta(days=n // 2, hours=n)
            s.execute(update(ImageSnapshot).where(ImageSnapshot.id == sid).values(started_at=at))
    doc = catalog.prune(runner.sessions, runner.store, keep_last=1, keep_daily=2)
    assert doc["snapshots_removed"] == 2
    with runner.sessions() as s:
        left = sorted(s.scalars(select(ImageSnapshot.id).where(ImageSnapshot.provider == "daily")))
    assert left == [ids[1], ids[3]]


def test_progress_reports_objects_and_bytes(runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from hib_orchestrator.images import BackupOptions, Progress, backup

    src = tmp_path / "src"
    _tree(src, {f"d/{i}.png": bytes([i]) * (i + 1) for i in range(5)})
    seen: list[Progress] = []
    result = backup(
        "prog",
        "local",
        {"path": str(src)},
        store=runner.store,
        sessions=runner.sessions,
        options=BackupOptions(progress=seen.append),
    )
    assert result.status == "ok"
    assert seen[-1].objects_done == seen[-1].objects_total == 5
    assert seen[-1].bytes_done == sum(range(1, 6))
    assert [p.objects_done for p in seen] == sorted(p.objects_done for p in seen)


def test_prune_waits_for_no_backup_and_backups_do_not_overlap(runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from hib_orchestrator.errors import StoreLocked

    src = tmp_path / "src"
    _tree(src, {"x.png": b"x"})
    runner.run("local-001", name="locked", path=str(src))
    runner.store.lock_timeout = 0.2  # HIB_IMAGE_STORE_LOCK_TIMEOUT: wait briefly, then give up
    # What a running backup holds: the store lock shared, its provider lock exclusive.
    with runner.store.lock("store", shared=True), runner.store.lock("provider-locked"):
        with pytest.raises(StoreLocked, match="backup is running"):
            catalog.prune(runner.sessions, runner.store, keep_last=1)
        overlapping = runner.run("local-001", name="locked", path=str(src))
        assert (overlapping.status, overlapping.error_code) == ("failed", "STORE_LOCKED")
        other = runner.run("local-001", name="other-host", path=str(src))
        assert other.status == "ok"  # other providers back up concurrently
    # Unlocked again; the refused backup left no snapshot behind.
    assert catalog.prune(runner.sessions, runner.store, keep_last=1)["snapshots_removed"] == 0


def test_keys_that_would_escape_the_restore_folder_are_refused() -> None:
    import pytest

    from hib_orchestrator.errors import StoreError

    assert str(catalog.safe_relpath("/2024/a.png")) == "2024/a.png"
    for bad in ("../etc/passwd", "a/../../b", "", "/"):
        with pytest.raises(StoreError):
            catalog.safe_relpath(bad)


def test_dry_run_counts_without_downloading_or_recording(runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from hib_orchestrator.images import BackupOptions, backup

    src = tmp_path / "src"
    _tree(src, {"keep.png": b"keep", "edit.png": b"v1", "drop.png": b"drop"})
    runner.run("local-001", name="dry", path=str(src))
    _tree(src, {"edit.png": b"v2, longer", "add.png": b"new"})
    (src / "drop.png").unlink()
    blobs = len(list(runner.store.iter_files()))
    with runner.sessions() as s:
        snaps = s.scalar(select(func.count()).select_from(ImageSnapshot))

    preview = backup(
        "dry",
        "local",
        {"path": str(src)},
        store=runner.store,
        sessions=runner.sessions,
        options=BackupOptions(dry_run=True),
    )
    assert preview.status == "ok"
    assert preview.objects() == {
        "new": 1,
        "changed": 1,
        "unchanged": 1,
        "deleted_upstream": 1,
        "failed": 0,
        "bytes": 0,
    }
    assert len(list(runner.store.iter_files())) == blobs
    with runner.sessions() as s:
        assert s.scalar(select(func.count()).select_from(ImageSnapshot)) == snaps
