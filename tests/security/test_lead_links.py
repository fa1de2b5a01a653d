"""Attacks on the links that open one lead (issue 12, item 2).

- A lead's own page (`/dashboard/leads/<id>`) opens for the business it was matched to; to another business
  owner, a missing id, a malformed one and another business's lead give the very same refusal (nothing in what
  the browser receives tells them apart), and nothing of the lead reaches that browser.
- The log-in page follows `next` only to a path on this site: the open-redirect tricks browsers fall for
  (`//host`, `/\\host`, a tab or newline inside `//host`, a scheme) land on the role's home instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
import reflex as rx
from reflex.istate.data import ReflexURL, RouterData
from sqlmodel import Session, select

from leadapp.core.models import Match
from leadapp.core.services import accounts, intake
from leadapp.core.services.pipeline import process_lead
from leadapp.pages.auth import LoginState, safe_next
from tests import factories
from tests.background_state import Background
from tests.security.owner_tab import OwnerTab

PASSWORD = "a long enough password"
MARKER = "kq12leak"


@dataclass
class World:
    owner_id: int
    rival_id: int
    lead_id: int
    match_id: int


def _business(s: Session, email: str, name: str, zip_code: str, lat: float, lon: float) -> int:
    owner = accounts.register(s, email, PASSWORD, "business_owner")
    factories.business_in(s, owner, name, zip_code, lat, lon, notify_email=email, notify_channels=["email"])
    s.commit()
    return owner.id  # type: ignore[return-value]


def _filed(s: Session, text: str, email: str, client_ip: str, consumer_id: int | None = None) -> int:
    """The id of a request filed through intake from 46032 (committed, not yet classified)."""
    accepted = intake.submit(
        s, intake.Submission(text=text, zip="46032", email=email, client_ip=client_ip, consumer_id=consumer_id)
    )
    s.commit()
    return accepted.lead_id


@pytest.fixture
def world(db_session: Session, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setattr("leadapp.core.services.notify.send_batch", lambda ids: {})
    owner_id = _business(db_session, "owner-q12@example.com", "Carmel Plumbing Q12", "46032", 39.97, -86.12)
    rival_id = _business(db_session, "rival-q12@example.com", "Midtown Plumbing Q12", "10001", 40.75, -73.99)
    lead_id = _filed(
        db_session,
        f"My water heater is leaking all over the garage floor, need a plumber today, budget $500 {MARKER}",
        "casey.q12@example.com",
        "198.51.100.12",
    )
    assert process_lead(lead_id) == "matched"
    match = db_session.exec(select(Match).where(Match.lead_id == lead_id)).one()
    return World(owner_id, rival_id, lead_id, match.id)  # type: ignore[arg-type]


def _open(user_id: int, path: str) -> OwnerTab:
    tab = OwnerTab(user_id)
    tab.root.router = RouterData(url=ReflexURL(f"http://localhost:3000{path}"))
    tab.run("open_lead")
    return tab


def _seen(tab: OwnerTab) -> dict[str, Any]:
    """What the lead page shows, as the browser receives it."""
    state = tab.state
    return {
        "view": state.lead_view,
        "detail": dict(state.detail),
        "reasons": list(state.reasons),
        "calls": list(state.calls),
        "error": state.error,
        "gone": state.gone,
    }


def test_the_lead_opens_at_its_own_address_for_its_business(world: World) -> None:
    tab = _open(world.owner_id, f"/dashboard/leads/{world.lead_id}")
    assert tab.state.lead_view == "ok"
    assert tab.state.detail["match_id"] == str(world.match_id)
    assert MARKER in tab.browser_text()


def test_a_foreign_missing_or_malformed_lead_gets_one_refusal(world: World) -> None:
    paths = [
        f"/dashboard/leads/{world.lead_id}",  # another business's lead
        f"/dashboard/leads/{world.lead_id + 1000}",  # no such lead
        "/dashboard/leads/0",
        "/dashboard/leads/-1",
        "/dashboard/leads/1e3",
        "/dashboard/leads/%31",
        f"/dashboard/leads/{world.lead_id}abc",
    ]
    seen = []
    for path in paths:
        tab = _open(world.rival_id, path)
        assert MARKER not in tab.browser_text(), path
        seen.append(_seen(tab))
    assert seen[0]["view"] == "refused"
    assert all(s == seen[0] for s in seen), seen
    # The rightful owner is told the same for a lead that is not theirs.
    assert _seen(_open(world.owner_id, f"/dashboard/leads/{world.lead_id + 1000}")) == seen[0]


def test_a_refused_visit_marks_nothing_viewed(world: World, db_session: Session) -> None:
    _open(world.rival_id, f"/dashboard/leads/{world.lead_id}")
    db_session.expire_all()
    match = db_session.get(Match, world.match_id)
    assert match is not None and match.viewed_at is None


# --- the log-in page's `next` -----------------------------------------------------------------------

ATTACKS = [
    "https://evil.example/",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    " //evil.example",
    "javascript:alert(1)",
    "evil.example",
    "",
]


@pytest.mark.parametrize("target", ATTACKS)
def test_next_never_leaves_the_site(target: str) -> None:
    assert safe_next(target, "/dashboard") == "/dashboard"


@pytest.mark.parametrize("target", ["/dashboard/leads/12", "/portal/requests/3?tab=calls", "/admin/users/7"])
def test_next_follows_a_path_on_this_site(target: str) -> None:
    assert safe_next(target, "/dashboard") == target


def _login_redirect(next_value: str, email: str) -> str:
    import asyncio
    from urllib.parse import quote

    root = rx.State(_reflex_internal_init=True)
    root.router = RouterData(url=ReflexURL(f"http://localhost:3000/login?next={quote(next_value, safe='')}"))
    state = root.get_substate(LoginState.get_full_name().split(".")[1:])

    async def run() -> list[Any]:
        return [e async for e in LoginState.submit.fn(Background(state), {"email": email, "password": PASSWORD})]

    def args(event: Any) -> dict[str, Any]:
        return {str(k): getattr(v, "_var_value", str(v)) for k, v in event.args}

    events = asyncio.run(run())
    assert state.errors == {} and len(events) == 1
    # The log-in hands the new session to a plain event (the cookie must survive a reload), which redirects.
    started = args(events[0])
    redirect = LoginState.start_session.fn(state, started["token"], started["target"])
    return str(args(redirect)["path"])


@pytest.mark.parametrize("target", ["//evil.example/dashboard", "/\t/evil.example", "https://evil.example"])
def test_logging_in_with_a_hostile_next_lands_on_the_home(world: World, target: str) -> None:
    assert _login_redirect(target, "owner-q12@example.com") == "/dashboard"


def test_logging_in_from_a_lead_link_returns_to_the_lead(world: World) -> None:
    path = f"/dashboard/leads/{world.lead_id}"
    assert _login_redirect(path, "owner-q12@example.com") == path


# --- the consumer's request page ----------------------------------------------------------------------


def _portal_tab(user_id: int, path: str) -> Any:
    from leadapp.pages.consumer.portal import PortalState
    from tests.security.owner_tab import session_token

    root = rx.State(_reflex_internal_init=True)
    root.router = RouterData(url=ReflexURL(f"http://localhost:3000{path}"))
    state = root.get_substate(PortalState.get_full_name().split(".")[1:])
    state.session_token = session_token(user_id)
    PortalState.open_request.fn(state)
    return root, state


def test_a_consumer_opens_their_request_and_only_theirs(db_session: Session) -> None:
    alice = accounts.register(db_session, "alice-q12@example.com", PASSWORD, "consumer")
    bob = accounts.register(db_session, "bob-q12@example.com", PASSWORD, "consumer")
    db_session.commit()
    lead_id = _filed(
        db_session,
        f"The garbage disposal hums but does not spin, need someone to look at it this week {MARKER}",
        "alice-q12@example.com",
        "198.51.100.13",
        alice.id,
    )
    _, mine = _portal_tab(alice.id, f"/portal/requests/{lead_id}")  # type: ignore[arg-type]
    assert mine.request_page == "ok" and [r.id for r in mine.requests] == [str(lead_id)]

    shown = []
    for path in (
        f"/portal/requests/{lead_id}",  # Alice's request, opened by Bob
        f"/portal/requests/{lead_id + 1000}",  # no such request
        "/portal/requests/abc",
    ):
        root, state = _portal_tab(bob.id, path)  # type: ignore[arg-type]
        assert MARKER.lower() not in json.dumps(root.dict(), default=str).lower(), path
        shown.append((state.request_page, list(state.requests), state.error))
    assert shown[0] == ("refused", [], "")
    assert all(s == shown[0] for s in shown), shown


# --- the admin's lead, user and call pages ------------------------------------------------------------


def _admin_tab(state_cls: type, handler: str, user_id: int, path: str) -> Any:
    from tests.security.owner_tab import session_token

    root = rx.State(_reflex_internal_init=True)
    root.router = RouterData(url=ReflexURL(f"http://localhost:3000{path}"))
    state = root.get_substate(state_cls.get_full_name().split(".")[1:])
    state.session_token = session_token(user_id)
    state_cls.event_handlers[handler].fn(state)
    return root, state


def test_the_admin_pages_open_for_admins_only(world: World, db_session: Session) -> None:
    from leadapp.pages.admin.records import AdminLeadState
    from leadapp.pages.admin.users import UsersState

    admin = accounts.register(db_session, "admin-q12@example.com", PASSWORD, "consumer")
    admin.role = "admin"
    db_session.add(admin)
    db_session.commit()

    _, lead = _admin_tab(AdminLeadState, "open_lead", admin.id, f"/admin/leads/{world.lead_id}")  # type: ignore[arg-type]
    assert lead.lead_page == "ok" and MARKER in lead.lead["text"]
    _, user = _admin_tab(UsersState, "open_user_page", admin.id, f"/admin/users/{world.owner_id}")  # type: ignore[arg-type]
    assert user.user_page == "ok" and user.selected["email"] == "owner-q12@example.com"
    for path in (f"/admin/leads/{world.lead_id + 1000}", "/admin/leads/x"):
        _, missing = _admin_tab(AdminLeadState, "open_lead", admin.id, path)  # type: ignore[arg-type]
        assert (missing.lead_page, missing.lead) == ("refused", {})
    _, missing_user = _admin_tab(UsersState, "open_user_page", admin.id, "/admin/users/99999")  # type: ignore[arg-type]
    assert (missing_user.user_page, missing_user.selected) == ("refused", {})

    # A business owner who types the admin's address learns nothing.
    root, foreign = _admin_tab(AdminLeadState, "open_lead", world.owner_id, f"/admin/leads/{world.lead_id}")
    assert foreign.lead_page == "refused" and MARKER.lower() not in json.dumps(root.dict(), default=str).lower()
    root, foreign_user = _admin_tab(UsersState, "open_user_page", world.rival_id, f"/admin/users/{world.owner_id}")
    assert foreign_user.user_page == "refused"
    assert "owner-q12@example.com" not in json.dumps(root.dict(), default=str)


def test_the_list_and_a_request_page_never_show_each_others_rows(db_session: Session) -> None:
    """The two pages share the rows: each shows them only once loaded for itself (`showing`), so a request page
    opened from the list never shows the list's other requests (nor the list the one request) while loading."""
    from leadapp.pages.consumer.portal import PortalState

    alice = accounts.register(db_session, "carol-q12@example.com", PASSWORD, "consumer")
    db_session.commit()
    ids = []
    for n in range(2):
        text = f"The kitchen tap drips all night long and the handle is loose, please help {MARKER} {n}"
        ids.append(str(_filed(db_session, text, "carol-q12@example.com", f"198.51.100.{20 + n}", alice.id)))
    root, state = _portal_tab(alice.id, f"/portal/requests/{ids[0]}")  # type: ignore[arg-type]
    assert (state.showing, [r.id for r in state.requests]) == ("request", [ids[0]])
    PortalState.load.fn(state)  # back to My requests
    assert state.showing == "list" and sorted(r.id for r in state.requests) == sorted(ids)
    root.router = RouterData(url=ReflexURL("http://localhost:3000/portal/requests/999999"))
    PortalState.open_request.fn(state)  # a refused address shows the refusal, not the list
    assert (state.showing, state.request_page, state.requests) == ("request", "refused", [])
