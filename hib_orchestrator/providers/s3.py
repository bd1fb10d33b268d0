"""S3-compatible object stores (boto3 and obstore), and the Aliyun OSS / Tencent COS presets.

Settings (inventory ``hib_<name>``): ``bucket`` (required), ``endpoint``, ``region``, ``prefix``,
``access_key_id``, ``secret_access_key``, ``session_token``, ``addressing_style``
(``path``/``virtual``/``auto``), ``list_version`` (1 or 2), ``signature_version``,
``page_size`` (keys per listing page, default 1000), ``download``: ``native`` (obstore: HTTP,
SigV4 and listing outside the GIL, see :mod:`.s3_native`), ``presigned`` (GET a presigned URL
on a shared urllib3 pool), ``sdk`` (boto3 ``get_object``) or ``auto`` (the default: ``native``
when obstore is installed and the host signs with SigV4 in ``path``/``virtual`` style, else
``presigned``).

Presets, as the vendors document for boto3:

* ``oss``: endpoint ``https://s3.oss-<region>.aliyuncs.com``, signature ``s3`` (v2), virtual host.
* ``cos``: endpoint ``https://cos.<region>.myqcloud.com``, bucket ``name-appid``, list v1 (marker).

Listing is flat (no delimiter) and paged; a single-part ETag is the MD5 of the object, so it
verifies downloads; multipart ETags (``...-N``) fall back to size. The native path lists
through obstore when it can (v2, 1,000-key pages) and falls back to boto3 for keys object_store
cannot name; boto3 is imported only when something needs it (its import and client cost ~0.5 s
per run), and lists with timestamp parsing off (``LastModified`` is not used; dateutil was most
of a no-change run's CPU).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
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
from hib_orchestrator.extras import missing_extra
from hib_orchestrator.providers import s3_native
from hib_orchestrator.providers.base import (
    ChecksumKind,
    ObjectInfo,
    ProviderContext,
    optional,
    page_size,
    require,
)
from hib_orchestrator.providers.http import HttpClient

CHUNK = 256 * 1024
_AUTH_CODES = {
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
    "AuthorizationHeaderMalformed",
}
_NOT_FOUND_CODES = {"NoSuchBucket", "NoSuchKey", "404", "NotFound"}
_SLOW_CODES = {"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "429"}
_DOWNLOADS = ("auto", "native", "presigned", "sdk")
_SIGV4 = (None, "s3v4", "v4")


class S3Provider:
    """Any S3-compatible store."""

    name: ClassVar[str] = "s3"
    defaults: ClassVar[dict[str, str]] = {"addressing_style": "path", "list_version": "2"}

    def __init__(
        self,
        settings: Mapping[str, Any],
        ctx: ProviderContext | None = None,
    ) -> None:
        ctx = ctx or ProviderContext()
        merged = {**self.defaults, **{k: v for k, v in settings.items() if v not in (None, "")}}
        self.settings = merged
        self.pool_size = ctx.pool_size
        self.bucket = require(merged, "bucket", self.name)
        self.prefix = optional(merged, "prefix")
        self.list_version = int(optional(merged, "list_version", "2"))
        self.page_size = page_size(merged, self.name)
        self.region = optional(merged, "region", "us-east-1")
        self.style = optional(merged, "addressing_style", "path")
        self.signature = merged.get("signature_version") or None
        self.endpoint = self._endpoint(merged, self.region)
        if self.endpoint is not None:
            url = urlsplit(self.endpoint)
            if url.scheme not in ("http", "https") or not url.netloc:
                raise ConfigError(f"provider {self.name!r} endpoint must be an http(s) URL")
        download = optional(merged, "download", "auto")
        if download not in _DOWNLOADS:
            raise ConfigError(f"provider {self.name!r} download must be one of {_DOWNLOADS}")
        native_ok = self.signature in _SIGV4 and self.style in ("path", "virtual")
        if download == "native" and not (native_ok and s3_native.available()):
            raise ConfigError(
                f"provider {self.name!r} download 'native' needs obstore (pip install "
                f"'hib-orchestrator[{self.name}]'), SigV4 and addressing_style path or virtual"
            )
        if download == "auto":
            download = "native" if native_ok and s3_native.available() else "presigned"
        self.download = download
        self.limiter = ctx.limiter
        # Presigned GETs on a plain urllib3 pool: ~0.5 ms CPU per object against ~2 ms through
        # boto3's get_object. Also where the native path sends what obstore cannot fetch.
        self.http = HttpClient(limiter=ctx.limiter, pool_size=ctx.pool_size, provider=self.name)
        self._boto: Any = None
        self._session: Any = None
        self._boto_lock = threading.Lock()
        self.native: s3_native.NativeGetter | None = None
        if download == "native":
            self.native = s3_native.NativeGetter(
                bucket=self.bucket,
                endpoint=self.endpoint or _aws_endpoint(self.region),
                region=self.region,
                virtual=self.style == "virtual",
                credentials=self._credentials,
                limiter=ctx.limiter,
                pool_size=ctx.pool_size,
            )

    @property
    def client(self) -> Any:
        """The boto3 client, made on first use (listing fallback, presigning, ``sdk``)."""
        with self._boto_lock:
            if self._boto is None:
                self._boto = self._make_client()
            return self._boto

    def _make_client(self) -> Any:
        try:
            import boto3
            import botocore.session
            from botocore.config import Config
        except ImportError as err:  # a per-host error: the run goes on with the other hosts
            raise UnsupportedProvider(
                missing_extra(f"provider {self.name!r}", "boto3", self.name)
            ) from err
        config = Config(
            region_name=self.region,
            signature_version=self.signature,
            s3={"addressing_style": self.style},
            # The engine retries with backoff and Retry-After; botocore must not retry underneath.
            retries={"total_max_attempts": 1, "mode": "standard"},
            max_pool_connections=self.pool_size,
            connect_timeout=10,
            read_timeout=60,
        )
        core = botocore.session.get_session()
        # LastModified is never used; parsing it with dateutil cost ~0.15 ms per listed key.
        core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=str)
        self._session = session = boto3.session.Session(
            botocore_session=core,
            aws_access_key_id=self.settings.get("access_key_id") or None,
            aws_secret_access_key=self.settings.get("secret_access_key") or None,
            aws_session_token=self.settings.get("session_token") or None,
        )
        return session.client("s3", endpoint_url=self.endpoint, config=config)

    def _credentials(self) -> dict[str, Any]:
        """Credentials for the native client: the settings' keys, else whatever boto3 resolves
        (environment, profile, instance role; asked again every five minutes)."""
        key, secret = self.settings.get("access_key_id"), self.settings.get("secret_access_key")
        if key and secret:
            token = self.settings.get("session_token") or None
            return {
                "access_key_id": key,
                "secret_access_key": secret,
                "token": token,
                "expires_at": None,
            }
        self.client  # noqa: B018 - makes the session whose credential chain boto3 signs with
        creds = self._session.get_credentials()
        if creds is None:
            raise ProviderAuthFailed(f"bucket {self.bucket}: no credentials found")
        frozen = creds.get_frozen_credentials()
        refreshable = hasattr(creds, "refresh_needed")
        return {
            "access_key_id": frozen.access_key,
            "secret_access_key": frozen.secret_key,
            "token": frozen.token,
            "expires_at": datetime.now(UTC) + timedelta(minutes=5) if refreshable else None,
        }

    def _endpoint(self, settings: Mapping[str, Any], region: str) -> str | None:
        return settings.get("endpoint") or None

    def list_objects(self) -> Iterator[ObjectInfo]:
        """Flat paged listing: obstore when it can name every key, else boto3 (v2
        continuation tokens, or v1 markers for COS-like stores)."""
        if self.native is not None and self.list_version == 2 and self.page_size == 1000:
            listed = self.native.list_keys(self.prefix)
            if listed is not None:
                for key, size, etag in listed:
                    yield ObjectInfo(key=key, size=size, etag=etag, kind=_kind(etag))
                return
        yield from self._boto_list()

    def _boto_list(self) -> Iterator[ObjectInfo]:
        kwargs: dict[str, Any] = {
            "Bucket": self.bucket,
            "Prefix": self.prefix,
            "MaxKeys": self.page_size,
        }
        while True:
            self.limiter.acquire()
            page = self._call(
                self.client.list_objects_v2 if self.list_version == 2 else self.client.list_objects,
                **kwargs,
            )
            contents = page.get("Contents", [])
            for item in contents:
                etag = item.get("ETag", "").strip('"')
                yield ObjectInfo(
                    key=item["Key"], size=int(item["Size"]), etag=etag, kind=_kind(etag)
                )
            if not page.get("IsTruncated"):
                return
            if self.list_version == 2:
                kwargs["ContinuationToken"] = page["NextContinuationToken"]
            else:
                kwargs["Marker"] = page.get("NextMarker") or contents[-1]["Key"]

    def iter_bytes(self, obj: ObjectInfo) -> Iterator[bytes]:
        """GET the object (native client, presigned URL on the shared pool, or boto3) and stream
        its body."""
        native = self.native
        if native is not None and not native.throttled and s3_native.native_key(obj.key):
            yield from native.iter_bytes(obj.key)
            return
        if self.download != "sdk":
            url = self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": obj.key}, ExpiresIn=3600
            )
            yield from self.http.iter_bytes(url)
            return
        yield from self._sdk_bytes(obj)

    def _sdk_bytes(self, obj: ObjectInfo) -> Iterator[bytes]:
        from botocore.exceptions import BotoCoreError, FlexibleChecksumError

        self.limiter.acquire()
        body = self._call(self.client.get_object, Bucket=self.bucket, Key=obj.key)["Body"]
        try:
            yield from body.iter_chunks(CHUNK)
        except FlexibleChecksumError as err:  # the server's CRC/SHA header disagrees with the body
            raise ChecksumMismatch(f"GET {obj.key}: {err}") from err
        except BotoCoreError as err:
            raise NetworkError(f"GET {obj.key}: body cut short ({type(err).__name__})") from err
        finally:
            body.close()

    def close(self) -> None:
        """Close the clients' and the download pool's connections."""
        if self._boto is not None:
            self._boto.close()
        self.http.close()
        self.native = None

    def _call(self, fn: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(**kwargs)
        except ClientError as err:
            raise _map_client_error(err, self.bucket) from err
        except BotoCoreError as err:
            raise NetworkError(f"bucket {self.bucket}: {type(err).__name__}") from err


def _kind(etag: str) -> ChecksumKind:
    return "md5" if etag and "-" not in etag and len(etag) == 32 else "size"


def _aws_endpoint(region: str) -> str:
    return f"https://s3.{region}.amazonaws.com"


def _map_client_error(err: Any, bucket: str) -> ProviderError:
    error = err.response.get("Error", {})
    code = str(error.get("Code", ""))
    meta = err.response.get("ResponseMetadata", {})
    status = int(meta.get("HTTPStatusCode") or 0)
    what = f"bucket {bucket}: {code or 'HTTP ' + str(status)}"
    if code in _AUTH_CODES or status in (401, 403):
        return ProviderAuthFailed(f"{what}: credentials rejected")
    if code in _NOT_FOUND_CODES or status == 404:
        return NotFound(what)
    if code in _SLOW_CODES or status in (429, 503):
        headers = meta.get("HTTPHeaders", {})
        try:
            after: float | None = float(headers.get("retry-after", ""))
        except ValueError:
            after = None
        return RateLimited(f"{what}: slow down", retry_after=after)
    return NetworkError(what)


class OssProvider(S3Provider):
    """Aliyun OSS through its S3-compatible API (signature v2 ``s3``, virtual-host style)."""

    name: ClassVar[str] = "oss"
    defaults: ClassVar[dict[str, str]] = {
        "addressing_style": "virtual",
        "signature_version": "s3",
        "list_version": "2",
        "region": "cn-hangzhou",
    }

    def _endpoint(self, settings: Mapping[str, Any], region: str) -> str | None:
        return settings.get("endpoint") or f"https://s3.oss-{region}.aliyuncs.com"


class CosProvider(S3Provider):
    """Tencent COS through its S3-compatible API (bucket ``name-appid``, list v1 markers)."""

    name: ClassVar[str] = "cos"
    defaults: ClassVar[dict[str, str]] = {
        "addressing_style": "virtual",
        "list_version": "1",
        "region": "ap-guangzhou",
    }

    def __init__(self, settings: Mapping[str, Any], ctx: ProviderContext | None = None) -> None:
        bucket = str(settings.get("bucket") or "")
        if bucket and not bucket.rsplit("-", 1)[-1].isdigit():
            raise ConfigError(f"provider 'cos' bucket must be 'name-appid', not {bucket!r}")
        super().__init__(settings, ctx)

    def _endpoint(self, settings: Mapping[str, Any], region: str) -> str | None:
        return settings.get("endpoint") or f"https://cos.{region}.myqcloud.com"
