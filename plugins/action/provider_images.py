# Copyright (c) hib-orchestrator developers
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Action plugin of ``hib.orchestrator.provider_images``: Ansible glue over hib_orchestrator.images.

Reads the provider type from ``hib_provider`` and its settings from the host's other ``hib_*``
variables (prefix stripped: ``hib_bucket`` → ``bucket``), makes one call into
:func:`hib_orchestrator.images.isolated.backup_isolated` (``backup_host`` in a fresh
interpreter: see that module for why), and shapes the result: ``changed`` only when new
content arrived, ``objects`` counts, ``error_code`` + ``msg`` on failure. Settings are never
echoed back (credentials are among them).
"""

from __future__ import annotations

from typing import Any

from ansible.plugins.action import ActionBase

try:
    from hib_orchestrator.cancel import cancel_requested, canceled_result
    from hib_orchestrator.errors import HibError
    from hib_orchestrator.images.isolated import backup_isolated

    IMPORT_ERROR: Exception | None = None
except ImportError as _err:  # pragma: no cover - reported as a task failure
    IMPORT_ERROR = _err

ARGUMENT_SPEC: dict[str, Any] = {
    "provider": {"type": "str"},
    "settings": {"type": "dict", "no_log": True},
    "workers": {"type": "int"},
    "rate_limit": {"type": "float"},
    "retries": {"type": "int"},
}
#: Host variables that tune the engine or belong to other modules, not provider settings.
NOT_SETTINGS = {
    "hib_provider",
    "hib_workers",
    "hib_rate_limit",
    "hib_retries",
    "hib_platform",
    "hib_enable_secret",
    "hib_timeout",
    "hib_status",
}
DEFAULT_WORKERS = 8
DEFAULT_RETRIES = 4


class ActionModule(ActionBase):
    """Back up one image host into hib's content-addressed image store."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        """Validate, call ``backup_host``, shape the result."""
        task_vars = task_vars or {}
        result: dict[str, Any] = {
            "hib_kind": "provider",
            "changed": False,
            "commit": None,
            "sha256": None,
        }
        if IMPORT_ERROR is not None:
            return {
                **result,
                "failed": True,
                "error_code": "INTERNAL",
                "msg": f"hib_orchestrator is not importable: {IMPORT_ERROR}",
            }
        if cancel_requested():  # `hib run` was canceled: start no new host
            return {**result, **canceled_result("provider")}
        _, args = self.validate_argument_spec(ARGUMENT_SPEC)
        host = str(task_vars.get("inventory_hostname"))
        try:
            provider = args.get("provider") or self._var(task_vars, "hib_provider")
            if not provider:
                return {
                    **result,
                    "failed": True,
                    "error_code": "BAD_CONFIG",
                    "msg": f"{host}: no provider: set hib_provider",
                }
            # A fresh interpreter: forked workers must not open the controller's SQLite DB.
            outcome = backup_isolated(
                host,
                str(provider),
                self._settings(args, task_vars),
                workers=int(_pick(args, task_vars, "workers", DEFAULT_WORKERS)),
                rate_limit=_float_or_none(_pick(args, task_vars, "rate_limit", None)),
                attempts=1 + int(_pick(args, task_vars, "retries", DEFAULT_RETRIES)),
                dry_run=bool(self._task.check_mode),
            )
        except (HibError, ValueError, TypeError) as err:
            code = str(err.code) if isinstance(err, HibError) else "BAD_CONFIG"
            message = err.message if isinstance(err, HibError) else str(err)
            return {**result, "failed": True, "error_code": code, "msg": message}
        shaped = _shape(outcome)
        if self._task.check_mode and not shaped.get("failed"):
            shaped["msg"] = "check mode, would download: " + shaped["msg"]
        return {**result, **shaped}

    def _var(self, task_vars: dict[str, Any], name: str) -> Any:
        value = task_vars.get(name)
        return None if value is None else self._templar.template(value)

    def _settings(self, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        settings = {
            name[4:]: self._var(task_vars, name)
            for name in task_vars
            if name.startswith("hib_") and name not in NOT_SETTINGS
        }
        settings.update(args.get("settings") or {})
        return settings


def _pick(args: dict[str, Any], task_vars: dict[str, Any], name: str, default: Any) -> Any:
    if args.get(name) is not None:
        return args[name]
    value = task_vars.get(f"hib_{name}")
    return default if value is None else value


def _float_or_none(value: Any) -> float | None:
    return None if value in (None, "") else float(value)


def _shape(outcome: Any) -> dict[str, Any]:
    shaped: dict[str, Any] = {
        "changed": outcome.content_changed,
        "objects": outcome.objects(),
        "status": outcome.status,
        "snapshot_id": outcome.snapshot_id,
        "run_id": outcome.run_id,
        "attempts": 1,
        "duration_s": outcome.duration_s,
        "size_bytes": outcome.bytes,
    }
    counts = outcome.objects()
    if outcome.error_code:
        shaped.update(
            failed=True,
            error_code=outcome.error_code,
            msg=outcome.error_message,
            failures=outcome.failures,
        )
        return shaped
    shaped["msg"] = (
        f"{counts['new']} new, {counts['changed']} changed, {counts['unchanged']} unchanged, "
        f"{counts['deleted_upstream']} deleted upstream, {counts['bytes']} bytes"
    )
    return shaped
