from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest

from hib_orchestrator.errors import ChecksumMismatch
from hib_orchestrator.images.blobstore import BlobStore, WrittenBlob


def test_write_is_content_addressed_with_fanout(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = BlobStore(tmp_path)
    data = b"hello image"
    blob = store.write([data[:4], data[4:]], declared_size=len(data), want_git=True)
    sha = hashlib.sha256(data).hexdigest()
    assert blob.sha256 == sha
    assert blob.md5 == hashlib.md5(data).hexdigest()
    assert blob.git_sha1 == hashlib.sha1(b"blob 11\0" + data).hexdigest()
    assert store.path(sha) == tmp_path / "blobs" / sha[:2] / sha[2:4] / sha
    assert store.path(sha).read_bytes() == data
    assert not list((tmp_path / "tmp").iterdir())


def test_rejected_download_leaves_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = BlobStore(tmp_path)

    def refuse(blob: WrittenBlob) -> None:
        raise ChecksumMismatch("nope")

    with pytest.raises(ChecksumMismatch):
        store.write([b"bad bytes"], verify=refuse)
    assert not store.has(hashlib.sha256(b"bad bytes").hexdigest())
    assert not list((tmp_path / "tmp").glob("*.part"))


def test_failing_stream_leaves_no_part(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = BlobStore(tmp_path)

    def chunks():  # type: ignore[no-untyped-def]
        yield b"half"
        raise ConnectionError("cut")

    with pytest.raises(ConnectionError):
        store.write(chunks())
    assert not list((tmp_path / "tmp").glob("*.part"))


def test_parts_of_dead_writers_are_cleaned_but_live_ones_kept(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = BlobStore(tmp_path)
    store.tmp.mkdir(parents=True)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (store.tmp / f"{dead}-1-1.part").write_bytes(b"x")
    mine = store.tmp / f"{os.getpid()}-1-1.part"
    mine.write_bytes(b"y")
    assert store.clean_parts() == 1
    assert [p.name for p in store.tmp.iterdir()] == [mine.name]


def test_a_torn_unrecorded_blob_is_replaced_not_trusted(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Without a per-file fsync, a power loss can leave a renamed blob file torn; the next write
    # of the same bytes must not keep it.
    store = BlobStore(tmp_path)
    data = b"real image bytes"
    sha = hashlib.sha256(data).hexdigest()
    store.path(sha).parent.mkdir(parents=True)
    store.path(sha).write_bytes(b"torn")
    blob = store.write([data], sync=False)
    store.sync()
    assert blob.sha256 == sha
    assert store.path(sha).read_bytes() == data
    assert store.hash_file(sha) == sha


def test_sync_of_a_missing_store_is_a_store_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from hib_orchestrator.errors import StoreError

    with pytest.raises(StoreError):
        BlobStore(tmp_path / "nowhere").sync()
