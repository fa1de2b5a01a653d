"""leads.phone_verified_at: AI-call consent counts only once a code texted to the number came back

Revision ID: attacks
Revises: words (rls on the branch; re-chained after merging main)
Create Date: 2026-12-06 07:30:00

Requests made before this revision keep their consent but are not verified: no AI call is placed to them until
their consumer verifies the number from the portal or the tracking page (a code by text).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "attacks"
down_revision: str | None = "words"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone_verified_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_column("phone_verified_at")
