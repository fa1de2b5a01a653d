"""languages: a lead's language and the languages a business serves

`leads.language` ("en" or "es"): detected from the request's text by the classifier (or Claude's answer), or
from a caller's first words on an inbound call; calls about the lead speak it. `businesses.languages` (a JSON
list, English only by default): the languages the owner serves; matching offers a lead only to businesses
serving its language. Existing rows read as English (leads) and English only (businesses).

Revision ID: spanish
Revises: quality
Create Date: 2026-12-07 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "spanish"
down_revision: str | None = "quality"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.add_column(sa.Column("language", sa.String(length=8), nullable=False, server_default="en"))
    with op.batch_alter_table("businesses") as batch:
        batch.add_column(sa.Column("languages", sa.JSON(), nullable=False, server_default=sa.text("'[\"en\"]'")))


def downgrade() -> None:
    with op.batch_alter_table("businesses") as batch:
        batch.drop_column("languages")
    with op.batch_alter_table("leads") as batch:
        batch.drop_column("language")
