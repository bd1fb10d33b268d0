"""The image manifest on a real PostgreSQL (``make test`` provides one via HIB_TEST_PG_URL)."""

from __future__ import annotations

import os
import uuid

import pytest

from hib_orchestrator.images import BackupOptions, backup, catalog, sessions
from hib_orchestrator.images.blobstore import BlobStore
from hib_orchestrator.settings import load_settings

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    url = os.environ.get("HIB_TEST_PG_URL")
    if not url:
        pytest.skip("HIB_TEST_PG_URL is not set (run under .ci/with-postgres.sh)")
    monkeypatch.setenv("HIB_HOME", str(tmp_path / "hib"))
    monkeypatch.setenv("HIB_DB_URL", url)
    settings = load_settings()
    return sessions(settings), BlobStore(settings.image_store)


def test_snapshots_tombstones_dedup_and_prune_on_postgres(pg, tmp_path) -> None:  # type: ignore[no-untyped-def]
    factory, store = pg
    name = f"pg-{uuid.uuid4().hex[:8]}"
    src = tmp_path / "src"
    (src / "a").mkdir(parents=True)
    (src / "a" / "x.png").write_bytes(b"same bytes")
    (src / "b.png").write_bytes(b"same bytes")  # same content at two keys: one blob
    (src / "c.png").write_bytes(b"other")

    def run():  # type: ignore[no-untyped-def]
        return backup(
            name,
            "local",
            {"path": str(src)},
            store=store,
            sessions=factory,
            options=BackupOptions(workers=2),
        )

    first = run()
    assert (first.status, first.new) == ("ok", 3)
    assert len(list(store.iter_files())) == 2
    (src / "c.png").unlink()
    second = run()
    assert (second.unchanged, second.deleted_upstream) == (2, 1)
    rows = {r["key"]: r for r in catalog.list_objects(factory, name)}
    assert rows["c.png"]["deleted_upstream"] is True
    doc = catalog.prune(factory, store, keep_last=1)
    assert doc["snapshots_removed"] >= 1 and doc["blobs_removed"] >= 1
    assert catalog.verify(factory, store)["corrupt"] == []
