"""The kind of AI call an owner asks for and the time they pick (`calls.request_call`, `calls.kinds`), on SQLite
and PostgreSQL: a confirmation only for an accepted quote's visit to come, a follow-up only for a converted job,
each with its own objective; a picked time is the consumer's local time, within their calling hours and the next
30 days, and a refused request stores no call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from leadapp.core.errors import UserError
from leadapp.core.models import Call, Notification
from leadapp.core.services import calls, inbox
from leadapp.core.vocab import CallStatus, CallType, QuoteStatus
from tests import factories

NOW = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)  # 10:00 in Carmel, IN (the lead's ZIP 46032)
CARMEL = ZoneInfo("America/Indiana/Indianapolis")

World = factories.TwoBusinesses


@pytest.fixture
def world(db_session: Session) -> World:
    return factories.two_businesses(db_session, accepted=True)


def _kinds(s: Session, w: World) -> list[str]:
    return [k.value for k in calls.available_kinds(s, w.lead, w.business, NOW)]


def _stored(s: Session, w: World) -> list[Call]:
    s.expire_all()
    return list(s.exec(select(Call).where(Call.lead_id == w.lead.id)).all())


def _refused(s: Session, w: World, field: str, **asked: str) -> str:
    with pytest.raises(UserError) as caught:
        calls.request_call(s, w.owner, w.match.id, now=NOW, **asked)  # type: ignore[arg-type]
    s.rollback()
    assert caught.value.field == field
    assert _stored(s, w) == []
    return caught.value.message


def test_an_accepted_lead_offers_only_the_qualification_call(db_session: Session, world: World) -> None:
    assert _kinds(db_session, world) == [CallType.QUALIFY_LEAD.value]
    message = _refused(db_session, world, "call_type", call_type=CallType.CONFIRM_APPOINTMENT.value)
    assert "visit" in message
    assert "converted" in _refused(db_session, world, "call_type", call_type=CallType.FOLLOW_UP.value)
    assert _refused(db_session, world, "call_type", call_type=CallType.INBOUND.value) == "Choose the kind of call."


def test_an_accepted_quote_with_a_visit_to_come_can_be_confirmed_by_a_call(db_session: Session, world: World) -> None:
    s = db_session
    visit = datetime(2026, 6, 3, 13, 30, tzinfo=UTC)  # 9:30 in Carmel
    factories.quote(s, world.match, status=QuoteStatus.ACCEPTED.value, visit_at=visit)
    factories.quote(s, world.other_match, status=QuoteStatus.ACCEPTED.value, visit_at=visit)
    s.commit()
    assert _kinds(s, world) == [CallType.QUALIFY_LEAD.value, CallType.CONFIRM_APPOINTMENT.value]

    call = calls.request_call(s, world.owner, world.match.id, call_type=CallType.CONFIRM_APPOINTMENT.value, now=NOW)
    s.commit()
    assert call.call_type == CallType.CONFIRM_APPOINTMENT.value
    assert call.business_id == world.business.id and call.status == CallStatus.REQUESTED.value
    assert "Jun 3, 2026, 9:30 EDT" in call.objective  # the visit, said in the consumer's own time


def test_a_past_visit_is_not_confirmed(db_session: Session, world: World) -> None:
    s = db_session
    factories.quote(s, world.match, status=QuoteStatus.ACCEPTED.value, visit_at=NOW - timedelta(hours=1))
    factories.quote(s, world.other_match, status=QuoteStatus.SENT.value, visit_at=NOW + timedelta(days=1))
    s.commit()
    assert _kinds(s, world) == [CallType.QUALIFY_LEAD.value]


def test_a_converted_job_can_be_followed_up_with_its_own_objective(db_session: Session, world: World) -> None:
    s = db_session
    inbox.mark_converted(s, world.owner, world.match.id, "450")
    s.commit()
    assert CallType.FOLLOW_UP.value in _kinds(s, world)
    assert [k.value for k in calls.available_kinds(s, world.lead, world.other_business, NOW)] == [
        CallType.QUALIFY_LEAD.value
    ]  # the other business did not do the job

    call = calls.request_call(s, world.owner, world.match.id, call_type=CallType.FOLLOW_UP.value, now=NOW)
    s.commit()
    assert call.call_type == CallType.FOLLOW_UP.value
    assert "review" in call.objective


def test_a_picked_time_is_the_consumers_local_time_and_schedules_the_call(db_session: Session, world: World) -> None:
    s = db_session
    call = calls.request_call(s, world.owner, world.match.id, when_text="2026-06-02T10:30", now=NOW)
    s.commit()
    assert call.status == CallStatus.SCHEDULED.value
    picked = datetime(2026, 6, 2, 10, 30, tzinfo=CARMEL)
    stored = call.scheduled_for if call.scheduled_for.tzinfo else call.scheduled_for.replace(tzinfo=UTC)
    assert stored == picked


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("2026-06-01T23:30", "between 9:00 and 21:00"),  # after hours in Carmel (though 3:30 UTC the next day)
        ("2026-06-02T07:00", "America/Indiana/Indianapolis"),
        ("2026-06-01T09:00", "in the future"),
        ("2026-07-15T10:00", "within the next 30 days"),
        ("tomorrow at ten", "date and time"),
    ],
)
def test_a_bad_time_is_refused_under_its_field_and_stores_nothing(
    db_session: Session, world: World, typed: str, says: str
) -> None:
    assert says in _refused(db_session, world, "call_when", when_text=typed)


def test_another_owner_cannot_ask_for_a_call_about_this_match(db_session: Session, world: World) -> None:
    with pytest.raises(UserError):
        calls.request_call(db_session, world.other_owner, world.match.id, when_text="2026-06-02T10:30", now=NOW)
    db_session.rollback()
    assert _stored(db_session, world) == []


@pytest.mark.parametrize(
    ("outcome", "told"),
    [("transferred", True), ("callback_booked", True), ("goal_achieved", True), ("no_answer", False)],
)
def test_the_consumer_hears_back_after_a_call_they_spoke_on(
    db_session: Session, world: World, outcome: str, told: bool
) -> None:
    s = db_session
    call = factories.call(s, world.lead, world.business, CallStatus.COMPLETED.value, outcome=outcome)
    calls.notify_call_ended(s, call)
    s.commit()
    to_consumer = s.exec(
        select(Notification).where(Notification.kind == "call_summary", Notification.user_id == world.consumer.id)
    ).all()
    assert bool(to_consumer) is told
