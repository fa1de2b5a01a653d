"""Engine and sessions built from DATABASE_URL (the same for web, worker and bridge)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Insert, Table, event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction, make_transient_to_detached
from sqlmodel import Session, create_engine

from leadapp.core import rls
from leadapp.core.rls import DbContext
from leadapp.core.settings import get_settings

CONTEXT = "leadapp_db_context"
ModelT = TypeVar("ModelT")


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


def context_of(session: OrmSession) -> DbContext:
    """The context `session`'s transactions run under: its own, else the ambient one (a system block), else nobody."""
    return session.info.get(CONTEXT) or rls.ambient() or rls.NOBODY


@event.listens_for(OrmSession, "after_begin")
def _set_context(session: OrmSession, _transaction: SessionTransaction, connection: Connection) -> None:
    # Every transaction starts by saying whom it acts for (PostgreSQL row-level security reads it); a session
    # nobody gave a context to acts for nobody and sees no tenant row.
    rls.apply(connection, context_of(session))


def use_context(session: OrmSession, context: DbContext, *, now: bool = True) -> None:
    """From now on `session` acts for `context`: the transaction in progress at once (unless `now` is False),
    and every later one.

    Called by the access layer (`access.enter`), not by pages or services directly.
    """
    session.info[CONTEXT] = context
    if not now or session.get_bind().dialect.name != "postgresql":
        return
    connection = session.connection()  # begins the transaction if none is open (which applies the context)
    if rls.applied(connection) != context:
        rls.apply(connection, context)


def use_context_with_new_lead(session: OrmSession, context: DbContext) -> int:
    """Draw the id of a lead about to be inserted (PostgreSQL's sequence) and from now on act for `context` also
    holding that lead, in one statement; returns the id. Called by the access layer (`access.allow_new_lead`)."""
    lead_id, held = rls.apply_with_new_lead(session.connection(), context)
    session.info[CONTEXT] = held
    return lead_id


@contextmanager
def session_scope(context: DbContext | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error.

    `context`: whom it acts for (see `rls`); without one it acts for the ambient context (a worker job,
    the bridge) or, in pages and API routes, for nobody until the access layer says who is asking.
    """
    with Session(get_engine(), expire_on_commit=False) as session:
        if context is not None:
            session.info[CONTEXT] = context
        with committed(session):
            yield session


@contextmanager
def committed(session: Session) -> Iterator[Session]:
    """`session` for a block that commits it when it ends well and rolls it back (re-raising) on any error."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


@contextmanager
def connection_scope() -> Iterator[Connection]:
    """A Core connection in a transaction (committed on success), acting for the ambient context (nobody
    outside a system block), for bulk work below the ORM."""
    with get_engine().begin() as connection:
        rls.apply(connection, rls.ambient() or rls.NOBODY)
        yield connection


def insert_new(session: Session, model: Any, rows: Sequence[dict[str, Any]], unique: Sequence[str]) -> None:
    """INSERT `rows` in one statement, skipping any that a unique key on `unique` already holds.

    ON CONFLICT DO NOTHING, spelled the same way on SQLite and PostgreSQL: concurrent transactions inserting
    the same key neither fail nor duplicate it, and no SAVEPOINT is needed. `rows` are complete column
    values (e.g. `Model(...).model_dump(exclude={"id"})`, so the model's Python-side defaults are included).
    Does not commit; reads the rows back by their unique key when their ids are needed.
    """
    if not rows:
        return
    # executemany of one cached statement (SQLAlchemy sends it as a single multi-row INSERT)
    statement = _insert_skipping(model.__table__, tuple(unique), session.get_bind().dialect.name, returning=False)
    session.execute(statement, list(rows))


@lru_cache(maxsize=64)
def _insert_skipping(table: Table, unique: tuple[str, ...], dialect: str, *, returning: bool) -> Insert:
    """INSERT … ON CONFLICT (`unique`) DO NOTHING into `table` [RETURNING the id and `unique`], built once per shape:
    the same statement object each time, so SQLAlchemy does not build and key it again for every row inserted."""
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(table).on_conflict_do_nothing(index_elements=list(unique))
    return statement.returning(table.c.id, *(table.c[name] for name in unique)) if returning else statement


def insert_new_rows(session: Session, objects: Sequence[ModelT], unique: Sequence[str]) -> list[ModelT]:
    """INSERT new model instances (no id yet) in one statement like `insert_new`, and return those it inserted as
    persistent instances of `session`, their ids set from RETURNING: no read-back, so nothing is loaded or
    decrypted again. An instance whose unique key (`unique`) a row already held is left out (and stays
    transient): the caller reads that row if it needs it. Does not commit."""
    if not objects:
        return []
    table = type(objects[0]).__table__  # type: ignore[attr-defined]
    statement = _insert_skipping(table, tuple(unique), session.get_bind().dialect.name, returning=True)
    by_key = {tuple(getattr(o, name) for name in unique): o for o in objects}
    result = session.execute(statement, [o.model_dump(exclude={"id"}) for o in objects])  # type: ignore[attr-defined]
    inserted: list[ModelT] = []
    for row in result.all():
        instance = by_key[tuple(row[1:])]
        instance.id = row[0]  # type: ignore[attr-defined]
        make_transient_to_detached(instance)  # as if just loaded: no pending change, no UPDATE at flush
        session.add(instance)
        inserted.append(instance)
    return inserted
