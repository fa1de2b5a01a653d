"""SMS opt-outs: the numbers that replied STOP (stored by keyed hash), which get no text message."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from leadapp.core.crypto import phone_hash
from leadapp.core.db import insert_new
from leadapp.core.models import SmsOptOut
from leadapp.core.services.notify.rows import normalize_phone


def _opt_out_lookup(phone_e164: str) -> Any:
    return select(SmsOptOut).where(SmsOptOut.phone_hash == phone_hash(normalize_phone(phone_e164)))


def record_sms_opt_out(session: Session, phone_e164: str) -> SmsOptOut | None:
    """Remember that this number replied STOP (idempotent; only a keyed hash is stored). Does not commit."""
    digest = phone_hash(normalize_phone(phone_e164))
    if not digest:
        return None
    lookup = _opt_out_lookup(phone_e164)
    found = session.exec(lookup).first()
    if found is None:
        insert_new(session, SmsOptOut, [SmsOptOut(phone_hash=digest).model_dump(exclude={"id"})], ["phone_hash"])
        found = session.exec(lookup).one()
    return found


def clear_sms_opt_out(session: Session, phone_e164: str) -> bool:
    """Forget a STOP after START; True when there was one. Does not commit."""
    digest = phone_hash(normalize_phone(phone_e164))
    if not digest:
        return False
    result = session.exec(delete(SmsOptOut).where(col(SmsOptOut.phone_hash) == digest))
    return int(result.rowcount) > 0


def is_opted_out(session: Session, phone_e164: str) -> bool:
    """True when this number replied STOP and has not sent START since."""
    if not normalize_phone(phone_e164):
        return False
    return session.exec(_opt_out_lookup(phone_e164)).first() is not None
