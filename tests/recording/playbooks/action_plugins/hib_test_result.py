"""Test stand-in for hib's modules: returns ``result`` (a dict) as the task result, verbatim.

Lets playbooks produce the exact result shapes of device_config / provider_images /
config_commit (``hib_kind``, ``sha256``, ``objects``, ...) without devices.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):  # type: ignore[no-untyped-def]
        result = super().run(tmp, task_vars)
        result.update(dict(self._task.args.get("result") or {}))
        return result
