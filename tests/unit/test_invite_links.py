"""The public side of business invitations, through the page handlers and the API, on SQLite and PostgreSQL:
the unsubscribe page (open → confirm), the sign-up link's click, sign-up with `invite=` (activation), the
RFC 8058 one-click POST, and the List-Unsubscribe headers the email providers pass on. A forged or
altered link is refused with a clear message and writes nothing. (Links carry no expiry by design — see
leadapp.core.services.discovery — so "expired" here means signed under another SECRET_KEY.)"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import reflex as rx
from reflex.istate.data import ReflexURL, RouterData
from rq.job import Job
from sqlmodel import Session, func, select
from starlette.testclient import TestClient

from leadapp.core import links
from leadapp.core.broker import get_redis
from leadapp.core.models import AuditEvent, Invitation, Notification, Prospect, User
from leadapp.core.providers import email as email_provider
from leadapp.core.services import accounts, discovery
from leadapp.core.settings import get_settings
from leadapp.pages.auth import RegisterState
from leadapp.pages.public.unsubscribe import INVALID_MESSAGE, InviteLinkState, UnsubscribeState
from tests.conftest import clear_app_caches
from tests.fakes.sendgrid_api import FakeSendGrid
from tests.fakes.sendgrid_api import fake_sendgrid as fake_sendgrid  # the fixture
from tests.fakes.smtp_server import FakeSmtp
from tests.fakes.smtp_server import fake_smtp as fake_smtp  # the fixture

PASSWORD = "a long enough password"
ORIGIN = "http://localhost:3000"


@dataclass
class Invited:
    admin: User
    prospect_id: int
    invitation_id: int
    token: str


@pytest.fixture
def invited(db_session: Session) -> Iterator[Invited]:
    """A Carmel plumber from the local directory, invited by an admin (email queued, follow-ups scheduled)."""
    s = db_session
    admin = accounts.ensure_admin(s, "admin@example.com", PASSWORD)
    s.commit()
    prospect = next(p for p in discovery.discover(s, admin, "46032", "plumbing") if p.name == "Carmel Rooter Pros")
    s.commit()
    invitation = discovery.invite(s, admin, prospect.id, "pat@rooter.example.com")  # type: ignore[arg-type]
    assert prospect.id is not None and invitation.id is not None
    yield Invited(admin, prospect.id, invitation.id, links.invitation_token(invitation))
    # RQ keys are not under the test's key prefix: delete the jobs this invitation created.
    s.rollback()
    ids = [f"notify-{n}" for n in s.exec(select(Notification.id)).all()]
    ids += [f"invitation-{invitation.id}-followup-{n}" for n in discovery.FOLLOWUP_DAYS]
    for job in Job.fetch_many(ids, connection=get_redis()):
        if job is not None:
            job.delete()


def tampered(token: str) -> str:
    """The same invitation id with one character of the signature changed."""
    last = token[-1]
    return token[:-1] + ("A" if last != "A" else "B")


def signed_under_another_key(s: Session, invited: Invited, monkeypatch: pytest.MonkeyPatch) -> str:
    invitation = s.get(Invitation, invited.invitation_id)
    current = get_settings().secret_key
    monkeypatch.setenv("SECRET_KEY", "an-older-secret-key-0123456789")
    clear_app_caches()
    token = links.invitation_token(invitation)  # type: ignore[arg-type]
    monkeypatch.setenv("SECRET_KEY", current)  # back to the test deployment's key
    clear_app_caches()
    return token


def snapshot(s: Session, invited: Invited) -> tuple:
    """Everything a link may change: the invitation's stamps, the prospect's status, the audit trail size."""
    s.expire_all()
    invitation = s.get(Invitation, invited.invitation_id)
    prospect = s.get(Prospect, invited.prospect_id)
    assert invitation is not None and prospect is not None
    audits = s.exec(select(func.count()).select_from(AuditEvent)).one()
    return (
        invitation.clicked_at,
        invitation.activated_at,
        invitation.unsubscribed_at,
        invitation.stopped_reason,
        prospect.status,
        audits,
    )


def state_at(state_cls: type, url: str, user: User | None = None, s: Session | None = None):
    """A page state of a tab at `url` (as Reflex fills the router), optionally logged in."""
    root = rx.State(_reflex_internal_init=True)
    root.router = RouterData(url=ReflexURL(ORIGIN + url))
    state = root.get_substate(state_cls.get_full_name().split(".")[1:])
    if user is not None and s is not None:
        state.session_token = accounts.open_session(s, user)
        s.commit()
    return state


# --- the unsubscribe page ---------------------------------------------------------------------------


def test_the_unsubscribe_page_asks_then_unsubscribes_and_follow_ups_stop(db_session: Session, invited: Invited):
    s = db_session
    state = state_at(UnsubscribeState, f"/unsubscribe/{invited.token}")
    UnsubscribeState.open.fn(state)
    assert (state.unsubscribe_status, state.business_name, state.masked_email) == (
        "ready",
        "Carmel Rooter Pros",
        "p•••@rooter.example.com",
    )
    assert snapshot(s, invited)[2] is None  # opening the page (or a link scanner) unsubscribes nobody

    UnsubscribeState.confirm.fn(state)
    assert state.unsubscribe_status == "done"
    *_, unsubscribed, stopped, status, _ = snapshot(s, invited)
    assert unsubscribed is not None and (stopped, status) == ("unsubscribed", "unsubscribed")
    assert discovery.invitation_followup(invited.invitation_id, 1) == "stopped:unsubscribed"
    assert s.exec(select(Notification).where(Notification.dedupe_key.endswith(":followup:1"))).first() is None  # type: ignore[union-attr]

    again = state_at(UnsubscribeState, f"/unsubscribe/{invited.token}/")
    UnsubscribeState.open.fn(again)
    assert again.unsubscribe_status == "done"


@pytest.mark.parametrize("link", ["tampered", "other_key", "garbage", "empty"])
def test_a_forged_unsubscribe_link_is_refused_and_writes_nothing(
    db_session: Session, invited: Invited, monkeypatch: pytest.MonkeyPatch, link: str
):
    s = db_session
    token = {
        "tampered": tampered(invited.token),
        "other_key": "",
        "garbage": "not-a-token",
        "empty": "",
    }[link]
    if link == "other_key":
        token = signed_under_another_key(s, invited, monkeypatch)
    assert token != invited.token
    before = snapshot(s, invited)
    state = state_at(UnsubscribeState, f"/unsubscribe/{token}")
    UnsubscribeState.open.fn(state)
    assert (state.unsubscribe_status, state.business_name, state.masked_email) == ("invalid", "", "")
    assert "not valid" in INVALID_MESSAGE  # what the page shows for "invalid"
    UnsubscribeState.confirm.fn(state)  # the button is not shown; a crafted event must not help either
    assert state.unsubscribe_status == "invalid"
    assert snapshot(s, invited) == before
    assert discovery.invitation_followup(invited.invitation_id, 1) == "sent"  # still invited: follow-ups go on


# --- the sign-up link ---------------------------------------------------------------------------------


def test_opening_the_sign_up_link_records_one_click(db_session: Session, invited: Invited):
    s = db_session
    state = state_at(InviteLinkState, f"/register?role=business_owner&invite={invited.token}")
    InviteLinkState.record_click.fn(state)
    clicked, activated, unsubscribed, _, status, _ = snapshot(s, invited)
    assert clicked is not None and (activated, unsubscribed, status) == (None, None, "clicked")
    InviteLinkState.record_click.fn(state)  # a reload keeps the first time
    assert snapshot(s, invited)[0] == clicked
    total = discovery.funnel_total(s, invited.admin, "46032", "plumbing")
    assert (total.invited, total.clicked, total.activated) == (1, 1, 0)


@pytest.mark.parametrize("query", ["invite=TAMPERED", "invite=not-a-token", ""])
def test_a_forged_or_missing_invite_records_nothing(db_session: Session, invited: Invited, query: str):
    s = db_session
    query = query.replace("TAMPERED", tampered(invited.token))
    before = snapshot(s, invited)
    state = state_at(InviteLinkState, f"/register?role=business_owner&{query}")
    InviteLinkState.record_click.fn(state)  # never fails the sign-up page
    assert snapshot(s, invited) == before


def register_form(email: str) -> dict[str, str]:
    return {
        "email": email,
        "password": PASSWORD,
        "password_confirm": PASSWORD,
        "role": "business_owner",
        "full_name": "Pat Rooter",
    }


def test_signing_up_through_the_invitation_activates_the_prospect(db_session: Session, invited: Invited):
    s = db_session
    url = f"/register?role=business_owner&invite={invited.token}"
    InviteLinkState.record_click.fn(state_at(InviteLinkState, url))
    state = state_at(RegisterState, url)
    assert state.default_role == "business_owner"
    redirect = RegisterState.submit.fn(state, register_form("pat.owner@rooter.example.com"))
    assert state.errors == {} and state.session_token and "/dashboard" in str(redirect)
    user = s.exec(select(User).where(User.email == "pat.owner@rooter.example.com")).one()
    clicked, activated, _, stopped, status, _ = snapshot(s, invited)
    assert clicked is not None and activated is not None and (stopped, status) == ("activated", "activated")
    event = s.exec(select(AuditEvent).where(AuditEvent.action == "invitation.activate")).one()
    assert event.actor_id == user.id
    assert discovery.invitation_followup(invited.invitation_id, 1) == "stopped:activated"
    total = discovery.funnel_total(s, invited.admin, "46032", "plumbing")
    assert (total.invited, total.clicked, total.activated) == (1, 1, 1)


def test_signing_up_with_a_forged_invite_creates_the_account_but_activates_nothing(
    db_session: Session, invited: Invited
):
    s = db_session
    before = snapshot(s, invited)
    state = state_at(RegisterState, f"/register?role=business_owner&invite={tampered(invited.token)}")
    RegisterState.submit.fn(state, register_form("someone@else.example.com"))
    assert state.errors == {} and state.session_token
    assert s.exec(select(User).where(User.email == "someone@else.example.com")).first() is not None
    assert snapshot(s, invited)[:5] == before[:5]
    assert s.exec(select(AuditEvent).where(AuditEvent.action == "invitation.activate")).first() is None


# --- RFC 8058 one-click unsubscribe -------------------------------------------------------------------


@pytest.fixture
def api_client(app_env: dict[str, str]) -> Iterator[TestClient]:
    from leadapp.api.app import api

    with TestClient(api, raise_server_exceptions=False) as client:
        yield client


def test_a_one_click_post_unsubscribes_at_once(db_session: Session, invited: Invited, api_client: TestClient):
    s = db_session
    headers = links.list_unsubscribe_headers(invited.token)
    assert headers == {
        "List-Unsubscribe": f"<{get_settings().app_url.rstrip('/')}/api/v1/unsubscribe/{invited.token}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    url = headers["List-Unsubscribe"].strip("<>").removeprefix(get_settings().app_url.rstrip("/"))
    assert api_client.get(url).status_code == 405  # a link scanner's GET does nothing
    assert snapshot(s, invited)[2] is None

    body = {"List-Unsubscribe": "One-Click"}  # what a mail client POSTs (form-encoded, no cookie)
    response = api_client.post(url, data=body)
    assert (response.status_code, response.json()) == (200, {"status": "unsubscribed"})
    assert api_client.post(url, data=body).status_code == 200  # twice is fine
    _, _, unsubscribed, stopped, status, _ = snapshot(s, invited)
    assert unsubscribed is not None and (stopped, status) == ("unsubscribed", "unsubscribed")
    assert discovery.invitation_followup(invited.invitation_id, 1) == "stopped:unsubscribed"


def test_a_one_click_post_with_a_forged_token_is_a_404_and_writes_nothing(
    db_session: Session, invited: Invited, api_client: TestClient
):
    before = snapshot(db_session, invited)
    response = api_client.post(f"/api/v1/unsubscribe/{tampered(invited.token)}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 404
    assert response.json() == {"error": "invalid_link", "message": "This unsubscribe link is not valid."}
    assert snapshot(db_session, invited) == before


HEADERS = {
    "List-Unsubscribe": "<https://leads.example.test/api/v1/unsubscribe/1.abc>",
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
}


def test_sendgrid_passes_the_unsubscribe_headers(
    app_env: dict[str, str], fake_sendgrid: FakeSendGrid, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("SENDGRID_API_KEY", fake_sendgrid.api_key)
    monkeypatch.setenv("SENDGRID_HOST", fake_sendgrid.url)
    monkeypatch.setenv("SMTP_HOST", "")
    get_settings.cache_clear()
    result = email_provider.send_email("pat@rooter.example.com", "Hello", "Text body", "<p>Html</p>", HEADERS)
    assert result.provider == "sendgrid"
    (request,) = fake_sendgrid.requests
    assert request["json"]["headers"] == HEADERS


def test_smtp_passes_the_unsubscribe_headers(
    app_env: dict[str, str], fake_smtp: FakeSmtp, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("SENDGRID_API_KEY", "")
    monkeypatch.setenv("SMTP_HOST", fake_smtp.host)
    monkeypatch.setenv("SMTP_PORT", str(fake_smtp.port))
    monkeypatch.setenv("SMTP_USE_TLS", "false")
    monkeypatch.setenv("SMTP_USERNAME", "")
    get_settings.cache_clear()
    result = email_provider.send_email("pat@rooter.example.com", "Hello", "Text body", "<p>Html</p>", HEADERS)
    assert result.provider == "smtp"
    (mail,) = fake_smtp.messages
    assert {name: mail.message[name] for name in HEADERS} == HEADERS


def test_the_invitation_email_itself_carries_the_one_click_headers(
    db_session: Session, invited: Invited, fake_sendgrid: FakeSendGrid, monkeypatch: pytest.MonkeyPatch
):
    from leadapp.core.services import notify

    monkeypatch.setenv("SENDGRID_API_KEY", fake_sendgrid.api_key)
    monkeypatch.setenv("SENDGRID_HOST", fake_sendgrid.url)
    monkeypatch.setenv("SMTP_HOST", "")
    get_settings.cache_clear()
    s = db_session
    s.commit()
    email = s.exec(
        select(Notification).where(Notification.dedupe_key == f"invitation:{invited.invitation_id}:initial")
    ).one()
    assert notify.send_notification(email.id) == "sent"  # type: ignore[arg-type]
    (request,) = fake_sendgrid.requests
    assert request["json"]["headers"] == links.list_unsubscribe_headers(invited.token)
