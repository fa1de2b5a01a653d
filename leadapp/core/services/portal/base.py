"""What every part of the portal shares: its refusals (its status lines are in `core.languages`), which statuses
mean what, and whose request a reader may see or act on (an account, or a magic link for one request)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from leadapp.core.errors import NotAllowed, NotFound
from leadapp.core.languages import english
from leadapp.core.models import (
    Lead,
    User,
)
from leadapp.core.services import (
    access,
)
from leadapp.core.vocab import (
    CallStatus,
    LeadStatus,
    MatchStatus,
    NotificationStatus,
)

PURGE_AFTER = timedelta(days=30)
PURGE_BATCH = 500

# A request can be withdrawn until the job is done or it was turned down.
WITHDRAWABLE = (
    LeadStatus.RECEIVED.value,
    LeadStatus.CLASSIFIED.value,
    LeadStatus.MATCHED.value,
    LeadStatus.NO_MATCH.value,
    LeadStatus.LOW_QUALITY.value,
    LeadStatus.FLAGGED.value,
    LeadStatus.ACCEPTED.value,
)
# The consumer's refusals are in `core.languages` (these English ones are what an API caller or owner reads).
NOT_WITHDRAWABLE_REASONS = english.NOT_WITHDRAWABLE_REASONS
# No callback for a request that is no longer open.
CLOSED_REASONS = english.CLOSED_REASONS
OPEN_MATCH_STATUSES = (MatchStatus.NEW.value, MatchStatus.NOTIFIED.value, MatchStatus.VIEWED.value)
# A business that took the request: it accepted it (and maybe already did the job).
ACCEPTED_MATCH_STATUSES = (MatchStatus.ACCEPTED.value, MatchStatus.CONVERTED.value)
# Calls not yet dialled can still be stopped when the request goes away.
CANCELLABLE_CALL_STATUSES = (CallStatus.REQUESTED.value, CallStatus.SCHEDULED.value)
UNSENT_NOTIFICATION_STATUSES = (NotificationStatus.PENDING.value, NotificationStatus.FAILED.value)
PHONE_UNVERIFIED = english.PHONE_UNVERIFIED
CALLBACK_OBJECTIVE = "The consumer asked to be called back about their request."
CONCIERGE_OBJECTIVE = (
    "The consumer asked LeadApp to call them back before any business accepted: confirm and complete the request."
)


# --- magic links ----------------------------------------------------------------------------------


MagicGrant = access.MagicGrant
"""What a magic-link holder presents (`access.MagicGrant`: the access layer decides what a link covers)."""
Actor = User | MagicGrant | None


def lead_for_magic_token(session: Session, token: str) -> Lead | None:
    """The lead a magic-link token was made for, if the token is genuine, unexpired and the lead not deleted."""
    return access.magic_lead(session, MagicGrant(token))


# --- ownership ------------------------------------------------------------------------------------


def _lead_for(session: Session, actor: Actor, lead_id: int, *, act: bool) -> Lead:
    """The lead, if `actor` may read it (`act=False`) or act on it (`act=True`); NotFound / NotAllowed otherwise.

    The consumer who owns it may do both; an admin may only read; a magic link works for its own lead only.
    """
    if isinstance(actor, MagicGrant):
        claims = access.magic_claims(actor.token)
        if claims is None:
            raise NotAllowed(english.LINK_INVALID)
        if claims[0] != lead_id:
            raise NotAllowed(english.LINK_OTHER_REQUEST)
        lead = access.lead_of_claims(session, claims)
        if lead is None:
            raise NotFound(english.REQUEST_GONE)
        return lead
    access.require_area(actor, access.Area.CONSUMER)
    assert actor is not None
    lead = session.get(Lead, lead_id)
    if lead is None or lead.deleted_at is not None:
        raise NotFound(english.NO_SUCH_REQUEST)
    access.require_consumer_lead(actor, lead)
    if act and not access.is_lead_owner(actor, lead):
        raise NotAllowed("Only the consumer who made this request can change it.")
    return lead


def lead_for(session: Session, actor: Actor, lead_id: int, *, act: bool) -> Lead:
    """`_lead_for` for the consumer's other actions (phone verification): the same one refusal."""
    return _lead_for(session, actor, lead_id, act=act)


def _actor_id(actor: Actor) -> int | None:
    return actor.id if isinstance(actor, User) else None
