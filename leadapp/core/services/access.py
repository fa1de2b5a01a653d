"""The one access layer: who may open which area and act on which data.

Every page, API route, job and webhook asks here; nothing else decides.
"""

from __future__ import annotations

from enum import StrEnum

from leadapp.core.errors import NotAllowed
from leadapp.core.models import Business, Lead, User
from leadapp.core.vocab import Role


class Area(StrEnum):
    PUBLIC = "public"
    ACCOUNT = "account"
    CONSUMER = "consumer"
    BUSINESS = "business"
    ADMIN = "admin"


# Which roles may open each area. Admins may open every area; public needs no account.
AREA_ROLES: dict[Area, frozenset[Role]] = {
    Area.PUBLIC: frozenset(Role),
    Area.ACCOUNT: frozenset(Role),
    Area.CONSUMER: frozenset({Role.CONSUMER, Role.ADMIN}),
    Area.BUSINESS: frozenset({Role.BUSINESS_OWNER, Role.ADMIN}),
    Area.ADMIN: frozenset({Role.ADMIN}),
}


class NotLoggedIn(NotAllowed):
    status_code = 401


def role_of(user: User | None) -> Role | None:
    if user is None or not user.is_active:
        return None
    return Role(user.role)


def can_open(user: User | None, area: Area) -> bool:
    """True when this user (None = anonymous) may open pages of `area`."""
    if area == Area.PUBLIC:
        return True
    role = role_of(user)
    return role is not None and role in AREA_ROLES[area]


def require_area(user: User | None, area: Area) -> User | None:
    """Return the user when they may open `area`; raise NotLoggedIn or NotAllowed otherwise."""
    if area == Area.PUBLIC:
        return user
    if role_of(user) is None:
        raise NotLoggedIn("Log in to continue.")
    if not can_open(user, area):
        raise NotAllowed("You are not allowed to open this page.")
    return user


def require_admin(user: User | None) -> User:
    require_area(user, Area.ADMIN)
    assert user is not None
    return user


def can_manage_business(user: User | None, business: Business | None) -> bool:
    """The business's owner, or an admin (False for a missing business)."""
    if business is None:
        return False
    role = role_of(user)
    return role == Role.ADMIN or (role == Role.BUSINESS_OWNER and user is not None and business.owner_id == user.id)


def require_business(user: User | None, business: Business) -> User:
    """The user when they manage `business`; NotLoggedIn / NotAllowed otherwise."""
    require_area(user, Area.BUSINESS)
    if not can_manage_business(user, business):
        raise NotAllowed("This is not your business.")
    assert user is not None
    return user


def can_see_consumer_lead(user: User | None, lead: Lead) -> bool:
    """A consumer sees their own (not deleted) requests; admins see every request."""
    role = role_of(user)
    if role == Role.ADMIN:
        return True
    return role == Role.CONSUMER and user is not None and lead.consumer_id == user.id and lead.deleted_at is None


def require_consumer_lead(user: User | None, lead: Lead) -> User:
    require_area(user, Area.CONSUMER)
    if not can_see_consumer_lead(user, lead):
        raise NotAllowed("This request is not yours.")
    assert user is not None
    return user


def home_path(user: User | None) -> str:
    """Where a user lands after logging in."""
    role = role_of(user)
    if role == Role.ADMIN:
        return "/admin"
    if role == Role.BUSINESS_OWNER:
        return "/dashboard"
    if role == Role.CONSUMER:
        return "/portal"
    return "/"
