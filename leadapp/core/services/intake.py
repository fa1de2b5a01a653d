"""Intake: the one door every lead comes through (form, guided interview, public API, inbound call).

Guarantees: a submission is validated completely before anything is written; an accepted lead is
committed before its pipeline job is enqueued (Redis being down only delays it: the sweeper
re-enqueues it); the same Idempotency-Key always yields the same lead.

Spam policy: a phone number matching a blocked pattern of the platform rules is refused here with a
clear message; spam keywords are not refused but make the classifier flag the lead for the admins'
spam queue (a false positive there costs a review, not a lost customer).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import httpx
import zipcodes
from email_validator import EmailNotValidError, validate_email
from limits import RateLimitItemPerHour
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from leadapp.core import client_ip as client_addresses
from leadapp.core import crypto, languages, phones, ratelimit, tasks
from leadapp.core.errors import FieldErrors, TooManyAttempts, UserError
from leadapp.core.models import Lead, utcnow
from leadapp.core.observability import get_logger
from leadapp.core.providers import status as provider_status
from leadapp.core.services import access
from leadapp.core.services.classify.language import detect_language
from leadapp.core.services.rules import RulesSnapshot, current_rules
from leadapp.core.settings import get_settings
from leadapp.core.vocab import ContactPreference, LeadSource, LeadStatus

log = get_logger(__name__)

CONSENT_TEXT = languages.phrases(None).CONSENT_TEXT  # what a form in English shows (`core.languages`)
MAX_TEXT_CHARS = 5000
_WORD = re.compile(r"[\w'’-]+", re.UNICODE)


class SubmissionInvalid(FieldErrors):
    """One or more submission fields are wrong; `errors` maps each field to its message."""


@dataclass
class Submission:
    """What a consumer sent, as typed (strings are cleaned by `validate`)."""

    text: str
    zip: str = ""
    phone: str = ""
    email: str = ""
    name: str = ""
    preferred_contact: str = ContactPreference.EMAIL.value
    consent_ai_calls: bool = False
    source: str = LeadSource.FORM.value
    idempotency_key: str | None = None
    """An internal key (interview-N, inbound-call-N), used as it is. A client's key goes in `client_key`."""
    client_key: str | None = None
    """The Idempotency-Key a client sent (the API): kept per `client_scope`, for IDEMPOTENCY_TTL."""
    client_scope: str = ""
    """Whose key it is: "api-key:<id>" for a partner's key, "ip:<address>" for an anonymous caller."""
    client_ip: str = ""
    human_verified: bool = False
    """Set by the platform's own doors that checked a Turnstile token earlier (the guided interview, at its start)."""
    api_key_id: int | None = None
    """A partner's API key the caller presented (checked by `api_keys.authenticate`): no Turnstile, no IP limit
    (the key has its own rate limit)."""
    consumer_id: int | None = None
    turnstile_token: str = ""
    business_id: int | None = None
    # The keyed hash of a number the guided interview verified with a texted code (never from an API body).
    phone_verified_hash: str = ""
    form_language: str = ""
    """The language the form was shown in (set by the request page, never from a body): the consent recorded is the
    text the consumer read (English otherwise)."""


@dataclass
class ValidSubmission:
    text: str
    zip: str
    phone_e164: str
    email: str
    name: str
    preferred_contact: str
    consent_ai_calls: bool
    warnings: list[str] = field(default_factory=list)


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def validate(sub: Submission, rules: RulesSnapshot) -> ValidSubmission:
    """Check every field and return the cleaned values; raises SubmissionInvalid listing each bad field."""
    errors: dict[str, str] = {}
    text = (sub.text or "").strip()
    language = detect_language(text)  # a request written in Spanish is told in Spanish
    w = languages.phrases(language)
    min_words = int(rules.get("min_words"))
    if word_count(text) < min_words:
        errors["text"] = w.TEXT_SHORT.format(n=min_words)
    elif len(text) > MAX_TEXT_CHARS:
        errors["text"] = w.TEXT_LONG.format(n=MAX_TEXT_CHARS)

    zip_code = (sub.zip or "").strip()
    if not re.fullmatch(r"[0-9]{5}", zip_code):
        errors["zip"] = w.ZIP_FORMAT
    elif not _zip_is_real(zip_code):
        errors["zip"] = w.ZIP_UNKNOWN.format(zip=zip_code)

    phone_e164 = ""
    if (sub.phone or "").strip():
        try:
            phone_e164 = phones.parse(sub.phone, language)
        except phones.PhoneRefused as exc:
            errors["phone"] = exc.message
        else:
            if any(re.search(p, phone_e164) for p in rules.get("blocked_phone_patterns") or []):
                errors["phone"] = w.PHONE_BLOCKED

    email = ""
    if (sub.email or "").strip():
        try:
            email = validate_email(sub.email.strip(), check_deliverability=False).normalized
        except EmailNotValidError as exc:
            errors["email"] = w.EMAIL_INVALID.format(why=exc)

    if "phone" not in errors and "email" not in errors and not phone_e164 and not email:
        errors["email"] = w.CONTACT_NEEDED

    preferred = (sub.preferred_contact or ContactPreference.EMAIL.value).strip().lower()
    if preferred not in {p.value for p in ContactPreference}:
        errors["preferred_contact"] = w.CONTACT_CHOICE
    elif preferred in (ContactPreference.PHONE, ContactPreference.SMS) and not phone_e164 and "phone" not in errors:
        errors["phone"] = w.PHONE_FOR_CONTACT
    elif preferred == ContactPreference.EMAIL and not email and "email" not in errors:
        errors["email"] = w.EMAIL_FOR_CONTACT

    if sub.consent_ai_calls and not phone_e164 and "phone" not in errors:
        errors["phone"] = w.PHONE_FOR_AI_CALLS

    name = (sub.name or "").strip()
    if len(name) > 200:
        errors["name"] = w.AT_MOST.format(n=200)
    if sub.idempotency_key is not None and not (1 <= len(sub.idempotency_key) <= 200):
        errors["idempotency_key"] = "Idempotency-Key must be 1 to 200 characters."
    if sub.client_key is not None:
        if not (1 <= len(sub.client_key) <= 200):
            errors["idempotency_key"] = "Idempotency-Key must be 1 to 200 characters."
        elif sub.client_key.lower().startswith(RESERVED_KEY_PREFIXES):
            reserved = ", ".join(f"'{p}'" for p in RESERVED_KEY_PREFIXES)
            errors["idempotency_key"] = f"Idempotency-Key may not start with {reserved} (reserved)."
    if errors:
        raise SubmissionInvalid(errors)
    return ValidSubmission(
        text=text,
        zip=zip_code,
        phone_e164=phone_e164,
        email=email,
        name=name,
        preferred_contact=preferred,
        consent_ai_calls=bool(sub.consent_ai_calls),
    )


@lru_cache(maxsize=50_000)
def _zip_is_real(zip_code: str) -> bool:
    return bool(zipcodes.is_real(zip_code))


# --- abuse protection ---------------------------------------------------------------------------


def check_rate_limit(client_ip: str) -> None:
    """At most INTAKE_PER_IP_PER_HOUR (default 5) accepted submissions per client IP per hour (moving window,
    in Redis), counted per `client_ip.bucket`: an address nobody could tell is the shared bucket "unknown", never
    a pass."""
    per_hour = get_settings().intake_per_ip_per_hour
    if not ratelimit.hit(RateLimitItemPerHour(per_hour), "intake", client_addresses.bucket(client_ip)):
        raise TooManyAttempts(f"Too many requests from your network: at most {per_hour} an hour. Try again later.")


# --- idempotency keys ---------------------------------------------------------------------------

IDEMPOTENCY_TTL = timedelta(hours=24)
RESERVED_KEY_PREFIXES = ("interview-", "inbound-call-", "client:", "internal-")
"""Prefixes of the platform's own keys: a client's Idempotency-Key may not start with one (and is stored as
"client:" + a hash of its scope and itself anyway, so it can never equal an internal key)."""


class IdempotencyKeyReused(UserError):
    """The same Idempotency-Key came with a different body (422 `idempotency_key_reused`)."""

    status_code = 422


def scoped_key(scope: str, key: str) -> str:
    """What the database stores for a client's key: its scope and itself, hashed (fits the column, never
    equal to an internal key, and one client's key is never another's)."""
    return "client:" + hashlib.sha256(f"{scope}\n{key}".encode()).hexdigest()


def fingerprint(sub: Submission) -> str:
    """SHA-256 of what a submission says (the fields a client sends), to recognise a key reused for another body."""
    body = {
        "text": sub.text,
        "zip": sub.zip,
        "phone": sub.phone,
        "email": sub.email,
        "name": sub.name,
        "preferred_contact": sub.preferred_contact,
        "consent_ai_calls": bool(sub.consent_ai_calls),
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


TURNSTILE_VISITOR_ERRORS = frozenset({"invalid-input-response", "timeout-or-duplicate", "missing-input-response"})
"""Siteverify error codes that say the visitor's token was bad (not that our set-up is)."""


def check_turnstile(token: str, client_ip: str) -> None:
    """Verify a Cloudflare Turnstile token when Turnstile is configured (no-op otherwise)."""
    settings = get_settings()
    if not settings.turnstile_secret_key:
        return
    if not token:
        raise UserError("Please complete the anti-robot check.", field="turnstile")
    try:
        reply = httpx.post(
            settings.turnstile_verify_url,
            data={"secret": settings.turnstile_secret_key, "response": token, "remoteip": client_ip},
            timeout=5,
        ).json()
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("turnstile_unreachable", error=repr(exc))
        provider_status.record_failure(provider_status.TURNSTILE, f"siteverify unreachable: {exc!r}")
        raise UserError(
            "The anti-robot check is unavailable right now; try again in a minute.", field="turnstile"
        ) from exc
    if not reply.get("success"):
        # A bad or reused token is the visitor's; any other code (a wrong secret, a bad request) is ours.
        ours = [str(c) for c in reply.get("error-codes") or [] if c not in TURNSTILE_VISITOR_ERRORS]
        if ours:
            provider_status.record_failure(provider_status.TURNSTILE, f"siteverify refused: {', '.join(ours)}")
        raise UserError("The anti-robot check failed; please try again.", field="turnstile")


# --- submission ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Accepted:
    lead_id: int
    created: bool
    enqueued: bool
    status: str


def submit(session: Session, sub: Submission) -> Accepted:
    """Validate, persist (commit) and enqueue a lead; returns its id. Raises UserError for bad input.

    With an Idempotency-Key already used, returns the existing lead (created=False) and writes nothing. A
    client's key (`client_key`) is kept per client (`client_scope`) for IDEMPOTENCY_TTL; the same key with another
    body is refused (IdempotencyKeyReused); after the TTL the key is free again.
    The session must not hold other pending work: this commits.
    """
    rules = current_rules(session)
    valid = validate(sub, rules)
    body = ""
    if sub.client_key is not None:
        body = fingerprint(sub)
        sub = replace(sub, idempotency_key=scoped_key(sub.client_scope or "ip:unknown", sub.client_key))
    if sub.idempotency_key:
        existing = _lead_for_key(session, sub.idempotency_key, body)
        if existing is not None:
            return existing
    if sub.api_key_id is None:
        if not sub.human_verified:
            check_turnstile(sub.turnstile_token, sub.client_ip)
        if sub.source != LeadSource.PHONE.value:  # a call has no client IP: Twilio signed it, the line limits it
            check_rate_limit(sub.client_ip)
    now = utcnow()
    lead = Lead(
        id=_new_lead_id(session),
        consumer_id=sub.consumer_id,
        business_id=sub.business_id,
        source=sub.source,
        raw_text=valid.text,
        contact_name=valid.name,
        contact_email=valid.email,
        contact_phone_enc=crypto.encrypt_phone(valid.phone_e164),
        contact_phone_hash=crypto.phone_hash(valid.phone_e164),
        contact_phone_last4=valid.phone_e164[-4:] if valid.phone_e164 else "",
        preferred_contact=valid.preferred_contact,
        zip=valid.zip,
        consent_ai_calls=valid.consent_ai_calls,
        consent_at=now if valid.consent_ai_calls else None,
        consent_text=languages.phrases(sub.form_language).CONSENT_TEXT if valid.consent_ai_calls else "",
        phone_verified_at=now if _verified(sub.phone_verified_hash, valid.phone_e164) else None,
        client_ip=sub.client_ip[:64],
        api_key_id=sub.api_key_id,
        idempotency_key=sub.idempotency_key,
        idempotency_fingerprint=body,
        status=LeadStatus.RECEIVED.value,
        created_at=now,
        updated_at=now,
    )
    session.add(lead)
    try:
        session.commit()
    except IntegrityError:
        # Another request with the same Idempotency-Key won the race: answer with its lead.
        session.rollback()
        existing = _lead_for_key(session, sub.idempotency_key or "", body)
        if existing is None:
            raise
        return existing
    enqueued = enqueue_pipeline(lead.id, fresh=True)  # type: ignore[arg-type]
    log.info("lead_accepted", lead_id=lead.id, source=lead.source, enqueued=enqueued)
    return Accepted(lead.id, True, enqueued, lead.status)  # type: ignore[arg-type]


def _verified(verified_hash: str, phone_e164: str) -> bool:
    """True when the number submitted is the one a texted code verified."""
    return bool(verified_hash and phone_e164) and hmac.compare_digest(verified_hash, crypto.phone_hash(phone_e164))


def _lead_for_key(session: Session, idempotency_key: str, body: str = "") -> Accepted | None:
    """The lead an Idempotency-Key already made (its id and status only), whoever's context this is: the key
    is all the caller presents, and it learns nothing but what its first submission was answered.

    For a client's key (`body` is the new submission's fingerprint): a key older than IDEMPOTENCY_TTL is released
    (None: a new lead may take it), and one that came with another body raises IdempotencyKeyReused."""
    with access.as_system(session, "intake: the lead an Idempotency-Key made"):
        row = session.exec(
            select(Lead.id, Lead.status, Lead.created_at, Lead.idempotency_fingerprint).where(
                Lead.idempotency_key == idempotency_key
            )
        ).first()
        if row is not None and body and _aware(row[2]) <= utcnow() - IDEMPOTENCY_TTL:
            session.execute(update(Lead).where(col(Lead.id) == row[0]).values(idempotency_key=None))
            session.commit()
            return None
    if row is None:
        return None
    if body and row[3] != body:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used with a different request body; use a new key.",
            field="idempotency_key",
        )
    return Accepted(int(row[0]), False, True, str(row[1]))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _new_lead_id(session: Session) -> int | None:
    """PostgreSQL: the new lead's id, drawn before the INSERT and granted to the submitter's context, so that
    row-level security lets a visitor write (and then follow) the request it makes. SQLite: None (assigned on
    insert)."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    return access.allow_new_lead(session)


def enqueue_pipeline(lead_id: int, fresh: bool = False) -> bool:
    """Hand a committed lead to the pipeline worker (False when Redis is down: the sweeper retries).

    `fresh`: the lead was just created, so no job for it can be waiting (skips the duplicate check).
    """
    return tasks.enqueue(
        tasks.PIPELINE, "worker.jobs.process_lead", lead_id, job_id=f"lead-{lead_id}", keep_result=False, fresh=fresh
    )


def stuck_lead_ids(session: Session, older_than_seconds: int = 60, limit: int = 500) -> list[int]:
    """Leads still waiting for the pipeline (received/classified) for longer than `older_than_seconds`."""
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    rows = session.exec(
        select(Lead.id)
        .where(
            Lead.status.in_([LeadStatus.RECEIVED.value, LeadStatus.CLASSIFIED.value]),  # type: ignore[attr-defined]
            Lead.updated_at < cutoff,
            Lead.deleted_at.is_(None),  # type: ignore[union-attr]
        )
        .order_by(Lead.id)
        .limit(limit)
    ).all()
    return [int(r) for r in rows]
