"""What the other side of a thread hears of a new message: an email (replying to it lands in the thread) and, when
they chose texts, an SMS (replying to it lands in the thread of that number), one row per message and channel."""

from __future__ import annotations

from sqlmodel import Session

from leadapp.core import languages
from leadapp.core.languages import english
from leadapp.core.models import Business, Lead, Match, ThreadMessage
from leadapp.core.services import compose, notify
from leadapp.core.vocab import Channel, NotificationKind, ThreadSide


def new_message(session: Session, match: Match, lead: Lead, business: Business, message: ThreadMessage) -> list[int]:
    """THREAD_MESSAGE rows for the side that did not write `message`, one per channel it chose (the consumer: the
    request's email, and a text when they prefer texts or calls; the business: its notification channels). No
    contact detail of the consumer is in what the business gets. Returns the ids; the caller enqueues them after
    the commit."""
    to_business = message.side == ThreadSide.CONSUMER.value
    # The owner reads English; the consumer, the language of their request.
    w = english if to_business else languages.phrases(lead.language)
    service = compose.service_words(lead, w)
    body = message.body or w.THREAD_PHOTO
    if to_business:
        recipient_side, targets = ThreadSide.BUSINESS, notify.business_targets(session, business)
        sender, link = "The consumer", compose.lead_link(lead)
        head = f"{sender} wrote about your {service} lead #{lead.id}"
        user_id = business.owner_id
    else:
        recipient_side, targets = ThreadSide.CONSUMER, notify.consumer_targets(lead)
        sender = business.name
        link = compose.portal_link() if lead.consumer_id is not None else compose.tracking_link(lead)
        head = w.THREAD_TO_CONSUMER.format(sender=sender, service=service, lead=lead.id)
        user_id = lead.consumer_id
    ids: list[int] = []
    for channel, recipient in targets:
        sms = channel == Channel.SMS.value
        answer = w.THREAD_REPLY_TEXT if sms else w.THREAD_REPLY_EMAIL
        text = f"{head}:\n\n{body}\n\n{answer}: {link}"
        row = notify.create_notification(
            session,
            kind=NotificationKind.THREAD_MESSAGE.value,
            channel=channel,
            recipient=recipient,
            subject="" if sms else w.THREAD_SUBJECT.format(sender=sender, service=service, lead=lead.id),
            text=compose.fit_sms(f"{sender}:", w.THREAD_SMS_TAIL.format(link=link), quote=body) if sms else text,
            html="" if sms else compose.html_from_text(text, link),
            dedupe_key=notify.thread_message_key(message.id, match.id, recipient_side.value, channel),  # type: ignore[arg-type]
            lead_id=lead.id,
            match_id=match.id,
            business_id=business.id,
            user_id=user_id,
        )
        ids.append(row.id)  # type: ignore[arg-type]
    return ids
