"""Run one provider backup in a fresh interpreter (``python -m hib_orchestrator.images.isolated``).

Ansible forks its workers from a controller process that holds open SQLite connections (the
recorder). SQLite keeps per-file lock state in process memory, and a forked child inherits it
in a state that can never be released: the child's first write may wait forever on a lock
nobody holds. A freshly exec'd interpreter has clean state, so the action plugin backs up
through :func:`backup_isolated`. Settings (with credentials) travel on stdin, never argv.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

from hib_orchestrator.errors import (
    ConfigError,
    HibError,
    StoreError,
    StoreLocked,
    UnsupportedProvider,
)


def backup_isolated(
    host: str,
    provider_type: str,
    provider_settings: Mapping[str, Any],
    *,
    workers: int = 8,
    rate_limit: float | None = None,
    attempts: int = 5,
    dry_run: bool = False,
    timeout: float | None = None,
) -> Any:
    """:func:`hib_orchestrator.images.backup_host` in a child interpreter; same result type.

    Raises:
        ConfigError, UnsupportedProvider: as ``backup_host`` (re-raised from the child).
        StoreError: the child died without an answer.
    """
    from hib_orchestrator.images.transfer import BackupResult

    request = {
        "host": host,
        "provider": provider_type,
        "settings": dict(provider_settings),
        "workers": workers,
        "rate_limit": rate_limit,
        "attempts": attempts,
        "dry_run": dry_run,
    }
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "hib_orchestrator.images.isolated"],
            input=json.dumps(request, default=str).encode(),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as err:
        raise StoreError(f"image backup of {host} did not finish within {timeout}s") from err
    try:
        doc = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    except (ValueError, IndexError) as err:
        tail = " ".join(proc.stderr.decode(errors="replace").split())[-200:]
        raise StoreError(f"image backup of {host} exited {proc.returncode}: {tail}") from err
    if "raise" in doc:
        cls = {
            "BAD_CONFIG": ConfigError,
            "UNSUPPORTED_PROVIDER": UnsupportedProvider,
            "STORE_ERROR": StoreError,
            "STORE_LOCKED": StoreLocked,
        }.get(doc["raise"]["code"], HibError)
        raise cls(doc["raise"]["message"], host=host)
    return BackupResult(**doc["result"])


def main() -> int:
    """Child side: one JSON request on stdin, one JSON answer line on stdout."""
    from hib_orchestrator.images import RetryPolicy

    req = json.loads(sys.stdin.read())
    retry = RetryPolicy(attempts=int(req["attempts"]))
    # The listing starts before the engine's imports and the database open (see prefetch).
    early = None if req.get("dry_run") else _prefetch(req, retry)

    from hib_orchestrator.images import BackupOptions, backup_host

    options = BackupOptions(
        workers=int(req["workers"]),
        rate_limit=req.get("rate_limit"),
        retry=retry,
        dry_run=bool(req.get("dry_run")),
    )
    try:
        result = backup_host(
            req["host"], req["provider"], req["settings"], options=options, prefetch=early
        )
    except HibError as err:
        print(json.dumps({"raise": {"code": str(err.code), "message": err.message}}))
        return 0
    print(json.dumps({"result": dataclasses.asdict(result)}, default=str))
    return 0


def _prefetch(req: Mapping[str, Any], retry: Any) -> Any:
    """The provider with its listing started, or None (the engine then does both itself and
    reports whatever made this fail)."""
    from hib_orchestrator.images import prefetch, scratch_root
    from hib_orchestrator.settings import load_settings

    try:
        settings = load_settings()
        return prefetch.start(
            req["host"],
            req["provider"],
            req["settings"],
            store_root=scratch_root(settings),
            workers=int(req["workers"]),
            rate_limit=req.get("rate_limit"),
            retry=retry,
        )
    except Exception:  # the engine repeats the step and reports what failed
        return None


if __name__ == "__main__":
    sys.exit(main())
