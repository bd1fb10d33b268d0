"""Run recording: the :class:`Recorder`, its out-of-process writer, and the read-side queries.

::

    engine = open_engine()                       # migrated, dead runs closed
    rec = Recorder(engine); run_id = rec.start_run("backup.yml")
    ...
    with engine.connect() as conn:
        list_runs(conn, limit=20)

Names are imported lazily: the callback plugin imports :mod:`.client` inside the Ansible
controller, which must not load SQLAlchemy (every forked worker would pay for its memory).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hib_orchestrator.lazy import lazy_exports

if TYPE_CHECKING:
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

_EXPORTS = {
    "Recorder": "hib_orchestrator.recording.recorder",
    "history": "hib_orchestrator.recording.queries",
    "list_hosts": "hib_orchestrator.recording.queries",
    "list_runs": "hib_orchestrator.recording.queries",
    "open_engine": "hib_orchestrator.recording.database",
    "parse_duration": "hib_orchestrator.recording.durations",
    "prune_runs": "hib_orchestrator.recording.queries",
    "reap_interrupted": "hib_orchestrator.recording.liveness",
    "show_run": "hib_orchestrator.recording.queries",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)


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
