# Copyright (c) hib-orchestrator developers
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Action plugin of ``hib.orchestrator.device_batch``: a whole play batch in one task.

Ansible glue over :func:`hib_orchestrator.devices.batch.run_batch`: read every batch host's
variables, build the requests, run them, print one line per device as it finishes, return every
device's result keyed by host. ``BYPASS_HOST_LOOP``: Ansible runs it once per play batch (the
hosts of ``--limit`` and ``serial``), in one worker, under any builtin strategy.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from ansible import context
from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

try:
    from hib_orchestrator.cancel import CANCELED_MESSAGE, cancel_requested
    from hib_orchestrator.devices import registry
    from hib_orchestrator.devices.batch import run_batch
    from hib_orchestrator.devices.progress import ProgressFile, device_line, summarize
    from hib_orchestrator.devices.requests import (
        ARGUMENT_SPEC as DEVICE_SPEC,
    )
    from hib_orchestrator.devices.requests import (
        failed_result,
        request_from_vars,
        shape_result,
    )
    from hib_orchestrator.devices.runctx import ensure_run_id
    from hib_orchestrator.errors import HibError
    from hib_orchestrator.logs import setup_logging
    from hib_orchestrator.settings import load_settings

    IMPORT_ERROR: Exception | None = None
    # Imported in Ansible's main process: the run's staging belongs to it, not to a worker.
    CONTROLLER_PID = os.getpid()
    registry()  # parse the profile YAML once, before the fork
    ensure_run_id()
    with contextlib.suppress(HibError):
        setup_logging(load_settings(), ansible=True)
except ImportError as _err:  # pragma: no cover - reported as a task failure
    IMPORT_ERROR = _err
    DEVICE_SPEC = {}

display = Display()
#: device_config's arguments, plus which devices Ansible hears about one by one afterwards.
ARGUMENT_SPEC: dict[str, Any] = {
    **DEVICE_SPEC, "report": {"type": "str", "choices": ["failed", "all"], "default": "failed"},
}


def _processes() -> int:
    raw = os.environ.get("HIB_SESSION_PROCESSES") or str(os.cpu_count() or 1)
    if not raw.isdigit():
        raise ValueError(f"HIB_SESSION_PROCESSES must be a non-negative integer, not {raw!r}")
    return int(raw)


class ActionModule(ActionBase):
    """Back up every device of the play batch; one result holding each device's."""

    BYPASS_HOST_LOOP = True
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        """Validate, build a request per host, run the batch, shape the per-host results."""
        task_vars = task_vars or {}
        result: dict[str, Any] = {"hib_kind": "device_batch", "changed": False, "hosts": {}}
        if IMPORT_ERROR is not None:
            return {**result, "failed": True, "error_code": "INTERNAL",
                    "msg": f"hib_orchestrator is not importable: {IMPORT_ERROR}"}
        try:
            _, args = self.validate_argument_spec(ARGUMENT_SPEC)
            processes = _processes()
            settings = load_settings()
        except (AnsibleActionFail, ValueError, HibError) as err:
            message = getattr(err, "message", None) or str(err)
            return {**result, "failed": True, "error_code": "BAD_CONFIG",
                    "msg": " ".join(str(message).split())}
        hosts: dict[str, dict[str, Any]] = {}
        requests = []
        for host in task_vars.get("ansible_play_batch") or []:
            try:
                requests.append(request_from_vars(
                    host, args, self._lookup(task_vars, host),
                    check_mode=bool(self._task.check_mode), want_diff=bool(self._task.diff),
                    owner_pid=CONTROLLER_PID))
            except HibError as err:
                hosts[host] = {"hib_kind": "device", "commit": None,
                               **failed_result(str(err.code), err.message)}
                self._report(None, host, hosts[host])
        progress = ProgressFile.from_env()

        def on_result(request: Any, outcome: Any) -> None:
            host = request.connection.host
            if outcome is None:
                shaped: dict[str, Any] = {"changed": False, "skipped": True,
                                          "msg": CANCELED_MESSAGE}
            else:
                shaped = shape_result(outcome, request)
            hosts[host] = {"hib_kind": "device", "commit": None, **shaped}
            self._report(progress, host, hosts[host])

        forks = int(context.CLIARGS.get("forks") or 5)
        try:
            run_batch(requests, settings.config_store, concurrency=forks, processes=processes,
                      on_result=on_result, canceled=cancel_requested)
        finally:
            if progress is not None:
                progress.close()
        return {**result, **summarize(hosts, first=str(task_vars.get("inventory_hostname")),
                                      report_all=args["report"] == "all")}

    def _lookup(self, task_vars: dict[str, Any], host: str) -> Any:
        """``name -> templated value`` for ``host`` as if the task ran on it.

        Inventory and facts come from ``hostvars`` (templated in the host's context); the play's
        and the task's own ``vars:`` rank above them and extra vars above everything, as in
        Ansible's variable precedence.
        """
        own = task_vars["hostvars"][host]
        play = self._task.get_play()
        layers = [play.get_vars() if play is not None else {}, self._task.get_vars(),
                  self._task.get_variable_manager().extra_vars]
        templar = self._templar.copy_with_new_env(available_variables=own)

        def lookup(name: str) -> Any:
            for layer in reversed(layers):
                if layer.get(name) is not None:
                    return templar.template(layer[name])
            return own.get(name) if name in own else None

        return lookup

    def _report(self, progress: Any, host: str, shaped: dict[str, Any]) -> None:
        if progress is not None:
            progress.write(host, shaped)
        line, color = device_line(host, shaped)
        display.display(line, color=color)
