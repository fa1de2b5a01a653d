"""verified reviews: one per converted job, the business's reply, an admin's hide; the verified rating inputs

`reviews` holds each review (1-5 stars, text, the business's one reply, the admin's hide with its reason);
`conversion_id` is unique, so a review link is used once whatever races it. `businesses.verified_review_count`
and `verified_stars_total` are the visible reviews' count and sum of stars, kept by the reviews service, from
which matching computes the Bayesian rating with the rules' prior (the candidate query stays one query).
On PostgreSQL `reviews` is walled: a visible review is readable by every side, a hidden one by its own sides;
writes by the review's business, its lead's side and staff.

Revision ID: reviews
Revises: quotes
Create Date: 2026-12-06 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from leadapp.core import rls

revision: str = "reviews"
down_revision: str | None = "quotes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversion_id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("consumer_id", sa.Integer(), nullable=True),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("reply", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("replied_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("replied_by_id", sa.Integer(), nullable=True),
        sa.Column("hidden_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("hidden_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("hidden_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["business_id"], ["businesses.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["consumer_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["conversion_id"], ["conversions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["hidden_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["replied_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("conversion_id"),
    )
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.create_index("ix_reviews_business_visible", ["business_id", "hidden_at"], unique=False)
        batch_op.create_index("ix_reviews_lead_id", ["lead_id"], unique=False)
        batch_op.create_index("ix_reviews_created_at", ["created_at"], unique=False)
    with op.batch_alter_table("businesses") as batch:
        batch.add_column(sa.Column("verified_review_count", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("verified_stars_total", sa.Integer(), nullable=False, server_default="0"))
    rls.enable(op, "reviews")


def downgrade() -> None:
    rls.disable(op, "reviews")
    with op.batch_alter_table("businesses") as batch:
        batch.drop_column("verified_stars_total")
        batch.drop_column("verified_review_count")
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_reviews_created_at")
        batch_op.drop_index("ix_reviews_lead_id")
        batch_op.drop_index("ix_reviews_business_visible")
    op.drop_table("reviews")
