"""Aliyun OSS through its native SDK oss2 (extra ``oss-sdk``), an alternative to the ``oss`` preset.

Settings (inventory ``hib_<name>``): ``bucket`` (required), ``region`` (default ``cn-hangzhou``),
``endpoint`` (default ``https://oss-<region>.aliyuncs.com``; an IP or ``localhost`` URL is
addressed path-style), ``access_key_id``, ``secret_access_key``, ``session_token`` (STS),
``signature_version`` (``v4``, the default, or ``v1``), ``prefix``, ``page_size`` (1..1000).

Listing is one flat ``ListObjectsV2`` walk. OSS reports each object's ``Type``: a ``Normal``
object's ETag is the MD5 of its bytes (upper case; compared lower case), while ``Multipart`` and
``Appendable`` ETags are not, so those fall back to size. Downloads are also checked against the
CRC-64 OSS sends in ``x-oss-hash-crc64ecma``, computed over the raw (never gunzipped) body.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from hib_orchestrator.errors import (
    ChecksumMismatch,
    ConfigError,
    NetworkError,
    NotFound,
    ProviderAuthFailed,
    ProviderError,
    RateLimited,
    UnsupportedProvider,
)
from hib_orchestrator.providers.base import (
    ChecksumKind,
    ObjectInfo,
    ProviderContext,
    optional,
    page_size,
    require,
)

CHUNK = 256 * 1024
_AUTH_CODES = {
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidSecurityToken",
    "SecurityTokenExpired",
}
_NOT_FOUND_CODES = {"NoSuchBucket", "NoSuchKey"}
_SLOW_CODES = {"SlowDown", "Throttling", "QpsLimitExceeded", "TooManyRequests"}


class OssSdkProvider:
    """An OSS bucket through oss2."""

    name: ClassVar[str] = "oss-sdk"

    def __init__(self, settings: Mapping[str, Any], ctx: ProviderContext | None = None) -> None:
        ctx = ctx or ProviderContext()
        try:
            import oss2
        except ImportError as err:
            raise UnsupportedProvider(
                f"provider {self.name!r} needs oss2: pip install 'hib-orchestrator[oss-sdk]'"
            ) from err
        # oss2 logs every request's headers (Authorization included) at DEBUG.
        _quiet("oss2", logging.WARNING)
        given = {k: v for k, v in settings.items() if v not in (None, "")}
        self.bucket_name = require(given, "bucket", self.name)
        self.prefix = optional(given, "prefix")
        self.page_size = page_size(given, self.name)
        region = optional(given, "region", "cn-hangzhou")
        endpoint = optional(given, "endpoint", f"https://oss-{region}.aliyuncs.com")
        credentials = oss2.credentials.StaticCredentialsProvider(
            optional(given, "access_key_id"),
            optional(given, "secret_access_key"),
            optional(given, "session_token"),
        )
        version = optional(given, "signature_version", "v4")
        if version not in ("v1", "v4"):
            raise ConfigError(f"provider {self.name!r} signature_version must be v1 or v4")
        auth = (
            oss2.ProviderAuthV4(credentials) if version == "v4" else oss2.ProviderAuth(credentials)
        )
        self.limiter = ctx.limiter
        try:
            self.bucket = oss2.Bucket(
                auth,
                endpoint,
                self.bucket_name,
                session=oss2.Session(pool_size=ctx.pool_size),
                connect_timeout=60,
                region=region,
                enable_crc=False,  # iter_bytes checks the CRC-64 itself, over the raw bytes
            )
        except oss2.exceptions.ClientError as err:
            raise ConfigError(f"provider {self.name!r}: {_detail(err)}") from err

    def list_objects(self) -> Iterator[ObjectInfo]:
        """Flat ``ListObjectsV2`` pages (continuation tokens), with each object's OSS type."""
        token = ""
        while True:
            self.limiter.acquire()
            page = self._call(
                self.bucket.list_objects_v2,
                prefix=self.prefix,
                continuation_token=token,
                max_keys=self.page_size,
            )
            for item in page.object_list:
                etag = str(item.etag or "").strip('"')
                kind: ChecksumKind = "size"
                if item.type == "Normal" and len(etag) == 32 and "-" not in etag:
                    kind, etag = "md5", etag.lower()
                yield ObjectInfo(key=item.key, size=int(item.size), etag=etag, kind=kind)
            if not page.is_truncated:
                return
            token = page.next_continuation_token

    def iter_bytes(self, obj: ObjectInfo) -> Iterator[bytes]:
        """GET the object and stream its stored bytes; a CRC-64 the server sent must match."""
        import oss2
        from urllib3.exceptions import HTTPError

        self.limiter.acquire()
        result = self._call(self.bucket.get_object, obj.key)
        crc = oss2.utils.Crc64()
        try:
            # Raw, not oss2's read(): requests would gunzip a ``Content-Encoding: gzip`` object,
            # and neither its ETag nor its CRC-64 describe the decoded bytes.
            for chunk in result.resp.response.raw.stream(CHUNK, decode_content=False):
                crc.update(chunk)
                yield chunk
        except HTTPError as err:
            raise NetworkError(f"GET {obj.key}: body cut short ({type(err).__name__})") from err
        finally:
            result.close()
        if result.server_crc is not None and crc.crc != result.server_crc:
            raise ChecksumMismatch(f"GET {obj.key}: CRC-64 {crc.crc} != {result.server_crc} (OSS)")

    def close(self) -> None:
        """Close the pooled connections."""
        self.bucket.session.session.close()

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        import oss2
        import requests

        try:
            return fn(*args, **kwargs)
        except oss2.exceptions.RequestError as err:
            raise NetworkError(
                f"bucket {self.bucket_name}: {type(err.exception).__name__}"
            ) from err
        except oss2.exceptions.ServerError as err:
            raise _map_server_error(err, self.bucket_name) from err
        except oss2.exceptions.OssError as err:
            raise NetworkError(f"bucket {self.bucket_name}: {_detail(err)}") from err
        except requests.RequestException as err:
            raise NetworkError(f"bucket {self.bucket_name}: {type(err).__name__}") from err


def _map_server_error(err: Any, bucket: str) -> ProviderError:
    code, status = str(err.code or ""), int(err.status or 0)
    what = f"bucket {bucket}: {code or 'HTTP ' + str(status)}"
    if code in _AUTH_CODES or status in (401, 403):
        return ProviderAuthFailed(f"{what}: credentials rejected")
    if code in _NOT_FOUND_CODES or status == 404:
        return NotFound(what)
    if code in _SLOW_CODES or status in (429, 503):
        return RateLimited(f"{what}: slow down", retry_after=_retry_after(err.headers))
    return NetworkError(what)


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    try:
        return float((headers or {}).get("Retry-After", ""))
    except ValueError:
        return None


def _detail(err: Any) -> str:
    import oss2

    if isinstance(err, oss2.exceptions.ClientError):
        # oss2's own complaint (bad bucket name, missing region), kept in ``body``.
        return str(err.body).removeprefix("ClientError: ")
    # Never a server's body: an OSS error body may echo the access key id.
    return str(err.code or err.message or type(err).__name__)


def _quiet(name: str, level: int) -> None:
    """Raise an SDK logger's threshold unless the user configured it."""
    logger = logging.getLogger(name)
    if logger.level == logging.NOTSET:
        logger.setLevel(level)
