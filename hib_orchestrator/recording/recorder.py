"""The run recorder: one in-process writer that batches a playbook's events into the database.

The callback plugin hands plain data to a :class:`Recorder`; the recorder keeps it in memory and a
single writer thread commits it in batches: when a task starts, when ``batch_size`` results are
waiting, or every ``flush_interval`` seconds, so a 1,000-host task is a handful of statements,
not 1,000 round trips. The same thread refreshes the run's heartbeat.

Nothing is dropped silently: a failed write keeps the batch for the next attempt, prints one
line on stderr and marks the run (``recording_error``, final status ``error``). Signals close the
run (``canceled`` on SIGINT, ``interrupted`` on SIGTERM); a run whose process was killed outright
is closed by :func:`~hib_orchestrator.recording.liveness.reap_interrupted` at the next start.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, case, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from hib_orchestrator.db.base import utcnow
from hib_orchestrator.db.models import Run
from hib_orchestrator.errors import RecordingError
from hib_orchestrator.recording.aggregate import HostAggregate, ResultFields, extract
from hib_orchestrator.recording.batch import Batch, PendingTask, write_batch
from hib_orchestrator.recording.liveness import HEARTBEAT_INTERVAL_S, reap_interrupted, this_host

FINAL_STATUSES = ("successful", "push_pending", "failed", "canceled", "interrupted", "error")


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _short(err: BaseException) -> str:
    # SQLAlchemy errors append the statement and its parameters; one line of the cause is enough.
    cause = getattr(err, "orig", None) or err
    text = " ".join(str(cause).split())
    return f"{type(cause).__name__}: {text}"[:500]


#: Actions that only sort hosts into groups; alone they do not make a host part of a run.
SELECTION_ACTIONS = frozenset({"group_by", "add_host"})

class Recorder:
    """Records one run. Not thread-safe for callers: one callback thread feeds it."""

    def __init__(
        self,
        engine: Engine,
        *,
        batch_size: int = 500,
        flush_interval: float = 1.0,
        heartbeat_interval: float = HEARTBEAT_INTERVAL_S,
        warn: Callable[[str], None] = _stderr,
    ) -> None:
        self.engine = engine
        self.batch_size = max(1, batch_size)
        self.flush_interval = max(0.05, flush_interval)
        self.heartbeat_interval = heartbeat_interval
        self._warn = warn
        self.run_id: int | None = None
        self.finished = False
        self.write_failures = 0
        self.first_error: str | None = None
        self._buf_lock = threading.RLock()
        self._write_lock = threading.Lock()
        self._writer: int | None = None
        self._pending = Batch.empty_batch()
        self._pending_results = 0
        self._play_seq = 0
        self._play_key: int | None = None
        self._play_ids: dict[int, int] = {}
        self._task_ids: dict[str, int] = {}
        self._task_names: dict[str, tuple[str, str]] = {}
        self._starts: dict[tuple[str, str], float] = {}
        self._hosts: dict[str, HostAggregate] = {}
        self._persisted_hosts: set[str] = set()
        self._last_beat = 0.0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._final_status: str | None = None
        # A config commit owed to HIB_CONFIG_REMOTE turns a successful end into push_pending.
        self._push_pending = False
        self._replaces: tuple[str, ...] = ("running", "interrupted")

    # -- lifecycle -------------------------------------------------------------------------------

    def start_run(
        self,
        playbook: str | None,
        *,
        run_id: int | None = None,
        ansible_version: str | None = None,
        pid: int | None = None,
    ) -> int:
        """Create the run (or attach to ``run_id`` created by ``hib run``); returns its id.

        ``pid`` is the process whose death means the run died (default: this one; the
        out-of-process writer passes the Ansible controller's). Closes runs of dead processes
        first.

        Raises:
            RecordingError: the database cannot be written at all.
        """
        now = utcnow()
        values = {
            "status": "running",
            "pid": pid or os.getpid(),
            "hostname": this_host(),
            "heartbeat_at": now,
            "ansible_version": ansible_version,
        }
        try:
            with self.engine.begin() as conn:
                reap_interrupted(conn)
                self.run_id = self._attach(conn, run_id, values) if run_id is not None else None
                if self.run_id is None:
                    self.run_id = conn.execute(
                        insert(Run)
                        .values(playbook=playbook, started_at=now, **values)
                        .returning(Run.id)
                    ).scalar_one()
        except SQLAlchemyError as err:
            raise RecordingError(f"cannot record the run: {_short(err)}") from err
        self._last_beat = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name="hib-recorder", daemon=True)
        self._thread.start()
        atexit.register(self._at_exit)
        return self.run_id

    def _attach(self, conn: Connection, run_id: int, values: dict[str, Any]) -> int | None:
        found = conn.execute(select(Run.id).where(Run.id == run_id)).scalar_one_or_none()
        if found is None:
            self._warn(f"hib recorder: run {run_id} (HIB_RUN_ID) does not exist; recording anew")
            return None
        conn.execute(update(Run).where(Run.id == run_id).values(**values))
        return run_id

    def finish(
        self, status: str, *, replaces: tuple[str, ...] = ("running", "interrupted")
    ) -> None:
        """Write everything still pending and close the run with ``status``.

        The status is set only over one of ``replaces``: the owner of the run may correct an
        ``interrupted`` set by a too-eager liveness check, but an end seen from outside (the
        controller vanished) must not overwrite what ``hib run`` decided, e.g. ``canceled``.
        """
        if self.finished or self.run_id is None:
            return
        self._replaces = replaces
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        for attempt in range(3):
            if self._write(final=self._final_status or status):
                self.finished = True
                return
            time.sleep(0.5 * (attempt + 1))
        lost = self._pending_results + len(self._pending.hosts)
        marked = self._mark_error(f"{self.first_error}; {lost} records lost")
        self._warn(
            f"hib recorder: run {self.run_id}: {lost} records could not be written "
            f"({self.first_error}); "
            + ("the run is marked error" if marked else "the run will show as interrupted")
        )
        self.finished = True

    def _mark_error(self, message: str) -> bool:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    update(Run)
                    .where(Run.id == self.run_id)
                    .values(status="error", finished_at=utcnow(), recording_error=message[:2000])
                )
        except (SQLAlchemyError, OSError):
            return False
        return True

    def abort(self, status: str) -> None:
        """Close the run now (from a signal handler); never blocks on the thread it interrupted."""
        self._final_status = status
        if self._writer == threading.get_ident():
            return  # the interrupted frame is mid-write; the atexit hook closes the run
        if not self._write_lock.acquire(timeout=5):
            return
        self._write_lock.release()
        self.finish(status)

    def _at_exit(self) -> None:
        # The playbook ended without stats (exception, KeyboardInterrupt): never leave "running".
        if not self.finished:
            self.finish(self._final_status or "error")

    # -- events ----------------------------------------------------------------------------------

    def play_start(self, name: str) -> None:
        """A play begins."""
        with self._buf_lock:
            self._play_seq += 1
            self._play_key = self._play_seq
            self._pending.plays.append((self._play_seq, name[:1024], utcnow()))

    def task_start(self, uuid: str, name: str, action: str, *, handler: bool = False) -> None:
        """A task (or handler) begins: earlier results are flushed by the writer now."""
        with self._buf_lock:
            self._task_names[uuid] = (name, action)
            self._pending.tasks.append(
                PendingTask(uuid, self._play_key, name[:1024], action[:255], handler, utcnow())
            )
        self._wake.set()

    def host_start(self, uuid: str, host: str) -> None:
        """A host starts a task (for its duration)."""
        self._starts[(uuid, host)] = time.monotonic()

    def result(
        self,
        uuid: str,
        host: str,
        status: str,
        result: Mapping[str, Any],
        *,
        ignored: bool = False,
        no_log: bool = False,
        seconds: float | None = None,
        at: datetime | None = None,
    ) -> None:
        """One task result of one host; ``result`` is the plain result dict.

        ``seconds`` (the host's time on the task) and ``at`` (when it ended) default to what this
        process saw since :meth:`host_start`.
        """
        fields = extract(status, result, no_log=no_log)
        started = self._starts.pop((uuid, host), None)
        if seconds is None and started is not None:
            seconds = round(time.monotonic() - started, 3)
        now = at or utcnow()
        with self._buf_lock:
            if uuid not in self._task_ids and uuid not in self._task_names:
                self.task_start(uuid, "(unnamed)", "unknown")
            self._pending.results.append(
                {
                    "uuid": uuid,
                    "host": host[:255],
                    "status": "changed" if status == "ok" and fields.changed else status,
                    "changed": fields.changed,
                    "ignored": ignored,
                    "error_code": fields.error_code,
                    "message": fields.message,
                    "duration_s": seconds,
                    "finished_at": now,
                }
            )
            self._pending_results += 1
            if fields.kind == "commit" and status in ("ok", "changed"):
                self._push_pending = self._push_pending or fields.push_pending
                self._apply_commit(fields, now)
            elif self._selection_only(uuid, host, status):
                pass  # a policy's host selection step: the task result above is enough
            else:
                agg = self._hosts.get(host)
                if agg is None:
                    agg = self._hosts[host] = HostAggregate(host=host[:255], finished_at=now)
                agg.apply(fields, ignored=ignored, seconds=seconds, at=now)
                self._pending.hosts[host] = agg.row(self.run_id or 0)
            if self._pending_results >= self.batch_size:
                self._wake.set()

    def _selection_only(self, uuid: str, host: str, status: str) -> bool:
        # Rendered policies select hosts with group_by over a wide pattern; hosts it merely
        # looked at (and did not back up) must not become rows of the run.
        action = self._task_names.get(uuid, ("", ""))[1].rsplit(".", 1)[-1]
        return (action in SELECTION_ACTIONS and status in ("ok", "skipped")
                and host not in self._hosts)

    def settle(self, clean_hosts: set[str]) -> None:
        """Ansible's final word: these hosts ended without failure (a failed task was rescued),
        so their rows must not say failed. Their task results keep the rescued failure."""
        with self._buf_lock:
            for host in clean_hosts:
                agg = self._hosts.get(host)
                if agg is not None and agg.rescued():
                    self._pending.hosts[host] = agg.row(self.run_id or 0)

    def _apply_commit(self, fields: ResultFields, now: datetime) -> None:
        by_host = dict.fromkeys(fields.commit_hosts, fields.commit) if fields.commit else {}
        by_host.update(fields.host_commits)  # versions another run's commit already holds
        for host, commit in by_host.items():
            agg = self._hosts.get(host)
            if agg is None or not commit:
                continue
            agg.commit = commit
            self._pending.hosts[host] = agg.row(self.run_id or 0)
            self._pending.versions.append(
                {
                    "host": host,
                    "commit": commit,
                    "run_id": self.run_id,
                    "committed_at": now,
                    "sha256": agg.sha256,
                    "size_bytes": agg.size_bytes,
                }
            )

    # -- the writer ------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            if self._stop.is_set():
                break
            beat_due = time.monotonic() - self._last_beat >= self.heartbeat_interval
            with self._buf_lock:
                idle = self._pending.empty()
            if not idle or beat_due:
                self._write()

    def _take(self) -> Batch:
        with self._buf_lock:
            batch, self._pending = self._pending, Batch.empty_batch()
            self._pending_results = 0
            return batch

    def _put_back(self, batch: Batch) -> None:
        with self._buf_lock:
            newer = self._pending
            newer.hosts = {**batch.hosts, **newer.hosts}
            self._pending = Batch(
                batch.plays + newer.plays,
                batch.tasks + newer.tasks,
                batch.results + newer.results,
                newer.hosts,
                batch.versions + newer.versions,
            )
            self._pending_results = len(self._pending.results)

    def _write(self, final: str | None = None) -> bool:
        """One transaction: pending rows, heartbeat and (if ``final``) the run's end."""
        with self._write_lock:
            self._writer = threading.get_ident()
            batch = self._take()
            try:
                with self.engine.begin() as conn:
                    new_ids = write_batch(
                        conn, self.run_id or 0, batch, self._play_ids, self._task_ids,
                        self._persisted_hosts,
                    )
                    self._write_run(conn, final)
            except (SQLAlchemyError, OSError) as err:
                self._put_back(batch)
                self._failed(err)
                return False
            except BaseException:
                self._put_back(batch)
                raise
            finally:
                self._writer = None
            self._play_ids.update(new_ids[0])
            self._task_ids.update(new_ids[1])
            self._persisted_hosts.update(batch.hosts)
            self._last_beat = time.monotonic()
            return True

    def _failed(self, err: BaseException) -> None:
        self.write_failures += 1
        if self.first_error is None:
            self.first_error = _short(err)
            self._warn(
                f"hib recorder: cannot write run {self.run_id} to the database "
                f"({self.first_error}); keeping results in memory and retrying"
            )

    def _write_run(self, conn: Connection, final: str | None) -> None:
        now = utcnow()
        values: dict[str, Any] = {"heartbeat_at": now}
        if self.first_error is not None:
            values["recording_error"] = (
                f"{self.first_error} ({self.write_failures} failed writes, retried)"
            )
        if final is not None:
            status = "error" if self.first_error is not None else final
            if status == "successful" and self._push_pending:
                status = "push_pending"
            replace = Run.status.in_(self._replaces)
            values["status"] = case((replace, status), else_=Run.status)
            values["finished_at"] = case((replace, now), else_=Run.finished_at)
        conn.execute(update(Run).where(Run.id == self.run_id).values(**values))


__all__ = ["FINAL_STATUSES", "Recorder"]
