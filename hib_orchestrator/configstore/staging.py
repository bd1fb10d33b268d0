"""Per-run staging: changed configs wait here until the run's single commit.

Each run owns ``<store>/.git/hib/staging/<run id>/`` (inside the git directory, so never part of
the work tree, and on the same filesystem so moving into the work tree is a rename). A run's
workers write ``<host>.cfg`` + ``<host>.json`` there atomically; ``owner.json`` records the
playbook's pid so stale areas of dead runs can be cleaned.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from hib_orchestrator.configstore.files import write_atomic
from hib_orchestrator.configstore.paths import check_host_name, path_for
from hib_orchestrator.procs import pid_alive

STALE_AFTER_S = 24 * 3600.0
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")


@dataclass(frozen=True, slots=True)
class StagedConfig:
    """One staged device config."""

    host: str
    path: str
    file: Path
    sha256: str
    base_sha256: str | None = None
    #: Hash of the text without its volatile lines (the device side's "unchanged" test).
    significant: str | None = None


def run_dir_name(run_id: str) -> str:
    """A directory name for ``run_id`` (anything unsafe replaced by ``_``)."""
    name = _UNSAFE.sub("_", str(run_id))[:100]
    return name if name.strip(".") else "_"


class Staging:
    """The staging area of one run."""

    def __init__(self, root: Path, run_id: str, owner_pid: int | None = None) -> None:
        self.root = root
        self.run_id = str(run_id)
        self.dir = root / run_dir_name(self.run_id)
        self._owner_pid = owner_pid if owner_pid is not None else os.getppid()

    def _ensure(self) -> None:
        owner = self.dir / "owner.json"
        if not owner.exists():
            doc = {"run_id": self.run_id, "pid": self._owner_pid,
                   "hostname": socket.gethostname(), "created": time.time()}
            write_atomic(owner, json.dumps(doc).encode())

    def put(
        self, host: str, text: str, sha256: str, base_sha256: str | None = None,
        significant: str | None = None,
    ) -> StagedConfig:
        """Stage ``text`` as ``host``'s new config (replacing an earlier one of this run).

        ``base_sha256`` is the hash of the stored copy the text was compared with (``""`` for a
        new device); the commit skips the entry if the store moved on meanwhile. ``significant``
        is the hash of the text without volatile lines: when another run committed the same
        significant text meanwhile, the commit names that run's commit for this host.
        """
        check_host_name(host)
        self._ensure()
        file = self.dir / f"{host}.cfg"
        write_atomic(file, text.encode())
        meta = {"host": host, "path": path_for(host), "sha256": sha256, "base": base_sha256,
                "significant": significant}
        write_atomic(self.dir / f"{host}.json", json.dumps(meta).encode())
        return StagedConfig(host=host, path=path_for(host), file=file, sha256=sha256,
                            base_sha256=base_sha256, significant=significant)

    def entries(self) -> list[StagedConfig]:
        """Every config staged so far, sorted by host."""
        if not self.dir.is_dir():
            return []
        staged = []
        for meta_file in sorted(self.dir.glob("*.json")):
            if meta_file.name == "owner.json":
                continue
            meta = json.loads(meta_file.read_text())
            host = check_host_name(meta["host"])
            file = self.dir / f"{host}.cfg"
            if file.exists():
                staged.append(StagedConfig(host=host, path=path_for(host), file=file,
                                           sha256=str(meta.get("sha256", "")),
                                           base_sha256=meta.get("base"),
                                           significant=meta.get("significant")))
        return staged

    def remove(self) -> None:
        """Delete this run's staging area."""
        shutil.rmtree(self.dir, ignore_errors=True)


def clean_stale(root: Path, keep: str, *, now: float | None = None) -> list[str]:
    """Remove staging areas of runs whose playbook process is gone (or older than a day).

    Returns:
        The run directory names removed.
    """
    removed: list[str] = []
    if not root.is_dir():
        return removed
    now = time.time() if now is None else now
    for entry in root.iterdir():
        if not entry.is_dir() or entry.name == run_dir_name(keep):
            continue
        dead = old = False
        try:
            owner = json.loads((entry / "owner.json").read_text())
            here = owner.get("hostname") == socket.gethostname()
            dead = here and not pid_alive(int(owner["pid"]))
            old = now - float(owner.get("created", 0)) > STALE_AFTER_S
        except (OSError, ValueError, KeyError, TypeError):
            with contextlib.suppress(OSError):
                old = now - entry.stat().st_mtime > STALE_AFTER_S
        if dead or old:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry.name)
    return removed
