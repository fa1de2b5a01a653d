"""The plan of the access matrix: for every event handler of every page state, the arguments it is called with
against a side's data and its write policy (who may change the database through it), and `check_call`, which
calls one handler as one actor against one side and lists what went wrong. A new handler fails
`test_every_handler_has_a_plan` until it is given a plan here.
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import reflex as rx

from leadapp.state.auth import AuthState
from tests.integration.access_world import (
    ACTORS,
    CONTACT_A,
    CONTACT_B,
    MARKERS,
    NOT_CALLED,
    PASSWORD,
    SIDES,
    Ctx,
    World,
    _follow,
    _run,
    _state,
    app_states,
    browser_text,
    diff,
    restore,
    snapshot,
)

# --- the plan: arguments and the write policy of each handler -------------------------------------


@dataclasses.dataclass(frozen=True)
class Plan:
    """How to call one handler against a side, and who may change the database through it.

    writers: "none" (a read: nobody writes), "admin", "consumer" / "business" (that side's owner or an admin),
    "self" (any logged-in actor, on their own rows only), "public" (anyone may add rows; nobody updates or
    deletes another's).
    """

    writers: str = "none"
    args: Callable[[Ctx], tuple] = lambda c: ()
    # Markers the handler shows anyone by design (a business's public page: its name, its visible reviews).
    public: Callable[[Ctx], set[str]] = lambda c: set()
    preset: Callable[[Ctx], dict[str, Any]] = lambda c: {}
    path: Callable[[Ctx], str] = lambda c: "/"


def S(v: int) -> str:
    return str(v)


PLANS: dict[str, Plan] = {
    # AuthState
    "AuthState.load_public": Plan(),
    "AuthState.guard": Plan(args=lambda c: ("admin",)),
    "AuthState.logout": Plan(writers="self"),
    "AuthState.resend_verification": Plan(writers="self"),
    "AccountEmailState.change_email": Plan(
        writers="self", args=lambda c: ({"new_email": f"moved-{c.side.lower()}-q7@example.com", "password": PASSWORD},)
    ),
    # admin
    "AdminZoneState.load": Plan(),
    "AdminZoneState.choose": Plan(writers="admin", args=lambda c: ("America/Chicago",)),
    "DiscoveryState.load": Plan(),
    "DiscoveryState.search": Plan(writers="admin", args=lambda c: ({"zip": "46032", "category": "plumbing"},)),
    "DiscoveryState.invite": Plan(
        writers="admin", args=lambda c: ({"prospect_id": S(c.w.ids["prospect"]), "email": "invitee-q7@example.com"},)
    ),
    "HealthState.load": Plan(),
    "MessagesState.load": Plan(),
    "MessagesState.filter_by": Plan(args=lambda c: ("new",)),
    "MessagesState.reopen": Plan(writers="admin", args=lambda c: (S(c.w.ids["message"]),)),
    "MessagesState.mark": Plan(writers="admin", args=lambda c: (S(c.w.ids["message"]), "answered")),
    "BusinessesState.load": Plan(),
    "BusinessesState.apply_search": Plan(args=lambda c: ({"search": "q7"},)),
    "BusinessesState.go_page": Plan(args=lambda c: (1,)),
    "BusinessesState.set_active": Plan(writers="admin", args=lambda c: (S(c.biz), False)),
    "BusinessesState.set_rating": Plan(
        writers="admin", args=lambda c: ({"business_id": S(c.biz), "rating": "4.2", "review_count": "12"},)
    ),
    "LeadsState.load": Plan(),
    "LeadsState.refresh": Plan(),
    "LeadsState.set_tab": Plan(args=lambda c: ("flagged",)),
    "LeadsState.apply_filters": Plan(args=lambda c: ({"search": "q7"},)),
    "LeadsState.go_page": Plan(args=lambda c: (1,)),
    "LeadsState.go_queue_page": Plan(args=lambda c: (1,)),
    "LeadsState.ask": Plan(args=lambda c: ("reject", S(c.lead))),
    "LeadsState.set_action_open": Plan(args=lambda c: (False,)),
    "LeadsState.confirm_action": Plan(
        writers="admin",
        args=lambda c: ({"reason": "spam, seen it before"},),
        preset=lambda c: {"action_kind": "reject", "action_lead_id": S(c.lead), "action_open": True},
    ),
    "LeadsState.unflag": Plan(writers="admin", args=lambda c: (S(c.lead),)),
    "AuditState.load": Plan(),
    "AuditState.apply_filters": Plan(args=lambda c: ({"action": ""},)),
    "AuditState.go_page": Plan(args=lambda c: (1,)),
    "CallsState.load": Plan(),
    "CallsState.apply_filters": Plan(args=lambda c: ({"business": S(c.biz), "month": ""},)),
    "CallsState.show": Plan(args=lambda c: (S(c.biz), "")),
    "CallsState.clear_filters": Plan(),
    "CallsState.go_page": Plan(args=lambda c: (1,)),
    "DncState.load": Plan(),
    "DncState.add": Plan(writers="admin", args=lambda c: ({"phone": "(317) 846-2998", "reason": "asked"},)),
    "DncState.remove": Plan(writers="admin", args=lambda c: (S(c.w.ids["dnc"]),)),
    "DncState.import_csv": Plan(writers="admin", args=lambda c: ({"csv": "phone\n(317) 846-2997\n", "reason": "x"},)),
    "DncState.find": Plan(args=lambda c: ({"phone": ""},)),
    "DncState.go_page": Plan(args=lambda c: (1,)),
    "AdminLeadState.open_lead": Plan(path=lambda c: f"/admin/leads/{c.lead}"),
    "AdminLeadState.hide_review": Plan(
        writers="admin",
        args=lambda c: ({"review_id": S(c.review), "reason": "q7 abusive"},),
        preset=lambda c: {"lead_reviews": [{"id": S(c.review)}]},
    ),
    "AdminCallState.open_call": Plan(path=lambda c: f"/admin/calls/{c.call}"),
    "OutboxState.load": Plan(),
    "OutboxState.apply_filters": Plan(args=lambda c: ({"status": "failed"},)),
    "OutboxState.go_page": Plan(args=lambda c: (1,)),
    "OutboxState.open_detail": Plan(args=lambda c: (S(c.notification),)),
    "OutboxState.set_detail_open": Plan(args=lambda c: (False,)),
    "OutboxState.retry": Plan(writers="admin", args=lambda c: (S(c.notification),)),
    "WebhookOutboxState.load": Plan(),
    "WebhookOutboxState.resend": Plan(writers="admin", args=lambda c: (S(c.webhook),)),
    "QueuesState.load": Plan(),
    "QueuesState.select_queue": Plan(args=lambda c: ("notifications",)),
    "QueuesState.retry_job": Plan(writers="admin", args=lambda c: ("no-such-job",)),
    "QueuesState.delete_job": Plan(writers="admin", args=lambda c: ("no-such-job",)),
    "ReportsState.load": Plan(),
    "ReportsState.open_report": Plan(args=lambda c: (S(c.w.ids["report"]),)),
    "ReportsState.run_now": Plan(writers="admin"),
    "ReportsState.accept": Plan(
        writers="admin", args=lambda c: ("0",), preset=lambda c: {"report_id": c.w.ids["report"]}
    ),
    "ReportsState.download": Plan(preset=lambda c: {"report_id": c.w.ids["report"]}),
    "ReportsState.go_page": Plan(args=lambda c: (1,)),
    "RulesState.load": Plan(),
    "RulesState.save": Plan(
        writers="admin", args=lambda c: ({**c.w.rules_form, "note": "q7 edit", "min_words": "11"},)
    ),
    "RulesState.ask_rollback": Plan(args=lambda c: (c.w.ids["rules_version"],)),
    "RulesState.cancel_rollback": Plan(),
    "RulesState.roll_back": Plan(writers="admin", preset=lambda c: {"confirm_version": c.w.ids["rules_version"]}),
    "RulesState.go_page": Plan(args=lambda c: (1,)),
    "UsersState.load": Plan(),
    "UsersState.apply_filters": Plan(args=lambda c: ({"search": "q7", "role": ""},)),
    "UsersState.go_page": Plan(args=lambda c: (1,)),
    "UsersState.open_user": Plan(args=lambda c: (S(c.consumer_user),)),
    "UsersState.close_user": Plan(),
    "UsersState.open_user_page": Plan(path=lambda c: f"/admin/users/{c.consumer_user}"),
    "UsersState.choose_role": Plan(args=lambda c: ("admin",), preset=lambda c: _selected(c)),
    "UsersState.ask_role_change": Plan(preset=lambda c: {**_selected(c), "new_role": "admin"}),
    "UsersState.set_confirm_open": Plan(args=lambda c: (False,), preset=lambda c: _selected(c)),
    "UsersState.confirm_role_change": Plan(
        writers="admin", preset=lambda c: {**_selected(c), "new_role": "business_owner", "confirm_open": True}
    ),
    "UsersState.set_active": Plan(writers="admin", args=lambda c: (False,), preset=lambda c: _selected(c)),
    "UsersState.send_reset": Plan(writers="admin", preset=lambda c: _selected(c)),
    "ApiKeysState.load": Plan(),
    "ApiKeysState.create": Plan(writers="admin", args=lambda c: ({"name": "Partner q7", "per_minute": "30"},)),
    "ApiKeysState.revoke": Plan(writers="admin", args=lambda c: ("1",)),
    "ApiKeysState.set_webhook": Plan(
        writers="admin", args=lambda c: ({"key_id": S(c.w.ids["api_key"]), "webhook_url": ""},)
    ),
    "VerificationState.load": Plan(),
    "VerificationState.apply_filters": Plan(args=lambda c: ({"search": "", "show": "all"},)),
    "VerificationState.verify": Plan(writers="admin", args=lambda c: (S(c.biz),)),
    "VerificationState.save_plan": Plan(
        writers="admin", args=lambda c: ({"business_id": S(c.biz), "plan": "pro", "monthly_lead_cap": "900"},)
    ),
    # log in, sign up: with the other side's email
    "LoginState.submit": Plan(writers="public", args=lambda c: ({"email": _email(c), "password": "not the password"},)),
    "LoginState.start_session": Plan(args=lambda c: ("not-a-session-token", "/dashboard")),
    "RegisterState.submit": Plan(
        writers="public",
        args=lambda c: (
            {
                "email": f"new-{c.side.lower()}-q7@example.com",
                "password": PASSWORD,
                "password_confirm": PASSWORD,
                "role": "admin",  # a self-service sign-up must never create an admin
                "full_name": "New",
            },
        ),
    ),
    # business
    "DashboardState.refresh_from_event": Plan(),
    "DashboardState.load": Plan(),
    "DashboardState.apply_filters": Plan(args=lambda c: ({"status": "all", "search": ""},)),
    "DashboardState.go_page": Plan(args=lambda c: (1,)),
    "DashboardState.open_detail": Plan(writers="business", args=lambda c: (S(c.match),)),
    "DashboardState.close_detail": Plan(),
    "DashboardState.open_lead": Plan(writers="business", path=lambda c: f"/dashboard/leads/{c.lead}"),
    "DashboardState.toggle_filters": Plan(),
    "DashboardState.cancel_call": Plan(writers="business", args=lambda c: (S(c.call),)),
    "DashboardState.open_recording": Plan(args=lambda c: (S(c.call),)),
    "DashboardState.take_over": Plan(writers="business", args=lambda c: (S(c.call),)),
    "DashboardState.send_hint": Plan(writers="business", args=lambda c: ({"call_id": S(c.call), "hint": "q7 hint"},)),
    "DashboardState.accept": Plan(writers="business", preset=lambda c: _detail(c)),
    "DashboardState.decline": Plan(
        writers="business", args=lambda c: ({"message": "busy"},), preset=lambda c: _detail(c)
    ),
    "DashboardState.request_call": Plan(
        writers="business", args=lambda c: ({"objective": "confirm"},), preset=lambda c: _detail(c)
    ),
    "DashboardState.release": Plan(writers="business", preset=lambda c: _detail(c)),
    "DashboardState.convert": Plan(
        writers="business", args=lambda c: ({"job_value": "500"},), preset=lambda c: _detail(c)
    ),
    "DashboardState.mark_callback_handled": Plan(writers="business", preset=lambda c: _detail(c)),
    "DashboardState.reply_review": Plan(
        writers="business", args=lambda c: ({"reply": "q7 thanks"},), preset=lambda c: {"review": {"id": S(c.review)}}
    ),
    "DashboardState.send_quote": Plan(
        writers="business",
        args=lambda c: ({"amount_min": "400", "amount_max": "600", "included": "q7", "valid_until": _in_a_week()},),
        preset=lambda c: _detail(c),
    ),
    "DashboardState.send_message": Plan(
        writers="business", args=lambda c: ({"match_id": S(c.match), "body": "q7 hello"},), preset=lambda c: _detail(c)
    ),
    "DashboardState.send_photo": Plan(writers="business", args=lambda c: ([_photo()],), preset=lambda c: _detail(c)),
    "BusinessSettingsState.load": Plan(path=lambda c: f"/dashboard/settings?business={c.biz}"),
    "BusinessSettingsState.save": Plan(
        writers="business",
        args=lambda c: ({**c.w.settings_form[c.side], "description": "changed by the q7 matrix"},),
        preset=lambda c: {"business_id": c.biz},
    ),
    "BusinessSettingsState.toggle_pause": Plan(writers="business", preset=lambda c: {"business_id": c.biz}),
    "PhoneLineState.load": Plan(path=lambda c: f"/dashboard/settings?business={c.biz}"),
    "PhoneLineState.list_numbers": Plan(preset=lambda c: {"business_id": c.biz}),
    "PhoneLineState.connect_number": Plan(
        writers="business", args=lambda c: ("PN" + "0" * 32,), preset=lambda c: {"business_id": c.biz}
    ),
    "PhoneLineState.connect_local": Plan(writers="business", preset=lambda c: {"business_id": c.biz}),
    "PhoneLineState.disconnect": Plan(writers="business", preset=lambda c: {"business_id": c.biz}),
    "PhoneLineState.simulate_call": Plan(writers="business", preset=lambda c: {"business_id": c.biz}),
    "StatsState.load": Plan(path=lambda c: f"/dashboard/stats?business={c.biz}"),
    "StatsState.set_period": Plan(args=lambda c: ("4",), path=lambda c: f"/dashboard/stats?business={c.biz}"),
    # consumer
    "PortalState.load": Plan(),
    "PortalState.refresh_from_event": Plan(),
    "PortalState.open_request": Plan(path=lambda c: f"/portal/requests/{c.lead}"),
    "PortalState.withdraw": Plan(writers="consumer", args=lambda c: (S(c.lead),)),
    "PortalState.request_callback": Plan(writers="consumer", args=lambda c: (S(c.lead),)),
    "PortalState.delete_my_data": Plan(writers="self"),
    "PortalState.set_no_ai_calls": Plan(writers="self", args=lambda c: (True,)),
    "PortalState.send_phone_code": Plan(writers="consumer", args=lambda c: (S(c.lead),)),
    "PortalState.accept_quote": Plan(writers="consumer", args=lambda c: (S(c.quote),)),
    "PortalState.send_message": Plan(writers="consumer", args=lambda c: ({"match_id": S(c.match), "body": "q7 hi"},)),
    "PortalState.choose_photo_thread": Plan(args=lambda c: (S(c.match),)),
    "PortalState.send_photo": Plan(
        writers="consumer", args=lambda c: ([_photo()],), preset=lambda c: {"_photo_thread": S(c.match)}
    ),
    "PortalState.submit_review": Plan(
        writers="consumer", args=lambda c: ({"conversion_id": S(c.conversion), "stars": "5", "text": "q7"},)
    ),
    "PortalState.verify_phone_code": Plan(writers="consumer", args=lambda c: ({"lead": S(c.lead), "code": "123456"},)),
    "InterviewState.open": Plan(writers="public"),
    "InterviewState.restart": Plan(writers="public"),
    "InterviewState.begin": Plan(args=lambda c: ({"cf-turnstile-response": "made-up"},)),
    "InterviewState.answer": Plan(writers="public", args=lambda c: ({"message": "my sink is blocked"},)),
    "InterviewState.send": Plan(writers="public", args=lambda c: ({"consent_ai_calls": "on"},)),
    "InterviewState.send_phone_code": Plan(writers="public"),
    "InterviewState.verify_phone_code": Plan(writers="public", args=lambda c: ({"code": "123456"},)),
    "RequestState.open": Plan(),
    "RequestState.reset_form": Plan(),
    "RequestState.submit": Plan(
        writers="public",
        args=lambda c: (
            {
                "text": "The kitchen sink drain is completely blocked and water backs up, please help soon",
                "zip": "46032" if c.side == "A" else "10001",
                "email": "newcomer-q7@example.com",
                "phone": "",
            },
        ),
    ),
    "RequestState.follow": Plan(),
    # links that carry their own token: a guessed token opens nothing
    "TrackState.open": Plan(path=lambda c: f"/portal/track/{c.lead}.guessed"),
    "TrackState.refresh_from_event": Plan(),
    "TrackState.withdraw": Plan(args=lambda c: (S(c.lead),)),
    "TrackState.request_callback": Plan(args=lambda c: (S(c.lead),)),
    "TrackState.set_no_ai_calls": Plan(args=lambda c: (True,)),
    "TrackState.send_phone_code": Plan(args=lambda c: (S(c.lead),)),
    # without the link's token, a quote id accepts nothing (the other side's quote included)
    "TrackState.accept_quote": Plan(args=lambda c: (S(c.quote),)),
    "TrackState.verify_phone_code": Plan(args=lambda c: ({"lead": S(c.lead), "code": "123456"},)),
    # without the link's token, setting a password claims no request and makes no account
    "TrackState.create_account": Plan(
        args=lambda c: ({"password": PASSWORD, "password_confirm": PASSWORD, "email": "claim-q7@example.com"},)
    ),
    "ContactState.submit": Plan(
        writers="public",
        args=lambda c: (
            {"name": "Q", "email": "writer-q7@example.com", "subject": "Hi", "body": "Hello there, a question"},
        ),
    ),
    "ContactState.again": Plan(),
    "ResetPasswordState.open": Plan(path=lambda c: "/reset-password/guessed-token"),
    "ForgotPasswordState.clear": Plan(),
    "ForgotPasswordState.submit": Plan(writers="public", args=lambda c: ({"email": _email(c)},)),
    "VerifyEmailState.open": Plan(path=lambda c: "/verify-email/guessed-token"),
    "ResetPasswordState.submit": Plan(
        args=lambda c: ({"password": PASSWORD + "!", "password_confirm": PASSWORD + "!"},)
    ),
    "InviteLinkState.record_click": Plan(path=lambda c: "/register?invite=guessed-token"),
    "UnsubscribeState.open": Plan(path=lambda c: "/unsubscribe/guessed-token"),
    "ReviewState.open": Plan(path=lambda c: f"/review/{c.conversion}.guessed"),
    "ReviewState.submit": Plan(args=lambda c: ({"stars": "5", "text": "q7"},)),
    "UnsubscribeState.confirm": Plan(),
    # a business's public page: its name and visible reviews are public, nothing else of the business or reviewer
    "ProState.open": Plan(
        path=lambda c: f"/pros/{c.biz}-some-words",
        public=lambda c: {"Xq7 Plumbing", "REVIEWAQ7"} if c.side == "A" else {"Yq7 Plumbing", "REVIEWBQ7"},
    ),
}


def _in_a_week() -> str:
    return (date.today() + timedelta(days=7)).isoformat()


def _email(c: Ctx) -> str:
    return f"acct-{c.side.lower()}-q7@example.com"


def _selected(c: Ctx) -> dict[str, Any]:
    # Only the id: the page had it from an earlier (admin) event; the email would be a marker the test planted.
    return {"selected": {"id": S(c.consumer_user), "email": "", "role": "consumer"}}


def _photo() -> Any:
    """A PNG as the browser uploads it."""
    return rx.UploadFile(file=io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64), path=None)


def _detail(c: Ctx) -> dict[str, Any]:
    return {"detail": {"match_id": S(c.match), "lead_id": S(c.lead)}}


def handler_cases() -> list[tuple[type[AuthState], str]]:
    cases = []
    for cls in app_states():
        for name in cls.event_handlers:
            if name in NOT_CALLED:
                continue
            owner = getattr(cls.event_handlers[name].fn, "__qualname__", "").split(".")[0]
            if owner != cls.__name__ and cls is not AuthState:
                continue  # inherited from AuthState: covered once, on AuthState
            cases.append((cls, name))
    return cases


CASES = handler_cases()


# --- checking one call ---------------------------------------------------------------------------


def _victim_rows(w: World, side: str) -> tuple[dict[str, set[int]], dict[str, set[int]]]:
    """(table -> ids, foreign-key column -> ids) that belong to `side`."""
    users = {w.users[SIDES[side]["consumer"]], w.users[SIDES[side]["business"]]}
    by_id = {
        "users": users,
        "leads": {w.side(side, "lead")},
        "matches": {w.side(side, "match")},
        "businesses": {w.side(side, "biz")},
        "calls": {w.side(side, "call")},
    }
    by_fk = {
        "lead_id": {w.side(side, "lead")},
        "match_id": {w.side(side, "match")},
        "business_id": {w.side(side, "biz")},
        "user_id": users,
        "consumer_id": {w.users[SIDES[side]["consumer"]]},
        "owner_id": {w.users[SIDES[side]["business"]]},
    }
    return by_id, by_fk


def _touches(row: dict, table: str, by_id: dict[str, set[int]], by_fk: dict[str, set[int]]) -> bool:
    return row.get("id") in by_id.get(table, set()) or any(row.get(col) in ids for col, ids in by_fk.items())


def _may_write(plan: Plan, actor: str, side: str) -> bool:
    if plan.writers in ("public", "self"):
        return actor != "anonymous" or plan.writers == "public"
    if plan.writers == "admin":
        return actor == "admin"
    if plan.writers in ("consumer", "business"):
        return actor in ("admin", SIDES[side][plan.writers])
    return False


def _accepted(after: dict[str, dict[Any, tuple]], match_id: int) -> bool:
    row = after["matches"].get((match_id,))
    return row is not None and dict(row)["status"] in ("accepted", "converted")


def state_class(key: str) -> type[AuthState]:
    """The page state named by a plan key ("DashboardState.accept" -> DashboardState)."""
    return next(c for c in app_states() if c.__name__ == key.split(".")[0])


def call_handler(w: World, cls: type[AuthState], name: str, actor: str, side: str) -> tuple[rx.State, list[str]]:
    """Call one handler as `actor` against `side`'s data, from the seeded database, with its plan's arguments;
    the root state and the redirects it followed. Marks the world dirty when it raises."""
    plan, ctx = PLANS[f"{cls.__name__}.{name}"], Ctx(w, side)
    restore(w)
    root, state = _state(w, cls, actor, plan.path(ctx))
    for var, value in plan.preset(ctx).items():  # what the page showed before the event (e.g. an open detail)
        setattr(state, var, value)
    try:
        return root, _follow(root, _run(cls.event_handlers[name], state, plan.args(ctx)))
    except Exception:
        w.dirty = True
        raise


def check_call(w: World, cls: type[AuthState], name: str, actor: str, side: str) -> list[str]:
    """Call one handler as `actor` against `side`'s data; the problems found (empty when all is right)."""
    plan, ctx = PLANS[f"{cls.__name__}.{name}"], Ctx(w, side)
    where = f"{cls.__name__}.{name} as {actor} on side {side}"
    try:
        root, redirects = call_handler(w, cls, name, actor, side)
    except Exception as exc:  # a refusal is a clean outcome, never an exception
        return [f"{where}: raised {exc!r}"]
    problems: list[str] = []
    after = snapshot(w)
    changes = diff(w.baseline, after)
    w.dirty = bool(changes)
    owners = {"admin", *SIDES[side].values()}
    if changes and not _may_write(plan, actor, side):
        problems.append(f"{where}: changed the database: {changes.describe()}")
    if plan.writers == "public" and (changes.updated or changes.deleted) and actor not in owners:
        problems.append(f"{where}: a public handler updated or deleted rows: {changes.describe()}")
    by_id, by_fk = _victim_rows(w, side)
    if actor not in owners:
        touched = [t for t, *rows in changes.updated + changes.deleted if _touches(rows[-1], t, by_id, by_fk)]
        if touched:
            problems.append(f"{where}: changed the other side's rows in {touched}: {changes.describe()}")
    new_admins = [r for t, r in changes.inserted if t == "users" and r.get("role") == "admin"]
    if new_admins:
        problems.append(f"{where}: created an admin account {new_admins}")
    text = browser_text(root) + " " + " ".join(redirects).lower()
    digits = re.sub(r"[^0-9]", "", text)
    shown_to_anyone = plan.public(ctx)
    for marker, allowed in MARKERS.items():
        allowed = set(allowed) | (set(ACTORS) if marker in shown_to_anyone else set())
        if marker in CONTACT_A and _accepted(after, w.ids["match_A"]):
            allowed.add("business_x")
        if marker in CONTACT_B and _accepted(after, w.ids["match_B"]):
            allowed.add("business_y")
        seen = marker.lower() in text or (marker.isdigit() and marker in digits)
        if seen and actor not in allowed:
            problems.append(f"{where}: the browser state shows {marker!r}")
    recording = [r for r in redirects if "recording" in r or "q7-" in r]
    if recording and actor not in ("admin", SIDES[side]["business"]):
        problems.append(f"{where}: redirected to a recording {recording}")
    return problems
