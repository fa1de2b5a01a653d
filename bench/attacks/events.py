"""Reflex event handlers over the page socket (`/_event`), called as a modified front end would call them: another
tenant's ids, handlers of pages the account may not open, forged tracking tokens, too many tries."""

from __future__ import annotations

import re
import secrets

from bench.attacks import Outcome, Target, attack, breached, held
from bench.attacks.reflex_tab import ReflexTab, state_name

DASHBOARD = "leadapp.pages.business.dashboard.DashboardState"
PORTAL = "leadapp.pages.consumer.portal.PortalState"
TRACK = "leadapp.pages.consumer.track.TrackState"
USERS = "leadapp.pages.admin.users.UsersState"
LOGIN = "leadapp.pages.auth.LoginState"
CONTACT = "leadapp.pages.public.contact.ContactState"
MARKER = "benchleaka"  # in the victim's request text


def _db(t: Target, query):
    from sqlmodel import Session

    from leadapp.core import rls
    from leadapp.core.db import get_engine

    with rls.system_context("bench: read back what an attack changed"), Session(get_engine()) as s:
        return query(s)


def _match_status(t: Target) -> str:
    from leadapp.core.models import Match

    return _db(t, lambda s: s.get(Match, t.world["match_a"]).status)


def _lead_status(t: Target) -> str:
    from leadapp.core.models import Lead

    return _db(t, lambda s: s.get(Lead, t.world["lead_a"]).status)


def _digits(text: str) -> str:
    return re.sub(r"[^0-9]", "", text)


@attack("events", "read-another-business-lead")
def read_foreign_lead(t: Target) -> Outcome:
    with ReflexTab(t.web_url, t.world["session_electrician"]) as tab:
        tab.handler(DASHBOARD, "load", "/dashboard")
        tab.handler(DASHBOARD, "open_detail", "/dashboard", match_id=str(t.world["match_a"]))
        seen = tab.received_text()
    if MARKER in seen or t.world["email_a"] in seen:
        return breached("the rival business received the request's text")
    return held("nothing of the other business's lead was sent")


@attack("events", "accept-another-business-lead")
def accept_foreign_lead(t: Target) -> Outcome:
    before = _match_status(t)
    with ReflexTab(t.web_url, t.world["session_electrician"]) as tab:
        tab.handler(DASHBOARD, "open_detail", "/dashboard", match_id=str(t.world["match_a"]))
        tab.handler(DASHBOARD, "accept", "/dashboard")
        tab.handler(DASHBOARD, "request_call", "/dashboard", form_data={"objective": "x"})
        seen = tab.received_text()
    after = _match_status(t)
    if after != before or t.world["email_a"] in seen:
        return breached(f"the match went {before} → {after}")
    return held(f"the match stays {after}")


@attack("events", "contact-details-before-acceptance")
def contact_before_acceptance(t: Target) -> Outcome:
    with ReflexTab(t.web_url, t.world["session_plumber"]) as tab:
        tab.handler(DASHBOARD, "load", "/dashboard")
        tab.handler(DASHBOARD, "open_detail", "/dashboard", match_id=str(t.world["match_a"]))
        seen = tab.received_text()
    if MARKER not in seen:
        return breached("the matched business did not even get the request (the attack could not be judged)")
    if t.world["email_a"] in seen or t.world["phone_a"][2:] in _digits(seen):
        return breached("the consumer's email or phone reached a business that has not accepted")
    return held("the request was shown without the consumer's contact details")


@attack("events", "withdraw-another-consumers-request")
def withdraw_foreign(t: Target) -> Outcome:
    before = _lead_status(t)
    with ReflexTab(t.web_url, t.world["session_attacker"]) as tab:
        tab.handler(PORTAL, "withdraw", "/portal", lead_id=str(t.world["lead_a"]))
        tab.handler(PORTAL, "request_callback", "/portal", lead_id=str(t.world["lead_a"]))
        seen = tab.received_text()
    after = _lead_status(t)
    if after != before or MARKER in seen:
        return breached(f"the request went {before} → {after}")
    return held(f"refused; the request stays {after}")


@attack("events", "forged-tracking-link")
def forged_tracking_link(t: Target) -> Outcome:
    lead_id = t.world["lead_a"]
    leaked = []
    for token in [f"{lead_id}.{secrets.token_urlsafe(24)}", f"{lead_id}", "1.AAAA", f"{lead_id}.' OR 1=1 --"]:
        with ReflexTab(t.web_url) as tab:
            path = f"/portal/track/{token}"
            tab.handler(TRACK, "open", path)
            tab.handler(TRACK, "withdraw", path, shown_id=str(lead_id))
            if MARKER in tab.received_text():
                leaked.append(token)
    if leaked or _lead_status(t) == "withdrawn":
        return breached(f"a forged link opened the request: {leaked}")
    return held("every forged token: the invalid-link page, nothing of the request")


@attack("events", "admin-handlers-from-a-consumer")
def admin_handlers(t: Target) -> Outcome:
    from leadapp.core.models import User

    with ReflexTab(t.web_url, t.world["session_attacker"]) as tab:
        tab.handler(USERS, "load", "/admin/users")
        tab.handler(USERS, "open_user", "/admin/users", user_id=str(t.world["user_attacker"]))
        tab.handler(USERS, "choose_role", "/admin/users", role="admin")
        tab.handler(USERS, "confirm_role_change", "/admin/users")
        tab.handler(USERS, "open_user", "/admin/users", user_id=str(t.world["user_plumber"]))
        seen = tab.received_text()
    role = _db(t, lambda s: s.get(User, t.world["user_attacker"]).role)
    if role != "consumer" or "plumber@leadapp.demo" in seen:
        return breached(f"the consumer is now {role}, or saw another account")
    return held("refused: still a consumer, no other account shown")


@attack("events", "session-cookie-forged")
def forged_session(t: Target) -> Outcome:
    """A made-up session token, and the plumber's with one character changed, in the cookie."""
    genuine = t.world["session_plumber"]
    tampered = genuine[:-1] + ("A" if genuine[-1] != "A" else "B")
    for token in [secrets.token_urlsafe(32), tampered, "' OR '1'='1"]:
        with ReflexTab(t.web_url, token) as tab:
            tab.handler(DASHBOARD, "load", "/dashboard")
            tab.handler(DASHBOARD, "open_detail", "/dashboard", match_id=str(t.world["match_a"]))
            if MARKER in tab.received_text():
                return breached(f"the cookie {token[:8]}… opened the plumber's inbox")
    return held("a forged session cookie is nobody")


@attack("events", "login-guessing", late=True)
def login_guessing(t: Target) -> Outcome:
    """Guess a consumer's password: after LOGIN_MAX_FAILURES wrong tries even the right one is refused for a
    while (the attacker cannot tell which guess was right). Judged in the database: did a login happen?"""
    import time

    email, password = _login_account(t)
    control, control_password = _login_account(t)

    def settled(address: str) -> bool:
        for _ in range(50):  # the handler's transaction commits just after its update is sent
            if _last_login(t, address) is not None:
                return True
            time.sleep(0.1)
        return False

    with ReflexTab(t.web_url) as tab:  # the control: the right password, first time, logs in
        tab.handler(LOGIN, "submit", "/login", form_data={"email": control, "password": control_password})
    if not settled(control):
        return breached("could not judge: a first right password did not log in either")
    with ReflexTab(t.web_url) as tab:
        for n in range(8):
            tab.handler(LOGIN, "submit", "/login", form_data={"email": email, "password": f"guess {n}"})
        tab.handler(LOGIN, "submit", "/login", form_data={"email": email, "password": password})
    if settled(email):
        return breached("the right password still logged in after 8 wrong guesses")
    return held("locked out after the wrong guesses, the right password included")


@attack("events", "contact-form-flood", late=True)
def contact_flood(t: Target) -> Outcome:
    from sqlmodel import func, select

    from leadapp.core.models import ContactMessage

    before = _db(t, lambda s: s.exec(select(func.count()).select_from(ContactMessage)).one())
    with ReflexTab(t.web_url) as tab:
        for n in range(12):
            tab.handler(
                CONTACT,
                "submit",
                "/contact",
                form_data={
                    "name": "Flood",
                    "email": f"flood{n}@example.com",
                    "subject": "Hello",
                    "body": "Buy cheap things now, this is message number " + str(n),
                },
            )
            tab.handler(CONTACT, "again", "/contact")
    stored = _db(t, lambda s: s.exec(select(func.count()).select_from(ContactMessage)).one()) - before
    if stored > 5:
        return breached(f"{stored} of 12 messages stored from one client")
    return held(f"{stored} stored, the rest refused")


def _login_account(t: Target) -> tuple[str, str]:
    from leadapp.core.services import accounts

    email, password = f"bench-login-{secrets.token_hex(3)}@example.com", "the right password 123"
    _db(t, lambda s: (accounts.register(s, email, password, "consumer"), s.commit()))
    return email, password


def _last_login(t: Target, email: str):
    from sqlmodel import select

    from leadapp.core.models import User

    return _db(t, lambda s: s.exec(select(User).where(User.email == email)).one().last_login_at)


@attack("events", "login-guesses-in-parallel", late=True)
def login_parallel(t: Target) -> Outcome:
    """Ten sockets guess at once (a throttle that checks before it counts lets them all through), then the right
    password: refused, the attacker cannot tell it was right (issue 11, item 12)."""
    import time

    email, password = _login_account(t)
    tabs = [ReflexTab(t.web_url) for _ in range(10)]
    try:
        name = f"{state_name(LOGIN)}.submit"
        for n, tab in enumerate(tabs):  # fired without waiting for the answers
            tab.sio.emit(
                "event",
                {
                    "name": name,
                    "payload": {"form_data": {"email": email, "password": f"guess {n}"}},
                    "router_data": {"pathname": "/login", "asPath": "/login", "query": {}},
                },
                namespace="/_event",
            )
        time.sleep(5)
        with ReflexTab(t.web_url) as last:
            last.handler(LOGIN, "submit", "/login", form_data={"email": email, "password": password})
        time.sleep(1)
    finally:
        for tab in tabs:
            tab.close()
    if _last_login(t, email) is not None:
        return breached("the right password logged in after 10 parallel wrong guesses")
    return held("the parallel guesses were all counted: the right one is refused too")


@attack("events", "lock-out-someone-else", late=True)
def login_lockout(t: Target) -> Outcome:
    """The attacker (one address) fails on purpose with the victim's email; the victim, from their own address,
    must still get in (a per-email lock would let anyone lock out the admin; issue 11, item 12)."""
    import time

    email, password = _login_account(t)
    with ReflexTab(t.web_url, headers={"X-Forwarded-For": "203.0.113.66"}) as attacker:
        for n in range(8):
            attacker.handler(LOGIN, "submit", "/login", form_data={"email": email, "password": f"wrong {n}"})
    with ReflexTab(t.web_url, headers={"X-Forwarded-For": "198.51.100.23"}) as victim:
        victim.handler(LOGIN, "submit", "/login", form_data={"email": email, "password": password})
    for _ in range(30):
        if _last_login(t, email) is not None:
            return held("the victim, from their own address, still logs in")
        time.sleep(0.1)
    return breached("eight wrong passwords from one address locked the account for everyone")
