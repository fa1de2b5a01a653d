"""Shared column helpers: aware-UTC timestamps and JSON columns that work on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field


def utcnow() -> datetime:
    """Now, timezone-aware in UTC (sqlmodel's UTCDateTime refuses naive values)."""
    return datetime.now(UTC)


def created_at_field() -> Any:
    return Field(default_factory=utcnow, nullable=False, index=True)


def json_field(default_factory: Any = dict) -> Any:
    return Field(default_factory=default_factory, sa_column=Column(JSON, nullable=False))


def json_nullable_field() -> Any:
    return Field(default=None, sa_column=Column(JSON, nullable=True))
