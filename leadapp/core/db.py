"""Engine and sessions built from DATABASE_URL (the same for web, worker and bridge)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from leadapp.core.settings import get_settings


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """One engine per database URL; SQLite gets WAL and foreign keys."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    # No pre-ping (a round trip per checkout); connections are recycled instead, and a job that meets a
    # dropped connection fails and is retried.
    return create_engine(url, pool_recycle=1800, pool_size=10, max_overflow=20)


def get_engine() -> Engine:
    return engine_for(get_settings().database_url)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def insert_new(session: Session, model: Any, rows: Sequence[dict[str, Any]], unique: Sequence[str]) -> None:
    """INSERT `rows` in one statement, skipping any that a unique key on `unique` already holds.

    ON CONFLICT DO NOTHING, spelled the same way on SQLite and PostgreSQL: concurrent transactions inserting
    the same key neither fail nor duplicate it, and no SAVEPOINT is needed. `rows` are complete column
    values (e.g. `Model(...).model_dump(exclude={"id"})`, so the model's Python-side defaults are included).
    Does not commit; reads the rows back by their unique key when their ids are needed.
    """
    if not rows:
        return
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    # executemany of one cached statement (SQLAlchemy sends it as a single multi-row INSERT)
    session.execute(insert(model.__table__).on_conflict_do_nothing(index_elements=list(unique)), list(rows))
