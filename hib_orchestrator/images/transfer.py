"""The transfer engine: one incremental, verified, resumable backup of one provider.

1. One flat listing (retried as a whole on transient errors). No per-object HEAD.
2. Compare with the latest recorded version of each key: same size + native checksum → unchanged
   (its version is extended to this snapshot); a known MD5 already in the store → recorded
   without downloading; everything else is downloaded.
3. Downloads run on a thread pool; each is verified (MD5 vs single-part ETag, git blob SHA-1, or
   size) before its part file is renamed into the store, and recorded in the DB within about a
   second, so a killed run resumes where it stopped.
4. Keys that vanished upstream become tombstones; their blobs stay.
"""

from __future__ import annotations

import gc
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from hib_orchestrator.errors import ChecksumMismatch, HibError, ProviderError, StoreError
from hib_orchestrator.images.blobstore import BlobStore, WrittenBlob
from hib_orchestrator.images.manifest import Known, Manifest
from hib_orchestrator.images.prefetch import Prefetch, context, list_all, safe_name
from hib_orchestrator.images.retry import RetryPolicy
from hib_orchestrator.logs import get_logger, log_context
from hib_orchestrator.providers.base import ObjectInfo, Provider
from hib_orchestrator.providers.registry import ProviderRegistry, default_registry

log = get_logger(__name__)
FLUSH_EVERY_S = 0.5
FLUSH_EVERY_N = 200
POLL_S = 0.05


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a backup is: objects done of total, bytes downloaded."""

    provider: str
    objects_done: int
    objects_total: int
    bytes_done: int


@dataclass(slots=True)
class BackupOptions:
    """Tuning for one backup.

    Attributes:
        workers: concurrent downloads (and pooled connections).
        rate_limit: requests per second to this provider (None: no cap).
        retry: retry policy per listing and per object.
        progress: called (from the calling thread) as objects finish.
        dry_run: list and compare only: counts say what a backup would do; nothing is
            downloaded or recorded (Ansible check mode).
    """

    workers: int = 8
    rate_limit: float | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    progress: Callable[[Progress], None] | None = None
    dry_run: bool = False


@dataclass(slots=True)
class BackupResult:
    """What one provider backup did; plain data for the action plugin and ``hib``."""

    provider: str
    provider_type: str
    snapshot_id: int = 0
    run_id: int | None = None
    status: str = "running"
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted_upstream: int = 0
    failed: int = 0
    bytes: int = 0
    error_code: str | None = None
    error_message: str | None = None
    failures: list[dict[str, str]] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every object was backed up."""
        return self.status == "ok"

    @property
    def content_changed(self) -> bool:
        """True when new content arrived (new or changed objects)."""
        return self.new + self.changed > 0

    def objects(self) -> dict[str, int]:
        """The contract's ``objects`` mapping."""
        return {
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "deleted_upstream": self.deleted_upstream,
            "failed": self.failed,
            "bytes": self.bytes,
        }


@dataclass(slots=True)
class _Plan:
    downloads: list[tuple[ObjectInfo, bool]] = field(default_factory=list)
    bumps: list[int] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    tombstones: list[int] = field(default_factory=list)


def backup(
    host: str,
    provider_type: str,
    settings: Mapping[str, Any],
    *,
    store: BlobStore,
    sessions: sessionmaker[Session],
    run_id: int | None = None,
    options: BackupOptions | None = None,
    registry: ProviderRegistry | None = None,
    prefetch: Prefetch | None = None,
) -> BackupResult:
    """Back up one provider into the store; failures are returned in the result, not raised.

    ``prefetch`` hands over a provider already created, its listing already running
    (:mod:`.prefetch`); it is closed like one made here.

    Raises:
        ConfigError: bad settings or options (the caller reports BAD_CONFIG / exit 2).
        UnsupportedProvider: no plug-in for ``provider_type``.
    """
    options = options or BackupOptions()
    registry = registry or default_registry()
    result = BackupResult(provider=host, provider_type=provider_type, run_id=run_id)
    # A prefetched listing belongs to this backup's duration.
    started = prefetch.started if prefetch is not None else time.monotonic()
    with _long_lived_gc(), log_context(host=host, run_id=run_id, operation="images"):
        if prefetch is None:
            ctx = context(host, store.root, options.workers, options.rate_limit)
            provider = registry.create(provider_type, settings, ctx)
        else:
            provider = prefetch.provider
        try:
            busy = f"a backup of {host} is running"
            with (
                store.lock("store", shared=True, busy="hib prune is running on this image store"),
                store.lock(f"provider-{safe_name(host)}", busy=busy),
                _runners_lock(store, sessions, host, busy),
            ):
                store.clean_parts()
                run = _Run(host, provider, store, Manifest(sessions, host, run_id), options, result)
                run.listed = prefetch.listing if prefetch is not None else None
                if options.dry_run:
                    run.preview()
                else:
                    run.go()
        except HibError as err:
            _fail(result, err)
        finally:
            provider.close()
    result.duration_s = round(time.monotonic() - started, 3)
    return result


class _Run:
    """One backup in progress (split out to keep each step small)."""

    def __init__(
        self,
        host: str,
        provider: Provider,
        store: BlobStore,
        manifest: Manifest,
        options: BackupOptions,
        result: BackupResult,
    ) -> None:
        self.host = host
        self.provider = provider
        self.store = store
        self.manifest = manifest
        self.options = options
        self.result = result
        self.total = 0
        self.done = 0
        self.codes: Counter[str] = Counter()
        #: A listing started before the run (prefetch), else the run lists itself.
        self.listed: Future[list[ObjectInfo]] | None = None

    def preview(self) -> None:
        """Dry run: list and compare, count what would be downloaded; write nothing."""
        try:
            listing = self.listed.result() if self.listed is not None else self._list()
        except ProviderError as err:
            _fail(self.result, err)
            return
        self.total = len(listing)
        for _, is_new in self._plan(listing, self.manifest.known()).downloads:
            if is_new:
                self.result.new += 1
            else:
                self.result.changed += 1
        self.result.status = "ok"

    def go(self) -> None:
        with ThreadPoolExecutor(1, thread_name_prefix="hib-list") as lister:
            # The listing mostly waits on the network (outside the GIL with obstore) while the
            # database opens the snapshot and loads the known versions.
            listed = self.listed or lister.submit(self._list)
            self.result.snapshot_id = self.manifest.start(self.result.provider_type)
            self._go(listed)

    def _go(self, listed: Future[list[ObjectInfo]]) -> None:
        try:
            known = self.manifest.known()
            listing = listed.result()
            self.total = len(listing)
            plan = self._plan(listing, known)
            gc.freeze()  # the listing and the plan live for the whole run (see _long_lived_gc)
            self.manifest.bump(plan.bumps)
            self.manifest.tombstone(plan.tombstones)
            self.done = self.total - len(plan.downloads)
            self.manifest.add(plan.rows, [], self._counts())
            self._report()
            self._download(plan.downloads)
        except ProviderError as err:
            _fail(self.result, err)
            self.manifest.finish("failed", self._counts(), (str(err.code), str(err)))
            return
        except BaseException:
            self.manifest.finish("interrupted", self._counts(), None)
            raise
        status = "ok" if self.result.failed == 0 else "partial"
        self.result.status = status
        error = None
        if self.result.failed:
            code = self.codes.most_common(1)[0][0]
            # Only the first 20 failures are kept; the most common code may not be among them.
            first = next(
                (f for f in self.result.failures if f["code"] == code), self.result.failures[0]
            )
            self.result.error_code = code
            self.result.error_message = (
                f"{self.result.failed} of {self.total} objects failed; "
                f"first {code}: {first['key']}: {first['message']}"
            )
            error = (code, self.result.error_message)
        if self.store.keeps_manifests:
            try:
                self.store.publish(self.manifest, self.manifest.present())
            except StoreError as err:  # the blobs are kept; the snapshot is not complete
                _fail(self.result, err)
                status, error = "failed", (str(err.code), err.message)
        self.manifest.finish(status, self._counts(), error)

    def _counts(self) -> dict[str, int]:
        r = self.result
        return {
            "objects_total": self.total,
            "new": r.new,
            "changed": r.changed,
            "unchanged": r.unchanged,
            "deleted_upstream": r.deleted_upstream,
            "failed": r.failed,
            "bytes": r.bytes,
        }

    def _list(self) -> list[ObjectInfo]:
        return list_all(self.provider, self.options.retry)

    def _plan(self, listing: list[ObjectInfo], known: dict[str, Known]) -> _Plan:
        prev = self.manifest.previous_id
        plan = _Plan()
        r = self.result
        candidates: list[tuple[ObjectInfo, Known | None, bool]] = []
        for obj in listing:
            k = known.get(obj.key)
            same = k is not None and k.size == obj.size and k.etag == obj.etag
            if k is not None and same and not k.deleted:
                r.unchanged += 1
                if k.last_seen == prev:
                    plan.bumps.append(k.id)
                else:  # a gap (interrupted run in between): a fresh version, same blob
                    plan.rows.append(self.manifest.entry_row(obj.key, obj.size, obj.etag, k.blob))
                continue
            candidates.append((obj, k, same))
        # Only what is not unchanged is looked up by MD5 (a no-change run looks up nothing).
        md5s = self.manifest.md5_index(o.etag for o, _, _ in candidates if o.kind == "md5")
        for obj, k, same in candidates:
            reuse = k.blob if (k is not None and same) else md5s.get((obj.etag, obj.size))
            if reuse is not None:
                self._count_new(k)
                plan.rows.append(self.manifest.entry_row(obj.key, obj.size, obj.etag, reuse))
            else:
                plan.downloads.append((obj, k is None or k.deleted))
        listed = {o.key for o in listing}
        for key, k in known.items():
            if not k.deleted and key not in listed:
                plan.tombstones.append(k.id)
        r.deleted_upstream = len(plan.tombstones)
        return plan

    def _count_new(self, known: Known | None) -> None:
        if known is None or known.deleted:
            self.result.new += 1
        else:
            self.result.changed += 1

    def _download(self, todo: list[tuple[ObjectInfo, bool]]) -> None:
        if not todo:
            return
        rows: list[dict[str, Any]] = []
        blobs: list[dict[str, Any]] = []
        pool = _Pool(todo, self._fetch, self.options.workers)
        last_flush = time.monotonic()
        try:
            while True:
                running = pool.running()
                while pool.outcomes:
                    self._collect(*pool.outcomes.popleft(), rows, blobs)
                now = time.monotonic()
                if not running:
                    break
                if len(rows) >= FLUSH_EVERY_N or (rows and now - last_flush >= FLUSH_EVERY_S):
                    self._record(rows, blobs)
                    rows, blobs, last_flush = [], [], now
                pool.wait(POLL_S)
        except BaseException:
            pool.stop()
            for obj, is_new, blob, _ in pool.outcomes:  # what finished before the stop is kept
                if blob is not None:
                    self._collect(obj, is_new, blob, None, rows, blobs)
            self._record(rows, blobs)
            raise
        self._record(rows, blobs)

    def _record(self, rows: list[dict[str, Any]], blobs: list[dict[str, Any]]) -> None:
        # Blobs are written without a per-file fsync; one sync makes the batch durable before
        # the database names it (see blobstore).
        if blobs:
            self.store.sync()
        self.manifest.add(rows, blobs, self._counts())
        self.store.settle(b["sha256"] for b in blobs)

    def _collect(
        self,
        obj: ObjectInfo,
        is_new: bool,
        blob: WrittenBlob | None,
        err: BaseException | None,
        rows: list[dict[str, Any]],
        blobs: list[dict[str, Any]],
    ) -> None:
        self.done += 1
        if blob is not None:
            blobs.append({"sha256": blob.sha256, "size": blob.size, "md5": blob.md5 or None})
            rows.append(self.manifest.entry_row(obj.key, obj.size, obj.etag, blob.sha256))
            self.result.bytes += blob.size
            if is_new:
                self.result.new += 1
            else:
                self.result.changed += 1
        elif isinstance(err, Exception):
            if not isinstance(err, HibError):  # a bug or an unmapped client error: keep going
                log.error("%s: unexpected %s: %s", obj.key, type(err).__name__, err)
                err = HibError(f"unexpected {type(err).__name__}")
            self.result.failed += 1
            self.codes[str(err.code)] += 1
            if len(self.result.failures) < 20:
                self.result.failures.append(
                    {"key": obj.key, "code": str(err.code), "message": err.message}
                )
            log.warning("%s: %s [%s]", obj.key, err.message, err.code)
        elif err is not None:
            raise err
        self._report()

    def _report(self) -> None:
        if self.options.progress is not None:
            self.options.progress(Progress(self.host, self.done, self.total, self.result.bytes))

    def _fetch(self, obj: ObjectInfo) -> WrittenBlob:
        def once() -> WrittenBlob:
            return self.store.write(
                self.provider.iter_bytes(obj),
                declared_size=obj.size,
                want_md5=True,
                want_git=obj.kind == "git-sha1",
                verify=lambda blob: _verify(obj, blob),
                sync=False,
            )

        return self.options.retry.call(once)


def _verify(obj: ObjectInfo, blob: WrittenBlob) -> None:
    if blob.size != obj.size:
        raise ChecksumMismatch(f"{obj.key}: got {blob.size} bytes, listed {obj.size}")
    if obj.kind == "md5" and blob.md5 != obj.etag.lower():
        raise ChecksumMismatch(f"{obj.key}: MD5 {blob.md5} != ETag {obj.etag}")
    if obj.kind == "git-sha1" and blob.git_sha1 != obj.etag.lower():
        raise ChecksumMismatch(f"{obj.key}: git blob {blob.git_sha1} != {obj.etag}")


class _Pool:
    """``workers`` threads fetching ``todo``; outcomes are left on :attr:`outcomes`.

    The workers take the next object themselves and the engine's thread empties the deque
    every ``POLL_S``: no future, wake-up or hand-off per object (with a native client that
    waits outside the GIL, those hand-offs were a third of the engine's context switches).
    Nothing is queued ahead of the workers, so memory stays flat.
    """

    def __init__(
        self,
        todo: list[tuple[ObjectInfo, bool]],
        fetch: Callable[[ObjectInfo], WrittenBlob],
        workers: int,
    ) -> None:
        self.outcomes: deque[tuple[ObjectInfo, bool, WrittenBlob | None, BaseException | None]]
        self.outcomes = deque()
        self._source = iter(todo)
        self._take = threading.Lock()
        self._stop = threading.Event()
        self._fetch = fetch
        self._threads = [
            threading.Thread(target=self._work, name=f"hib-dl-{i}")
            for i in range(max(1, min(workers, len(todo))))
        ]
        for t in self._threads:
            t.start()

    def _work(self) -> None:
        while not self._stop.is_set():
            with self._take:
                item = next(self._source, None)
            if item is None:
                return
            try:
                self.outcomes.append((item[0], item[1], self._fetch(item[0]), None))
            except BaseException as err:  # recorded (or re-raised) by the engine's thread
                self.outcomes.append((item[0], item[1], None, err))

    def running(self) -> bool:
        """True while a worker is still busy."""
        return any(t.is_alive() for t in self._threads)

    def wait(self, seconds: float) -> None:
        """Sleep ``seconds`` (woken early by :meth:`stop`)."""
        self._stop.wait(seconds)

    def stop(self) -> None:
        """Let each worker finish its current object, then return."""
        self._stop.set()
        for t in self._threads:
            t.join()


@contextmanager
def _long_lived_gc() -> Iterator[None]:
    """Keep the cyclic collector off what lives for the whole backup.

    Full collections kept re-walking every imported module, the listing and the known versions
    (~10% of a full backup's CPU); frozen objects are skipped, and young ones are collected
    less often (the download loop makes little cyclic garbage). Restored afterwards.
    """
    old = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(old[0], 20_000), old[1], old[2])
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()


def _runners_lock(
    store: BlobStore, sessions: sessionmaker[Session], host: str, busy: str
) -> AbstractContextManager[None]:
    """The provider lock other runners of a shared store see (in the run database)."""
    if not store.shared_by_runners:
        return nullcontext()
    from hib_orchestrator.images.sharedlock import provider_lock

    return provider_lock(
        sessions.kw["bind"], f"provider-{safe_name(host)}", store.lock_timeout, busy
    )


def _fail(result: BackupResult, err: HibError) -> None:
    result.status = "failed"
    result.error_code = str(err.code)
    result.error_message = err.message
