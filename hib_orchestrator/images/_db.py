"""Database access for the image store, through the shared engine and migrations."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from hib_orchestrator.db.engine import get_engine
from hib_orchestrator.db.migrate import ensure_schema
from hib_orchestrator.settings import Settings


def sessions_for(settings: Settings) -> sessionmaker[Session]:
    """A session factory on the settings' database, migrated to the packaged head."""
    engine = get_engine(settings.db_url)
    ensure_schema(engine)
    return sessionmaker(engine, expire_on_commit=False)
