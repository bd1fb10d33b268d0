"""WSGI shims that let the vendors' native SDKs (oss2, cos-python-sdk-v5) talk to moto's S3 app.

moto speaks AWS S3; the Aliyun and Tencent SDKs speak dialects of it. What differs, measured
against moto 5.2 served directly (``create_backend_app("s3")``):

* **oss2** signs ``Authorization: OSS <key>:<sig>`` (V1) or ``OSS4-HMAC-SHA256
  Credential=<key>/...`` (V4), sends empty ``continuation-token=`` and
  ``start-after=`` parameters on the first ``ListObjectsV2`` page (moto takes an empty token for
  a real one), and parses listings with namespace-less ElementTree paths that require a
  ``<Type>`` (``Normal``/``Multipart``/``Appendable``) in every ``<Contents>``.
* **COS** signs ``Authorization: q-sign-algorithm=sha1&q-ak=<key>&...`` (which moto's own
  server cannot parse) and addresses buckets virtual-host style through the ``Host`` header.

:class:`NativeSdkShim` rewrites both authorization headers to the SigV2 form ``AWS <key>:<sig>``
(moto does not verify signatures; :class:`~hib_orchestrator.standins.s3.AccessKeyCheck` still
sees and checks the key), drops the empty OSS parameters and reshapes OSS listing responses.
Object GETs of both SDKs get the ``x-oss-hash-crc64ecma`` / ``x-cos-hash-crc64ecma`` header the
real services send, so the providers' CRC-64 checks run against the stand-in too. boto3
requests pass through untouched.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from hib_orchestrator.standins.faults import WSGIApp

_OSS_AUTH = re.compile(r"^OSS ([^:\s]+):(\S*)")
_OSS4_AUTH = re.compile(r"^OSS4-HMAC-SHA256 Credential=([^/\s]+)/.*?Signature=(\w*)")
_COS_AK = re.compile(r"(?:^|&)q-ak=([^&]+)")
_COS_SIG = re.compile(r"(?:^|&)q-signature=([^&]*)")
_XMLNS = re.compile(rb'\sxmlns="[^"]*"')
_CONTENTS_ETAG = re.compile(rb"(<Contents>.*?<ETag>(.*?)</ETag>)", re.DOTALL)
_Transform = Callable[[bytes], tuple[bytes, list[tuple[str, str]]]]
_EMPTY_OSS_PARAMS = ("continuation-token", "start-after", "delimiter", "prefix", "marker")


class NativeSdkShim:
    """Translate oss2 and COS SDK requests (and OSS listing responses) for moto's S3 app."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        auth = environ.get("HTTP_AUTHORIZATION", "")
        get = environ.get("REQUEST_METHOD") == "GET"
        path = environ.get("PATH_INFO", "").strip("/")
        oss = _OSS_AUTH.match(auth) or _OSS4_AUTH.match(auth)
        if oss:
            environ["HTTP_AUTHORIZATION"] = f"AWS {oss.group(1)}:{oss.group(2)}"
            environ["QUERY_STRING"] = _drop_empty(environ.get("QUERY_STRING", ""))
            if get and path and "/" not in path:  # path-style GET /bucket: a listing
                return self._buffered(environ, start_response, _oss_listing)
            if get and path:
                return self._buffered(environ, start_response, _crc_header("x-oss-hash-crc64ecma"))
            return self.app(environ, start_response)
        cos = _COS_AK.search(auth)
        if cos and auth.startswith("q-sign-algorithm="):
            sig = _COS_SIG.search(auth)
            environ["HTTP_AUTHORIZATION"] = f"AWS {cos.group(1)}:{sig.group(1) if sig else ''}"
            if get and path:  # the bucket is in the Host header, so any path is an object
                return self._buffered(environ, start_response, _crc_header("x-cos-hash-crc64ecma"))
        return self.app(environ, start_response)

    def _buffered(
        self, environ: dict[str, Any], start_response: Callable[..., Any], transform: _Transform
    ) -> Iterable[bytes]:
        """Run the app, then ``transform`` a 200 answer's body and headers."""
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        chunks = self.app(environ, capture)
        try:
            body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        if captured["status"].startswith("200"):
            body, extra = transform(body)
            headers += extra
        headers.append(("Content-Length", str(len(body))))
        start_response(captured["status"], headers)
        return [body]


def _drop_empty(query: str) -> str:
    """Remove the empty listing parameters oss2 always sends (moto reads ``""`` as a value)."""
    pairs = parse_qsl(query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if v or k not in _EMPTY_OSS_PARAMS]
    return urlencode(kept)


def _oss_listing(body: bytes) -> tuple[bytes, list[tuple[str, str]]]:
    """moto's ListBucketResult as oss2 parses it: no namespace, a ``<Type>`` per object."""
    body = _XMLNS.sub(b"", body, count=1)

    def add_type(match: re.Match[bytes]) -> bytes:
        kind = b"Multipart" if b"-" in match.group(2) else b"Normal"
        return match.group(1) + b"<Type>" + kind + b"</Type>"

    return _CONTENTS_ETAG.sub(add_type, body), []


def _crc_header(name: str) -> _Transform:
    """Add the CRC-64/XZ (ECMA-182) of the body, as OSS and COS send with every object."""

    def transform(body: bytes) -> tuple[bytes, list[tuple[str, str]]]:
        try:
            import crcmod  # a dependency of both SDKs; without it the header is simply absent
        except ImportError:
            return body, []
        crc64 = crcmod.mkCrcFun(0x142F0E1EBA9EA3693, initCrc=0, xorOut=(1 << 64) - 1, rev=True)
        return body, [(name, str(crc64(body)))]

    return transform
