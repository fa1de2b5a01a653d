"""The one access layer: who may open which area and act on which data.

Every page, API route, job and webhook asks here; nothing else decides. It also tells the database whom
each session acts for (`enter`), so that on PostgreSQL row-level security checks every query a second time
(see `leadapp.core.rls`): a session nobody entered sees no tenant row.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from enum import StrEnum

from sqlmodel import Session, col, select

from leadapp.core import crypto, languages, rls
from leadapp.core.db import context_of, use_context, use_context_with_new_lead
from leadapp.core.errors import NotAllowed, NotFound, UserError
from leadapp.core.languages import english
from leadapp.core.links import MAGIC_PURPOSE
from leadapp.core.models import Business, Lead, Match, User
from leadapp.core.rls import DbContext
from leadapp.core.settings import get_settings
from leadapp.core.vocab import LeadStatus, MatchStatus, Role, ThreadSide


class Area(StrEnum):
    PUBLIC = "public"
    ACCOUNT = "account"
    CONSUMER = "consumer"
    BUSINESS = "business"
    ADMIN = "admin"


# Which roles may open each area. Admins may open every area; public needs no account.
AREA_ROLES: dict[Area, frozenset[Role]] = {
    Area.PUBLIC: frozenset(Role),
    Area.ACCOUNT: frozenset(Role),
    Area.CONSUMER: frozenset({Role.CONSUMER, Role.ADMIN}),
    Area.BUSINESS: frozenset({Role.BUSINESS_OWNER, Role.ADMIN}),
    Area.ADMIN: frozenset({Role.ADMIN}),
}


class NotLoggedIn(NotAllowed):
    status_code = 401


def role_of(user: User | None) -> Role | None:
    if user is None or not user.is_active:
        return None
    return Role(user.role)


def can_open(user: User | None, area: Area) -> bool:
    """True when this user (None = anonymous) may open pages of `area`."""
    if area == Area.PUBLIC:
        return True
    role = role_of(user)
    return role is not None and role in AREA_ROLES[area]


def require_area(user: User | None, area: Area) -> User | None:
    """Return the user when they may open `area`; raise NotLoggedIn or NotAllowed otherwise."""
    if area == Area.PUBLIC:
        return user
    if role_of(user) is None:
        raise NotLoggedIn("Log in to continue.")
    if not can_open(user, area):
        raise NotAllowed("You are not allowed to open this page.")
    return user


def require_admin(user: User | None) -> User:
    require_area(user, Area.ADMIN)
    assert user is not None
    return user


def row_checks_on() -> bool:
    """False only in tests that switch the row checks below off (ACCESS_ROW_CHECKS_OFF, refused outside
    ENVIRONMENT=test) to show that PostgreSQL's row-level security alone keeps every tenant's rows apart."""
    return not get_settings().access_row_checks_off


def can_manage_business(user: User | None, business: Business | None) -> bool:
    """The business's owner, or an admin (False for a missing business)."""
    if business is None:
        return False
    role = role_of(user)
    if role == Role.BUSINESS_OWNER and not row_checks_on():
        return True
    return role == Role.ADMIN or (role == Role.BUSINESS_OWNER and user is not None and business.owner_id == user.id)


def require_business(user: User | None, business: Business | None, refusal: str = "This is not your business.") -> User:
    """The user when they manage `business`; NotLoggedIn / NotAllowed (saying `refusal`) otherwise."""
    require_area(user, Area.BUSINESS)
    if not can_manage_business(user, business):
        raise NotAllowed(refusal)
    assert user is not None
    return user


def require_call_whisper(user: User | None, business: Business | None) -> User:
    """Who may steer a call in progress (a hint to its assistant, a take-over): the owner of the call's business
    and admins; never the consumer, and nobody for a call without a business (LeadApp's concierge calls)."""
    return require_business(user, business, "This is not your call.")


def can_see_consumer_lead(user: User | None, lead: Lead) -> bool:
    """A consumer sees their own (not deleted) requests; admins see every request."""
    role = role_of(user)
    if role == Role.ADMIN:
        return True
    return role == Role.CONSUMER and lead.deleted_at is None and is_lead_owner(user, lead)


def is_lead_owner(user: User | None, lead: Lead) -> bool:
    """The consumer account that made `lead` (only they may act on it; an admin may read it)."""
    if role_of(user) == Role.CONSUMER and not row_checks_on():
        return True
    return user is not None and lead.consumer_id is not None and lead.consumer_id == user.id


def require_consumer_lead(user: User | None, lead: Lead) -> User:
    require_area(user, Area.CONSUMER)
    if not can_see_consumer_lead(user, lead):
        raise NotAllowed("This request is not yours.")
    assert user is not None
    return user


# --- a consumer's magic link (the tracking link emailed with a request) -----------------------------

MAGIC_CLOCK_SLACK_SECONDS = 300
"""A token older than its lead (beyond clock skew) was made for another lead that had the same id."""


@dataclass(frozen=True)
class MagicGrant:
    """What a magic-link holder presents: the token itself, verified again by every service call. It stands in
    for the consumer's account for the one request it names, and for nothing else."""

    token: str


def magic_claims(token: str) -> tuple[int, int] | None:
    """(lead id, issued-at) of a genuine, unexpired magic-link token; None for anything else."""
    payload = crypto.unsign(MAGIC_PURPOSE, (token or "").strip())
    if payload is None:
        return None
    lead_id, issued = payload.get("lead"), payload.get("iat")
    if not isinstance(lead_id, int) or not isinstance(issued, int) or lead_id <= 0:
        return None
    return lead_id, issued


def lead_of_claims(session: Session, claims: tuple[int, int] | None) -> Lead | None:
    """The lead genuine claims name (and the session may reach it from now on), unless deleted or made after the
    token (SQLite may give a purged lead's id to a new lead; a token never predates the lead it was made for)."""
    if claims is None:
        return None
    allow_leads(session, [claims[0]])  # a genuine link reaches its own lead, and only that one
    lead = session.get(Lead, claims[0])
    if lead is None or lead.deleted_at is not None:
        return None
    if lead.created_at.timestamp() > claims[1] + MAGIC_CLOCK_SLACK_SECONDS:
        return None
    return lead


def magic_lead(session: Session, grant: MagicGrant) -> Lead | None:
    """The one request a magic link covers, if the link is genuine, unexpired and the request not deleted."""
    return lead_of_claims(session, magic_claims(grant.token))


def require_lead_actor(session: Session, actor: User | MagicGrant | None, lead: Lead, refusal: str) -> None:
    """`actor` may act on `lead` as its consumer: the consumer account that made it, or the holder of a magic
    link for this very request (a link for another request, forged or expired, is refused). NotAllowed(refusal)
    otherwise (an admin reads but never acts for the consumer); NotLoggedIn for nobody."""
    if isinstance(actor, MagicGrant):
        covered = magic_lead(session, actor)
        if covered is None or covered.id != lead.id:
            raise NotAllowed(refusal)
        return
    require_area(actor, Area.CONSUMER)
    if lead.deleted_at is not None or not is_lead_owner(actor, lead):
        raise NotAllowed(refusal)


# --- a business and the leads matched to it ---------------------------------------------------------

NOT_YOUR_LEAD = "This lead is not in your inbox."
"""The one refusal a business owner gets for a match that is missing, another business's, or no longer theirs to
see or act on (its request was withdrawn, rejected or deleted): ids reveal nothing."""
CLOSED_LEAD_STATUSES = frozenset({LeadStatus.WITHDRAWN.value, LeadStatus.REJECTED.value, LeadStatus.DELETED.value})
TAKEN_MATCH_STATUSES = frozenset({MatchStatus.ACCEPTED.value, MatchStatus.CONVERTED.value})
"""A business that took the lead: it accepted it (and maybe did the job)."""


def lead_is_closed(lead: Lead) -> bool:
    """Withdrawn by its consumer, rejected by an admin, or deleted: nothing more happens on it."""
    return lead.deleted_at is not None or lead.status in CLOSED_LEAD_STATUSES


def business_sees_match(match: Match, lead: Lead) -> bool:
    """Whether a match shows in its business's inbox at all: an open request, or a closed one the business had
    taken (it stays in its history, read-only). A deleted request never shows; one closed before the business
    accepted it leaves the inbox."""
    if lead.deleted_at is not None:
        return False
    return not lead_is_closed(lead) or match.status in TAKEN_MATCH_STATUSES


def business_sees_contact(match: Match, lead: Lead) -> bool:
    """Whether the business may see the consumer's contact details (email, phone, name, the unredacted text):
    only once it accepted the lead, and only while the request is not closed."""
    return match.status in TAKEN_MATCH_STATUSES and not lead_is_closed(lead)


def match_row(session: Session, match_id: int) -> tuple[Match, Lead, Business] | None:
    """Match `match_id` with its lead and business, whoever asks (callers decide who may see it)."""
    row = session.exec(
        select(Match, Lead, Business)
        .join(Lead, col(Lead.id) == col(Match.lead_id))
        .join(Business, col(Business.id) == col(Match.business_id))
        .where(col(Match.id) == match_id)
    ).first()
    return None if row is None else (row[0], row[1], row[2])


def business_match(session: Session, user: User | None, match_id: int, *, act: bool) -> tuple[Match, Lead, Business]:
    """The match, its lead and business when `user` manages that business and may see it (`act=False`) or act on
    it (`act=True`: accept, decline, convert, call; an expired match is not acted on either).

    To a business owner every refusal is the same NotAllowed(NOT_YOUR_LEAD): a missing id, another business's
    match, a request deleted, or one closed (withdrawn, rejected) — acting on a closed request is refused even
    when the business had accepted it. An admin is told NotFound for a missing or deleted lead, and NotAllowed
    with the reason for acting on a closed one. NotLoggedIn / NotAllowed for anyone outside the business area.
    """
    require_area(user, Area.BUSINESS)
    assert user is not None
    row = match_row(session, match_id)
    admin = user.role == Role.ADMIN.value
    if row is None or not can_manage_business(user, row[2]):
        if row is None and admin:
            raise NotFound("No such lead.")
        raise NotAllowed(NOT_YOUR_LEAD)
    match, lead, business = row
    if admin:
        if lead.deleted_at is not None:
            raise NotFound("No such lead.")
        if act and lead_is_closed(lead):
            raise NotAllowed("This request is closed (withdrawn or rejected); nothing can be done on it.")
        return match, lead, business
    expired = match.status == MatchStatus.EXPIRED.value
    if not business_sees_match(match, lead) or (act and (lead_is_closed(lead) or expired)):
        raise NotAllowed(NOT_YOUR_LEAD)
    return match, lead, business


# --- the thread of a match: the consumer and the business that accepted their request ------------------

NOT_YOUR_THREAD = english.NOT_YOUR_THREAD  # the consumer's portal says it in their browser's language
"""The one refusal a consumer gets for a thread that is missing, another consumer's, or with a business that has
not accepted their request: ids reveal nothing."""


def thread_match(
    session: Session, user: User | None, match_id: int, *, post: bool
) -> tuple[Match, Lead, Business, ThreadSide | None]:
    """The match whose thread `user` may read (`post=False`) or write in (`post=True`), its lead and business, and
    the side the user writes as (None for an admin, who may read any thread and write in none).

    A thread exists once the business took the lead (accepted, or won the job). The business's owner reads and
    writes through `business_match` (its refusals; a closed request is read-only); a lead not accepted yet is a
    UserError telling them to accept it first. The consumer who made the request reads it, and writes while the
    request is open; every other case (missing, another consumer's, a business that has not accepted, a deleted
    request) is the same NotAllowed(NOT_YOUR_THREAD). Anonymous: NotLoggedIn."""
    role = role_of(user)
    if role is None:
        raise NotLoggedIn("Log in to continue.")
    if role == Role.BUSINESS_OWNER:
        match, lead, business = business_match(session, user, match_id, act=post)
        if match.status not in TAKEN_MATCH_STATUSES:
            raise UserError("Accept the lead before writing to the consumer.", field="body")
        return match, lead, business, ThreadSide.BUSINESS
    if role == Role.ADMIN and post:
        raise NotAllowed("Admins read conversations; only the consumer and the business write in them.")
    row = match_row(session, match_id)
    if role == Role.ADMIN:
        if row is None or row[1].deleted_at is not None or row[0].status not in TAKEN_MATCH_STATUSES:
            raise NotFound("No such conversation.")
        return row[0], row[1], row[2], None
    if role != Role.CONSUMER or row is None:
        raise NotAllowed(NOT_YOUR_THREAD)
    match, lead, business = row
    if lead.deleted_at is not None or not is_lead_owner(user, lead) or match.status not in TAKEN_MATCH_STATUSES:
        raise NotAllowed(NOT_YOUR_THREAD)
    if post and lead_is_closed(lead):
        raise NotAllowed(languages.phrases(lead.language).THREAD_CLOSED)  # the consumer reads their request's
    return match, lead, business, ThreadSide.CONSUMER


def home_path(user: User | None) -> str:
    """Where a user lands after logging in."""
    role = role_of(user)
    if role == Role.ADMIN:
        return "/admin"
    if role == Role.BUSINESS_OWNER:
        return "/dashboard"
    if role == Role.CONSUMER:
        return "/portal"
    return "/"


# --- whom the database session acts for -----------------------------------------------------------


def context_for(session: Session, user: User | None) -> DbContext:
    """The database context of `user` (None or disabled: an anonymous visitor). A business owner's context
    lists the businesses they own (read under their own context: only theirs can be found)."""
    role = role_of(user)
    if role is None or user is None:
        return rls.ANONYMOUS_CONTEXT
    context = DbContext(role=role.value, user_id=user.id)
    if role == Role.BUSINESS_OWNER and session.get_bind().dialect.name == "postgresql":
        use_context(session, context)
        owned = session.exec(select(Business.id).where(Business.owner_id == user.id).order_by(col(Business.id)))  # type: ignore[attr-defined]
        context = replace(context, business_ids=tuple(int(i) for i in owned.all()))
    return context


def enter(session: Session, user: User | None) -> DbContext:
    """From now on `session` acts for `user` (None: an anonymous visitor), and for nothing else: links it held
    before (`allow_leads`, `allow_interview`) are dropped. Every page handler, API route and public link does
    this once it knows who is asking (the session cookie, or nobody), before granting links."""
    context = context_for(session, user)
    use_context(session, context)
    return context


def allow_leads(session: Session, lead_ids: Iterable[int]) -> None:
    """Let `session` reach these leads too: the caller verified a signed link for each, or has just created it
    (the visitor who submitted a request may follow it). Anonymous when nobody entered the session yet."""
    held = context_of(session)
    base = held if held.role else rls.ANONYMOUS_CONTEXT
    use_context(session, base.with_leads(lead_ids))


def allow_new_lead(session: Session) -> int:
    """PostgreSQL: draw the id of the lead the caller is about to insert and let `session` reach it (the visitor who
    submits a request may follow it), in one statement; returns the id. Anonymous when nobody entered the session."""
    held = context_of(session)
    return use_context_with_new_lead(session, held if held.role else rls.ANONYMOUS_CONTEXT)


def allow_interview(session: Session, owner_token_hash: str) -> None:
    """Let `session` reach the guided interview whose owner token hashes to `owner_token_hash` (the browser
    presented that token)."""
    held = context_of(session)
    base = held if held.role else rls.ANONYMOUS_CONTEXT
    use_context(session, replace(base, interview=owner_token_hash))


@contextlib.contextmanager
def as_system(session: Session, reason: str) -> Iterator[None]:
    """Run one narrow step of a page or API route as the system (every row), for `reason` (logged), then go
    back to whom the session acted for. Each use is a deliberate hole in the second wall: the step must return
    nothing the caller may not see (e.g. a count, or the id a client's own Idempotency-Key names). The uses
    are listed in `tests/security/test_rls.py` (a new one fails that test until it is reviewed there)."""
    held = context_of(session)
    rls.log.info("db_system_step", reason=reason, acting_for=held.describe())
    use_context(session, rls.system(reason))
    try:
        yield
    finally:
        use_context(session, held, now=session.is_active)
