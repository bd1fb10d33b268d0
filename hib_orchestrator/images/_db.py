"""Database access for the image store (private until the shared engine module lands)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from hib_orchestrator.images.models import IMAGE_TABLES
from hib_orchestrator.settings import Settings

_ENGINES: dict[str, Engine] = {}


def engine_for(settings: Settings) -> Engine:
    """One engine per database URL per process; SQLite gets WAL and a busy timeout."""
    url = settings.db_url
    if url not in _ENGINES:
        engine = create_engine(url, pool_pre_ping=True)
        if engine.dialect.name == "sqlite":
            settings.home.mkdir(parents=True, exist_ok=True)

            @event.listens_for(engine, "connect")
            def _pragmas(conn: Any, _record: Any) -> None:
                cur = conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA busy_timeout=30000")
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.close()

        from hib_orchestrator.db.base import Base

        Base.metadata.create_all(engine, tables=list(IMAGE_TABLES))
        _ENGINES[url] = engine
    return _ENGINES[url]


def sessions_for(settings: Settings) -> sessionmaker[Session]:
    """A session factory bound to the settings' database."""
    return sessionmaker(engine_for(settings), expire_on_commit=False)
