"""The database side of matching, first half: a stored lead and business rows as the matcher's features, and
the one SQL query that finds the candidate businesses."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

import zipcodes
from sqlalchemy import Float, String, and_, any_, bindparam, false, func, or_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session, col, select

from leadapp.core import languages
from leadapp.core.models import Business, Lead, Match, utcnow
from leadapp.core.services.match.features import BusinessFeatures, LeadFeatures
from leadapp.core.services.match.geography import zip_centroid
from leadapp.core.vocab import MatchStatus

OPEN_MATCH_STATUSES: tuple[str, ...] = (
    MatchStatus.NEW.value,
    MatchStatus.NOTIFIED.value,
    MatchStatus.VIEWED.value,
    MatchStatus.ACCEPTED.value,
)


# Businesses without stored coordinates are looked for by ZIP within this distance of the lead.
UNLOCATED_SEARCH_MILES = 100.0
# The SQL box around each business's circle is this much larger than the circle (an exact check follows).
_BOX_MARGIN = 1.1
_MILES_PER_DEGREE = 68.7  # the shortest a degree of latitude gets, so the box errs on the large side


def lead_features(lead: Lead, today: date | None = None) -> LeadFeatures:
    """The matcher's view of a stored lead.

    Location: the centroid of the classifier's ``location_zip`` when it is a known ZIP, else of the
    lead's own ``zip``, else None. Month (for the seasonal boost): ``today`` when given, else the month
    the lead was created (UTC) — so matching the same lead again later scores it the same way.
    """
    location = zip_centroid(lead.location_zip or "") or zip_centroid(lead.zip or "")
    if today is not None:
        month = today.month
    elif lead.created_at is not None:
        created = lead.created_at if lead.created_at.tzinfo else lead.created_at.replace(tzinfo=UTC)
        month = created.astimezone(UTC).month
    else:
        month = utcnow().month
    return LeadFeatures(
        category=lead.category,
        urgency=lead.urgency,
        budget_min=lead.budget_min,
        budget_max=lead.budget_max,
        location=location,
        key_requirements=tuple(req for req in lead.key_requirements or [] if isinstance(req, str)),
        month=month,
        language=languages.known(lead.language),
    )


@lru_cache(maxsize=4096)
def _zip_prefixes_near(location: tuple[float, float], miles: float) -> tuple[str, ...]:
    """The 3-digit prefixes of every ZIP whose centroid lies within `miles` of `location`."""
    nearby = zipcodes.filter_by_coordinates(location[0], location[1], miles)
    return tuple(sorted({entry["zip_code"][:3] for entry in nearby if entry.get("zip_code")}))


def _month_start(now: datetime) -> datetime:
    moment = now if now.tzinfo else now.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def candidate_businesses(
    session: Session, lead_features: LeadFeatures, *, now: datetime | None = None
) -> list[BusinessFeatures]:
    """Businesses that may take the lead, in one SQL query; `score_match` does the exact radius check.

    Guarantees every business returned is verified by an admin (``verified_at``: a business is verified only
    once its owner's email address is, see `business_verification`), active, not paused, below its
    ``monthly_lead_cap`` (matches created since the first of the current month, UTC) and, when
    ``max_open_leads`` is set, has fewer open matches (new/notified/viewed/accepted) than that. Location
    pre-filter: a business with stored latitude/longitude is kept when the lead lies in a box around its own
    service circle (the radius plus 10 %, so large radii are honoured); a business without stored coordinates is
    kept when its ZIP shares a 3-digit prefix with a ZIP within ``UNLOCATED_SEARCH_MILES`` of the lead, and gets
    its ZIP's centroid as location (None for an unknown ZIP, which `score_match` then rejects). No category
    filtering here. Returns [] when the lead has no location.
    """
    if lead_features.location is None:
        return []
    lat, lon = lead_features.location
    cos_lat = math.cos(math.radians(lat))
    # Near the poles or the antimeridian a longitude box is not worth the trouble: latitude alone bounds it.
    lon_box = cos_lat > 0.05 and abs(lon) < 170
    prefixes = _zip_prefixes_near((lat, lon), UNLOCATED_SEARCH_MILES)
    params: dict[str, Any] = {"month_start": _month_start(now or utcnow()), "lat": lat, "lon": lon}
    if lon_box:
        params["lon_per_mile"] = _BOX_MARGIN / (_MILES_PER_DEGREE * cos_lat)
    if prefixes:
        params["prefixes"] = list(prefixes)
    array = session.get_bind().dialect.name == "postgresql"
    rows = session.execute(_candidates_query(lon_box, bool(prefixes), array), params)
    return [business_features(row) for row in rows]


@lru_cache(maxsize=8)
def _candidates_query(lon_box: bool, unlocated: bool, array: bool) -> Any:
    """`candidate_businesses`' query, built once per shape (with or without the longitude box, and the nearby
    businesses without coordinates); the lead's values are bound parameters. `array` (PostgreSQL): the nearby ZIP
    prefixes are one array parameter (`= ANY`), not one parameter each (often over 50 near a city: then neither
    SQLAlchemy nor psycopg can reuse the statement's text, and each lead paid for expanding and parsing it)."""
    lat, lon = bindparam("lat", type_=Float), bindparam("lon", type_=Float)
    # Correlated counts (index range scans on matches by business): evaluated only for the businesses that
    # pass the cheaper conditions, so the cost follows the nearby businesses' volume, not the whole table's.
    matches_this_month = (
        select(func.count())
        .where(col(Match.business_id) == col(Business.id), col(Match.created_at) >= bindparam("month_start"))
        .scalar_subquery()
    )
    open_now = (
        select(func.count())
        .where(col(Match.business_id) == col(Business.id), col(Match.status).in_(OPEN_MATCH_STATUSES))
        .scalar_subquery()
    )
    latitude, longitude, radius = col(Business.latitude), col(Business.longitude), col(Business.radius_miles)
    lat_span = radius * (_BOX_MARGIN / _MILES_PER_DEGREE)
    in_box = [latitude.is_not(None), longitude.is_not(None), latitude.between(lat - lat_span, lat + lat_span)]
    if lon_box:
        lon_span = radius * bindparam("lon_per_mile", type_=Float)
        in_box.append(longitude.between(lon - lon_span, lon + lon_span))
    zip_prefix = func.substr(col(Business.zip), 1, 3)
    nearby_prefix = (
        zip_prefix == any_(bindparam("prefixes", type_=ARRAY(String)))
        if array
        else zip_prefix.in_(bindparam("prefixes", expanding=True))
    )
    unlocated_nearby = and_(or_(latitude.is_(None), longitude.is_(None)), nearby_prefix) if unlocated else false()

    query = (
        select(
            Business.id,
            Business.name,
            Business.categories,
            Business.latitude,
            Business.longitude,
            Business.zip,
            Business.radius_miles,
            Business.rating,
            Business.review_count,
            Business.response_rate,
            Business.price_tier,
            Business.emergency_service,
            Business.licensed,
            Business.insured,
            Business.tags,
            Business.avg_response_minutes,
            Business.verified_review_count,
            Business.verified_stars_total,
            Business.languages,
        )
        .where(
            col(Business.verified_at).is_not(None),
            col(Business.is_active).is_(True),
            col(Business.paused).is_(False),
            matches_this_month < col(Business.monthly_lead_cap),
            or_(col(Business.max_open_leads).is_(None), open_now < col(Business.max_open_leads)),
            or_(and_(*in_box), unlocated_nearby),
        )
        .order_by(col(Business.id))
    )
    return query


def business_features(row: Any) -> BusinessFeatures:
    """The matcher's view of a business row (a `Business` or a row of its columns); no coordinates → ZIP centroid."""
    if row.latitude is not None and row.longitude is not None:
        location: tuple[float, float] | None = (row.latitude, row.longitude)
    else:
        location = zip_centroid(row.zip)
    return BusinessFeatures(
        id=row.id,
        name=row.name,
        categories=tuple(str(c) for c in row.categories or []),
        location=location,
        radius_miles=row.radius_miles,
        rating=row.rating,
        review_count=row.review_count,
        response_rate=row.response_rate,
        price_tier=row.price_tier,
        emergency_service=row.emergency_service,
        licensed=row.licensed,
        insured=row.insured,
        tags=tuple(str(t) for t in row.tags or []),
        avg_response_minutes=row.avg_response_minutes,
        verified_review_count=row.verified_review_count,
        verified_stars_total=row.verified_stars_total,
        languages=tuple(str(code) for code in row.languages or ()) or (languages.DEFAULT,),
    )
