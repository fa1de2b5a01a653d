"""A tracking link turned into an account: the link's own request and nothing else, behind row-level security
too; a forged link, a request that already has an account, or an email that has one changes nothing."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from sqlmodel import select

from leadapp.core import links, rls
from leadapp.core.db import session_scope
from leadapp.core.errors import NotAllowed, UserError
from leadapp.core.models import AuthSession, Lead, User
from leadapp.core.services import access, accounts, follow, portal
from tests.conftest import WalledDatabase, clear_app_caches

PASSWORD = "a long enough password"


@pytest.fixture
def leads(walled_db: WalledDatabase, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    monkeypatch.setenv("SECRET_KEY", secrets.token_hex(16))
    monkeypatch.setenv("PASSWORD_HASH_MEMORY_KIB", "1024")
    monkeypatch.setenv("PASSWORD_HASH_TIME_COST", "1")
    clear_app_caches()
    with rls.system_context("test: seed"), session_scope() as s:
        owner = accounts.register(s, "taken@example.com", PASSWORD, "consumer")
        mine = Lead(raw_text="my sink leaks", zip="46032", contact_email="ann@example.com", contact_name="Ann Lee")
        other = Lead(raw_text="someone else's roof", zip="10001", contact_email="bob@example.com")
        owned = Lead(raw_text="already in an account", zip="46032", consumer_id=owner.id, contact_email="x@x.test")
        taken = Lead(raw_text="an email with an account", zip="46032", contact_email="taken@example.com")
        phone_only = Lead(raw_text="phone only request", zip="46032", contact_phone_last4="2200")
        s.add_all([mine, other, owned, taken, phone_only])
        s.flush()
        ids = {"mine": mine.id, "other": other.id, "owned": owned.id, "taken": taken.id, "phone_only": phone_only.id}
    yield ids  # type: ignore[misc]


def _claim(token: str, password: str = PASSWORD, email: str = "") -> follow.NewAccount:
    """As the tracking page does: an anonymous visitor holding only the link."""
    with session_scope(rls.ANONYMOUS_CONTEXT) as s:
        return follow.account_from_tracking_link(s, token, password, email=email, ip="198.51.100.7")


def _lead(lead_id: int) -> Lead:
    with rls.system_context("test: look"), session_scope() as s:
        lead = s.get(Lead, lead_id)
        assert lead is not None
        s.expunge(lead)
        return lead


def test_setting_a_password_makes_the_request_an_accounts_and_logs_in(leads: dict[str, int]):
    made = _claim(links.magic_token(leads["mine"]))
    assert _lead(leads["mine"]).consumer_id == made.user_id
    assert _lead(leads["other"]).consumer_id is None  # nothing but the link's own request
    with session_scope(rls.ANONYMOUS_CONTEXT) as s:
        user = accounts.user_for_token(s, made.session_token)
        assert user is not None and (user.email, user.role, user.full_name) == (
            "ann@example.com",
            "consumer",
            "Ann Lee",
        )
        access.enter(s, user)
        assert [row["lead"]["id"] for row in portal.consumer_leads(s, user)] == [str(leads["mine"])]
    # The same link again: the request has an account now, so it is refused (log in instead).
    with pytest.raises(UserError, match="already belongs to an account"):
        _claim(links.magic_token(leads["mine"]), email="again@example.com")


@pytest.mark.parametrize(
    ("which", "error", "message"),
    [
        ("forged", NotAllowed, "invalid or has expired"),
        ("owned", UserError, "already belongs"),
        ("taken", UserError, "already exists"),
        ("weak", UserError, "at least"),
        ("phone_only", UserError, "email address"),
    ],
)
def test_refusals_change_nothing(leads: dict[str, int], which: str, error: type[Exception], message: str):
    lead_id = leads.get(which, leads["mine"])
    token = links.magic_token(lead_id) + ("x" if which == "forged" else "")
    with rls.system_context("test: count"), session_scope() as s:
        before = (len(s.exec(select(User)).all()), len(s.exec(select(AuthSession)).all()))
    with pytest.raises(error, match=message):
        _claim(token, password="short" if which == "weak" else PASSWORD)
    with rls.system_context("test: count"), session_scope() as s:
        assert (len(s.exec(select(User)).all()), len(s.exec(select(AuthSession)).all())) == before
    assert _lead(lead_id).consumer_id == (None if which != "owned" else _lead(leads["owned"]).consumer_id)


def test_a_phone_only_request_takes_the_email_typed(leads: dict[str, int]):
    made = _claim(links.magic_token(leads["phone_only"]), email="Pat@Example.com")
    assert _lead(leads["phone_only"]).consumer_id == made.user_id
    with rls.system_context("test: look"), session_scope() as s:
        assert s.get(User, made.user_id).email == "pat@example.com"  # type: ignore[union-attr]
