"""One backup per provider host across runners that share an ``s3://`` store.

A folder store's provider lock is a file in the store, so every runner using the folder sees it.
Runners sharing a bucket have nothing in common on disk but the run database, so the lock goes
there: a PostgreSQL session advisory lock (released by the server when the holder's connection
drops, so a killed runner never wedges a provider), or, for a SQLite database (runners on one
machine), an ``flock`` beside the database file. Other databases get no shared lock.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

from hib_orchestrator.errors import StoreError, StoreLocked
from hib_orchestrator.images.blobstore import LOCK_POLL_S, BlobStore


def _key(name: str) -> int:
    """A signed 64-bit advisory lock key for ``name`` (namespaced, stable across processes)."""
    digest = hashlib.sha256(f"hib-image-store:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def provider_lock(engine: Engine, name: str, timeout: float, busy: str) -> Iterator[None]:
    """Hold the database-wide lock ``name``, waiting at most ``timeout`` seconds.

    Raises:
        StoreLocked: another runner still holds it after ``timeout`` (nothing changed).
        StoreError: the lock cannot be taken at all.
    """
    if engine.dialect.name == "postgresql":
        with _advisory(engine, name, timeout, busy):
            yield
        return
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        beside = BlobStore(Path(f"{database}.hib-locks"), lock_timeout=timeout)
        # BlobStore keeps its lock files in <root>/locks.
        with beside.lock(name, busy=busy):
            yield
        return
    yield


@contextmanager
def _advisory(engine: Engine, name: str, timeout: float, busy: str) -> Iterator[None]:
    key = _key(name)
    try:
        conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    except Exception as err:
        raise StoreError(f"image store lock {name!r}: {type(err).__name__}") from err
    try:
        deadline = time.monotonic() + timeout
        while not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
            if time.monotonic() >= deadline:
                raise StoreLocked(
                    f"{busy} (waited {timeout:g}s; HIB_IMAGE_STORE_LOCK_TIMEOUT waits longer)"
                )
            time.sleep(LOCK_POLL_S)
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
    finally:
        conn.close()
