"""thread messages: a consumer and a business that accepted their request write to each other

`thread_messages` holds each message of the thread of a match (one thread per lead and business): who wrote it
(`side`: consumer or business, `author_id` when typed by an account), the text, how it came in (`channel`: web,
or a reply to its email or text) and the provider's id of such a reply (`inbound_key`, unique: a webhook
delivered twice stores the reply once), and a photo sent with it (`photo_ref`, its file under ATTACHMENTS_DIR,
its type and size). On PostgreSQL it is walled like the matches and quotes
(`by_lead_and_business`): the business reads its own threads, the consumer side the threads of its leads,
admins and the system all of them.

Revision ID: messages
Revises: reviews
Create Date: 2026-12-06 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from leadapp.core import rls

revision: str = "messages"
down_revision: str | None = "reviews"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "thread_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("match_id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("side", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("inbound_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("photo_ref", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("photo_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("photo_bytes", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["business_id"], ["businesses.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["match_id"], ["matches.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("inbound_key", name="uq_thread_messages_inbound_key"),
    )
    with op.batch_alter_table("thread_messages", schema=None) as batch_op:
        batch_op.create_index("ix_thread_messages_business_id", ["business_id"], unique=False)
        batch_op.create_index("ix_thread_messages_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_thread_messages_lead_id", ["lead_id"], unique=False)
        batch_op.create_index("ix_thread_messages_match_created", ["match_id", "created_at"], unique=False)
    rls.enable(op, "thread_messages")


def downgrade() -> None:
    rls.disable(op, "thread_messages")
    with op.batch_alter_table("thread_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_thread_messages_match_created")
        batch_op.drop_index("ix_thread_messages_lead_id")
        batch_op.drop_index("ix_thread_messages_created_at")
        batch_op.drop_index("ix_thread_messages_business_id")
    op.drop_table("thread_messages")
