"""A per-provider request-rate cap shared by every worker thread, plus a shared pause.

When one request is told to slow down (429 + ``Retry-After``, or a rate-limit header reaching
zero) every thread of that provider holds off, not just the one that got the answer.
"""

from __future__ import annotations

import threading
import time


class RateLimiter:
    """Token bucket (``rate`` requests/second, ``burst`` tokens) with a shared pause."""

    def __init__(self, rate: float | None = None, burst: int | None = None) -> None:
        self.rate = rate if rate and rate > 0 else None
        self.burst = float(burst or max(1, int(self.rate or 1)))
        self._tokens = self.burst
        self._stamp = time.monotonic()
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def pause(self, seconds: float) -> None:
        """Make every caller of :meth:`acquire` wait at least ``seconds`` from now."""
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + max(0.0, seconds))

    def acquire(self) -> None:
        """Block until a request may be sent."""
        while True:
            with self._lock:
                now = time.monotonic()
                wait = self._paused_until - now
                if wait <= 0 and self.rate is None:
                    return
                if wait <= 0 and self.rate is not None:
                    self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
                    self._stamp = now
                    if self._tokens >= 1:
                        self._tokens -= 1
                        return
                    wait = (1 - self._tokens) / self.rate
            time.sleep(min(wait, 1.0))
