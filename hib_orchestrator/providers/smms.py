"""SM.MS (and its ``smms.app`` mirror) through API v2.

Settings: ``token`` (required; sent as the ``Authorization`` header, as SM.MS documents),
``endpoint`` (default ``https://sm.ms``; ``https://smms.app`` for the mirror).
Listing pages ``GET /api/v2/upload_history?page=N`` until ``TotalPages``. Keys are the image's
server path (``2024/05/01/abc.png``), never its original file name. SM.MS publishes no content
checksum (its ``hash`` is a deletion token), so downloads are verified by size.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from hib_orchestrator.errors import NetworkError, ProviderAuthFailed, RateLimited
from hib_orchestrator.providers.base import ObjectInfo, ProviderContext, optional, require
from hib_orchestrator.providers.http import HttpClient

MAX_PAGES = 100_000


class SmmsProvider:
    """An SM.MS account's upload history."""

    name: ClassVar[str] = "smms"

    def __init__(self, settings: Mapping[str, Any], ctx: ProviderContext | None = None) -> None:
        ctx = ctx or ProviderContext()
        self.token = require(settings, "token", self.name)
        self.endpoint = optional(settings, "endpoint", "https://sm.ms").rstrip("/")
        self.http = HttpClient(limiter=ctx.limiter, pool_size=ctx.pool_size, provider=self.name)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": self.token, "User-Agent": "hib-orchestrator"}

    def list_objects(self) -> Iterator[ObjectInfo]:
        """Page through the upload history."""
        page, total = 1, 1
        while page <= min(total, MAX_PAGES):
            doc = self.http.get_json(
                f"{self.endpoint}/api/v2/upload_history?page={page}", self._headers()
            )
            _check(doc)
            total = int(doc.get("TotalPages") or 1)
            for item in doc.get("data") or []:
                key = str(item.get("path") or item["storename"]).lstrip("/")
                yield ObjectInfo(key, int(item.get("size", 0)), "", "size", str(item["url"]))
            page += 1

    def iter_bytes(self, obj: ObjectInfo) -> Iterator[bytes]:
        """Download from the image URL (public; no token sent)."""
        yield from self.http.iter_bytes(obj.ref, {"User-Agent": "hib-orchestrator"})

    def close(self) -> None:
        """Close HTTP connections."""
        self.http.close()


def _check(doc: Any) -> None:
    if not isinstance(doc, dict):
        raise NetworkError("upload_history: unexpected response")
    if doc.get("success") is False:
        code = str(doc.get("code", "")).lower()
        message = str(doc.get("message", ""))[:120]
        if "unauthor" in code or "token" in code:
            raise ProviderAuthFailed(f"upload_history: {message or code}")
        if "limit" in code or "frequent" in code:
            raise RateLimited(f"upload_history: {message or code}")
        raise NetworkError(f"upload_history: {code} {message}")
