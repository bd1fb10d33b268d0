"""One session interpreter of :class:`~hib_orchestrator.devices.pool.SessionPool`.

``python -m hib_orchestrator.devices.pool_worker REQ_FD RES_FD THREADS``: reads
``(job, BackupRequest, store_root)`` from ``REQ_FD``, runs :func:`backup_device` for each in a
pool of ``THREADS`` threads and writes ``(job, BackupResult)`` to ``RES_FD``. ``None`` or the end
of ``REQ_FD`` (the controller exited) means: finish the running sessions, then exit.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection

from hib_orchestrator.configstore import ConfigStore
from hib_orchestrator.devices.backup import BackupRequest, BackupResult, backup_device
from hib_orchestrator.devices.profiles import registry
from hib_orchestrator.errors import HibError
from hib_orchestrator.logs import setup_logging
from hib_orchestrator.settings import load_settings


def serve(requests: Connection, results: Connection, threads: int) -> None:
    """Answer requests until ``None`` or end of input; every request gets exactly one answer."""
    send_lock = threading.Lock()
    stores: dict[str, ConfigStore] = {}

    def run(job: int, request: BackupRequest, store_root: str) -> None:
        try:
            store = stores.setdefault(store_root, ConfigStore(store_root))
            result = backup_device(request, store)
        except BaseException as err:  # backup_device returns errors; this is a bug
            result = BackupResult(host=request.connection.host, error=HibError(
                f"internal error: {type(err).__name__}: {err}", host=request.connection.host))
        with send_lock, contextlib.suppress(OSError):  # controller gone: nobody to tell
            results.send((job, result))

    with ThreadPoolExecutor(threads, thread_name_prefix="hib-session") as sessions:
        while True:
            try:
                message = requests.recv()
            except (EOFError, OSError):
                break
            if message is None:
                break
            sessions.submit(run, *message)


def main(argv: list[str]) -> int:
    """Entry point: ``REQ_FD RES_FD THREADS``."""
    req_fd, res_fd, threads = (int(arg) for arg in argv[:3])
    with contextlib.suppress(HibError):
        setup_logging(load_settings())
    registry()  # parse the platform profiles once, not in the first sessions' threads
    serve(Connection(req_fd, writable=False), Connection(res_fd, readable=False), threads)
    return 0


if __name__ == "__main__":  # pragma: no cover - started by SessionPool
    sys.exit(main(sys.argv[1:]))
