"""Engines for the run database: SQLite (WAL, busy timeout, foreign keys) or PostgreSQL (psycopg).

One engine per URL and process; a forked child (an Ansible worker) drops the inherited pool
without closing the parent's connections.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from hib_orchestrator.errors import ConfigError
from hib_orchestrator.extras import require_extra

#: How long a SQLite writer waits for another writer's lock before giving up (milliseconds).
DEFAULT_BUSY_TIMEOUT_MS = 10_000

_ENGINES: dict[tuple[str, int, int], Engine] = {}
_LOCK = threading.Lock()


def create_db_engine(url: str, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> Engine:
    """A new engine for ``url`` with the pragmas/pool settings hib relies on.

    Raises:
        ConfigError: the URL is not usable (unknown driver, SQLite folder cannot be created).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, busy_timeout_ms)
    kwargs: dict[str, Any] = {"pool_pre_ping": True, "future": True}
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        # A bare postgresql:// would pick psycopg2, which hib does not ship.
        url = str(parsed.set(drivername="postgresql+psycopg"))
    if make_url(url).drivername == "postgresql+psycopg":
        require_extra("PostgreSQL run database (HIB_DB_URL)", "postgres", "psycopg")
    try:
        engine = create_engine(url, **kwargs)
    except Exception as err:  # any driver or import problem is a configuration problem
        raise ConfigError(f"cannot use database URL {parsed!r}: {err}") from err
    _dispose_after_fork(engine)
    return engine


def _sqlite_engine(url: str, busy_timeout_ms: int) -> Engine:
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:":
        try:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ConfigError(f"cannot create the folder of {parsed.database}: {err}") from err
    engine = create_engine(
        url, connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False}
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    _dispose_after_fork(engine)
    return engine


def _dispose_after_fork(engine: Engine) -> None:
    # Ansible forks workers from the process that holds the recorder's pool; a child must never
    # reuse (or close) the parent's sockets.
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))


def get_engine(url: str, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> Engine:
    """The shared engine of this process for ``url`` (created on first use)."""
    key = (url, os.getpid(), busy_timeout_ms)
    with _LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = _ENGINES[key] = create_db_engine(url, busy_timeout_ms=busy_timeout_ms)
        return engine


def is_sqlite(engine: Engine) -> bool:
    """True for a SQLite engine."""
    return engine.dialect.name == "sqlite"


__all__ = ["DEFAULT_BUSY_TIMEOUT_MS", "create_db_engine", "get_engine", "is_sqlite"]
