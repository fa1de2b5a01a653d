"""baseline: the whole schema in one revision

LeadApp had not shipped when its first fifteen revisions (0001 … spanish) were folded into this one (issue 13):
every database then was made by `make run` or the tests. This revision keeps the id of the last of them
("spanish"), so a database already at head stays current; a database at one of the earlier ids predates the
baseline and must be re-created (`python -m leadapp.cli migrate` says so; the ids are
`leadapp.core.migration_history.RETIRED_REVISIONS`).

It creates what those revisions made, on SQLite and PostgreSQL alike: every table with its columns (in the
same order), defaults, keys, foreign keys and indexes. Two conventions shape the helpers below: a table's key
is an integer `id` (`_table` adds it), and a reference (`_ref`) that must be set cascades the parent's delete
while an optional one is cleared (SET NULL).

On PostgreSQL every tenant table is then walled with row-level security, enabled and forced, with the
policies of its kind in `leadapp.core.rls.TENANT_TABLES` and the functions they call; on SQLite that part is
skipped (there the access layer's filters are the only wall).

Notifications' recipient, bodies and last error, and interview sessions' messages and extracted answers, are
text columns: the application stores them encrypted.

Revision ID: spanish
Revises:
Create Date: 2026-12-07 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

from alembic import op
from leadapp.core import rls

revision: str = "spanish"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The walled tables (the policy of each is its kind in `rls.TENANT_TABLES`), named here so that a table added
# by a later revision is walled by that revision.
WALLED = (
    "leads",
    "matches",
    "conversions",
    "quotes",
    "thread_messages",
    "reviews",
    "calls",
    "transcript_lines",
    "call_metrics",
    "notifications",
    "interview_sessions",
    "businesses",
    "webhook_deliveries",
)

# Per-call counters of `call_metrics`, each an integer starting at 0.
CALL_COUNTS = (
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

# Every table, in the order `upgrade` creates them (a table after those it references); the downgrade drops
# them in reverse.
TABLES = (
    *("users", "contact_messages", "sms_opt_outs", "audit_events", "audit_reports", "auth_sessions"),
    *("password_resets", "email_verifications", "platform_rules", "api_keys"),
    *("businesses", "prospects", "invitations"),
    *("leads", "matches", "conversions"),
    *("calls", "transcript_lines", "call_metrics", "do_not_call"),
    *("interview_sessions", "notifications", "quotes", "reviews", "thread_messages", "webhook_deliveries"),
)


# --- columns ------------------------------------------------------------------------------------------------


def _str(name: str, length: int, *, null: bool = False, unique: bool = False, default: str | None = None) -> sa.Column:
    return sa.Column(name, AutoString(length=length), nullable=null, unique=unique, server_default=default)


def _int(name: str, *, null: bool = False, default: str | None = None) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=null, server_default=default)


def _float(name: str, *, null: bool = False) -> sa.Column:
    return sa.Column(name, sa.Float(), nullable=null)


def _bool(name: str, *, null: bool = False, default: bool | None = None) -> sa.Column:
    server_default = None if default is None else (sa.true() if default else sa.false())
    return sa.Column(name, sa.Boolean(), nullable=null, server_default=server_default)


def _json(name: str, *, null: bool = False, default: str | None = None) -> sa.Column:
    return sa.Column(name, sa.JSON(), nullable=null, server_default=None if default is None else sa.text(default))


def _text(name: str, *, default: str | None = None) -> sa.Column:
    """Unbounded text (e.g. an encrypted value)."""
    return sa.Column(name, sa.Text(), nullable=False, server_default=default)


def _at(name: str, *, null: bool = True) -> sa.Column:
    """A moment (UTC); optional unless said otherwise."""
    return sa.Column(name, UTCDateTime(), nullable=null)


def _created_at() -> sa.Column:
    return _at("created_at", null=False)


def _ref(name: str, table: str, *, null: bool = True, fk_name: str | None = None) -> sa.Column:
    """A reference to `table`.id: a required one goes with its parent, an optional one is cleared."""
    target = sa.ForeignKey(f"{table}.id", ondelete="SET NULL" if null else "CASCADE", name=fk_name)
    return sa.Column(name, sa.Integer(), target, nullable=null)


# --- tables -------------------------------------------------------------------------------------------------


def _table(
    name: str,
    *items: sa.Column | sa.Constraint,
    index: Sequence[str | tuple[str, ...]] = (),
    unique_index: Sequence[str] = (),
    key: str | None = "id",
) -> None:
    """Create table `name` with an integer `id` key first (unless `key` names another column), then its indexes:
    a column name is indexed as `ix_<table>_<column>`, a tuple is `(index name, *columns)`."""
    head = [sa.Column("id", sa.Integer(), nullable=False)] if key == "id" else []
    op.create_table(name, *head, *items, sa.PrimaryKeyConstraint(key or "id"))
    for spec, unique in [*((s, False) for s in index), *((s, True) for s in unique_index)]:
        index_name, *columns = (f"ix_{name}_{spec}", spec) if isinstance(spec, str) else spec
        op.create_index(index_name, name, columns, unique=unique)


def upgrade() -> None:
    _accounts()
    _businesses()
    _leads()
    _calls()
    _messages()
    if op.get_bind().dialect.name == "postgresql":
        for statement in rls.functions_sql():
            op.execute(statement)
    rls.enable(op, *WALLED)


def downgrade() -> None:
    rls.disable(op, *WALLED)
    if op.get_bind().dialect.name == "postgresql":
        for statement in rls.drop_functions_sql():
            op.execute(statement)
    for name in reversed(TABLES):
        op.drop_table(name)


def _accounts() -> None:
    _table(
        "users",
        _str("email", 320),
        _str("password_hash", 255),
        _str("role", 32),
        _str("full_name", 200),
        _str("phone", 32),
        _bool("is_active"),
        _created_at(),
        _at("updated_at", null=False),
        _at("last_login_at"),
        _at("disabled_at"),
        _at("email_verified_at"),
        _str("time_zone", 64, default="UTC"),
        index=("created_at", "role"),
        unique_index=("email",),
    )
    _table(
        "contact_messages",
        _str("name", 200),
        _str("email", 320),
        _str("subject", 200),
        _str("body", 5000),
        _str("status", 16),
        _str("ip", 64),
        _created_at(),
        _at("read_at"),
        _at("answered_at"),
        index=("created_at", ("ix_contact_status_created", "status", "created_at")),
    )
    _table(
        "sms_opt_outs",
        _str("phone_hash", 64, unique=True),
        _at("opted_out_at", null=False),
        index=("opted_out_at",),
    )
    _table(
        "audit_events",
        _ref("actor_id", "users"),
        _str("action", 64),
        _str("target_type", 32),
        _str("target_id", 64),
        _json("before", null=True),
        _json("after", null=True),
        _str("ip", 64),
        _created_at(),
        index=(
            ("ix_audit_action_created", "action", "created_at"),
            "actor_id",
            "created_at",
            ("ix_audit_target", "target_type", "target_id"),
        ),
    )
    _table(
        "audit_reports",
        _at("period_start", null=False),
        _at("period_end", null=False),
        _json("figures"),
        _json("flags"),
        _json("recommendations"),
        _str("markdown", 100000),
        _str("narrator", 16),
        _ref("created_by_id", "users"),
        _created_at(),
        index=("created_at",),
    )
    _table(
        "auth_sessions",
        _ref("user_id", "users", null=False),
        _str("token_hash", 64),
        _created_at(),
        _at("expires_at", null=False),
        _at("last_seen_at", null=False),
        _at("revoked_at"),
        _str("user_agent", 400),
        _str("ip", 64),
        index=("created_at", ("ix_auth_sessions_user_active", "user_id", "revoked_at")),
        unique_index=("token_hash",),
    )
    _table(
        "password_resets",
        _ref("user_id", "users", null=False),
        _str("token_hash", 64, unique=True),
        _created_at(),
        _at("expires_at", null=False),
        _at("used_at"),
        _ref("requested_by_id", "users"),
        index=("created_at", "user_id"),
    )
    _table(
        "email_verifications",
        _ref("user_id", "users", null=False),
        _str("email", 320),
        _str("token_hash", 64, unique=True),
        _created_at(),
        _at("expires_at", null=False),
        _at("used_at"),
        index=("user_id", "created_at"),
    )
    _table(
        "platform_rules",
        _int("version"),
        _json("rules"),
        _str("note", 500),
        _int("rolled_back_from", null=True),
        _ref("created_by_id", "users"),
        _created_at(),
        index=("created_at",),
        unique_index=("version",),
    )
    _table(
        "api_keys",
        _str("name", 100),
        _str("token_hash", 64, unique=True),
        _str("token_prefix", 16),
        _int("per_minute"),
        _ref("created_by_id", "users"),
        _created_at(),
        _at("revoked_at"),
        _ref("revoked_by_id", "users"),
        _at("last_used_at"),
        _str("webhook_url", 2000, default=""),
        _text("webhook_secret", default=""),
        index=("created_at",),
    )


def _businesses() -> None:
    _table(
        "businesses",
        _ref("owner_id", "users", null=False),
        _str("name", 200),
        _str("description", 2000),
        _json("categories"),
        _str("address", 300),
        _str("city", 120),
        _str("state", 2),
        _str("zip", 10),
        _float("latitude", null=True),
        _float("longitude", null=True),
        _float("radius_miles"),
        _float("rating"),
        _int("review_count"),
        _int("years_in_business"),
        _str("price_tier", 16),
        _bool("licensed"),
        _bool("insured"),
        _bool("emergency_service"),
        _json("tags"),
        _str("notify_email", 320),
        _str("notify_phone", 32),
        _json("notify_channels"),
        _json("hours"),
        _str("voice", 32),
        _str("call_objective_notes", 4000),
        _str("inbound_number", 32, null=True, unique=True),
        _str("plan", 16),
        _int("monthly_lead_cap"),
        _int("max_open_leads", null=True),
        _bool("paused"),
        _bool("is_active"),
        _float("response_rate", null=True),
        _float("avg_response_minutes", null=True),
        _created_at(),
        _at("updated_at", null=False),
        _str("inbound_number_sid", 64, null=True),
        _json("inbound_previous", null=True),
        _at("inbound_connected_at"),
        _at("verified_at"),
        _ref("verified_by_id", "users", fk_name="fk_businesses_verified_by_id_users"),
        _int("verified_review_count", default="0"),
        _int("verified_stars_total", default="0"),
        _json("languages", default="'[\"en\"]'"),
        index=(
            "created_at",
            ("ix_businesses_location", "latitude", "longitude"),
            ("ix_businesses_matchable", "is_active", "paused", "zip"),
            "owner_id",
        ),
    )
    _table(
        "prospects",
        _str("source", 16),
        _str("place_id", 200, unique=True),
        _str("name", 200),
        _str("phone", 32),
        _str("email", 320),
        _str("website", 500),
        _str("address", 300),
        _str("zip", 10),
        _str("category", 32),
        _float("rating", null=True),
        _int("review_count"),
        _bool("open_now", null=True),
        _str("status", 16),
        _str("disqualify_reason", 300),
        _ref("business_id", "businesses"),
        _created_at(),
        index=("created_at", ("ix_prospects_zip_category", "zip", "category")),
    )
    _table(
        "invitations",
        _ref("prospect_id", "prospects", null=False),
        _str("email", 320),
        _str("token_hash", 64, unique=True),
        _at("sent_at"),
        _int("followups_sent"),
        _at("next_followup_at"),
        _at("clicked_at"),
        _at("activated_at"),
        _at("unsubscribed_at"),
        _str("stopped_reason", 100),
        _ref("created_by_id", "users"),
        _created_at(),
        index=("created_at", "prospect_id"),
    )


def _leads() -> None:
    _table(
        "leads",
        _ref("consumer_id", "users"),
        _ref("business_id", "businesses"),
        _str("source", 16),
        _str("raw_text", 5000),
        _str("contact_name", 200),
        _str("contact_email", 320),
        _str("contact_phone_enc", 512),
        _str("contact_phone_hash", 64),
        _str("contact_phone_last4", 4),
        _str("preferred_contact", 16),
        _str("zip", 10),
        _bool("consent_ai_calls"),
        _at("consent_at"),
        _str("consent_text", 1000),
        _str("client_ip", 64),
        _str("idempotency_key", 200, null=True, unique=True),
        _str("category", 32, null=True),
        _str("urgency", 16, null=True),
        _int("budget_min", null=True),
        _int("budget_max", null=True),
        _str("location_zip", 10, null=True),
        _json("key_requirements"),
        _str("sentiment", 16, null=True),
        _float("quality_score", null=True),
        _bool("is_spam"),
        _str("spam_reason", 500),
        _bool("flagged"),
        _str("flag_reason", 500),
        _str("classifier", 32),
        _int("rules_version", null=True),
        _json("qualification", null=True),
        _str("status", 16),
        _int("attempts"),
        _created_at(),
        _at("updated_at", null=False),
        _at("classified_at"),
        _at("matched_at"),
        _at("withdrawn_at"),
        _at("deleted_at"),
        _at("purge_after"),
        _at("released_at"),
        _str("redacted_text", 10000),
        _str("idempotency_fingerprint", 64, default=""),
        _at("phone_verified_at"),
        _ref("api_key_id", "api_keys", fk_name="fk_leads_api_key_id_api_keys"),
        _str("routing", 16, default="broadcast"),
        _at("next_wave_at"),
        _str("language", 8, default="en"),
        index=(
            "category",
            ("ix_leads_consumer_created", "consumer_id", "created_at"),
            "created_at",
            ("ix_leads_flagged", "flagged", "created_at"),
            ("ix_leads_phone_hash", "contact_phone_hash"),
            ("ix_leads_status_created", "status", "created_at"),
            "api_key_id",
            "next_wave_at",
        ),
    )
    _table(
        "matches",
        _ref("lead_id", "leads", null=False),
        _ref("business_id", "businesses", null=False),
        _float("score"),
        _float("distance_miles", null=True),
        _json("reasons"),
        _str("status", 16),
        _str("decline_message", 1000),
        _created_at(),
        _at("notified_at"),
        _at("viewed_at"),
        _at("responded_at"),
        _json("points", null=True),
        sa.UniqueConstraint("lead_id", "business_id", name="uq_matches_lead_business"),
        index=(
            ("ix_matches_business_created", "business_id", "created_at"),
            ("ix_matches_business_status_created", "business_id", "status", "created_at"),
            "created_at",
            "lead_id",
        ),
    )
    _table(
        "conversions",
        _ref("lead_id", "leads", null=False),
        _ref("business_id", "businesses", null=False),
        _ref("match_id", "matches"),
        _int("job_value_cents"),
        _str("note", 1000),
        _ref("created_by_id", "users"),
        _created_at(),
        index=("business_id", "created_at", "lead_id"),
    )


def _calls() -> None:
    _table(
        "calls",
        _ref("lead_id", "leads"),
        _ref("business_id", "businesses"),
        _ref("requested_by_id", "users"),
        _str("call_type", 32),
        _str("direction", 16),
        _str("objective", 2000),
        _str("to_number_enc", 512),
        _str("to_number_hash", 64),
        _str("from_number", 32),
        _str("status", 16),
        _str("outcome", 16, null=True),
        _str("answered_by", 32, null=True),
        _str("provider", 16),
        _str("provider_call_sid", 64, null=True, unique=True),
        _at("consent_at"),
        _ref("consent_lead_id", "leads"),
        _int("attempt"),
        _ref("retry_of_id", "calls"),
        _at("scheduled_for"),
        _at("started_at"),
        _at("answered_at"),
        _at("ended_at"),
        _int("duration_seconds", null=True),
        _str("summary", 8000),
        _json("qualification", null=True),
        _bool("human_callback_requested"),
        _str("recording_ref", 500),
        _int("recording_seconds", null=True),
        _float("cost_carrier_cents"),
        _float("cost_realtime_cents"),
        _float("cost_summary_cents"),
        _float("cost_total_cents"),
        _str("error", 1000),
        _created_at(),
        _at("updated_at", null=False),
        _at("human_callback_handled_at"),
        _at("recording_purge_at"),
        _str("media_stream_sid", 64, null=True),
        _bool("cost_carrier_reported", default=False),
        index=(
            ("ix_calls_business_created", "business_id", "created_at"),
            "created_at",
            "lead_id",
            ("ix_calls_number_created", "to_number_hash", "created_at"),
            ("ix_calls_status_scheduled", "status", "scheduled_for"),
        ),
    )
    _table(
        "transcript_lines",
        _ref("call_id", "calls", null=False),
        _int("seq"),
        _str("speaker", 16),
        _str("item_id", 64, null=True),
        _str("text", 8000),
        _int("heard_ms", null=True),
        _created_at(),
        sa.UniqueConstraint("call_id", "item_id", name="uq_transcript_call_item"),
        index=(("ix_transcript_call_seq", "call_id", "seq"), "created_at"),
    )
    _table(
        "call_metrics",
        _ref("call_id", "calls", null=False),
        *(_int(name, default="0") for name in CALL_COUNTS),
        _int("turn_latency_p50_ms", null=True),
        _int("turn_latency_p95_ms", null=True),
        _json("turn_latencies_ms"),
        _float("bridge_latency_p50_ms", null=True),
        _float("bridge_latency_p95_ms", null=True),
        _float("bridge_latency_max_ms", null=True),
        _bool("ai_cost_from_usage", default=False),
        _created_at(),
        key="call_id",
        index=("created_at",),
    )
    _table(
        "do_not_call",
        _str("phone_hash", 64, unique=True),
        _str("phone_display", 32),
        _str("reason", 500),
        _str("source", 32),
        _ref("created_by_id", "users"),
        _created_at(),
        _str("wording", 500),
        _ref("call_id", "calls", fk_name="fk_do_not_call_call_id_calls"),
        _ref("lead_id", "leads", fk_name="fk_do_not_call_lead_id_leads"),
        index=("created_at",),
    )


def _messages() -> None:
    _table(
        "interview_sessions",
        _str("owner_token_hash", 64),
        _ref("user_id", "users"),
        _text("messages"),
        _text("extracted"),
        _str("status", 16),
        _ref("lead_id", "leads"),
        _created_at(),
        _at("updated_at", null=False),
        index=("created_at", "owner_token_hash", "user_id"),
    )
    _table(
        "notifications",
        _str("kind", 32),
        _str("channel", 8),
        _text("recipient"),
        _str("subject", 300),
        _text("body_text"),
        _text("body_html"),
        _str("status", 16),
        _int("attempts"),
        _text("last_error"),
        _str("provider", 16),
        _str("provider_id", 200),
        _str("dedupe_key", 200, unique=True),
        _ref("lead_id", "leads"),
        _ref("match_id", "matches"),
        _ref("business_id", "businesses"),
        _ref("user_id", "users"),
        _created_at(),
        _at("sent_at"),
        index=(
            ("ix_notifications_business_created", "business_id", "created_at"),
            "created_at",
            ("ix_notifications_lead", "lead_id"),
            ("ix_notifications_status_created", "status", "created_at"),
        ),
    )
    _table(
        "quotes",
        _ref("lead_id", "leads", null=False),
        _ref("business_id", "businesses", null=False),
        _ref("match_id", "matches", null=False),
        _int("amount_min_cents"),
        _int("amount_max_cents"),
        _str("included", 2000),
        sa.Column("valid_until", sa.Date(), nullable=False),
        _at("expires_at", null=False),
        _at("visit_at"),
        _str("status", 16),
        _ref("created_by_id", "users"),
        _created_at(),
        _at("decided_at"),
        index=(
            "business_id",
            "created_at",
            ("ix_quotes_lead_status", "lead_id", "status"),
            "match_id",
            ("ix_quotes_status_expires", "status", "expires_at"),
        ),
    )
    _table(
        "reviews",
        _ref("conversion_id", "conversions", null=False),
        _ref("lead_id", "leads", null=False),
        _ref("business_id", "businesses", null=False),
        _ref("consumer_id", "users"),
        _int("stars"),
        _str("text", 2000),
        _created_at(),
        _str("reply", 2000),
        _at("replied_at"),
        _ref("replied_by_id", "users"),
        _at("hidden_at"),
        _str("hidden_reason", 500),
        _ref("hidden_by_id", "users"),
        sa.UniqueConstraint("conversion_id"),
        index=(("ix_reviews_business_visible", "business_id", "hidden_at"), "lead_id", "created_at"),
    )
    _table(
        "thread_messages",
        _ref("match_id", "matches", null=False),
        _ref("lead_id", "leads", null=False),
        _ref("business_id", "businesses", null=False),
        _str("side", 16),
        _ref("author_id", "users"),
        _str("body", 2000),
        _str("channel", 16),
        _str("inbound_key", 200, null=True),
        _str("photo_ref", 200),
        _str("photo_type", 32),
        _int("photo_bytes"),
        _created_at(),
        sa.UniqueConstraint("inbound_key", name="uq_thread_messages_inbound_key"),
        index=(
            "business_id",
            "created_at",
            "lead_id",
            ("ix_thread_messages_match_created", "match_id", "created_at"),
        ),
    )
    _table(
        "webhook_deliveries",
        _str("webhook_id", 64, unique=True),
        _ref("api_key_id", "api_keys", null=False),
        _ref("lead_id", "leads"),
        _str("event", 32),
        _str("dedupe_key", 100, unique=True),
        _json("payload"),
        _str("status", 16),
        _int("attempts"),
        _str("last_error", 500),
        _int("last_status_code", null=True),
        _created_at(),
        _at("claimed_at"),
        _at("next_try_at"),
        _at("delivered_at"),
        index=("api_key_id", "lead_id", "created_at", ("ix_webhook_deliveries_status_created", "status", "created_at")),
    )
