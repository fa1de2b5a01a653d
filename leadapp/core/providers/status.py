"""Each outside provider: configured or its local stand-in, and the last error its adapter met.

The adapters call `record_failure(provider, error)` where a provider call fails; the error is kept in Redis
(`<prefix>:provider:<name>:last_error`), not in process memory, so the admin health page shows what the worker,
the voice bridge or any web worker met. Recording never raises and never slows a failing call down for long:
Redis trouble is logged and forgotten. The stored text is bounded, and cleaned of the configured secrets and
of any phone number, email or street address (an error often quotes the recipient).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from leadapp.core.broker import get_redis, key
from leadapp.core.observability import get_logger
from leadapp.core.redaction import redact_contact
from leadapp.core.settings import Settings, get_settings

log = get_logger(__name__)

ANTHROPIC = "anthropic"
OPENAI_REALTIME = "openai_realtime"
TWILIO = "twilio"
EMAIL = "email"
GOOGLE_PLACES = "google_places"
TURNSTILE = "turnstile"
PHOTO_STORAGE = "photo_storage"
PROVIDERS: dict[str, str] = {
    ANTHROPIC: "Anthropic (Claude)",
    OPENAI_REALTIME: "OpenAI Realtime",
    TWILIO: "Twilio (calls and SMS)",
    EMAIL: "Email (SendGrid / SMTP)",
    GOOGLE_PLACES: "Google Places",
    TURNSTILE: "Cloudflare Turnstile",
    PHOTO_STORAGE: "Photo storage (S3-compatible)",
}
MAX_ERROR_CHARS = 500
KEEP_SECONDS = 30 * 24 * 3600
"""A last error older than this is forgotten (the key expires)."""


def _key(provider: str) -> str:
    return key("provider", provider, "last_error")


def _secrets(settings: Settings) -> list[str]:
    values = [
        settings.anthropic_api_key,
        settings.openai_api_key,
        settings.twilio_auth_token,
        settings.sendgrid_api_key,
        settings.smtp_password,
        settings.google_places_api_key,
        settings.turnstile_secret_key,
        settings.attachments_s3_secret_access_key,
    ]
    return [v for v in values if len(v) >= 4]


def clean_error(error: str) -> str:
    """`error` on one line, without secrets or contact details, at most MAX_ERROR_CHARS characters."""
    text = " ".join(str(error).split())
    for secret in _secrets(get_settings()):
        text = text.replace(secret, "***")
    text = redact_contact(text)
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def record_failure(provider: str, error: str, now: datetime | None = None) -> None:
    """Remember `error` as `provider`'s last error, with its time. Never raises."""
    if provider not in PROVIDERS:
        log.warning("provider_status_unknown_provider", provider=provider)
        return
    at = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    payload = json.dumps({"at": at.isoformat(), "error": clean_error(error)})
    try:
        get_redis().set(_key(provider), payload, ex=KEEP_SECONDS)
    except Exception as exc:  # Redis down: the failure is logged by the caller anyway
        log.warning("provider_status_not_recorded", provider=provider, error=repr(exc))


@dataclass(frozen=True)
class LastError:
    at: datetime
    error: str


def last_failure(provider: str) -> LastError | None:
    """`provider`'s last recorded error, or None (none recorded, unreadable, or Redis unreachable)."""
    try:
        raw = get_redis().get(_key(provider))
        if raw is None:
            return None
        data = json.loads(raw)
        return LastError(datetime.fromisoformat(data["at"]), str(data["error"]))
    except Exception as exc:
        log.warning("provider_status_not_read", provider=provider, error=repr(exc))
        return None


@dataclass(frozen=True)
class ProviderStatus:
    """One provider as the health page shows it."""

    name: str
    label: str
    configured: bool
    mode: str
    """What is in use, e.g. "Claude claude-sonnet-…" or "local classifier and templates"."""
    last_error: LastError | None


def _modes(settings: Settings) -> dict[str, tuple[bool, str]]:
    twilio = bool(settings.twilio_account_sid and settings.twilio_auth_token)
    email = [name for name, on in (("SendGrid", settings.sendgrid_api_key), ("SMTP", settings.smtp_host)) if on]
    return {
        ANTHROPIC: (
            bool(settings.anthropic_api_key),
            f"Claude {settings.anthropic_model}"
            if settings.anthropic_api_key
            else "local classifier, interviewer and message templates",
        ),
        OPENAI_REALTIME: (
            bool(settings.openai_api_key),
            f"model {settings.openai_realtime_model}"
            if settings.openai_api_key
            else "local realtime peer (simulated calls)",
        ),
        TWILIO: (
            twilio,
            ("calls and SMS" if settings.twilio_from_number else "calls; SMS needs TWILIO_FROM_NUMBER")
            if twilio
            else "simulated calls; SMS to the local outbox",
        ),
        EMAIL: (
            bool(email),
            {0: "local outbox (shown under Outbox)", 1: "".join(email), 2: "SendGrid, SMTP as backup"}[len(email)],
        ),
        GOOGLE_PLACES: (
            bool(settings.google_places_api_key),
            "Text Search (New)" if settings.google_places_api_key else "local places (made-up businesses)",
        ),
        TURNSTILE: (
            bool(settings.turnstile_secret_key and settings.turnstile_site_key),
            "anti-robot check on" if settings.turnstile_secret_key else "off (no anti-robot check)",
        ),
        PHOTO_STORAGE: (
            bool(settings.attachments_s3_bucket),
            f"bucket {settings.attachments_s3_bucket}"
            if settings.attachments_s3_bucket
            else "local directory (ATTACHMENTS_DIR)",
        ),
    }


def provider_statuses() -> list[ProviderStatus]:
    """Every provider, in a stable order: configured or local stand-in, what is used, and its last error."""
    modes = _modes(get_settings())
    return [
        ProviderStatus(name, label, modes[name][0], modes[name][1], last_failure(name))
        for name, label in PROVIDERS.items()
    ]
