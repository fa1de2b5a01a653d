"""Creating notification rows: one per purpose (`dedupe_key`), for the matched businesses and the consumer."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import cache, partial
from typing import Any, NotRequired, TypedDict, Unpack

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from leadapp.core import links, phones
from leadapp.core.crypto import decrypt_phone
from leadapp.core.db import insert_new_rows
from leadapp.core.models import Business, Lead, Match, Notification, User
from leadapp.core.observability import get_logger
from leadapp.core.services.compose import (
    ComposedMessage,
    compose_business_message,
    compose_consumer_matched,
    compose_consumer_no_match,
)
from leadapp.core.vocab import Channel, ContactPreference, NotificationKind

log = get_logger(__name__)

_Wanted = list[tuple[str, Callable[[], Notification]]]
"""(dedupe key, factory of the new row) for each notification a caller wants to exist."""


class NotificationFields(TypedDict):
    """What a caller gives a new notification: its message, address and dedupe key, and the rows it is about."""

    kind: str
    channel: str
    recipient: str
    subject: str
    text: str
    html: str
    dedupe_key: str
    lead_id: NotRequired[int | None]
    match_id: NotRequired[int | None]
    business_id: NotRequired[int | None]
    user_id: NotRequired[int | None]


def _values(**fields: Unpack[NotificationFields]) -> Notification:
    """A new pending row (the model's defaults included, not added to any session), cut to the columns' sizes."""
    return Notification(
        kind=str(fields["kind"]),
        channel=str(fields["channel"]),
        recipient=fields["recipient"][:320],
        subject=fields["subject"][:300],
        body_text=fields["text"][:10000],
        body_html=fields["html"][:40000],
        dedupe_key=fields["dedupe_key"],
        lead_id=fields.get("lead_id"),
        match_id=fields.get("match_id"),
        business_id=fields.get("business_id"),
        user_id=fields.get("user_id"),
    )


def _existing(session: Session, keys: Iterable[str]) -> dict[str, Notification]:
    rows = session.exec(select(Notification).where(col(Notification.dedupe_key).in_(list(keys)))).all()
    return {row.dedupe_key: row for row in rows}


def _store(session: Session, wanted: _Wanted, *, new: bool = False) -> list[Notification]:
    """The row for each (dedupe key, values factory), in order: existing rows as they are, the rest inserted.

    Two statements whatever the count: look the keys up, insert the missing rows in one INSERT … ON
    CONFLICT DO NOTHING RETURNING their ids (the rows inserted are the ones built here, nothing is read back);
    a key a concurrent transaction inserted first wins (nothing fails) and only then is its row read. A
    factory runs only for a key that has no row yet. Does not commit.
    `new`: the caller knows no row can exist yet (a lead matched for the first time): no look-up first, every
    factory runs, and a key that had a row after all keeps it (read after the INSERT, as for a concurrent one).
    """
    keys = list(dict.fromkeys(k for k, _ in wanted))
    if not keys:
        return []
    found = {} if new else _existing(session, keys)
    new_rows = {k: make() for k, make in wanted if k not in found}
    if new_rows:
        found.update((row.dedupe_key, row) for row in insert_new_rows(session, list(new_rows.values()), ["dedupe_key"]))
        raced = [k for k in new_rows if k not in found]
        if raced:
            found.update(_existing(session, raced))
    return [found[k] for k, _ in wanted]


def create_notification(session: Session, **fields: Unpack[NotificationFields]) -> Notification:
    """The pending notification for `dedupe_key`: created once, returned as it is on every later call.

    Safe against a concurrent insert of the same key (ON CONFLICT DO NOTHING; the loser gets the
    winner's row). The links (lead_id, match_id, business_id, user_id) are optional. Does not commit; the
    row has an id when this returns.
    """
    fields["dedupe_key"] = fields["dedupe_key"][:200]
    return _store(session, [(fields["dedupe_key"], partial(_values, **fields))])[0]


def normalize_phone(phone: str) -> str:
    """A phone number in E.164 when it parses (US by default), else the trimmed input ("" stays "")."""
    return phones.normalize(phone)


def business_targets(session: Session, business: Business) -> list[tuple[str, str]]:
    """(channel, recipient) for each channel the business chose and has an address for."""
    targets: list[tuple[str, str]] = []
    for channel in dict.fromkeys(business.notify_channels or [Channel.EMAIL.value]):
        if channel == Channel.EMAIL:
            recipient = business.notify_email.strip()
            if not recipient:
                owner = session.get(User, business.owner_id)
                recipient = owner.email if owner is not None else ""
        elif channel == Channel.SMS:
            recipient = normalize_phone(business.notify_phone)
        else:
            log.warning("unknown_notify_channel", business_id=business.id, channel=channel)
            continue
        if recipient:
            targets.append((str(channel), recipient))
        else:
            log.info("notify_channel_without_address", business_id=business.id, channel=channel)
    return targets


THREAD_MESSAGE_PREFIX = "thread-message"


def thread_message_key(message_id: int, match_id: int, recipient_side: str, channel: str) -> str:
    """`thread-message:<message>:<match>:<recipient side>:<channel>`, the dedupe key of a message's notification
    (one per message and channel); the sender reads the thread and side back from it for the email's Reply-To."""
    return f"{THREAD_MESSAGE_PREFIX}:{int(message_id)}:{int(match_id)}:{recipient_side}:{channel}"


def thread_reply_to(key: str) -> str:
    """The Reply-To of a message email with this dedupe key: the recipient's reply address of its thread ("" for
    another kind of row, or without an inbound domain)."""
    parts = (key or "").split(":")
    if len(parts) != 5 or parts[0] != THREAD_MESSAGE_PREFIX or not parts[2].isdigit():
        return ""
    if parts[3] not in links.REPLY_SIDES:
        return ""
    return links.reply_address(int(parts[2]), parts[3])


def consumer_targets(lead: Lead) -> list[tuple[str, str]]:
    """(channel, recipient) for the consumer of `lead`: their email when they gave one, and a text when they
    prefer to be texted or phoned and gave a number."""
    targets: list[tuple[str, str]] = []
    if lead.contact_email:
        targets.append((Channel.EMAIL.value, lead.contact_email))
    if lead.preferred_contact in (ContactPreference.SMS, ContactPreference.PHONE):
        phone = normalize_phone(decrypt_phone(lead.contact_phone_enc))
        if phone:
            targets.append((Channel.SMS.value, phone))
    return targets


def _per_target(
    targets: Sequence[tuple[str, str]], keys: dict[str, str], compose: Callable[[], ComposedMessage], **fields: Any
) -> _Wanted:
    """(dedupe key, values factory) per target of one message; the message is composed at most once, and
    only when some target has no row yet."""
    message = cache(compose)

    def values(channel: str, recipient: str) -> Notification:
        composed, is_sms = message(), channel == Channel.SMS
        return _values(
            channel=channel,
            recipient=recipient,
            subject="" if is_sms else composed.subject,
            text=composed.sms if is_sms else composed.text,
            html="" if is_sms else composed.html,
            dedupe_key=keys[channel],
            **fields,
        )

    return [(keys[channel], partial(values, channel, recipient)) for channel, recipient in targets]


def business_dedupe_key(lead_id: int | None, business_id: int | None, channel: str) -> str:
    return f"lead:{lead_id}:biz:{business_id}:{channel}"


_BUSINESSES = select(Business).where(col(Business.id).in_(bindparam("ids", expanding=True)))
"""The matched businesses, a statement built once (the same object each time: SQLAlchemy neither builds nor keys it
again for every lead)."""


def _businesses_wanted(session: Session, lead: Lead, matches: Sequence[Match]) -> _Wanted:
    wanted: _Wanted = []
    ids = list(dict.fromkeys(m.business_id for m in matches))
    businesses = {b.id: b for b in session.exec(_BUSINESSES, params={"ids": ids}).all()} if ids else {}
    for match in matches:
        business = businesses.get(match.business_id)
        if business is None:
            continue
        targets = business_targets(session, business)
        if not targets:
            log.warning("business_has_no_notification_address", business_id=business.id, lead_id=lead.id)
            continue
        keys = {channel: business_dedupe_key(lead.id, business.id, channel) for channel, _ in targets}
        wanted += _per_target(
            targets,
            keys,
            partial(compose_business_message, lead, business, match),
            kind=NotificationKind.BUSINESS_NEW_LEAD.value,
            lead_id=lead.id,
            match_id=match.id,
            business_id=business.id,
            user_id=business.owner_id,
        )
    return wanted


def _consumer_wanted(session: Session, lead: Lead, matches: Sequence[Match]) -> _Wanted:
    kind = NotificationKind.CONSUMER_MATCHED if matches else NotificationKind.CONSUMER_NO_MATCH
    targets = consumer_targets(lead)

    def compose() -> ComposedMessage:
        if not matches:
            return compose_consumer_no_match(lead)
        pairs = [(m, session.get(Business, m.business_id)) for m in sorted(matches, key=lambda m: -m.score)]
        return compose_consumer_matched(lead, [(m, b) for m, b in pairs if b is not None])

    keys = {channel: f"lead:{lead.id}:{kind.value}:{channel}" for channel, _ in targets}
    return _per_target(targets, keys, compose, kind=kind.value, lead_id=lead.id, user_id=lead.consumer_id)


def notify_businesses(session: Session, lead: Lead, matches: Sequence[Match]) -> list[Notification]:
    """A new-lead notification per match and per channel the business chose (email, SMS).

    Email goes to the business's notification email, else its owner's account email; SMS to its
    notification phone when set. Idempotent (one row per lead, business and channel); creates rows only
    (the caller commits, then calls `enqueue_sends`).
    """
    return _store(session, _businesses_wanted(session, lead, matches))


def notify_consumer_result(session: Session, lead: Lead, matches: Sequence[Match]) -> list[Notification]:
    """Tell the consumer the outcome of matching: matched (with whom) or not matched yet.

    By email when the lead has one; by SMS when they prefer SMS or phone and their number is known.
    Idempotent per lead, outcome and channel; creates rows only (the caller commits, then enqueues).
    """
    return _store(session, _consumer_wanted(session, lead, matches))


def notify_matched_lead(
    session: Session, lead: Lead, matches: Sequence[Match], *, first: bool = False
) -> list[Notification]:
    """`notify_businesses` and then `notify_consumer_result` for a lead just matched, in one round of statements.
    `first`: the lead was matched for the first time in this transaction, so none of these rows exists yet (see
    `_store`'s `new`)."""
    wanted = _businesses_wanted(session, lead, matches) + _consumer_wanted(session, lead, matches)
    return _store(session, wanted, new=first)


def notify_consumer(
    session: Session,
    lead: Lead,
    kind: str,
    key: str,
    compose: Callable[[], ComposedMessage],
    **links: int | None,
) -> list[Notification]:
    """One message to the consumer of `lead` on each channel of `consumer_targets`, with the dedupe key
    `<key>:<channel>` (one row per purpose and channel, whatever the retries); `compose` runs only when a row is
    missing. `links`: the rows it is about (match_id, business_id). Creates rows only (the caller commits, then
    enqueues)."""
    targets = consumer_targets(lead)
    keys = {channel: f"{key}:{channel}" for channel, _ in targets}
    return _store(
        session, _per_target(targets, keys, compose, kind=kind, lead_id=lead.id, user_id=lead.consumer_id, **links)
    )
