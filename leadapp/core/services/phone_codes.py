"""Phone verification: a one-time code by SMS proves the consumer holds the number before their consent to AI
calls counts.

Guarantees:
- a code is 6 random digits (`secrets`), sent as an SMS notification (so it obeys STOP, the supported countries
  and the daily SMS caps like every text); only a keyed hash of it is kept, in Redis, bound to what it verifies
  (`scope`: one request, or one guided interview) and to the number it went to, and it expires after
  PHONE_CODE_TTL_SECONDS;
- every entry counts before it is compared (an atomic increment), so parallel guesses get no extra tries; after
  PHONE_CODE_MAX_ATTEMPTS wrong entries the code is gone and a new one must be sent; a right code works once;
- at most PHONE_CODES_PER_HOUR codes go to one number, and to one request, an hour (nobody can text a stranger
  in a loop through us);
- until a request's number is verified (`Lead.phone_verified_at`), no AI call is requested or placed to it
  (`calls.eligibility`, `calls.placement_refusal` in the call worker, and the portal's callback).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid

from limits import RateLimitItemPerHour
from redis.exceptions import RedisError
from sqlmodel import Session

from leadapp.core import crypto, languages, phones, ratelimit
from leadapp.core.broker import get_redis, key
from leadapp.core.errors import UserError
from leadapp.core.events import publish_after_commit, run_after_commit
from leadapp.core.languages import english
from leadapp.core.models import Lead, Notification, User, utcnow
from leadapp.core.observability import get_logger
from leadapp.core.services import audit, daily_caps, notify, portal
from leadapp.core.settings import get_settings
from leadapp.core.vocab import Channel, NotificationKind

log = get_logger(__name__)

CODE_DIGITS = 6
FIELD = "phone_code"
# The refusals are in `core.languages` (a request's code in its language; these English ones elsewhere).
NO_CODE = english.NO_CODE
EXPIRED = english.CODE_EXPIRED
TOO_MANY = english.CODE_TOO_MANY
UNAVAILABLE = english.CODE_UNAVAILABLE


def _key(scope: str) -> str:
    return key("phone-code", scope)


def _digest(scope: str, phone_e164: str, code: str) -> str:
    secret = hmac.new(get_settings().secret_key.encode(), b"leadapp:phone-code", hashlib.sha256).digest()
    return hmac.new(secret, f"{scope}|{phone_e164}|{code}".encode(), hashlib.sha256).hexdigest()


def send_code(
    session: Session, scope: str, phone_e164: str, *, lead_id: int | None = None, user_id: int | None = None
) -> Notification:
    """Text a new code for `scope` to `phone_e164` (any earlier code of the scope stops working); the SMS is queued
    once the caller commits. Refused with the reason: a number outside the supported countries, one that replied
    STOP, too many codes this hour, the platform's SMS cap reached, Redis unreachable. The text and the refusals
    in the language of the request `lead_id`, English without one."""
    lead = session.get(Lead, lead_id) if lead_id is not None else None  # the caller's, already loaded
    language = lead.language if lead is not None else None
    settings, w = get_settings(), languages.phrases(language)
    try:
        phone = phones.parse(phone_e164, language)
    except phones.PhoneRefused as exc:
        raise UserError(exc.message, field=FIELD) from exc
    if notify.is_opted_out(session, phone):
        raise UserError(w.CODE_STOPPED, field=FIELD)
    per_hour = RateLimitItemPerHour(settings.phone_codes_per_hour)
    counters = (("phone-code-number", crypto.phone_hash(phone)), ("phone-code-scope", scope))
    if not all(ratelimit.test(per_hour, *counter) for counter in counters):
        raise UserError(w.CODES_PER_HOUR.format(count=settings.phone_codes_per_hour), field=FIELD)
    refusal = daily_caps.sms_refusal(session, None, language=language)
    if refusal:
        raise UserError(refusal, field=FIELD)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    try:
        redis = get_redis()
        pipe = redis.pipeline()
        pipe.delete(_key(scope))
        pipe.hset(
            _key(scope),
            mapping={
                "digest": _digest(scope, phone, code),
                "expires": int(time.time()) + settings.phone_code_ttl_seconds,
            },
        )
        pipe.expire(_key(scope), settings.phone_code_ttl_seconds + 60)
        pipe.execute()
    except RedisError as exc:
        log.warning("phone_code_store_failed", error=repr(exc))
        raise UserError(w.CODE_UNAVAILABLE, field=FIELD) from exc
    for counter in counters:
        ratelimit.hit(per_hour, *counter)
    minutes = max(1, settings.phone_code_ttl_seconds // 60)
    row = notify.create_notification(
        session,
        kind=NotificationKind.PHONE_CODE.value,
        channel=Channel.SMS.value,
        recipient=phone,
        subject="",
        text=w.CODE_SMS.format(code=code, minutes=minutes),
        html="",
        dedupe_key=f"phone-code:{scope}:{uuid.uuid4().hex}",
        lead_id=lead_id,
        user_id=user_id,
    )
    run_after_commit(session, notify.enqueue_sends, [row.id])
    log.info("phone_code_sent", scope=scope, notification_id=row.id)
    return row


def check_code(scope: str, phone_e164: str, code: str, now: float | None = None, language: str | None = None) -> None:
    """Accept `code` for `scope` and this number once; UserError (with the reason, in `language`, English by
    default) for anything else. The entry is counted before it is compared; the code is gone after it worked,
    expired or was missed too often."""
    w = languages.phrases(language)
    code = (code or "").strip().replace(" ", "")
    if not (len(code) == CODE_DIGITS and code.isdigit()):
        raise UserError(w.CODE_FORMAT.format(digits=CODE_DIGITS), field=FIELD)
    name = _key(scope)
    try:
        redis = get_redis()
        stored = redis.hgetall(name)
        if not stored or b"digest" not in stored:
            raise UserError(w.NO_CODE, field=FIELD)
        attempts = int(redis.hincrby(name, "attempts", 1))
        if attempts > get_settings().phone_code_max_attempts:
            redis.delete(name)
            raise UserError(w.CODE_TOO_MANY, field=FIELD)
        if (now if now is not None else time.time()) > int(stored.get(b"expires", b"0")):
            redis.delete(name)
            raise UserError(w.CODE_EXPIRED, field=FIELD)
        if not hmac.compare_digest(stored[b"digest"].decode(), _digest(scope, phone_e164, code)):
            left = get_settings().phone_code_max_attempts - attempts
            raise UserError((w.CODE_WRONG_ONE if left == 1 else w.CODE_WRONG_MANY).format(left=left), field=FIELD)
        if not redis.delete(name):  # another entry of the same code won: it works once
            raise UserError(w.NO_CODE, field=FIELD)
    except RedisError as exc:
        log.warning("phone_code_check_failed", error=repr(exc))
        raise UserError(w.CODE_UNAVAILABLE, field=FIELD) from exc


# --- a request's number ---------------------------------------------------------------------------


def _lead_phone(lead: Lead) -> str:
    phone = crypto.decrypt_phone(lead.contact_phone_enc) if lead.contact_phone_enc else ""
    if not phone:
        raise UserError(languages.phrases(lead.language).REQUEST_NO_PHONE, field=FIELD)
    return phone


def send_lead_code(session: Session, actor: portal.Actor, lead_id: int) -> Notification:
    """Text a code to the number of one request (its consumer, or its magic-link holder), in the request's language
    (as its refusals). Does not commit."""
    lead = portal.lead_for(session, actor, lead_id, act=True)
    if lead.phone_verified_at is not None:
        raise UserError(languages.phrases(lead.language).ALREADY_VERIFIED, field=FIELD)
    return send_code(session, f"lead-{lead.id}", _lead_phone(lead), lead_id=lead.id, user_id=lead.consumer_id)


def verify_lead_code(session: Session, actor: portal.Actor, lead_id: int, code: str) -> Lead:
    """Mark the request's number verified when `code` is the one texted to it (refused in the request's language).
    Does not commit."""
    lead = portal.lead_for(session, actor, lead_id, act=True)
    if lead.phone_verified_at is not None:
        return lead
    check_code(f"lead-{lead.id}", _lead_phone(lead), code, language=lead.language)
    lead.phone_verified_at = utcnow()
    session.add(lead)
    audit.record(
        session,
        actor_id=actor.id if isinstance(actor, User) else None,
        action="lead.phone_verified",
        target=lead,
        after={"via": "account" if isinstance(actor, User) else "magic_link"},
    )
    publish_after_commit(session, "lead", lead_id=lead.id, status=lead.status, consumer_id=lead.consumer_id)
    return lead
