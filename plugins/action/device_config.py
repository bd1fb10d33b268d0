# Copyright (c) hib-orchestrator developers
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
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
    from hib_orchestrator.devices import BackupRequest, backup_device, registry
    from hib_orchestrator.devices.pool import active_pool
    from hib_orchestrator.devices.requests import ARGUMENT_SPEC, request_from_vars, shape_result
    from hib_orchestrator.devices.runctx import ensure_run_id
    from hib_orchestrator.errors import HibError
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
    ARGUMENT_SPEC = {}


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
        return {**result, **shape_result(outcome, request)}

    def _request(self, args: dict[str, Any], tv: dict[str, Any]) -> BackupRequest:
        def lookup(name: str) -> Any:
            value = tv.get(name)
            return None if value is None else self._templar.template(value)

        return request_from_vars(
            str(tv.get("inventory_hostname")), args, lookup,
            check_mode=bool(self._task.check_mode), want_diff=bool(self._task.diff),
            owner_pid=CONTROLLER_PID,
        )
