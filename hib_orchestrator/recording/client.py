"""The controller side of the recorder: sends plain events to the writer process over a pipe.

Lives inside ``ansible-playbook`` (through the callback plugin), so it imports nothing heavy:
no SQLAlchemy, no driver. Ansible forks a worker per task; a small controller forks fast, and
the forked workers close their copy of the pipe so the writer sees the end of input exactly when
the controller is gone (even after ``kill -9``).

Writes are whole lines on a raw file descriptor. A signal that arrives while a line is being
written is handled right after the line is complete, so the writer never sees half an event.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

from hib_orchestrator.recording.aggregate import slim

START_TIMEOUT_S = 120.0  # a first run may migrate an empty database
FINISH_TIMEOUT_S = 120.0  # a locked SQLite may make the last write wait


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class RecorderClient:
    """One run's connection to a writer process."""

    def __init__(self, *, warn: Callable[[str], None] = _stderr) -> None:
        self._warn = warn
        self._proc: subprocess.Popen[bytes] | None = None
        self._fd: int | None = None
        self._starts: dict[tuple[str, str], float] = {}
        self._writing = False
        self._deferred: list[Callable[[], None]] = []
        self._final_status: str | None = None
        self.run_id: int | None = None
        self.finished = False
        self.broken = False

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self, playbook: str, *, run_id: int | None, ansible_version: str,
              options: Mapping[str, Any]) -> int | None:
        """Start the writer and the run; the run id, or ``None`` (after one line on stderr)."""
        try:
            errors: int | None = sys.stderr.fileno()
        except (AttributeError, ValueError, OSError):
            errors = None
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "hib_orchestrator.recording.writer"],
                # stderr explicitly: Ansible marks fd 2 close-on-exec, and the writer's one-line
                # warnings must reach the user.
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors,
                start_new_session=True, close_fds=True,
            )
        except OSError as err:
            self._warn(f"hib recorder: this run is NOT recorded (cannot start the writer: {err})")
            return None
        assert self._proc.stdin is not None
        self._fd = self._proc.stdin.fileno()
        os.register_at_fork(after_in_child=self._forget_in_child)
        self._send({"op": "start", "playbook": playbook, "run_id": run_id,
                    "ansible_version": ansible_version, "pid": os.getpid(), **options})
        reply = self._read_reply(START_TIMEOUT_S)
        if reply is None or "run_id" not in reply:
            error = (reply or {}).get("error") or "the writer did not answer"
            self._warn(f"hib recorder: this run is NOT recorded ({error})")
            self._close()
            return None
        self.run_id = int(reply["run_id"])
        atexit.register(self._at_exit)
        return self.run_id

    def _at_exit(self) -> None:
        # ansible-playbook ended without stats (an exception): never leave the run "running".
        if not self.finished:
            self.finish(self._final_status or "error")

    def _forget_in_child(self) -> None:
        # An Ansible worker must not keep the writer's input open: its end means "controller gone".
        # /dev/null takes the descriptor's place, so nothing can reuse the number underneath the
        # pipe's file object.
        if self._fd is not None:
            with contextlib.suppress(OSError):
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, self._fd)
                os.close(null)
            self._fd = None
            self.broken = True

    def finish(self, status: str, *, clean_hosts: list[str] | None = None) -> None:
        """Close the run with ``status`` and wait until the writer has written everything.

        ``clean_hosts``: hosts Ansible's stats count without failure (rescued failures).
        """
        if self.finished or self._proc is None:
            return
        self.finished = True
        self._send({"op": "finish", "status": status, "clean_hosts": clean_hosts or []})
        reply = self._read_reply(FINISH_TIMEOUT_S)
        if reply is None and not self.broken:
            self._warn(f"hib recorder: run {self.run_id}: the writer did not confirm the end")
        self._close()

    def when_idle(self, fn: Callable[[], None]) -> None:
        """Call ``fn`` now, or right after the line being written (for signal handlers)."""
        if self._writing:
            self._deferred.append(fn)
            return
        fn()

    def abort(self, status: str) -> None:
        """Close the run because of a signal (``canceled``/``interrupted``)."""
        self._final_status = status
        self.finish(status)

    def _close(self) -> None:
        if self._proc is None:
            return
        if self._proc.stdin is not None:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
        self._fd = None
        try:
            self._proc.wait(timeout=FINISH_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._warn(f"hib recorder: run {self.run_id}: the writer is stuck; stopping it")
            self._proc.kill()
            self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()

    # -- events ----------------------------------------------------------------------------------

    def play_start(self, name: str) -> None:
        """A play begins."""
        self._send({"op": "play", "name": name})

    def task_start(self, uuid: str, name: str, action: str, *, handler: bool = False) -> None:
        """A task (or handler) begins."""
        self._send({"op": "task", "uuid": uuid, "name": name, "action": action,
                    "handler": handler})

    def host_start(self, uuid: str, host: str) -> None:
        """A host starts a task (timed here, where it happens)."""
        self._starts[(uuid, host)] = time.monotonic()

    def result(self, uuid: str, host: str, status: str, result: Mapping[str, Any], *,
               ignored: bool = False, no_log: bool = False,
               secrets: Callable[[], set[str]] | None = None,
               seconds: float | None = None) -> None:
        """One task result; only the keys the recorder may store leave this process.

        ``secrets`` gives the host's secret variable values, asked only for failures (the only
        results whose message is kept), and masked in that message. ``seconds``: the host's time
        on the task when the caller knows it (a batch's devices), else timed since host_start.
        """
        started = self._starts.pop((uuid, host), None)
        if seconds is None and started is not None:
            seconds = round(time.monotonic() - started, 3)
        failing = status in ("failed", "unreachable")
        known = secrets() if failing and secrets is not None else set()
        self._send({"op": "result", "uuid": uuid, "host": host, "status": status,
                    "result": slim(result, status, known), "ignored": ignored,
                    "no_log": no_log, "seconds": seconds, "at": time.time()})

    # -- the pipe --------------------------------------------------------------------------------

    def _send(self, doc: Mapping[str, Any]) -> None:
        if self._fd is None or self.broken:
            return
        data = (json.dumps(doc, default=str) + "\n").encode()
        self._writing = True
        try:
            while data:
                data = data[os.write(self._fd, data):]
        except OSError as err:
            self.broken = True
            code = self._proc.poll() if self._proc is not None else None
            self._warn(f"hib recorder: run {self.run_id}: the writer stopped (exit {code}, "
                       f"{err.strerror}); the rest of this run is NOT recorded")
        finally:
            self._writing = False
        while self._deferred:
            self._deferred.pop(0)()

    def _read_reply(self, timeout: float) -> dict[str, Any] | None:
        if self._proc is None or self._proc.stdout is None:
            return None
        ready, _, _ = select.select([self._proc.stdout], [], [], timeout)
        if not ready:
            return None
        line = self._proc.stdout.readline()
        try:
            doc = json.loads(line) if line else None
        except ValueError:
            return None
        return doc if isinstance(doc, dict) else None


__all__ = ["RecorderClient"]
