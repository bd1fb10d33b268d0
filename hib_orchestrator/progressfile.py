"""Progress of long per-host work, shared across processes through small JSON files.

An image backup runs inside an Ansible worker (or a child of it); ``hib run``'s live view runs
in another process. When ``HIB_PROGRESS_DIR`` is set, the backup writes
``<dir>/<host>.json`` (``{"objects_done", "objects_total", "bytes_done"}``) at most a few
times a second, atomically; the view reads the folder whenever it redraws.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

MIN_INTERVAL_S = 0.25


class ProgressWriter:
    """Throttled, atomic writer of one host's progress file (no-op without a folder)."""

    def __init__(self, host: str, folder: str | None = None) -> None:
        folder = folder if folder is not None else os.environ.get("HIB_PROGRESS_DIR")
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in host)
        self.path = Path(folder) / f"{safe}.json" if folder else None
        self._last = 0.0

    def update(self, objects_done: int, objects_total: int, bytes_done: int,
               *, force: bool = False) -> None:
        if self.path is None:
            return
        now = time.monotonic()
        if not force and now - self._last < MIN_INTERVAL_S:
            return
        self._last = now
        doc = {"objects_done": objects_done, "objects_total": objects_total,
               "bytes_done": bytes_done}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(doc), encoding="utf-8")
            tmp.replace(self.path)
        except OSError:
            pass  # progress is a nicety; never fail a backup over it


def read_progress(folder: Path) -> dict[str, dict[str, Any]]:
    """host file stem -> progress document, for every readable file in ``folder``."""
    out: dict[str, dict[str, Any]] = {}
    if not folder.is_dir():
        return out
    for path in folder.glob("*.json"):
        try:
            out[path.stem] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
    return out
