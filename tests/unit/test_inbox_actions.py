"""A business's answers to a lead (`services.inbox`), on SQLite and PostgreSQL: accept and decline with a message,
mark converted with the job value in cents (and see it in the stats), and ids that reveal nothing to other owners
(inbox and `calls.request_call` refuse a missing match and another business's alike)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from leadapp.core.errors import NotAllowed, NotFound, UserError
from leadapp.core.models import Conversion, Lead, Match, utcnow
from leadapp.core.services import calls, inbox, stats
from leadapp.core.services.access import NotLoggedIn
from leadapp.core.vocab import LeadStatus, MatchStatus
from tests import factories

MISSING = 10**9


World = factories.TwoBusinesses


@pytest.fixture
def world(db_session: Session) -> World:
    """One request matched to two businesses (both notified), each business with its own owner."""
    return factories.two_businesses(
        db_session, accepted=False, raw_text="My water heater is leaking all over the garage floor, need someone today"
    )


def _reloaded(s: Session, w: World) -> tuple[Match, Lead, list[Conversion]]:
    s.expire_all()
    return s.get(Match, w.match.id), s.get(Lead, w.lead.id), list(s.exec(select(Conversion)).all())  # type: ignore[return-value]


def _accept(s: Session, w: World) -> None:
    inbox.respond(s, w.owner, w.match.id, accept=True)
    s.commit()


# --- mark converted -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "cents"),
    [
        ("450", 45_000),
        ("$1,200", 120_000),
        (" $1,200.50 ", 120_050),
        ("99.95", 9_995),
        ("0.005", 1),  # half a cent rounds up
        ("0", 0),
        ("1,000,000", 100_000_000),
    ],
)
def test_job_values_are_read_as_dollars_into_cents(typed: str, cents: int) -> None:
    assert inbox.job_value_cents(typed) == cents


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "in dollars"),
        ("a lot", "in dollars"),
        ("12 dollars", "in dollars"),
        ("inf", "in dollars"),
        ("nan", "in dollars"),
        ("-1", "from $0 to $1,000,000"),
        ("$-5", "from $0 to $1,000,000"),
        ("1,000,000.01", "from $0 to $1,000,000"),
        ("1e9", "from $0 to $1,000,000"),
        ("1e999999", "from $0 to $1,000,000"),
    ],
)
def test_a_bad_job_value_is_a_field_error_and_changes_nothing(
    db_session: Session, world: World, typed: str, message: str
) -> None:
    s = db_session
    _accept(s, world)
    with pytest.raises(UserError) as caught:
        inbox.mark_converted(s, world.owner, world.match.id, typed)
    assert type(caught.value) is UserError
    assert caught.value.field == "job_value" and message in caught.value.message
    s.rollback()
    match, lead, conversions = _reloaded(s, world)
    assert (match.status, lead.status, conversions) == (MatchStatus.ACCEPTED.value, LeadStatus.ACCEPTED.value, [])


@pytest.mark.parametrize("status", [MatchStatus.NOTIFIED, MatchStatus.VIEWED, MatchStatus.DECLINED])
def test_converting_is_refused_before_the_lead_is_accepted(db_session: Session, world: World, status: MatchStatus):
    s = db_session
    world.match.status = status.value
    s.add(world.match)
    s.commit()
    with pytest.raises(UserError) as caught:
        inbox.mark_converted(s, world.owner, world.match.id, "$1,200")
    assert caught.value.field == "job_value" and "Accept the lead" in caught.value.message
    s.rollback()
    match, lead, conversions = _reloaded(s, world)
    assert (match.status, lead.status, conversions) == (status.value, LeadStatus.MATCHED.value, [])


def test_a_converted_lead_stores_its_value_in_cents_and_shows_in_the_stats(db_session: Session, world: World):
    s = db_session
    today = datetime.now(UTC).date()
    before = stats.business_stats(s, world.owner, world.business.id, today, today)
    assert (before.leads, before.converted, before.job_value_cents) == (1, 0, 0)
    _accept(s, world)

    inbox.mark_converted(s, world.owner, world.match.id, "$1,200")
    s.commit()

    match, lead, conversions = _reloaded(s, world)
    assert (match.status, lead.status) == (MatchStatus.CONVERTED.value, LeadStatus.CONVERTED.value)
    assert [(c.match_id, c.business_id, c.job_value_cents, c.created_by_id) for c in conversions] == [
        (world.match.id, world.business.id, 120_000, world.owner.id)
    ]
    after = stats.business_stats(s, world.owner, world.business.id, today, today)
    assert (after.leads, after.accepted, after.converted, after.job_value_cents) == (1, 1, 1, 120_000)
    assert after.conversion_rate == 1.0
    other = stats.business_stats(s, world.other_owner, world.other_business.id, today, today)
    assert (other.converted, other.job_value_cents) == (0, 0)

    # Marking it again corrects the value; there is still one conversion.
    inbox.mark_converted(s, world.owner, world.match.id, "99.95")
    s.commit()
    _, _, conversions = _reloaded(s, world)
    assert [c.job_value_cents for c in conversions] == [9_995]
    assert stats.business_stats(s, world.owner, world.business.id, today, today).job_value_cents == 9_995


# --- accept and decline ---------------------------------------------------------------------------


def test_a_decline_stores_its_message_and_the_lead_may_still_be_accepted(db_session: Session, world: World):
    s = db_session
    inbox.respond(s, world.owner, world.match.id, accept=False, message="  Too far for us this week, sorry.  ")
    s.commit()
    match, lead, _ = _reloaded(s, world)
    assert match.status == MatchStatus.DECLINED.value
    assert match.decline_message == "Too far for us this week, sorry."
    assert match.responded_at is not None
    assert lead.status == LeadStatus.MATCHED.value  # one business declining does not close the request
    assert inbox.lead_detail(s, world.owner, world.match.id)["decline_message"] == "Too far for us this week, sorry."
    first_answer = match.responded_at

    inbox.respond(s, world.owner, world.match.id, accept=False, message="x" * 5000)
    s.commit()
    assert _reloaded(s, world)[0].decline_message == "x" * 1000  # kept to 1,000 characters

    inbox.respond(s, world.owner, world.match.id, accept=True)  # changing one's mind to accept is allowed
    s.commit()
    match, lead, _ = _reloaded(s, world)
    assert (match.status, match.decline_message, lead.status) == ("accepted", "", LeadStatus.ACCEPTED.value)
    assert match.responded_at == first_answer  # the response time is the first answer's


@pytest.mark.parametrize("then_convert", [False, True])
def test_declining_after_accepting_is_refused(db_session: Session, world: World, then_convert: bool):
    s = db_session
    _accept(s, world)
    if then_convert:
        inbox.mark_converted(s, world.owner, world.match.id, "450")
        s.commit()
    status = MatchStatus.CONVERTED.value if then_convert else MatchStatus.ACCEPTED.value

    with pytest.raises(UserError, match="already accepted"):
        inbox.respond(s, world.owner, world.match.id, accept=False, message="changed my mind")
    s.rollback()
    match, _, _ = _reloaded(s, world)
    assert (match.status, match.decline_message) == (status, "")
    # Accepting again changes nothing either (a converted lead stays converted).
    inbox.respond(s, world.owner, world.match.id, accept=True)
    s.commit()
    assert _reloaded(s, world)[0].status == status


# --- ids reveal nothing ---------------------------------------------------------------------------


ACTIONS = {
    "lead_detail": lambda s, user, match_id: inbox.lead_detail(s, user, match_id),
    "accept": lambda s, user, match_id: inbox.respond(s, user, match_id, accept=True),
    "decline": lambda s, user, match_id: inbox.respond(s, user, match_id, accept=False, message="no"),
    "mark_converted": lambda s, user, match_id: inbox.mark_converted(s, user, match_id, "450"),
    "request_call": lambda s, user, match_id: calls.request_call(s, user, match_id),
}


@pytest.mark.parametrize("action", ACTIONS)
def test_an_owner_cannot_tell_a_missing_match_from_another_business(db_session: Session, world: World, action: str):
    s = db_session
    act = ACTIONS[action]
    refusals = []
    for match_id in (world.other_match.id, MISSING):
        with pytest.raises(NotAllowed) as caught:
            act(s, world.owner, match_id)
        s.rollback()
        refusals.append((type(caught.value), caught.value.message, caught.value.field))
    assert refusals[0] == refusals[1] == (NotAllowed, inbox.NOT_YOUR_LEAD, None)
    assert s.get(Match, world.other_match.id).status == MatchStatus.NOTIFIED.value

    with pytest.raises(NotAllowed):  # a consumer is not let in at all
        act(s, world.consumer, world.match.id)
    with pytest.raises(NotLoggedIn):
        act(s, None, MISSING)
    with pytest.raises(NotFound):  # an admin may be told an id does not exist
        act(s, world.admin, MISSING)
    s.rollback()


@pytest.mark.parametrize("action", ["lead_detail", "accept", "request_call"])
def test_a_request_its_consumer_deleted_is_gone_for_its_business(db_session: Session, world: World, action: str):
    s = db_session
    world.lead.deleted_at = utcnow()
    s.add(world.lead)
    s.commit()
    with pytest.raises(NotAllowed) as own:  # to its own business: the refusal of a foreign lead (issue 11)
        ACTIONS[action](s, world.owner, world.match.id)
    with pytest.raises(NotAllowed) as other:  # to another owner it is as unknown as ever
        ACTIONS[action](s, world.other_owner, world.match.id)
    assert own.value.message == other.value.message == inbox.NOT_YOUR_LEAD
    with pytest.raises(NotFound):  # an admin is told it is gone
        ACTIONS[action](s, world.admin, world.match.id)
