"""Imgur through API v3 with OAuth2.

Settings: ``client_id``, ``client_secret``, ``refresh_token`` (to mint access tokens),
``access_token`` (optional; refreshed when it expires), ``api`` (default
``https://api.imgur.com``).

Listing pages ``GET /3/account/me/images/{page}`` (50 per page) until a page comes back empty.
A 401 triggers one ``POST /oauth2/token`` refresh; ``X-RateLimit-*`` headers are honoured by the
shared limiter; ``GET /3/credits`` is checked before listing so an exhausted quota is reported as
``RATE_LIMITED`` up front. Keys are ``<id><ext>`` (Imgur's stable id); Imgur publishes no content
checksum, so downloads are verified by size.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from hib_orchestrator.errors import ConfigError, ProviderAuthFailed, ProviderError, RateLimited
from hib_orchestrator.providers.base import ObjectInfo, ProviderContext, optional
from hib_orchestrator.providers.http import HttpClient

MAX_PAGES = 100_000


class ImgurProvider:
    """An Imgur account's images."""

    name: ClassVar[str] = "imgur"

    def __init__(self, settings: Mapping[str, Any], ctx: ProviderContext | None = None) -> None:
        ctx = ctx or ProviderContext()
        self.api = optional(settings, "api", "https://api.imgur.com").rstrip("/")
        self.client_id = optional(settings, "client_id")
        self.client_secret = optional(settings, "client_secret")
        self.refresh_token = optional(settings, "refresh_token")
        self.access_token = optional(settings, "access_token")
        if not self.access_token and not (self.refresh_token and self.client_id):
            raise ConfigError(
                "provider 'imgur' needs access_token or refresh_token + client_id (+ client_secret)"
            )
        self.http = HttpClient(limiter=ctx.limiter, pool_size=ctx.pool_size, provider=self.name)
        self._lock = threading.Lock()

    def list_objects(self) -> Iterator[ObjectInfo]:
        """Check credits, then page until empty."""
        credits = self._api_json("/3/credits").get("data") or {}
        if str(credits.get("UserRemaining", "1")) == "0":
            raise RateLimited("imgur user credits exhausted (see /3/credits)")
        for page in range(MAX_PAGES):
            items = self._api_json(f"/3/account/me/images/{page}").get("data") or []
            if not items:
                return
            for item in items:
                link = str(item["link"])
                ext = "." + link.rsplit(".", 1)[-1] if "." in link.rsplit("/", 1)[-1] else ""
                yield ObjectInfo(f"{item['id']}{ext}", int(item.get("size", 0)), "", "size", link)

    def iter_bytes(self, obj: ObjectInfo) -> Iterator[bytes]:
        """Download from the image link (public)."""
        yield from self.http.iter_bytes(obj.ref, {"User-Agent": "hib-orchestrator"})

    def close(self) -> None:
        """Close HTTP connections."""
        self.http.close()

    def _api_json(self, path: str) -> dict[str, Any]:
        if not self.access_token:
            self._refresh("")
        token = self.access_token
        try:
            return dict(self.http.get_json(self.api + path, self._headers(token)))
        except ProviderAuthFailed:
            if not self.refresh_token:
                raise
            self._refresh(token)
            return dict(self.http.get_json(self.api + path, self._headers(self.access_token)))

    def _headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}", "User-Agent": "hib-orchestrator"}

    def _refresh(self, stale: str) -> None:
        with self._lock:
            if self.access_token != stale:  # another thread refreshed already
                return
            if not self.refresh_token:
                raise ProviderAuthFailed("imgur access token rejected and no refresh_token set")
            try:
                resp = self.http.request(
                    "POST",
                    f"{self.api}/oauth2/token",
                    fields={
                        "refresh_token": self.refresh_token,
                        "client_id": self.client_id,
                        "client_secret": self.client_secret,
                        "grant_type": "refresh_token",
                    },
                )
            except ProviderError as err:
                # Imgur answers a bad refresh token / client with 400 invalid_grant.
                if getattr(err, "http_status", None) == 400:
                    raise ProviderAuthFailed("imgur token refresh rejected") from err
                raise
            try:
                doc = json.loads(resp.data)
                self.access_token = str(doc["access_token"])
            except (ValueError, KeyError) as err:
                raise ProviderAuthFailed("imgur token refresh returned no access_token") from err
            self.refresh_token = str(doc.get("refresh_token") or self.refresh_token)
