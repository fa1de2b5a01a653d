"""Rows for tests, made one way: users, businesses, requests, matches, quotes, calls, conversions, notifications.

A module's scenario (the `world` it tests against) is built from these, so a change to what a valid lead or
business needs is made here once, not in every test module. Each factory adds its row to the session and
flushes (ids are known); the caller commits when the scenario is complete. Keyword arguments override any
column, so a test states only what it is about.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import count
from typing import Any, TypeVar

import reflex as rx
from sqlmodel import Session, select

from leadapp.core import crypto, phones
from leadapp.core.models import (
    Business,
    Call,
    ContactMessage,
    Conversion,
    Lead,
    Match,
    Notification,
    Quote,
    User,
    utcnow,
)
from leadapp.core.services import accounts, contact, inbox, interview, notify
from leadapp.core.services import match as match_service
from leadapp.core.services.intake import Submission, submit
from leadapp.core.services.pipeline import process_lead
from leadapp.core.vocab import LeadStatus, MatchStatus, QuoteStatus

PASSWORD = "a long enough password"
PHONE = "+13178462200"
ZIP = "46032"
TEXT = "My water heater is leaking all over the garage floor, need someone today"

_serial = count(1)
Row = TypeVar("Row", User, Business, Lead, Match, Call, Quote, Conversion)


def serial() -> int:
    """A number no other row of this test process has used (unique texts, emails, names)."""
    return next(_serial)


def _saved(s: Session, row: Row) -> Row:
    """The row added to the session and flushed (its id is known)."""
    s.add(row)
    s.flush()
    return row


# --- accounts ---------------------------------------------------------------------------------------


def owner(s: Session, email: str | None = None, full_name: str = "") -> User:
    """A business owner who registered with a password (email unverified, as after sign-up)."""
    return accounts.register(s, email or f"owner{serial()}@example.com", PASSWORD, "business_owner", full_name)


def consumer(s: Session, email: str | None = None, full_name: str = "") -> User:
    return accounts.register(s, email or f"consumer{serial()}@example.com", PASSWORD, "consumer", full_name)


def admin(s: Session, email: str | None = None) -> User:
    return accounts.ensure_admin(s, email or f"admin{serial()}@example.com", PASSWORD)


def user(s: Session, role: str, email: str | None = None, **fields: Any) -> User:
    """A bare account row (no password anyone can use), for tests that count or list accounts."""
    address = email or f"{role}{serial()}@example.com"
    row = User(email=address, password_hash="x", role=role, **{"full_name": address.split("@")[0], **fields})
    return _saved(s, row)


# --- businesses and requests ------------------------------------------------------------------------


def business(s: Session, owned_by: User | None, name: str | None = None, **fields: Any) -> Business:
    """A verified plumbing business in Carmel, Indiana (46032) on the pro plan."""
    values: dict[str, Any] = {
        "verified_at": utcnow(),
        "owner_id": owned_by.id if owned_by else None,
        "name": name or f"Business {serial()}",
        "zip": ZIP,
        "categories": ["plumbing"],
        "plan": "pro",
    }
    return _saved(s, Business(**{**values, **fields}))


def business_in(
    s: Session, owned_by: User | None, name: str, zip_code: str, lat: float, lon: float, **fields: Any
) -> Business:
    """`business` located in `zip_code` at (lat, lon), serving 30 miles around, rated 4.8 in 10 reviews: one the
    matcher ranks for requests from there."""
    place = {"zip": zip_code, "latitude": lat, "longitude": lon, "radius_miles": 30, "rating": 4.8, "review_count": 10}
    return business(s, owned_by, name, **{**place, **fields})


def consented_submission(text: str, zip_code: str, phone: str, email: str, **fields: Any) -> Submission:
    """A request as the form sends it once the consumer agreed to AI calls and verified `phone` (as typed)."""
    verified = crypto.phone_hash(phones.normalize(phone))
    return Submission(
        text=text,
        zip=zip_code,
        phone=phone,
        email=email,
        consent_ai_calls=True,
        phone_verified_hash=verified,
        **fields,
    )


def lead(s: Session, by: User | None = None, *, phone: str = PHONE, consent: bool = True, **fields: Any) -> Lead:
    """A classified, matched plumbing request from 46032 with an encrypted phone; with `consent` the consumer
    agreed to AI calls and verified the phone (so a call may be placed). A unique text each time."""
    return _saved(s, new_lead(by, phone=phone, consent=consent, **fields))


def new_lead(by: User | None = None, *, phone: str = PHONE, consent: bool = True, **fields: Any) -> Lead:
    """`lead`'s row, not yet added: for a caller that adds many at once (a benchmark's thousands)."""
    now = utcnow()
    values: dict[str, Any] = {
        "consumer_id": by.id if by else None,
        "raw_text": f"{TEXT} #{serial()}",
        "zip": ZIP,
        "category": "plumbing",
        "urgency": "high",
        "contact_name": "Casey Consumer",
        "contact_email": "casey@example.com",
        **_phone_columns(phone),
        "consent_ai_calls": consent,
        "consent_at": now if consent else None,
        "phone_verified_at": now if consent else None,
        "status": LeadStatus.MATCHED.value,
    }
    return Lead(**{**values, **fields})


def received_lead(s: Session, text: str | None = None, *, phone: str = "", **fields: Any) -> Lead:
    """A request as intake stores it before the pipeline runs: received (not classified, matched or consented to
    calls), from 46032, by casey@example.com, with `phone` encrypted and hashed (none by default)."""
    values: dict[str, Any] = {
        "raw_text": text or f"{TEXT} #{serial()}",
        "zip": ZIP,
        "contact_email": "casey@example.com",
        **_phone_columns(phone),
        "status": LeadStatus.RECEIVED.value,
    }
    return _saved(s, Lead(**{**values, **fields}))


def _phone_columns(phone: str) -> dict[str, str]:
    """A lead's columns for the consumer's number as intake stores it ("" leaves them empty)."""
    return {
        "contact_phone_enc": crypto.encrypt_phone(phone),
        "contact_phone_hash": crypto.phone_hash(phone),
        "contact_phone_last4": phone[-4:],
    }


def call(s: Session, to: Lead, by: Business | None, status: str, **fields: Any) -> Call:
    """A call to the lead's consumer (their number, as the lead stores it) for `by` (None: LeadApp's own, as a
    consumer's callback), in `status`."""
    row = Call(
        lead_id=to.id,
        business_id=by.id if by else None,
        to_number_enc=to.contact_phone_enc,
        to_number_hash=to.contact_phone_hash,
        status=status,
        **fields,
    )
    return _saved(s, row)


def leaking_heater(s: Session, phone: str, email: str, name: str, *, said: str | None = None) -> Lead:
    """The request the phone bridge calls about (its tests and `bench.bridge`): `lead` with a $300–600 budget, located
    in 46032, whose text gives the number (as `said`, else as `phone`) and the email — what the call's
    instructions and the simulated consumer read."""
    return lead(
        s,
        phone=phone,
        raw_text=f"Water heater leaking in the garage. Call me at {said or phone} or {email}.",
        contact_name=name,
        contact_email=email,
        location_zip=ZIP,
        budget_min=300,
        budget_max=600,
    )


def placed_call(s: Session, to: Lead, by: Business, status: str = "ringing", provider: str = "twilio") -> Call:
    """An outbound call for `by` about `to`, already with the provider's call sid (SIM… on the simulated line,
    else CA… as Twilio's): what the bridge answers for."""
    sid = ("SIM" if provider == "simulated" else "CA") + secrets.token_hex(16)
    objective = "Confirm the job and get a budget."
    return call(s, to, by, status, objective=objective, provider=provider, provider_call_sid=sid)


def match(s: Session, of: Lead, to: Business, status: str = MatchStatus.NOTIFIED.value, **fields: Any) -> Match:
    """The request offered to a business (notified by default)."""
    return _saved(s, new_match(of, to, status, **fields))


def new_match(of: Lead, to: Business, status: str = MatchStatus.NOTIFIED.value, **fields: Any) -> Match:
    """`match`'s row, not yet added (`of` must have its id)."""
    values: dict[str, Any] = {"score": 80.0, "distance_miles": 2.5}
    return Match(lead_id=of.id, business_id=to.id, status=status, **{**values, **fields})


def plumbing_candidates(s: Session) -> set[int]:
    """The ids of the businesses the matcher would consider for a plumbing request in Carmel in June (whether a
    business gets leads at all: verified, active, serving there)."""
    features = match_service.LeadFeatures(
        category="plumbing",
        urgency=None,
        budget_min=None,
        budget_max=None,
        location=(39.97, -86.12),
        key_requirements=(),
        month=6,
    )
    return {b.id for b in match_service.candidate_businesses(s, features)}


def quote(s: Session, on: Match, cents: int = 45_000, *, days: int = 7, **fields: Any) -> Quote:
    """An open fixed-price quote on a match, valid for `days` more days (negative: already past its day)."""
    ends = utcnow() + timedelta(days=days)
    values: dict[str, Any] = {
        "amount_min_cents": cents,
        "amount_max_cents": cents,
        "included": "Parts and labour",
        "valid_until": ends.date(),
        "expires_at": ends,
        "status": QuoteStatus.SENT.value,
    }
    row = Quote(lead_id=on.lead_id, business_id=on.business_id, match_id=on.id, **{**values, **fields})
    return _saved(s, row)


def conversion(s: Session, of: Match, cents: int, at: datetime) -> Conversion:
    """The job the match led to, reported done at `at` and worth `cents`."""
    row = Conversion(
        lead_id=of.lead_id, business_id=of.business_id, match_id=of.id, job_value_cents=cents, created_at=at
    )
    return _saved(s, row)


def notification(s: Session, recipient: str, *, channel: str = "email", **fields: Any) -> Notification:
    """A pending notice of a new lead to `recipient`, made the way the app makes one (`notify.create_notification`,
    once per dedupe key: a new key unless one is given)."""
    values: dict[str, Any] = {
        "kind": "business_new_lead",
        "subject": "",
        "text": "LeadApp: a new lead matches your business.",
        "html": "",
        "dedupe_key": f"test:{serial()}",
    }
    return notify.create_notification(s, channel=channel, recipient=recipient, **{**values, **fields})


@dataclass
class People:
    """One of each kind of account: an admin, a consumer, a business owner, and an admin who was disabled."""

    admin: User
    consumer: User
    owner: User
    disabled_admin: User


def people(s: Session) -> People:
    """Admin admin@example.com, consumer casey@example.com, owner pat@example.com (no business) and admin
    former-admin@example.com, disabled by the first. Committed."""
    staff = admin(s, "admin@example.com")
    casey, pat = consumer(s, "casey@example.com"), owner(s, "pat@example.com")
    former = admin(s, "former-admin@example.com")
    accounts.set_active(s, staff, former.id, False)  # type: ignore[arg-type]
    s.commit()
    return People(staff, casey, pat, former)


@dataclass
class Rivals:
    """Two businesses, each with its owner, plus a consumer and an admin: who a scenario's rows belong to."""

    owner: User
    other_owner: User
    consumer: User
    admin: User
    business: Business
    other_business: Business


def rivals(s: Session) -> Rivals:
    """Owner plumber@example.com's Carmel Plumbing (Carmel, IN 46032, rated 4.8) and owner drains@example.com's
    Quick Drains (46033, rated 4.1), consumer casey@example.com and admin admin@example.com. Committed."""
    casey = consumer(s, "casey@example.com")
    plumber, drains = owner(s, "plumber@example.com"), owner(s, "drains@example.com")
    staff = admin(s, "admin@example.com")
    mine = business(s, plumber, "Carmel Plumbing", rating=4.8, city="Carmel", state="IN")
    theirs = business(s, drains, "Quick Drains", zip="46033", rating=4.1)
    s.commit()
    return Rivals(plumber, drains, casey, staff, mine, theirs)


@dataclass
class TwoBusinesses:
    owner: User
    other_owner: User
    consumer: User
    other_consumer: User
    admin: User
    business: Business
    other_business: Business
    lead: Lead
    match: Match
    other_match: Match


def two_businesses(s: Session, *, accepted: bool, **lead_fields: Any) -> TwoBusinesses:
    """Consumer Casey's request matched to two businesses (Carmel Plumbing, and Quick Drains scored 70 in 46033),
    each with its own owner, plus another consumer and an admin; `accepted`: both businesses accepted it (else
    both were notified). Committed."""
    plumber, drains = owner(s, "plumber@example.com"), owner(s, "drains@example.com")
    casey, mallory = consumer(s, "casey@example.com"), consumer(s, "mallory@example.com")
    staff = admin(s, "admin@example.com")
    first = business(s, plumber, "Carmel Plumbing")
    second = business(s, drains, "Quick Drains", zip="46033")
    status = {"status": MatchStatus.ACCEPTED.value} if accepted else {}
    request = lead(s, casey, **({"status": LeadStatus.ACCEPTED.value} if accepted else {}), **lead_fields)
    one, two = match(s, request, first, **status), match(s, request, second, score=70.0, **status)
    s.commit()
    return TwoBusinesses(plumber, drains, casey, mallory, staff, first, second, request, one, two)


def won_job(s: Session, **lead_fields: Any) -> tuple[TwoBusinesses, Conversion]:
    """`two_businesses` accepted, with Carmel Plumbing's job marked won by its owner ($450): the world and the
    conversion (whose review link the consumer gets). Committed."""
    w = two_businesses(s, accepted=True, **lead_fields)
    won = inbox.mark_converted(s, w.owner, w.match.id, "450")  # type: ignore[arg-type]
    s.commit()
    return w, won


def contact_message(s: Session, name: str = "Ann") -> int:
    """A new message through the contact form from `name`; its id. Committed."""
    stored = contact.submit_message(
        s, name=name, email=f"{name.lower()}@example.com", subject="Hi", body="Please call me back soon."
    )
    s.commit()
    assert stored.id is not None
    return stored.id


def stored_message(s: Session, message_id: int) -> ContactMessage:
    """A contact message as the database holds it now."""
    s.expire_all()
    row = s.get(ContactMessage, message_id)
    assert row is not None
    return row


def tab_state(s: Session, cls: type[rx.State], user: User | None) -> Any:
    """The page state `cls` of a tab logged in as `user` (None: no session cookie), as Reflex builds it."""
    root = rx.State(_reflex_internal_init=True)
    state = root.get_substate(cls.get_full_name().split(".")[1:])
    if user is not None:
        state.session_token = accounts.open_session(s, user)
        s.commit()
    return state


def answered_interview(s: Session, answers: Iterable[str]) -> tuple[str, interview.Turn]:
    """An anonymous guided interview given `answers` in order: its owner token and the turn after the last answer."""
    token, turn = interview.start(s, None)
    for answer in answers:
        turn = interview.reply(s, token, None, answer)
    return token, turn


def matched_lead(s: Session, submission: Submission) -> list[Match]:
    """`submission` through intake and the pipeline, in this process (it must end matched): the lead's matches,
    as the database holds them now."""
    accepted = submit(s, submission)
    assert process_lead(accepted.lead_id) == "matched", accepted.lead_id
    s.expire_all()
    return list(s.exec(select(Match).where(Match.lead_id == accepted.lead_id)).all())
