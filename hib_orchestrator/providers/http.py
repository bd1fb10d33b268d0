"""One pooled HTTP client (urllib3) for the HTTP-API providers, mapping answers to error codes.

Status → error: 401/403 ``AUTH_FAILED``, 404 ``NOT_FOUND``, 429 ``RATE_LIMITED`` (with the
``Retry-After`` seconds), 5xx and cut connections ``NETWORK``. Rate-limit headers
(``X-RateLimit-Remaining``/``X-RateLimit-UserRemaining`` reaching 0) pause the shared limiter
until the advertised reset. Retrying is the engine's job (:mod:`hib_orchestrator.images.retry`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from typing import Any

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error

from hib_orchestrator.errors import (
    NetworkError,
    NotFound,
    ProviderAuthFailed,
    ProviderError,
    RateLimited,
)
from hib_orchestrator.providers.ratelimit import RateLimiter

CHUNK = 256 * 1024
#: Longest wait a rate-limit *header* may impose before we give up and report RATE_LIMITED.
MAX_HEADER_PAUSE = 120.0
_REMAINING = ("X-RateLimit-Remaining", "X-RateLimit-UserRemaining", "X-RateLimit-ClientRemaining")
_RESET = ("X-RateLimit-Reset", "X-RateLimit-UserReset")


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds from a ``Retry-After`` header (delta form; HTTP-date form is rare on these APIs)."""
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class HttpClient:
    """A connection pool plus the provider's rate limiter; safe to share between threads."""

    def __init__(
        self,
        *,
        limiter: RateLimiter,
        pool_size: int = 16,
        timeout: float = 30.0,
        provider: str = "",
    ) -> None:
        self.limiter = limiter
        self.provider = provider
        self.pool = urllib3.PoolManager(
            maxsize=pool_size,
            block=False,
            retries=False,
            timeout=urllib3.Timeout(connect=10.0, read=timeout),
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        fields: Mapping[str, str] | None = None,
        stream: bool = False,
    ) -> urllib3.BaseHTTPResponse:
        """Send one request; raise the mapped ProviderError on any failure status."""
        self.limiter.acquire()
        try:
            extra: dict[str, Any] = (
                {"fields": dict(fields), "encode_multipart": False} if fields else {}
            )
            resp = self.pool.request(
                method,
                url,
                headers=dict(headers or {}),
                preload_content=not stream,
                redirect=True,
                **extra,
            )
        except Urllib3Error as err:
            raise NetworkError(f"{method} {_safe(url)}: {type(err).__name__}") from err
        self._note_rate_headers(resp.headers)
        if resp.status >= 400:
            body = resp.data[:200] if not stream else b""
            resp.release_conn()
            error = self._error(resp.status, url, resp.headers, body)
            error.http_status = resp.status  # type: ignore[attr-defined]
            raise error
        return resp

    def get_json(self, url: str, headers: Mapping[str, str] | None = None) -> Any:
        """GET and decode JSON; a body that is not JSON is a NETWORK error (proxy pages, cuts)."""
        resp = self.request("GET", url, headers=headers)
        try:
            return json.loads(resp.data)
        except ValueError as err:
            raise NetworkError(f"GET {_safe(url)}: response is not JSON") from err

    def iter_bytes(self, url: str, headers: Mapping[str, str] | None = None) -> Iterator[bytes]:
        """Stream a body; a short body (cut connection, short Content-Length) is NETWORK."""
        resp = self.request("GET", url, headers=headers, stream=True)
        try:
            yield from resp.stream(CHUNK, decode_content=True)
        except Urllib3Error as err:
            raise NetworkError(f"GET {_safe(url)}: body cut short ({type(err).__name__})") from err
        finally:
            resp.release_conn()

    def close(self) -> None:
        """Close pooled connections."""
        self.pool.clear()

    def _note_rate_headers(self, headers: Mapping[str, str]) -> None:
        for name in _REMAINING:
            remaining = headers.get(name)
            if remaining is not None and remaining.strip() == "0":
                self.limiter.pause(min(_reset_in(headers), MAX_HEADER_PAUSE))
                return

    def _error(
        self, status: int, url: str, headers: Mapping[str, str], body: bytes
    ) -> ProviderError:
        where = f"GET {_safe(url)} -> HTTP {status}"
        if status in (403, 429) and any(headers.get(h, "").strip() == "0" for h in _REMAINING):
            # GitHub/Imgur answer an exhausted quota with 403/429 and Remaining: 0.
            wait = min(_reset_in(headers), MAX_HEADER_PAUSE)
            return RateLimited(f"{where}: rate limit exhausted", retry_after=wait)
        if status in (401, 403):
            return ProviderAuthFailed(f"{where}: credentials rejected")
        if status == 404:
            return NotFound(where)
        if status == 429:
            after = retry_after_seconds(headers)
            if after is not None:
                self.limiter.pause(after)
            return RateLimited(f"{where}: rate limited", retry_after=after)
        return NetworkError(f"{where} {body.decode('utf-8', 'replace')[:80]}")


def _reset_in(headers: Mapping[str, str]) -> float:
    for name in _RESET:
        value = headers.get(name)
        if value:
            try:
                reset = float(value)
            except ValueError:
                continue
            # Epoch seconds (GitHub, Imgur) or a delta (some proxies): tell them apart by size.
            return max(0.0, reset - time.time()) if reset > 1e9 else reset
    return 1.0


def _safe(url: str) -> str:
    # Never echo query strings: some APIs accept tokens there.
    return url.split("?", 1)[0]
