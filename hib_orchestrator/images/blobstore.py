"""Content-addressed blobs on the filesystem: ``blobs/ab/cd/<sha256>``.

Every write goes to ``tmp/<pid>-<n>.part`` and is renamed into place once verified, so a blob
file is complete or absent for every reader (and after a kill -9). Durability against a power
loss comes either from an fsync per file (``write(sync=True)``) or, cheaper, from one
:meth:`BlobStore.sync` before the caller records a batch of blobs: an fsync per file cost ~0.45
ms of machine CPU per object on ext4 (a journal commit each), one ``syncfs`` per batch ~0.05.
Either way a recorded blob is durable; an unrecorded one a power loss tore is never trusted,
because a write of the same bytes replaces the file instead of keeping it. Parts left by a
killed process (its pid is gone) are removed by :meth:`BlobStore.clean_parts` at the start of
the next run.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import itertools
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from hib_orchestrator.errors import StoreError, StoreLocked
from hib_orchestrator.procs import pid_alive

LOCK_POLL_S = 0.1
DEFAULT_LOCK_TIMEOUT = 60.0
_counter = itertools.count()
try:  # Linux: sync one filesystem, not every one
    _syncfs: Callable[[int], int] | None = ctypes.CDLL(None, use_errno=True).syncfs
except (OSError, AttributeError):  # pragma: no cover - not Linux
    _syncfs = None
_counter_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class WrittenBlob:
    """What :meth:`BlobStore.write` stored: sha256, md5, git blob sha1 and size."""

    sha256: str
    md5: str
    git_sha1: str
    size: int


class BlobStore:
    """A folder of immutable blobs named by their SHA-256.

    ``lock_timeout``: how long :meth:`lock` waits for another run before ``STORE_LOCKED``.
    """

    #: A folder keeps its snapshots in the run database only (see :meth:`publish`).
    keeps_manifests = False
    #: Other runners reach this store without seeing its lock files (provider locks then also
    #: go through the run database, see sharedlock).
    shared_by_runners = False
    #: Blobs ``hib verify`` reads at once (local reads gain nothing from threads).
    read_parallelism = 1

    def __init__(self, root: str | Path, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        self.root = Path(root)
        self.blobs = self.root / "blobs"
        self.tmp = self.root / "tmp"
        self.lock_timeout = lock_timeout

    @property
    def label(self) -> str:
        """How messages name the store."""
        return str(self.root)

    def path(self, sha256: str) -> Path:
        """Where blob ``sha256`` lives (two fan-out levels keep folders small)."""
        return self.blobs / sha256[:2] / sha256[2:4] / sha256

    def has(self, sha256: str) -> bool:
        """True when the blob file exists."""
        return self.path(sha256).is_file()

    def write(
        self,
        chunks: Iterable[bytes],
        *,
        declared_size: int | None = None,
        want_md5: bool = True,
        want_git: bool = False,
        verify: Callable[[WrittenBlob], None] | None = None,
        sync: bool = True,
    ) -> WrittenBlob:
        """Stream ``chunks`` into the store, hashing on the way.

        MD5 and the git blob SHA-1 are computed only when asked (they verify the download).
        ``declared_size`` (the listed size) lets the git blob SHA-1 be computed in one pass;
        when it turns out wrong the git hash is simply not comparable (the caller checks size).
        ``verify`` runs before the part file is renamed into place; if it raises, nothing is
        stored. ``sync=False`` skips the file's fsync: call :meth:`sync` before recording it.

        Raises:
            StoreError: the store cannot be written (disk full, permissions).
            ProviderError: whatever the chunk iterator raises (the part file is removed).
        """
        with _counter_lock:
            n = next(_counter)
        part = os.path.join(self.tmp, f"{os.getpid()}-{threading.get_ident()}-{n}.part")
        sha = hashlib.sha256()
        hashers = [sha]
        md5 = hashlib.md5(usedforsecurity=False) if want_md5 else None
        git = hashlib.sha1(usedforsecurity=False) if want_git else None
        if md5 is not None:
            hashers.append(md5)
        if git is not None:
            git.update(b"blob %d\0" % (declared_size or 0))
            hashers.append(git)
        size = 0
        source = iter(chunks)
        try:
            with self._create(part) as fh:
                while (chunk := _next_chunk(source)) is not None:
                    fh.write(chunk)
                    for h in hashers:
                        h.update(chunk)
                    size += len(chunk)
                if sync:
                    fh.flush()
                    os.fsync(fh.fileno())
            digest = sha.hexdigest()
            written = WrittenBlob(
                digest,
                md5.hexdigest() if md5 is not None else "",
                git.hexdigest() if git is not None and declared_size == size else "",
                size,
            )
            if verify is not None:
                verify(written)
            self._place(part, digest)
        except _SourceError as wrapped:
            _unlink(part)
            raise wrapped.error from None
        except OSError as err:
            _unlink(part)
            raise StoreError(f"image store {self.root}: {err.strerror or err}") from err
        except BaseException:
            _unlink(part)
            raise
        return written

    # Folders are made only when an open or rename says they are missing: two mkdir calls per
    # object (tmp/ and blobs/ab/cd/) were a measurable share of a download's CPU.
    def _create(self, part: str) -> BinaryIO:
        try:
            return open(part, "wb")  # closed by the caller's with-block
        except FileNotFoundError:
            self.tmp.mkdir(parents=True, exist_ok=True)
            return open(part, "wb")  # closed by the caller's with-block

    def _place(self, part: str, digest: str) -> None:
        # An existing file with this name is replaced, not kept: if it was never recorded, a
        # power loss may have torn it (module docstring).
        final = self.path(digest)
        try:
            os.replace(part, final)
        except FileNotFoundError:
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(part, final)

    def sync(self) -> None:
        """Make every blob written so far durable: ``syncfs`` of the store's filesystem (Linux),
        else a system-wide ``sync``.

        Raises:
            StoreError: the filesystem reported a write error.
        """
        try:
            fd = os.open(self.root, os.O_RDONLY)
        except OSError as err:
            raise StoreError(f"image store {self.root}: {err.strerror}") from err
        try:
            if _syncfs is None:
                os.sync()
            elif _syncfs(fd) != 0:
                reason = os.strerror(ctypes.get_errno())
                raise StoreError(f"image store {self.root}: sync: {reason}")
        finally:
            os.close(fd)

    def settle(self, recorded: Iterable[str]) -> None:
        """Called after the database recorded the blobs ``recorded``; nothing to do for a
        folder (see the object store's version)."""

    def publish(self, snapshot: Any, entries: Sequence[Sequence[Any]]) -> None:
        """Write a finished snapshot's manifest into the store (``snapshot``: its
        :class:`~.manifest.Manifest`); a folder keeps none (snapshots live in the database)."""

    def open(self, sha256: str) -> Iterator[bytes]:
        """The blob's bytes in chunks."""
        with self.path(sha256).open("rb") as fh:
            while chunk := fh.read(1 << 20):
                yield chunk

    def hash_file(self, sha256: str) -> str | None:
        """SHA-256 of the stored file, or None when it is missing."""
        h = hashlib.sha256()
        try:
            for chunk in self.open(sha256):
                h.update(chunk)
        except FileNotFoundError:
            return None
        return h.hexdigest()

    def copy_to(self, sha256: str, dest: Path) -> None:
        """Copy a blob to ``dest`` (via a part file and rename)."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".hib-part")
        shutil.copyfile(self.path(sha256), tmp)
        os.replace(tmp, dest)

    def delete(self, sha256: str) -> int:
        """Remove a blob file; returns the bytes freed (0 when it was not there)."""
        path = self.path(sha256)
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            return 0
        return size

    def iter_files(self) -> Iterator[tuple[str, Path]]:
        """Every blob file as (sha256 name, path)."""
        if not self.blobs.is_dir():
            return
        for first in sorted(self.blobs.iterdir()):
            for second in sorted(first.iterdir()):
                for path in sorted(second.iterdir()):
                    yield path.name, path

    @contextmanager
    def lock(self, name: str, *, shared: bool = False, busy: str = "") -> Iterator[None]:
        """Hold ``locks/<name>.lock`` (flock, shared or exclusive), waiting at most
        :attr:`lock_timeout` seconds for another run to let go.

        Backups hold ``store`` shared and ``provider-<host>`` exclusive; prune holds ``store``
        exclusive, so garbage collection never races a backup that is adding references. The
        kernel drops a dead holder's lock, so a killed run never wedges the store.

        Raises:
            StoreLocked: still taken after the timeout (``busy`` says by what); nothing changed.
            StoreError: the lock file cannot be created.
        """
        locks = self.root / "locks"
        try:
            locks.mkdir(parents=True, exist_ok=True)
            fd = os.open(locks / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise StoreError(f"image store {self.root}: {err.strerror}") from err
        try:
            deadline = time.monotonic() + self.lock_timeout
            while True:
                try:
                    fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
                    break
                except BlockingIOError as err:
                    if time.monotonic() >= deadline:
                        raise StoreLocked(
                            f"{busy or f'image store lock {name!r} is held'} (waited "
                            f"{self.lock_timeout:g}s; HIB_IMAGE_STORE_LOCK_TIMEOUT waits longer)"
                        ) from err
                time.sleep(LOCK_POLL_S)
            yield
        finally:
            os.close(fd)

    def clean_parts(self) -> int:
        """Remove part files whose writer process is gone; returns how many."""
        removed = 0
        if not self.tmp.is_dir():
            return 0
        for part in self.tmp.glob("*.part"):
            pid = part.name.split("-", 1)[0]
            if pid.isdigit() and not pid_alive(int(pid)):
                part.unlink(missing_ok=True)
                removed += 1
        return removed


class _SourceError(Exception):
    """Carries an exception raised by the chunk source past the disk-error handler."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _next_chunk(source: Iterator[bytes]) -> bytes | None:
    try:
        return next(source)
    except StopIteration:
        return None
    except Exception as err:  # provider/network errors are not store errors
        raise _SourceError(err) from err
