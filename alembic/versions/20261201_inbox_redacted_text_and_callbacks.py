"""leads.redacted_text (what a business sees before accepting) and calls.human_callback_handled_at

Revision ID: inbox
Revises: inbound (0001 on the branch; re-chained after merging main)
Create Date: 2026-12-01 10:00:00

Existing leads get their redacted text here, with the application's one redaction
(`leadapp.core.redaction.redact_contact`), in batches; new and changed leads get it from the model.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "inbox"
down_revision: str | None = "inbound"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 500
REDACTED_TEXT_MAX = 10000


def _backfill() -> None:
    from leadapp.core.redaction import redact_contact

    connection = op.get_bind()
    leads = sa.table(
        "leads",
        sa.column("id", sa.Integer),
        sa.column("raw_text", sa.String),
        sa.column("contact_email", sa.String),
        sa.column("redacted_text", sa.String),
    )
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(leads.c.id, leads.c.raw_text, leads.c.contact_email)
            .where(leads.c.id > last_id)
            .order_by(leads.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        for lead_id, raw_text, email in rows:
            connection.execute(
                leads.update()
                .where(leads.c.id == lead_id)
                .values(redacted_text=redact_contact(raw_text or "", email or "")[:REDACTED_TEXT_MAX])
            )
        last_id = rows[-1][0]


def upgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "redacted_text",
                sqlmodel.sql.sqltypes.AutoString(length=REDACTED_TEXT_MAX),
                nullable=False,
                server_default="",
            )
        )
    _backfill()
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.alter_column("redacted_text", server_default=None)
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("human_callback_handled_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("human_callback_handled_at")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_column("redacted_text")
