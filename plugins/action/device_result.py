# Copyright (c) hib-orchestrator developers
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Action plugin of ``hib.orchestrator.device_result``: one device's result from its batch.

``device_batch`` backs up a whole play batch in one task, so Ansible saw one result for all of
it. This task runs on the devices that must still count for Ansible (``report_hosts``: the ones
that failed or were unreachable) and returns each one's own result, so the recap, the exit code,
retry files and ``rescue`` see them exactly as a per-host ``device_config`` task would have made
them.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

ARGUMENT_SPEC: dict[str, Any] = {
    "batch": {"type": "dict", "required": True},
}


class ActionModule(ActionBase):
    """Report this host's device result out of a registered ``device_batch`` result."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        """Return the host's entry of ``batch.hosts`` (failed/unreachable as it was)."""
        task_vars = task_vars or {}
        result: dict[str, Any] = {"hib_kind": "device_report", "changed": False}
        try:
            _, args = self.validate_argument_spec(ARGUMENT_SPEC)
        except AnsibleActionFail as err:
            return {**result, "failed": True, "error_code": "BAD_CONFIG",
                    "msg": " ".join(str(err.message).split())}
        host = str(task_vars.get("inventory_hostname"))
        own = (args["batch"].get("hosts") or {}).get(host)
        if own is None:
            return {**result, "failed": True, "error_code": "BAD_CONFIG",
                    "msg": f"{host} is not in the device_batch result given as 'batch'"}
        # The batch staged the change; this only tells Ansible the device's own outcome.
        return {**own, **result, "changed": bool(own.get("changed"))}
