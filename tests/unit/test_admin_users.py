"""Admin work on users, on SQLite and PostgreSQL: search and paging, role changes (never the last admin,
sessions revoked at once), enable/disable through `accounts.set_active`, password reset links (hashed,
single-use, 24 h), a user's overview, the audit trail, and every function refused to non-admins."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, func, select

from leadapp.core.errors import NotAllowed, NotFound, UserError
from leadapp.core.models import AuditEvent, AuthSession, Business, Lead, Notification, PasswordReset, User, utcnow
from leadapp.core.services import accounts, admin_users
from leadapp.core.services.access import NotLoggedIn
from leadapp.core.settings import get_settings
from leadapp.core.tasks import NOTIFICATIONS, queue
from tests import factories

PASSWORD = factories.PASSWORD
NEW_PASSWORD = "another long password"


@dataclass
class World(factories.People):
    business: Business


@pytest.fixture
def world(db_session: Session) -> World:
    """`factories.people` (the consumer and owner named Casey Consumer and Pat Plumber) and the owner's business."""
    s = db_session
    cast = factories.people(s)
    cast.consumer.full_name, cast.owner.full_name = "Casey Consumer", "Pat Plumber"
    business = factories.business(s, cast.owner, "Carmel Plumbing", city="Carmel", plan="free")
    s.commit()
    return World(**vars(cast), business=business)


def audit_events(s: Session, action: str) -> list[AuditEvent]:
    return list(s.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all())


def count(s: Session, model: Any) -> int:
    return s.exec(select(func.count()).select_from(model)).one()


def token_of(notification: Notification) -> str:
    found = re.search(r"/reset-password/([A-Za-z0-9_-]+)", notification.body_text)
    assert found, notification.body_text
    return found.group(1)


# --- refusals -------------------------------------------------------------------------------------


ADMIN_CALLS: dict[str, Callable[[Session, User | None, World], object]] = {
    "list_users": lambda s, actor, w: admin_users.list_users(s, actor),
    "list_users_search": lambda s, actor, w: admin_users.list_users(s, actor, search="casey", role="consumer"),
    "change_role": lambda s, actor, w: admin_users.change_role(s, actor, w.consumer.id, "admin"),
    "set_active": lambda s, actor, w: accounts.set_active(s, actor, w.consumer.id, False),
    "send_password_reset": lambda s, actor, w: admin_users.send_password_reset(s, actor, w.consumer.id),
    "user_overview": lambda s, actor, w: admin_users.user_overview(s, actor, w.consumer.id),
}


@pytest.mark.parametrize("who", ["anonymous", "consumer", "business_owner", "disabled_admin"])
@pytest.mark.parametrize("call", sorted(ADMIN_CALLS))
def test_non_admins_are_refused_every_function_and_nothing_changes(
    world: World, db_session: Session, who: str, call: str
):
    s = db_session
    actors = {"consumer": world.consumer, "business_owner": world.owner, "disabled_admin": world.disabled_admin}
    actor: User | None = actors.get(who)
    audits, resets, notes = count(s, AuditEvent), count(s, PasswordReset), count(s, Notification)
    expected = NotLoggedIn if who in ("anonymous", "disabled_admin") else NotAllowed
    with pytest.raises(expected):
        ADMIN_CALLS[call](s, actor, world)
    s.rollback()
    s.expire_all()
    consumer = s.get(User, world.consumer.id)
    assert consumer.role == "consumer" and consumer.is_active
    assert (count(s, AuditEvent), count(s, PasswordReset), count(s, Notification)) == (audits, resets, notes)


# --- listing --------------------------------------------------------------------------------------


def test_search_is_case_insensitive_on_email_and_name_and_role_filters(world: World, db_session: Session):
    s = db_session
    rows, total = admin_users.list_users(s, world.admin, search="CASEY")
    assert total == 1 and [r["email"] for r in rows] == ["casey@example.com"]
    rows, total = admin_users.list_users(s, world.admin, search="plumber")  # the name, not the email
    assert total == 1 and rows[0]["email"] == "pat@example.com" and rows[0]["role_label"] == "Business owner"
    rows, total = admin_users.list_users(s, world.admin, role="business_owner")
    assert total == 1 and rows[0]["id"] == str(world.owner.id)
    rows, total = admin_users.list_users(s, world.admin, search="%")  # wildcards are taken literally
    assert (rows, total) == ([], 0)
    assert admin_users.list_users(s, world.admin)[1] == 4  # the disabled admin is listed too
    with pytest.raises(UserError) as caught:
        admin_users.list_users(s, world.admin, role="superuser")
    assert caught.value.field == "role"


def test_paging_is_done_in_sql_and_never_returns_more_than_100_rows(world: World, db_session: Session):
    s = db_session
    s.add_all(User(email=f"bulk{i:03d}@example.com", password_hash="x", full_name=f"Bulk {i}") for i in range(120))
    s.commit()
    rows, total = admin_users.list_users(s, world.admin, search="bulk", page=1, page_size=1000)
    assert total == 120 and len(rows) == 100
    first, _ = admin_users.list_users(s, world.admin, search="bulk", page=1)
    second, _ = admin_users.list_users(s, world.admin, search="bulk", page=2)
    last, _ = admin_users.list_users(s, world.admin, search="bulk", page=5)
    assert len(first) == len(second) == 25 and len(last) == 20
    assert not {r["id"] for r in first} & {r["id"] for r in second}
    everything = [
        r["id"] for p in range(1, 6) for r in admin_users.list_users(s, world.admin, search="bulk", page=p)[0]
    ]
    assert len(set(everything)) == 120


# --- roles ----------------------------------------------------------------------------------------


def test_role_change_applies_at_once_revokes_sessions_and_is_audited(world: World, db_session: Session, published):
    s = db_session
    token = accounts.open_session(s, world.consumer)
    other = accounts.open_session(s, world.consumer)
    s.commit()
    published()
    admin_users.change_role(s, world.admin, world.consumer.id, "business_owner")
    s.commit()
    s.expire_all()
    assert s.get(User, world.consumer.id).role == "business_owner"
    assert accounts.user_for_token(s, token) is None and accounts.user_for_token(s, other) is None
    assert all(
        a.revoked_at is not None for a in s.exec(select(AuthSession).where(AuthSession.user_id == world.consumer.id))
    )
    assert {"kind": "user_revoked", "user_id": world.consumer.id} in published()
    [event] = audit_events(s, "user.role_change")
    assert event.actor_id == world.admin.id
    assert (event.target_type, event.target_id) == ("users", str(world.consumer.id))
    assert event.before == {"role": "consumer"}
    assert event.after == {"role": "business_owner", "sessions_revoked": 2}
    # Logging in again gives the new role.
    user, _ = accounts.login(s, "casey@example.com", PASSWORD)
    assert user.role == "business_owner"


def test_choosing_the_same_role_changes_and_records_nothing(world: World, db_session: Session):
    s = db_session
    token = accounts.open_session(s, world.consumer)
    s.commit()
    admin_users.change_role(s, world.admin, world.consumer.id, "consumer")
    s.commit()
    assert accounts.user_for_token(s, token) is not None
    assert audit_events(s, "user.role_change") == []


def test_unknown_role_and_unknown_user_are_refused(world: World, db_session: Session):
    with pytest.raises(UserError) as caught:
        admin_users.change_role(db_session, world.admin, world.consumer.id, "root")
    assert caught.value.field == "role"
    with pytest.raises(NotFound):
        admin_users.change_role(db_session, world.admin, 999_999, "admin")
    with pytest.raises(NotFound):
        admin_users.user_overview(db_session, world.admin, 999_999)


def test_the_last_active_admin_can_be_neither_demoted_nor_disabled(world: World, db_session: Session):
    s = db_session
    with pytest.raises(UserError, match="last active admin"):
        admin_users.change_role(s, world.admin, world.admin.id, "consumer")
    with pytest.raises(UserError, match="last active admin"):
        accounts.set_active(s, world.admin, world.admin.id, False)
    s.rollback()
    # A disabled admin does not count as a second one.
    second = world.disabled_admin
    with pytest.raises(UserError, match="last active admin"):
        admin_users.change_role(s, world.admin, world.admin.id, "consumer")
    s.rollback()
    # With another active admin, one of them may go; then the other is the last one again.
    accounts.set_active(s, world.admin, second.id, True)
    admin_users.change_role(s, world.admin, world.consumer.id, "admin")
    s.commit()
    admin_users.change_role(s, world.consumer, world.admin.id, "consumer")
    s.commit()
    assert s.get(User, world.admin.id).role == "consumer"
    admin_users.change_role(s, world.consumer, second.id, "consumer")
    s.commit()
    with pytest.raises(UserError, match="last active admin"):
        admin_users.change_role(s, world.consumer, world.consumer.id, "business_owner")
    s.rollback()
    assert s.get(User, world.consumer.id).role == "admin"


def test_enable_and_disable_go_through_accounts_and_are_audited(world: World, db_session: Session, published):
    s = db_session
    token = accounts.open_session(s, world.owner)
    s.commit()
    published()
    accounts.set_active(s, world.admin, world.owner.id, False)
    s.commit()
    assert accounts.user_for_token(s, token) is None
    assert {"kind": "user_revoked", "user_id": world.owner.id} in published()
    accounts.set_active(s, world.admin, world.owner.id, True)
    s.commit()
    [off] = [e for e in audit_events(s, "user.disable") if e.target_id == str(world.owner.id)]
    [on] = audit_events(s, "user.enable")
    assert (off.before, off.after, off.actor_id) == ({"is_active": True}, {"is_active": False}, world.admin.id)
    assert (on.before, on.after) == ({"is_active": False}, {"is_active": True})
    assert admin_users.list_users(s, world.admin, search="pat")[0][0]["active"] == "yes"


# --- password resets ------------------------------------------------------------------------------


def test_a_reset_link_is_emailed_hashed_and_valid_for_24_hours(world: World, db_session: Session, monkeypatch):
    monkeypatch.setenv("APP_URL", "https://leads.example.com")
    get_settings.cache_clear()
    s = db_session
    before = utcnow()
    note = admin_users.send_password_reset(s, world.admin, world.consumer.id)
    s.expire_all()
    note = s.get(Notification, note.id)
    assert (note.kind, note.channel, note.recipient, note.status) == (
        "password_reset",
        "email",
        "casey@example.com",
        "pending",
    )
    assert note.user_id == world.consumer.id
    token = token_of(note)
    assert f"https://leads.example.com/reset-password/{token}" in note.body_text
    assert f'href="https://leads.example.com/reset-password/{token}"' in note.body_html
    [reset] = s.exec(select(PasswordReset)).all()
    assert reset.token_hash == accounts.token_digest(token) and token not in reset.token_hash
    assert reset.requested_by_id == world.admin.id and reset.used_at is None
    assert timedelta(hours=23, minutes=59) < reset.expires_at - before <= timedelta(hours=24, minutes=1)
    [event] = audit_events(s, "user.password_reset_sent")
    assert event.actor_id == world.admin.id and event.target_id == str(world.consumer.id)
    assert event.before == {"open_reset_links": 0}
    assert event.after["reset_id"] == reset.id and event.after["notification_id"] == note.id
    # Committed, then its send job was enqueued with the notification's own job id.
    assert queue(NOTIFICATIONS).fetch_job(f"notify-{note.id}") is not None
    # The old password still works until the link is used.
    assert accounts.login(s, "casey@example.com", PASSWORD)[0].id == world.consumer.id


def test_a_reset_link_works_once_and_ends_every_session(world: World, db_session: Session, published):
    s = db_session
    old_session = accounts.open_session(s, world.consumer)
    s.commit()
    token = token_of(admin_users.send_password_reset(s, world.admin, world.consumer.id))
    assert admin_users.reset_token_problem(s, token) == ""
    published()
    user = admin_users.reset_password(s, token, NEW_PASSWORD)
    s.commit()
    assert user.id == world.consumer.id
    assert accounts.user_for_token(s, old_session) is None
    assert {"kind": "user_revoked", "user_id": world.consumer.id} in published()
    with pytest.raises(UserError):
        accounts.login(s, "casey@example.com", PASSWORD)
    assert accounts.login(s, "casey@example.com", NEW_PASSWORD)[0].id == world.consumer.id
    s.commit()
    [event] = audit_events(s, "user.password_reset")
    assert event.actor_id == world.consumer.id
    assert event.before["used"] is False and event.after["used"] is True and event.after["sessions_revoked"] == 1
    # A second use is refused, and changes nothing.
    assert admin_users.reset_token_problem(s, token) == admin_users.USED_LINK
    with pytest.raises(UserError) as caught:
        admin_users.reset_password(s, token, "yet another long password")
    assert (caught.value.field, caught.value.message) == ("token", admin_users.USED_LINK)
    s.rollback()
    assert accounts.login(s, "casey@example.com", NEW_PASSWORD)[0].id == world.consumer.id


def test_expired_unknown_and_replaced_links_are_refused_with_a_clear_reason(world: World, db_session: Session):
    s = db_session
    first = token_of(admin_users.send_password_reset(s, world.admin, world.consumer.id))
    second = token_of(admin_users.send_password_reset(s, world.admin, world.consumer.id))
    assert audit_events(s, "user.password_reset_sent")[1].before == {"open_reset_links": 1}
    assert admin_users.reset_token_problem(s, first) == admin_users.USED_LINK  # replaced by the newer link
    assert admin_users.reset_token_problem(s, "no-such-token") == admin_users.INVALID_LINK
    assert admin_users.reset_token_problem(s, "") == admin_users.INVALID_LINK
    reset = s.exec(select(PasswordReset).where(PasswordReset.token_hash == accounts.token_digest(second))).one()
    reset.expires_at = utcnow() - timedelta(seconds=1)
    s.add(reset)
    s.commit()
    for token, message in [
        (second, admin_users.EXPIRED_LINK),
        (first, admin_users.USED_LINK),
        ("no-such-token", admin_users.INVALID_LINK),
    ]:
        with pytest.raises(UserError) as caught:
            admin_users.reset_password(s, token, NEW_PASSWORD)
        assert (caught.value.field, caught.value.message) == ("token", message)
        s.rollback()
    assert accounts.login(s, "casey@example.com", PASSWORD)[0].id == world.consumer.id


def test_a_weak_password_is_refused_and_the_link_keeps_working(world: World, db_session: Session):
    s = db_session
    token = token_of(admin_users.send_password_reset(s, world.admin, world.consumer.id))
    with pytest.raises(UserError) as caught:
        admin_users.reset_password(s, token, "short")
    assert caught.value.field == "password"
    s.rollback()
    assert admin_users.reset_token_problem(s, token) == ""
    admin_users.reset_password(s, token, NEW_PASSWORD)
    s.commit()
    assert accounts.login(s, "casey@example.com", NEW_PASSWORD)[0].id == world.consumer.id


# --- overview -------------------------------------------------------------------------------------


def test_overview_shows_the_users_requests_and_business_but_no_deleted_request(world: World, db_session: Session):
    s = db_session
    kept = Lead(consumer_id=world.consumer.id, raw_text="Leaking faucet in the kitchen", zip="46032", status="matched")
    gone = Lead(consumer_id=world.consumer.id, raw_text="Deleted request", zip="46032", deleted_at=utcnow())
    other = Lead(consumer_id=world.owner.id, raw_text="Someone else's request", zip="46032")
    s.add_all([kept, gone, other])
    s.commit()
    overview = admin_users.user_overview(s, world.admin, world.consumer.id)
    assert overview["user"]["email"] == "casey@example.com" and overview["user"]["role"] == "consumer"
    assert [lead["id"] for lead in overview["leads"]] == [str(kept.id)]
    assert overview["leads"][0]["status"] == "matched"
    assert overview["businesses"] == []
    owner = admin_users.user_overview(s, world.admin, world.owner.id)
    assert [b["name"] for b in owner["businesses"]] == ["Carmel Plumbing"]
    assert owner["businesses"][0]["active"] == "yes"
