"""Retries with exponential backoff and full jitter, honouring ``Retry-After``.

Transient provider errors (``RATE_LIMITED``, ``NETWORK``, ``CHECKSUM_MISMATCH``) are retried;
``AUTH_FAILED``, ``NOT_FOUND`` and store errors are not (retrying cannot fix them).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from hib_orchestrator.errors import ChecksumMismatch, NetworkError, RateLimited

T = TypeVar("T")
TRANSIENT = (RateLimited, NetworkError, ChecksumMismatch)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to wait.

    Attributes:
        attempts: total tries per item (1 = no retry).
        base: first backoff ceiling in seconds; doubles per try (full jitter below it).
        cap: largest backoff ceiling.
        max_retry_after: longest ``Retry-After`` honoured before giving up as RATE_LIMITED.
        sleep: how to wait (tests pass a recording wrapper around ``time.sleep``).
    """

    attempts: int = 5
    base: float = 0.25
    cap: float = 20.0
    max_retry_after: float = 300.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def delay(self, attempt: int, err: Exception) -> float:
        """Seconds to wait before try ``attempt + 1`` after ``err``."""
        backoff = random.uniform(0, min(self.cap, self.base * (2**attempt)))
        after = getattr(err, "retry_after", None)
        if after is not None:
            # The server's number is a floor; jitter on top spreads the workers out.
            return float(after) + random.uniform(0, self.base)
        return backoff

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` until it succeeds, raises a non-transient error or tries run out."""
        for attempt in range(max(1, self.attempts)):
            try:
                return fn()
            except TRANSIENT as err:
                if attempt + 1 >= self.attempts:
                    raise
                wait = self.delay(attempt, err)
                if wait > self.max_retry_after:
                    raise
                self.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover
