"""Who may manage a business profile (to be folded into `access`): its owner, or an admin."""

from __future__ import annotations

from leadapp.core.models import Business, User
from leadapp.core.services.access import role_of
from leadapp.core.vocab import Role


def can_manage_business(user: User | None, business: Business | None) -> bool:
    """True when this active user owns `business` (as a business owner) or is an admin; never for anonymous."""
    role = role_of(user)
    if role is None or business is None or user is None:
        return False
    if role == Role.ADMIN:
        return True
    return role == Role.BUSINESS_OWNER and user.id is not None and business.owner_id == user.id
