"""Daily caps on what costs money and reaches people: AI calls and text messages, platform-wide and per business.

Guarantees:
- over any 24 hours the platform places at most AI_CALLS_PER_DAY AI calls, and the leads of one business get at
  most AI_CALLS_PER_BUSINESS_PER_DAY (its own requests and its consumers' callbacks: a callback the portal asks
  for is that business's call once it accepted, else LeadApp's own and counted platform-wide only);
- at most SMS_PER_DAY text messages leave the platform in 24 hours, at most SMS_PER_BUSINESS_PER_DAY of them
  about one business (verification codes count platform-wide);
- the call caps are checked when a call is asked for and again by the call worker before it dials; the SMS caps
  when a verification code is asked for and by the sender before each text (a text over the cap fails with
  the reason, for an admin to retry).

The counts run over every tenant's rows as the system (a number, nothing else): a cap protects the platform and
the people called, whoever asked.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from leadapp.core import languages
from leadapp.core.languages import english
from leadapp.core.models import Call, Notification, utcnow
from leadapp.core.services import access
from leadapp.core.settings import get_settings
from leadapp.core.vocab import CallDirection, CallStatus, Channel, NotificationStatus

CALLS_PLATFORM = english.CALLS_PLATFORM
CALLS_BUSINESS = english.CALLS_BUSINESS
SMS_PLATFORM = english.SMS_PLATFORM  # the outbox's (English); a consumer's code is refused in their request's
SMS_BUSINESS = english.SMS_BUSINESS


def _since(now: datetime | None) -> datetime:
    return (now or utcnow()) - timedelta(days=1)


def calls_today(
    session: Session, business_id: int | None = None, *, exclude_call_id: int | None = None, now: datetime | None = None
) -> int:
    """Outbound AI calls (not cancelled) asked for in the last 24 hours: all of them, or one business's."""
    query = (
        select(func.count())
        .select_from(Call)
        .where(
            Call.direction == CallDirection.OUTBOUND.value,
            col(Call.status) != CallStatus.CANCELED.value,
            col(Call.created_at) >= _since(now),
        )
    )
    if business_id is not None:
        query = query.where(Call.business_id == business_id)
    if exclude_call_id is not None:
        query = query.where(col(Call.id) != exclude_call_id)
    with access.as_system(session, "daily caps: count the AI calls of the last 24 hours"):
        return int(session.exec(query).one())


def calls_refusal(
    session: Session,
    business_id: int | None,
    *,
    exclude_call_id: int | None = None,
    now: datetime | None = None,
    language: str | None = None,
) -> str:
    """Why one more AI call (for `business_id`, None = LeadApp's own) must wait for tomorrow ("" when it may go);
    in `language` (the consumer's request's; English by default)."""
    settings = get_settings()
    w = languages.phrases(language)
    if calls_today(session, exclude_call_id=exclude_call_id, now=now) >= settings.ai_calls_per_day:
        return w.CALLS_PLATFORM
    if (
        business_id is not None
        and calls_today(session, business_id, exclude_call_id=exclude_call_id, now=now)
        >= settings.ai_calls_per_business_per_day
    ):
        return w.CALLS_BUSINESS.format(cap=settings.ai_calls_per_business_per_day)
    return ""


def sms_today(session: Session, business_id: int | None = None, *, now: datetime | None = None) -> int:
    """Text messages sent (or being sent) in the last 24 hours: all of them, or those about one business."""
    query = (
        select(func.count())
        .select_from(Notification)
        .where(
            Notification.channel == Channel.SMS.value,
            col(Notification.status).in_([NotificationStatus.SENT.value, NotificationStatus.SENDING.value]),
            func.coalesce(col(Notification.sent_at), col(Notification.created_at)) >= _since(now),
        )
    )
    if business_id is not None:
        query = query.where(Notification.business_id == business_id)
    with access.as_system(session, "daily caps: count the text messages of the last 24 hours"):
        return int(session.exec(query).one())


class SmsBudget:
    """What one sending run may still send: counted once, then spent text by text."""

    def __init__(self, session: Session, business_ids: Iterable[int | None]) -> None:
        settings = get_settings()
        self._session = session
        self.platform_left = settings.sms_per_day - sms_today(session)
        self._business_cap = settings.sms_per_business_per_day
        self._business_left = {
            business_id: self._business_cap - sms_today(session, business_id)
            for business_id in set(business_ids)
            if business_id is not None
        }

    def spend(self, business_id: int | None) -> str:
        """Take one text from the budget; the refusal ("" when it may go)."""
        if self.platform_left <= 0:
            return SMS_PLATFORM
        if business_id is not None:
            if self._business_left.get(business_id, 0) <= 0:
                return SMS_BUSINESS.format(cap=self._business_cap)
            self._business_left[business_id] -= 1
        self.platform_left -= 1
        return ""


def sms_refusal(
    session: Session, business_id: int | None, *, now: datetime | None = None, language: str | None = None
) -> str:
    """Why one more text (about `business_id`, None = LeadApp's own) must wait ("" when it may go), in `language`
    (English by default)."""
    settings, w = get_settings(), languages.phrases(language)
    if sms_today(session, now=now) >= settings.sms_per_day:
        return w.SMS_PLATFORM
    if business_id is not None and sms_today(session, business_id, now=now) >= settings.sms_per_business_per_day:
        return w.SMS_BUSINESS.format(cap=settings.sms_per_business_per_day)
    return ""
