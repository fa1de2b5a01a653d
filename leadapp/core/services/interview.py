"""The guided interview: one question per turn until the request is complete, then the same intake.

A session belongs to the browser tab that started it (a random token, stored hashed) and, when logged
in, to the consumer; nobody else can read or continue it. Its messages and answers are encrypted at rest
(they hold the consumer's phone number and email address), and a session nobody touched for
INTERVIEW_RETENTION_HOURS is deleted (`purge_abandoned`, hourly): a submitted one lives on as its lead.
Without ANTHROPIC_API_KEY a scripted interviewer asks for the fields and extracts them with the local
classifier; with a key Claude writes the next question and a structured extraction step fills the same fields.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from email_validator import EmailNotValidError, validate_email
from limits import RateLimitItemPerHour
from pydantic import BaseModel, Field
from sqlalchemy import delete
from sqlmodel import Session, col, select

from leadapp.core import crypto, labels, phones, ratelimit
from leadapp.core.errors import NotAllowed, TooManyAttempts, UserError
from leadapp.core.models import InterviewSession, User, utcnow
from leadapp.core.observability import get_logger
from leadapp.core.providers import llm
from leadapp.core.redaction import only_contact, redact_contact
from leadapp.core.services import access, classify, intake, phone_codes
from leadapp.core.services.accounts import token_digest
from leadapp.core.services.rules import RulesSnapshot, current_rules
from leadapp.core.settings import get_settings
from leadapp.core.vocab import CATEGORY_LABELS, Category, InterviewStatus, LeadSource, Urgency

log = get_logger(__name__)

GREETING = (
    "Hi! I'll ask a few quick questions so the right local pros can help. "
    "First: what's going on? Describe the problem in your own words."
)
MAX_MESSAGE_CHARS = 2000

# Diagnostic follow-ups for common problems: (topic, trigger pattern, question).
DIAGNOSTICS: list[tuple[str, re.Pattern[str], str]] = [
    (
        "water",
        re.compile(r"\b(leak\w*|water|drip\w*|flood\w*|pipe|burst|toilet|faucet|drain|sewer)\b", re.I),
        "Where exactly is the water coming from, and is it still leaking right now? "
        "Have you been able to shut off the water supply?",
    ),
    (
        "electrical",
        re.compile(r"\b(spark\w*|breaker|outlet|wiring|electric\w*|power|lights?|panel|shock)\b", re.I),
        "Is anything sparking, smoking or hot to the touch? (If so, switch off that circuit at the breaker.) "
        "Which rooms or appliances are affected?",
    ),
    (
        "hvac",
        re.compile(r"\b(furnace|heat\w*|a/?c|air ?condition\w*|hvac|thermostat|cooling|boiler|heat pump)\b", re.I),
        "Is it not heating, not cooling, or something else? Roughly how old is the system, and what brand if you know?",
    ),
    (
        "noise",
        re.compile(r"\b(nois\w*|bang\w*|rattl\w*|squeal\w*|grind\w*|hum\w*|click\w*|knock\w*|whistl\w*)\b", re.I),
        "What does the noise sound like (banging, hissing, grinding, clicking), where does it come from, "
        "and when does it happen?",
    ),
]

FIELD_QUESTIONS: dict[str, str] = {
    "zip": "What's the ZIP code where the work is needed?",
    "urgency": "How soon do you need someone: is it an emergency, today, this week, or no rush?",
    "budget": "Do you have a budget in mind? A rough figure or range is fine — or say 'not sure'.",
    "availability": "When are you available for a visit or a call (days and times)?",
    "contact": "What's the best email or phone number for the businesses to reach you?",
}
FIELD_ORDER = ["zip", "urgency", "budget", "availability", "contact"]
REQUIRED = ("description", "category", "zip", "urgency", "availability", "contact")


@dataclass
class Turn:
    """What the page shows after a turn."""

    messages: list[dict[str, str]]
    fields: dict[str, str]
    complete: bool
    lead_id: int | None
    # "" when no phone number was given, else "unverified" or "verified" (a texted code came back).
    phone_check: str = ""


def _fields_view(extracted: dict[str, Any]) -> dict[str, str]:
    category = extracted.get("category") or ""
    label = CATEGORY_LABELS.get(Category(category), category) if category in Category._value2member_map_ else ""
    budget = extracted.get("budget") or ""
    return {
        "category": label,
        "urgency": labels.urgency(extracted["urgency"]) if extracted.get("urgency") else "",
        "zip": extracted.get("zip") or "",
        "budget": budget,
        "contact": extracted.get("email") or extracted.get("phone") or "",
        "availability": extracted.get("availability") or "",
    }


def _is_complete(extracted: dict[str, Any]) -> bool:
    has = {
        "description": bool(extracted.get("description")),
        "category": bool(extracted.get("category")),
        "zip": bool(extracted.get("zip")),
        "urgency": bool(extracted.get("urgency")),
        "availability": bool(extracted.get("availability")),
        "contact": bool(extracted.get("email") or extracted.get("phone")),
    }
    return all(has[f] for f in REQUIRED)


def _phone_check(extracted: dict[str, Any]) -> str:
    phone = str(extracted.get("phone") or "")
    if not phone:
        return ""
    return "verified" if extracted.get("phone_verified") == crypto.phone_hash(phone) else "unverified"


def _turn(row: InterviewSession) -> Turn:
    return Turn(
        messages=[{"role": m["role"], "text": m["text"]} for m in row.messages],
        fields=_fields_view(row.extracted),
        complete=_is_complete(row.extracted),
        lead_id=row.lead_id,
        phone_check=_phone_check(row.extracted),
    )


def start(session: Session, user: User | None) -> tuple[str, Turn]:
    """Open a new interview; returns the owner token (keep it server-side) and the first turn."""
    token = secrets.token_urlsafe(24)
    access.allow_interview(session, token_digest(token))
    row = InterviewSession(
        owner_token_hash=token_digest(token),
        user_id=user.id if user else None,
        messages=[{"role": "assistant", "text": GREETING}],
        extracted={"asked": [], "diagnosed": []},
    )
    session.add(row)
    session.flush()
    return f"{row.id}.{token}", _turn(row)


def _owned(session: Session, owner_token: str, user: User | None) -> InterviewSession:
    """The interview this token opened; NotAllowed for any other token (or another account's interview)."""
    try:
        raw_id, token = owner_token.split(".", 1)
        access.allow_interview(session, token_digest(token))  # the database checks the token a second time
        row = session.get(InterviewSession, int(raw_id))
    except (ValueError, TypeError):
        row = None
    if row is None or not secrets.compare_digest(row.owner_token_hash, token_digest(token)):
        raise NotAllowed("This interview is not yours.")
    if row.user_id is not None and (user is None or user.id != row.user_id):
        raise NotAllowed("This interview is not yours.")
    return row


PURGE_BATCH = 500


def purge_abandoned(session: Session, now: datetime | None = None) -> int:
    """Delete the interviews nobody touched for INTERVIEW_RETENTION_HOURS (abandoned mid-way, or submitted:
    the lead holds what they produced), a batch at a time; returns how many. Commits each batch. Safe to run
    twice: a second run finds only what has aged since."""
    cutoff = (now or utcnow()) - timedelta(hours=get_settings().interview_retention_hours)
    purged = 0
    while True:
        ids = session.exec(
            select(InterviewSession.id)
            .where(col(InterviewSession.updated_at) < cutoff)
            .order_by(col(InterviewSession.id))
            .limit(PURGE_BATCH)
        ).all()
        if ids:
            session.execute(delete(InterviewSession).where(col(InterviewSession.id).in_(list(ids))))
            session.commit()
        purged += len(ids)
        if len(ids) < PURGE_BATCH:
            if purged:
                log.info("interviews_purged", purged=purged)
            return purged


def load(session: Session, owner_token: str, user: User | None) -> Turn:
    return _turn(_owned(session, owner_token, user))


# --- extraction ----------------------------------------------------------------------------------

_ZIP = re.compile(r"\b([0-9]{5})(?:-[0-9]{4})?\b")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_NOT_SURE = re.compile(r"\b(not sure|no idea|don'?t know|unsure|no budget|whatever it costs)\b", re.I)


def _request_words(message: str) -> str:
    """What one answer adds to the request's text: phone numbers and email addresses replaced by markers (they
    are kept in the lead's own contact fields, shown to a business once it accepts), and nothing at all for an
    answer that only gives contact details ("email or phone: jane@example.com"). Street addresses stay: the
    business that accepts needs them, and `Lead.redacted_text` hides them from the others."""
    message = message.strip()
    if only_contact(message, keep_addresses=True):
        return ""
    return redact_contact(message, keep_addresses=True)


def _extract(extracted: dict[str, Any], message: str, rules: RulesSnapshot) -> None:
    """Fold what one consumer message says into the extracted fields (never erasing a known field)."""
    asked = extracted.get("asking")
    words = _request_words(message)
    if words and not extracted.get("description"):
        extracted["description"] = words
    elif words:
        extracted.setdefault("details", []).append(words)
    full_text = " ".join([extracted.get("description", ""), *extracted.get("details", [])])
    result = classify.classify_local(full_text, zip_code=extracted.get("zip", ""), rules=rules)
    if result.service_category.value != "other" or not extracted.get("category"):
        extracted["category"] = result.service_category.value
    zip_match = _ZIP.search(message)
    if zip_match and intake._zip_is_real(zip_match.group(1)):
        extracted["zip"] = zip_match.group(1)
    elif asked == "zip":
        extracted["zip_error"] = "That doesn't look like a US ZIP code."
    _take_urgency(extracted, message, full_text, result.service_category, asked == "urgency")
    if result.budget_max:
        low, high = result.budget_min or result.budget_max, result.budget_max
        extracted["budget"] = f"${low:,}" if low == high else f"${low:,}–${high:,}"
    elif asked == "budget" and _NOT_SURE.search(message):
        extracted["budget"] = "not sure"
    if asked == "availability" and words:
        extracted["availability"] = words[:200]
    email_match = _EMAIL.search(message)
    if email_match:
        with contextlib.suppress(EmailNotValidError):
            extracted["email"] = validate_email(email_match.group(0), check_deliverability=False).normalized
    phone, refusal = phones.first_in_text(message)
    if phone:
        extracted["phone"] = phone
    elif refusal:
        extracted["phone_refused"] = refusal  # said in the next question


URGENCY_UNCLEAR = "I didn't catch how soon."


def _take_urgency(extracted: dict[str, Any], message: str, full_text: str, category: Category, asked: bool) -> None:
    """Urgency only from words that state it (`classify.stated_urgency`); otherwise the interview asks.

    An answer to the urgency question is read on its own ("no rush" after "my pipe leaks" means no rush). An
    answer that says no timing is asked once more; after that it is taken as normal (no stated rush), so the
    interview can always end.
    """
    month = utcnow().month
    if asked:
        stated = classify.stated_urgency(message, category, month)
        if stated is None and extracted.get("asked", []).count("urgency") < 2:
            extracted["urgency_error"] = URGENCY_UNCLEAR
            return
        extracted["urgency"] = (stated or Urgency.NORMAL).value
        return
    stated = classify.stated_urgency(message, category, month)
    if stated is None and not extracted.get("urgency"):
        stated = classify.stated_urgency(full_text, category, month)
    if stated is not None:
        extracted["urgency"] = stated.value


def _next_question(extracted: dict[str, Any]) -> str | None:
    """One question per turn: a diagnostic follow-up first (once per topic), then the missing fields."""
    text = " ".join([extracted.get("description", ""), *extracted.get("details", [])])
    diagnosed = extracted.setdefault("diagnosed", [])
    for topic, pattern, question in DIAGNOSTICS:
        if topic not in diagnosed and pattern.search(text) and len(diagnosed) < 2:
            diagnosed.append(topic)
            extracted["asking"] = f"diagnostic:{topic}"
            return question
    asked = extracted.setdefault("asked", [])
    for name in FIELD_ORDER:
        known = extracted.get("email") or extracted.get("phone") if name == "contact" else extracted.get(name)
        if not known and asked.count(name) < 2:
            asked.append(name)
            extracted["asking"] = name
            prefix = extracted.pop(f"{name}_error", "")
            return f"{prefix} {FIELD_QUESTIONS[name]}".strip()
    extracted["asking"] = None
    return None


def reply(session: Session, owner_token: str, user: User | None, message: str, client_ip: str = "") -> Turn:
    """Take the consumer's answer, extract what it says, and ask the next single question.

    At most INTERVIEW_MAX_TURNS answers an interview, and INTERVIEW_TURNS_PER_IP_PER_HOUR answers per client IP
    over all its interviews (an unknown IP is one bucket): each turn may cost a Claude call. Blocking (Claude):
    callers on an event loop run it in a thread."""
    row = _owned(session, owner_token, user)
    if row.lead_id is not None:
        raise UserError("This request was already sent.")
    message = (message or "").strip()
    if not message:
        raise UserError("Type an answer first.", field="message")
    if len(message) > MAX_MESSAGE_CHARS:
        raise UserError(f"Keep answers under {MAX_MESSAGE_CHARS} characters.", field="message")
    settings = get_settings()
    if len(row.messages) >= settings.interview_max_turns * 2:
        raise UserError("This interview is long enough: submit it or start again.", field="message")
    per_hour = RateLimitItemPerHour(settings.interview_turns_per_ip_per_hour)
    if not ratelimit.hit(per_hour, "interview-turn", client_ip or "unknown"):
        raise TooManyAttempts("Too many answers from your network this hour; try again later.", field="message")
    extracted = dict(row.extracted)
    rules = current_rules(session)
    _extract(extracted, message, rules)
    messages = [*row.messages, {"role": "user", "text": message}]
    question, _ = llm.with_fallback("interview", lambda: _claude_turn(messages, extracted), lambda: None)
    question = question or _next_question(extracted)
    if question is None:
        question = (
            "Thanks, that's everything I need. Check the summary and press “Submit request” — "
            "or add anything else you'd like the businesses to know."
        )
    refusal = extracted.pop("phone_refused", "")
    if refusal:
        question = f"{refusal} {question}"
    messages.append({"role": "assistant", "text": question})
    row.messages, row.extracted, row.updated_at = messages, extracted, utcnow()
    session.add(row)
    session.flush()
    return _turn(row)


# --- Claude's side of the interview ---------------------------------------------------------------

INTERVIEW_TOOL = "ask_next_question"
INTERVIEW_INSTRUCTIONS = """\
You are LeadApp's intake assistant. A consumer is describing a home-service problem so that local
businesses can help. Ask exactly ONE short, friendly question per turn. First ask one or two
diagnostic follow-ups for common problems (noise: what kind and where; water/leaks: where from,
still leaking, water shut off; HVAC: heating or cooling, age, brand; electrical: sparks, smoke,
heat, which circuits — advise switching the breaker off if unsafe). Then ask for whatever is still
missing among: ZIP code, urgency, budget (a range or "not sure" is fine), availability, and an email
or phone number. Never ask for a field that is already known. Never give prices or diagnoses.
Extract urgency only when the consumer said how soon they need help (or described a clear emergency such
as flooding, sparks or a gas smell); never infer it from the kind of problem: ask how urgent it is instead.
When nothing is missing, set done=true and thank them, telling them to press "Submit request".
"""


class InterviewExtraction(BaseModel):
    """What the conversation says so far (contact details are redacted before sending, so never here)."""

    service_category: Category | None = None
    urgency: Urgency | None = None
    zip: str | None = Field(default=None, pattern=r"^[0-9]{5}$")
    budget: str | None = Field(default=None, max_length=40)
    availability: str | None = Field(default=None, max_length=200)


class InterviewTurn(BaseModel):
    question: str = Field(min_length=2, max_length=400)
    done: bool = False
    extracted: InterviewExtraction = Field(default_factory=InterviewExtraction)


def claude_interview_turn(messages: list[dict[str, str]], known_fields: dict[str, str]) -> InterviewTurn:
    """Claude's next single interview question plus a structured extraction of the fields so far.

    Contact details in the conversation are redacted before sending (the caller extracts those
    locally); the extraction is validated against the vocabulary. Raises ProviderError on failure.
    """
    transcript = [{"role": m["role"], "text": redact_contact(m["text"])} for m in messages[-20:]]
    return llm.call_tool(
        purpose="interview",
        system=[{"type": "text", "text": INTERVIEW_INSTRUCTIONS}],
        user=json.dumps(
            {"conversation": transcript, "known_fields": llm.without_contact(known_fields)}, ensure_ascii=False
        ),
        tool_name=INTERVIEW_TOOL,
        tool_description="Record what the consumer said so far and ask the next single question "
        "(or close the interview when nothing is missing).",
        model_cls=InterviewTurn,
        max_tokens=500,
    )


def _claude_turn(messages: list[dict[str, str]], extracted: dict[str, Any]) -> str | None:
    """Claude's structured extraction folded into the fields (checked against the vocabulary and the ZIP
    database; contact details stay local), and its next single question (None: the script asks instead).
    Raises ProviderError when Claude gives no usable answer."""
    turn = claude_interview_turn(messages, _fields_view(extracted))
    found = turn.extracted
    if found.service_category is not None and extracted.get("category") in (None, "", "other"):
        extracted["category"] = found.service_category.value
    if found.urgency is not None and not extracted.get("urgency"):
        extracted["urgency"] = found.urgency.value
    if found.zip and not extracted.get("zip") and intake._zip_is_real(found.zip):
        extracted["zip"] = found.zip
    if found.budget and not extracted.get("budget"):
        extracted["budget"] = found.budget.strip()[:40]
    if found.availability and not extracted.get("availability"):
        extracted["availability"] = found.availability.strip()[:200]
    if turn.done and not _is_complete(extracted):
        return None  # Claude thinks it is done but a field is missing: the script asks for it
    return turn.question


def submit(
    session: Session, owner_token: str, user: User | None, client_ip: str, consent: bool, human_verified: bool = False
) -> intake.Accepted:
    """Send a complete interview through intake (the same validation, persistence and pipeline).

    `human_verified`: the page checked a Turnstile token when this interview started (the widget is at the start,
    so the interview itself needs no second token)."""
    row = _owned(session, owner_token, user)
    if row.lead_id is not None:
        return intake.Accepted(row.lead_id, False, True, "received")
    extracted = row.extracted
    if not _is_complete(extracted):
        raise UserError("A few answers are still missing; answer the last question first.")
    parts = [extracted["description"], *extracted.get("details", [])]
    if extracted.get("budget") and extracted["budget"] != "not sure":
        parts.append(f"Budget: {extracted['budget']}.")
    parts.append(f"Available: {extracted['availability']}.")
    accepted = intake.submit(
        session,
        intake.Submission(
            text=" ".join(parts),
            zip=extracted["zip"],
            phone=extracted.get("phone", ""),
            email=extracted.get("email", ""),
            preferred_contact="email" if extracted.get("email") else "phone",
            consent_ai_calls=consent,
            source=LeadSource.INTERVIEW.value,
            client_ip=client_ip,
            consumer_id=user.id if user is not None and user.role == "consumer" else None,
            idempotency_key=f"interview-{row.id}",
            human_verified=human_verified,
            phone_verified_hash=str(extracted.get("phone_verified") or ""),
        ),
    )
    row = session.get(InterviewSession, row.id)
    assert row is not None
    row.lead_id, row.status, row.updated_at = accepted.lead_id, InterviewStatus.SUBMITTED.value, utcnow()
    session.add(row)
    session.commit()
    return accepted


# --- verifying the number given ------------------------------------------------------------------


def _interview_phone(row: InterviewSession) -> str:
    phone = str(row.extracted.get("phone") or "")
    if not phone:
        raise UserError("Give your phone number in an answer first.", field=phone_codes.FIELD)
    return phone


def send_phone_code(session: Session, owner_token: str, user: User | None) -> None:
    """Text a code to the number this interview was given (its owner only). Does not commit."""
    row = _owned(session, owner_token, user)
    if row.lead_id is not None:
        raise UserError("This request was already sent: verify your number from its page.", field=phone_codes.FIELD)
    scope, phone = f"interview-{row.id}", _interview_phone(row)
    if user is not None:
        phone_codes.send_code(session, scope, phone, user_id=user.id)
        return
    # A visitor's text message belongs to no lead, business or account yet, so the visitor's own context (behind
    # row-level security) may not write it: it is queued as the system once the ownership check above passed;
    # nothing is read back.
    with access.as_system(session, "interview phone code: queue the visitor's text message"):
        phone_codes.send_code(session, scope, phone)


def verify_phone_code(session: Session, owner_token: str, user: User | None, code: str) -> Turn:
    """Mark the interview's number verified when `code` is the one texted to it; the request submitted from this
    interview then carries the verification (for that number only). Does not commit."""
    row = _owned(session, owner_token, user)
    phone = _interview_phone(row)
    phone_codes.check_code(f"interview-{row.id}", phone, code)
    row.extracted = {**row.extracted, "phone_verified": crypto.phone_hash(phone)}
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return _turn(row)
