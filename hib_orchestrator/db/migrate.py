"""Applies the packaged alembic migrations: on first use of a database and by ``hib db upgrade``.

Concurrent first uses (four playbooks starting at once on an empty PostgreSQL) serialise on a
PostgreSQL advisory lock or, for SQLite, a lock file beside the database.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from hib_orchestrator.db.revisions import MIGRATIONS_DIR, packaged_heads
from hib_orchestrator.errors import RecordingError

if TYPE_CHECKING:
    from alembic.config import Config

#: Every module that declares tables on ``Base``; add yours here (alembic autogenerate and the
#: models/migrations agreement test import exactly these).
MODEL_MODULES = (
    "hib_orchestrator.db.models",
    "hib_orchestrator.images.models",
    "hib_orchestrator.db.idempotency",
)
_ADVISORY_KEY = 0x68_69_62_00_DB  # "hib" + db: any constant shared by every hib process
_READY: set[str] = set()
_READY_LOCK = threading.Lock()


def describe(err: BaseException) -> str:
    """One line for a database error: the driver's message, without SQLAlchemy's SQL/links."""
    cause = getattr(err, "orig", None) or err
    return " ".join(str(cause).split())[:500]


def import_models() -> None:
    """Import every module of ``MODEL_MODULES`` so ``Base.metadata`` holds every table."""
    for name in MODEL_MODULES:
        importlib.import_module(name)


def alembic_config(url: str | None = None) -> Config:
    """An alembic ``Config`` for the packaged migrations (no ini file needed)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revisions() -> tuple[str, ...]:
    """The revision ids the packaged migrations end at (alembic's own answer)."""
    from alembic.script import ScriptDirectory

    return tuple(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(conn: Connection) -> tuple[str, ...]:
    """The revision ids a database is at (empty for a fresh database)."""
    from sqlalchemy import inspect

    if not inspect(conn).has_table("alembic_version"):
        return ()
    rows = conn.execute(text("SELECT version_num FROM alembic_version"))
    return tuple(sorted(r for (r,) in rows))


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[Connection]:
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _ADVISORY_KEY})
            conn.commit()
            try:
                yield conn
            finally:
                conn.rollback()
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _ADVISORY_KEY})
                conn.commit()
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        with engine.connect() as conn:
            yield conn
        return
    with open(f"{database}.migrate-lock", "a+") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def upgrade(engine: Engine, revision: str = "heads") -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Migrate ``engine``'s database to ``revision``; returns (revisions before, after).

    Raises:
        RecordingError: the database could not be migrated.
    """
    try:
        with _migration_lock(engine) as conn:
            from alembic import command

            before = current_revisions(conn)
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
            conn.commit()
            after = current_revisions(conn)
    except SQLAlchemyError as err:
        raise RecordingError(f"cannot migrate the run database: {describe(err)}") from err
    return before, after


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate ``engine``'s database down to ``revision`` (``base`` empties it)."""
    from alembic import command

    with _migration_lock(engine) as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
        conn.commit()
    with _READY_LOCK:
        _READY.discard(_key(engine))


def _key(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def ensure_schema(engine: Engine) -> None:
    """Upgrade the database to the packaged head unless this process already saw it there.

    Raises:
        RecordingError: the database cannot be reached or migrated.
    """
    key = _key(engine)
    with _READY_LOCK:
        if key in _READY:
            return
    heads = set(packaged_heads())
    try:
        with engine.connect() as conn:
            current = set(current_revisions(conn))
    except SQLAlchemyError as err:
        raise RecordingError(f"cannot open the run database: {describe(err)}") from err
    if current != heads:
        upgrade(engine)
    with _READY_LOCK:
        _READY.add(key)


__all__ = [
    "MIGRATIONS_DIR",
    "MODEL_MODULES",
    "alembic_config",
    "current_revisions",
    "describe",
    "downgrade",
    "ensure_schema",
    "head_revisions",
    "import_models",
    "packaged_heads",
    "upgrade",
]
