"""Business discovery and invitations: find prospective businesses, qualify them, invite them by email,
follow up on day 3, 7 and 14, and track the funnel found → invited → clicked → activated.

Life of a prospect::

    found ──invite──▶ invited ──sign-up link opened──▶ clicked ──account created──▶ activated
      │                  └──────────────┴── unsubscribe link ──▶ unsubscribed
      └ fails a rule: disqualified (checked again at every discovery of the same place)

Qualified means: rating ≥ `MIN_RATING`, at least `MIN_REVIEWS` reviews, a phone number, and open —
not closed (temporarily or permanently) by its business status, or, when the provider gives no
business status, not shown closed by its opening hours. A prospect is stored once per place id,
whatever it failed (with the reasons), so discovering the same ZIP and category again updates rows.

Invitation links. The token is `<invitation id>.<HMAC-SHA256 of the invitation under SECRET_KEY>`:
unguessable without the key, and recomputable from the row, so follow-ups repeat the very same links
while the database stores only the token's SHA-256 (`token_hash`). One token serves both links:
`{APP_URL}/register?role=business_owner&invite=<token>` and `{APP_URL}/unsubscribe/<token>`.
A link only attributes (click, sign-up) or unsubscribes; it grants no access, so it does not expire.

Follow-ups. `invite` commits the invitation, its email and the audit event, then enqueues the send and
schedules follow-ups 1, 2 and 3 at `sent_at` + 3, 7 and 14 days as RQ scheduled jobs (job ids
`invitation-<id>-followup-<n>`; RQ's scheduler, run by the workers, enqueues them when due). The job
body decides: a follow-up is sent only while the invitation is not stopped — by sign-up (an account
with that email, or activation through the link), by disqualification, or by unsubscribing — and at
most once (`followups_sent`, and one notification per follow-up by its dedupe key). When Redis was
down at invite time, `sweep_followups` (hourly) enqueues whatever follow-up is overdue.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import zipcodes
from redis.exceptions import RedisError
from sqlalchemy import case, distinct, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from leadapp.core.db import session_scope
from leadapp.core.errors import FieldErrors, NotFound, UserError
from leadapp.core.links import (
    invitation_token,
    signup_link,
    unsubscribe_link,
)
from leadapp.core.models import Invitation, Notification, Prospect, User, utcnow
from leadapp.core.observability import get_logger, report_exception
from leadapp.core.providers import places as places_provider
from leadapp.core.providers.places import CLOSED_PERMANENTLY, CLOSED_TEMPORARILY, Place, PlacesError
from leadapp.core.services import access, audit, notify
from leadapp.core.services.accounts import normalize_email, token_digest
from leadapp.core.services.compose import category_label, html_from_text
from leadapp.core.tasks import NOTIFICATIONS, enqueue, queue
from leadapp.core.vocab import Category, Channel, NotificationKind, ProspectStatus

log = get_logger(__name__)

MIN_RATING = 3.5
MIN_REVIEWS = 5
FOLLOWUP_DAYS: dict[int, int] = {1: 3, 2: 7, 3: 14}
"""Follow-up number → days after the invitation was sent."""
FOLLOWUP_JOB = "worker.jobs.invitation_followup"
SWEEP_GRACE = timedelta(hours=1)
"""How overdue a follow-up must be before the sweeper enqueues it (RQ's scheduler gets the first chance)."""
SWEEP_BATCH = 500
FUNNEL_MAX_ROWS = 100
JOB_RESULT_TTL = 7 * 24 * 3600

STOP_ACTIVATED = "activated"
STOP_SIGNED_UP = "signed_up"
STOP_UNSUBSCRIBED = "unsubscribed"
STOP_DISQUALIFIED = "disqualified"
STOP_LINK_KEY_CHANGED = "link_key_changed"

_FOUND = ProspectStatus.FOUND.value
_DISQUALIFIED = ProspectStatus.DISQUALIFIED.value
_INVITED = ProspectStatus.INVITED.value
_CLICKED = ProspectStatus.CLICKED.value
_ACTIVATED = ProspectStatus.ACTIVATED.value
_UNSUBSCRIBED = ProspectStatus.UNSUBSCRIBED.value
_FINAL = frozenset({_ACTIVATED, _UNSUBSCRIBED})


# --- qualification --------------------------------------------------------------------------------


def disqualify_reasons(place: Place) -> list[str]:
    """Every qualification rule `place` fails, in words (empty: it qualifies)."""
    reasons: list[str] = []
    if place.rating is None:
        reasons.append("no rating")
    elif place.rating < MIN_RATING:
        reasons.append(f"rating {place.rating:.1f} is below {MIN_RATING}")
    if place.review_count < MIN_REVIEWS:
        noun = "review" if place.review_count == 1 else "reviews"
        reasons.append(f"{place.review_count} {noun} (at least {MIN_REVIEWS} needed)")
    if not place.phone.strip():
        reasons.append("no phone number")
    elif not notify.normalize_phone(place.phone).startswith("+"):
        reasons.append("phone number not usable")
    if place.business_status == CLOSED_PERMANENTLY:
        reasons.append("closed permanently")
    elif place.business_status == CLOSED_TEMPORARILY:
        reasons.append("closed temporarily")
    elif place.in_business is False:
        reasons.append("not open")
    return reasons


# --- discovery ------------------------------------------------------------------------------------


def _check_search(zip_code: str, category: str) -> tuple[str, str]:
    zip_code, category = (zip_code or "").strip(), (category or "").strip()
    errors: dict[str, str] = {}
    if not (len(zip_code) == 5 and zip_code.isdigit() and zipcodes.is_real(zip_code)):
        errors["zip"] = "Enter a valid 5-digit US ZIP code."
    if category not in {c.value for c in Category}:
        errors["category"] = "Choose a service category."
    if errors:
        raise FieldErrors(errors)
    return zip_code, category


def _apply(prospect: Prospect, place: Place, reasons: list[str], invitation: Invitation | None) -> None:
    """Copy the provider's facts onto the row and move its status by the qualification result."""
    prospect.source = place.source[:16]
    prospect.name = place.name[:200]
    prospect.phone = notify.normalize_phone(place.phone)[:32]
    prospect.website = place.website[:500]
    prospect.address = place.address[:300]
    prospect.email = prospect.email or place.email[:320]
    prospect.rating = place.rating
    prospect.review_count = place.review_count
    prospect.open_now = place.in_business
    if prospect.status in _FINAL:  # the business decided; a listing change does not undo that
        return
    if reasons:
        # Also an invited prospect: its follow-ups stop (the follow-up job checks the status).
        prospect.status, prospect.disqualify_reason = _DISQUALIFIED, "; ".join(reasons)[:300]
        return
    prospect.disqualify_reason = ""
    if prospect.status == _DISQUALIFIED:
        if invitation is None:
            prospect.status = _FOUND
        else:
            prospect.status = _CLICKED if invitation.clicked_at else _INVITED


def _upsert(session: Session, place: Place, zip_code: str, category: str) -> Prospect:
    reasons = disqualify_reasons(place)
    lookup = select(Prospect).where(Prospect.place_id == place.place_id)
    prospect = session.exec(lookup).first()
    if prospect is None:
        fresh = Prospect(place_id=place.place_id[:200], name=place.name[:200], zip=(place.zip or zip_code)[:10])
        fresh.category = category
        _apply(fresh, place, reasons, None)
        try:
            with session.begin_nested():  # a concurrent discovery may insert the same place first
                session.add(fresh)
            return fresh
        except IntegrityError:
            prospect = session.exec(lookup).first()
            if prospect is None:
                raise
    # A place keeps the ZIP and category it was first found under, so funnel rows stay put.
    prospect.zip = prospect.zip or (place.zip or zip_code)[:10]
    _apply(prospect, place, reasons, latest_invitation(session, prospect.id))
    session.add(prospect)
    return prospect


def discover(session: Session, actor: User | None, zip_code: str, category: str) -> list[Prospect]:
    """Admins only: find businesses of `category` near `zip_code`, qualify each and store it; returns them.

    Upserts by place id (running it twice leaves one row per place, updated); every place is stored,
    qualified (`found`) or `disqualified` with its reasons. Invited, activated and unsubscribed prospects
    keep their status unless they now fail a rule (activated/unsubscribed ones keep it even then).
    Audited. Does not commit. Raises FieldErrors for a bad ZIP or category, UserError when the provider fails.
    """
    admin = access.require_admin(actor)
    zip_code, category = _check_search(zip_code, category)
    try:
        found = places_provider.find_places(zip_code, category)
    except PlacesError as exc:
        report_exception(exc, where="discovery", zip=zip_code, category=category)
        raise UserError(f"The places search failed ({exc}). Try again later.") from exc
    prospects: list[Prospect] = []
    seen: set[str] = set()
    for place in found:
        if place.place_id in seen:
            continue
        seen.add(place.place_id)
        prospects.append(_upsert(session, place, zip_code, category))
    session.flush()
    qualified = sum(1 for p in prospects if p.status != _DISQUALIFIED)
    audit.record(
        session,
        actor_id=admin.id,
        action="prospects.discover",
        target_type="prospects",
        target_id=f"{zip_code}/{category}",
        after={
            "source": found[0].source if found else "",
            "found": len(prospects),
            "qualified": qualified,
            "disqualified": len(prospects) - qualified,
        },
    )
    log.info("prospects_discovered", zip=zip_code, category=category, found=len(prospects), qualified=qualified)
    return prospects


def latest_invitation(session: Session, prospect_id: int | None) -> Invitation | None:
    if prospect_id is None:
        return None
    query = select(Invitation).where(Invitation.prospect_id == prospect_id).order_by(col(Invitation.id).desc())
    return session.exec(query).first()


def invitations_for(session: Session, actor: User | None, prospect_ids: Iterable[int]) -> dict[int, Invitation]:
    """Admins only: the latest invitation of each of these prospects that has one."""
    access.require_admin(actor)
    ids = list(prospect_ids)
    if not ids:
        return {}
    rows = session.exec(
        select(Invitation).where(col(Invitation.prospect_id).in_(ids)).order_by(col(Invitation.id))
    ).all()
    return {row.prospect_id: row for row in rows}


def get_prospects(session: Session, actor: User | None, prospect_ids: Sequence[int]) -> list[Prospect]:
    """Admins only: these prospects, in the order given (unknown ids left out)."""
    access.require_admin(actor)
    if not prospect_ids:
        return []
    rows = {p.id: p for p in session.exec(select(Prospect).where(col(Prospect.id).in_(list(prospect_ids)))).all()}
    return [rows[i] for i in prospect_ids if i in rows]


# --- links ----------------------------------------------------------------------------------------


def invitation_for_token(session: Session, token: str) -> Invitation | None:
    """The invitation behind a link token, or None for anything that is not one."""
    token = (token or "").strip()
    if not token or len(token) > 200:
        return None
    return session.exec(select(Invitation).where(Invitation.token_hash == token_digest(token))).first()


def prospect_of(session: Session, invitation: Invitation) -> Prospect | None:
    return session.get(Prospect, invitation.prospect_id)


# --- messages -------------------------------------------------------------------------------------

# Subject and opening words of the invitation (0) and of each follow-up.
_OPENERS: dict[int, tuple[str, str]] = {
    0: ("{name}: new customers from {zip}, free", "LeadApp sends people's service requests in {zip} to"),
    1: ("Reminder: {name}, customers in {zip} are asking", "A short reminder: LeadApp sends requests in {zip} to"),
    2: ("{name}, still interested in local leads?", "We wrote a few days ago: LeadApp sends requests in {zip} to"),
    3: ("Last note from LeadApp for {name}", "This is our last note: LeadApp sends service requests in {zip} to"),
}


def _message(prospect: Prospect, token: str, number: int) -> tuple[str, str, str]:
    """(subject, text, html) of the invitation (number 0) or of follow-up `number`."""
    subject_template, opener = _OPENERS[number]
    label = category_label(prospect.category).lower()
    where = prospect.zip or "your area"
    signup, leave = signup_link(token), unsubscribe_link(token)
    standing = ""
    if prospect.rating:
        standing = f" With {prospect.rating:.1f} stars from {prospect.review_count} reviews, {prospect.name} is one."
    text = "\n\n".join(
        [
            f"Hello {prospect.name},",
            f"{opener.format(zip=where)} trusted local {label} businesses.{standing}",
            "Joining is free: new requests reach you by email or text within seconds, you choose the ones you "
            "want, and the customer's details are yours once you accept.",
            f"Create your free business account: {signup}",
            f"Not interested? Unsubscribe with one click and we will not write again: {leave}",
        ]
    )
    subject = subject_template.format(name=prospect.name, zip=where)[:200]
    return subject, text, html_from_text(text, signup, leave)


def _create_email(session: Session, invitation: Invitation, prospect: Prospect, number: int) -> int:
    """The pending notification of the invitation (0) or of follow-up `number`; returns its id."""
    subject, text, html = _message(prospect, invitation_token(invitation), number)
    kind = NotificationKind.INVITATION if number == 0 else NotificationKind.INVITATION_FOLLOWUP
    suffix = "initial" if number == 0 else f"followup:{number}"
    row = notify.create_notification(
        session,
        kind=kind.value,
        channel=Channel.EMAIL.value,
        recipient=invitation.email,
        subject=subject,
        text=text,
        html=html,
        dedupe_key=f"invitation:{invitation.id}:{suffix}",
    )
    assert row.id is not None
    return row.id


# --- inviting -------------------------------------------------------------------------------------


def _followup_job_id(invitation_id: int, number: int) -> str:
    return f"invitation-{invitation_id}-followup-{number}"


def schedule_followups(invitation: Invitation) -> int:
    """Schedule the follow-ups not sent yet as RQ jobs at `sent_at` + 3/7/14 days; returns how many are waiting.

    Idempotent: a follow-up whose job is already scheduled or queued is not scheduled again. When Redis
    is down nothing is scheduled (logged), and `sweep_followups` enqueues what becomes overdue.
    """
    assert invitation.id is not None and invitation.sent_at is not None
    waiting = 0
    try:
        q = queue(NOTIFICATIONS)
        for number, days in FOLLOWUP_DAYS.items():
            if number <= invitation.followups_sent:
                continue
            job_id = _followup_job_id(invitation.id, number)
            existing = q.fetch_job(job_id)
            if existing is not None and existing.get_status(refresh=True) in ("scheduled", "queued", "deferred"):
                waiting += 1
                continue
            q.enqueue_at(
                invitation.sent_at + timedelta(days=days),
                FOLLOWUP_JOB,
                invitation.id,
                number,
                job_id=job_id,
                result_ttl=JOB_RESULT_TTL,
                failure_ttl=JOB_RESULT_TTL,
            )
            waiting += 1
    except RedisError as exc:
        log.warning("followups_not_scheduled", invitation_id=invitation.id, error=repr(exc))
    return waiting


def invite(session: Session, actor: User | None, prospect_id: int, email: str) -> Invitation:
    """Admins only: invite a qualified prospect by email; commits, then sends and schedules the follow-ups.

    One invitation per prospect: inviting it again with the same address returns the same invitation
    (and re-enqueues its email and follow-ups if they were lost); another address is refused, as are
    disqualified, activated and unsubscribed prospects and addresses that unsubscribed before.
    The email carries the signed sign-up link and the one-click unsubscribe link. Audited.
    Raises NotAllowed, NotFound, UserError (field `email` for the address).
    """
    admin = access.require_admin(actor)
    prospect = session.get(Prospect, prospect_id)
    if prospect is None:
        raise NotFound("No such prospect.")
    address = normalize_email(email)

    invitation = latest_invitation(session, prospect.id)
    if invitation is not None:
        if invitation.email != address:
            raise UserError(f"This business was already invited at {invitation.email}.", field="email")
        _dispatch(session, invitation)
        return invitation
    if prospect.status == _DISQUALIFIED:
        raise UserError(f"This business does not qualify: {prospect.disqualify_reason}.")
    if prospect.status != _FOUND:
        raise UserError(f"This business cannot be invited (it is {prospect.status}).")
    opted_out = select(Invitation.id).where(Invitation.email == address, col(Invitation.unsubscribed_at).is_not(None))
    if session.exec(opted_out).first() is not None:
        raise UserError("This address unsubscribed from our invitations.", field="email")

    # Compare-and-set: of two admins inviting at once, one wins and the other is told.
    claimed = session.exec(
        update(Prospect)
        .where(col(Prospect.id) == prospect.id, col(Prospect.status) == _FOUND)
        .values(status=_INVITED, email=address)
    )
    if int(claimed.rowcount) != 1:
        session.rollback()
        raise UserError("This business changed meanwhile; reload and try again.")
    session.refresh(prospect)

    now = utcnow()
    # token_hash is unique and the token needs the row's id: a random placeholder until the id exists.
    invitation = Invitation(
        prospect_id=prospect.id,
        email=address,
        token_hash=secrets.token_hex(32),
        sent_at=now,
        next_followup_at=now + timedelta(days=FOLLOWUP_DAYS[1]),
        created_by_id=admin.id,
    )
    session.add(invitation)
    session.flush()
    invitation.token_hash = token_digest(invitation_token(invitation))
    session.add(invitation)
    _create_email(session, invitation, prospect, 0)
    audit.record(
        session,
        actor_id=admin.id,
        action="invitation.send",
        target=invitation,
        before={"prospect_status": _FOUND},
        after={"prospect_id": prospect.id, "email": address, "prospect_status": _INVITED},
    )
    session.commit()
    _dispatch(session, invitation)
    return invitation


def _dispatch(session: Session, invitation: Invitation) -> None:
    """Enqueue the invitation email (unless sent) and schedule the follow-ups; nothing once stopped; idempotent."""
    assert invitation.id is not None
    if invitation.stopped_reason:
        return
    initial = session.exec(
        select(Notification).where(Notification.dedupe_key == f"invitation:{invitation.id}:initial")
    ).first()
    if initial is not None and initial.id is not None and initial.status not in notify.DONE:
        notify.enqueue_sends([initial.id])
    schedule_followups(invitation)


# --- follow-ups -----------------------------------------------------------------------------------


def stop_reason(session: Session, invitation: Invitation, prospect: Prospect | None) -> str:
    """Why no more follow-ups go out for this invitation ("" while they should)."""
    if invitation.stopped_reason:
        return invitation.stopped_reason
    if invitation.activated_at is not None or (prospect is not None and prospect.status == _ACTIVATED):
        return STOP_ACTIVATED
    if invitation.unsubscribed_at is not None or (prospect is not None and prospect.status == _UNSUBSCRIBED):
        return STOP_UNSUBSCRIBED
    if prospect is None or prospect.status == _DISQUALIFIED:
        return STOP_DISQUALIFIED
    if session.exec(select(User.id).where(User.email == invitation.email)).first() is not None:
        return STOP_SIGNED_UP
    if invitation.token_hash != token_digest(invitation_token(invitation)):
        # SECRET_KEY changed: the links would not work, and an email without a working unsubscribe link is not sent.
        return STOP_LINK_KEY_CHANGED
    return ""


def invitation_followup(invitation_id: int, number: int) -> str:
    """The follow-up job's body: send follow-up `number` (1–3) unless stopped; returns what happened.

    "sent" (the email is created and enqueued), "already_sent", "stopped:<reason>" (recorded on the
    invitation, nothing sent) or "missing". Safe to run twice and concurrently: one email per follow-up.
    """
    if number not in FOLLOWUP_DAYS:
        raise ValueError(f"follow-up number must be one of {sorted(FOLLOWUP_DAYS)}, not {number!r}")
    with session_scope() as session:
        invitation = session.get(Invitation, invitation_id)
        if invitation is None:
            log.warning("invitation_missing", invitation_id=invitation_id)
            return "missing"
        prospect = session.get(Prospect, invitation.prospect_id)
        reason = stop_reason(session, invitation, prospect)
        if reason:
            if not invitation.stopped_reason:
                invitation.stopped_reason, invitation.next_followup_at = reason, None
                session.add(invitation)
            log.info("invitation_followup_stopped", invitation_id=invitation_id, number=number, reason=reason)
            return f"stopped:{reason}"
        if invitation.followups_sent >= number:
            return "already_sent"
        assert prospect is not None
        notification_id = _create_email(session, invitation, prospect, number)
        invitation.followups_sent = number
        next_days = FOLLOWUP_DAYS.get(number + 1)
        base = invitation.sent_at or invitation.created_at
        invitation.next_followup_at = base + timedelta(days=next_days) if next_days else None
        session.add(invitation)
    notify.enqueue_sends([notification_id])
    log.info("invitation_followup_sent", invitation_id=invitation_id, number=number)
    return "sent"


def _due_followup(invitation: Invitation, now: datetime) -> int | None:
    """The latest follow-up due by `now` and not sent yet (after an outage, only the latest one is sent)."""
    base = invitation.sent_at or invitation.created_at
    due = [
        n for n, days in FOLLOWUP_DAYS.items() if n > invitation.followups_sent and base + timedelta(days=days) <= now
    ]
    return max(due) if due else None


def sweep_followups() -> int:
    """Enqueue follow-ups overdue by more than `SWEEP_GRACE` (their scheduled job was lost); returns how many.

    Safe to run any time: a follow-up whose job is still waiting is not enqueued twice, and the job
    itself sends nothing already sent or stopped.
    """
    cutoff = utcnow() - SWEEP_GRACE
    with session_scope() as session:
        overdue = session.exec(
            select(Invitation)
            .where(
                col(Invitation.next_followup_at).is_not(None),
                col(Invitation.next_followup_at) <= cutoff,
                Invitation.stopped_reason == "",
            )
            .order_by(col(Invitation.id))
            .limit(SWEEP_BATCH)
        ).all()
        now = utcnow()
        due = [(inv.id, n) for inv in overdue if inv.id is not None and (n := _due_followup(inv, now)) is not None]
    count = 0
    for invitation_id, number in due:
        if not enqueue(
            NOTIFICATIONS, FOLLOWUP_JOB, invitation_id, number, job_id=_followup_job_id(invitation_id, number)
        ):
            break
        count += 1
    if due:
        log.info("invitation_followups_swept", overdue=len(due), enqueued=count)
    return count


# --- the invited business's side ------------------------------------------------------------------


def click(session: Session, token: str) -> Invitation | None:
    """Record that the sign-up link was opened (first time only); None for an unknown token. Does not commit."""
    invitation = invitation_for_token(session, token)
    if invitation is None:
        return None
    if invitation.clicked_at is None:
        invitation.clicked_at = utcnow()
        session.add(invitation)
        session.exec(
            update(Prospect)
            .where(col(Prospect.id) == invitation.prospect_id, col(Prospect.status) == _INVITED)
            .values(status=_CLICKED)
        )
    return invitation


def activate_invitation(session: Session, token: str, user: User) -> Invitation | None:
    """`user` signed up through this invitation's link: mark it activated (and clicked) and stop its follow-ups.

    Idempotent; None for an unknown token (the sign-up itself stands either way). Audited. Does not commit.
    """
    invitation = invitation_for_token(session, token)
    if invitation is None:
        return None
    if invitation.activated_at is not None:
        return invitation
    now = utcnow()
    invitation.clicked_at = invitation.clicked_at or now
    invitation.activated_at = now
    invitation.stopped_reason = invitation.stopped_reason or STOP_ACTIVATED
    invitation.next_followup_at = None
    session.add(invitation)
    prospect = session.get(Prospect, invitation.prospect_id)
    before: dict[str, Any] = {"prospect_status": prospect.status if prospect else None}
    if prospect is not None:
        prospect.status = _ACTIVATED
        session.add(prospect)
    audit.record(
        session,
        actor_id=user.id,
        action="invitation.activate",
        target=invitation,
        before=before,
        after={"prospect_status": _ACTIVATED, "user_id": user.id},
    )
    return invitation


def unsubscribe(session: Session, token: str) -> Invitation | None:
    """One-click unsubscribe: no more follow-ups and no new invitation to this address; None for an unknown token.

    Idempotent. An activated prospect stays activated (the account exists) but still gets no more
    invitation emails. Audited (no actor: the recipient). Does not commit.
    """
    invitation = invitation_for_token(session, token)
    if invitation is None:
        return None
    if invitation.unsubscribed_at is not None:
        return invitation
    invitation.unsubscribed_at = utcnow()
    invitation.stopped_reason = invitation.stopped_reason or STOP_UNSUBSCRIBED
    invitation.next_followup_at = None
    session.add(invitation)
    prospect = session.get(Prospect, invitation.prospect_id)
    before: dict[str, Any] = {"prospect_status": prospect.status if prospect else None}
    if prospect is not None and prospect.status != _ACTIVATED:
        prospect.status = _UNSUBSCRIBED
        session.add(prospect)
    audit.record(
        session,
        actor_id=None,
        action="invitation.unsubscribe",
        target=invitation,
        before=before,
        after={"prospect_status": prospect.status if prospect else None},
    )
    return invitation


# --- the funnel -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunnelRow:
    """Counts of distinct prospects at each stage (a stage counts everyone who reached it)."""

    zip: str
    category: str
    found: int
    qualified: int
    invited: int
    clicked: int
    activated: int
    unsubscribed: int


def _funnel_columns() -> list[Any]:
    p, i = Prospect, Invitation
    return [
        func.count(distinct(p.id)).label("found"),
        func.count(distinct(case((col(p.status) != _DISQUALIFIED, p.id)))).label("qualified"),
        func.count(distinct(i.prospect_id)).label("invited"),
        func.count(distinct(case((col(i.clicked_at).is_not(None), i.prospect_id)))).label("clicked"),
        func.count(distinct(case((col(i.activated_at).is_not(None), i.prospect_id)))).label("activated"),
        func.count(distinct(case((col(i.unsubscribed_at).is_not(None), i.prospect_id)))).label("unsubscribed"),
    ]


def _funnel_query(columns: list[Any], zip_code: str | None, category: str | None) -> Any:
    query = select(*columns).select_from(Prospect).outerjoin(Invitation, Invitation.prospect_id == Prospect.id)
    if zip_code:
        query = query.where(Prospect.zip == zip_code.strip())
    if category:
        query = query.where(Prospect.category == category.strip())
    return query


def funnel(
    session: Session, actor: User | None, zip_code: str | None = None, category: str | None = None
) -> list[FunnelRow]:
    """Admins only: found → qualified → invited → clicked → activated (and unsubscribed), per ZIP and category.

    Counted in SQL, at most `FUNNEL_MAX_ROWS` groups ordered by ZIP and category; optionally one ZIP
    and/or one category.
    """
    access.require_admin(actor)
    query = (
        _funnel_query([Prospect.zip, Prospect.category, *_funnel_columns()], zip_code, category)
        .group_by(Prospect.zip, Prospect.category)
        .order_by(Prospect.zip, Prospect.category)
        .limit(FUNNEL_MAX_ROWS)
    )
    return [FunnelRow(*row) for row in session.exec(query).all()]


def funnel_total(
    session: Session, actor: User | None, zip_code: str | None = None, category: str | None = None
) -> FunnelRow:
    """Admins only: the funnel over every ZIP and category (or the ones given), counted in SQL."""
    access.require_admin(actor)
    row = session.exec(_funnel_query(_funnel_columns(), zip_code, category)).one()
    return FunnelRow(zip_code or "", category or "", *row)
