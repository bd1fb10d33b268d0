"""What a device batch tells while it runs, and what it returns when it is done.

A ``device_batch`` task is one Ansible task for many devices, so Ansible's own per-host events
arrive only when the whole batch ends. While it runs, the batch

* prints one line per device as it finishes, in the words of Ansible's default output
  (:func:`device_line`: ``changed: [r1]``, ``failed: [r2] => AUTH_FAILED: ...``), and
* appends one JSON line per device to ``HIB_PROGRESS_FILE`` when that is set
  (:class:`ProgressFile`; ``hib run`` sets it and follows it with :class:`ProgressReader` for
  its live view).

At the end it returns :func:`summarize`'s shape: every device's result under ``hosts``, the
hosts Ansible must still be told about under ``report_hosts`` (see ``device_result``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ENV = "HIB_PROGRESS_FILE"


def device_status(shaped: Mapping[str, Any]) -> str:
    """The contract's host status of one shaped device result."""
    if shaped.get("unreachable"):
        return "unreachable"
    if shaped.get("failed"):
        return "failed"
    if shaped.get("skipped"):
        return "skipped"
    return "changed" if shaped.get("changed") else "ok"


def ansible_status(shaped: Mapping[str, Any]) -> str:
    """The status Ansible would have given a per-host task with this result (``changed`` is
    ``ok`` with ``changed: true``, as in Ansible's callbacks)."""
    status = device_status(shaped)
    return "ok" if status == "changed" else status


_COLORS = {"ok": "green", "changed": "yellow", "failed": "red", "unreachable": "bright red",
           "skipped": "cyan"}


def device_line(host: str, shaped: Mapping[str, Any]) -> tuple[str, str]:
    """``(line, color)`` for one finished device, worded like Ansible's default callback."""
    status = device_status(shaped)
    word = {"skipped": "skipping", "unreachable": "unreachable"}.get(status, status)
    line = f"{word}: [{host}]"
    if status in ("failed", "unreachable"):
        line += f" => {shaped.get('error_code')}: {shaped.get('msg')}"
    elif status == "skipped":
        line += f" => {shaped.get('msg')}"
    return line, _COLORS[status]


def summarize(hosts: Mapping[str, dict[str, Any]], first: str, *,
              report_all: bool = False) -> dict[str, Any]:
    """The batch task's result: per-host results, counts, and who ``device_result`` reports.

    ``report_hosts`` holds every device that did not succeed (Ansible must mark it failed or
    unreachable); when every device succeeded it holds ``first`` (the host Ansible ran the batch
    task on, already in the recap), so the group the report play targets always exists.
    ``report_all``: every device (each gets its own line in Ansible's recap, at the price of a
    forked task per device).
    """
    counts = {name: 0 for name in _COLORS}
    for shaped in hosts.values():
        counts[device_status(shaped)] += 1
    bad = [h for h, shaped in hosts.items() if device_status(shaped) in ("failed", "unreachable")]
    report = list(hosts) if report_all else bad or [first]
    parts = [f"{n} {name}" for name, n in counts.items() if n]
    return {
        "changed": counts["changed"] > 0,
        "hosts": dict(hosts),
        "failed_hosts": bad,
        "report_hosts": report,
        "summary": counts,
        "msg": f"{len(hosts)} device(s): {', '.join(parts) or 'none'}",
    }


class ProgressFile:
    """Appends one JSON line per finished device (single ``write`` calls: readers never see half
    a line from this writer)."""

    def __init__(self, path: Path | str) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    @classmethod
    def from_env(cls) -> ProgressFile | None:
        path = os.environ.get(ENV)
        return cls(path) if path else None

    def write(self, host: str, shaped: Mapping[str, Any]) -> None:
        doc = {"host": host, "status": device_status(shaped),
               **{k: shaped.get(k) for k in ("changed", "error_code", "msg", "attempts",
                                             "duration_s", "sha256")}}
        os.write(self._fd, (json.dumps(doc, default=str) + "\n").encode())

    def close(self) -> None:
        os.close(self._fd)


class ProgressReader:
    """Follows a progress file: :meth:`new` returns the complete lines written since last time."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._offset = 0
        self._partial = b""

    def new(self) -> list[dict[str, Any]]:
        try:
            with self.path.open("rb") as fh:
                fh.seek(self._offset)
                chunk = fh.read()
        except FileNotFoundError:
            return []
        self._offset += len(chunk)
        data = self._partial + chunk
        *lines, self._partial = data.split(b"\n")
        return [json.loads(line) for line in lines if line.strip()]


__all__ = ["ENV", "ProgressFile", "ProgressReader", "ansible_status", "device_line",
           "device_status", "summarize"]
