"""Times as people read them, in the viewer's own time zone.

Every time is stored in UTC. Shown, it is in the zone of whoever looks: a business owner sees their business's
zone (from its ZIP code, via `zipcodes`), a consumer theirs (the ZIP of their request), an admin the zone set on
their account (UTC by default). Lists show how long ago ("3 min ago") with the exact time on hover; a scheduled
call reads "tomorrow 9:00 (your time)"; date filters take whole days of the viewer's zone.
No Reflex import: pages, emails and jobs share it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import zipcodes
from sqlmodel import Session, col, select

from leadapp.core import languages
from leadapp.core.errors import NotAllowed, UserError
from leadapp.core.models import Business, Lead, User

UTC_ZONE = ZoneInfo("UTC")
# The zones an admin may choose for their account: UTC and the US zones LeadApp's ZIP codes fall in.
ADMIN_ZONES: dict[str, str] = {
    "UTC": "UTC",
    "America/New_York": "Eastern (New York)",
    "America/Chicago": "Central (Chicago)",
    "America/Denver": "Mountain (Denver)",
    "America/Phoenix": "Arizona (Phoenix)",
    "America/Los_Angeles": "Pacific (Los Angeles)",
    "America/Anchorage": "Alaska (Anchorage)",
    "Pacific/Honolulu": "Hawaii (Honolulu)",
}


@lru_cache(maxsize=4096)
def zip_time_zone(zip_code: str) -> str | None:
    """The IANA time zone of a US ZIP code from `zipcodes` ("America/Indiana/Indianapolis"), None if unknown."""
    zip_code = (zip_code or "").strip()[:5]
    if len(zip_code) != 5 or not zip_code.isdigit():
        return None
    try:
        found = zipcodes.matching(zip_code)
    except (TypeError, ValueError):
        return None
    name = str(found[0].get("timezone") or "") if found else ""
    return name if valid_zone(name) else None


def valid_zone(name: str | None) -> bool:
    try:
        ZoneInfo(name or "")
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return bool(name)


def zone_named(name: str | None) -> ZoneInfo:
    """The zone called `name`, or UTC for an unknown or empty name."""
    return ZoneInfo(name) if name and valid_zone(name) else UTC_ZONE


def zone_of_zip(zip_code: str | None) -> ZoneInfo:
    return zone_named(zip_time_zone(zip_code or ""))


def _aware(moment: datetime) -> datetime:
    """Stored times come back naive from SQLite: they are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def exact(moment: datetime | None, zone: ZoneInfo) -> str:
    """ "Dec 6, 2026, 9:05 EST": the exact time in `zone`, with the zone's abbreviation ("" for no time)."""
    if moment is None:
        return ""
    local = _aware(moment).astimezone(zone)
    return f"{local:%b} {local.day}, {local.year}, {local.hour}:{local:%M} {local:%Z}"


def day_text(moment: datetime | None, zone: ZoneInfo) -> str:
    """ "Dec 6, 2026": the day in `zone`."""
    if moment is None:
        return ""
    local = _aware(moment).astimezone(zone)
    return f"{local:%b} {local.day}, {local.year}"


CLOCK_SKEW_SECONDS = 300


def relative(moment: datetime | None, now: datetime, zone: ZoneInfo, language: str | None = None) -> str:
    """How long ago, in words: "just now", "1 min ago", "3 h ago", "yesterday", "4 days ago", then the day; in
    `language` ("es": "hace 3 h", "ayer", "6 dic 2026")."""
    if moment is None:
        return ""
    moment, now = _aware(moment), _aware(now)
    seconds = (now - moment).total_seconds()
    if seconds < -CLOCK_SKEW_SECONDS:
        return exact(moment, zone)  # a future time is said exactly
    w = languages.phrases(language)
    # A clock a little ahead of this one (another server's) never reads "in the future".
    if seconds < 60:
        return w.JUST_NOW
    if seconds < 3600:
        return w.MINUTES_AGO.format(n=int(seconds // 60))
    if seconds < 24 * 3600:
        return w.HOURS_AGO.format(n=int(seconds // 3600))
    days = (now.astimezone(zone).date() - moment.astimezone(zone).date()).days
    if days <= 1:
        return w.YESTERDAY
    if days < 7:
        return w.DAYS_AGO.format(n=days)
    local = moment.astimezone(zone)
    return w.DAY.format(month=w.MONTHS_SHORT[local.month - 1], day=local.day, year=local.year)


def scheduled(moment: datetime | None, now: datetime, zone: ZoneInfo, language: str | None = None) -> str:
    """A time to come, as its viewer says it: "today 14:30 (your time)", "tomorrow 9:00 (your time)", else
    "Mon Mar 14 9:00 (your time)"; in `language` ("es": "mañana 9:00 (su hora)", "sáb 14 mar 9:00 (su hora)")."""
    if moment is None:
        return ""
    w = languages.phrases(language)
    local, today = _aware(moment).astimezone(zone), _aware(now).astimezone(zone).date()
    clock = f"{local.hour}:{local:%M}"
    if local.date() == today:
        day = w.TODAY
    elif local.date() == today + timedelta(days=1):
        day = w.TOMORROW
    else:
        day = w.ON_DAY.format(
            weekday=w.WEEKDAYS_SHORT[local.weekday()], month=w.MONTHS_SHORT[local.month - 1], day=local.day
        )
    return f"{day} {clock} ({w.YOUR_TIME})"


def day_bounds(first: date | None, last: date | None, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """[first 00:00, the day after last 00:00) of `zone`, in UTC: whole days as the viewer counts them."""
    since = datetime.combine(first, time.min, zone).astimezone(UTC) if first else None
    until = datetime.combine(last + timedelta(days=1), time.min, zone).astimezone(UTC) if last else None
    return since, until


@dataclass(frozen=True)
class When:
    """A past time as a list shows it: how long ago, and the exact time for the hover title."""

    ago: str
    exact: str


def when(moment: datetime | None, zone: ZoneInfo, now: datetime) -> When:
    return When(ago=relative(moment, now, zone), exact=exact(moment, zone))


# --- whose zone ----------------------------------------------------------------------------------------


def business_zone(business: Business | None) -> ZoneInfo:
    return zone_of_zip(business.zip if business is not None else "")


def lead_zone(lead: Lead | None) -> ZoneInfo:
    """The consumer's zone for one request: where the job is."""
    return zone_of_zip((lead.location_zip or lead.zip) if lead is not None else "")


def viewer_zone(session: Session, user: User | None) -> ZoneInfo:
    """The zone `user` reads times in: an owner's business's, a consumer's latest request's, an admin's setting."""
    if user is None:
        return UTC_ZONE
    if user.role == "business_owner":
        business = session.exec(select(Business).where(Business.owner_id == user.id).order_by(col(Business.id))).first()
        return business_zone(business)
    if user.role == "consumer":
        lead = session.exec(
            select(Lead).where(Lead.consumer_id == user.id).order_by(col(Lead.created_at).desc())
        ).first()
        return lead_zone(lead)
    return zone_named(user.time_zone or "UTC")


def set_admin_zone(session: Session, user: User | None, name: str) -> str:
    """Set the zone an admin reads times in (one of `ADMIN_ZONES`); returns its name. Only for an admin,
    only their own account. Raises UserError for a zone not offered."""
    if user is None or user.role != "admin":
        raise NotAllowed("Only an admin sets a time zone on their account.")
    if name not in ADMIN_ZONES:
        raise UserError("Choose one of the time zones offered.", field="time_zone")
    user.time_zone = name
    session.add(user)
    session.flush()
    return name
