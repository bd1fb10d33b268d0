from __future__ import annotations

import pytest

from hib_orchestrator.errors import NetworkError, ProviderAuthFailed, RateLimited
from hib_orchestrator.images.retry import RetryPolicy


def test_transient_errors_are_retried_with_growing_backoff_and_retry_after() -> None:
    waits: list[float] = []
    policy = RetryPolicy(attempts=4, base=0.01, sleep=waits.append)
    errors = [NetworkError("reset"), RateLimited("slow", retry_after=3.0), NetworkError("reset")]

    def flaky() -> str:
        if errors:
            raise errors.pop(0)
        return "done"

    assert policy.call(flaky) == "done"
    assert len(waits) == 3
    assert waits[1] >= 3.0  # the server's Retry-After is a floor
    assert all(w <= 3.0 + 0.01 for w in waits)


def test_auth_failures_are_not_retried() -> None:
    waits: list[float] = []
    calls = []

    def denied() -> None:
        calls.append(1)
        raise ProviderAuthFailed("401")

    with pytest.raises(ProviderAuthFailed):
        RetryPolicy(attempts=5, sleep=waits.append).call(denied)
    assert calls == [1] and waits == []


def test_gives_up_after_attempts_and_on_absurd_retry_after() -> None:
    waits: list[float] = []

    def always() -> None:
        raise NetworkError("down")

    with pytest.raises(NetworkError):
        RetryPolicy(attempts=3, base=0.01, sleep=waits.append).call(always)
    assert len(waits) == 2

    def hours() -> None:
        raise RateLimited("come back tomorrow", retry_after=86400)

    with pytest.raises(RateLimited):
        RetryPolicy(attempts=3, max_retry_after=60, sleep=waits.append).call(hours)
