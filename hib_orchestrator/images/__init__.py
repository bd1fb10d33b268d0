"""The image store: content-addressed blobs, per-run snapshots, and the transfer engine.

One call backs up one provider (:func:`backup_host`); :mod:`.catalog` lists, restores, verifies
and prunes. The action plugin and the CLI use only what ``__all__`` names.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

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


def open_store(settings: Settings) -> BlobStore:
    """The blob store at ``settings.image_store`` (a local folder for now)."""
    from hib_orchestrator.errors import ConfigError

    if not settings.image_store_is_local:
        raise ConfigError(f"HIB_IMAGE_STORE {settings.image_store!r}: only folders are supported")
    return BlobStore(settings.image_store)


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
    from hib_orchestrator.images.transfer import backup

    settings = settings or load_settings()
    return backup(
        host,
        provider_type,
        provider_settings,
        store=open_store(settings),
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
    "sessions",
]
