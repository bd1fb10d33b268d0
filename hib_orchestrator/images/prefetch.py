"""A provider and its listing, started before the engine's heavy imports.

The isolated backup process spends ~0.5 s importing SQLAlchemy and opening the database before
the engine would list; the listing itself mostly waits on the network (outside the GIL with
obstore). :func:`start` creates the provider and runs the listing on a thread first, and
:func:`hib_orchestrator.images.transfer.backup` takes over both. Only light modules here.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hib_orchestrator.images.retry import RetryPolicy
from hib_orchestrator.providers.base import ObjectInfo, Provider, ProviderContext
from hib_orchestrator.providers.ratelimit import RateLimiter
from hib_orchestrator.providers.registry import ProviderRegistry, default_registry


@dataclass(slots=True)
class Prefetch:
    """A created provider and its listing in progress (or done), since ``started``."""

    provider: Provider
    listing: Future[list[ObjectInfo]]
    started: float = field(default_factory=time.monotonic)


def safe_name(host: str) -> str:
    """``host`` as a file-name part."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", host) or "_"


def context(host: str, store_root: Path, workers: int, rate_limit: float | None) -> ProviderContext:
    """The context the engine gives a provider of ``host``."""
    return ProviderContext(
        host=host,
        limiter=RateLimiter(rate_limit),
        pool_size=max(1, workers),
        workdir=store_root / "work" / safe_name(host),
    )


def list_all(provider: Provider, retry: RetryPolicy) -> list[ObjectInfo]:
    """The whole listing (retried as a whole); a key listed twice is kept once, last answer."""
    objs = retry.call(lambda: list(provider.list_objects()))
    return list({o.key: o for o in objs}.values())


def start(
    host: str,
    provider_type: str,
    settings: Mapping[str, Any],
    *,
    store_root: Path,
    workers: int,
    rate_limit: float | None,
    retry: RetryPolicy,
    registry: ProviderRegistry | None = None,
) -> Prefetch:
    """Create the provider and start listing it on a thread.

    Raises:
        ConfigError, UnsupportedProvider: as the engine would (bad settings, no plug-in).
    """
    started = time.monotonic()
    provider = (registry or default_registry()).create(
        provider_type, settings, context(host, store_root, workers, rate_limit)
    )
    pool = ThreadPoolExecutor(1, thread_name_prefix="hib-list")
    listing = pool.submit(list_all, provider, retry)
    pool.shutdown(wait=False)  # the thread ends with the listing
    return Prefetch(provider, listing, started)
