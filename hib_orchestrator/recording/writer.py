"""The recorder's own process: reads events as JSON lines on stdin and feeds a :class:`Recorder`.

Started by :class:`~hib_orchestrator.recording.client.RecorderClient` from the Ansible controller,
so SQLAlchemy, the database driver and the writer thread live here, not in the controller that
forks a worker per task. Protocol (one JSON object per line)::

    -> {"op": "start", "playbook", "run_id", "ansible_version", "pid", "db_url", "batch_size",
        "flush_interval", "busy_timeout_ms"}
    <- {"run_id": 12}   or   {"error": "one line"} (and exit 1)
    -> {"op": "play", "name"} | {"op": "task", "uuid", "name", "action", "handler"}
    -> {"op": "result", "uuid", "host", "status", "result", "ignored", "no_log", "seconds", "at"}
    -> {"op": "finish", "status", "clean_hosts": [...]}   (hosts Ansible's stats did not fail)
    <- {"finished": true, "status": "successful"} (and exit 0)

End of input without ``finish`` means the controller died (kill -9): the run is closed as
``interrupted`` at once, with every event received so far written.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from hib_orchestrator.errors import HibError
from hib_orchestrator.recording.database import open_engine
from hib_orchestrator.recording.recorder import Recorder
from hib_orchestrator.settings import load_settings


def _reply(out: TextIO, doc: dict[str, Any]) -> None:
    out.write(json.dumps(doc) + "\n")
    out.flush()


def _start(msg: dict[str, Any]) -> Recorder:
    env = dict(os.environ)
    if msg.get("db_url"):
        env["HIB_DB_URL"] = str(msg["db_url"])
    recorder = Recorder(
        open_engine(load_settings(env), reap=False, busy_timeout_ms=int(msg["busy_timeout_ms"])),
        batch_size=int(msg["batch_size"]),
        flush_interval=float(msg["flush_interval"]),
    )
    recorder.start_run(
        msg.get("playbook"),
        run_id=msg.get("run_id"),
        ansible_version=msg.get("ansible_version"),
        pid=msg.get("pid"),
    )
    return recorder


def _apply(recorder: Recorder, msg: dict[str, Any]) -> str | None:
    """Feed one event; returns the final status when the event ends the run."""
    op = msg.get("op")
    if op == "result":
        at = msg.get("at")
        recorder.result(
            msg["uuid"], msg["host"], msg["status"], msg.get("result") or {},
            ignored=bool(msg.get("ignored")), no_log=bool(msg.get("no_log")),
            seconds=msg.get("seconds"),
            at=datetime.fromtimestamp(at, UTC) if isinstance(at, int | float) else None,
        )
    elif op == "task":
        recorder.task_start(msg["uuid"], msg["name"], msg["action"],
                            handler=bool(msg.get("handler")))
    elif op == "play":
        recorder.play_start(msg["name"])
    elif op == "finish":
        recorder.settle(set(msg.get("clean_hosts") or ()))
        return str(msg["status"])
    return None


def _release_terminal() -> None:
    # Our stderr is the controller's (often a pty that ansible-runner or a terminal waits on):
    # with the controller gone, holding it open would make them wait for us.
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        os.close(null)
    except OSError:
        pass


def serve(stdin: TextIO, stdout: TextIO) -> int:
    """Run the protocol until ``finish`` or end of input; returns the exit status."""
    first = stdin.readline()
    try:
        recorder = _start(json.loads(first))
    except (HibError, ValueError, KeyError, TypeError) as err:
        _reply(stdout, {"error": " ".join(str(err).split())})
        return 1
    _reply(stdout, {"run_id": recorder.run_id})
    final = None
    for line in stdin:
        try:
            status = _apply(recorder, json.loads(line))
        except (ValueError, KeyError, TypeError) as err:
            print(f"hib recorder: skipped a malformed event ({err})", file=sys.stderr)
            continue
        if status is not None:
            final = status
            break
    if final is None:  # input ended without "finish": the controller is gone (kill -9)
        _release_terminal()
        recorder.finish("interrupted", replaces=("running",))
    else:
        recorder.finish(final)
    _reply(stdout, {"finished": True, "status": final or "interrupted",
                    "write_failures": recorder.write_failures})
    return 0


def main() -> int:
    """Entry point of ``python -m hib_orchestrator.recording.writer``."""
    # Ctrl-C goes to the whole terminal process group; the controller decides what it means.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return serve(sys.stdin, sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
