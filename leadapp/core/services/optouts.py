"""Opt-outs: a person withdrawing consent to AI calls, through whichever channel they use.

Channels, kept as the `source` of the number's do-not-call entry:
- `call`: the person told the AI assistant not to call again (the realtime session's `do_not_call` tool);
- `sms`: a text reply STOP (texts stop too) or STOP CALLS (AI calls only; texts go on);
- `portal`: the consumer's "No AI calls" switch in the portal;
- `admin`, `import`: an admin listed the number (`admin_ops`).

Guarantees:
- A withdrawal is recorded as the number's do-not-call entry: its keyed hash (never the number itself), a
  masked display form, the time, the channel, the person's own words (`wording`) and where it happened (call,
  lead, consumer). The first withdrawal of a number creates the entry; a later one through another channel
  leaves it as it is. Every withdrawal is in the audit trail (`consent.withdraw`).
- From the commit on, no AI call reaches the number: calls to it that were not dialled yet are cancelled with
  the reason, and every call is checked against the list again when it is dialled (`calls.placement_refusal`).
- The portal switch acts on the numbers of the consumer's own requests only, and turning it off removes only
  the entries that switch made for that consumer; a withdrawal made by call, text or an admin stays.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from leadapp.core import crypto
from leadapp.core.db import insert_new
from leadapp.core.errors import UserError
from leadapp.core.events import publish_after_commit
from leadapp.core.models import Call, DoNotCall, Lead, User, utcnow
from leadapp.core.observability import get_logger
from leadapp.core.services import access, audit
from leadapp.core.vocab import DNC_SOURCE_LABELS, CallOutcome, CallStatus, DncSource

log = get_logger(__name__)

CONSUMER_SOURCES = (DncSource.CALL.value, DncSource.SMS.value, DncSource.PORTAL.value)
"""Entries the person asked for themselves (rather than an admin)."""
PORTAL_WORDING = 'Turned on "No AI calls" in the LeadApp portal'
NOT_DIALLED = (CallStatus.REQUESTED.value, CallStatus.SCHEDULED.value)
WITHDRAWN_ERROR = "the number asked not to receive AI calls"


def _entry(session: Session, digest: str) -> DoNotCall | None:
    return session.exec(select(DoNotCall).where(DoNotCall.phone_hash == digest)).first()


def withdraw(
    session: Session,
    *,
    phone_hash: str,
    phone_display: str,
    source: DncSource,
    wording: str,
    reason: str,
    call_id: int | None = None,
    lead_id: int | None = None,
    user_id: int | None = None,
) -> tuple[DoNotCall, bool]:
    """Record that this number withdrew consent to AI calls; returns (its do-not-call entry, created now).

    Idempotent and race-free (INSERT … ON CONFLICT DO NOTHING on the hash): an existing entry is returned as
    it is. Calls to the number not dialled yet are cancelled. Audited either way. Does not commit.
    """
    if not phone_hash:
        raise ValueError("a withdrawal needs the number's keyed hash")
    row = DoNotCall(
        phone_hash=phone_hash,
        phone_display=phone_display[:32],
        reason=reason[:500],
        source=source.value,
        wording=" ".join((wording or "").split())[:500],
        call_id=call_id,
        lead_id=lead_id,
        created_by_id=user_id,
        created_at=utcnow(),
    )
    created = _entry(session, phone_hash) is None
    insert_new(session, DoNotCall, [row.model_dump(exclude={"id"})], ["phone_hash"])
    entry = _entry(session, phone_hash)
    assert entry is not None  # inserted now, or already there
    cancelled = session.execute(
        update(Call)
        .where(col(Call.to_number_hash) == phone_hash, col(Call.status).in_(NOT_DIALLED))
        .values(status=CallStatus.CANCELED.value, error=WITHDRAWN_ERROR, updated_at=utcnow())
        .returning(Call.id, Call.business_id, Call.lead_id)
    ).all()
    for _call_id, business_id, cancelled_lead in cancelled:
        if business_id is not None:
            publish_after_commit(session, "match", business_id=business_id, lead_id=cancelled_lead)
    audit.record(
        session,
        actor_id=user_id,
        action="consent.withdraw",
        target=entry,
        after={
            "source": source.value,
            "wording": row.wording,
            "call_id": call_id,
            "lead_id": lead_id,
            "new_entry": created,
            "calls_cancelled": [c[0] for c in cancelled],
        },
    )
    log.info("ai_call_consent_withdrawn", source=source.value, created=created, cancelled=len(cancelled))
    return entry, created


def record_call_opt_out(session: Session, call_id: int, caller_words: str) -> DoNotCall | None:
    """The person on a call told the assistant not to call again (the `do_not_call` tool).

    Their number goes on the list (source `call`, their words, the call and its lead) and the call's outcome is
    `declined`. None when the call has no number (nothing to list). Does not commit.
    """
    call = session.get(Call, call_id)
    if call is None or not call.to_number_hash:
        return None
    number = crypto.decrypt_phone(call.to_number_enc)
    entry, _ = withdraw(
        session,
        phone_hash=call.to_number_hash,
        phone_display=crypto.mask_phone(number) if number else "",
        source=DncSource.CALL,
        wording=caller_words or "(asked the assistant not to call again)",
        reason=f"Asked on AI call #{call_id}",
        call_id=call_id,
        lead_id=call.lead_id,
    )
    call.outcome = CallOutcome.DECLINED.value
    call.updated_at = utcnow()
    session.add(call)
    publish_after_commit(session, "call", call_id=call.id, business_id=call.business_id)
    return entry


def record_sms_opt_out(session: Session, phone_e164: str, body: str) -> DoNotCall | None:
    """A text reply that withdraws consent to AI calls (STOP, STOP CALLS): the number goes on the list with the
    message's words. None for a sender that is not a phone number. Does not commit."""
    digest = crypto.phone_hash(phone_e164)
    if not digest:
        return None
    entry, _ = withdraw(
        session,
        phone_hash=digest,
        phone_display=crypto.mask_phone(phone_e164),
        source=DncSource.SMS,
        wording=body,
        reason="Replied to a text",
    )
    return entry


# --- the portal switch ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NumberState:
    """One number of the consumer's requests, as the portal switch shows it."""

    display: str
    listed: bool
    source: str = ""
    since: str = ""
    removable: bool = False
    """Listed by this consumer's switch (the switch can take it off again)."""

    @property
    def label(self) -> str:
        return DNC_SOURCE_LABELS.get(self.source, self.source)


@dataclass(frozen=True)
class SwitchState:
    """The "No AI calls" switch: on when every number of the consumer's requests is on the list."""

    numbers: list[NumberState]

    @property
    def on(self) -> bool:
        return bool(self.numbers) and all(n.listed for n in self.numbers)

    @property
    def locked(self) -> list[NumberState]:
        """Numbers listed through another channel: turning the switch off leaves them listed."""
        return [n for n in self.numbers if n.listed and not n.removable]


def _consumer_numbers(session: Session, user: User) -> dict[str, tuple[str, int]]:
    """{phone hash: (encrypted number, a lead id)} of the consumer's requests that are not deleted."""
    rows = session.exec(
        select(Lead.contact_phone_hash, Lead.contact_phone_enc, Lead.id)
        .where(Lead.consumer_id == user.id, col(Lead.deleted_at).is_(None), Lead.contact_phone_hash != "")
        .order_by(col(Lead.id).desc())
    ).all()
    numbers: dict[str, tuple[str, int]] = {}
    for digest, enc, lead_id in rows:
        numbers.setdefault(digest, (enc, lead_id))  # type: ignore[arg-type]
    return numbers


def _display(enc: str) -> str:
    number = crypto.decrypt_phone(enc)
    return crypto.mask_phone(number) if number else "•••"


def ai_calls_switch(session: Session, user: User | None) -> SwitchState:
    """Where each number of the consumer's requests stands on the do-not-call list (consumers only)."""
    access.require_area(user, access.Area.CONSUMER)
    assert user is not None
    numbers = _consumer_numbers(session, user)
    entries = (
        {e.phone_hash: e for e in session.exec(select(DoNotCall).where(col(DoNotCall.phone_hash).in_(list(numbers))))}
        if numbers
        else {}
    )
    states = []
    for digest, (enc, _lead_id) in numbers.items():
        entry = entries.get(digest)
        states.append(
            NumberState(
                display=_display(enc),
                listed=entry is not None,
                source=entry.source if entry else "",
                since=entry.created_at.strftime("%Y-%m-%d") if entry else "",
                removable=bool(entry and entry.source == DncSource.PORTAL.value and entry.created_by_id == user.id),
            )
        )
    return SwitchState(states)


def set_no_ai_calls(session: Session, user: User | None, on: bool) -> SwitchState:
    """Turn the consumer's "No AI calls" switch on (every number of their requests withdraws AI-call consent,
    source `portal`) or off (the entries this switch made for them are removed; audited `consent.restore`).

    Refused with a reason when none of their requests has a phone number. Does not commit.
    """
    access.require_area(user, access.Area.CONSUMER)
    assert user is not None
    numbers = _consumer_numbers(session, user)
    if not numbers:
        raise UserError("None of your requests has a phone number, so there are no AI calls to stop.", field="ai_calls")
    if on:
        for digest, (enc, lead_id) in numbers.items():
            withdraw(
                session,
                phone_hash=digest,
                phone_display=_display(enc),
                source=DncSource.PORTAL,
                wording=PORTAL_WORDING,
                reason="Consumer turned off AI calls",
                lead_id=lead_id,
                user_id=user.id,
            )
    else:
        removed = session.execute(
            delete(DoNotCall)
            .where(
                col(DoNotCall.phone_hash).in_(list(numbers)),
                DoNotCall.source == DncSource.PORTAL.value,
                DoNotCall.created_by_id == user.id,
            )
            .returning(DoNotCall.id)
        ).all()
        audit.record(
            session,
            actor_id=user.id,
            action="consent.restore",
            target_type=DoNotCall.__tablename__,
            after={"source": DncSource.PORTAL.value, "removed": [r[0] for r in removed]},
        )
    for _digest, (_enc, lead_id) in numbers.items():
        publish_after_commit(session, "lead", lead_id=lead_id, consumer_id=user.id)
    return ai_calls_switch(session, user)


# --- the tracking page's switch -----------------------------------------------------------------------

LINK_WORDING = 'Turned on "No AI calls" on the request\'s tracking page'


@dataclass(frozen=True)
class LinkSwitch:
    """The "No AI calls" switch of one request's tracking page (its number only)."""

    has_number: bool
    on: bool
    """The request's number is on the do-not-call list, whoever put it there."""
    removable: bool = False
    """Listed by the switch of this request's consumer (tracking page or portal): the page can take it off."""


def _link_entry_removable(entry: DoNotCall, lead: Lead) -> bool:
    return entry.source == DncSource.PORTAL.value and entry.created_by_id == lead.consumer_id


def link_switch(session: Session, lead: Lead) -> LinkSwitch:
    """Where the number of `lead` stands; the caller has checked the tracking link names this lead."""
    if not lead.contact_phone_hash:
        return LinkSwitch(has_number=False, on=False)
    entry = _entry(session, lead.contact_phone_hash)
    removable = entry is not None and _link_entry_removable(entry, lead)
    return LinkSwitch(has_number=True, on=entry is not None, removable=removable)


def set_link_no_ai_calls(session: Session, lead: Lead, on: bool) -> LinkSwitch:
    """Turn "No AI calls" on or off for the number of the one request a tracking link names (the caller has
    verified the link: whoever holds it speaks for that request, as for its callback and withdrawal).

    On: the number withdraws AI-call consent (source `portal`, the page's wording, the request; made for its
    consumer when it has an account, so their portal switch can undo it too). Off: removes only an entry made by
    this request's consumer's switch; a withdrawal by call, text or an admin stays (refused with the reason).
    Refused when the request has no phone number. Does not commit.
    """
    if not lead.contact_phone_hash:
        raise UserError("This request has no phone number, so there are no AI calls to stop.", field="ai_calls")
    if on:
        withdraw(
            session,
            phone_hash=lead.contact_phone_hash,
            phone_display=_display(lead.contact_phone_enc),
            source=DncSource.PORTAL,
            wording=LINK_WORDING,
            reason="Consumer turned off AI calls",
            lead_id=lead.id,
            user_id=lead.consumer_id,
        )
    else:
        entry = _entry(session, lead.contact_phone_hash)
        if entry is not None and not _link_entry_removable(entry, lead):
            raise UserError(
                f"This number stays on the do-not-call list: {DNC_SOURCE_LABELS.get(entry.source, entry.source)}.",
                field="ai_calls",
            )
        if entry is not None:
            audit.record(
                session,
                actor_id=lead.consumer_id,
                action="consent.restore",
                target=entry,
                after={"source": entry.source, "removed": [entry.id], "lead_id": lead.id},
            )
            session.delete(entry)
            session.flush()
    publish_after_commit(session, "lead", lead_id=lead.id, consumer_id=lead.consumer_id)
    return link_switch(session, lead)
