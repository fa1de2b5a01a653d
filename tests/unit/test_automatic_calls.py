"""The AI calls the worker schedules by itself (`calls.automatic`, rules `auto_calls`), on SQLite and PostgreSQL,
with a controlled clock: nothing while the rules leave them off; a visit confirmation the day before an accepted
quote's visit, in the consumer's calling hours; a follow-up `follow_up_days` after a conversion; each once, and
never for a consumer without AI-call consent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from leadapp.core.models import AuditEvent, Call, Conversion
from leadapp.core.services import rules
from leadapp.core.services.calls import automatic
from leadapp.core.vocab import CallStatus, CallType, QuoteStatus
from tests import factories
from worker import jobs

NOW = datetime(2026, 6, 1, 15, 0, tzinfo=UTC)  # 11:00 in Carmel, IN
World = factories.TwoBusinesses


@pytest.fixture
def world(db_session: Session) -> World:
    return factories.two_businesses(db_session, accepted=True)


def _turn_on(s: Session, w: World, **auto: object) -> None:
    current = rules.current_rules(s).rules
    rules.save_rules(s, w.admin, {**current, "auto_calls": {**current["auto_calls"], **auto}}, note="auto calls")
    s.commit()


def _calls(s: Session) -> list[Call]:
    s.expire_all()
    return list(s.exec(select(Call).order_by(Call.id)).all())


def _aware(moment: datetime | None) -> datetime | None:
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


def test_nothing_is_scheduled_while_the_rules_leave_it_off(db_session: Session, world: World) -> None:
    s = db_session
    factories.quote(s, world.match, status=QuoteStatus.ACCEPTED.value, visit_at=NOW + timedelta(hours=20))
    s.add(Conversion(lead_id=world.lead.id, business_id=world.business.id, created_at=NOW - timedelta(days=7)))
    s.commit()
    assert automatic.schedule_automatic_calls(s, NOW) == 0
    assert _calls(s) == []


def test_a_visit_tomorrow_is_confirmed_by_a_call_the_day_before_once(db_session: Session, world: World) -> None:
    s = db_session
    _turn_on(s, world, confirm_appointment=True)
    visit = NOW + timedelta(hours=30)  # tomorrow 17:00 in Carmel: the call goes at 17:00 today
    factories.quote(s, world.match, status=QuoteStatus.ACCEPTED.value, visit_at=visit)
    factories.quote(s, world.other_match, status=QuoteStatus.DECLINED.value, visit_at=visit)
    far = factories.lead(s, world.consumer)
    far_match = factories.match(s, far, world.business, status="accepted")
    factories.quote(s, far_match, status=QuoteStatus.ACCEPTED.value, visit_at=NOW + timedelta(days=5))
    s.commit()

    assert automatic.schedule_automatic_calls(s, NOW) == 1
    s.commit()
    (call,) = _calls(s)
    assert (call.lead_id, call.business_id) == (world.lead.id, world.business.id)
    assert call.call_type == CallType.CONFIRM_APPOINTMENT.value and call.requested_by_id is None
    assert call.status == CallStatus.SCHEDULED.value and _aware(call.scheduled_for) == visit - timedelta(hours=24)
    assert "Confirm the visit booked for Jun 2, 2026, 17:00 EDT" in call.objective
    assert s.exec(select(AuditEvent).where(AuditEvent.action == "call.auto")).first() is not None

    # Run again (the next quarter hour, or twice at once): no second call.
    assert automatic.schedule_automatic_calls(s, NOW + timedelta(minutes=15)) == 0
    assert len(_calls(s)) == 1


def test_a_visit_early_tomorrow_is_confirmed_in_the_consumers_calling_hours(db_session: Session, world: World) -> None:
    s = db_session
    _turn_on(s, world, confirm_appointment=True)
    late = datetime(2026, 6, 2, 2, 0, tzinfo=UTC)  # 22:00 in Carmel: calling hours are over
    visit = datetime(2026, 6, 2, 13, 0, tzinfo=UTC)  # 9:00 tomorrow in Carmel
    factories.quote(s, world.match, status=QuoteStatus.ACCEPTED.value, visit_at=visit)
    s.commit()
    assert automatic.schedule_automatic_calls(s, late) == 1
    s.commit()
    (call,) = _calls(s)
    assert _aware(call.scheduled_for) == visit  # 9:00 is when the consumer's calling hours open


def test_a_converted_job_is_followed_up_after_the_days_in_the_rules(db_session: Session, world: World) -> None:
    s = db_session
    _turn_on(s, world, follow_up=True, follow_up_days=3)
    s.add(Conversion(lead_id=world.lead.id, business_id=world.business.id, created_at=NOW - timedelta(days=2)))
    s.commit()
    assert automatic.schedule_automatic_calls(s, NOW) == 0  # not yet
    assert automatic.schedule_automatic_calls(s, NOW + timedelta(days=1, hours=1)) == 1
    s.commit()
    (call,) = _calls(s)
    assert call.call_type == CallType.FOLLOW_UP.value and call.status == CallStatus.REQUESTED.value
    assert "review" in call.objective


def test_no_automatic_call_without_consent(db_session: Session) -> None:
    s = db_session
    w = factories.two_businesses(s, accepted=True, consent_ai_calls=False, consent_at=None)
    _turn_on(s, w, confirm_appointment=True, follow_up=True, follow_up_days=7)
    factories.quote(s, w.match, status=QuoteStatus.ACCEPTED.value, visit_at=NOW + timedelta(hours=20))
    s.add(Conversion(lead_id=w.lead.id, business_id=w.business.id, created_at=NOW - timedelta(days=7, hours=1)))
    s.commit()
    assert automatic.schedule_automatic_calls(s, NOW) == 0
    assert _calls(s) == []


def test_the_job_is_on_the_worker_schedule() -> None:
    from worker import schedule

    registered: list[object] = []

    class Recorder:
        def register(self, func, queue, **options):
            registered.append(func)

    schedule.register(Recorder())  # type: ignore[arg-type]
    assert jobs.schedule_automatic_calls in registered
