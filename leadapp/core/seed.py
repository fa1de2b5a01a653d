"""Demo data for a first start: an admin, two business owners with businesses, a consumer."""

from __future__ import annotations

from dataclasses import dataclass

import zipcodes
from sqlmodel import Session, select

from leadapp.core.models import Business, User, utcnow
from leadapp.core.services.accounts import hash_password
from leadapp.core.vocab import Category, Language, Plan, PriceTier, Role


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    password: str


ADMIN_EMAIL = "admin@leadapp.demo"
PLUMBER_EMAIL = "plumber@leadapp.demo"
ELECTRICIAN_EMAIL = "electrician@leadapp.demo"
CONSUMER_EMAIL = "consumer@leadapp.demo"

_BUSINESSES = [
    {
        "owner": PLUMBER_EMAIL,
        "owner_name": "Pat Plumber",
        "name": "Carmel Plumbing Co",
        "categories": [Category.PLUMBING.value, Category.APPLIANCE_REPAIR.value],
        "zip": "46032",
        "address": "1 Civic Sq",
        "radius_miles": 30.0,
        "rating": 4.8,
        "review_count": 212,
        "years_in_business": 14,
        "price_tier": PriceTier.STANDARD.value,
        "licensed": True,
        "insured": True,
        "emergency_service": True,
        "tags": ["water heaters", "leak repair", "24/7"],
        "languages": [Language.ENGLISH.value, Language.SPANISH.value],  # the demo's Spanish leads and calls
        "plan": Plan.STARTER.value,
        "response_rate": 0.86,
    },
    {
        "owner": ELECTRICIAN_EMAIL,
        "owner_name": "Eve Electric",
        "name": "Midtown Electric & Air",
        "categories": [Category.ELECTRICAL.value, Category.HVAC.value],
        "zip": "10001",
        "address": "350 5th Ave",
        "radius_miles": 15.0,
        "rating": 4.5,
        "review_count": 98,
        "years_in_business": 8,
        "price_tier": PriceTier.PREMIUM.value,
        "licensed": True,
        "insured": True,
        "emergency_service": False,
        "tags": ["panels", "EV chargers", "mini-splits"],
        "plan": Plan.PRO.value,
        "response_rate": 0.74,
    },
]


def _user(session: Session, email: str, role: Role, name: str, password_hash: str) -> User:
    user = session.exec(select(User).where(User.email == email)).first()
    if user is None:
        # Demo accounts count as verified: their addresses are not real mailboxes.
        user = User(
            email=email, role=role.value, full_name=name, password_hash=password_hash, email_verified_at=utcnow()
        )
        session.add(user)
        session.flush()
    return user


def seed_demo(session: Session, password: str) -> list[DemoLogin]:
    """Create the demo accounts and businesses that are missing (idempotent); returns the demo logins."""
    password_hash = hash_password(password)
    _user(session, ADMIN_EMAIL, Role.ADMIN, "Ada Admin", password_hash)
    _user(session, CONSUMER_EMAIL, Role.CONSUMER, "Casey Consumer", password_hash)
    for spec in _BUSINESSES:
        owner = _user(session, spec["owner"], Role.BUSINESS_OWNER, spec["owner_name"], password_hash)
        if session.exec(select(Business).where(Business.owner_id == owner.id)).first():
            continue
        place = zipcodes.matching(spec["zip"])[0]
        fields = {k: v for k, v in spec.items() if k not in ("owner", "owner_name")}
        session.add(
            Business(
                owner_id=owner.id,
                city=place["city"].title(),
                state=place["state"],
                latitude=float(place["lat"]),
                longitude=float(place["long"]),
                notify_email=spec["owner"],
                notify_channels=["email"],
                verified_at=utcnow(),
                **fields,
            )
        )
    session.flush()
    return demo_logins(password)


def demo_logins(password: str) -> list[DemoLogin]:
    return [
        DemoLogin("admin", ADMIN_EMAIL, password),
        DemoLogin("business owner (plumber, Carmel IN 46032, English and Spanish)", PLUMBER_EMAIL, password),
        DemoLogin("business owner (electrician, New York 10001)", ELECTRICIAN_EMAIL, password),
        DemoLogin("consumer", CONSUMER_EMAIL, password),
    ]


def is_seeded(session: Session) -> bool:
    return session.exec(select(User.id).where(User.email == ADMIN_EMAIL)).first() is not None
