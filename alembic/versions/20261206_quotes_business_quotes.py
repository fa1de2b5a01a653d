"""business quotes: a business that accepted a lead quotes it, the consumer accepts one

`quotes` holds each quote (amount or range in cents, what is included, the valid-until day and the moment it
ends, an optional visit time, its status: sent, accepted, declined, expired). On PostgreSQL it is walled like
the matches and conversions (`by_lead_and_business`): the business sees its own quotes, the consumer side
the quotes on its leads, admins and the system all of them.

Revision ID: quotes
Revises: routing
Create Date: 2026-12-06 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from leadapp.core import rls

revision: str = "quotes"
down_revision: str | None = "routing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "quotes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("match_id", sa.Integer(), nullable=False),
        sa.Column("amount_min_cents", sa.Integer(), nullable=False),
        sa.Column("amount_max_cents", sa.Integer(), nullable=False),
        sa.Column("included", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("visit_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("decided_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["business_id"], ["businesses.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["match_id"], ["matches.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.create_index("ix_quotes_business_id", ["business_id"], unique=False)
        batch_op.create_index("ix_quotes_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_quotes_lead_status", ["lead_id", "status"], unique=False)
        batch_op.create_index("ix_quotes_match_id", ["match_id"], unique=False)
        batch_op.create_index("ix_quotes_status_expires", ["status", "expires_at"], unique=False)
    rls.enable(op, "quotes")


def downgrade() -> None:
    rls.disable(op, "quotes")
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.drop_index("ix_quotes_status_expires")
        batch_op.drop_index("ix_quotes_match_id")
        batch_op.drop_index("ix_quotes_lead_status")
        batch_op.drop_index("ix_quotes_created_at")
        batch_op.drop_index("ix_quotes_business_id")
    op.drop_table("quotes")
