"""Every setting LeadApp reads, in one place (mirrored in .env.example)."""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[2]

# The PostgreSQL driver LeadApp installs (psycopg 3). SQLAlchemy reads a bare `postgresql://` URL as
# psycopg2, which is not installed, and does not know `postgres://` (Heroku/Render style) at all.
_POSTGRES_SCHEMES = ("postgresql://", "postgres://")
DEFAULT_SECRET_KEY = "dev-insecure-change-me"
"""The development SECRET_KEY everyone can read in this repository: a production deployment refuses it."""
_PSYCOPG_SCHEME = "postgresql+psycopg://"


def psycopg_url(url: str) -> str:
    """`url` with a bare `postgresql://` or `postgres://` scheme turned into `postgresql+psycopg://`;
    any other URL (SQLite, an explicit driver) unchanged."""
    for scheme in _POSTGRES_SCHEMES:
        if url.startswith(scheme):
            return _PSYCOPG_SCHEME + url[len(scheme) :]
    return url


class Settings(BaseSettings):
    """Configuration from environment variables (and an optional `.env` file)."""

    model_config = SettingsConfigDict(env_file=ROOT / ".env", env_file_encoding="utf-8", extra="ignore")

    # Core
    environment: str = Field("development", description="development | test | production")
    secret_key: str = Field(DEFAULT_SECRET_KEY, description="Signs tokens and links; set in production")
    database_url: str = Field(f"sqlite:///{ROOT / 'var' / 'leadapp.db'}")
    database_owner_url: str = Field(
        "", description="PostgreSQL: migrations connect as this role (it owns the tables); empty = DATABASE_URL"
    )
    database_manage_roles: bool = Field(
        True,
        description="PostgreSQL: when DATABASE_URL is a superuser and DATABASE_OWNER_URL is empty, `make run` creates "
        "<db>_owner (migrations) and <db>_app (the programs: owns no table, no BYPASSRLS) and uses them",
    )
    redis_url: str = Field("redis://127.0.0.1:6379/0")
    private_redis_port: int = Field(6390, description="Port of the Redis `make run` starts when REDIS_URL is unset")
    redis_prefix: str = Field("leadapp", description="Prefix of every Redis key and channel")
    log_level: str = "INFO"
    log_json: bool = False
    sentry_dsn: str = ""

    # Public addresses
    app_url: str = Field("http://localhost:3000", description="Where users reach the web app")
    web_port: int = Field(3000, description="Front end (and, in prod mode, the whole app)")
    backend_port: int = Field(8000, description="Reflex backend in dev mode")
    reflex_state_in_redis: bool = Field(False, description="Keep Reflex page state in Redis (several web workers)")
    voice_bridge_url: str = Field("http://127.0.0.1:8765", description="Bridge address for health checks")
    voice_bridge_public_url: str = Field("https://voice.example.invalid", description="Public URL Twilio calls")
    voice_bridge_port: int = 8765
    bridge_drain_seconds: float = Field(
        30.0, ge=0, description="On SIGTERM the bridge takes no new stream and waits this long for calls in progress"
    )
    voice_bridge_loop_stats: bool = Field(
        False,
        description="The bridge measures its event loop (lag, socket writes per turn, GC pauses): GET /debug/loop "
        "and a loop_stats log line at exit; off in production",
    )

    # Accounts
    session_ttl_hours: int = 24 * 14
    password_hash_time_cost: int = Field(3, description="Argon2id passes (RFC 9106 / argon2-cffi default: 3)")
    password_hash_memory_kib: int = Field(65536, description="Argon2id memory in KiB (default 64 MiB)")
    login_max_failures: int = Field(5, description="Log-in attempts per (email, client IP) per LOGIN_WINDOW_MINUTES")
    login_window_minutes: int = 15
    login_email_max_per_hour: int = Field(
        20, description="Log-in attempts per email per hour from all addresses together (slower, global)"
    )
    login_ip_max_attempts: int = Field(30, description="Log-in attempts per client IP per LOGIN_WINDOW_MINUTES")
    reset_requests_per_hour: int = Field(3, description="'Forgot password?' requests per (email, client IP) per hour")
    reset_requests_per_ip_per_hour: int = Field(20, description="'Forgot password?' requests per client IP per hour")
    verification_emails_per_hour: int = Field(5, description="Verification links one account may ask for per hour")
    intake_per_ip_per_hour: int = Field(5, description="Accepted service requests per client IP per hour")
    contact_per_ip_per_hour: int = Field(5, description="Contact-form messages per client IP per hour")
    trusted_proxies: str = Field(
        "",
        description="Addresses/CIDRs of your own reverse proxies, comma-separated (e.g. 10.0.0.0/8); only from them "
        "is X-Forwarded-For believed, and the client is its right-most address that is not one of them; "
        "empty = the socket peer is the client",
    )
    webhooks_allow_loopback: bool = Field(
        False,
        description="Let a partner's webhook URL point at this machine (127.0.0.1, ::1, localhost), over http too: "
        "local development and tests only; other private, link-local and reserved addresses are always refused",
    )
    access_row_checks_off: bool = Field(
        False,
        description="TEST ONLY (refused unless ENVIRONMENT=test): skip the access layer's row checks, to show that "
        "PostgreSQL row-level security alone keeps tenants apart",
    )

    interview_max_turns: int = Field(40, description="Answers one guided interview may take")
    interview_turns_per_ip_per_hour: int = Field(
        120, description="Guided-interview answers per client IP per hour (each may cost a Claude call)"
    )
    interview_retention_hours: int = Field(
        24, description="Guided interviews untouched this long are deleted (their answers hold contact details)"
    )

    # Worker
    worker_heartbeat_seconds: int = 30
    worker_heartbeat_stale_seconds: int = 120

    # Calls
    calling_hours_start: int = Field(9, description="Local hour calls may start (the consumer's ZIP time zone)")
    calling_hours_end: int = Field(21, description="Local hour calls must end by (24 = midnight)")
    media_stream_token_key: str = Field(
        "", description="Key of the per-call media-stream tokens; empty = derived from SECRET_KEY"
    )
    media_stream_token_ttl_seconds: int = Field(
        900, description="How long after the call's TwiML is made its media stream may start"
    )
    attachments_dir: str = Field(
        str(ROOT / "var" / "attachments"), description="Where photos sent in conversations are kept"
    )
    attachments_s3_bucket: str = Field(
        "", description="S3-compatible bucket for conversation photos; empty = kept under ATTACHMENTS_DIR"
    )
    attachments_s3_endpoint_url: str = Field(
        "", description="Endpoint of an S3-compatible store (MinIO, R2, ...); empty = AWS S3 itself"
    )
    attachments_s3_region: str = Field("", description="Region of the bucket; empty = us-east-1 (R2: auto)")
    attachments_s3_access_key_id: str = Field(
        "", description="Access key of the bucket; empty = the SDK's own chain (AWS_* variables, an instance role)"
    )
    attachments_s3_secret_access_key: str = Field("", description="Secret of ATTACHMENTS_S3_ACCESS_KEY_ID", repr=False)
    recordings_dir: str = Field(
        str(ROOT / "var" / "recordings"), description="Where simulated calls (no Twilio keys) keep their recordings"
    )

    # Phones: who may be called and texted, and how much
    supported_phone_regions: str = Field(
        "US,CA", description="Countries (ISO codes, comma-separated) whose numbers are accepted, called and texted"
    )
    phone_code_ttl_seconds: int = Field(600, description="How long an SMS verification code works")
    phone_code_max_attempts: int = Field(5, description="Wrong entries of one code before it stops working")
    phone_codes_per_hour: int = Field(3, description="Verification codes sent to one number (and one request) an hour")
    ai_calls_per_day: int = Field(500, description="AI calls placed by the whole platform in 24 hours (callbacks too)")
    ai_calls_per_business_per_day: int = Field(
        50, description="AI calls one business's leads get in 24 hours (its requests and its consumers' callbacks)"
    )
    sms_per_day: int = Field(2000, description="Text messages the whole platform sends in 24 hours")
    sms_per_business_per_day: int = Field(200, description="Text messages about one business sent in 24 hours")

    # Providers (empty = local stand-in)
    anthropic_api_key: str = ""
    anthropic_base_url: str = ""
    anthropic_model: str = "claude-sonnet-5-5"
    openai_api_key: str = ""
    openai_base_url: str = ""
    openai_realtime_model: str = "gpt-realtime"
    # gpt-realtime's list prices, USD per million tokens: a call's AI cost is its `response.done` usage at these
    realtime_text_in_usd_per_mtok: float = Field(4.0, description="Realtime text input tokens, USD per million")
    realtime_text_cached_usd_per_mtok: float = Field(0.4, description="Realtime cached text input, USD per million")
    realtime_text_out_usd_per_mtok: float = Field(16.0, description="Realtime text output tokens, USD per million")
    realtime_audio_in_usd_per_mtok: float = Field(32.0, description="Realtime audio input tokens, USD per million")
    realtime_audio_cached_usd_per_mtok: float = Field(0.4, description="Realtime cached audio input, USD per million")
    realtime_audio_out_usd_per_mtok: float = Field(64.0, description="Realtime audio output tokens, USD per million")
    transfer_ring_seconds: int = Field(
        20, ge=5, le=120, description="How long the owner's phone rings on a warm transfer before a callback is booked"
    )
    simulated_owner_answers: bool = Field(
        True, description="On the simulated line, whether the simulated owner answers a warm transfer"
    )
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from_number: str = ""
    twilio_api_base: str = ""
    sendgrid_api_key: str = ""
    sendgrid_host: str = ""
    provider_timeout_seconds: float = Field(
        20.0, gt=0, description="Upper bound of one email/SMS/telephony provider call (well below the job timeout)"
    )
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_use_tls: bool = Field(
        True, description="STARTTLS before logging in or sending (a server that does not offer it gets nothing)"
    )
    email_from: str = "LeadApp <no-reply@leadapp.local>"
    inbound_email_domain: str = Field(
        "",
        description="Domain whose mail SendGrid Inbound Parse posts to us: message emails reply to "
        "reply+<signed token>@ it (empty: the emails carry no reply address)",
    )
    inbound_email_secret: str = Field(
        "",
        description="Path secret of the Inbound Parse webhook URL (/api/inbound/email/<secret>); empty: the "
        "webhook refuses every post",
    )
    google_places_api_key: str = ""
    google_places_base_url: str = "https://places.googleapis.com"
    turnstile_site_key: str = ""
    turnstile_secret_key: str = ""
    turnstile_verify_url: str = "https://challenges.cloudflare.com/turnstile/v0/siteverify"

    # Demo data
    seed_demo: bool = True
    demo_password: str = Field("demo-password-123", description="Password of the seeded demo accounts")

    @field_validator("database_url", "database_owner_url")
    @classmethod
    def _use_psycopg(cls, url: str) -> str:
        return psycopg_url(url)

    @model_validator(mode="after")
    def _row_checks_only_off_in_tests(self) -> Settings:
        if self.access_row_checks_off and self.environment != "test":
            raise ValueError(
                "ACCESS_ROW_CHECKS_OFF=true is for tests only (it turns the access layer's row checks off); "
                "remove it, or set ENVIRONMENT=test in a test deployment"
            )
        return self

    def production_problems(self) -> list[str]:
        """With ENVIRONMENT=production, each setting left at a value that is only safe on a developer's machine,
        as a sentence naming the setting and how to fix it; empty otherwise (and in every other environment)."""
        if self.environment != "production":
            return []
        problems = []
        if self.secret_key in (DEFAULT_SECRET_KEY, ""):
            problems.append(
                "SECRET_KEY is the development default: anyone who reads this "
                "repository can forge login, tracking and reset links. Set SECRET_KEY to a long random value, e.g. "
                "the output of `python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
            )
        if self.seed_demo:
            problems.append(
                "SEED_DEMO is on: the demo accounts (admin included) would be created with a published password. "
                "Set SEED_DEMO=false and create your admin with `make admin EMAIL=… PASSWORD=…`."
            )
        if self.twilio_account_sid and not self.twilio_auth_token:
            problems.append(
                "TWILIO_ACCOUNT_SID is set but TWILIO_AUTH_TOKEN is empty: calls cannot be placed and no webhook "
                "signature can be checked. Set TWILIO_AUTH_TOKEN to the account's auth token (Twilio console), "
                "or remove TWILIO_ACCOUNT_SID to use the simulated calls."
            )
        if self.inbound_email_secret and len(self.inbound_email_secret) < 24:
            problems.append(
                "INBOUND_EMAIL_SECRET is shorter than 24 characters: the inbound email address could be guessed and "
                "replies forged into conversations. Set it to a long random value, e.g. the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`."
            )
        if self.attachments_s3_bucket and bool(self.attachments_s3_access_key_id) != bool(
            self.attachments_s3_secret_access_key
        ):
            problems.append(
                "ATTACHMENTS_S3_ACCESS_KEY_ID and ATTACHMENTS_S3_SECRET_ACCESS_KEY go together, and only one is set: "
                "no photo can be stored or shown. Set both (the bucket's access key), or neither to use the SDK's "
                "own credentials (an instance role)."
            )
        if self.webhooks_allow_loopback:
            problems.append(
                "WEBHOOKS_ALLOW_LOOPBACK is on: a partner's webhook could be pointed at services on this machine. "
                "Set WEBHOOKS_ALLOW_LOOPBACK=false."
            )
        return problems

    @property
    def migration_url(self) -> str:
        """Where migrations connect: the tables' owner (DATABASE_OWNER_URL), else DATABASE_URL."""
        return self.database_owner_url or self.database_url

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def attachments_path(self) -> Path:
        """ATTACHMENTS_DIR as a directory (a relative one is taken from the project root)."""
        path = Path(self.attachments_dir)
        return path if path.is_absolute() else ROOT / path

    @property
    def recordings_path(self) -> Path:
        """RECORDINGS_DIR as a directory (a relative one is taken from the project root)."""
        path = Path(self.recordings_dir)
        return path if path.is_absolute() else ROOT / path


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests call `get_settings.cache_clear()`)."""
    return Settings()


def production_refusal(program: str) -> str | None:
    """The message a program prints instead of starting when `production_problems` lists anything, else None.
    Every program (web, worker, voice bridge, launcher) asks before it serves anything."""
    problems = get_settings().production_problems()
    if not problems:
        return None
    lines = "\n".join(f"  - {problem}" for problem in problems)
    return f"LeadApp {program} refuses to start with ENVIRONMENT=production:\n{lines}"


def refuse_insecure_production(program: str) -> None:
    """Exit (status 2, the message on stderr) when `production_refusal` has something to say."""
    message = production_refusal(program)
    if message:
        print(message, file=sys.stderr, flush=True)
        raise SystemExit(2)
