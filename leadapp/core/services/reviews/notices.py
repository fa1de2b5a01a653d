"""What a consumer hears once a job is converted: an email with the signed, single-use review link, in the language
of their request."""

from __future__ import annotations

from sqlmodel import Session

from leadapp.core import languages
from leadapp.core.links import review_link
from leadapp.core.models import Business, Conversion, Lead, User
from leadapp.core.services import compose, notify
from leadapp.core.vocab import Channel, NotificationKind


def review_invite(session: Session, lead: Lead, business: Business, conversion: Conversion) -> list[int]:
    """A REVIEW_INVITE email row to the request's address (else its account's), one per conversion (its dedupe
    key: a conversion recorded again sends nothing more); returns its id, or nothing without an address. The
    caller enqueues it after the commit."""
    address = lead.contact_email.strip()
    if not address and lead.consumer_id is not None:
        account = session.get(User, lead.consumer_id)
        address = account.email if account is not None else ""
    if not address or conversion.id is None:
        return []
    link = review_link(conversion.id, lead.id, lead.language)  # type: ignore[arg-type]
    w = languages.phrases(lead.language)  # in the language of the consumer's request
    service = compose.service_words(lead, w)
    head = w.REVIEW_HEAD.format(business=business.name)
    text = w.REVIEW_TEXT.format(business=business.name, service=service, lead=lead.id, link=link)
    row = notify.create_notification(
        session,
        kind=NotificationKind.REVIEW_INVITE.value,
        channel=Channel.EMAIL.value,
        recipient=address,
        subject=w.REVIEW_SUBJECT.format(head=head, service=service),
        text=text,
        html=compose.html_from_text(text, link),
        dedupe_key=f"review-invite:{conversion.id}",
        lead_id=lead.id,
        match_id=conversion.match_id,
        business_id=business.id,
        user_id=lead.consumer_id,
    )
    return [row.id]  # type: ignore[list-item]
