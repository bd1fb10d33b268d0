"""Column types, the shared ``MetaData`` and the clock of every table, without the ORM.

The read commands (``hib hosts``, ``hib runs``, ``hib history``) work on SQLAlchemy Core alone:
importing ``sqlalchemy.orm`` would add ~0.08 s to each of them. :mod:`.base` builds the
declarative base on the ``METADATA`` defined here.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, Integer, MetaData
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: The one ``MetaData`` of every hib table (Core tables and ORM models alike).
METADATA = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    """Now, timezone-aware UTC."""
    return datetime.now(UTC)


# BigInteger ids on PostgreSQL, INTEGER PRIMARY KEY (rowid alias) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")

__all__ = ["METADATA", "NAMING_CONVENTION", "BigId", "UTCDateTime", "utcnow"]
