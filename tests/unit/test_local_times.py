"""Times in the viewer's own zone, on SQLite and PostgreSQL: a business in New York and one in San Francisco
see the same lead at their own clock time; consumers see their request's zone; admins UTC by default; relative
times in lists with the exact time apart; a scheduled call reads "tomorrow 9:00 (your time)"."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from leadapp.core import localtime
from leadapp.core.errors import NotAllowed, UserError
from leadapp.core.models import Lead
from leadapp.core.services import inbox, moderation, portal
from leadapp.core.vocab import Role
from tests import factories

NEW_YORK, PACIFIC = ZoneInfo("America/New_York"), ZoneInfo("America/Los_Angeles")


def test_new_york_and_a_pacific_business_see_the_same_lead_at_their_own_time(db_session: Session) -> None:
    s = db_session
    ny_owner, sf_owner = (factories.user(s, Role.BUSINESS_OWNER.value) for _ in range(2))
    consumer = factories.user(s, Role.CONSUMER.value)
    ny = factories.business(s, ny_owner, "Midtown Electric", zip="10001", categories=["electrical"])
    sf = factories.business(s, sf_owner, "Mission Sparks", zip="94110", categories=["electrical"])
    received = datetime(2026, 3, 2, 17, 5, tzinfo=UTC)  # 12:05 in New York, 9:05 in San Francisco
    lead = factories.lead(
        s, consumer, phone="", consent=False, raw_text="Outlet sparks in the kitchen", zip="94110", created_at=received
    )
    for business in (ny, sf):
        factories.match(s, lead, business, score=70.0, created_at=received)
    s.commit()

    (ny_row,), _ = inbox.inbox(s, ny_owner, ny.id, inbox.InboxFilters())  # type: ignore[arg-type]
    (sf_row,), _ = inbox.inbox(s, sf_owner, sf.id, inbox.InboxFilters())  # type: ignore[arg-type]
    assert ny_row["created_exact"] == "Mar 2, 2026, 12:05 EST"
    assert sf_row["created_exact"] == "Mar 2, 2026, 9:05 PST"
    assert ny_row["created_at"] == sf_row["created_at"] == "Mar 2, 2026"  # long ago: the day, not "x min ago"

    # A date filter takes the viewer's own days: 2 March in San Francisco ends at 08:00 UTC on 3 March.
    late = datetime(2026, 3, 3, 6, 30, tzinfo=UTC)  # 3 March 01:30 in New York, still 2 March 22:30 Pacific
    late_lead = factories.lead(
        s, phone="", consent=False, raw_text="Breaker trips at night", zip="94110", created_at=late
    )
    for business in (ny, sf):
        factories.match(s, late_lead, business, score=60.0, created_at=late)
    s.commit()
    on_the_2nd = inbox.InboxFilters(first_day=date(2026, 3, 2), last_day=date(2026, 3, 2))
    assert inbox.inbox(s, sf_owner, sf.id, on_the_2nd)[1] == 2  # type: ignore[arg-type]
    assert inbox.inbox(s, ny_owner, ny.id, on_the_2nd)[1] == 1  # type: ignore[arg-type]

    # The consumer reads the request in its own zone (the job's ZIP), an admin in UTC by default.
    (mine, *_) = portal.consumer_leads(s, consumer)
    assert mine["lead"]["created_exact"] == "Mar 2, 2026, 9:05 PST"
    assert localtime.viewer_zone(s, factories.user(s, Role.ADMIN.value)) == localtime.UTC_ZONE
    assert localtime.viewer_zone(s, ny_owner) == NEW_YORK and localtime.viewer_zone(s, consumer) == PACIFIC


@pytest.mark.parametrize(
    ("ago", "text", "spanish"),
    [
        (timedelta(seconds=20), "just now", "hace un momento"),
        (timedelta(minutes=1, seconds=5), "1 min ago", "hace 1 min"),
        (timedelta(minutes=3), "3 min ago", "hace 3 min"),
        (timedelta(hours=5), "5 h ago", "hace 5 h"),
        (timedelta(days=1), "yesterday", "ayer"),
        (timedelta(days=3), "3 days ago", "hace 3 días"),
        (timedelta(days=12), "Feb 26, 2026", "26 feb 2026"),
    ],
)
def test_relative_times(ago: timedelta, text: str, spanish: str) -> None:
    now = datetime(2026, 3, 10, 18, 0, tzinfo=UTC)
    assert localtime.relative(now - ago, now, NEW_YORK) == text
    assert localtime.relative(now - ago, now, NEW_YORK, "es") == spanish  # a Spanish request's card


def test_a_scheduled_call_reads_in_the_viewers_day() -> None:
    now = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)  # 19:30 in New York, 16:30 in San Francisco
    call_at = datetime(2026, 3, 11, 13, 0, tzinfo=UTC)  # 9:00 next morning in New York
    assert localtime.scheduled(call_at, now, NEW_YORK) == "tomorrow 9:00 (your time)"
    assert localtime.scheduled(call_at, now, PACIFIC) == "tomorrow 6:00 (your time)"
    assert localtime.scheduled(now + timedelta(hours=1), now, NEW_YORK) == "today 20:30 (your time)"
    assert localtime.scheduled(call_at + timedelta(days=3), now, NEW_YORK) == "Sat Mar 14 9:00 (your time)"
    # In Spanish (a Spanish request's portal and follow-ups).
    assert localtime.scheduled(call_at, now, NEW_YORK, "es") == "mañana 9:00 (su hora)"
    assert localtime.scheduled(now + timedelta(hours=1), now, NEW_YORK, "es") == "hoy 20:30 (su hora)"
    assert localtime.scheduled(call_at + timedelta(days=3), now, NEW_YORK, "es") == "sáb 14 mar 9:00 (su hora)"


def test_unknown_zips_read_in_utc() -> None:
    assert localtime.zone_of_zip("00000") == localtime.UTC_ZONE
    assert localtime.zone_of_zip("") == localtime.UTC_ZONE
    assert localtime.zone_of_zip("10001") == NEW_YORK


def test_an_admin_reads_times_in_the_zone_set_on_their_account(db_session: Session) -> None:
    s = db_session
    admin, owner = factories.user(s, Role.ADMIN.value), factories.user(s, Role.BUSINESS_OWNER.value)
    s.add(Lead(raw_text="Gutter hangs loose", zip="10001", created_at=datetime(2026, 3, 2, 17, 5, tzinfo=UTC)))
    s.commit()
    filters = moderation.LeadFilters()
    (row,), _ = moderation.list_leads(s, admin, filters)
    assert row["created_exact"] == "Mar 2, 2026, 17:05 UTC"  # UTC until they choose

    assert localtime.set_admin_zone(s, admin, "America/Los_Angeles") == "America/Los_Angeles"
    s.commit()
    (row,), _ = moderation.list_leads(s, admin, filters)
    assert row["created_exact"] == "Mar 2, 2026, 9:05 PST"
    with pytest.raises(UserError):
        localtime.set_admin_zone(s, admin, "Mars/Olympus_Mons")
    with pytest.raises(NotAllowed):
        localtime.set_admin_zone(s, owner, "America/Chicago")
