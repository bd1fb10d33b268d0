"""Declarative base shared by every table (runs, hosts, image snapshots, ...).

One ``MetaData`` with a naming convention (:data:`~hib_orchestrator.db.types.METADATA`), so
alembic migrations get stable constraint names on SQLite and PostgreSQL alike, and shared
``Annotated`` column types. The column types themselves live in :mod:`.types` (no ORM import).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, mapped_column

from hib_orchestrator.db.types import (
    METADATA,
    NAMING_CONVENTION,
    BigId,
    UTCDateTime,
    utcnow,
)

int_pk = Annotated[int, mapped_column(BigId, primary_key=True, autoincrement=True)]
utc_ts = Annotated[datetime, mapped_column(UTCDateTime())]
str_64 = Annotated[str, mapped_column(String(64))]
str_255 = Annotated[str, mapped_column(String(255))]


class Base(DeclarativeBase):
    """Base of every hib table."""

    metadata = METADATA


__all__ = [
    "NAMING_CONVENTION",
    "Base",
    "BigId",
    "UTCDateTime",
    "int_pk",
    "str_64",
    "str_255",
    "utc_ts",
    "utcnow",
]
