"""Two runs at once on one folder image store, as real engine processes.

Backups of different providers run side by side (content addressing: a blob is written to a
private part file and renamed to its hash, blob rows are inserted ON CONFLICT DO NOTHING).
Two backups of one provider, or prune and a backup, exclude each other by lock: the second
waits up to HIB_IMAGE_STORE_LOCK_TIMEOUT, then gives up with STORE_LOCKED, changing nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from hib_orchestrator.images import sessions
from hib_orchestrator.images.blobstore import BlobStore
from hib_orchestrator.images.models import ImageSnapshot
from hib_orchestrator.settings import load_settings

ENGINE = (
    "import json, sys; from hib_orchestrator.images.isolated import backup_isolated; "
    "r = backup_isolated(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), workers=2); "
    "print(r.status, r.error_code)"
)


HIB = str(Path(sys.executable).parent / "hib")


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "HIB_HOME": str(home), **extra}
    for name in ("HIB_RUN_ID", "HIB_IMAGE_STORE", "HIB_DB_URL"):
        env.pop(name, None)
    return env


def _start(standins, home: Path, host: str, **env: str) -> subprocess.Popen[str]:  # type: ignore[no-untyped-def]
    provider, settings = standins.provider(host)
    return subprocess.Popen(
        [sys.executable, "-c", ENGINE, host, provider, json.dumps(settings)],
        env=_env(home, **env),
        stdout=subprocess.PIPE,
        text=True,
    )


def _outcome(proc: subprocess.Popen[str]) -> list[str]:
    return proc.communicate(timeout=120)[0].split()


def _snapshots(home: Path) -> list[str]:
    with sessions(load_settings({"HIB_HOME": str(home)}))() as s:
        return list(
            s.scalars(ImageSnapshot.__table__.select().with_only_columns(ImageSnapshot.status))
        )


def test_backups_of_different_providers_run_side_by_side(standins, tmp_path) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "hib"
    runs = [_start(standins, home, host) for host in ("local-001", "smms-001", "oss-001")]
    assert [_outcome(r) for r in runs] == [["ok", "None"]] * 3
    verify = subprocess.run(
        [HIB, "verify", "--json"], env=_env(home), capture_output=True, text=True, check=False
    )
    doc = json.loads(verify.stdout)
    assert verify.returncode == 0 and doc["corrupt"] == doc["missing"] == []
    assert doc["checked"] == len(list(BlobStore(home / "images").iter_files()))


def test_second_run_waits_for_the_lock_or_fails_with_store_locked(standins, tmp_path) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "hib"
    store = BlobStore(home / "images")
    # What a running backup of s3-001 holds: the store lock shared, its provider lock.
    with store.lock("store", shared=True), store.lock("provider-s3-001"):
        waiting = _start(standins, home, "s3-001")  # default: waits up to 60 s
        impatient = _start(standins, home, "s3-001", HIB_IMAGE_STORE_LOCK_TIMEOUT="0.2")
        assert _outcome(impatient) == ["failed", "STORE_LOCKED"]
        prune = subprocess.run(
            [HIB, "prune", "--keep-last", "1"],
            env=_env(home, HIB_IMAGE_STORE_LOCK_TIMEOUT="0.2"),
            capture_output=True,
            text=True,
            check=False,
        )
        assert prune.returncode == 1 and "[STORE_LOCKED]" in prune.stderr
        assert len(prune.stderr.strip().splitlines()) == 1
        assert waiting.poll() is None  # still waiting for the lock
    assert _outcome(waiting) == ["ok", "None"]  # ran once the lock was free
    assert _snapshots(home) == ["ok"]  # the refused run left nothing behind
