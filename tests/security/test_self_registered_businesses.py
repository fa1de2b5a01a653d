"""Attack: a self-registered business gives itself leads, a plan, a cap and a reach it was not given
(issue 11, item 6).

The owner signs up and sends the settings form's handler what the page never offers: `plan=pro`, a lead cap of
10,000, a 200-mile radius, a rating. Each is refused or ignored; the business waits in the admins' verification
queue and no lead reaches it until an admin verifies it (and its owner's address is confirmed). Only an admin
changes the plan or a cap beyond it, and an owner cannot call the admins' service functions.
"""

from __future__ import annotations

from typing import Any

import pytest
import reflex as rx
from reflex.istate.data import ReflexURL, RouterData
from sqlmodel import Session

from leadapp.core.errors import NotAllowed
from leadapp.core.models import Business, User, utcnow
from leadapp.core.services import accounts, plans
from leadapp.core.services.access import NotLoggedIn
from tests import factories
from tests.security.owner_tab import session_token

PASSWORD = "a long enough password"
FORM = {
    "name": "Sneaky Plumbing",
    "categories": "plumbing",
    "zip": "46032",
    "radius_miles": "25",
    "years_in_business": "3",
    "price_tier": "standard",
    "voice": "marin",
    "monthly_lead_cap": "50",
    "notify_channels": "email",
    "languages": "en",  # checked by default on the form
}


def _settings_tab(user_id: int, query: str = "") -> Any:
    import leadapp.leadapp  # noqa: F401  (imports every page module, as the server does)
    from leadapp.pages.business.settings import BusinessSettingsState

    root = rx.State(_reflex_internal_init=True)
    root.router = RouterData(url=ReflexURL(f"http://localhost:3000/dashboard/settings{query}"))
    state: Any = root.get_substate(BusinessSettingsState.get_full_name().split(".")[1:])
    state.session_token = session_token(user_id)
    return state


def _call(state: Any, name: str, *args: Any) -> None:
    """Run one handler of the settings page as the browser would."""
    type(state).event_handlers[name].fn(state, *args)


def _save(state: Any, **changes: str) -> None:
    _call(state, "save", rx.form.FormData(list({**FORM, **changes}.items())))


@pytest.fixture
def owner(db_session: Session) -> User:
    user = accounts.register(db_session, "sneaky@example.com", PASSWORD, "business_owner")
    db_session.commit()
    return user


def test_a_new_business_gets_no_leads_and_cannot_give_itself_a_plan(db_session: Session, owner: User) -> None:
    tab = _settings_tab(owner.id)  # type: ignore[arg-type]
    _call(tab, "load")
    _save(tab, plan="pro", rating="5", review_count="999", verified_at="2020-01-01")
    assert tab.errors == {}, tab.errors
    db_session.expire_all()
    business = db_session.get(Business, tab.business_id)
    assert business is not None
    assert (business.plan, business.rating, business.review_count, business.verified_at) == ("free", 0.0, 0, None)
    assert business.id not in factories.plumbing_candidates(db_session)


def test_a_lead_cap_beyond_the_plan_and_a_radius_beyond_the_rules_are_refused(db_session: Session, owner: User) -> None:
    tab = _settings_tab(owner.id)  # type: ignore[arg-type]
    _call(tab, "load")
    _save(tab, monthly_lead_cap="10000", radius_miles="200")
    assert set(tab.errors) == {"monthly_lead_cap", "radius_miles"}, tab.errors
    assert tab.business_id == 0  # nothing was created


def test_only_admins_verify_and_change_plans(db_session: Session, owner: User) -> None:
    business = Business(owner_id=owner.id, name="Mine", zip="46032", latitude=39.97, longitude=-86.12)
    business.categories = ["plumbing"]
    db_session.add(business)
    db_session.commit()
    for attempt in (
        lambda: plans.verify_business(db_session, owner, business.id),  # type: ignore[arg-type]
        lambda: plans.set_plan(db_session, owner, business.id, "pro", "5000"),  # type: ignore[arg-type]
        lambda: plans.business_rows(db_session, owner, waiting_only=True),
    ):
        with pytest.raises(NotAllowed):
            attempt()
        with pytest.raises(NotLoggedIn):
            (lambda: plans.verify_business(db_session, None, business.id))()  # type: ignore[arg-type]
    db_session.rollback()
    admin = accounts.ensure_admin(db_session, "admin@example.com", PASSWORD)
    owner.email_verified_at = utcnow()
    db_session.add(owner)
    plans.set_plan(db_session, admin, business.id, "pro", "5000")  # type: ignore[arg-type]
    plans.verify_business(db_session, admin, business.id)  # type: ignore[arg-type]
    db_session.commit()
    db_session.expire_all()
    stored = db_session.get(Business, business.id)
    assert (stored.plan, stored.monthly_lead_cap, stored.verified_by_id) == ("pro", 5000, admin.id)  # type: ignore[union-attr]
    assert business.id in factories.plumbing_candidates(db_session)


def test_an_admin_probing_business_ids_in_the_address_sees_nothing_of_a_missing_one(
    db_session: Session, owner: User
) -> None:
    admin = accounts.ensure_admin(db_session, "admin@example.com", PASSWORD)
    db_session.commit()
    tab = _settings_tab(admin.id, "?business=987654")  # type: ignore[arg-type]
    tab.business_id, tab.values = 41, {"name": "left over from another business"}
    _call(tab, "load")
    assert (tab.denied, tab.loaded, tab.business_id, tab.values) == (True, False, 0, {})
