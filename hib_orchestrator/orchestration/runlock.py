"""One ``hib run`` per state directory at a time.

An advisory ``flock`` on ``$HIB_HOME/run.lock``: the kernel drops it when the process dies,
so a killed run never blocks the next one. The file names the holder for the error message.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from types import TracebackType

from hib_orchestrator.errors import ConfigError


class RunLock:
    """Context manager; raises :class:`ConfigError` (exit 2) when another run holds it."""

    def __init__(self, home: Path) -> None:
        self.path = home / "run.lock"
        self._fd: int | None = None

    def acquire(self, run_id: int | None = None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self._holder(fd)
            os.close(fd)
            raise ConfigError(
                f"another hib run is in progress on {self.path.parent} ({holder}); "
                "wait for it to finish or use another HIB_HOME"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "run_id": run_id}).encode())
        self._fd = fd

    def note_run(self, run_id: int) -> None:
        """Record the run id once it is known (for the other process's message)."""
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, json.dumps({"pid": os.getpid(), "run_id": run_id}).encode(), 0)

    @staticmethod
    def _holder(fd: int) -> str:
        try:
            info = json.loads(os.pread(fd, 4096, 0) or b"{}")
        except ValueError:
            return "holder unknown"
        run = f"run {info['run_id']}, " if info.get("run_id") else ""
        return f"{run}pid {info.get('pid', '?')}"

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
