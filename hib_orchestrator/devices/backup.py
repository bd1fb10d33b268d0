"""Back up one device: fetch, filter, mask, check, compare with the last good copy, stage.

:func:`backup_device` is the single call the ``device_config`` action plugin makes. Failures are
returned inside the :class:`BackupResult` (``error``), never raised: one bad device is one failed
result, the run goes on.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from typing import Any

from hib_orchestrator.configstore import ConfigStore
from hib_orchestrator.devices.fetch import Connection, FetchPolicy, fetch_with_retries
from hib_orchestrator.devices.filters import (
    check_rejected,
    comparable_text,
    normalise_output,
    stored_text,
)
from hib_orchestrator.devices.profiles import registry
from hib_orchestrator.devices.safety import check_complete
from hib_orchestrator.errors import HibError, StoreError
from hib_orchestrator.logs import get_logger, log_context


@dataclass(frozen=True, slots=True)
class BackupRequest:
    """Everything one device backup needs (built by the action plugin from inventory)."""

    connection: Connection
    platform: str
    run_id: str
    policy: FetchPolicy = field(default_factory=FetchPolicy)
    overrides: dict[str, Any] = field(default_factory=dict)
    mask_secrets: bool = True
    accept_size_drop: bool = False
    check_mode: bool = False
    want_diff: bool = False
    owner_pid: int | None = None


@dataclass(slots=True)
class BackupResult:
    """Outcome of one device backup; ``error`` is set when it failed."""

    host: str
    changed: bool = False
    sha256: str | None = None
    size_bytes: int | None = None
    path: str | None = None
    attempts: int = 0
    duration_s: float = 0.0
    staged: bool = False
    diff: dict[str, str] | None = None
    error: HibError | None = None


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


log = get_logger(__name__)


def backup_device(request: BackupRequest, store: ConfigStore) -> BackupResult:
    """Fetch ``request``'s device and stage its config when its significant content changed."""
    host = request.connection.host
    with log_context(host=host, run_id=os.environ.get("HIB_RUN_ID"), operation="device_config"):
        result = _backup(request, store, host)
        if result.error is not None:
            log.warning("backup failed [%s] after %d attempt(s): %s", result.error.code,
                        result.attempts, result.error.message)
        else:
            log.info("backed up in %.2fs, %d attempt(s), changed=%s", result.duration_s,
                     result.attempts, result.changed)
        return result


def _backup(request: BackupRequest, store: ConfigStore, host: str) -> BackupResult:
    result = BackupResult(host=host)
    started = time.monotonic()
    try:
        try:
            _run(request, store, result)
        except OSError as err:  # staging or reading the store: disk full, permissions...
            raise StoreError(f"config store I/O failed: {err}", host=host) from err
        except (HibError, KeyboardInterrupt, SystemExit):
            raise
        except Exception as err:  # a bug must still be one host's result, not a traceback
            raise HibError(f"internal error: {type(err).__name__}: {err}", host=host) from err
    except HibError as err:
        if err.host is None:
            err.host = host
        result.error = err
        result.attempts = max(result.attempts, getattr(err, "attempts", result.attempts))
        result.changed = False
        result.staged = False
    result.duration_s = round(time.monotonic() - started, 3)
    return result


def _run(request: BackupRequest, store: ConfigStore, result: BackupResult) -> None:
    host = request.connection.host
    result.path = store.path_for(host)  # refuses unsafe names before we connect anywhere
    profile = registry().get(request.platform, host=host).with_overrides(request.overrides)
    previous = store.current(host)

    def validate(outputs: list[tuple[str, str]]) -> str:
        cleaned = []
        for command, raw in outputs:
            out = normalise_output(profile, command, raw)
            check_rejected(profile, command, out, host=host)
            cleaned.append((command, out))
        text = stored_text(profile, cleaned, mask=request.mask_secrets)
        check_complete(profile, text, previous, accept_size_drop=request.accept_size_drop,
                       host=host)
        return text

    text, result.attempts = fetch_with_retries(
        profile, request.connection, request.policy, validate=validate
    )
    changed = previous is None or comparable_text(profile, text) != comparable_text(
        profile, previous
    )
    kept = text if changed else previous
    assert kept is not None
    result.changed = changed
    result.sha256, result.size_bytes = _sha(kept), len(kept.encode())
    if request.want_diff and changed:
        result.diff = {
            "before": previous or "",
            "after": text,
            "before_header": f"{result.path} (last stored)",
            "after_header": f"{host} (device, masked)" if request.mask_secrets else host,
        }
    if changed and not request.check_mode:
        base = _sha(previous) if previous is not None else ""
        store.staging(request.run_id, request.owner_pid).put(
            host, text, result.sha256, base, significant=_sha(comparable_text(profile, text)))
        result.staged = True
