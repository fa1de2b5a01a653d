"""What the application knows of its Alembic history beyond Alembic itself: the revisions folded into the baseline.

Before LeadApp shipped, its first fifteen revisions were folded into one baseline revision that kept the id of the
last of them, `BASELINE` (issue 13). A database still at one of the others predates the baseline: this code no
longer holds its revision, so it cannot be upgraded and has to be re-created (`make run` then makes it anew).
"""

from __future__ import annotations

from collections.abc import Iterable

from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import make_url

from leadapp.core.db import engine_for
from leadapp.core.settings import psycopg_url

BASELINE = "spanish"
RETIRED_REVISIONS = frozenset(
    {
        "0001",
        "inbound",
        "inbox",
        "calls",
        "rls",
        "accounts",
        "words",
        "attacks",
        "webhooks",
        "routing",
        "quotes",
        "reviews",
        "messages",
        "quality",
    }
)


def current_revisions(url: str) -> tuple[str, ...]:
    """The revisions the database at `url` is stamped with (none for an empty database)."""
    with engine_for(psycopg_url(url)).connect() as connection:
        return tuple(sorted(MigrationContext.configure(connection).get_current_heads()))


def predating_baseline(revisions: Iterable[str]) -> tuple[str, ...]:
    """Those of `revisions` that were folded into the baseline."""
    return tuple(revision for revision in revisions if revision in RETIRED_REVISIONS)


def recreate_advice(url: str, revisions: Iterable[str]) -> str:
    """What to tell whoever migrates a database at `revisions`, from before the baseline: re-create it."""
    database = make_url(url)
    where = (
        f"delete the SQLite file {database.database}"
        if database.get_backend_name() == "sqlite"
        else f"drop the PostgreSQL database {database.database} and create it empty"
    )
    return (
        f"The database is at revision {', '.join(revisions)}, from before the migration history was folded into "
        f"one baseline revision ({BASELINE}); it cannot be upgraded. Re-create it: {where}, then run "
        "`make run` (or `python -m leadapp.cli migrate`)."
    )
