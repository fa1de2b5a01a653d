"""partner webhooks: the API key that made each lead, a key's webhook URL and secret, the deliveries outbox

- leads.api_key_id: the partner's key that created the lead (only it reads the lead's status and hears of it);
  leads made before this revision have none;
- api_keys.webhook_url and webhook_secret (encrypted text, "whsec_…" in clear only when shown once);
- webhook_deliveries: one row per lead status change to POST to a partner (Standard Webhooks), walled on
  PostgreSQL with the `platform_only` policy (admins and the system only).

Revision ID: webhooks
Revises: attacks
Create Date: 2026-12-06 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from leadapp.core import rls

revision: str = "webhooks"
down_revision: str | None = "attacks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("webhook_url", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("webhook_secret", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("api_key_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_leads_api_key_id", ["api_key_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_leads_api_key_id_api_keys", "api_keys", ["api_key_id"], ["id"], ondelete="SET NULL"
        )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("webhook_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("event", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("dedupe_key", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("claimed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("next_try_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("delivered_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_keys.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("webhook_id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    op.create_index("ix_webhook_deliveries_api_key_id", "webhook_deliveries", ["api_key_id"], unique=False)
    op.create_index("ix_webhook_deliveries_lead_id", "webhook_deliveries", ["lead_id"], unique=False)
    op.create_index("ix_webhook_deliveries_created_at", "webhook_deliveries", ["created_at"], unique=False)
    op.create_index(
        "ix_webhook_deliveries_status_created", "webhook_deliveries", ["status", "created_at"], unique=False
    )
    rls.enable(op, "webhook_deliveries")


def downgrade() -> None:
    rls.disable(op, "webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_status_created", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_created_at", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_lead_id", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_api_key_id", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_constraint("fk_leads_api_key_id_api_keys", type_="foreignkey")
        batch_op.drop_index("ix_leads_api_key_id")
        batch_op.drop_column("api_key_id")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("webhook_secret")
        batch_op.drop_column("webhook_url")
