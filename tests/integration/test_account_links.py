"""Accounts a user runs alone (issue 10, item 6), on SQLite and PostgreSQL: "Forgot password?" (same answer
whether the address exists, throttled, the admin reset's single-use link), email verification at sign-up (no
leads for an unverified owner), a change of email that takes effect only once the new address is proven."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from leadapp.core.errors import TooManyAttempts, UserError
from leadapp.core.models import Business, EmailVerification, Notification, PasswordReset, User, utcnow
from leadapp.core.services import account_links, accounts, admin_users, plans
from leadapp.core.services.access import enter
from leadapp.core.settings import get_settings
from leadapp.core.vocab import NotificationKind
from tests import factories

PASSWORD = "a long enough password"


def _emails(s: Session, to: str, kind: NotificationKind) -> list[Notification]:
    rows = s.exec(select(Notification).where(Notification.kind == kind.value).order_by(col(Notification.id))).all()
    return [n for n in rows if n.recipient == to]


def _token(note: Notification, path: str) -> str:
    found = re.search(rf"/{path}/([A-Za-z0-9_-]+)", note.body_text)
    assert found, note.body_text
    return found.group(1)


def test_forgot_password_answers_the_same_and_mails_only_a_real_account(db_session: Session) -> None:
    s = db_session
    accounts.register(s, "ann@example.com", PASSWORD, "consumer")
    s.commit()
    known = account_links.request_password_reset(s, "Ann@Example.com", "10.0.0.1")
    unknown = account_links.request_password_reset(s, "nobody@example.com", "10.0.0.1")
    assert known == unknown == account_links.RESET_SENT
    s.expire_all()
    assert _emails(s, "nobody@example.com", NotificationKind.PASSWORD_RESET) == []
    [note] = _emails(s, "ann@example.com", NotificationKind.PASSWORD_RESET)
    token = _token(note, "reset-password")
    reset = s.exec(select(PasswordReset)).one()
    assert reset.token_hash == accounts.token_digest(token) and reset.requested_by_id is None
    user = admin_users.reset_password(s, token, "my brand new password")
    s.commit()
    assert accounts.verify_password(user.password_hash, "my brand new password")
    with pytest.raises(UserError) as caught:
        admin_users.reset_password(s, token, "yet another password!")
    assert caught.value.field == "token"


def test_forgot_password_is_throttled_per_email_and_ip_whether_or_not_the_email_exists(db_session: Session) -> None:
    s = db_session
    limit = get_settings().reset_requests_per_hour
    for _ in range(limit):
        account_links.request_password_reset(s, "nobody@example.com", "10.0.0.2")
    with pytest.raises(TooManyAttempts):
        account_links.request_password_reset(s, "nobody@example.com", "10.0.0.2")
    # Another address from elsewhere is not affected.
    assert account_links.request_password_reset(s, "nobody@example.com", "10.0.0.3") == account_links.RESET_SENT


def _owner_with_business(s: Session, email: str, *, verified_business: bool = True) -> tuple[User, Business]:
    owner = accounts.register(s, email, PASSWORD, "business_owner")
    business = Business(
        owner_id=owner.id,
        name=f"Biz {email}",
        zip="46032",
        latitude=39.97,
        longitude=-86.12,
        categories=["plumbing"],
        verified_at=utcnow() if verified_business else None,
    )
    s.add(business)
    s.commit()
    return owner, business


def test_a_business_gets_no_leads_until_its_owner_opens_the_link_and_an_admin_verifies_it(db_session: Session) -> None:
    s = db_session
    admin = accounts.ensure_admin(s, "admin@example.com", PASSWORD)
    owner, business = _owner_with_business(s, "pat@example.com", verified_business=False)
    enter(s, owner)
    notification_id = account_links.send_verification(s, owner)
    s.commit()
    enter(s, admin)
    with pytest.raises(UserError, match="not confirmed their email"):
        plans.verify_business(s, admin, business.id)  # type: ignore[arg-type]
    s.rollback()
    assert business.id not in factories.plumbing_candidates(s)
    note = s.get(Notification, notification_id)
    assert note is not None and note.recipient == "pat@example.com"
    verified = account_links.verify_email(s, _token(note, "verify-email"))
    s.commit()
    assert (verified.email, verified.changed) == ("pat@example.com", False)
    assert business.id not in factories.plumbing_candidates(s), "still waiting for the admins"
    plans.verify_business(s, admin, business.id)  # type: ignore[arg-type]
    s.commit()
    assert business.id in factories.plumbing_candidates(s)
    with pytest.raises(UserError) as caught:
        account_links.verify_email(s, _token(note, "verify-email"))
    assert caught.value.message == account_links.USED_VERIFY_LINK


def test_a_business_the_admins_did_not_verify_gets_no_leads(db_session: Session) -> None:
    s = db_session
    owner, business = _owner_with_business(s, "new@example.com", verified_business=False)
    owner.email_verified_at = utcnow()
    s.add(owner)
    s.commit()
    assert business.id not in factories.plumbing_candidates(s)


def test_an_expired_or_unknown_verification_link_is_refused(db_session: Session) -> None:
    s = db_session
    owner = accounts.register(s, "late@example.com", PASSWORD, "business_owner")
    note = s.get(Notification, account_links.send_verification(s, owner))
    s.commit()
    row = s.exec(select(EmailVerification)).one()
    row.expires_at = utcnow() - timedelta(minutes=1)
    s.add(row)
    s.commit()
    with pytest.raises(UserError) as caught:
        account_links.verify_email(s, _token(note, "verify-email"))  # type: ignore[arg-type]
    assert caught.value.message == account_links.EXPIRED_VERIFY_LINK
    with pytest.raises(UserError) as caught:
        account_links.verify_email(s, "made-up-token")
    assert caught.value.message == account_links.INVALID_VERIFY_LINK
    assert s.get(User, owner.id).email_verified_at is None  # type: ignore[union-attr]


def test_resend_is_for_unverified_accounts_and_limited(db_session: Session) -> None:
    s = db_session
    owner = accounts.register(s, "again@example.com", PASSWORD, "business_owner")
    s.commit()
    for _ in range(get_settings().verification_emails_per_hour):
        account_links.resend_verification(s, owner)
    with pytest.raises(TooManyAttempts):
        account_links.resend_verification(s, owner)
    s.commit()
    links = s.exec(select(EmailVerification).where(col(EmailVerification.used_at).is_(None))).all()
    assert len(links) == 1, "a newer link cancels the older ones"


def test_a_change_of_email_takes_effect_only_when_the_new_address_is_proven(db_session: Session) -> None:
    s = db_session
    owner, business = _owner_with_business(s, "old@example.com")
    owner.email_verified_at = utcnow()
    s.add(owner)
    s.commit()
    with pytest.raises(UserError) as caught:
        account_links.request_email_change(s, owner, "new@example.com", "not my password")
    assert caught.value.field == "password"
    accounts.register(s, "taken@example.com", PASSWORD, "consumer")
    with pytest.raises(UserError) as caught:
        account_links.request_email_change(s, owner, "taken@example.com", PASSWORD)
    assert caught.value.field == "email"
    note = s.get(Notification, account_links.request_email_change(s, owner, "New@Example.com", PASSWORD))
    s.commit()
    assert note is not None and note.recipient == "new@example.com"
    s.refresh(owner)
    assert owner.email == "old@example.com" and owner.email_verified_at is not None  # nothing changed yet
    account_links.verify_email(s, _token(note, "verify-email"))
    s.commit()
    s.refresh(owner)
    assert owner.email == "new@example.com" and owner.email_verified_at is not None
    assert business.id in factories.plumbing_candidates(s)
    user = accounts.login(s, "new@example.com", PASSWORD)[0]
    assert user.id == owner.id


def test_a_one_time_link_is_spent_by_one_request_only(db_session: Session) -> None:
    """Two clicks racing past the "unused?" check: only the first UPDATE spends the link; the other is told none
    was (and then refuses), and the first use's time stands."""
    s = db_session
    user = accounts.register(s, "race@example.com", PASSWORD, "consumer")
    s.commit()
    admin_users.issue_reset(s, user, None)
    reset = s.exec(select(PasswordReset).where(PasswordReset.user_id == user.id)).one()
    mine = col(PasswordReset.id) == reset.id
    assert accounts.use_up_links(s, PasswordReset, mine) == 1
    s.commit()
    s.refresh(reset)
    first_use = reset.used_at
    assert first_use is not None
    assert accounts.use_up_links(s, PasswordReset, mine) == 0
    s.commit()
    s.refresh(reset)
    assert reset.used_at == first_use
