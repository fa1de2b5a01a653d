"""Following a request without an account, and turning its tracking link into an account in one step.

Every request has a tracking link (`links.magic_link`): the confirmation page shows it, and the messages about
the request lead with it. Its holder may set a password there: the account is created with the request's own
email address, the request becomes the account's, and the browser is logged in (the portal then lists it).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from leadapp.core import languages, links
from leadapp.core.errors import NotAllowed, UserError
from leadapp.core.languages import english
from leadapp.core.models import Lead
from leadapp.core.services import access, accounts, audit, portal
from leadapp.core.services.classify.language import detect_language
from leadapp.core.vocab import ContactPreference, LeadStatus, Role

LINK_PROBLEM = english.TRACKING_LINK_PROBLEM  # the tracking page says it in its language


@dataclass(frozen=True)
class Confirmation:
    tracking_link: str
    sent_by: str
    """How the link also reaches the consumer, in the request's language: "email", "text message" or "email and
    text message" ("" none)."""


def confirmation(session: Session, lead_id: int) -> Confirmation | None:
    """What the confirmation page shows about following a request the caller just submitted (its id held
    server-side by the page, never from a URL): its tracking link and how the messages about it are sent."""
    lead = session.get(Lead, lead_id)
    if lead is None or lead.id is None or lead.deleted_at is not None:
        return None
    # Read as soon as the form is sent, mostly before the pipeline classified the request and set its language: till
    # then, the language its text reads as (as the form's refusals were).
    received = lead.status == LeadStatus.RECEIVED.value
    language = detect_language(lead.raw_text) if received else lead.language
    w = languages.phrases(language)
    channels = [w.SENT_BY_EMAIL] if lead.contact_email else []
    if lead.preferred_contact in (ContactPreference.SMS, ContactPreference.PHONE) and lead.contact_phone_enc:
        channels.append(w.SENT_BY_TEXT)
    return Confirmation(tracking_link=links.magic_link(lead.id, language), sent_by=w.AND.join(channels))


@dataclass(frozen=True)
class NewAccount:
    user_id: int
    session_token: str


def account_from_tracking_link(
    session: Session, token: str, password: str, *, email: str = "", ip: str = "", user_agent: str = ""
) -> NewAccount:
    """Create a consumer account from a tracking link: the request's email (or `email` for a request made with
    a phone number only) and `password`; the request becomes the account's; a login session is opened.

    Guarantees: only a genuine, unexpired link for a request with no account yet does anything; a request that
    already has an account, an email that already has one, or a weak password is refused with the reason and
    changes nothing (the caller rolls back); the link's holder gets exactly that one request, never others.
    Audited as the new user.
    """
    lead = portal.lead_for_magic_token(session, token)  # also lets this transaction reach that lead
    if lead is None or lead.id is None:
        raise NotAllowed(LINK_PROBLEM)
    w = languages.phrases(lead.language)  # the consumer is told in the request's language
    if lead.consumer_id is not None:
        raise UserError(w.ALREADY_CLAIMED, field="password")
    address = lead.contact_email or email
    if not address:
        raise UserError(w.CLAIM_EMAIL, field="email")
    user = accounts.register(
        session, address, password, Role.CONSUMER.value, full_name=lead.contact_name, language=lead.language
    )
    lead.consumer_id = user.id
    session.add(lead)
    session.flush()
    audit.record(
        session, actor_id=user.id, action="lead.claim", target=lead, after={"consumer_id": user.id, "via": "link"}
    )
    access.enter(session, user)  # from here on the new account's own doing
    session_token = accounts.open_session(session, user, ip=ip, user_agent=user_agent)
    return NewAccount(user_id=user.id or 0, session_token=session_token)
