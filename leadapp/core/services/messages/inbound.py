"""Replies that come back by email or text and land in their thread.

Guarantees:
- Email (SendGrid Inbound Parse, verified by its route): the thread and side come only from a genuine reply address
  of the thread (`replies.read_reply_address` over To, Cc and the envelope); the quoted earlier mail under the reply
  is cut off; its first photo attachment comes with it. Stored once per email (its Message-ID, else a hash of
  what identifies it).
- Text (Twilio, signature checked by the bridge): the number's last open thread, as the consumer of a request made
  with that number or as a business that gets its texts at it; the thread with the latest message wins. Stored
  once per MessageSid.
- A thread closed meanwhile, no thread, an empty or too long reply: an `InboundOutcome` that says why, nothing
  stored. Runs as the system (the webhook is the credential), committed before returning.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from leadapp.core import crypto, rls
from leadapp.core.db import session_scope
from leadapp.core.errors import Unavailable, UserError
from leadapp.core.models import Business, Lead, Match, ThreadMessage
from leadapp.core.services import access, notify
from leadapp.core.services.messages import photos
from leadapp.core.services.messages.replies import read_reply_address
from leadapp.core.services.messages.service import record_reply
from leadapp.core.vocab import MessageChannel, ThreadSide

NO_THREAD = "This address or number belongs to no conversation."
CLOSED = "This conversation is closed: the request was withdrawn, rejected or deleted."
_QUOTE_STARTS = (
    re.compile(r"^\s*On .{0,300}wrote:\s*$", re.IGNORECASE),
    re.compile(r"^\s*-{2,}\s*Original Message\s*-{2,}", re.IGNORECASE),
    re.compile(r"^\s*From:\s.*$", re.IGNORECASE),
    re.compile(r"^\s*>"),
)
_MESSAGE_ID = re.compile(r"^Message-ID:\s*(<[^>\s]{1,250}>)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class InboundOutcome:
    """What became of a reply: `status` "stored" (also a duplicate), "no_thread", "closed", "invalid" or
    "unavailable" (its photo could not be stored just now: nothing was, the sender may deliver it again)."""

    status: str
    reason: str = ""
    message_id: int | None = None


def reply_text(text: str) -> str:
    """The new words of an email reply: everything above the quoted earlier mail ("On … wrote:", "> …")."""
    kept: list[str] = []
    for line in (text or "").replace("\r\n", "\n").split("\n"):
        if any(p.match(line) for p in _QUOTE_STARTS):
            break
        kept.append(line)
    return "\n".join(kept).strip()


def _store(
    session: Session,
    match_id: int,
    side: ThreadSide,
    body: str,
    channel: MessageChannel,
    key: str,
    photo: bytes | None = None,
) -> InboundOutcome:
    try:
        message = record_reply(session, match_id, side, body, channel=channel, inbound_key=key, photo=photo)
    except Unavailable as exc:
        return InboundOutcome("unavailable", exc.message)
    except UserError as exc:
        return InboundOutcome("invalid", exc.message)
    if message is None:
        return InboundOutcome("closed", CLOSED)
    return InboundOutcome("stored", message_id=message.id)


def email_reply(
    *,
    to: str,
    cc: str = "",
    envelope: str = "",
    text: str,
    headers: str = "",
    sender: str = "",
    attachments: Sequence[bytes] = (),
) -> InboundOutcome:
    """Store a reply by email in its thread (see the module's guarantees), with its first attachment that is a photo
    within the size limit (other files are left out)."""
    found = read_reply_address(to, cc, envelope)
    if found is None:
        return InboundOutcome("no_thread", NO_THREAD)
    match_id, side = found
    message_ids = _MESSAGE_ID.findall(headers or "")
    identity = message_ids[0] if message_ids else f"{to}\n{sender}\n{text}"
    key = "email:" + hashlib.sha256(identity.encode()).hexdigest()[:48]
    with session_scope(rls.system("messages: a verified email reply")) as session:
        photo = next((a for a in attachments if photos.photo_kind(a) and len(a) <= photos.PHOTO_MAX_BYTES), None)
        return _store(session, match_id, side, reply_text(text), MessageChannel.EMAIL, key, photo)


def _threads_of_number(session: Session, e164: str) -> list[tuple[int, ThreadSide]]:
    """Every open thread the number is in: as the consumer of the request, or as a business's texting number."""
    taken = list(access.TAKEN_MATCH_STATUSES)
    found: list[tuple[int, ThreadSide]] = []
    consumer = session.exec(
        select(Match.id, Lead)
        .join(Lead, col(Lead.id) == col(Match.lead_id))
        .where(Lead.contact_phone_hash == crypto.phone_hash(e164), col(Match.status).in_(taken))
    ).all()
    found += [(int(m), ThreadSide.CONSUMER) for m, lead in consumer if not access.lead_is_closed(lead)]
    business = session.exec(
        select(Match.id, Lead)
        .join(Lead, col(Lead.id) == col(Match.lead_id))
        .join(Business, col(Business.id) == col(Match.business_id))
        .where(Business.notify_phone == e164, col(Match.status).in_(taken))
    ).all()
    found += [(int(m), ThreadSide.BUSINESS) for m, lead in business if not access.lead_is_closed(lead)]
    return found


def sms_reply(phone: str, body: str, message_sid: str) -> InboundOutcome:
    """Store a reply by text in the last open thread of `phone` (see the module's guarantees)."""
    e164 = notify.normalize_phone(phone)
    if not e164.startswith("+"):
        return InboundOutcome("no_thread", NO_THREAD)
    with session_scope(rls.system("messages: a signed text reply")) as session:
        threads = _threads_of_number(session, e164)
        if not threads:
            return InboundOutcome("no_thread", NO_THREAD)
        latest = dict(
            session.exec(
                select(ThreadMessage.match_id, func.max(ThreadMessage.id))
                .where(col(ThreadMessage.match_id).in_([m for m, _ in threads]))
                .group_by(col(ThreadMessage.match_id))
            ).all()
        )
        match_id, side = max(threads, key=lambda t: (latest.get(t[0]) or 0, t[0]))
        key = "sms:" + (message_sid.strip()[:64] or hashlib.sha256(f"{e164}\n{body}".encode()).hexdigest()[:48])
        return _store(session, match_id, side, body, MessageChannel.SMS, key)
