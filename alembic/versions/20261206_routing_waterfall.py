"""fastest-first routing: how each lead was offered, and when its next wave is due

`leads.routing` is the platform rule's mode when the lead was matched ("broadcast": every match at once;
"waterfall": the best few first, then more while nobody accepts); `leads.next_wave_at` is when the worker
offers it to the next businesses (indexed: the sweep reads the due ones every minute).

Revision ID: routing
Revises: webhooks
Create Date: 2026-12-06 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "routing"
down_revision: str | None = "webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.add_column(sa.Column("routing", sa.String(length=16), nullable=False, server_default="broadcast"))
        batch.add_column(sa.Column("next_wave_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch.create_index("ix_leads_next_wave_at", ["next_wave_at"])


def downgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.drop_index("ix_leads_next_wave_at")
        batch.drop_column("next_wave_at")
        batch.drop_column("routing")
