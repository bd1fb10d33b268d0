"""Run recording: the :class:`Recorder` fed by the callback plugin, and the read-side queries.

::

    engine = open_engine()                       # migrated, dead runs closed
    rec = Recorder(engine); run_id = rec.start_run("backup.yml")
    ...
    with engine.connect() as conn:
        list_runs(conn, limit=20)
"""

from __future__ import annotations

from hib_orchestrator.recording.database import open_engine
from hib_orchestrator.recording.durations import parse_duration
from hib_orchestrator.recording.liveness import reap_interrupted
from hib_orchestrator.recording.queries import (
    history,
    list_hosts,
    list_runs,
    prune_runs,
    show_run,
)
from hib_orchestrator.recording.recorder import Recorder

__all__ = [
    "Recorder",
    "history",
    "list_hosts",
    "list_runs",
    "open_engine",
    "parse_duration",
    "prune_runs",
    "reap_interrupted",
    "show_run",
]
