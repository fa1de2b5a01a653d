"""row-level security on tenant tables; notifications and interviews encrypted at rest

On PostgreSQL every tenant table gets row-level security, enabled and forced, with the policies of its kind
in `leadapp.core.rls.TENANT_TABLES` (and the functions they call). On SQLite that part is skipped: there the
access layer's filters are the only wall.

Everywhere: notifications' recipient, bodies and last error, and interview sessions' messages and extracted
answers, become encrypted text (existing rows are encrypted here with SECRET_KEY; a downgrade decrypts them).

Revision ID: rls
Revises: calls
Create Date: 2026-12-01 09:00:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from leadapp.core import crypto, rls

revision: str = "rls"
down_revision: str | None = "calls"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The tenant tables that exist at this revision (a later table is walled by its own migration).
TABLES = (
    "leads",
    "matches",
    "conversions",
    "calls",
    "transcript_lines",
    "notifications",
    "interview_sessions",
    "businesses",
)

NOTIFICATION_TEXT = {"recipient": 320, "body_text": 10000, "body_html": 40000, "last_error": 2000}
INTERVIEW_JSON = ("messages", "extracted")
BATCH = 500


def _convert(table: str, columns: Sequence[str], change) -> None:
    """Rewrite `columns` of every row of `table` with `change(column, value)`, a batch at a time."""
    bind = op.get_bind()
    t = sa.table(table, sa.column("id", sa.Integer), *(sa.column(c, sa.Text) for c in columns))
    last = 0
    while True:
        rows = bind.execute(sa.select(t).where(t.c.id > last).order_by(t.c.id).limit(BATCH)).mappings().all()
        if not rows:
            return
        for row in rows:
            values = {c: change(c, row[c]) for c in columns}
            bind.execute(sa.update(t).where(t.c.id == row["id"]).values(**values))
        last = rows[-1]["id"]


def _encrypt_json(_column: str, value: str | None) -> str:
    return crypto.encrypt_text("interview", value if value is not None else "null")


def _decrypt_json(column: str, value: str | None) -> str:
    plain = crypto.decrypt_text("interview", value or "")
    return plain or json.dumps([] if column == "messages" else {})


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        for column, length in NOTIFICATION_TEXT.items():
            batch.alter_column(column, existing_type=sa.String(length=length), type_=sa.Text(), existing_nullable=False)
    _convert("notifications", list(NOTIFICATION_TEXT), lambda _c, v: crypto.encrypt_text("notification", v or ""))
    with op.batch_alter_table("interview_sessions") as batch:
        for column in INTERVIEW_JSON:
            batch.alter_column(
                column,
                existing_type=sa.JSON(),
                type_=sa.Text(),
                existing_nullable=False,
                postgresql_using=f"{column}::text",
            )
    _convert("interview_sessions", INTERVIEW_JSON, _encrypt_json)

    if op.get_bind().dialect.name == "postgresql":
        for statement in rls.functions_sql():
            op.execute(statement)
        rls.enable(op, *TABLES)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        rls.disable(op, *TABLES)
        for statement in rls.drop_functions_sql():
            op.execute(statement)

    _convert("interview_sessions", INTERVIEW_JSON, _decrypt_json)
    with op.batch_alter_table("interview_sessions") as batch:
        for column in INTERVIEW_JSON:
            batch.alter_column(
                column,
                existing_type=sa.Text(),
                type_=sa.JSON(),
                existing_nullable=False,
                postgresql_using=f"{column}::json",
            )
    _convert("notifications", list(NOTIFICATION_TEXT), lambda _c, v: crypto.decrypt_text("notification", v or "") or "")
    with op.batch_alter_table("notifications") as batch:
        for column, length in NOTIFICATION_TEXT.items():
            batch.alter_column(column, existing_type=sa.Text(), type_=sa.String(length=length), existing_nullable=False)
