"""From Ansible's variables to a :class:`BackupRequest`, and from a :class:`BackupResult` back.

Both device action plugins (``device_config``: one host per task; ``device_batch``: every host of
a play batch in one task) read the same inventory variables and report the same result shape, so
the translation lives here, once::

    request = request_from_vars("r1", args, lookup, check_mode=False, want_diff=False,
                                owner_pid=os.getpid())
    shaped = shape_result(backup_device(request, store), request)

``lookup(name)`` returns a variable's *templated* value or ``None``; task arguments win over
variables. Bad values raise :class:`~hib_orchestrator.errors.ConfigError` naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from hib_orchestrator.devices.backup import BackupRequest, BackupResult
from hib_orchestrator.devices.fetch import DEFAULT_RETRIES, DEFAULT_TIMEOUT, Connection, FetchPolicy
from hib_orchestrator.devices.runctx import ensure_run_id
from hib_orchestrator.errors import ConfigError

#: The task arguments both device actions accept (Ansible argument-spec format).
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

#: Inventory variables a device backup reads (what a batch must template for every host).
VARIABLES = (
    "hib_platform", "ansible_network_os", "ansible_ssh_private_key_file",
    "ansible_private_key_file", "ansible_host", "ansible_ssh_host", "ansible_port",
    "ansible_ssh_port", "ansible_user", "ansible_ssh_user", "ansible_password",
    "ansible_ssh_pass", "hib_enable_secret", "ansible_become_password", "hib_timeout",
    "hib_retries", "hib_mask_secrets", "hib_secret_patterns", "hib_commands", "hib_ignore_lines",
    "hib_delete_lines", "hib_min_lines", "hib_max_size_drop_pct", "hib_accept_size_drop",
)

Lookup = Callable[[str], Any]


def request_from_vars(
    host: str,
    args: Mapping[str, Any],
    lookup: Lookup,
    *,
    check_mode: bool,
    want_diff: bool,
    owner_pid: int,
) -> BackupRequest:
    """Build one device's request from task ``args`` and its variables (``lookup``)."""

    def var(*names: str) -> Any:
        for name in names:
            value = lookup(name)
            if value is not None:
                return value
        return None

    def pick(arg: str, *names: str) -> Any:
        return args.get(arg) if args.get(arg) is not None else var(*names)

    platform = pick("platform", "hib_platform", "ansible_network_os")
    if not platform:
        raise ConfigError("no platform: set hib_platform (or ansible_network_os)", host=host)
    key_file = var("ansible_ssh_private_key_file", "ansible_private_key_file")
    connection = Connection(
        host=host,
        address=str(var("ansible_host", "ansible_ssh_host") or host),
        port=_int(var("ansible_port", "ansible_ssh_port") or 22, "ansible_port"),
        username=_str(var("ansible_user", "ansible_ssh_user")),
        password=_str(pick("password", "ansible_password", "ansible_ssh_pass")),
        key_file=os.path.expanduser(str(key_file)) if key_file else None,
        enable_secret=_str(pick("enable_secret", "hib_enable_secret", "ansible_become_password")),
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
        accept_size_drop=_bool(_first(pick("accept_size_drop", "hib_accept_size_drop"), False)),
        check_mode=check_mode,
        want_diff=want_diff,
        owner_pid=owner_pid,
    )


def shape_result(outcome: BackupResult, request: BackupRequest) -> dict[str, Any]:
    """The task result Ansible (and the recorder) see for one device."""
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


def failed_result(code: str, message: str) -> dict[str, Any]:
    """A device result for a host that failed before its session started (bad variables)."""
    return {"changed": False, "failed": True, "error_code": code, "msg": message}


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


__all__ = ["ARGUMENT_SPEC", "VARIABLES", "failed_result", "request_from_vars", "shape_result"]
