"""inbound line of a business, released inbound leads, per-factor match points

Revision ID: inbound
Revises: 0001
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "inbound"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("businesses", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("inbound_number_sid", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(sa.Column("inbound_previous", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("inbound_connected_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("released_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    with op.batch_alter_table("matches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("points", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("matches", schema=None) as batch_op:
        batch_op.drop_column("points")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_column("released_at")
    with op.batch_alter_table("businesses", schema=None) as batch_op:
        batch_op.drop_column("inbound_connected_at")
        batch_op.drop_column("inbound_previous")
        batch_op.drop_column("inbound_number_sid")
