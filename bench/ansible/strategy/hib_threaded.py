"""EXPERIMENT (benchmarks only): the linear strategy, with hib's device task run in threads.

Ansible forks one worker process per host per task. For an action plugin that runs on the
controller and mostly waits on SSH, the fork is most of the controller's cost (measured here:
~17 ms CPU in the forked worker + ~8 ms in the main process per host and task, for a bare
``debug``). This strategy keeps everything Ansible does per host (variables, ``--limit``,
per-host results through the normal result queue and callbacks, the forks cap as the number of
concurrent hosts) and replaces only the *fork* by a thread for the actions in ``THREADED``.

Not production code: it relies on ansible-core internals (``StrategyBase._queue_task``,
``TaskExecutor``, ``_RawTaskResult``; checked against 2.19), and the threaded action must be
thread-safe (hib's device_config: netmiko per thread, staging through mkstemp + rename). Use:

    ANSIBLE_STRATEGY_PLUGINS=bench/ansible/strategy ANSIBLE_STRATEGY=hib_threaded \
        ansible-playbook playbooks/backup.yml -i INV
"""

from __future__ import annotations

import threading
import time
from typing import Any

from ansible.executor.task_executor import TaskExecutor
from ansible.executor.task_result import _RawTaskResult
from ansible.plugins import loader as plugin_loader
from ansible.plugins.strategy.linear import StrategyModule as LinearStrategy

THREADED = frozenset({"hib.orchestrator.device_config", "device_config"})


class _ThreadWorker:
    """Quacks like WorkerProcess for StrategyBase's slot bookkeeping."""

    def __init__(self, strategy: Any, host: Any, task: Any, task_vars: dict[str, Any],
                 play_context: Any) -> None:
        self._args = (strategy, host, task, task_vars, play_context)
        self._thread = threading.Thread(target=self._run, name=f"hib-{host.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def close(self) -> None:
        self._thread.join()

    def _run(self) -> None:
        strategy, host, task, task_vars, play_context = self._args
        try:
            result = TaskExecutor(
                host, task, task_vars, play_context, strategy._loader,
                plugin_loader.get_plugin_loader_namespace(), strategy._final_q,
                strategy._variable_manager,
            ).run()
        except BaseException as err:  # a fork would have died; a thread must report instead
            result = {"failed": True, "msg": f"threaded worker: {type(err).__name__}: {err}"}
        strategy._final_q.send_task_result(_RawTaskResult(
            host=host, task=task, return_data=result, task_fields=task.dump_attrs()))


class StrategyModule(LinearStrategy):
    """Linear, but actions in THREADED run in a thread instead of a forked worker."""

    def _queue_task(self, host: Any, task: Any, task_vars: dict[str, Any],
                    play_context: Any) -> None:
        if task.action not in THREADED:
            super()._queue_task(host, task, task_vars, play_context)
            return
        # Same slot logic as StrategyBase._queue_task: at most `forks` hosts in flight.
        while True:
            if self._cur_worker >= len(self._workers):
                self._cur_worker = 0
            worker = self._workers[self._cur_worker]
            if worker is None or not worker.is_alive():
                self._queued_task_cache[(host.name, task._uuid)] = {
                    "host": host, "task": task, "task_vars": task_vars,
                    "play_context": play_context,
                }
                # Each thread gets its own copy of the task: TaskExecutor templates it in place.
                new = _ThreadWorker(self, host, task.copy(), task_vars, play_context)
                self._workers[self._cur_worker] = new  # type: ignore[assignment]
                self._tqm.send_callback("v2_runner_on_start", host, task)
                new.start()
                self._cur_worker += 1
                break
            self._cur_worker += 1
            if self._cur_worker >= len(self._workers):
                self._cur_worker = 0
                time.sleep(0.0005)
        self._pending_results += 1


__all__ = ["StrategyModule"]
