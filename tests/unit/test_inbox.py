"""A business's lead inbox (`services.inbox.inbox`) on SQLite and PostgreSQL: each filter (status, urgency,
category, received dates) and the search narrow the rows exactly, the total is right, pages never overlap,
a page holds at most 100 rows, and another business's matches or a request its consumer deleted never show."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from leadapp.core.errors import NotAllowed, UserError
from leadapp.core.models import Business, Lead, Match
from leadapp.core.services import inbox
from leadapp.core.services.access import NotLoggedIn
from leadapp.core.vocab import MatchStatus, Role, Urgency
from tests import factories

BASE = datetime(2026, 1, 1, 0, 30, tzinfo=UTC)
STATUSES = list(MatchStatus)
URGENCIES = list(Urgency)
CATEGORIES = ["plumbing", "electrical", "hvac"]
TEXTS = [
    "Water heater leaking in the garage, please come and look at it this week",
    "Ceiling fan wiring sparks when switched on, need an electrician soon",
    "Furnace makes a banging noise at night and the house stays cold",
]


@dataclass(frozen=True)
class Seeded:
    """One of the business's matches, as the test expects the inbox to filter it."""

    match_id: int
    status: str
    urgency: str
    category: str
    created_at: datetime
    text: str
    zip: str


@dataclass
class World(factories.Rivals):
    mine: list[Seeded] = field(default_factory=list)
    never_shown: set[int] = field(default_factory=set)


def _lead(session: Session, text: str, zip_code: str, category: str, urgency: str, *, deleted: bool = False) -> Lead:
    return factories.lead(
        session,
        phone="",
        consent=False,
        raw_text=f"{text} (#{factories.serial()})",
        zip=zip_code,
        category=category,
        urgency=urgency,
        deleted_at=BASE if deleted else None,
    )


def _match(session: Session, lead: Lead, business: Business, status: str, created: datetime) -> Match:
    return factories.match(session, lead, business, status, score=70.0, created_at=created)


@pytest.fixture
def world(db_session: Session) -> World:
    """130 matches of one business over five weeks in every status, urgency and three categories, plus three
    on the edges of 10-12 January; another business's matches (some of the same requests) and a deleted one."""
    s = db_session
    owner, other_owner = factories.user(s, Role.BUSINESS_OWNER.value), factories.user(s, Role.BUSINESS_OWNER.value)
    business = factories.business(s, owner, "Carmel Plumbing", categories=CATEGORIES, plan="free")
    other = factories.business(s, other_owner, "Elsewhere Pipes", zip="46033", categories=CATEGORIES, plan="free")
    consumer, admin = factories.user(s, Role.CONSUMER.value), factories.user(s, Role.ADMIN.value)
    w = World(owner, other_owner, consumer, admin, business, other)

    def add_mine(i: int, created: datetime) -> Lead:
        status, urgency, category = STATUSES[i % 7].value, URGENCIES[i % 4].value, CATEGORIES[i % 3]
        zip_code = "46033" if i % 10 == 0 else "46032"
        lead = _lead(s, TEXTS[i % 3], zip_code, category, urgency)
        m = _match(s, lead, business, status, created)
        w.mine.append(Seeded(m.id, status, urgency, category, created, lead.raw_text, zip_code))  # type: ignore[arg-type]
        return lead

    for i in range(130):
        lead = add_mine(i, BASE + timedelta(hours=7 * i))
        if i % 6 == 0:  # the same request matched to the other business too: only our match may show
            w.never_shown.add(_match(s, lead, other, MatchStatus.NEW.value, BASE + timedelta(hours=7 * i)).id)  # type: ignore[arg-type]
    # The edges of the 10-12 January period: its first instant, its last microsecond, the next day's first.
    for i, created in enumerate(
        [
            datetime(2026, 1, 10, tzinfo=UTC),
            datetime(2026, 1, 12, 23, 59, 59, 999_000, tzinfo=UTC),
            datetime(2026, 1, 13, tzinfo=UTC),
        ],
        start=130,
    ):
        add_mine(i, created)
    for i in range(20):  # the other business's own requests, looking just like ours
        lead = _lead(s, TEXTS[i % 3], "46032", CATEGORIES[i % 3], URGENCIES[i % 4].value)
        created = BASE + timedelta(hours=13 * i)
        w.never_shown.add(_match(s, lead, other, STATUSES[i % 7].value, created).id)  # type: ignore[arg-type]
    # A request its consumer deleted, matched to us: it matches every filter below yet must never show.
    deleted = _lead(s, TEXTS[0], "46033", "plumbing", "emergency", deleted=True)
    w.never_shown.add(_match(s, deleted, business, MatchStatus.NEW.value, datetime(2026, 1, 11, tzinfo=UTC)).id)  # type: ignore[arg-type]
    s.commit()
    return w


def _newest_first(seeded: list[Seeded]) -> list[str]:
    return [str(m.match_id) for m in sorted(seeded, key=lambda m: (m.created_at, m.match_id), reverse=True)]


def _all_pages(session: Session, w: World, filters: inbox.InboxFilters, page_size: int) -> tuple[list[str], int]:
    """Every row of the inbox, page after page, asserting the total is the same on each page."""
    ids: list[str] = []
    rows, total = inbox.inbox(session, w.owner, w.business.id, filters, 1, page_size)
    page = 1
    while rows:
        assert len(rows) <= page_size
        ids += [r["match_id"] for r in rows]
        page += 1
        rows, again = inbox.inbox(session, w.owner, w.business.id, filters, page, page_size)
        assert again == total
    return ids, total


def test_without_filters_every_match_shows_once_newest_first_in_pages(db_session: Session, world: World) -> None:
    expected = _newest_first(world.mine)
    assert len(expected) == 133

    first, total = inbox.inbox(db_session, world.owner, world.business.id, inbox.InboxFilters())
    assert total == 133
    assert [r["match_id"] for r in first] == expected[: inbox.PAGE_SIZE]

    ids, total = _all_pages(db_session, world, inbox.InboxFilters(), inbox.PAGE_SIZE)
    assert total == 133
    assert ids == expected  # in order, every one, none twice: the pages do not overlap
    assert len(set(ids)) == len(ids)


def test_pages_do_not_overlap_and_a_page_holds_at_most_100(db_session: Session, world: World) -> None:
    expected = _newest_first(world.mine)
    everything = inbox.InboxFilters()

    page1, total = inbox.inbox(db_session, world.owner, world.business.id, everything, 1, 500)
    assert (len(page1), total) == (inbox.MAX_PAGE_SIZE, 133)
    page2, total = inbox.inbox(db_session, world.owner, world.business.id, everything, 2, 500)
    assert (len(page2), total) == (33, 133)
    assert {r["match_id"] for r in page1}.isdisjoint({r["match_id"] for r in page2})
    assert [r["match_id"] for r in page1 + page2] == expected
    assert inbox.inbox(db_session, world.owner, world.business.id, everything, 3, 500) == ([], 133)

    # Page 0 or below is the first page; a page size of 0 or below is one row.
    assert (
        inbox.inbox(db_session, world.owner, world.business.id, everything, 0, 10)[0]
        == (inbox.inbox(db_session, world.owner, world.business.id, everything, 1, 10)[0])
    )
    one, _ = inbox.inbox(db_session, world.owner, world.business.id, everything, 1, 0)
    assert [r["match_id"] for r in one] == expected[:1]


FILTERS: dict[str, tuple[dict[str, object], object]] = {
    "status declined": ({"status": "declined"}, lambda m: m.status == "declined"),
    "status accepted": ({"status": "accepted"}, lambda m: m.status == "accepted"),
    "urgency emergency": ({"urgency": "emergency"}, lambda m: m.urgency == "emergency"),
    "category electrical": ({"category": "electrical"}, lambda m: m.category == "electrical"),
    "search words, any case": ({"search": "  WATER heater "}, lambda m: "water heater" in m.text.lower()),
    "search zip": ({"search": "46033"}, lambda m: m.zip == "46033"),
    "search nothing found": ({"search": "roof shingles"}, lambda m: False),
    "status, urgency and category together": (
        {"status": "new", "urgency": "low", "category": "hvac"},
        lambda m: (m.status, m.urgency, m.category) == ("new", "low", "hvac"),
    ),
}


@pytest.mark.parametrize("name", FILTERS)
def test_each_filter_and_the_search_narrow_the_rows_exactly(db_session: Session, world: World, name: str) -> None:
    values, keep = FILTERS[name]
    expected = _newest_first([m for m in world.mine if keep(m)])  # type: ignore[operator]
    assert len(expected) < len(world.mine)  # it does narrow

    ids, total = _all_pages(db_session, world, inbox.InboxFilters(**values), 10)  # type: ignore[arg-type]

    assert total == len(expected)
    assert ids == expected
    assert not world.never_shown & {int(i) for i in ids}


def test_the_date_filter_takes_whole_utc_days_both_included(db_session: Session, world: World) -> None:
    since, until = inbox.received_between("2026-01-10", "2026-01-12")
    assert (since, until) == (datetime(2026, 1, 10, tzinfo=UTC), datetime(2026, 1, 13, tzinfo=UTC))
    expected = _newest_first([m for m in world.mine if date(2026, 1, 10) <= m.created_at.date() <= date(2026, 1, 12)])
    edges = {m.match_id for m in world.mine if m.created_at.date() in (date(2026, 1, 10), date(2026, 1, 12))}

    ids, total = _all_pages(db_session, world, inbox.InboxFilters(since=since, until=until), 100)

    assert ids == expected and total == len(expected)
    assert edges <= {int(i) for i in ids}  # 00:00:00 of the first day and 23:59:59.999 of the last are in
    assert str(world.mine[-1].match_id) not in ids  # 00:00 of the day after is not
    assert not world.never_shown & {int(i) for i in ids}  # the deleted request of 11 January is not

    # Only a start, only an end, and both with a status.
    from_only, _ = inbox.received_between("2026-02-01", "")
    ids, total = _all_pages(db_session, world, inbox.InboxFilters(since=from_only), 100)
    assert ids == _newest_first([m for m in world.mine if m.created_at >= datetime(2026, 2, 1, tzinfo=UTC)])
    _, to_only = inbox.received_between("", "2026-01-03")
    ids, total = _all_pages(db_session, world, inbox.InboxFilters(until=to_only), 100)
    assert ids == _newest_first([m for m in world.mine if m.created_at < datetime(2026, 1, 4, tzinfo=UTC)])
    assert 0 < total < 133
    ids, total = _all_pages(db_session, world, inbox.InboxFilters(status="viewed", since=since, until=until), 100)
    assert ids == _newest_first(
        [
            m
            for m in world.mine
            if m.status == "viewed" and date(2026, 1, 10) <= m.created_at.date() <= date(2026, 1, 12)
        ]
    )


def test_no_dates_means_no_date_filter() -> None:
    assert inbox.received_between("", "  ") == (None, None)


@pytest.mark.parametrize(
    ("since", "until", "field", "message"),
    [
        ("2026-13-01", "", "since", "YYYY-MM-DD"),
        ("yesterday", "", "since", "YYYY-MM-DD"),
        ("", "2026-02-30", "until", "YYYY-MM-DD"),
        ("1999-12-31", "", "since", "between 2000 and 2100"),
        ("", "9999-12-31", "until", "between 2000 and 2100"),
        ("2026-01-12", "2026-01-10", "until", "on or after the first day"),
    ],
)
def test_a_bad_date_is_a_message_on_its_field(since: str, until: str, field: str, message: str) -> None:
    with pytest.raises(UserError) as caught:
        inbox.received_between(since, until)
    assert type(caught.value) is UserError
    assert caught.value.field == field
    assert message in caught.value.message


def test_other_businesses_see_only_their_own_matches_and_nobody_else_reads_the_inbox(
    db_session: Session, world: World
) -> None:
    theirs, total = _all_pages(
        db_session,
        World(world.other_owner, world.owner, world.consumer, world.admin, world.other_business, world.business),
        inbox.InboxFilters(),
        100,
    )
    assert total == len(world.never_shown) - 1  # all of the other business's matches, not our deleted one
    assert {int(i) for i in theirs} <= world.never_shown
    assert not {m.match_id for m in world.mine} & {int(i) for i in theirs}

    admin_rows, admin_total = inbox.inbox(db_session, world.admin, world.business.id, inbox.InboxFilters(), 1, 100)
    assert admin_total == 133 and [r["match_id"] for r in admin_rows] == _newest_first(world.mine)[:100]
    for stranger in (world.other_owner, world.consumer):
        with pytest.raises(NotAllowed):
            inbox.inbox(db_session, stranger, world.business.id, inbox.InboxFilters())
    with pytest.raises(NotLoggedIn):
        inbox.inbox(db_session, None, world.business.id, inbox.InboxFilters())


def test_the_dashboard_passes_the_dates_through_and_shows_a_bad_one_on_its_field(
    db_session: Session, world: World
) -> None:
    """`DashboardState.apply_filters` as the form sends it: good dates reach the inbox query, a bad one is a
    message under its field and leaves the current filters (and page) as they were."""
    import reflex as rx

    from leadapp.pages.business.dashboard import DashboardState

    root = rx.State(_reflex_internal_init=True)
    state = root.get_substate(DashboardState.get_full_name().split(".")[1:])
    form = {"status": "all", "urgency": "all", "category": "all", "search": ""}

    assert DashboardState.apply_filters.fn(state, {**form, "since": "2026-01-10", "until": "2026-01-12"}) is not None
    assert (state.since_error, state.until_error) == ("", "")
    ids, total = _all_pages(db_session, world, state._filters(), 100)
    # Whole days of the business's own zone (Carmel, IN: Eastern time), not UTC days.
    zone = ZoneInfo("America/Indiana/Indianapolis")
    local_days = {
        m.match_id: m.created_at.replace(tzinfo=m.created_at.tzinfo or UTC).astimezone(zone).date() for m in world.mine
    }
    expected = _newest_first(
        [m for m in world.mine if date(2026, 1, 10) <= local_days[m.match_id] <= date(2026, 1, 12)]
    )
    assert ids == expected and total == len(expected)

    state.page = 2
    for since, until, wrong in [
        ("2026-02-30", "", "since"),
        ("2026-01-12", "2026-01-10", "until"),
        ("x", "y", "since"),
    ]:
        assert DashboardState.apply_filters.fn(state, {**form, "status": "new", "since": since, "until": until}) is None
        errors = {"since": state.since_error, "until": state.until_error}
        assert errors[wrong] and not errors[{"since": "until", "until": "since"}[wrong]]
        assert (state.since_filter, state.until_filter, state.status_filter, state.page) == (
            "2026-01-10", "2026-01-12", "", 2,
        )  # fmt: skip

    DashboardState.apply_filters.fn(state, {**form, "since": "", "until": ""})  # clearing the dates is fine
    assert (state.since_error, state.until_error, state.page) == ("", "", 1)
    assert _all_pages(db_session, world, state._filters(), 100)[1] == 133


def test_the_phone_cards_say_how_long_ago_a_lead_came() -> None:
    from datetime import UTC, datetime, timedelta

    from leadapp.core import localtime

    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    cases = [
        (timedelta(seconds=20), "just now"),
        (timedelta(minutes=5), "5 min ago"),
        (timedelta(hours=3, minutes=10), "3 h ago"),
        (timedelta(days=4, hours=2), "4 days ago"),
        (-timedelta(minutes=2), "just now"),  # a clock a little ahead never reads "in the future"
    ]
    for ago, words in cases:
        assert localtime.relative(now - ago, now, localtime.UTC_ZONE) == words
    naive = (now - timedelta(minutes=5)).replace(tzinfo=None)  # SQLite: naive UTC
    assert localtime.relative(naive, now, localtime.UTC_ZONE) == "5 min ago"
