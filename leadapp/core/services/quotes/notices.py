"""Who hears of a quote: the consumer when a business sends one (a row per channel of theirs), and each business
when the consumer decides on its quote (a row per channel it chose)."""

from __future__ import annotations

from sqlmodel import Session

from leadapp.core.models import Business, Lead, Quote
from leadapp.core.services import compose, notify
from leadapp.core.vocab import Channel, NotificationKind


def quote_sent(session: Session, lead: Lead, quote: Quote, business_name: str, amount: str) -> list[int]:
    """QUOTE_SENT rows to the request's consumer (email; SMS when they prefer texts: `notify.consumer_targets`),
    one per quote and channel (its dedupe key: the same quote told again adds nothing); returns their ids. The
    caller enqueues them after the commit."""
    rows = notify.notify_consumer(
        session,
        lead,
        NotificationKind.QUOTE_SENT.value,
        f"quote:{quote.id}:consumer",
        lambda: compose.compose_consumer_quote(lead, business_name, amount, quote.valid_until),
        match_id=quote.match_id,
        business_id=quote.business_id,
    )
    return [row.id for row in rows]  # type: ignore[misc]


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
