"""What a business hears when the consumer decides on its quote: a notification row per channel it chose."""

from __future__ import annotations

from sqlmodel import Session

from leadapp.core.models import Business, Lead, Quote
from leadapp.core.services import compose, notify
from leadapp.core.vocab import Channel, NotificationKind


def quote_decided(session: Session, lead: Lead, quote: Quote, amount: str, *, accepted: bool) -> list[int]:
    """QUOTE_ACCEPTED or QUOTE_DECLINED rows for the quote's business (`amount` as the quote reads), one per
    channel (one per quote, outcome and channel: its dedupe key); returns their ids. The caller enqueues them
    after the commit."""
    business = session.get(Business, quote.business_id)
    if business is None:
        return []
    service = compose.category_label(lead.category)
    link = compose.lead_link(lead)
    if accepted:
        kind, head = NotificationKind.QUOTE_ACCEPTED, f"The consumer accepted your {amount} quote"
        text = f"{head} for their {service.lower()} request #{lead.id}. The job is marked won in your stats."
    else:
        kind, head = NotificationKind.QUOTE_DECLINED, f"The consumer chose another quote than your {amount}"
        text = f"{head} for their {service.lower()} request #{lead.id}."
    ids: list[int] = []
    for channel, recipient in notify.business_targets(session, business):
        sms = channel == Channel.SMS.value
        row = notify.create_notification(
            session,
            kind=kind.value,
            channel=channel,
            recipient=recipient,
            subject="" if sms else f"{head} · {service} lead #{lead.id}",
            text=compose.fit_sms(f"{head}.", link) if sms else f"{text}\n\n{link}",
            html="" if sms else compose.html_from_text(f"{text}\n\n{link}", link),
            dedupe_key=f"quote:{quote.id}:{quote.status}:{channel}",
            lead_id=lead.id,
            match_id=quote.match_id,
            business_id=business.id,
            user_id=business.owner_id,
        )
        ids.append(row.id)  # type: ignore[arg-type]
    return ids
