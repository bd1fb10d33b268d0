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
boto3 requests pass through untouched.
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
_EMPTY_OSS_PARAMS = ("continuation-token", "start-after", "delimiter", "prefix", "marker")


class NativeSdkShim:
    """Translate oss2 and COS SDK requests (and OSS listing responses) for moto's S3 app."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        auth = environ.get("HTTP_AUTHORIZATION", "")
        oss = _OSS_AUTH.match(auth) or _OSS4_AUTH.match(auth)
        if oss:
            environ["HTTP_AUTHORIZATION"] = f"AWS {oss.group(1)}:{oss.group(2)}"
            environ["QUERY_STRING"] = _drop_empty(environ.get("QUERY_STRING", ""))
            if _is_listing(environ):
                return self._oss_listing(environ, start_response)
            return self.app(environ, start_response)
        cos = _COS_AK.search(auth)
        if cos and auth.startswith("q-sign-algorithm="):
            sig = _COS_SIG.search(auth)
            environ["HTTP_AUTHORIZATION"] = f"AWS {cos.group(1)}:{sig.group(1) if sig else ''}"
        return self.app(environ, start_response)

    def _oss_listing(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
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
        if captured["status"].startswith("200"):
            body = _oss_listing_body(body)
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
        start_response(captured["status"], headers)
        return [body]


def _drop_empty(query: str) -> str:
    """Remove the empty listing parameters oss2 always sends (moto reads ``""`` as a value)."""
    pairs = parse_qsl(query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if v or k not in _EMPTY_OSS_PARAMS]
    return urlencode(kept)


def _is_listing(environ: dict[str, Any]) -> bool:
    """A GET of a bucket itself (``/bucket`` or ``/bucket/``), i.e. an object listing."""
    if environ.get("REQUEST_METHOD") != "GET":
        return False
    path = environ.get("PATH_INFO", "").strip("/")
    return bool(path) and "/" not in path


def _oss_listing_body(body: bytes) -> bytes:
    """moto's ListBucketResult as oss2 parses it: no namespace, a ``<Type>`` per object."""
    body = _XMLNS.sub(b"", body, count=1)

    def add_type(match: re.Match[bytes]) -> bytes:
        kind = b"Multipart" if b"-" in match.group(2) else b"Normal"
        return match.group(1) + b"<Type>" + kind + b"</Type>"

    return _CONTENTS_ETAG.sub(add_type, body)
