"""Back up many devices in one call: the engine of the ``device_batch`` action.

Ansible runs a task once per host, and under its builtin strategies each of those runs is a forked
worker with its bookkeeping: ~24 ms of controller CPU per host for even a trivial task, more than
the device session itself costs. :func:`run_batch` takes every device of a play batch at once and
runs the sessions concurrently (``concurrency`` at a time, Ansible's ``forks``), spread over
``processes`` session interpreters forked from the caller, so Ansible pays for one task
instead of one per device::

    results = run_batch(requests, store_root, concurrency=50, processes=2,
                        on_result=lambda request, result: print(result.host, result.changed))

``on_result`` is called in the calling thread, in completion order, as each device finishes (the
action plugin prints its line and appends it to the progress file there). Per-device failures are
results, never exceptions. A SIGTERM or SIGINT while the batch runs kills the running sessions
(their devices end ``INTERNAL``) before the signal takes its usual effect.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from pathlib import Path

from hib_orchestrator.configstore import ConfigStore
from hib_orchestrator.devices.backup import BackupRequest, BackupResult, backup_device
from hib_orchestrator.devices.pool import SessionPool

OnResult = Callable[[BackupRequest, BackupResult | None], None]


def run_batch(
    requests: Sequence[BackupRequest],
    store_root: Path | str,
    *,
    concurrency: int,
    processes: int,
    on_result: OnResult,
    canceled: Callable[[], bool] = lambda: False,
) -> dict[str, BackupResult | None]:
    """Back up every request; returns ``host -> result`` (``None``: canceled before it started).

    Args:
        requests: One request per device.
        store_root: The config store (sessions stage into it).
        concurrency: Sessions in flight at most.
        processes: Session interpreters to fork (``0``: sessions in this process's threads).
        on_result: Called once per device as it finishes, in this thread.
        canceled: Checked before each device starts; when true the device is not started.
    """
    if not requests:
        return {}
    concurrency = max(1, min(concurrency, len(requests)))
    processes = min(processes, concurrency)
    # Forked before any thread of ours exists (the pool forks in its constructor).
    pool = SessionPool(processes, math.ceil(concurrency / processes), fork=True) \
        if processes > 0 else None
    store = ConfigStore(store_root)

    def one(request: BackupRequest) -> BackupResult | None:
        if canceled():
            return None
        if pool is not None:
            return pool.backup(request, store_root)
        return backup_device(request, store)

    results: dict[str, BackupResult | None] = {}
    finished = False
    try:
        with _kill_sessions_on_signal(pool), ThreadPoolExecutor(
                concurrency, thread_name_prefix="hib-batch") as threads:
            futures: dict[Future[BackupResult | None], BackupRequest] = {
                threads.submit(one, request): request for request in requests}
            for future in as_completed(futures):
                request = futures[future]
                result = future.result()
                results[request.connection.host] = result
                on_result(request, result)
        finished = True
    finally:
        if pool is not None:
            pool.close(abort=not finished)
    return results


@contextlib.contextmanager
def _kill_sessions_on_signal(pool: SessionPool | None) -> Iterator[None]:
    if pool is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {num: signal.getsignal(num) for num in (signal.SIGTERM, signal.SIGINT)}

    def handler(num: int, frame: object) -> None:
        pool.close(timeout=2.0, abort=True)
        old = previous[num]
        signal.signal(num, old if old is not None else signal.SIG_DFL)
        if callable(old):
            old(num, frame)
        else:
            signal.raise_signal(num)

    for num in previous:
        signal.signal(num, handler)
    try:
        yield
    finally:
        for num, old in previous.items():
            signal.signal(num, old if old is not None else signal.SIG_DFL)


__all__ = ["run_batch"]
