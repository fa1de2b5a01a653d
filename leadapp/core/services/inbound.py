"""A business's own phone line: connecting a number to the AI receptionist, its calls, and the leads they become.

A call to a business's number is answered by the bridge as that business's receptionist; when it ends it
becomes the business's own lead (`conversation.finish_call` → intake → the pipeline's direct match), shown as
"called you" and notified to it at once. The business may release such a lead to the marketplace.

Guarantees:
- Only the business's owner or an admin reads or changes its line, simulates a call to it or releases its
  leads (`access.can_manage_business`, through `businesses.get_business`); to an owner, another business's
  id and a missing one answer the same.
- A number belongs to one business at most: checked first for a clear message, and settled by the unique
  index on `businesses.inbound_number` when two connect it at once.
- With a Twilio account: the number must be one of the account's (fetched by its SID), take voice calls and
  not hang off a SIP trunk. Its voice url and status callback are pointed at the bridge (POST), any voice
  application detached; its former voice settings are kept and put back when it is disconnected. The row is
  written (flushed) first and committed only once Twilio took the change, so a Twilio refusal leaves nothing
  changed, anywhere, and says why.
- Without one: a local number for the simulated line, from 555-0100…0199 (reserved for fiction, never
  dialled), unique like any other. "Simulate an inbound call" stores the call first and enqueues the job that
  runs the real bridge session against the local realtime peer and a scripted caller once that commits; one
  simulated call per business at a time.
- Releasing: only a lead from a call to the business's own number, not accepted by it, not held back by the
  classifier or an admin, once. The lead goes back to `classified`, the change is committed, then the
  pipeline matches it like any lead (the business keeps its own match, and nobody else is left out).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from leadapp.core import crypto, phones
from leadapp.core.db import session_scope
from leadapp.core.errors import UserError
from leadapp.core.events import publish_after_commit, run_after_commit
from leadapp.core.models import Business, Call, Lead, User, utcnow
from leadapp.core.observability import get_logger
from leadapp.core.providers import telephony
from leadapp.core.services import access, audit, businesses, intake
from leadapp.core.services.calls.pricing import enqueue_price_check
from leadapp.core.services.inbox import CONTACT_VISIBLE
from leadapp.core.settings import get_settings
from leadapp.core.tasks import CALLS, enqueue
from leadapp.core.vocab import CallDirection, CallOutcome, CallStatus, CallType, LeadStatus

log = get_logger(__name__)

INBOUND_PATH = "/twilio/inbound"
INBOUND_STATUS_PATH = "/twilio/inbound/status"
NUMBER_SID = re.compile(r"PN[0-9a-fA-F]{32}")
LOCAL_AREA_CODES = ("317", "212", "312", "415", "512", "206", "303", "404", "617", "702")
"""Local numbers are +1 <area> 555-01xx: the NANP range reserved for fiction, so no real phone has one."""
SIMULATED_CALLER = "+13178462200"
"""Who "calls" in a simulated inbound call (the demo consumer's number; nothing is ever dialled)."""
SIMULATED_CALL_GUARD = timedelta(minutes=5)
"""A simulated call younger than this that has not ended blocks another one for the same business."""
SIMULATED_CALL_JOB = "worker.jobs.run_simulated_inbound_call"
INBOUND_CARRIER_CENTS_PER_MINUTE = 0.85
"""Twilio's US price of a received call per started minute ($0.0085)."""
MODE_TWILIO, MODE_LOCAL = "twilio", "local"
TERMINAL_TWILIO_STATUSES = ("completed", "busy", "no-answer", "canceled", "failed")
UNANSWERED_TWILIO_STATUSES = ("busy", "no-answer", "canceled")


@dataclass(frozen=True)
class PhoneLine:
    """A business's line as its settings show it."""

    number: str
    """E.164, "" when none is connected."""
    mode: str
    """MODE_TWILIO (a number of the account), MODE_LOCAL (the simulated line) or ""."""
    connected_at: str
    account_configured: bool
    """True when a Twilio account is configured: numbers come from it, and there is no simulated line."""

    @property
    def can_simulate(self) -> bool:
        return self.mode == MODE_LOCAL and not self.account_configured


@dataclass(frozen=True)
class NumberChoice:
    """One of the account's numbers a business may connect (numbers of other businesses are never listed)."""

    sid: str
    number: str
    friendly_name: str
    usable: bool
    note: str


def bridge_url(path: str) -> str:
    return get_settings().voice_bridge_public_url.rstrip("/") + path


def e164(number: str) -> str:
    """A phone number in E.164 when it is a valid one of any country (US by default), else "": it identifies a
    line or a caller; calling or texting it back is checked against the supported countries then."""
    try:
        return phones.parse_any_country(number)
    except phones.PhoneRefused:
        return ""


def _line_of(business: Business) -> PhoneLine:
    number = business.inbound_number or ""
    mode = "" if not number else (MODE_TWILIO if business.inbound_number_sid else MODE_LOCAL)
    when = business.inbound_connected_at
    return PhoneLine(
        number=number,
        mode=mode,
        connected_at=when.strftime("%Y-%m-%d %H:%M UTC") if when else "",
        account_configured=not telephony.is_simulated(),
    )


def _locked(session: Session, actor: User | None, business_id: int) -> Business:
    """The business `actor` manages (its owner or an admin), locked for the change (NotAllowed otherwise)."""
    businesses.get_business(session, actor, business_id)
    return businesses.locked(session, business_id)  # NotFound if deleted between the two reads


def phone_line(session: Session, actor: User | None, business_id: int) -> PhoneLine:
    """The business's line (its owner or an admin)."""
    return _line_of(businesses.get_business(session, actor, business_id))


def _twilio_failure(action: str, exc: telephony.TelephonyError) -> UserError:
    log.warning("inbound_number_twilio_failed", action=action, error=str(exc))
    if "HTTP 404" in str(exc):
        return UserError("This number is not in LeadApp's phone account.", field="number")
    return UserError(f"Twilio did not {action} ({exc}). Nothing was changed; try again.", field="number")


def available_numbers(session: Session, actor: User | None, business_id: int) -> list[NumberChoice]:
    """The account's numbers this business may connect: its own and those no other business uses.

    Raises UserError when no account is configured or Twilio does not answer.
    """
    business = businesses.get_business(session, actor, business_id)
    if telephony.is_simulated():
        raise UserError("No phone account is configured: use the local number of the simulated line.", field="number")
    try:
        numbers = telephony.list_incoming_numbers()
    except telephony.TelephonyError as exc:
        raise _twilio_failure("list the numbers", exc) from exc
    listed = [e164(n.phone_number) for n in numbers]
    taken = _numbers_in_use(session, [n for n in listed if n], business)
    choices = []
    for number, e164_number in zip(numbers, listed, strict=True):
        if not e164_number or e164_number in taken:
            continue
        note = ""
        if not number.voice_capable:
            note = "This number cannot take voice calls."
        elif number.trunk_sid:
            note = "This number is on a SIP trunk; detach it in Twilio first."
        choices.append(
            NumberChoice(number.sid, e164_number, number.friendly_name or e164_number, usable=not note, note=note)
        )
    return choices


def _numbers_in_use(session: Session, numbers: list[str], business: Business | None = None) -> set[str]:
    """Which of `numbers` another business's line uses. Numbers are unique across businesses, whose rows a
    business owner cannot see (row-level security): looked up as the system, and nothing but the numbers returned."""
    if not numbers:
        return set()
    query = select(Business.inbound_number).where(col(Business.inbound_number).in_(numbers))
    if business is not None:
        query = query.where(Business.id != business.id)
    with access.as_system(session, "phone line: the numbers other businesses use"):
        return {n for n in session.exec(query).all() if n}


def _check_free(session: Session, business: Business, number: str) -> None:
    if _numbers_in_use(session, [number], business):
        raise UserError("This number is already connected to another business.", field="number")


def _refuse_when_connected(business: Business) -> None:
    if business.inbound_number:
        raise UserError(
            f"Your calls already come in on {business.inbound_number}; disconnect it before connecting another.",
            field="number",
        )


def _flush_number(session: Session, business: Business) -> None:
    """Write the number now, so the unique index decides a race before anything else happens.

    The loser of a race gets a UserError and its transaction is rolled back whole (by the caller's scope).
    """
    session.add(business)
    try:
        session.flush()
    except IntegrityError as exc:
        raise UserError("This number was just connected to another business; try again.", field="number") from exc


def connect_twilio_number(session: Session, actor: User | None, business_id: int, number_sid: str) -> PhoneLine:
    """Point one of the account's numbers at the bridge for this business (see the module's guarantees). Audited."""
    business = _locked(session, actor, business_id)
    assert actor is not None
    if telephony.is_simulated():
        raise UserError("No phone account is configured: use the local number of the simulated line.", field="number")
    sid = (number_sid or "").strip()
    if not NUMBER_SID.fullmatch(sid):
        raise UserError("Choose one of the listed numbers.", field="number")
    _refuse_when_connected(business)
    try:
        found = telephony.fetch_incoming_number(sid)
    except telephony.TelephonyError as exc:
        raise _twilio_failure("find this number", exc) from exc
    number = e164(found.phone_number)
    if not number:
        raise UserError("This number cannot be used for calls here.", field="number")
    if not found.voice_capable:
        raise UserError("This number cannot take voice calls.", field="number")
    if found.trunk_sid:
        raise UserError("This number is on a SIP trunk; detach it in Twilio first.", field="number")
    _check_free(session, business, number)
    ours = (bridge_url(INBOUND_PATH), bridge_url(INBOUND_STATUS_PATH))
    previous = found.voice_settings()
    if previous["voice_url"] in ours:  # already ours (connected before, never let go): nothing of theirs to restore
        previous = {key: "" for key in previous}
    business.inbound_number, business.inbound_number_sid = number, found.sid
    business.inbound_previous, business.inbound_connected_at = previous, utcnow()
    business.updated_at = utcnow()
    _flush_number(session, business)
    try:
        telephony.configure_incoming_number(
            found.sid,
            {
                "voice_url": ours[0],
                "voice_method": "POST",
                "status_callback": ours[1],
                "status_callback_method": "POST",
                "voice_application_sid": "",
            },
        )
    except telephony.TelephonyError as exc:
        raise _twilio_failure("point the number at LeadApp", exc) from exc
    audit.record(
        session,
        actor_id=actor.id,
        action="business.inbound_connect",
        target=business,
        after={"inbound_number": number, "number_sid": found.sid},
    )
    log.info("inbound_number_connected", business_id=business.id, number_sid=found.sid)
    return _line_of(business)


def connect_local_number(session: Session, actor: User | None, business_id: int) -> PhoneLine:
    """Give the business a local number on the simulated line (no phone account configured). Audited."""
    business = _locked(session, actor, business_id)
    assert actor is not None
    if not telephony.is_simulated():
        raise UserError("A phone account is configured: choose one of its numbers.", field="number")
    _refuse_when_connected(business)
    candidates = [f"+1{area}55501{n:02d}" for area in LOCAL_AREA_CODES for n in range(100)]
    used = _numbers_in_use(session, candidates)
    number = next((c for c in candidates if c not in used), None)
    if number is None:
        raise UserError("No local number is free; ask LeadApp to add more.", field="number")
    business.inbound_number, business.inbound_number_sid = number, None
    business.inbound_previous, business.inbound_connected_at = None, utcnow()
    business.updated_at = utcnow()
    _flush_number(session, business)
    audit.record(
        session, actor_id=actor.id, action="business.inbound_connect", target=business, after={"inbound_number": number}
    )
    return _line_of(business)


def disconnect_number(session: Session, actor: User | None, business_id: int) -> PhoneLine:
    """Stop answering the business's number: its former voice settings go back to Twilio, then it is let go. Audited.

    A number no longer in the account (Twilio answers 404) is simply let go; any other Twilio failure changes
    nothing.
    """
    business = _locked(session, actor, business_id)
    assert actor is not None
    if not business.inbound_number:
        return _line_of(business)
    before = {"inbound_number": business.inbound_number, "number_sid": business.inbound_number_sid}
    sid, previous = business.inbound_number_sid, dict(business.inbound_previous or {})
    business.inbound_number = business.inbound_number_sid = None
    business.inbound_previous = business.inbound_connected_at = None
    business.updated_at = utcnow()
    session.add(business)
    session.flush()
    if sid and not telephony.is_simulated():
        settings = {key: str(previous.get(key) or "") for key in ("voice_url", "status_callback")}
        settings["voice_method"] = str(previous.get("voice_method") or "POST")
        settings["status_callback_method"] = str(previous.get("status_callback_method") or "POST")
        if previous.get("voice_application_sid"):
            settings["voice_application_sid"] = str(previous["voice_application_sid"])
        try:
            telephony.configure_incoming_number(sid, settings)
        except telephony.TelephonyError as exc:
            if "HTTP 404" not in str(exc):
                raise _twilio_failure("give the number back its former settings", exc) from exc
            log.info("inbound_number_gone", business_id=business.id, number_sid=sid)
    audit.record(session, actor_id=actor.id, action="business.inbound_disconnect", target=business, before=before)
    return _line_of(business)


# --- calls to the line ----------------------------------------------------------------------------


def _new_inbound_call(session: Session, business: Business, caller: str, call_sid: str, provider: str) -> Call:
    now = utcnow()
    call = Call(
        business_id=business.id,
        call_type=CallType.INBOUND.value,
        direction=CallDirection.INBOUND.value,
        objective="Answer as the business's receptionist and take the job details.",
        to_number_enc=crypto.encrypt_phone(caller) if caller else "",
        to_number_hash=crypto.phone_hash(caller) if caller else "",
        from_number=(business.inbound_number or "")[:32],
        status=CallStatus.IN_PROGRESS.value,
        provider=provider,
        provider_call_sid=call_sid or None,
        started_at=now,
        answered_at=now,
    )
    session.add(call)
    session.flush()
    publish_after_commit(session, "call", call_id=call.id, business_id=business.id)
    return call


def open_inbound_call(
    to_number: str, from_number: str, call_sid: str, provider: str = telephony.PROVIDER_TWILIO
) -> int | None:
    """The call record of an incoming call to a business's number (created once per CallSid); None if no business.

    The caller's number is stored encrypted (with its keyed hash), like every consumer number. A deactivated
    business takes no calls.
    """
    to_e164 = e164(to_number) or to_number.strip()
    caller = e164(from_number)
    with session_scope() as session:
        if call_sid:
            existing = session.exec(select(Call.id).where(Call.provider_call_sid == call_sid)).first()
            if existing is not None:
                return existing
        business = session.exec(select(Business).where(Business.inbound_number == to_e164)).first()
        if business is None or not business.is_active:
            return None
        call = _new_inbound_call(session, business, caller, call_sid, provider)
        log.info("inbound_call_opened", call_id=call.id, business_id=business.id, call_sid=call_sid)
        return call.id


def start_simulated_call(session: Session, actor: User | None, business_id: int) -> int:
    """Ring the business's local line from the simulated caller; returns the call's id.

    The call row is stored first; the job that runs it through the real bridge session (the local realtime
    peer answering as the receptionist, a scripted caller) is enqueued once that commits. When it ends, its
    lead reaches the business's inbox like any call's. Refused without a local line, with a phone account
    configured, for a deactivated business, and while another simulated call of the business is running.
    """
    business = _locked(session, actor, business_id)
    line = _line_of(business)
    if line.account_configured:
        raise UserError("A phone account is configured: call your number from a phone to try it.", field="simulate")
    if line.mode != MODE_LOCAL:
        raise UserError("Connect the local number first.", field="simulate")
    if not business.is_active:
        raise UserError("This business is deactivated and takes no calls.", field="simulate")
    running = session.exec(
        select(Call.id).where(
            Call.business_id == business.id,
            Call.direction == CallDirection.INBOUND.value,
            Call.provider == telephony.PROVIDER_SIMULATED,
            Call.status == CallStatus.IN_PROGRESS.value,
            col(Call.created_at) > utcnow() - SIMULATED_CALL_GUARD,
        )
    ).first()
    if running is not None:
        raise UserError(
            "A simulated call is already running; its lead appears in your inbox when it ends.", field="simulate"
        )
    sid = telephony.SIMULATED_SID_PREFIX + secrets.token_hex(16)
    call = _new_inbound_call(session, business, SIMULATED_CALLER, sid, telephony.PROVIDER_SIMULATED)
    assert call.id is not None
    run_after_commit(session, _enqueue_simulated_call, call.id)
    log.info("simulated_inbound_call_started", call_id=call.id, business_id=business.id)
    return call.id


def _enqueue_simulated_call(call_id: int) -> bool:
    return enqueue(CALLS, SIMULATED_CALL_JOB, call_id, job_id=f"simulated-inbound-{call_id}", keep_result=False)


def record_inbound_status(
    call_sid: str, twilio_status: str, duration_seconds: int | None, carrier_cents: float | None = None
) -> str:
    """Twilio's status callback for a call to a business's number: "recorded", "ignored" or "unknown_call".

    A final status records the carrier's cost (its reported price `carrier_cents` when the callback carried one,
    else the minutes at the estimate, and Twilio's price is then looked up: `calls.pricing`) and ends a call the
    bridge never served (the caller hung up before the stream started, busy, failed). The outcome of a call the
    bridge served is the conversation's (`conversation.finish_call`); this never replaces it.
    """
    if twilio_status not in TERMINAL_TWILIO_STATUSES:
        return "ignored"
    with session_scope() as session:
        call = session.exec(
            select(Call).where(Call.provider_call_sid == call_sid, Call.direction == CallDirection.INBOUND.value)
        ).first()
        if call is None:
            return "unknown_call"
        now = utcnow()
        if duration_seconds is not None and duration_seconds >= 0:
            call.duration_seconds = duration_seconds
            minutes = -(-duration_seconds // 60)
            call.cost_carrier_cents = round(minutes * INBOUND_CARRIER_CENTS_PER_MINUTE, 4)
        if carrier_cents is not None and not call.cost_carrier_reported:
            call.cost_carrier_cents, call.cost_carrier_reported = carrier_cents, True
        elif not call.cost_carrier_reported and call.provider == "twilio":
            run_after_commit(session, enqueue_price_check, call.id)
        call.cost_total_cents = round(call.cost_carrier_cents + call.cost_realtime_cents + call.cost_summary_cents, 4)
        if twilio_status == "failed" and call.outcome is None:
            call.status, call.outcome = CallStatus.FAILED.value, CallOutcome.ERROR.value
        elif twilio_status in UNANSWERED_TWILIO_STATUSES and call.outcome is None:
            call.status, call.outcome = CallStatus.COMPLETED.value, CallOutcome.NO_ANSWER.value
        elif call.status == CallStatus.IN_PROGRESS.value:
            call.status = CallStatus.COMPLETED.value
        call.ended_at = call.ended_at or now
        call.updated_at = now
        session.add(call)
        publish_after_commit(session, "call", call_id=call.id, business_id=call.business_id)
    return "recorded"


# --- the leads of the line ------------------------------------------------------------------------

_HELD = {
    LeadStatus.FLAGGED.value: "LeadApp is reviewing this request, so it cannot go to other businesses.",
    LeadStatus.LOW_QUALITY.value: "This request is below the marketplace's quality bar, so no other business "
    "would receive it. It stays in your inbox.",
}


def release_lead(session: Session, actor: User | None, match_id: int) -> Lead:
    """Offer a lead from a call to the business's own number to the marketplace as well (see the guarantees).

    The business keeps its match (and the lead in its inbox); the lead is committed as `classified` with
    `released_at` set, then the pipeline job is enqueued to match it to the other businesses nearby. Audited.
    """
    # The one refusal for a missing, foreign or closed (withdrawn, rejected, deleted) lead, as in the inbox.
    match, lead, business = access.business_match(session, actor, match_id, act=True)
    assert actor is not None
    if lead.business_id != business.id:
        raise UserError("Only a lead from a call to your own number can be released; this one is shared already.")
    if lead.released_at is not None:
        raise UserError("You already released this lead to the marketplace.")
    if match.status in CONTACT_VISIBLE:
        raise UserError("You accepted this lead, so it stays yours.")
    if lead.status != LeadStatus.MATCHED.value:
        raise UserError(_HELD.get(lead.status, "This lead cannot be released right now."))
    now = utcnow()
    moved = session.execute(
        update(Lead)
        .where(col(Lead.id) == lead.id, col(Lead.status) == LeadStatus.MATCHED.value, col(Lead.released_at).is_(None))
        .values(status=LeadStatus.CLASSIFIED.value, released_at=now, updated_at=now)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise UserError("This lead changed meanwhile; open it again.")
    session.refresh(lead)
    audit.record(
        session,
        actor_id=actor.id,
        action="lead.release",
        target=lead,
        before={"status": LeadStatus.MATCHED.value},
        after={"status": lead.status, "released_by_business_id": business.id},
    )
    publish_after_commit(session, "match", business_id=business.id, match_id=match.id, lead_id=lead.id)
    run_after_commit(session, intake.enqueue_pipeline, lead.id)
    log.info("lead_released", lead_id=lead.id, business_id=business.id)
    return lead
