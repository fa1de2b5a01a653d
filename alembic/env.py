"""Alembic environment: the same settings and metadata as the app, worker and bridge."""

from __future__ import annotations

from sqlmodel import SQLModel

import leadapp.core.models  # noqa: F401  (registers every table)
from alembic import context
from leadapp.core import rls
from leadapp.core.db import engine_for
from leadapp.core.settings import get_settings, psycopg_url

config = context.config
target_metadata = SQLModel.metadata


def _url() -> str:
    # A URL handed in by a caller gets the same driver rewrite as DATABASE_URL does in the settings. Migrations
    # connect as the tables' owner (DATABASE_OWNER_URL) when one is set.
    return psycopg_url(config.attributes.get("database_url") or get_settings().migration_url)


def run_migrations_offline() -> None:
    url = _url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = _url()
    connectable = config.attributes.get("connection") or engine_for(url)
    if hasattr(connectable, "connect"):
        with connectable.connect() as connection:
            _run(connection, url)
    else:
        _run(connectable, url)


def _run(connection, url: str) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=url.startswith("sqlite"),
        compare_type=True,
    )
    with context.begin_transaction():
        # Row-level security is forced on the owner too: a data migration acts as the system.
        rls.apply(connection, rls.system("migrations"))
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
