"""per-call quality analytics: one `call_metrics` row per call, written by the voice bridge when the call ends

Turn latency p50/p95, interruptions, talk times, the longest silence, the bridge's own added latency and the
realtime token usage (from which the call's AI cost is computed) and whether that cost came from it;
`calls.cost_carrier_reported` says the carrier cost is Twilio's reported price, not the per-minute estimate.
On PostgreSQL the table is walled like the transcript lines: whoever sees the call sees its metrics.

Revision ID: quality
Revises: messages
Create Date: 2026-12-06 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from leadapp.core import rls

revision: str = "quality"
down_revision: str | None = "messages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = (
    "turns",
    "interruptions",
    "assistant_talk_ms",
    "caller_talk_ms",
    "longest_silence_ms",
    "audio_frames",
    "text_in_tokens",
    "text_cached_tokens",
    "text_out_tokens",
    "audio_in_tokens",
    "audio_cached_tokens",
    "audio_out_tokens",
)


def upgrade() -> None:
    op.create_table(
        "call_metrics",
        sa.Column("call_id", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False, server_default="0") for name in COUNTS),
        sa.Column("turn_latency_p50_ms", sa.Integer(), nullable=True),
        sa.Column("turn_latency_p95_ms", sa.Integer(), nullable=True),
        sa.Column("turn_latencies_ms", sa.JSON(), nullable=False),
        sa.Column("bridge_latency_p50_ms", sa.Float(), nullable=True),
        sa.Column("bridge_latency_p95_ms", sa.Float(), nullable=True),
        sa.Column("bridge_latency_max_ms", sa.Float(), nullable=True),
        sa.Column("ai_cost_from_usage", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("call_id"),
    )
    with op.batch_alter_table("call_metrics") as batch:
        batch.create_index("ix_call_metrics_created_at", ["created_at"], unique=False)
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("cost_carrier_reported", sa.Boolean(), nullable=False, server_default=sa.false()))
    rls.enable(op, "call_metrics")


def downgrade() -> None:
    rls.disable(op, "call_metrics")
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("cost_carrier_reported")
    with op.batch_alter_table("call_metrics") as batch:
        batch.drop_index("ix_call_metrics_created_at")
    op.drop_table("call_metrics")
