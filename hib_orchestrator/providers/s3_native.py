"""S3 object downloads through obstore (Rust ``object_store``): HTTP and SigV4 outside the GIL.

The Python clients (urllib3 + botocore signing) cost ~2.5 ms of interpreter time per object and
their work is serialised by the GIL, so 16 download threads used one core. obstore signs with a
header, speaks HTTP and buffers the body in Rust with the GIL released; Python only hashes
(hashlib releases the GIL for large buffers) and writes the chunks.

What obstore cannot do is kept elsewhere, so every guarantee of the engine stays:

* Listing stays with boto3 (S3 prefix semantics, v1 markers for COS, any key): object_store
  rejects a whole listing that holds one key such as ``./a.png``.
* Keys object_store would rewrite (``/a``, ``dir/``, ``a//b``, ``.``/``..`` segments, control
  characters) are fetched by the Python client; :func:`native_key` tells them apart.
* object_store's error carries the status but not the headers, so ``Retry-After`` is invisible
  here: a 429/503 raises RATE_LIMITED (the engine backs off) and :attr:`NativeGetter.throttled`
  turns on, after which the provider sends every download through the Python client, which
  reads ``Retry-After`` and pauses every worker for it.
* Retries are the engine's: obstore's own are off.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from hib_orchestrator.errors import (
    NetworkError,
    NotFound,
    ProviderAuthFailed,
    ProviderError,
    RateLimited,
)
from hib_orchestrator.providers.ratelimit import RateLimiter

CHUNK = 256 * 1024
#: Bodies up to this size are taken whole (one GIL round trip instead of one per chunk).
WHOLE = 4 * 1024 * 1024
_STATUS = re.compile(r"status code: (\d{3})")
_BAD_SEGMENT = re.compile(r"[\x00-\x1f\x7f]")


def available() -> bool:
    """True when obstore is installed."""
    try:
        import obstore  # noqa: F401
    except ImportError:
        return False
    return True


def native_key(key: str) -> bool:
    """True when object_store's path rules keep ``key`` exactly as S3 names it."""
    if not key or _BAD_SEGMENT.search(key):
        return False
    return all(part not in ("", ".", "..") for part in key.split("/"))


def virtual_endpoint(endpoint: str, bucket: str) -> str:
    """``https://host`` → ``https://bucket.host`` (object_store wants the bucket in the host)."""
    parts = urlsplit(endpoint)
    return urlunsplit(parts._replace(netloc=f"{bucket}.{parts.netloc}"))


class NativeGetter:
    """One obstore S3 store shared by every download thread."""

    def __init__(
        self,
        *,
        bucket: str,
        endpoint: str,
        region: str,
        virtual: bool,
        credentials: Callable[[], dict[str, Any]],
        limiter: RateLimiter,
        pool_size: int,
    ) -> None:
        from obstore.store import S3Store

        self.bucket = bucket
        self.limiter = limiter
        #: Set after the first 429/503: downloads move to the Python client (module docstring).
        self.throttled = False
        self.store = S3Store(
            bucket,
            endpoint=virtual_endpoint(endpoint, bucket) if virtual else endpoint,
            region=region,
            virtual_hosted_style_request=virtual,
            # Explicit, so AWS_* variables of the controller cannot change what boto3 was told.
            skip_signature=False,
            request_payer=False,
            s3_express=False,
            credential_provider=credentials,  # type: ignore[arg-type]
            client_options={
                "allow_http": endpoint.startswith("http://"),
                "connect_timeout": "10s",
                "read_timeout": "60s",
                # The default (30 s for the whole request) would cut large objects.
                "timeout": "6h",
                "pool_max_idle_per_host": str(max(1, pool_size)),
            },
            retry_config={"max_retries": 0},
        )

    def list_keys(self, prefix: str) -> list[tuple[str, int, str]] | None:
        """(key, size, ETag) of every object under ``prefix`` (any S3 prefix, not only a
        folder), or None when a listed key is one object_store cannot name (list with boto3).

        Raises:
            ProviderError: the listing failed (mapped like a GET).
        """
        import obstore
        from obstore.exceptions import BaseError, InvalidPathError

        # object_store matches whole path segments: list the folder, keep what starts with
        # the prefix.
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        if folder and not native_key(folder):
            return None
        out: list[tuple[str, int, str]] = []
        self.limiter.acquire()
        try:
            for page in obstore.list(self.store, folder or None, chunk_size=1000):
                self.limiter.acquire()
                for meta in page:
                    key = meta["path"]
                    if key.startswith(prefix):
                        out.append((key, meta["size"], (meta["e_tag"] or "").strip('"')))
        except (InvalidPathError, ValueError):
            return None
        except (BaseError, OSError) as err:
            raise self._error(err, f"?list-type=2&prefix={prefix}") from None
        return out

    def iter_bytes(self, key: str) -> Iterator[bytes]:
        """GET ``key`` and stream its body; errors mapped to ProviderError codes."""
        import obstore
        from obstore.exceptions import BaseError

        self.limiter.acquire()
        body: memoryview | None = None
        try:
            result = obstore.get(self.store, key)
            if result.meta["size"] <= WHOLE:
                # A zero-copy view of the body obstore buffered in Rust.
                body = memoryview(result.bytes())
            else:
                stream = result.stream(CHUNK)
        except (BaseError, OSError) as err:
            raise self._error(err, key) from None
        if body is not None:
            yield body  # type: ignore[misc]  # bytes-like: the store only writes, hashes, len()s
            return
        try:
            yield from stream
        except (BaseError, OSError) as err:
            raise NetworkError(f"GET {key}: body cut short ({_first_line(err)})") from None

    def _error(self, err: Exception, key: str) -> ProviderError:
        from obstore.exceptions import PermissionDeniedError, UnauthenticatedError

        text = str(err)
        match = _STATUS.search(text)
        status = int(match.group(1)) if match else 0
        where = f"GET {self.bucket}/{key}"
        if isinstance(err, (PermissionDeniedError, UnauthenticatedError)) or status in (401, 403):
            return ProviderAuthFailed(f"{where}: credentials rejected")
        if isinstance(err, FileNotFoundError) or status == 404:
            return NotFound(f"{where}: HTTP 404")
        if status in (429, 503):
            self.throttled = True
            return RateLimited(f"{where}: HTTP {status}: slow down", retry_after=None)
        return NetworkError(f"{where}: {f'HTTP {status}' if status else _first_line(err)}")


def _first_line(err: Exception) -> str:
    return str(err).split("\n", 1)[0][:160]
