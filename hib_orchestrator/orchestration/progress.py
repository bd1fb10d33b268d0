"""Live progress of a run, built from ansible-runner events.

:class:`RunProgress` is plain data updated by :meth:`RunProgress.apply` for each runner event;
the CLI renders it (a rich live view on a terminal, plain lines elsewhere). Per-host state
follows the contract's host statuses.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hib_orchestrator.devices.progress import device_status

HIB_ACTIONS = ("device_config", "provider_images")

_STATUS_BY_EVENT = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_unreachable": "unreachable",
    "runner_on_skipped": "skipped",
}
# A host's worst outcome wins: one failed task makes the host failed.
_RANK = {"pending": 0, "running": 1, "skipped": 2, "ok": 3, "changed": 4, "failed": 5,
         "unreachable": 6}


@dataclass(slots=True)
class HostProgress:
    """What we know about one host so far."""

    host: str
    status: str = "pending"
    kind: str | None = None
    error_code: str | None = None
    message: str | None = None
    task: str | None = None
    objects: dict[str, int] | None = None


@dataclass(slots=True)
class RunProgress:
    """Counts and per-host states of a run in flight."""

    expected_hosts: int = 0
    hosts: dict[str, HostProgress] = field(default_factory=dict)
    current_task: str | None = None
    current_play: str | None = None
    started: float = field(default_factory=time.monotonic)
    finished: bool = False
    stats: dict[str, Any] | None = None

    @property
    def total(self) -> int:
        """Hosts expected (grows when hosts appear that the inventory count missed)."""
        return max(self.expected_hosts, len(self.hosts))

    @property
    def done(self) -> int:
        return sum(1 for h in self.hosts.values() if h.status not in ("pending", "running"))

    def count(self, status: str) -> int:
        return sum(1 for h in self.hosts.values() if h.status == status)

    def expect(self, hosts: Iterable[str]) -> None:
        for name in hosts:
            self.hosts.setdefault(name, HostProgress(name))
        self.expected_hosts = max(self.expected_hosts, len(self.hosts))

    def _playbook_event(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "playbook_on_play_start":
            self.current_play = data.get("play") or data.get("name")
        elif kind == "playbook_on_task_start":
            self.current_task = data.get("task") or data.get("name")
        elif kind == "playbook_on_stats":
            self.finished = True
            self.stats = {k: data.get(k) for k in ("ok", "changed", "failures", "dark", "skipped")}

    def apply(self, event: dict[str, Any]) -> HostProgress | None:
        """Fold one ansible-runner event in; returns the host it changed, if any."""
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        self._playbook_event(kind, data)
        host = data.get("host")
        if not host or not kind.startswith("runner_on_"):
            return None
        hp = self.hosts.setdefault(host, HostProgress(host))
        if kind == "runner_on_start":
            if hp.status == "pending":
                hp.status = "running"
            hp.task = data.get("task")
            return hp
        status = _STATUS_BY_EVENT.get(kind)
        if status is None:
            return None
        res = data.get("res") or {}
        if res.get("hib_kind") in ("commit", "device_batch"):
            # The commit says nothing about the host it ran on; a batch's result holds every
            # device's, which the progress file gave one by one (this settles any missed).
            batch = res.get("hosts") if res.get("hib_kind") == "device_batch" else None
            for name, own in (batch or {}).items():
                self.apply_device({"host": name, "status": device_status(own), **own})
            return None
        if status == "ok" and res.get("changed"):
            status = "changed"
        action = str(data.get("task_action") or "")
        ours = action.rsplit(".", 1)[-1] in HIB_ACTIONS
        if status == "skipped" and hp.status not in ("pending", "running"):
            return None  # a skipped later task does not hide an earlier result
        before = (hp.status, hp.error_code)
        if ours or _RANK[status] > _RANK.get(hp.status, 0) or hp.status == "running":
            hp.status = status
        if ours:
            hp.kind = res.get("hib_kind") or hp.kind
            hp.objects = res.get("objects") or hp.objects
        if status in ("failed", "unreachable"):
            hp.error_code = res.get("error_code") or (
                "UNREACHABLE" if status == "unreachable" else hp.error_code
            )
            hp.message = _one_line(res.get("msg"))
        return hp if ours or (hp.status, hp.error_code) != before else None


    def apply_device(self, doc: dict[str, Any]) -> HostProgress | None:
        """Fold in one device a batch finished (a progress-file line); returns it if it moved."""
        hp = self.hosts.setdefault(doc["host"], HostProgress(doc["host"]))
        before = (hp.status, hp.error_code)
        hp.status, hp.kind = doc["status"], "device"
        if hp.status in ("failed", "unreachable"):
            hp.error_code = doc.get("error_code")
            hp.message = _one_line(doc.get("msg"))
        return hp if (hp.status, hp.error_code) != before else None


def _one_line(value: Any) -> str | None:
    if value is None:
        return None
    return " ".join(str(value).split())[:300]
