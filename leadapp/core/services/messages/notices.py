"""What the other side of a thread hears of a new message: an email (replying to it lands in the thread) and, when
they chose texts, an SMS (replying to it lands in the thread of that number), one row per message and channel."""

from __future__ import annotations

from sqlmodel import Session

from leadapp.core.models import Business, Lead, Match, ThreadMessage
from leadapp.core.services import compose, notify
from leadapp.core.vocab import Channel, NotificationKind, ThreadSide


def new_message(session: Session, match: Match, lead: Lead, business: Business, message: ThreadMessage) -> list[int]:
    """THREAD_MESSAGE rows for the side that did not write `message`, one per channel it chose (the consumer: the
    request's email, and a text when they prefer texts or calls; the business: its notification channels). No
    contact detail of the consumer is in what the business gets. Returns the ids; the caller enqueues them after
    the commit."""
    service = compose.category_label(lead.category).lower()
    body = message.body or "(a photo: open the conversation to see it)"
    if message.side == ThreadSide.CONSUMER.value:
        recipient_side, targets = ThreadSide.BUSINESS, notify.business_targets(session, business)
        sender, link = "The consumer", compose.lead_link(lead)
        about = f"your {service} lead #{lead.id}"
        user_id = business.owner_id
    else:
        recipient_side, targets = ThreadSide.CONSUMER, notify.consumer_targets(lead)
        sender = business.name
        link = compose.portal_link() if lead.consumer_id is not None else compose.tracking_link(lead)
        about = f"your {service} request #{lead.id}"
        user_id = lead.consumer_id
    head = f"{sender} wrote about {about}"
    ids: list[int] = []
    for channel, recipient in targets:
        sms = channel == Channel.SMS.value
        answer = "Reply to this text to answer" if sms else "Reply to this email to answer, or open the conversation"
        text = f"{head}:\n\n{body}\n\n{answer}: {link}"
        row = notify.create_notification(
            session,
            kind=NotificationKind.THREAD_MESSAGE.value,
            channel=channel,
            recipient=recipient,
            subject="" if sms else f"New message from {sender} · {service} #{lead.id}",
            text=compose.fit_sms(f"{sender}:", f"Reply here to answer. {link}", quote=body) if sms else text,
            html="" if sms else compose.html_from_text(text, link),
            dedupe_key=notify.thread_message_key(message.id, match.id, recipient_side.value, channel),  # type: ignore[arg-type]
            lead_id=lead.id,
            match_id=match.id,
            business_id=business.id,
            user_id=user_id,
        )
        ids.append(row.id)  # type: ignore[arg-type]
    return ids
