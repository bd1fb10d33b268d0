"""The content-addressed image store on S3-compatible object storage (``s3://bucket/prefix``).

Layout under the prefix::

    blobs/ab/cd/<sha256>                               one object per distinct content
    snapshots/<provider>/<snapshot>-run<run>-<uuid>.json  one manifest per finished snapshot
    trash/<sha256>                                     only while a prune sweeps (see s3gc)

Safe with many runners writing at once:

* a blob's key is its SHA-256 and an existing key is never rewritten: puts are conditional
  (``If-None-Match: *``; a server that does not support it is asked by ``HEAD`` first), so two
  runners storing the same bytes both succeed and the object is whatever the first wrote;
* a manifest's name carries the snapshot id, the run id and a fresh uuid, and is put
  conditionally too, so no runner overwrites another's;
* a blob this process found already present (the put answered 412) is not trusted blindly: its
  download is kept on local disk until the database has recorded it, then :meth:`settle` checks
  the object is still there and puts it again if a concurrent prune swept it in between (the
  other half of that rule is in :mod:`.s3gc`).

Downloads are verified on local disk first (``<scratch>/tmp``, the same code as the folder
store), then uploaded, so a bad download never reaches the bucket. Per-runner state (that
scratch folder, provider locks, GitHub mirrors) lives under ``$HIB_HOME/images-s3``; nothing in
it is shared, so separate ``HIB_HOME``\\ s sharing one bucket and one database are correct.
Credentials come from boto3's usual chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/
``AWS_SESSION_TOKEN``, a profile, an instance role).
"""

from __future__ import annotations

import io
import json
import os
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hib_orchestrator.errors import ConfigError, StoreError
from hib_orchestrator.images.blobstore import DEFAULT_LOCK_TIMEOUT, BlobStore
from hib_orchestrator.images.prefetch import safe_name

CHUNK = 1 << 20
#: This process, as its manifests name their writer.
RUNNER_ID = uuid.uuid4().hex[:12]
_MISSING = {"404", "NoSuchKey", "NotFound"}
_DENIED = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403"}


@dataclass(frozen=True, slots=True)
class StoreUrl:
    """``s3://bucket/prefix`` split; ``prefix`` is empty or ends with ``/``."""

    bucket: str
    prefix: str

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def parse_url(url: str) -> StoreUrl:
    """Split an image store URL.

    Raises:
        ConfigError: not ``s3://`` or no bucket.
    """
    parts = urlsplit(url)
    if parts.scheme != "s3":
        raise ConfigError(
            f"HIB_IMAGE_STORE {url!r}: unsupported scheme {parts.scheme + '://'!r} "
            "(use a folder or s3://bucket/prefix)"
        )
    if not parts.netloc:
        raise ConfigError(f"HIB_IMAGE_STORE {url!r}: no bucket (use s3://bucket/prefix)")
    prefix = parts.path.strip("/")
    return StoreUrl(parts.netloc, f"{prefix}/" if prefix else "")


def snapshot_stamp(at: datetime | None) -> str:
    """A snapshot's start as manifests record it (UTC, whole seconds: what every database
    returns alike)."""
    if at is None:
        return ""
    at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return at.astimezone(UTC).replace(microsecond=0).isoformat()


@dataclass(frozen=True, slots=True)
class StoredObject:
    """A blob object as listed: its sha256 name, size and last write."""

    sha256: str
    size: int
    last_modified: datetime


class S3BlobStore(BlobStore):
    """Blobs and snapshot manifests in a bucket; verification and locks on local scratch."""

    keeps_manifests = True
    shared_by_runners = True
    read_parallelism = 16

    def __init__(
        self,
        url: str,
        scratch: str | Path,
        *,
        endpoint: str | None = None,
        region: str | None = None,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        prune_wait_s: float = 3600.0,
        orphan_grace_s: float = 3600.0,
    ) -> None:
        super().__init__(scratch, lock_timeout=lock_timeout)
        #: How long prune waits for backups running at its mark (see s3gc).
        self.prune_wait_s = prune_wait_s
        #: Objects with no blob row are swept only when older than this (a killed run's).
        self.orphan_grace_s = orphan_grace_s
        self.url = parse_url(url)
        if endpoint is not None:
            ep = urlsplit(endpoint)
            if ep.scheme not in ("http", "https") or not ep.netloc:
                raise ConfigError(
                    f"HIB_IMAGE_STORE_ENDPOINT must be an http(s) URL, not {endpoint!r}"
                )
        self.endpoint = endpoint
        self.region = region
        self._session, self.client = _client(endpoint, region)
        self._conditional = True  # If-None-Match on PUT, until the server says it cannot
        self._pending: list[tuple[str, str]] = []  # (sha256, kept download), see settle
        self._pending_lock = threading.Lock()

    @property
    def label(self) -> str:
        """How messages name the store."""
        return str(self.url)

    def key(self, *parts: str) -> str:
        """An object key under the store's prefix."""
        return self.url.prefix + "/".join(parts)

    def blob_key(self, sha256: str) -> str:
        """Where blob ``sha256`` lives in the bucket."""
        return self.key("blobs", sha256[:2], sha256[2:4], sha256)

    # -- opening ------------------------------------------------------------------------------

    def check(self) -> None:
        """Fail now, in one line, when the bucket cannot be used (commands validate at start).

        Raises:
            ConfigError: no credentials, credentials rejected, no such bucket, no endpoint.
        """
        if self._session.get_credentials() is None:  # what boto3's chain resolved
            raise ConfigError(
                f"image store {self.url}: no credentials (set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, or an AWS profile)"
            )
        try:
            self._call("head_bucket", Bucket=self.url.bucket)
        except StoreError as err:
            raise ConfigError(err.message) from err

    # -- writing ------------------------------------------------------------------------------

    def _place(self, part: str, digest: str) -> None:
        # The verified part file goes to the bucket instead of being renamed into place.
        if self._put_file(self.blob_key(digest), part):
            os.unlink(part)
            return
        # Already there: keep the bytes until the database has recorded them (settle).
        kept = part[: -len(".part")] + "-kept.part"  # still this pid's: clean_parts knows it
        os.replace(part, kept)
        with self._pending_lock:
            self._pending.append((digest, kept))

    def _put_file(self, key: str, path: str) -> bool:
        """Upload ``path`` to ``key`` unless the key exists; True when this call wrote it."""
        if not self._conditional and self._exists(key):
            return False
        with open(path, "rb") as body:
            return self._put(key, body)

    def _put(self, key: str, body: Any) -> bool:
        from botocore.exceptions import ClientError

        extra = {"IfNoneMatch": "*"} if self._conditional else {}
        try:
            self.client.put_object(Bucket=self.url.bucket, Key=key, Body=body, **extra)
        except ClientError as err:
            code = _code(err)
            if code in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409"):
                return False
            if code in ("NotImplemented", "501") and self._conditional:
                self._conditional = False  # an older server: ask by HEAD from now on
                body.seek(0)
                return False if self._exists(key) else self._put(key, body)
            raise _store_error(err, f"image store {self.url}: PUT {key}", self.endpoint) from err
        except Exception as err:  # botocore transport errors
            raise _store_error(err, f"image store {self.url}: PUT {key}", self.endpoint) from err
        return True

    def sync(self) -> None:
        """Nothing to do: a PUT the server answered is durable."""

    def settle(self, recorded: Iterable[str]) -> None:
        """After the database recorded blobs ``recorded``: each of them that was already in the
        bucket when this run stored it must still be there (a prune running at the same time
        may have swept it just before the record named it); put it again from the kept
        download if not. Kept downloads of blobs not recorded yet wait for their batch.

        Raises:
            StoreError: the bucket cannot be reached.
        """
        done = set(recorded)
        with self._pending_lock:
            now = [(sha, kept) for sha, kept in self._pending if sha in done]
            self._pending = [(sha, kept) for sha, kept in self._pending if sha not in done]
        for sha, kept in now:
            try:
                if not self._exists(self.blob_key(sha)):
                    self._put_file(self.blob_key(sha), kept)
            finally:
                Path(kept).unlink(missing_ok=True)

    def publish(self, snapshot: Any, entries: Sequence[Sequence[Any]]) -> None:
        """Write the snapshot's manifest (key, sha256, size of each object) under a name no
        other runner uses.

        Raises:
            StoreError: the put failed.
        """
        run_id = snapshot.run_id
        doc = {
            "format": 1,
            "provider": snapshot.provider,
            "snapshot_id": snapshot.snapshot_id,
            "started_at": snapshot_stamp(snapshot.started_at),
            "run_id": run_id,
            "runner": RUNNER_ID,
            "entries": [list(e) for e in entries],
        }
        # A fresh uuid per manifest: one process may write for several databases (whose
        # snapshot and run ids overlap), and the put is conditional, so no name is reused.
        name = (
            f"{snapshot.snapshot_id:010d}-run{run_id if run_id is not None else 'none'}-"
            f"{uuid.uuid4().hex}.json"
        )
        key = self.key("snapshots", safe_name(snapshot.provider), name)
        if not self._put(key, io.BytesIO(json.dumps(doc).encode())):
            raise StoreError(f"image store {self.url}: manifest {key} exists already")

    # -- reading ------------------------------------------------------------------------------

    def _exists(self, key: str) -> bool:
        try:
            self._call("head_object", Bucket=self.url.bucket, Key=key)
        except FileNotFoundError:
            return False
        return True

    def has(self, sha256: str) -> bool:
        """True when the blob object exists (one HEAD)."""
        return self._exists(self.blob_key(sha256))

    def open(self, sha256: str) -> Iterator[bytes]:
        """The blob's bytes in chunks.

        Raises:
            FileNotFoundError: no such blob.
            StoreError: the bucket cannot be read.
        """
        key = self.blob_key(sha256)
        body = self._call("get_object", Bucket=self.url.bucket, Key=key)["Body"]
        try:
            yield from body.iter_chunks(CHUNK)
        except Exception as err:
            raise _store_error(err, f"image store {self.url}: GET {key}", self.endpoint) from err
        finally:
            body.close()

    def copy_to(self, sha256: str, dest: Path) -> None:
        """Download a blob to ``dest`` (via a part file and rename).

        Raises:
            FileNotFoundError: no such blob.
        """
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".hib-part")
        try:
            with tmp.open("wb") as fh:
                for chunk in self.open(sha256):
                    fh.write(chunk)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, dest)

    def delete(self, sha256: str) -> int:
        """Remove a blob object; returns the bytes freed (0 when it was not there)."""
        key = self.blob_key(sha256)
        try:
            size = int(self._call("head_object", Bucket=self.url.bucket, Key=key)["ContentLength"])
        except FileNotFoundError:
            return 0
        self._call("delete_object", Bucket=self.url.bucket, Key=key)
        return size

    def iter_objects(self) -> Iterator[StoredObject]:
        """Every blob object with its size and last write."""
        for item in self._list(self.key("blobs") + "/"):
            yield StoredObject(
                item["Key"].rsplit("/", 1)[-1], int(item["Size"]), item["LastModified"]
            )

    def iter_files(self) -> Iterator[tuple[str, Path]]:  # pragma: no cover - folder stores only
        raise NotImplementedError("an object store has no blob files; use iter_objects()")

    def manifests(self) -> Iterator[dict[str, Any]]:
        """Every snapshot manifest in the bucket, whichever runner (or database) wrote it."""
        for item in self._list(self.key("snapshots") + "/"):
            try:
                body = self._call("get_object", Bucket=self.url.bucket, Key=item["Key"])["Body"]
            except FileNotFoundError:  # removed by a concurrent prune
                continue
            with body:
                doc = json.loads(body.read())
            doc["object_key"] = item["Key"]
            yield doc

    def drop_manifests(self, snapshots: set[tuple[str, int, str]]) -> None:
        """Delete the manifests of pruned snapshots, given as (provider, snapshot id,
        :func:`snapshot_stamp` of its start). The stamp must match too: a runner with another
        database may have a snapshot of the same provider and id, and its manifest stays."""
        wanted = {(safe_name(p), sid): (p, stamp) for p, sid, stamp in snapshots}
        for item in self._list(self.key("snapshots") + "/"):
            *_, folder, name = item["Key"].split("/")
            head = name.split("-", 1)[0]
            match = wanted.get((folder, int(head))) if head.isdigit() else None
            if match is None:
                continue
            try:
                body = self._call("get_object", Bucket=self.url.bucket, Key=item["Key"])["Body"]
            except FileNotFoundError:
                continue
            with body:
                doc = json.loads(body.read())
            if (doc.get("provider"), doc.get("started_at")) == match:
                self._call("delete_object", Bucket=self.url.bucket, Key=item["Key"])

    # -- sweeping (used by s3gc only) -------------------------------------------------------

    def trash(self, sha256: str) -> None:
        """Move a blob to ``trash/`` (copy, then delete) so a sweep can still be undone."""
        self._call(
            "copy_object",
            Bucket=self.url.bucket,
            Key=self.key("trash", sha256),
            CopySource={"Bucket": self.url.bucket, "Key": self.blob_key(sha256)},
        )
        self._call("delete_object", Bucket=self.url.bucket, Key=self.blob_key(sha256))

    def untrash(self, sha256: str) -> None:
        """Put a swept blob back (a snapshot named it while it was being swept)."""
        self._call(
            "copy_object",
            Bucket=self.url.bucket,
            Key=self.blob_key(sha256),
            CopySource={"Bucket": self.url.bucket, "Key": self.key("trash", sha256)},
        )
        self.purge(sha256)

    def iter_trash(self) -> Iterator[str]:
        """The sha256 of every blob in ``trash/``."""
        for item in self._list(self.key("trash") + "/"):
            yield item["Key"].rsplit("/", 1)[-1]

    def purge(self, sha256: str) -> None:
        """Delete a blob's trash copy."""
        self._call("delete_object", Bucket=self.url.bucket, Key=self.key("trash", sha256))

    # -- locks --------------------------------------------------------------------------------

    @contextmanager
    def lock(self, name: str, *, shared: bool = False, busy: str = "") -> Iterator[None]:
        """Provider locks here are this runner's own (local scratch; the engine also takes one
        in the run database, :mod:`.sharedlock`); the ``store`` lock is not taken at all,
        because runners on other machines could not see it: prune is safe against concurrent
        backups by its sweep rule instead (:mod:`.s3gc`)."""
        if name == "store":
            yield
            return
        with super().lock(name, shared=shared, busy=busy):
            yield

    # -- plumbing -----------------------------------------------------------------------------

    def _list(self, prefix: str) -> Iterator[dict[str, Any]]:
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Bucket": self.url.bucket, "Prefix": prefix}
            if token:
                kwargs["ContinuationToken"] = token
            page = self._call("list_objects_v2", **kwargs)
            yield from page.get("Contents", [])
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return

    def _call(self, op: str, **kwargs: Any) -> Any:
        """One client call; a missing key is FileNotFoundError, anything else StoreError."""
        from botocore.exceptions import ClientError

        try:
            return getattr(self.client, op)(**kwargs)
        except ClientError as err:
            if "Key" in kwargs and _code(err) in _MISSING:
                raise FileNotFoundError(kwargs["Key"]) from err
            raise _store_error(err, f"image store {self.url}: {op}", self.endpoint) from err
        except Exception as err:  # botocore transport and credential errors
            raise _store_error(err, f"image store {self.url}: {op}", self.endpoint) from err


def _client(endpoint: str | None, region: str | None) -> tuple[Any, Any]:
    try:
        import boto3
        from botocore.config import Config
    except ImportError as err:  # pragma: no cover - extra not installed
        raise ConfigError(
            "an s3:// image store needs boto3: pip install 'hib-orchestrator[s3]'"
        ) from err
    session = boto3.session.Session()
    config = Config(
        region_name=region or session.region_name or "us-east-1",
        # Custom endpoints (MinIO, Ceph, the lab) are served path-style.
        s3={"addressing_style": "path" if endpoint else "auto"},
        retries={"total_max_attempts": 3, "mode": "standard"},
        connect_timeout=5,
        read_timeout=60,
        max_pool_connections=32,
    )
    return session, session.client("s3", endpoint_url=endpoint, config=config)


def _code(err: Any) -> str:
    error = err.response.get("Error", {})
    return str(error.get("Code") or err.response.get("ResponseMetadata", {}).get("HTTPStatusCode"))


def _store_error(err: Exception, what: str, endpoint: str | None) -> StoreError:
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    if isinstance(err, ClientError):
        code = _code(err)
        if code in ("NoSuchBucket",) or (code == "404" and "head_bucket" in what):
            return StoreError(f"{what}: the bucket does not exist")
        if code in _DENIED:
            return StoreError(f"{what}: credentials rejected ({code})")
        return StoreError(f"{what}: {code}")
    if isinstance(err, NoCredentialsError):
        return StoreError(f"{what}: no credentials (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)")
    if isinstance(err, EndpointConnectionError):
        return StoreError(f"{what}: cannot reach {endpoint or 'the S3 endpoint'}")
    return StoreError(f"{what}: {type(err).__name__}: {str(err)[:160]}")
