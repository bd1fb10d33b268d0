"""S3-compatible stand-in: moto's S3 app served in-process, behind an access-key check.

moto does not check credentials; :class:`AccessKeyCheck` rejects any request whose access key
(SigV4 ``Credential=``, SigV2 ``AWS <key>:``, or a presigned URL's ``X-Amz-Credential`` /
``AWSAccessKeyId``) is not the planted one (403 ``InvalidAccessKeyId``), so ``AUTH_FAILED``
can be tested. Signatures themselves are not verified.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from hib_orchestrator.standins.faults import WSGIApp

_KEY = re.compile(r"(?:Credential=|^AWS )([A-Za-z0-9]+)[/:]")


class AccessKeyCheck:
    """403 for requests signed with any other access key."""

    def __init__(self, app: WSGIApp, access_key: str) -> None:
        self.app = app
        self.access_key = access_key

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if (
            environ.get("PATH_INFO", "").startswith("/_hib/")
            or self._key(environ) == self.access_key
        ):
            return self.app(environ, start_response)
        body = (
            b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidAccessKeyId</Code>'
            b"<Message>The AWS Access Key Id you provided does not exist in our records."
            b"</Message></Error>"
        )
        start_response(
            "403 Forbidden",
            [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))],
        )
        return [body]

    @staticmethod
    def _key(environ: dict[str, Any]) -> str | None:
        match = _KEY.search(environ.get("HTTP_AUTHORIZATION", ""))
        if match:
            return match.group(1)
        # Presigned URLs: SigV4 X-Amz-Credential=<key>/<scope>, SigV2 AWSAccessKeyId=<key>.
        query = parse_qs(environ.get("QUERY_STRING", ""))
        for name in ("X-Amz-Credential", "AWSAccessKeyId"):
            if query.get(name):
                return query[name][0].split("/", 1)[0]
        return None


def s3_app(access_key: str) -> WSGIApp:
    """moto's S3 backend as a WSGI app, guarded by the access key (oss2 and COS SDK too)."""
    from moto.server import create_backend_app

    from hib_orchestrator.standins.sdk_shims import NativeSdkShim

    return NativeSdkShim(AccessKeyCheck(create_backend_app("s3"), access_key))


def seed_bucket(
    endpoint: str,
    access_key: str,
    secret_key: str,
    bucket: str,
    objects: dict[str, bytes],
) -> None:
    """Create ``bucket`` on the running stand-in and upload ``objects`` (key → bytes)."""
    import boto3
    from botocore.config import Config

    client = boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )
    client.create_bucket(Bucket=bucket)
    for key, data in objects.items():
        client.put_object(Bucket=bucket, Key=key, Body=data)
    client.close()
