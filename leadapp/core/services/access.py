"""The one access layer: who may open which area and act on which data.

Every page, API route, job and webhook asks here; nothing else decides.
"""

from __future__ import annotations

from enum import StrEnum

from leadapp.core.errors import NotAllowed
from leadapp.core.models import User
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
