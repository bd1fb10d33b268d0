"""Tencent COS through its native SDK, cos-python-sdk-v5 (extra ``cos-sdk``; import ``qcloud_cos``).

An alternative to the ``cos`` preset for accounts or setups the S3-compatible API does not serve.

Settings (inventory ``hib_<name>``): ``bucket`` (required, ``name-appid``), ``region`` (default
``ap-guangzhou``), ``endpoint`` (default ``https://cos.<region>.myqcloud.com``; a URL with an IP
address or ``localhost`` is dialled directly while the ``Host`` header still names
``<bucket>.cos.<region>.myqcloud.com``, which is how the SDK reaches a private endpoint or a
stand-in), ``access_key_id`` (SecretId), ``secret_access_key`` (SecretKey), ``session_token``,
``prefix``, ``page_size`` (1..1000).

Listing is flat ``GET Bucket`` (v1, markers). A single-part ETag is the MD5 of the object, so it
verifies downloads; multipart ETags (``...-N``) fall back to size. Every download is also
checked against the CRC-64 COS sends in ``x-cos-hash-crc64ecma``. Bodies are read raw (no
transparent gunzip), so the bytes stored are the bytes COS holds.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import threading
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

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
    "InvalidSecretId",
    "ExpiredToken",
    "InvalidToken",
    "RequestTimeTooSkewed",
}
_NOT_FOUND_CODES = {"NoSuchBucket", "NoSuchKey"}
_SLOW_CODES = {"SlowDown", "TooManyRequests", "RequestRateLimited", "ServiceUnavailable"}
_CRC64_POLY = 0x142F0E1EBA9EA3693  # CRC-64/XZ (ECMA-182), COS's x-cos-hash-crc64ecma
_CODE = re.compile(r"<Code>([^<]+)</Code>")


class CosSdkProvider:
    """A COS bucket through qcloud_cos."""

    name: ClassVar[str] = "cos-sdk"

    def __init__(self, settings: Mapping[str, Any], ctx: ProviderContext | None = None) -> None:
        ctx = ctx or ProviderContext()
        try:
            import requests
            from qcloud_cos import CosConfig, CosS3Client
            from qcloud_cos.cos_exception import CosClientError
        except ImportError as err:
            raise UnsupportedProvider(
                f"provider {self.name!r} needs cos-python-sdk-v5: "
                "pip install 'hib-orchestrator[cos-sdk]'"
            ) from err
        # The SDK logs request headers (the signature) at DEBUG and whole error bodies (which
        # may echo the SecretId) at ERROR; hib reports its own one-line error instead.
        logger = logging.getLogger("qcloud_cos")
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.CRITICAL)
        given = {k: v for k, v in settings.items() if v not in (None, "")}
        self.bucket = require(given, "bucket", self.name)
        if not self.bucket.rsplit("-", 1)[-1].isdigit():
            raise ConfigError(
                f"provider {self.name!r} bucket must be 'name-appid', not {self.bucket!r}"
            )
        self.prefix = optional(given, "prefix")
        self.page_size = page_size(given, self.name)
        region = optional(given, "region", "ap-guangzhou")
        self.limiter = ctx.limiter
        try:
            config = CosConfig(
                Region=region,
                SecretId=optional(given, "access_key_id"),
                SecretKey=optional(given, "secret_access_key"),
                Token=given.get("session_token") or None,
                Timeout=60,
                **_address(optional(given, "endpoint"), region),
            )
        except CosClientError as err:
            raise ConfigError(f"provider {self.name!r}: {err}") from err
        self.session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(
            pool_connections=1, pool_maxsize=ctx.pool_size, max_retries=0
        )
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        # CosServiceError keeps no headers: a response hook remembers, per thread, the
        # Retry-After of the last throttled answer so RATE_LIMITED can carry it.
        self._throttle = threading.local()
        self.session.hooks["response"].append(self._remember_retry_after)
        # retry=0: the engine retries with backoff and Retry-After; the SDK must not underneath.
        self.client = CosS3Client(config, retry=0, session=self.session)

    def list_objects(self) -> Iterator[ObjectInfo]:
        """Flat ``GET Bucket`` pages, following ``NextMarker`` (or the last key)."""
        marker = ""
        while True:
            self.limiter.acquire()
            page = self._call(
                self.client.list_objects,
                Bucket=self.bucket,
                Prefix=self.prefix,
                Marker=marker,
                MaxKeys=self.page_size,
            )
            contents = page.get("Contents") or []
            for item in contents:
                etag = str(item.get("ETag", "")).strip('"')
                kind: ChecksumKind = "md5" if len(etag) == 32 and "-" not in etag else "size"
                yield ObjectInfo(
                    key=item["Key"],
                    size=int(item["Size"]),
                    etag=etag.lower() if kind == "md5" else etag,
                    kind=kind,
                )
            if str(page.get("IsTruncated", "false")).lower() != "true" or not contents:
                return
            marker = page.get("NextMarker") or contents[-1]["Key"]

    def iter_bytes(self, obj: ObjectInfo) -> Iterator[bytes]:
        """GET the object and stream its stored bytes; a CRC-64 the server sent must match."""
        import crcmod
        from urllib3.exceptions import HTTPError

        self.limiter.acquire()
        response = self._call(self.client.get_object, Bucket=self.bucket, Key=obj.key)
        raw = response["Body"].get_raw_stream()
        server = {k.lower(): v for k, v in response.items() if isinstance(v, str)}.get(
            "x-cos-hash-crc64ecma"
        )
        crc = crcmod.Crc(_CRC64_POLY, initCrc=0, xorOut=(1 << 64) - 1, rev=True)
        try:
            for chunk in raw.stream(CHUNK, decode_content=False):
                crc.update(chunk)
                yield chunk
        except HTTPError as err:
            raise NetworkError(f"GET {obj.key}: body cut short ({type(err).__name__})") from err
        finally:
            # After a full read urllib3 has already pooled the connection; otherwise drop it.
            raw.close()
            raw.release_conn()
        if server and server.isdigit() and crc.crcValue != int(server):
            raise ChecksumMismatch(f"GET {obj.key}: CRC-64 {crc.crcValue} != {server} (COS)")

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()

    def _remember_retry_after(self, response: Any, *args: Any, **kwargs: Any) -> None:
        after = None
        if response.status_code in (429, 503):
            try:
                after = float(response.headers.get("Retry-After", ""))
            except ValueError:
                after = None
        self._throttle.retry_after = after

    def _call(self, fn: Any, **kwargs: Any) -> Any:
        from qcloud_cos.cos_exception import CosClientError, CosServiceError

        try:
            return fn(**kwargs)
        except CosServiceError as err:
            after: float | None = getattr(self._throttle, "retry_after", None)
            self._throttle.retry_after = None
            raise _map_service_error(err, self.bucket, after) from err
        except CosClientError as err:
            # Raised for connection errors and timeouts (the SDK wraps requests' exceptions).
            raise NetworkError(f"bucket {self.bucket}: connection failed") from err


def _address(endpoint: str, region: str) -> dict[str, Any]:
    """CosConfig arguments for ``endpoint``: a host name, or an IP/localhost dialled directly."""
    if not endpoint:
        return {"Scheme": "https"}
    url = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
    host = url.hostname or ""
    scheme = url.scheme or "https"
    if host == "localhost" or _is_ip(host):
        return {
            "Scheme": scheme,
            "IP": host,
            "Port": url.port,
            "Endpoint": f"cos.{region}.myqcloud.com",
        }
    return {"Scheme": scheme, "Endpoint": url.netloc}


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _map_service_error(err: Any, bucket: str, retry_after: float | None) -> ProviderError:
    # get_error_code() raises KeyError on a JSON body without "code" (a gateway's 429) and says
    # "Unknown" for XML lacking any of Code/Message/Resource/RequestId (moto's errors).
    digest = err.get_digest_msg()
    code = str(digest.get("code") or digest.get("Code") or "") if isinstance(digest, dict) else ""
    if not code:
        found = _CODE.search(str(err.get_origin_msg() or ""))
        code = found.group(1) if found else ""
    status = int(err.get_status_code() or 0)
    what = f"bucket {bucket}: {code or 'HTTP ' + str(status)}"
    if code in _AUTH_CODES or status in (401, 403):
        return ProviderAuthFailed(f"{what}: credentials rejected")
    if code in _NOT_FOUND_CODES or status == 404:
        return NotFound(what)
    if code in _SLOW_CODES or status in (429, 503):
        return RateLimited(f"{what}: slow down", retry_after=retry_after)
    return NetworkError(what)
