"""calls: one media stream per call, recordings deleted with their lead, where each do-not-call entry came from

Revision ID: calls
Revises: inbox (merged into main before this branch; written against 0001, chained here for one head)
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "calls"
down_revision: str | None = "inbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recording_purge_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("media_stream_sid", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
    with op.batch_alter_table("do_not_call", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("wording", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("call_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("lead_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_do_not_call_call_id_calls", "calls", ["call_id"], ["id"], ondelete="SET NULL")
        batch_op.create_foreign_key("fk_do_not_call_lead_id_leads", "leads", ["lead_id"], ["id"], ondelete="SET NULL")
    # The default only fills the rows that exist now; the model sets the value on every insert.
    with op.batch_alter_table("do_not_call", schema=None) as batch_op:
        batch_op.alter_column("wording", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("do_not_call", schema=None) as batch_op:
        batch_op.drop_constraint("fk_do_not_call_lead_id_leads", type_="foreignkey")
        batch_op.drop_constraint("fk_do_not_call_call_id_calls", type_="foreignkey")
        batch_op.drop_column("lead_id")
        batch_op.drop_column("call_id")
        batch_op.drop_column("wording")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("media_stream_sid")
        batch_op.drop_column("recording_purge_at")
