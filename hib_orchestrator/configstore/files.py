"""Atomic file writes and the store lock: the two filesystem primitives of the store."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from hib_orchestrator.errors import StoreError, StoreLocked

LOCK_POLL_S = 0.1


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old or the new file, never a part.

    Temp file in the same directory, ``fsync``, ``rename`` over, ``fsync`` the directory.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@contextlib.contextmanager
def store_lock(lock_file: Path, timeout: float) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_file``, waiting at most ``timeout`` seconds.

    The kernel drops the lock when the holder dies, so a crashed run never wedges the store.

    Raises:
        StoreLocked: still locked by another run after ``timeout`` seconds (nothing changed).
        StoreError: the lock file cannot be opened or locked at all.
    """
    try:
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as err:
        raise StoreError(f"cannot open the config store lock {lock_file}: {err}") from err
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as err:
                if err.errno not in (errno.EAGAIN, errno.EACCES):
                    raise StoreError(f"cannot lock the config store: {err}") from err
            if time.monotonic() >= deadline:
                raise StoreLocked(
                    f"config store is locked by another run (waited {timeout:g}s; "
                    f"raise hib_store_lock_timeout to wait longer): {lock_file}"
                )
            time.sleep(LOCK_POLL_S)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)
