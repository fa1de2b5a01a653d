"""The businesses' response rates and median response times, one business or all of them (the nightly job)."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta

from sqlalchemy import case, func, or_
from sqlmodel import Session, col, select

from leadapp.core.db import session_scope
from leadapp.core.errors import NotFound
from leadapp.core.models import Business, Match, utcnow

# A match counts for the response rate once it has been answered or has had a day to be.
RESPONSE_WINDOW = timedelta(hours=24)


def refresh_response_rate(session: Session, business_id: int, *, now: datetime | None = None) -> float:
    """Recompute and store the business's ``response_rate`` and ``avg_response_minutes``; returns the rate.

    The rate is answered matches (``responded_at`` set) over the matches that are answered or older
    than 24 h (a newer unanswered match is not held against the business yet); stored as None (no
    history yet, scored in the new-business band) and returned as 0.0 when there is none of either.
    ``avg_response_minutes`` is the *median* of created→responded minutes over answered matches (a
    median, so one forgotten weekend does not dominate), None when nothing was answered.
    Flushes, does not commit. Raises NotFound for an unknown business.
    """
    business = session.get(Business, business_id)
    if business is None:
        raise NotFound("No such business.")
    now = now or utcnow()
    responded = col(Match.responded_at).is_not(None)
    counted = or_(responded, col(Match.created_at) < now - RESPONSE_WINDOW)
    total, answered = session.exec(
        select(func.count(), func.coalesce(func.sum(case((responded, 1), else_=0)), 0)).where(
            Match.business_id == business_id, counted
        )
    ).one()
    rate = answered / total if total else None
    pairs = session.exec(
        select(Match.created_at, Match.responded_at).where(Match.business_id == business_id, responded)
    )
    minutes = [max(0.0, (answered_at - created).total_seconds() / 60) for created, answered_at in pairs]
    business.response_rate = rate
    business.avg_response_minutes = statistics.median(minutes) if minutes else None
    business.updated_at = now
    session.add(business)
    session.flush()
    return rate or 0.0


RESPONSE_RATE_BATCH = 200


def refresh_all_response_rates(*, now: datetime | None = None) -> int:
    """Recompute every business's response rate and median response time (`refresh_response_rate`); returns how many.

    The nightly job: a match left unanswered for 24 hours starts counting against its business without
    anyone acting, so the stored rates would otherwise only move when the business responds. Businesses are
    refreshed a batch per transaction (ids in order), so a long run holds no lock for long and a failure
    loses one batch at most. Safe to run twice or concurrently: each run writes the same figures.
    """
    now = now or utcnow()
    refreshed, after = 0, 0
    while True:
        with session_scope() as session:
            query = select(Business.id).where(col(Business.id) > after).order_by(col(Business.id))
            ids = session.exec(query.limit(RESPONSE_RATE_BATCH)).all()
            for business_id in ids:
                refresh_response_rate(session, int(business_id), now=now)  # type: ignore[arg-type]
        refreshed += len(ids)
        if len(ids) < RESPONSE_RATE_BATCH:
            return refreshed
        after = int(ids[-1])  # type: ignore[arg-type]
