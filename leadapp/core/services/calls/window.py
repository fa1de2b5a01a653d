"""Calling hours: when a call may be placed, in the local time of the recipient's ZIP."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from leadapp.core import localtime
from leadapp.core.models import Lead, utcnow
from leadapp.core.settings import get_settings


def calling_hours() -> tuple[time, time]:
    """The local hours calls may be placed in (CALLING_HOURS_START to CALLING_HOURS_END, default 9 to 21)."""
    settings = get_settings()
    start = time(min(max(settings.calling_hours_start, 0), 23), 0)
    end = time.max if settings.calling_hours_end >= 24 else time(max(settings.calling_hours_end, 1), 0)
    return start, end


"""Local time in the recipient's ZIP: a call starts at or after the first and before the second."""
UNKNOWN_ZIP_ZONES = ("America/New_York", "America/Los_Angeles")
"""Without a known ZIP a call must be inside calling hours on both coasts at once."""


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def zip_time_zone(zip_code: str) -> str | None:
    """The IANA time zone of a US ZIP code from `zipcodes` ("America/Indiana/Indianapolis"), None if unknown."""
    return localtime.zip_time_zone(zip_code)


def _zones(zip_code: str) -> tuple[ZoneInfo, ...]:
    name = zip_time_zone(zip_code)
    return (ZoneInfo(name),) if name else tuple(ZoneInfo(z) for z in UNKNOWN_ZIP_ZONES)


def _open_in(zone: ZoneInfo, moment: datetime) -> bool:
    local = moment.astimezone(zone).time()
    start, end = calling_hours()
    return start <= local < end


def _openings(zone: ZoneInfo, moment: datetime) -> list[datetime]:
    """The window openings in `zone` from the day before `moment` to three days after, in UTC."""
    today: date = moment.astimezone(zone).date()
    return [
        datetime.combine(today + timedelta(days=offset), calling_hours()[0], tzinfo=zone).astimezone(UTC)
        for offset in range(-1, 4)
    ]


def calling_window(zip_code: str, now: datetime | None = None) -> tuple[bool, datetime]:
    """(is_open, next_open_utc) for a call to someone in `zip_code` at `now` (default: now).

    Open from 9:00 to 21:00 local time (zoneinfo, so daylight-saving days are right). When open,
    `next_open_utc` is `now` itself; otherwise it is the next 9:00 local, in UTC.
    """
    now = _aware(now or utcnow()).astimezone(UTC)
    zones = _zones(zip_code)
    if all(_open_in(zone, now) for zone in zones):
        return True, now
    # The joint window of several zones opens when one of them opens; try those moments in order.
    for opening in sorted({o for zone in zones for o in _openings(zone, now) if o > now}):
        if all(_open_in(zone, opening) for zone in zones):
            return False, opening
    raise RuntimeError(f"no calling window within three days for ZIP {zip_code!r}")  # pragma: no cover


def _lead_zip(lead: Lead | None) -> str:
    return (lead.location_zip or lead.zip or "") if lead is not None else ""
