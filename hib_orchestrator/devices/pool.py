"""Device sessions in a few long-lived worker processes (used by the ``fleet`` strategy).

Ansible forks one worker process per host and task; for a device backup that fork, and the
bookkeeping around it, costs more CPU than the SSH session itself. The ``hib.orchestrator.fleet``
strategy runs the device task in a *thread* of the controller instead, and hands the session
(netmiko, filters, masking, compare, staging: everything :func:`backup_device` does) to this
pool: ``processes`` interpreters started once per playbook run, each running up to ``threads``
sessions at a time. The controller keeps Ansible's per-host work on one core, the sessions run on
the others, and nothing is forked per host.

Example::

    pool = SessionPool(processes=2, threads=25)
    try:
        result = pool.backup(request, store_root)   # blocks; call it from many threads
    finally:
        pool.close()

Requests and results travel as pickles over private pipes between this process and interpreters
it started itself (credentials included, never written anywhere). A worker that dies fails only
the sessions it was running (``INTERNAL``); the next request starts a new one.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import Future
from multiprocessing.connection import Connection
from pathlib import Path

from hib_orchestrator.devices.backup import BackupRequest, BackupResult
from hib_orchestrator.errors import HibError
from hib_orchestrator.logs import get_logger

WORKER_MODULE = "hib_orchestrator.devices.pool_worker"

log = get_logger(__name__)


def _stderr_fd() -> int:
    try:
        os.fstat(2)
    except OSError:
        return subprocess.DEVNULL
    return 2


class _Forked:
    """The part of ``Popen``'s interface the pool uses, for a child made by ``os.fork``."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            with contextlib.suppress(ChildProcessError):
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.01)
        return self.returncode  # type: ignore[return-value]

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)


def _fork_worker(fds: tuple[int, int, int, int], threads: int) -> _Forked:
    req_read, req_write, res_read, res_write = fds
    pid = os.fork()
    if pid:
        return _Forked(pid)
    code = 0
    try:  # the child: a copy of the caller with netmiko and the profiles already loaded
        from hib_orchestrator.devices.pool_worker import serve

        # Only the parent's ends of its own pipes, still bare descriptors here. Every other
        # inherited descriptor stays open: an object of the parent's that wraps one would close
        # that number again when collected, by then perhaps a live SSH socket of this process.
        # (A sibling forked later holds our request pipe's write end too; it exits on the
        # parent's death itself, and then we see end-of-input.)
        os.close(req_write)
        os.close(res_read)
        serve(Connection(req_read, writable=False), Connection(res_write, readable=False),
              threads)
    except BaseException:
        code = 70
    finally:
        os._exit(code)  # never the parent's atexit handlers, never back into its caller


class _Worker:
    """One session interpreter: its pipes, its reader thread and the sessions it runs.

    ``fork``: the interpreter is a fork of this process (no start-up: netmiko is already
    imported); callers fork only while no other thread runs. Otherwise a fresh interpreter.
    """

    def __init__(self, threads: int, *, fork: bool = False) -> None:
        req_read, req_write = os.pipe()
        res_read, res_write = os.pipe()
        self.proc: subprocess.Popen[bytes] | _Forked
        try:
            if fork:
                self.proc = _fork_worker((req_read, req_write, res_read, res_write), threads)
            else:
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", WORKER_MODULE, str(req_read), str(res_write),
                     str(threads)],
                    pass_fds=(req_read, res_write),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,  # Ansible's stdout belongs to its stdout callback
                    # Explicitly: Ansible marks the controller's stderr close-on-exec, and hib's
                    # log lines (JSON with HIB_LOG_FORMAT=json) must still reach it.
                    stderr=_stderr_fd(),
                    close_fds=True,
                    # Like Ansible's forked workers: a Ctrl-C at the terminal is the controller's
                    # to handle; the interpreter ends when the controller closes its pipe.
                    start_new_session=True,
                )
        finally:
            os.close(req_read)
            os.close(res_write)
        self._send = Connection(req_write, readable=False)
        self._recv = Connection(res_read, writable=False)
        self._send_lock = threading.Lock()
        self.pending: dict[int, tuple[Future[BackupResult], str]] = {}
        self.alive = True
        self._reader = threading.Thread(target=self._read, name=f"hib-pool-{self.proc.pid}",
                                        daemon=True)

    def start(self) -> None:
        """Start reading results (after every fork of the caller is done)."""
        self._reader.start()

    def submit(self, job: int, request: BackupRequest, store_root: str,
               future: Future[BackupResult]) -> None:
        self.pending[job] = (future, request.connection.host)
        try:
            with self._send_lock:
                self._send.send((job, request, store_root))
        except OSError:  # the worker is gone
            self.alive = False
        if not self.alive:  # its reader may have failed the pending sessions before ours
            self._fail_pending()

    def _read(self) -> None:
        try:
            while True:
                job, result = self._recv.recv()
                entry = self.pending.pop(job, None)
                if entry is not None:
                    entry[0].set_result(result)
        except (EOFError, OSError):
            pass
        self.alive = False
        self._fail_pending()

    def _fail_pending(self) -> None:
        code = self.proc.poll()
        for job in list(self.pending):
            entry = self.pending.pop(job, None)
            if entry is None or entry[0].done():
                continue
            future, host = entry
            error = HibError(f"device session worker {self.proc.pid} exited (code {code}) "
                             "during the session", host=host)
            future.set_result(BackupResult(host=host, error=error))

    def close(self, timeout: float, *, abort: bool = False) -> None:
        if abort:
            self.proc.kill()
        with contextlib.suppress(OSError), self._send_lock:
            self._send.send(None)  # finish what runs, then exit
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout)
        with contextlib.suppress(OSError):
            self._send.close()
        with contextlib.suppress(OSError):
            self._recv.close()


class SessionPool:
    """``processes`` session interpreters running ``threads`` device backups each.

    Args:
        processes: Interpreters to start (one per spare core is the useful maximum).
        threads: Concurrent sessions per interpreter; ``processes * threads`` should cover the
            number of hosts the caller keeps in flight (Ansible's ``forks``).
        fork: Start the interpreters now, as forks of this process (instant, modules already
            imported); call it before this process starts threads. A worker that dies later is
            replaced by a fresh interpreter.
    """

    def __init__(self, processes: int, threads: int, *, fork: bool = False) -> None:
        if processes < 1 or threads < 1:
            raise ValueError("a session pool needs at least one process and one thread")
        self.processes = processes
        self.threads = threads
        self.owner_pid = os.getpid()
        self._lock = threading.Lock()
        self._jobs = itertools.count(1)
        self._workers: list[_Worker] = []
        self._closed = False
        if fork:
            self._workers = [_Worker(threads, fork=True) for _ in range(processes)]
            for worker in self._workers:
                worker.start()

    def backup(self, request: BackupRequest, store_root: Path | str) -> BackupResult:
        """Run :func:`backup_device` for ``request`` in a worker and wait for its result."""
        future: Future[BackupResult] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("session pool is closed")
            worker = self._least_busy()
            job = next(self._jobs)
        worker.submit(job, request, str(store_root), future)
        return future.result()

    def _least_busy(self) -> _Worker:
        self._workers = [w for w in self._workers if w.alive]
        if len(self._workers) < self.processes:
            self._workers.append(_Worker(self.threads))
            self._workers[-1].start()
            return self._workers[-1]
        return min(self._workers, key=lambda w: len(w.pending))

    def close(self, timeout: float = 30.0, *, abort: bool = False) -> None:
        """Let running sessions finish (``abort``: kill them), then stop every worker.

        Idempotent; sessions killed by ``abort`` end as ``INTERNAL`` results.
        """
        with self._lock:
            self._closed = True
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.close(timeout, abort=abort)


_active: SessionPool | None = None


def start_pool(processes: int, threads: int) -> SessionPool:
    """Make the pool :func:`active_pool` returns in this process (the fleet strategy's call)."""
    global _active
    stop_pool()
    _active = SessionPool(processes, threads)
    return _active


def active_pool() -> SessionPool | None:
    """The pool started in *this* process, if any (a forked child must not use its parent's)."""
    if _active is not None and _active.owner_pid == os.getpid():
        return _active
    return None


def stop_pool(*, abort: bool = False) -> None:
    """Close and forget the active pool (no-op without one); ``abort`` kills running sessions."""
    global _active
    pool, _active = _active, None
    if pool is not None and pool.owner_pid == os.getpid():
        pool.close(abort=abort)


__all__ = ["SessionPool", "active_pool", "start_pool", "stop_pool"]
