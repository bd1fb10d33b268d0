# Copyright (c) hib-orchestrator developers
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The ``linear`` strategy without a forked worker per device (thin adapter over hib's pool)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: fleet
short_description: linear, with hib's device backups run without a fork per host
description:
  - Behaves exactly like C(ansible.builtin.linear) (host order, C(--limit), C(forks) as the cap on
    hosts in flight, per-host results through the normal callbacks and recap, failed and
    unreachable hosts) for every task.
  - For C(hib.orchestrator.device_config) only, it does not fork a worker process per host. The
    task runs in a thread of the controller and the device session (SSH, filters, masking,
    compare, staging) runs in a small pool of long-lived session interpreters
    (E(HIB_SESSION_PROCESSES) of them, each running up to C(forks / processes) sessions). At
    1,000 devices this halves the controller's CPU and memory against C(linear)
    (see docs/performance.md).
  - Trade-offs. ansible-core 2.19 deprecates strategy plugins outside ansible.builtin, so Ansible
    prints a deprecation warning; the plugin uses internals of ansible-core's strategy code and
    falls back to plain C(linear) behaviour, with a warning, when they are missing. A device task
    that hangs in C code cannot take the controller down (the session runs in another process,
    under hib's per-attempt watchdog), but a crash of a session interpreter fails the sessions
    it was running (C(INTERNAL)); the next host gets a new interpreter.
  - E(HIB_SESSION_PROCESSES) sets the number of session interpreters (default the number of
    CPUs).
version_added: "0.2.0"
author:
  - hib-orchestrator developers (@hib-orchestrator)
"""

import math
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleError
from ansible.plugins.strategy.linear import StrategyModule as LinearStrategy
from ansible.utils.display import Display

display = Display()

try:
    from ansible.executor.task_executor import TaskExecutor
    from ansible.executor.task_result import _RawTaskResult
    from ansible.plugins import loader as plugin_loader

    from hib_orchestrator.devices.pool import start_pool, stop_pool

    _MISSING: Exception | None = None
except ImportError as _err:  # another ansible-core: behave like linear
    _MISSING = _err

THREADED = frozenset({"hib.orchestrator.device_config", "device_config"})


class _Threads:
    """``size`` long-lived daemon threads running submitted calls.

    A thread per host would cost a GIL hand-off in ``Thread.start()`` for every host; daemon
    threads never hold up the controller's exit (a session still running belongs to the pool).
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._calls: queue.SimpleQueue[tuple[Callable[[], None], threading.Event] | None] = (
            queue.SimpleQueue())
        for i in range(size):
            threading.Thread(target=self._loop, name=f"hib-fleet-{i}", daemon=True).start()

    def submit(self, call: Callable[[], None]) -> threading.Event:
        done = threading.Event()
        self._calls.put((call, done))
        return done

    def _loop(self) -> None:
        while (item := self._calls.get()) is not None:
            call, done = item
            try:
                call()
            finally:
                done.set()

    def close(self) -> None:
        for _ in range(self._size):
            self._calls.put(None)


class _ThreadWorker:
    """Stands in for a WorkerProcess in the strategy's slot list: one host's task in a thread."""

    pid = None  # nothing for Ansible's signal handler to forward a signal to
    exitcode = None

    def __init__(self, strategy: Any, host: Any, task: Any, task_vars: dict[str, Any],
                 play_context: Any) -> None:
        self._args = (strategy, host, task, task_vars, play_context)
        self._done: threading.Event | None = None

    def start(self) -> None:
        self._done = self._args[0]._threads.submit(self._run)

    def is_alive(self) -> bool:
        return self._done is not None and not self._done.is_set()

    def close(self) -> None:
        if self._done is not None:
            self._done.wait()

    def _run(self) -> None:
        strategy, host, task, task_vars, play_context = self._args
        try:
            result = TaskExecutor(
                host, task, task_vars, play_context, strategy._loader,
                plugin_loader.get_plugin_loader_namespace(), strategy._final_q,
                strategy._variable_manager,
            ).run()
        except BaseException as err:  # a forked worker would have died; a thread must report
            result = {"failed": True, "error_code": "INTERNAL",
                      "msg": f"fleet strategy: {type(err).__name__}: {err}"}
        strategy._final_q.send_task_result(_RawTaskResult(
            host=host, task=task, return_data=result, task_fields=task.dump_attrs()))


def _processes() -> int:
    raw = os.environ.get("HIB_SESSION_PROCESSES") or str(os.cpu_count() or 1)
    if not raw.isdigit() or int(raw) < 1:
        raise AnsibleError(f"HIB_SESSION_PROCESSES must be a positive integer, not {raw!r}")
    return int(raw)


class StrategyModule(LinearStrategy):
    """Linear; ``device_config`` runs in threads backed by hib's session pool."""

    def run(self, iterator: Any, play_context: Any, *args: Any, **kwargs: Any) -> Any:
        if _MISSING is not None:
            display.warning(f"hib.orchestrator.fleet: ansible-core internals missing "
                            f"({_MISSING}); running as linear")
            return super().run(iterator, play_context, *args, **kwargs)
        forks = max(1, len(self._workers))
        processes = _processes()
        start_pool(processes, math.ceil(forks / processes))
        self._threads = _Threads(forks)
        finished = False
        try:
            result = super().run(iterator, play_context, *args, **kwargs)
            finished = True
            return result
        finally:
            self._threads.close()
            # Interrupted (Ctrl-C, SIGTERM): stop the sessions now, as Ansible's signal handler
            # stops forked workers; finished: let the last sessions end normally.
            stop_pool(abort=not finished)

    def _queue_task(self, host: Any, task: Any, task_vars: dict[str, Any],
                    play_context: Any) -> None:
        if _MISSING is not None or task.action not in THREADED:
            super()._queue_task(host, task, task_vars, play_context)
            return
        # StrategyBase._queue_task's slot logic: at most `forks` hosts in flight.
        while True:
            if self._cur_worker >= len(self._workers):
                self._cur_worker = 0
            worker = self._workers[self._cur_worker]
            if worker is None or not worker.is_alive():
                self._queued_task_cache[(host.name, task._uuid)] = {
                    "host": host, "task": task, "task_vars": task_vars,
                    "play_context": play_context,
                }
                # TaskExecutor templates the task in place: each thread gets its own copy of
                # the task (its parent blocks are only read: shared, not deep-copied).
                own = task.copy(exclude_parent=True)
                own._parent = task._parent
                new = _ThreadWorker(self, host, own, task_vars, play_context)
                self._workers[self._cur_worker] = new  # type: ignore[call-overload]
                self._tqm.send_callback("v2_runner_on_start", host, task)
                new.start()
                self._cur_worker += 1
                break
            self._cur_worker += 1
            if self._cur_worker >= len(self._workers):
                self._cur_worker = 0
                time.sleep(0.0005)
        self._pending_results += 1
