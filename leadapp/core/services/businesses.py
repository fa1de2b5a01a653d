"""Business profiles: validation of what an owner types, and creating, editing and pausing a business.

Guarantees: every change goes through `can_manage_business` (the business's owner or an admin, never
the id alone); a profile is validated completely before anything is written, and every bad field is
named; each change is audited with the before/after of the fields it changed, in the same transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import zipcodes
from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session, select

from leadapp.core import phones
from leadapp.core.errors import FieldErrors, NotAllowed, NotFound, UserError
from leadapp.core.models import Business, User
from leadapp.core.services import audit
from leadapp.core.services.access import Area, NotLoggedIn, can_manage_business, require_area, role_of
from leadapp.core.services.rules import current_rules
from leadapp.core.vocab import PLAN_LEAD_CAP, REALTIME_VOICES, Category, Channel, Language, Plan, PriceTier, Role

MAX_NAME = 200
MAX_ADDRESS = 300
MAX_TAGS = 20
MAX_TAG_CHARS = 40
MAX_NOTES = 4000
RADIUS_MILES = (1, 200)
YEARS = (0, 200)
LEAD_CAP = (1, 10_000)

WEEKDAYS: dict[str, str] = {
    "mon": "Monday",
    "tue": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
}
CLOSED = "closed"
_HOURS = re.compile(r"([0-9]{1,2}):([0-9]{2})\s*[-–]\s*([0-9]{1,2}):([0-9]{2})")

# The Business columns a profile sets; everything else (paused, is_active, stats) has its own path. The rating
# and review count are not the owner's to type: admins set them until verified reviews exist
# (`moderation.set_business_rating`), so the matcher's rating factor is not self-declared. The plan, the
# verification and a lead cap beyond the plan's are the admins' too (`plans`).
PROFILE_FIELDS: tuple[str, ...] = (
    "name",
    "categories",
    "address",
    "zip",
    "city",
    "state",
    "latitude",
    "longitude",
    "radius_miles",
    "years_in_business",
    "price_tier",
    "licensed",
    "insured",
    "emergency_service",
    "tags",
    "notify_email",
    "notify_phone",
    "notify_channels",
    "hours",
    "voice",
    "languages",
    "call_objective_notes",
    "monthly_lead_cap",
)


class ProfileInvalid(FieldErrors):
    """One or more profile fields are wrong; `errors` maps each field to its message."""


@dataclass
class ProfileInput:
    """A business profile as a form sends it: text as typed, checkboxes as bools and lists.

    `hours` maps a weekday key of WEEKDAYS to "09:00-17:00", "closed", or "" (not given).
    """

    name: str = ""
    categories: list[str] = field(default_factory=list)
    address: str = ""
    zip: str = ""
    radius_miles: str = "25"
    years_in_business: str = "0"
    price_tier: str = PriceTier.STANDARD.value
    licensed: bool = False
    insured: bool = False
    emergency_service: bool = False
    tags: str = ""
    notify_email: str = ""
    notify_phone: str = ""
    notify_channels: list[str] = field(default_factory=lambda: [Channel.EMAIL.value])
    hours: dict[str, str] = field(default_factory=dict)
    voice: str = "marin"
    languages: list[str] = field(default_factory=lambda: [Language.ENGLISH.value])
    call_objective_notes: str = ""
    monthly_lead_cap: str = str(PLAN_LEAD_CAP[Plan.FREE])

    @classmethod
    def from_business(cls, business: Business) -> ProfileInput:
        """The form as it shows a saved business (the inverse of `validate_profile`)."""
        return cls(
            name=business.name,
            categories=list(business.categories or []),
            address=business.address,
            zip=business.zip,
            radius_miles=_number_text(business.radius_miles),
            years_in_business=str(business.years_in_business),
            price_tier=business.price_tier,
            licensed=business.licensed,
            insured=business.insured,
            emergency_service=business.emergency_service,
            tags=", ".join(business.tags or []),
            notify_email=business.notify_email,
            notify_phone=business.notify_phone,
            notify_channels=list(business.notify_channels or []),
            hours={day: str((business.hours or {}).get(day, "")) for day in WEEKDAYS},
            voice=business.voice,
            languages=list(business.languages or [Language.ENGLISH.value]),
            call_objective_notes=business.call_objective_notes,
            monthly_lead_cap=str(business.monthly_lead_cap),
        )


def _number_text(value: float) -> str:
    return f"{value:g}"


# --- validation ---------------------------------------------------------------------------------


def _number(raw: str, low: float, high: float, *, integer: bool) -> float | int | None:
    """The number typed in `raw` when it lies in [low, high] (whole when `integer`), else None."""
    text = (raw or "").strip()
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        return None
    return value if low <= value <= high else None


@lru_cache(maxsize=50_000)
def _zip_place(zip_code: str) -> dict[str, Any] | None:
    found = zipcodes.matching(zip_code) if zipcodes.is_real(zip_code) else []
    return found[0] if found else None


def _hours_of(raw: str) -> str | None:
    """The normalized "HH:MM-HH:MM" or "closed" for what was typed; "" when blank, None when invalid."""
    text = (raw or "").strip()
    if not text:
        return ""
    if text.lower() == CLOSED:
        return CLOSED
    match = _HOURS.fullmatch(text)
    if match is None:
        return None
    oh, om, ch, cm = (int(part) for part in match.groups())
    opens, closes = oh * 60 + om, ch * 60 + cm
    if oh > 23 or om > 59 or cm > 59 or closes > 24 * 60 or closes <= opens:
        return None
    return f"{oh:02d}:{om:02d}-{ch:02d}:{cm:02d}"


def _tags_of(raw: str) -> list[str]:
    tags: dict[str, str] = {}
    for part in (raw or "").split(","):
        tag = " ".join(part.split())
        if tag:
            tags.setdefault(tag.lower(), tag)  # the first spelling wins; "24/7" and "24/7 " are one tag
    return list(tags.values())


def validate_profile(
    data: ProfileInput,
    *,
    owner_email: str = "",
    max_radius: float = RADIUS_MILES[1],
    lead_cap_limit: int = LEAD_CAP[1],
) -> dict[str, Any]:
    """Check every field and return the Business column values (ZIP → city, state, latitude, longitude).

    `owner_email` is the owner's account address: email notifications fall back to it when no
    notification email is given. `max_radius`: the platform rules' largest service radius; `lead_cap_limit`:
    the highest monthly lead cap this business may set itself (its plan's, or the cap an admin gave it).
    Raises ProfileInvalid naming each bad field; writes nothing.
    """
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}

    name = " ".join((data.name or "").split())
    if not name:
        errors["name"] = "Enter your business name."
    elif len(name) > MAX_NAME:
        errors["name"] = f"Use at most {MAX_NAME} characters."
    out["name"] = name

    known = {c.value for c in Category}
    categories = list(dict.fromkeys((c or "").strip().lower() for c in data.categories or []))
    unknown = [c for c in categories if c not in known]
    if unknown:
        errors["categories"] = f"Unknown service category: {', '.join(unknown)}."
    elif not categories:
        errors["categories"] = "Choose at least one service category."
    out["categories"] = categories

    address = (data.address or "").strip()
    if len(address) > MAX_ADDRESS:
        errors["address"] = f"Use at most {MAX_ADDRESS} characters."
    out["address"] = address

    zip_code = (data.zip or "").strip()
    place = None
    if not re.fullmatch(r"[0-9]{5}", zip_code):
        errors["zip"] = "Enter a 5-digit US ZIP code."
    else:
        place = _zip_place(zip_code)
        if place is None:
            errors["zip"] = f"We don't know the ZIP code {zip_code}."
    out["zip"] = zip_code
    out["city"] = str(place["city"]).title() if place else ""
    out["state"] = str(place["state"]) if place else ""
    out["latitude"] = float(place["lat"]) if place else None
    out["longitude"] = float(place["long"]) if place else None

    top_radius = max(RADIUS_MILES[0], min(RADIUS_MILES[1], max_radius))
    radius = _number(data.radius_miles, RADIUS_MILES[0], top_radius, integer=False)
    if radius is None:
        errors["radius_miles"] = f"Enter a service radius from {RADIUS_MILES[0]} to {top_radius:g} miles."
    out["radius_miles"] = float(radius or 0)

    years = _number(data.years_in_business, *YEARS, integer=True)
    if years is None:
        errors["years_in_business"] = f"Enter whole years from {YEARS[0]} to {YEARS[1]}."
    out["years_in_business"] = int(years or 0)

    price_tier = (data.price_tier or "").strip().lower()
    if price_tier not in {p.value for p in PriceTier}:
        errors["price_tier"] = "Choose budget, standard or premium."
    out["price_tier"] = price_tier

    out["licensed"], out["insured"] = bool(data.licensed), bool(data.insured)
    out["emergency_service"] = bool(data.emergency_service)

    tags = _tags_of(data.tags)
    too_long = [t for t in tags if len(t) > MAX_TAG_CHARS]
    if len(tags) > MAX_TAGS:
        errors["tags"] = f"Use at most {MAX_TAGS} tags (you gave {len(tags)})."
    elif too_long:
        errors["tags"] = f"Keep each tag to {MAX_TAG_CHARS} characters: “{too_long[0][:MAX_TAG_CHARS]}…” is longer."
    out["tags"] = tags

    notify_email = ""
    if (data.notify_email or "").strip():
        try:
            notify_email = validate_email(data.notify_email.strip(), check_deliverability=False).normalized
        except EmailNotValidError as exc:
            errors["notify_email"] = f"Enter a valid email address ({exc})."
    out["notify_email"] = notify_email

    notify_phone = ""
    if (data.notify_phone or "").strip():
        try:
            notify_phone = phones.parse(data.notify_phone)
        except phones.PhoneRefused as exc:
            errors["notify_phone"] = exc.message
    out["notify_phone"] = notify_phone

    channels = list(dict.fromkeys((c or "").strip().lower() for c in data.notify_channels or []))
    if any(c not in {ch.value for ch in Channel} for c in channels):
        errors["notify_channels"] = "Choose email and/or text message."
    elif not channels:
        # An empty choice would silently mean email (see notify), so ask for it explicitly.
        errors["notify_channels"] = "Choose at least one way to be told about new leads."
    else:
        if Channel.SMS.value in channels and not notify_phone and "notify_phone" not in errors:
            errors["notify_phone"] = "Give a mobile number to get leads by text message."
        if Channel.EMAIL.value in channels and not notify_email and not owner_email and "notify_email" not in errors:
            errors["notify_email"] = "Give an email address to get leads by email."
    out["notify_channels"] = channels

    hours: dict[str, str] = {}
    for day, raw in (data.hours or {}).items():
        if day not in WEEKDAYS:
            errors["hours"] = f"Unknown weekday: {day}."
            continue
        value = _hours_of(raw)
        if value is None:
            errors[f"hours_{day}"] = "Enter hours like 09:00-17:00 (closing after opening), or closed."
        elif value:
            hours[day] = value
    out["hours"] = {day: hours[day] for day in WEEKDAYS if day in hours}

    voice = (data.voice or "").strip().lower()
    if voice not in REALTIME_VOICES:
        errors["voice"] = "Choose one of the offered voices."
    out["voice"] = voice

    known_languages = {language.value for language in Language}
    chosen = list(dict.fromkeys((code or "").strip().lower() for code in data.languages or []))
    if any(code not in known_languages for code in chosen):
        errors["languages"] = "Choose English and/or Spanish."
    elif not chosen:
        errors["languages"] = "Choose at least one language you serve."
    out["languages"] = [language.value for language in Language if language.value in chosen]

    notes = (data.call_objective_notes or "").strip()
    if len(notes) > MAX_NOTES:
        errors["call_objective_notes"] = f"Keep the notes under {MAX_NOTES} characters (now {len(notes)})."
    out["call_objective_notes"] = notes

    top_cap = max(LEAD_CAP[0], min(LEAD_CAP[1], lead_cap_limit))
    cap = _number(data.monthly_lead_cap, LEAD_CAP[0], top_cap, integer=True)
    if cap is None:
        more = " (your plan's cap; an admin can raise it)" if top_cap < LEAD_CAP[1] else ""
        errors["monthly_lead_cap"] = f"Enter a whole number of leads from {LEAD_CAP[0]} to {top_cap:,}{more}."
    out["monthly_lead_cap"] = int(cap or 0)

    if errors:
        raise ProfileInvalid(errors)
    return out


def lead_cap_limit(business: Business) -> int:
    """The highest monthly lead cap the owner may set: the plan's cap, or the cap an admin already set above it."""
    plan = Plan(business.plan) if business.plan in Plan._value2member_map_ else Plan.FREE
    return max(PLAN_LEAD_CAP[plan], int(business.monthly_lead_cap or 0))


def _max_radius(session: Session) -> float:
    """The platform rules' largest service radius (miles)."""
    return float(current_rules(session).get("matching").get("max_radius_miles") or RADIUS_MILES[1])


# --- reading and changing businesses ------------------------------------------------------------


def my_business(session: Session, user: User | None) -> Business | None:
    """The business this user owns, or None; anonymous users get NotLoggedIn, consumers NotAllowed."""
    require_area(user, Area.BUSINESS)
    assert user is not None
    return session.exec(select(Business).where(Business.owner_id == user.id).order_by(Business.id)).first()


def _managed(session: Session, actor: User | None, business_id: int, *, lock: bool = False) -> Business:
    """The business `actor` may manage; NotLoggedIn, NotAllowed (or NotFound, for admins) otherwise.

    Someone else's business and a missing one answer the same to non-admins, so ids reveal nothing.
    """
    if role_of(actor) is None:
        raise NotLoggedIn("Log in to continue.")
    query = select(Business).where(Business.id == business_id)
    business = session.exec(query.with_for_update() if lock else query).first()
    if not can_manage_business(actor, business):
        if business is None and role_of(actor) == Role.ADMIN:
            raise NotFound("No such business.")
        raise NotAllowed("You can only manage your own business.")
    assert business is not None
    return business


def locked(session: Session, business_id: int) -> Business:
    """The business with this id, fresh from the database and locked until the transaction ends; NotFound if gone.

    For a change whose caller has already checked who may make it.
    """
    business = session.get(Business, business_id, populate_existing=True, with_for_update=True)
    if business is None:
        raise NotFound("No such business.")
    return business


def get_business(session: Session, actor: User | None, business_id: int) -> Business:
    """The business with this id, when `actor` may manage it (its owner or an admin)."""
    return _managed(session, actor, business_id)


def create_business(session: Session, owner: User | None, data: ProfileInput) -> Business:
    """Register the owner's business (one per business-owner account); audited as `business.create`."""
    require_area(owner, Area.BUSINESS)
    assert owner is not None
    if role_of(owner) != Role.BUSINESS_OWNER:
        raise NotAllowed("Only a business owner account can register a business.", field="form")
    # Serializes concurrent creations by the same owner on PostgreSQL (SQLite serializes writers anyway).
    session.exec(select(User.id).where(User.id == owner.id).with_for_update()).first()
    existing = session.exec(select(Business).where(Business.owner_id == owner.id)).first()
    if existing is not None:
        raise UserError(
            f"Your account already has a business (“{existing.name}”); edit it instead of adding another.",
            field="form",
        )
    values = validate_profile(
        data,
        owner_email=owner.email,
        max_radius=_max_radius(session),
        lead_cap_limit=PLAN_LEAD_CAP[Plan.FREE],
    )
    # A business its owner registers waits in the admins' verification queue (`plans`): no leads until then.
    business = Business(owner_id=owner.id, plan=Plan.FREE.value, verified_at=None, **values)
    session.add(business)
    session.flush()
    audit.record(session, actor_id=owner.id, action="business.create", target=business, before=None, after=values)
    return business


def update_business(session: Session, actor: User | None, business_id: int, data: ProfileInput) -> Business:
    """Save a new version of the profile (its owner or an admin); audited with the changed fields only."""
    business = _managed(session, actor, business_id, lock=True)
    assert actor is not None
    owner = session.get(User, business.owner_id)
    values = validate_profile(
        data,
        owner_email=owner.email if owner is not None else "",
        max_radius=_max_radius(session),
        lead_cap_limit=lead_cap_limit(business) if role_of(actor) != Role.ADMIN else LEAD_CAP[1],
    )
    changed = {name: value for name, value in values.items() if getattr(business, name) != value}
    audit.apply_change(session, actor_id=actor.id, action="business.update", target=business, values=changed)
    session.flush()
    return business


def set_paused(session: Session, actor: User | None, business_id: int, paused: bool) -> Business:
    """Pause (no new leads are matched to it) or resume a business; its owner or an admin. Audited."""
    business = _managed(session, actor, business_id, lock=True)
    assert actor is not None
    action = "business.pause" if paused else "business.resume"
    audit.apply_change(session, actor_id=actor.id, action=action, target=business, values={"paused": paused})
    session.flush()
    return business
