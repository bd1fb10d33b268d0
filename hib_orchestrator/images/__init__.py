"""The image store: content-addressed blobs, per-run snapshots, and the transfer engine.

One call backs up one provider (:func:`backup_host`); :mod:`.catalog` lists, restores, verifies
and prunes. The action plugin and the CLI use only what ``__all__`` names.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hib_orchestrator.errors import ErrorCode
from hib_orchestrator.images.blobstore import BlobStore
from hib_orchestrator.images.retry import RetryPolicy
from hib_orchestrator.lazy import lazy_exports
from hib_orchestrator.settings import Settings, load_settings

if TYPE_CHECKING:
    from hib_orchestrator.images.prefetch import Prefetch
    from hib_orchestrator.images.transfer import BackupOptions, BackupResult, Progress, backup

# The engine (SQLAlchemy, ~0.4 s to import) loads on first use, so light submodules
# (isolated, prefetch) can run before it (see prefetch).
__getattr__ = lazy_exports(__name__, dict.fromkeys(
    ("BackupOptions", "BackupResult", "Progress", "backup"), "hib_orchestrator.images.transfer"))


def scratch_root(settings: Settings) -> Path:
    """The local folder the store's in-flight state lives in: the store itself for a folder,
    ``$HIB_HOME/images-s3`` (this runner's own) for an ``s3://`` store."""
    if settings.image_store_is_local:
        return Path(settings.image_store)
    return settings.home / "images-s3"


def open_store(settings: Settings) -> BlobStore:
    """The blob store ``settings.image_store`` names: a folder, or ``s3://bucket/prefix``
    (checked now: bucket, credentials and endpoint).

    Raises:
        ConfigError: bad URL scheme, no bucket, no credentials, unreachable endpoint.
    """
    if settings.image_store_is_local:
        return BlobStore(settings.image_store, lock_timeout=settings.image_store_lock_timeout)
    from hib_orchestrator.images.s3store import S3BlobStore

    store = S3BlobStore(
        settings.image_store,
        scratch_root(settings),
        endpoint=settings.image_store_endpoint,
        region=settings.image_store_region,
        lock_timeout=settings.image_store_lock_timeout,
        prune_wait_s=settings.image_store_prune_wait,
    )
    store.check()
    return store


def sessions(settings: Settings) -> Any:
    """Session factory for the run database (image tables ensured)."""
    from hib_orchestrator.images._db import sessions_for

    return sessions_for(settings)


def current_run_id(env: Mapping[str, str] | None = None) -> int | None:
    """``HIB_RUN_ID`` (set by ``hib run`` or the recorder callback), if any."""
    value = (os.environ if env is None else env).get("HIB_RUN_ID", "")
    return int(value) if value.strip().isdigit() else None


def backup_host(
    host: str,
    provider_type: str,
    provider_settings: Mapping[str, Any],
    *,
    options: BackupOptions | None = None,
    settings: Settings | None = None,
    run_id: int | None = None,
    prefetch: Prefetch | None = None,
) -> BackupResult:
    """Back up one inventory host's image provider into the configured store.

    Per-provider failures come back in the result (``status``/``error_code``); bad settings
    raise ConfigError, an unknown provider UnsupportedProvider.
    """
    from hib_orchestrator.errors import HibError
    from hib_orchestrator.images.transfer import BackupResult, backup

    settings = settings or load_settings()
    try:
        store = open_store(settings)
    except HibError as err:  # the store, not the provider, is wrong: STORE_ERROR for this host
        if prefetch is not None:
            prefetch.provider.close()
        return BackupResult(
            provider=host,
            provider_type=provider_type,
            run_id=run_id,
            status="failed",
            error_code=str(ErrorCode.STORE_ERROR),
            error_message=err.message,
        )
    return backup(
        host,
        provider_type,
        provider_settings,
        store=store,
        sessions=sessions(settings),
        run_id=run_id if run_id is not None else current_run_id(),
        options=options,
        prefetch=prefetch,
    )


__all__ = [
    "BackupOptions",
    "BackupResult",
    "BlobStore",
    "Progress",
    "RetryPolicy",
    "backup",
    "backup_host",
    "current_run_id",
    "open_store",
    "scratch_root",
    "sessions",
]
