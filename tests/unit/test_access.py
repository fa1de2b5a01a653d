"""The access layer: which role opens which area, and the errors for anonymous and forbidden users."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from leadapp.core.errors import NotAllowed
from leadapp.core.models import ContactMessage, User
from leadapp.core.services import access, contact
from leadapp.core.services.access import Area, NotLoggedIn


def _user(role: str, active: bool = True) -> User:
    return User(id=1, email=f"{role}@example.com", password_hash="x", role=role, is_active=active)


USERS: dict[str, User | None] = {
    "anonymous": None,
    "consumer": _user("consumer"),
    "business_owner": _user("business_owner"),
    "admin": _user("admin"),
    "disabled_admin": _user("admin", active=False),
    "disabled_consumer": _user("consumer", active=False),
}

# who → (PUBLIC, ACCOUNT, CONSUMER, BUSINESS, ADMIN)
EXPECTED: dict[str, tuple[bool, bool, bool, bool, bool]] = {
    "anonymous": (True, False, False, False, False),
    "consumer": (True, True, True, False, False),
    "business_owner": (True, True, False, True, False),
    "admin": (True, True, True, True, True),
    "disabled_admin": (True, False, False, False, False),
    "disabled_consumer": (True, False, False, False, False),
}
AREAS = (Area.PUBLIC, Area.ACCOUNT, Area.CONSUMER, Area.BUSINESS, Area.ADMIN)


def test_the_areas_are_exactly_these() -> None:
    assert tuple(Area) == AREAS


@pytest.mark.parametrize("who", list(EXPECTED))
def test_can_open_matrix(who: str) -> None:
    actual = tuple(access.can_open(USERS[who], area) for area in AREAS)
    assert actual == EXPECTED[who]


@pytest.mark.parametrize("who", list(EXPECTED))
@pytest.mark.parametrize("area", AREAS)
def test_require_area_agrees_with_can_open_and_picks_the_right_error(who: str, area: Area) -> None:
    user = USERS[who]
    allowed = EXPECTED[who][AREAS.index(area)]
    if allowed:
        assert access.require_area(user, area) is user
        return
    logged_in = user is not None and user.is_active
    expected_error = NotAllowed if logged_in else NotLoggedIn
    with pytest.raises(NotAllowed) as caught:
        access.require_area(user, area)
    assert type(caught.value) is expected_error
    assert caught.value.status_code == (403 if logged_in else 401)


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("anonymous", "/"),
        ("consumer", "/portal"),
        ("business_owner", "/dashboard"),
        ("admin", "/admin"),
        ("disabled_admin", "/"),
        ("disabled_consumer", "/"),
    ],
)
def test_home_path_per_role(who: str, path: str) -> None:
    assert access.home_path(USERS[who]) == path


def test_require_admin_returns_the_admin_and_refuses_everyone_else() -> None:
    admin = USERS["admin"]
    assert access.require_admin(admin) is admin
    for who in ("anonymous", "consumer", "business_owner", "disabled_admin"):
        with pytest.raises(NotAllowed):
            access.require_admin(USERS[who])


# --- the contact inbox is for admins only -------------------------------------------------------


def _stored_message(session: Session) -> int:
    message = contact.submit_message(
        session, name="Ann", email="ann@example.com", subject="Hi", body="Please call me back soon."
    )
    session.commit()
    return message.id  # type: ignore[return-value]


@pytest.mark.parametrize("who", ["anonymous", "consumer", "business_owner", "disabled_admin"])
def test_contact_inbox_refuses_non_admins(db_session: Session, who: str) -> None:
    message_id = _stored_message(db_session)
    with pytest.raises(NotAllowed):
        contact.list_messages(db_session, USERS[who])
    with pytest.raises(NotAllowed):
        contact.set_status(db_session, USERS[who], message_id, "read")
    db_session.rollback()
    stored = db_session.get(ContactMessage, message_id)
    assert stored is not None and stored.status == "new" and stored.read_at is None


def test_contact_inbox_works_for_an_admin(db_session: Session) -> None:
    first = _stored_message(db_session)
    second = _stored_message(db_session)
    admin = USERS["admin"]
    listed = contact.list_messages(db_session, admin)
    assert {m.id for m in listed} == {first, second}
    message = contact.set_status(db_session, admin, first, "read")
    assert message.status == "read" and message.read_at is not None and message.answered_at is None
    message = contact.set_status(db_session, admin, first, "answered")
    assert message.status == "answered" and message.answered_at is not None
    db_session.commit()
    assert [m.id for m in contact.list_messages(db_session, admin, status="new")] == [second]
    assert [m.id for m in contact.list_messages(db_session, admin, status="answered")] == [first]
