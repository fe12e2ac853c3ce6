"""Declarative base with a naming convention, so Alembic migrations name constraints stably."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import DateTime, MetaData, String, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


E = TypeVar("E", bound=StrEnum)


class EnumString(TypeDecorator[E], Generic[E]):
    """A vocabulary value stored as its plain string (no database enum type, so adding a value
    needs no migration) and loaded back as the enum member, never as a bare ``str``."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int, **kwargs: Any) -> None:
        super().__init__(length, **kwargs)
        self.enum = enum

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return self.enum(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> E | None:
        if value is None:
            return None
        return self.enum(value)


class Base(DeclarativeBase):
    """Base class of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> dt.datetime:
    """The current time, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)


# Materialised paths are compared as byte strings (prefix ranges); PostgreSQL's default
# collation would order them by locale rules, so they use the "C" collation there.
PathString = String(400).with_variant(String(400, collation="C"), "postgresql")


def subtree_range(path: str) -> tuple[str, str]:
    """Bounds ``[low, high)`` of every path at or below ``path`` (which ends in ``/``).

    Paths contain only digits and ``/``; ``0`` sorts right after ``/``, so replacing the final
    ``/`` with ``0`` gives the first string that is no longer below ``path``.
    """
    return path, path[:-1] + "0"
