"""Quotes (`services.quotes`), on SQLite and PostgreSQL: a business that accepted a lead quotes it, the consumer
sees every quote side by side and accepts one (the conversion with its value; the others declined and their
businesses told), the worker expires quotes past their day; and the attacks: another business quoting, a lead
not accepted, another consumer or a business accepting, an expired or declined quote accepted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from leadapp.core import localtime
from leadapp.core.errors import FieldErrors, NotAllowed, UserError
from leadapp.core.languages import english
from leadapp.core.models import AuditEvent, Conversion, Lead, Match, Notification, Quote, User
from leadapp.core.services import inbox, portal, quotes, stats
from leadapp.core.services.access import NOT_YOUR_LEAD, NotLoggedIn
from leadapp.core.vocab import LeadStatus, MatchStatus, NotificationKind, QuoteStatus
from tests import factories
from worker import jobs

World = factories.TwoBusinesses


@pytest.fixture
def world(db_session: Session) -> World:
    """One request matched to two businesses that both accepted it, each with its own owner."""
    return factories.two_businesses(db_session, accepted=True)


def _today(lead: Lead) -> datetime:
    return datetime.now(UTC).astimezone(localtime.lead_zone(lead))


def _form(lead: Lead, **fields: Any) -> dict[str, Any]:
    values = {
        "amount_min": "400",
        "amount_max": "$600",
        "included": "Replace the valve, parts and labour, haul away the old one",
        "valid_until": (_today(lead).date() + timedelta(days=14)).isoformat(),
        "visit_at": "",
    }
    return {**values, **fields}


def _quotes(s: Session) -> list[Quote]:
    s.expire_all()
    return list(s.exec(select(Quote).order_by(Quote.id)).all())  # type: ignore[arg-type]


# --- sending --------------------------------------------------------------------------------------


def test_a_business_that_accepted_sends_a_range_and_both_sides_read_it(db_session: Session, world: World):
    s, w = db_session, world
    visit = (_today(w.lead) + timedelta(days=2)).replace(hour=9, minute=30, second=0, microsecond=0)
    quote = quotes.send_quote(s, w.owner, w.match.id, _form(w.lead, visit_at=visit.strftime("%Y-%m-%dT%H:%M")))
    s.commit()

    [stored] = _quotes(s)
    assert (stored.id, stored.amount_min_cents, stored.amount_max_cents) == (quote.id, 40_000, 60_000)
    assert stored.status == QuoteStatus.SENT.value and stored.created_by_id == w.owner.id
    zone = localtime.lead_zone(w.lead)
    ends = datetime.combine(stored.valid_until + timedelta(days=1), datetime.min.time(), zone)
    assert localtime._aware(stored.expires_at) == ends  # the end of the valid-until day where the job is
    assert localtime._aware(stored.visit_at).astimezone(zone) == visit  # type: ignore[arg-type]

    [seen] = quotes.quotes_for_match(s, w.owner, w.match.id)
    assert (seen["amount"], seen["status"], seen["business_name"]) == ("$400–$600", "sent", "Carmel Plumbing")
    [card] = portal.consumer_leads(s, w.consumer)
    assert [(q["business_name"], q["amount"], q["can_accept"]) for q in card["quotes"]] == [
        ("Carmel Plumbing", "$400–$600", "yes")
    ]
    assert s.exec(select(AuditEvent).where(AuditEvent.action == "quote.send")).first() is not None


def test_one_amount_is_a_fixed_price(db_session: Session, world: World):
    s, w = db_session, world
    quotes.send_quote(s, w.owner, w.match.id, _form(w.lead, amount_min="", amount_max="1,250.50"))
    s.commit()
    [stored] = _quotes(s)
    assert (stored.amount_min_cents, stored.amount_max_cents) == (125_050, 125_050)
    assert quotes.amount_label(stored) == "$1,250.50"


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"amount_min": "0", "amount_max": ""}, {"amount_min": "above $0"}),
        ({"amount_min": "-5", "amount_max": "100"}, {"amount_min": "from $0 to $1,000,000"}),
        ({"amount_min": "", "amount_max": ""}, {"amount_min": "Enter the price"}),
        ({"amount_min": "lots", "amount_max": "100"}, {"amount_min": "in dollars"}),
        ({"amount_min": "700", "amount_max": "600"}, {"amount_max": "at least the lowest"}),
        ({"included": "x" * 2001}, {"included": "2,000 characters"}),
        ({"included": "   "}, {"included": "includes"}),
        ({"valid_until": "2020-01-01"}, {"valid_until": "today or a later day"}),
        ({"valid_until": "tomorrow"}, {"valid_until": "YYYY-MM-DD"}),
        ({"valid_until": ""}, {"valid_until": "last day"}),
        ({"visit_at": "2020-01-01T09:00"}, {"visit_at": "future"}),
        ({"visit_at": "soon"}, {"visit_at": "date and time"}),
        (
            {"amount_min": "0", "included": "", "valid_until": "2020-01-01"},
            {"amount_min": "above $0", "included": "includes", "valid_until": "today"},
        ),
    ],
)
def test_bad_terms_name_each_field_and_store_nothing(
    db_session: Session, world: World, fields: dict[str, str], errors: dict[str, str]
):
    s, w = db_session, world
    with pytest.raises(FieldErrors) as caught:
        quotes.send_quote(s, w.owner, w.match.id, _form(w.lead, **fields))
    assert set(caught.value.errors) == set(errors)
    for field, words in errors.items():
        assert words in caught.value.errors[field]
    s.rollback()
    assert _quotes(s) == []


def test_valid_until_is_at_most_ninety_days_ahead(db_session: Session, world: World):
    s, w = db_session, world
    today = _today(w.lead).date()
    with pytest.raises(FieldErrors) as caught:
        quotes.send_quote(s, w.owner, w.match.id, _form(w.lead, valid_until=(today + timedelta(days=91)).isoformat()))
    assert "90 days" in caught.value.errors["valid_until"]
    s.rollback()
    quotes.send_quote(s, w.owner, w.match.id, _form(w.lead, valid_until=(today + timedelta(days=90)).isoformat()))
    quotes.send_quote(s, w.other_owner, w.other_match.id, _form(w.lead, valid_until=today.isoformat()))
    s.commit()
    assert len(_quotes(s)) == 2


def test_another_business_cannot_quote_on_a_match_that_is_not_its_own(db_session: Session, world: World):
    s, w = db_session, world
    with pytest.raises(NotAllowed) as caught:
        quotes.send_quote(s, w.other_owner, w.match.id, _form(w.lead))
    assert caught.value.message == NOT_YOUR_LEAD
    with pytest.raises(NotAllowed) as missing:
        quotes.send_quote(s, w.other_owner, 10**9, _form(w.lead))
    assert missing.value.message == NOT_YOUR_LEAD  # the same refusal: ids reveal nothing
    s.rollback()
    assert _quotes(s) == []


@pytest.mark.parametrize("who", ["consumer", "admin", "nobody"])
def test_only_the_owner_quotes(db_session: Session, world: World, who: str):
    s, w = db_session, world
    user = {"consumer": w.consumer, "admin": w.admin, "nobody": None}[who]
    with pytest.raises(NotLoggedIn if user is None else NotAllowed):
        quotes.send_quote(s, user, w.match.id, _form(w.lead))
    s.rollback()
    assert _quotes(s) == []


@pytest.mark.parametrize("status", [MatchStatus.NOTIFIED, MatchStatus.VIEWED, MatchStatus.DECLINED])
def test_a_lead_not_accepted_cannot_be_quoted(db_session: Session, world: World, status: MatchStatus):
    s, w = db_session, world
    w.match.status = status.value
    s.add(w.match)
    s.commit()
    with pytest.raises(UserError, match="Accept the lead"):
        quotes.send_quote(s, w.owner, w.match.id, _form(w.lead))
    s.rollback()
    assert _quotes(s) == []


def test_a_closed_request_cannot_be_quoted(db_session: Session, world: World):
    s, w = db_session, world
    portal.withdraw_request(s, w.consumer, w.lead.id)
    s.commit()
    with pytest.raises(NotAllowed):
        quotes.send_quote(s, w.owner, w.match.id, _form(w.lead))
    s.rollback()
    assert _quotes(s) == []


def test_one_open_quote_per_business_at_a_time(db_session: Session, world: World):
    s, w = db_session, world
    quotes.send_quote(s, w.owner, w.match.id, _form(w.lead))
    s.commit()
    with pytest.raises(UserError, match="still open"):
        quotes.send_quote(s, w.owner, w.match.id, _form(w.lead, amount_min="300"))
    s.rollback()
    assert len(_quotes(s)) == 1


# --- accepting ------------------------------------------------------------------------------------


def _two_quotes(s: Session, w: World) -> tuple[Quote, Quote]:
    mine = quotes.send_quote(s, w.owner, w.match.id, _form(w.lead))
    theirs = quotes.send_quote(s, w.other_owner, w.other_match.id, _form(w.lead, amount_min="350", amount_max=""))
    s.commit()
    return mine, theirs


def test_accepting_converts_with_the_top_of_the_range_and_declines_the_others(db_session: Session, world: World):
    s, w = db_session, world
    mine, theirs = _two_quotes(s, w)
    [card] = portal.consumer_leads(s, w.consumer)
    assert [q["amount"] for q in card["quotes"]] == ["$350", "$400–$600"]  # side by side, lowest first

    quotes.accept_quote(s, w.consumer, mine.id)
    s.commit()

    by_id = {q.id: q for q in _quotes(s)}
    assert by_id[mine.id].status == QuoteStatus.ACCEPTED.value and by_id[mine.id].decided_at is not None
    assert by_id[theirs.id].status == QuoteStatus.DECLINED.value
    conversions = s.exec(select(Conversion)).all()
    assert [(c.match_id, c.job_value_cents, c.created_by_id) for c in conversions] == [
        (w.match.id, 60_000, w.consumer.id)
    ]
    assert s.get(Match, w.match.id).status == MatchStatus.CONVERTED.value  # type: ignore[union-attr]
    assert s.get(Match, w.other_match.id).status == MatchStatus.ACCEPTED.value  # type: ignore[union-attr]
    assert s.get(Lead, w.lead.id).status == LeadStatus.CONVERTED.value  # type: ignore[union-attr]
    today = datetime.now(UTC).date()
    assert stats.business_stats(s, w.owner, w.business.id, today, today).job_value_cents == 60_000
    assert inbox.lead_detail(s, w.owner, w.match.id)["status"] == MatchStatus.CONVERTED.value

    told = s.exec(select(Notification).where(Notification.kind.in_(["quote_accepted", "quote_declined"]))).all()  # type: ignore[attr-defined]
    assert sorted((n.kind, n.business_id, n.recipient) for n in told) == [
        (NotificationKind.QUOTE_ACCEPTED.value, w.business.id, "plumber@example.com"),
        (NotificationKind.QUOTE_DECLINED.value, w.other_business.id, "drains@example.com"),
    ]
    [card] = portal.consumer_leads(s, w.consumer)
    assert [(q["amount"], q["status"], q["can_accept"]) for q in card["quotes"]] == [
        ("$350", "declined", ""),
        ("$400–$600", "accepted", ""),
    ]

    # Accepting it again changes nothing; the declined one cannot be accepted any more.
    quotes.accept_quote(s, w.consumer, mine.id)
    with pytest.raises(UserError, match="declined"):
        quotes.accept_quote(s, w.consumer, theirs.id)
    s.rollback()
    assert len(s.exec(select(Conversion)).all()) == 1
    # Nobody quotes a request whose quote was accepted.
    with pytest.raises(UserError, match="already accepted a quote"):
        quotes.send_quote(s, w.other_owner, w.other_match.id, _form(w.lead))


def test_another_consumer_cannot_accept_and_learns_nothing(db_session: Session, world: World):
    s, w = db_session, world
    mine, _ = _two_quotes(s, w)
    for quote_id in (mine.id, 10**9):
        with pytest.raises(NotAllowed) as caught:
            quotes.accept_quote(s, w.other_consumer, quote_id)
        assert caught.value.message == quotes.NOT_YOUR_QUOTE
    s.rollback()
    assert {q.status for q in _quotes(s)} == {QuoteStatus.SENT.value}
    assert s.exec(select(Conversion)).all() == []


@pytest.mark.parametrize("who", ["owner", "admin", "nobody"])
def test_a_business_or_an_admin_cannot_accept_for_the_consumer(db_session: Session, world: World, who: str):
    s, w = db_session, world
    mine, _ = _two_quotes(s, w)
    user = {"owner": w.owner, "admin": w.admin, "nobody": None}[who]
    with pytest.raises(NotLoggedIn if user is None else NotAllowed):
        quotes.accept_quote(s, user, mine.id)
    s.rollback()
    assert {q.status for q in _quotes(s)} == {QuoteStatus.SENT.value}


def test_an_expired_quote_cannot_be_accepted_even_before_the_worker_marks_it(db_session: Session, world: World):
    s, w = db_session, world
    past = factories.quote(s, w.match, days=-1)
    s.commit()
    [card] = portal.consumer_leads(s, w.consumer)
    assert [(q["status"], q["can_accept"]) for q in card["quotes"]] == [("expired", "")]
    with pytest.raises(UserError, match="expired"):
        quotes.accept_quote(s, w.consumer, past.id)
    s.rollback()
    assert _quotes(s)[0].status == QuoteStatus.SENT.value
    assert s.exec(select(Conversion)).all() == []


def test_the_worker_expires_quotes_past_their_day_once(db_session: Session, world: World):
    s, w = db_session, world
    past = factories.quote(s, w.match, days=-1)
    current = factories.quote(s, w.other_match, days=3)
    s.commit()
    assert jobs.expire_quotes() == 1
    assert jobs.expire_quotes() == 0  # safe twice
    by_id = {q.id: q for q in _quotes(s)}
    assert (by_id[past.id].status, by_id[current.id].status) == (QuoteStatus.EXPIRED.value, QuoteStatus.SENT.value)
    with pytest.raises(UserError, match="expired"):
        quotes.accept_quote(s, w.consumer, past.id)
    s.rollback()
    # Once its quote expired, the business may quote again.
    quotes.send_quote(s, w.owner, w.match.id, _form(w.lead))
    s.commit()
    assert len(_quotes(s)) == 3


def test_the_expiry_job_is_on_the_worker_schedule() -> None:
    from worker import schedule

    registered: list[tuple[object, dict]] = []

    class Recorder:
        def register(self, func, queue, **options):
            registered.append((func, options))

    schedule.register(Recorder())  # type: ignore[arg-type]
    assert (jobs.expire_quotes, {"interval": 600, "ttl": 600}) in registered


def test_a_withdrawn_request_accepts_no_quote(db_session: Session, world: World):
    s, w = db_session, world
    mine, _ = _two_quotes(s, w)
    portal.withdraw_request(s, w.consumer, w.lead.id)
    s.commit()
    [card] = portal.consumer_leads(s, w.consumer)
    assert [q["can_accept"] for q in card["quotes"]] == ["", ""]  # no "Accept" button on a withdrawn request
    with pytest.raises(UserError, match="closed"):
        quotes.accept_quote(s, w.consumer, mine.id)
    s.rollback()
    assert s.exec(select(Conversion)).all() == []


def test_marking_converted_by_hand_still_records_one_conversion(db_session: Session, world: World):
    """The business's own "Mark converted" and an accepted quote share one home (`inbox.record_conversion`)."""
    s, w = db_session, world
    mine, _ = _two_quotes(s, w)
    inbox.mark_converted(s, w.owner, w.match.id, "500")
    s.commit()
    quotes.accept_quote(s, w.consumer, mine.id)
    s.commit()
    assert [c.job_value_cents for c in s.exec(select(Conversion)).all()] == [60_000]
    assert [q.status for q in _quotes(s)] == [QuoteStatus.ACCEPTED.value, QuoteStatus.DECLINED.value]


def test_two_quotes_accepted_at_the_same_moment_make_one_job(db_session: Session, world: World):
    """The second accept waits for the first (the request's row is locked), then sees its quote declined."""
    s, w = db_session, world
    if s.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time: there is no 'same moment'")
    import threading

    from leadapp.core.db import get_engine

    mine, theirs = _two_quotes(s, w)
    outcome: list[str] = []

    def accept_theirs() -> None:
        with Session(get_engine(), expire_on_commit=False) as other:
            try:
                quotes.accept_quote(other, other.get(User, w.consumer.id), theirs.id)
                other.commit()
                outcome.append("accepted")
            except UserError as exc:
                outcome.append(exc.message)

    quotes.accept_quote(s, w.consumer, mine.id)  # not committed yet: it holds the request's row
    second = threading.Thread(target=accept_theirs)
    second.start()
    second.join(timeout=1.0)
    assert second.is_alive(), "the second accept did not wait for the first"
    s.commit()
    second.join(timeout=30)
    assert outcome == [english.QUOTE_REFUSALS[QuoteStatus.DECLINED.value]]
    assert [(q.id, q.status) for q in _quotes(s)] == [
        (mine.id, QuoteStatus.ACCEPTED.value),
        (theirs.id, QuoteStatus.DECLINED.value),
    ]
    assert len(s.exec(select(Conversion)).all()) == 1
