"""The thread of an accepted lead: the consumer and the business write to each other.

Guarantees:
- A thread is the match's (one per lead and business) and opens once the business took the lead (accepted it or
  won the job). Who may read and write is decided by `access.thread_match`: the business's owner and the consumer
  who made the request write (while the request is open); an admin reads; everyone else is refused the same way
  for a missing thread and someone else's. Nothing is stored on a refusal.
- A message is 1 to 2,000 characters once trimmed (`read_body`); otherwise a UserError on the field `body`. What
  the consumer is refused (and reads as their own name, "You") is in their request's language (`core.languages`);
  the business reads English.
- A reply by email or text (`record_reply`) is stored once however often its webhook is delivered (`inbound_key`
  is unique), and only on a thread that is still open.
- Every new message is pushed live after the commit to the business's open pages and the consumer's portal (the
  "match" event those pages already refresh on), and the other side is told by email or text per its preference
  (`notices`, rows written before the commit and sent after it).
- A view of a message carries no contact detail of either side: the business reads "Consumer", the consumer the
  business's name.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from leadapp.core import labels, languages, localtime
from leadapp.core.errors import written_text
from leadapp.core.events import publish_after_commit, run_after_commit
from leadapp.core.models import Business, Lead, Match, ThreadMessage, User
from leadapp.core.models.messages import BODY_MAX
from leadapp.core.providers.object_store import StoreError
from leadapp.core.services import access, notify
from leadapp.core.services.messages import notices, photos
from leadapp.core.vocab import MessageChannel, ThreadSide

THREAD_LIMIT = 100
"""The newest messages a view shows (a page's list is resent whole on each change)."""


def read_body(text: object, *, with_photo: bool = False, language: str | None = None) -> str:
    """The message's text, trimmed: 1 to BODY_MAX characters (0 with a photo), else a UserError on `body` (in
    `language`, English by default)."""
    w = languages.phrases(language)
    missing = "" if with_photo else w.MESSAGE_EMPTY
    return written_text(text, "body", most=BODY_MAX, missing=missing, too_long=w.TOO_LONG)


def _language(side: ThreadSide | None, lead: Lead) -> str | None:
    """The language `side` reads the thread in: the consumer their request's, the business (and an admin) English."""
    return lead.language if side == ThreadSide.CONSUMER else None


def _stored(session: Session, match: Match, lead: Lead, business: Business, message: ThreadMessage) -> None:
    """After a message is added: tell the other side (rows now, sends after the commit) and push it live."""
    ids = notices.new_message(session, match, lead, business, message)
    if ids:
        run_after_commit(session, notify.enqueue_sends, ids)
    publish_after_commit(
        session, "match", business_id=business.id, match_id=match.id, lead_id=lead.id, consumer_id=lead.consumer_id
    )


def _new_message(
    match: Match,
    lead: Lead,
    business: Business,
    side: ThreadSide,
    author_id: int | None,
    text: str,
    channel: MessageChannel,
    photo: bytes | None,
    inbound_key: str | None = None,
    language: str | None = None,
) -> tuple[ThreadMessage, photos.StoredPhoto | None]:
    """A new message of the thread of `match` (not added yet), with its photo stored first when given (a refusal in
    `language`)."""
    stored = photos.store_photo(photo, language) if photo is not None else None
    message = ThreadMessage(
        match_id=match.id,  # type: ignore[arg-type]
        lead_id=lead.id,  # type: ignore[arg-type]
        business_id=business.id,  # type: ignore[arg-type]
        side=side.value,
        author_id=author_id,
        body=text,
        channel=channel.value,
        inbound_key=inbound_key,
        photo_ref=stored.ref if stored else "",
        photo_type=stored.content_type if stored else "",
        photo_bytes=stored.size if stored else 0,
    )
    return message, stored


def post_message(
    session: Session, user: User | None, match_id: int, body: object, photo: bytes | None = None
) -> ThreadMessage:
    """Write `body` in the thread of `match_id` as `user`, with a photo when given (`photos.store_photo`'s checks;
    the text may then be empty); see the module's guarantees; returns the message. Does not commit."""
    match, lead, business, side = access.thread_match(session, user, match_id, post=True)
    assert user is not None and side is not None
    language = _language(side, lead)
    text = read_body(body, with_photo=photo is not None, language=language)
    message, _ = _new_message(match, lead, business, side, user.id, text, MessageChannel.WEB, photo, language=language)
    session.add(message)
    session.flush()
    _stored(session, match, lead, business, message)
    return message


def record_reply(
    session: Session,
    match_id: int,
    side: ThreadSide,
    body: object,
    *,
    channel: MessageChannel,
    inbound_key: str,
    photo: bytes | None = None,
) -> ThreadMessage | None:
    """Store a reply that came by email or text on the thread of `match_id` (the caller, a verified webhook acting
    as the system, matched it to the thread and the side). Returns the message, or None when the thread is closed
    or gone. The same `inbound_key` twice returns the message stored the first time. UserError for an empty (without
    a photo) or too long body, or a `photo` that is none (`photos.store_photo`). Commits (a duplicate is detected by
    the database)."""
    text = read_body(body, with_photo=photo is not None)
    existing = session.exec(select(ThreadMessage).where(ThreadMessage.inbound_key == inbound_key)).first()
    if existing is not None:
        return existing
    row = access.match_row(session, match_id)
    if row is None or row[0].status not in access.TAKEN_MATCH_STATUSES or access.lead_is_closed(row[1]):
        return None
    match, lead, business = row
    author_id = lead.consumer_id if side == ThreadSide.CONSUMER else business.owner_id
    message, stored = _new_message(match, lead, business, side, author_id, text, channel, photo, inbound_key)
    session.add(message)
    try:
        session.flush()
    except IntegrityError:  # the same reply delivered twice at the same moment: the other delivery stored it
        session.rollback()
        if stored is not None:
            with contextlib.suppress(StoreError):  # logged; an orphan photo no row refers to is never shown
                photos.delete_photos([stored.ref])
        return session.exec(select(ThreadMessage).where(ThreadMessage.inbound_key == inbound_key)).first()
    _stored(session, match, lead, business, message)
    session.commit()
    return message


def message_view(
    message: ThreadMessage, viewer: ThreadSide | None, business_name: str, lead: Lead, reader: User | None = None
) -> dict[str, str]:
    """A message as `viewer` reads it (None: an admin): who wrote it, the text, when, how it came in, and a link to
    its photo for `reader` (the account reading; "" without one)."""
    mine, w = viewer is not None and message.side == viewer.value, languages.phrases(_language(viewer, lead))
    if mine:
        author = w.YOU
    elif message.side == ThreadSide.BUSINESS.value:
        author = business_name
    else:
        author = "Consumer"
    zone = localtime.lead_zone(lead)
    return {
        "id": str(message.id),
        "side": message.side,
        "mine": "yes" if mine else "",
        "author": author,
        "body": message.body,
        "sent": localtime.exact(message.created_at, zone),
        "via": ""
        if message.channel == MessageChannel.WEB.value
        else (w.MESSAGE_CHANNEL.get(message.channel) or labels.word("message_channel", message.channel)),
        "photo_url": photos.photo_link(message, reader),
    }


def _messages(session: Session, match_ids: Sequence[int]) -> dict[int, list[ThreadMessage]]:
    found: dict[int, list[ThreadMessage]] = {int(i): [] for i in match_ids}
    if not found:
        return found
    rows = session.exec(
        select(ThreadMessage).where(col(ThreadMessage.match_id).in_(list(found))).order_by(col(ThreadMessage.id))
    ).all()
    for row in rows:
        found[row.match_id].append(row)
    return {match_id: rows[-THREAD_LIMIT:] for match_id, rows in found.items()}


def thread(session: Session, user: User | None, match_id: int) -> dict[str, object]:
    """The thread of `match_id` as `user` reads it: {"match_id", "business_name", "can_write", "messages"}, oldest
    first (the newest THREAD_LIMIT). Refused like `post_message` (an admin may read)."""
    match, lead, business, side = access.thread_match(session, user, match_id, post=False)
    rows = _messages(session, [match.id])[match.id]  # type: ignore[index]
    return {
        "match_id": str(match.id),
        "business_name": business.name,
        "can_write": "yes" if side is not None and not access.lead_is_closed(lead) else "",
        "messages": [message_view(m, side, business.name, lead, user) for m in rows],
    }


def threads_by_lead(
    session: Session, leads: Sequence[Lead], reader: User | None = None
) -> dict[int, list[dict[str, object]]]:
    """For the consumer's portal: each lead's threads (one per business that took it), each with its messages as
    the consumer reads them (photo links for `reader`, the account reading). The caller has checked that the viewer
    may read these leads. Two queries."""
    found: dict[int, list[dict[str, object]]] = {lead.id: [] for lead in leads if lead.id is not None}
    if not found:
        return found
    by_id = {lead.id: lead for lead in leads}
    rows = session.exec(
        select(Match, Business.name)
        .join(Business, col(Business.id) == col(Match.business_id))
        .where(col(Match.lead_id).in_(list(found)), col(Match.status).in_(list(access.TAKEN_MATCH_STATUSES)))
        .order_by(col(Match.id))
    ).all()
    messages = _messages(session, [m.id for m, _ in rows])  # type: ignore[misc]
    for match, name in rows:
        lead = by_id[match.lead_id]
        found[match.lead_id].append(
            {
                "match_id": str(match.id),
                "business_name": name,
                "can_write": "" if access.lead_is_closed(lead) else "yes",
                "messages": [
                    message_view(m, ThreadSide.CONSUMER, name, lead, reader)
                    for m in messages[match.id]  # type: ignore[index]
                ],
            }
        )
    return found


def purge_leads(session: Session, lead_ids: Sequence[int]) -> int:
    """Delete every message of these leads (what people wrote is personal data) and their photos in the store;
    returns how many messages. For the purge of deleted requests; safe twice.

    The photos go first, within the caller's transaction: when the store fails, StoreError is raised, the caller
    rolls back and the next purge tries again with the refs still in the rows (deleting them after the commit
    would lose the refs and leave the photos in the bucket for good)."""
    if not lead_ids:
        return 0
    refs = list(
        session.exec(
            select(ThreadMessage.photo_ref).where(
                col(ThreadMessage.lead_id).in_(list(lead_ids)), ThreadMessage.photo_ref != ""
            )
        ).all()
    )
    photos.delete_photos(refs)
    gone = session.execute(delete(ThreadMessage).where(col(ThreadMessage.lead_id).in_(list(lead_ids))))
    return int(gone.rowcount or 0)
