"""Opens the run database the way every hib process must: migrated, and dead runs closed."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from hib_orchestrator.db.engine import DEFAULT_BUSY_TIMEOUT_MS, get_engine
from hib_orchestrator.db.migrate import describe, ensure_schema
from hib_orchestrator.errors import RecordingError
from hib_orchestrator.recording.liveness import reap_interrupted
from hib_orchestrator.settings import Settings, load_settings


def open_engine(
    settings: Settings | None = None,
    *,
    reap: bool = True,
    busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
) -> Engine:
    """The engine of the configured database, upgraded to the packaged schema.

    With ``reap`` (the default), runs left ``running`` by dead processes are marked
    ``interrupted`` first, so no reader ever shows a dead run as running. ``busy_timeout_ms``
    bounds how long a SQLite write waits for another writer.

    Raises:
        RecordingError: the database cannot be reached, migrated or written.
    """
    settings = settings or load_settings()
    engine = get_engine(settings.db_url, busy_timeout_ms=busy_timeout_ms)
    ensure_schema(engine)
    if reap:
        try:
            with engine.begin() as conn:
                reap_interrupted(conn)
        except SQLAlchemyError as err:
            raise RecordingError(f"cannot update the run database: {describe(err)}") from err
    return engine


__all__ = ["open_engine"]
