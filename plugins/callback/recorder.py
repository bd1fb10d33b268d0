# Copyright (c) hib-orchestrator developers
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Notification callback that records every run through hib's Recorder (thin adapter)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: recorder
type: notification
short_description: Record runs, plays, tasks and per-host results in the hib run database
version_added: "0.1.0"
author:
  - hib-orchestrator developers (@hib-orchestrator)
description:
  - Records every playbook run in the database hib reads (C(hib runs), C(hib hosts),
    C(hib history)) - SQLite by default, PostgreSQL with a C(postgresql+psycopg://) URL.
  - A notification callback, so it works beside any stdout callback and under ansible-runner.
  - Hands plain data to a writer process of its own (no HTTP hop, no database driver in the
    forking controller), which writes in batches (per task, every O(batch_size) results or every
    O(flush_interval) seconds). Never stores module arguments, task variables or the output of
    tasks marked C(no_log).
  - Creates the run at playbook start and exports its id as E(HIB_RUN_ID) to the action plugins,
    or attaches to the run E(HIB_RUN_ID) names when C(hib run) created it.
requirements:
  - the hib-orchestrator Python package in the controller's Python
options:
  db_url:
    description: SQLAlchemy URL of the run database (default C(sqlite:///$HIB_HOME/hib.db)).
    type: str
    env:
      - name: HIB_DB_URL
    ini:
      - section: hib_recorder
        key: db_url
  batch_size:
    description: Write as soon as this many results are waiting.
    type: int
    default: 500
    env:
      - name: HIB_RECORDER_BATCH_SIZE
    ini:
      - section: hib_recorder
        key: batch_size
  busy_timeout:
    description: Seconds a SQLite write waits for another writer's lock before it counts as failed.
    type: float
    default: 10.0
    env:
      - name: HIB_RECORDER_BUSY_TIMEOUT
    ini:
      - section: hib_recorder
        key: busy_timeout
  flush_interval:
    description: Seconds between writes of waiting results.
    type: float
    default: 1.0
    env:
      - name: HIB_RECORDER_FLUSH_INTERVAL
    ini:
      - section: hib_recorder
        key: flush_interval
"""

import os
import signal
import sys
from collections.abc import Mapping
from typing import Any

from ansible.plugins.callback import CallbackBase
from ansible.release import __version__ as ansible_version

try:
    # Only the light client: the database work happens in the recorder's own process.
    from hib_orchestrator.devices.progress import ansible_status as batch_status
    from hib_orchestrator.recording.aggregate import secret_values
    from hib_orchestrator.recording.client import RecorderClient

    HIB_IMPORT_ERROR: Exception | None = None
except ImportError as err:  # the collection is usable without the package, unrecorded
    HIB_IMPORT_ERROR = err


def _result_dict(result: Any) -> Mapping[str, Any]:
    data = getattr(result, "result", None)
    if not isinstance(data, Mapping):
        data = getattr(result, "_result", None)
    return data if isinstance(data, Mapping) else {}


def _host_name(result: Any) -> str:
    host = getattr(result, "host", None) or result._host
    return str(host.get_name())


def _task(result: Any) -> Any:
    return getattr(result, "task", None) or result._task


def _host_secrets(host: Any) -> set[str]:
    """Values of the host's (and its groups') secret-looking inventory variables."""
    found = secret_values(getattr(host, "vars", None) or {})
    for group in host.get_groups() if hasattr(host, "get_groups") else []:
        found |= secret_values(getattr(group, "vars", None) or {})
    return found


def _playbook_label(path: str) -> str:
    absolute = os.path.abspath(path)
    rel = os.path.relpath(absolute)
    return absolute if rel.startswith("..") else rel


class CallbackModule(CallbackBase):
    """Feeds plain data to :class:`hib_orchestrator.recording.client.RecorderClient`."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "hib.orchestrator.recorder"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._recorder: Any = None
        self._started = False
        self._previous_handlers: dict[int, Any] = {}

    def _warn(self, line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    # -- run lifecycle ---------------------------------------------------------------------------

    def v2_playbook_on_start(self, playbook: Any) -> None:
        if self._started:  # several playbooks on one command line: one run
            return
        self._started = True
        if HIB_IMPORT_ERROR is not None:
            self._warn(f"hib recorder: this run is NOT recorded ({HIB_IMPORT_ERROR})")
            return
        raw_id = os.environ.get("HIB_RUN_ID", "")
        client = RecorderClient(warn=self._warn)
        run_id = client.start(
            _playbook_label(playbook._file_name),
            run_id=int(raw_id) if raw_id.isdigit() else None,
            ansible_version=ansible_version,
            options={
                "db_url": self.get_option("db_url"),
                "batch_size": int(self.get_option("batch_size")),
                "flush_interval": float(self.get_option("flush_interval")),
                "busy_timeout_ms": int(float(self.get_option("busy_timeout")) * 1000),
            },
        )
        if run_id is None:
            return
        self._recorder = client
        # Before any worker forks: action plugins read the run id from their environment.
        os.environ["HIB_RUN_ID"] = str(run_id)
        self._install_signal_handlers()

    def _install_signal_handlers(self) -> None:
        for signum, status in ((signal.SIGINT, "canceled"), (signal.SIGTERM, "interrupted")):
            previous = signal.getsignal(signum)
            self._previous_handlers[signum] = previous

            def handler(
                num: int, frame: Any, status: str = status, previous: Any = previous
            ) -> None:
                def close_then_chain() -> None:
                    self._recorder.abort(status)
                    if callable(previous):
                        previous(num, frame)
                    elif previous == signal.SIG_DFL:
                        signal.signal(num, signal.SIG_DFL)
                        os.kill(os.getpid(), num)

                self._recorder.when_idle(close_then_chain)

            signal.signal(signum, handler)

    def v2_playbook_on_stats(self, stats: Any) -> None:
        if self._recorder is None:
            return
        failed = any(stats.failures.values()) or any(stats.dark.values())
        clean = [h for h in stats.processed
                 if not stats.failures.get(h) and not stats.dark.get(h)]
        self._recorder.finish("failed" if failed else "successful", clean_hosts=clean)
        for signum, previous in self._previous_handlers.items():
            if previous is not None:
                signal.signal(signum, previous)

    # -- plays and tasks -------------------------------------------------------------------------

    def v2_playbook_on_play_start(self, play: Any) -> None:
        if self._recorder is not None:
            self._recorder.play_start(play.get_name().strip() or "(unnamed play)")

    def v2_playbook_on_task_start(self, task: Any, is_conditional: bool) -> None:
        if self._recorder is not None:
            self._recorder.task_start(task._uuid, task.get_name(), str(task.action))

    def v2_playbook_on_handler_task_start(self, task: Any) -> None:
        if self._recorder is not None:
            self._recorder.task_start(task._uuid, task.get_name(), str(task.action), handler=True)

    def v2_runner_on_start(self, host: Any, task: Any) -> None:
        if self._recorder is not None:
            self._recorder.host_start(task._uuid, host.get_name())

    # -- results ---------------------------------------------------------------------------------

    def _record(self, result: Any, status: str, ignored: bool = False) -> None:
        if self._recorder is None:
            return
        task = _task(result)
        host = getattr(result, "host", None) or result._host
        data = _result_dict(result)
        kind = data.get("hib_kind")
        if kind == "device_report":
            return  # a device_batch result handed back to Ansible: recorded with its batch
        if kind == "device_batch" and isinstance(data.get("hosts"), Mapping):
            self._record_batch(task, host, data, ignored=bool(ignored))
            return
        self._recorder.result(
            task._uuid,
            _host_name(result),
            status,
            data,
            ignored=bool(ignored),
            no_log=task.no_log is True,
            secrets=lambda: _host_secrets(host),
        )

    def _record_batch(self, task: Any, first: Any, data: Mapping[str, Any], *,
                      ignored: bool) -> None:
        """One result per device of a device_batch task, as a per-host task would have given."""
        inventory = getattr(task.get_variable_manager(), "_inventory", None)
        for name, own in data["hosts"].items():
            host = inventory.get_host(name) if inventory is not None else None
            self._recorder.result(
                task._uuid,
                name,
                batch_status(own),
                {**own, "hib_kind": "device"},
                ignored=ignored,
                no_log=task.no_log is True,
                secrets=lambda host=host or first: _host_secrets(host),
                seconds=own.get("duration_s"),
            )

    def v2_runner_on_ok(self, result: Any) -> None:
        self._record(result, "ok")

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._record(result, "failed", ignored=bool(ignore_errors))

    def v2_runner_on_skipped(self, result: Any) -> None:
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._record(result, "unreachable")
