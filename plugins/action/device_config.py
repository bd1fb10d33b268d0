# Copyright: hib-orchestrator contributors
# Apache-2.0
"""Action plugin of ``hib.orchestrator.device_config``: Ansible glue over hib_orchestrator.devices.

Runs on the controller, never ships a module. netmiko and the platform profiles are imported at
import time on purpose: Ansible imports action classes in the controller before it forks its
workers, so every worker starts with them loaded (~30 ms CPU per device instead of ~0.4 s).
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

try:
    from hib_orchestrator.cancel import cancel_requested, canceled_result
    from hib_orchestrator.configstore import ConfigStore
    from hib_orchestrator.devices import (
        BackupRequest,
        BackupResult,
        Connection,
        FetchPolicy,
        backup_device,
        registry,
    )
    from hib_orchestrator.devices.fetch import DEFAULT_RETRIES, DEFAULT_TIMEOUT
    from hib_orchestrator.devices.pool import active_pool
    from hib_orchestrator.devices.runctx import ensure_run_id
    from hib_orchestrator.errors import ConfigError, HibError
    from hib_orchestrator.logs import setup_logging
    from hib_orchestrator.settings import load_settings

    IMPORT_ERROR: Exception | None = None
    # Imported in Ansible's main process: forked workers inherit this, threads share it.
    CONTROLLER_PID = os.getpid()
    registry()  # parse the profile YAML once, before the fork
    ensure_run_id()
    with contextlib.suppress(HibError):
        # hib's own log lines (retries, failures; JSON with HIB_LOG_FORMAT=json) on stderr;
        # bad settings are reported per task instead.
        setup_logging(load_settings(), ansible=True)
except ImportError as _err:  # pragma: no cover - reported as a task failure
    IMPORT_ERROR = _err

ARGUMENT_SPEC: dict[str, Any] = {
    "platform": {"type": "str"},
    "commands": {"type": "list", "elements": "str"},
    "timeout": {"type": "float"},
    "retries": {"type": "int"},
    "password": {"type": "str", "no_log": True},
    "enable_secret": {"type": "str", "no_log": True},
    "mask_secrets": {"type": "bool"},
    "secret_patterns": {"type": "list", "elements": "str"},
    "ignore_lines": {"type": "list", "elements": "str"},
    "delete_lines": {"type": "list", "elements": "str"},
    "min_lines": {"type": "int"},
    "max_size_drop_pct": {"type": "float"},
    "accept_size_drop": {"type": "bool"},
}


class ActionModule(ActionBase):
    """Back up one device's configuration into the run's staging area."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        """Validate, build one :class:`BackupRequest`, call ``backup_device``, shape the result."""
        task_vars = task_vars or {}
        result: dict[str, Any] = {"hib_kind": "device", "changed": False, "commit": None}
        if IMPORT_ERROR is not None:
            return {**result, "failed": True, "error_code": "INTERNAL",
                    "msg": f"hib_orchestrator is not importable: {IMPORT_ERROR}"}
        if cancel_requested():  # `hib run` was canceled: start no new host
            return {**result, **canceled_result("device")}
        try:
            _, args = self.validate_argument_spec(ARGUMENT_SPEC)
        except AnsibleActionFail as err:
            return {**result, "failed": True, "error_code": "BAD_CONFIG",
                    "msg": " ".join(str(err.message).split())}
        try:
            request = self._request(args, task_vars)
            store_root = load_settings().config_store
        except HibError as err:
            return {**result, "failed": True, "error_code": str(err.code), "msg": err.message}
        pool = active_pool()  # the fleet strategy: the session runs in its session pool
        outcome = pool.backup(request, store_root) if pool else backup_device(
            request, ConfigStore(store_root))
        return {**result, **_shape(outcome, request)}

    def _var(self, task_vars: dict[str, Any], *names: str) -> Any:
        for name in names:
            if task_vars.get(name) is not None:
                return self._templar.template(task_vars[name])
        return None

    def _request(self, args: dict[str, Any], tv: dict[str, Any]) -> BackupRequest:
        host = str(tv.get("inventory_hostname"))

        def pick(arg: str, *names: str) -> Any:
            return args.get(arg) if args.get(arg) is not None else self._var(tv, *names)

        platform = pick("platform", "hib_platform", "ansible_network_os")
        if not platform:
            raise ConfigError("no platform: set hib_platform (or ansible_network_os)", host=host)
        key_file = self._var(tv, "ansible_ssh_private_key_file", "ansible_private_key_file")
        connection = Connection(
            host=host,
            address=str(self._var(tv, "ansible_host", "ansible_ssh_host") or host),
            port=_int(self._var(tv, "ansible_port", "ansible_ssh_port") or 22, "ansible_port"),
            username=_str(self._var(tv, "ansible_user", "ansible_ssh_user")),
            password=_str(pick("password", "ansible_password", "ansible_ssh_pass")),
            key_file=os.path.expanduser(str(key_file)) if key_file else None,
            enable_secret=_str(
                pick("enable_secret", "hib_enable_secret", "ansible_become_password")
            ),
        )
        policy = FetchPolicy(
            timeout=_float(pick("timeout", "hib_timeout") or DEFAULT_TIMEOUT, "hib_timeout"),
            retries=_int(_first(pick("retries", "hib_retries"), DEFAULT_RETRIES), "hib_retries"),
        )
        mask = _first(pick("mask_secrets", "hib_mask_secrets"), True)
        extra_masks = pick("secret_patterns", "hib_secret_patterns")
        if isinstance(mask, list | tuple):  # `hib_mask_secrets: [regex, ...]`: on, plus these
            extra_masks, mask = [*(extra_masks or []), *mask], True
        overrides = {
            "commands": pick("commands", "hib_commands"),
            "extra_ignore_lines": pick("ignore_lines", "hib_ignore_lines"),
            "extra_delete_lines": pick("delete_lines", "hib_delete_lines"),
            "extra_mask_secrets": extra_masks,
            "min_lines": pick("min_lines", "hib_min_lines"),
            "max_drop_pct": pick("max_size_drop_pct", "hib_max_size_drop_pct"),
        }
        return BackupRequest(
            connection=connection,
            platform=str(platform),
            run_id=ensure_run_id(),
            policy=policy,
            overrides=overrides,
            mask_secrets=_bool(mask),
            accept_size_drop=_bool(_first(pick("accept_size_drop", "hib_accept_size_drop"),
                                          False)),
            check_mode=bool(self._task.check_mode),
            want_diff=bool(self._task.diff),
            owner_pid=CONTROLLER_PID,
        )


def _first(value: Any, default: Any) -> Any:
    return default if value is None else value


def _str(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{name} must be an integer, not {value!r}") from err


def _float(value: Any, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{name} must be a number, not {value!r}") from err
    if number <= 0:
        raise ConfigError(f"{name} must be > 0, not {number}")
    return number


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "y")
    return bool(value)


def _shape(outcome: BackupResult, request: BackupRequest) -> dict[str, Any]:
    shaped: dict[str, Any] = {
        "changed": outcome.changed,
        "attempts": outcome.attempts,
        "duration_s": outcome.duration_s,
        "sha256": outcome.sha256,
        "size_bytes": outcome.size_bytes,
        "path": outcome.path,
        "staged": outcome.staged,
    }
    if outcome.error is not None:
        shaped.update(failed=True, changed=False, error_code=str(outcome.error.code),
                      msg=outcome.error.message)
        if outcome.error.code == "UNREACHABLE":
            # Ansible's own notion (it checks `failed` first): the recap, ignore_unreachable
            # and the recorder's `unreachable` status all follow it.
            del shaped["failed"]
            shaped["unreachable"] = True
        return shaped
    if outcome.diff is not None:
        shaped["diff"] = outcome.diff
    if not outcome.changed:
        shaped["msg"] = "unchanged"
    elif request.check_mode:
        shaped["msg"] = "would change (check mode: nothing staged)"
    else:
        shaped["msg"] = "changed: staged for this run's commit"
    return shaped
