"""The access matrix, enumerated: every event handler of every page state and every public API route, called as
anonymous, consumer A, consumer B, business X, business Y and an admin, against the *other* side's data.

The handlers are found by introspection (every `AuthState` subclass the app imports), so a new handler or route
fails `test_every_handler_has_a_plan` until it is given arguments and a write policy here. For each call:

- the database is compared row by row (full content, not counts) before and after; an actor outside the
  handler's write policy must change nothing, and nobody but the data's owner or an admin may update or
  delete the other side's rows, whatever the handler;
- the state sent to the browser (every var of every state, serialized) is searched for marker strings seeded
  into each actor's private data; an actor may only see the markers it is entitled to;
- an exception is a failure: a refusal is a clean outcome (a redirect, an error var, or nothing).

The whole matrix runs three times: on SQLite (the access layer's filters are the only wall); on PostgreSQL as
the application role, with row-level security in force; and on PostgreSQL again with the access layer's row
checks switched off (ACCESS_ROW_CHECKS_OFF, a test-only setting), to show that row-level security alone keeps
each side's rows apart.

One seeded database per run; it is put back from a seeded copy after any call that wrote something.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import re
import shutil
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
import reflex as rx
from reflex.istate.data import ReflexURL, RouterData
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel, select
from starlette.testclient import TestClient

from leadapp.core import crypto, phones, rls
from leadapp.core.models import Business, Call, Match, Notification, Prospect, User
from leadapp.core.models.base import utcnow
from leadapp.core.services import accounts, admin_ops, contact, rules, weekly_audit
from leadapp.core.services.intake import Submission, submit
from leadapp.core.services.pipeline import process_lead
from leadapp.state.auth import SESSION_COOKIE, AuthState
from tests.conftest import WalledDatabase, WalledRoles, clear_app_caches, clone_walled, dispose_engine, drop_walled

ACTORS = ("anonymous", "consumer_a", "consumer_b", "business_x", "business_y", "admin")
PASSWORD = "a long enough password"

# Each side's owners: the consumer who made its lead and the owner of the business it was matched to.
SIDES = {
    "A": {"consumer": "consumer_a", "business": "business_x"},
    "B": {"consumer": "consumer_b", "business": "business_y"},
}
OTHER = {"A": "B", "B": "A"}

# Handlers the matrix does not call, each with the reason. Keep this list short and explicit.
NOT_CALLED = {
    "setvar": "generic var setter; this app has no set_<var> setters, so it can set nothing "
    "(test_no_var_can_be_set_from_the_browser proves it)",
    "client_ip": "a helper method of AuthState, not an event the page sends",
}

# --- the seeded world -----------------------------------------------------------------------------

# Marker strings planted in each actor's private data; who may see each one in the state sent to the browser.
CONTACT_A, CONTACT_B = ("lead-a-q7@example.com", "3178462200"), ("lead-b-q7@example.com", "6464847211")
MARKERS: dict[str, set[str]] = {
    "acct-a-q7@example.com": {"consumer_a", "admin"},
    "acct-b-q7@example.com": {"consumer_b", "admin"},
    "owner-x-q7@example.com": {"business_x", "admin"},
    "owner-y-q7@example.com": {"business_y", "admin"},
    "admin-q7@example.com": {"admin"},
    "TEXTAQ7": {"consumer_a", "business_x", "admin"},
    "TEXTBQ7": {"consumer_b", "business_y", "admin"},
    "Xq7 Plumbing": {"business_x", "consumer_a", "admin"},
    "Yq7 Plumbing": {"business_y", "consumer_b", "admin"},
    "notify-x-q7@example.com": {"business_x", "admin"},
    "notify-y-q7@example.com": {"business_y", "admin"},
    "CALLXQ7": {"business_x", "admin"},
    "CALLYQ7": {"business_y", "admin"},
    "MSGQ7": {"admin"},
    "contact-q7@example.com": {"admin"},
    "ProspectQ7": {"admin"},
    "DNCQ7": {"admin"},
}
# A lead's contact details: its consumer and admins, and its business once the match is accepted.
for _marker in CONTACT_A:
    MARKERS[_marker] = {"consumer_a", "admin"}
for _marker in CONTACT_B:
    MARKERS[_marker] = {"consumer_b", "admin"}


# The three runs of the matrix.
BACKENDS = {
    "sqlite": "SQLite: the access layer's filters are the only wall",
    "postgres": "PostgreSQL as the application role: the access layer's filters, then row-level security",
    "rls-alone": "PostgreSQL with the access layer's row checks switched off: row-level security alone",
}


@dataclasses.dataclass
class World:
    backend: str
    url: str  # what the app connects to
    inspect_url: str  # what the test reads every row with (past row-level security)
    reset: Callable[[], None]  # puts the seeded database back
    redis_url: str
    redis_prefix: str
    users: dict[str, int]
    tokens: dict[str, str]
    ids: dict[str, int]  # lead_A, match_A, biz_A, call_A, notification_A, ... and message, dnc, prospect, report
    settings_form: dict[str, dict[str, str]]  # side -> a valid settings form of that side's business
    rules_form: dict[str, str] = dataclasses.field(default_factory=dict)  # the rules in force, as the form sends them
    baseline: dict[str, dict[Any, tuple]] = dataclasses.field(default_factory=dict)
    dirty: bool = False

    def side(self, side: str, name: str) -> int:
        return self.ids[f"{name}_{side}"]


def _business(owner_id: int, name: str, zip_code: str, lat: float, lon: float, notify: str) -> Business:
    return Business(
        verified_at=utcnow(),
        owner_id=owner_id,
        name=name,
        categories=["plumbing"],
        zip=zip_code,
        latitude=lat,
        longitude=lon,
        radius_miles=30,
        rating=4.8,
        review_count=10,
        plan="pro",
        monthly_lead_cap=100,
        notify_email=notify,
        phone="(317) 846-2000" if name.startswith("X") else "(646) 484-7000",
    )


def _seed(s: Session) -> tuple[dict[str, int], dict[str, int]]:
    users: dict[str, int] = {}
    for actor, kind, email in [
        ("consumer_a", "consumer", "acct-a-q7@example.com"),
        ("consumer_b", "consumer", "acct-b-q7@example.com"),
        ("business_x", "business_owner", "owner-x-q7@example.com"),
        ("business_y", "business_owner", "owner-y-q7@example.com"),
    ]:
        users[actor] = accounts.register(s, email, PASSWORD, kind).id
    admin = accounts.ensure_admin(s, "admin-q7@example.com", PASSWORD)
    users["admin"] = admin.id
    x = _business(users["business_x"], "Xq7 Plumbing", "46032", 39.97, -86.12, "notify-x-q7@example.com")
    y = _business(users["business_y"], "Yq7 Plumbing", "10001", 40.75, -73.99, "notify-y-q7@example.com")
    s.add_all([x, y])
    s.commit()
    ids = {"biz_A": x.id, "biz_B": y.id}
    for side, zip_code, email, phone, consumer in [
        ("A", "46032", CONTACT_A[0], "(317) 846-2200", "consumer_a"),
        ("B", "10001", CONTACT_B[0], "(646) 484-7211", "consumer_b"),
    ]:
        accepted = submit(
            s,
            Submission(
                text=f"My water heater is leaking all over the garage floor TEXT{side}Q7, need a plumber today, "
                "budget around $500",
                zip=zip_code,
                email=email,
                phone=phone,
                consent_ai_calls=True,
                phone_verified_hash=crypto.phone_hash(phones.parse(phone)),
                consumer_id=users[consumer],
                client_ip="",
            ),
        )
        assert process_lead(accepted.lead_id) == "matched", side
        s.expire_all()
        match = s.exec(select(Match).where(Match.lead_id == accepted.lead_id)).one()
        assert match.business_id == ids[f"biz_{side}"], side
        ids[f"lead_{side}"], ids[f"match_{side}"] = accepted.lead_id, match.id
        owner = users[SIDES[side]["business"]]
        call = Call(
            lead_id=accepted.lead_id,
            business_id=match.business_id,
            requested_by_id=owner,
            status="scheduled",
            scheduled_for=utcnow() + timedelta(days=1),
            objective=f"CALL{'X' if side == 'A' else 'Y'}Q7 confirm the leak",
            summary=f"CALL{'X' if side == 'A' else 'Y'}Q7",
            recording_ref=f"recordings/q7-{side}.mp3",
            provider="simulated",
        )
        s.add(call)
        s.flush()
        ids[f"call_{side}"] = call.id
        notification = s.exec(select(Notification).where(Notification.lead_id == accepted.lead_id)).first()
        assert notification is not None, side
        notification.status, notification.last_error = "failed", "q7 test failure"
        s.add(notification)
        ids[f"notification_{side}"] = notification.id
    message = contact.submit_message(
        s, name="Q7 Sender", email="contact-q7@example.com", subject="Hello", body="MSGQ7 a private message"
    )
    prospect = Prospect(
        place_id="q7-place", name="ProspectQ7 Roofing", email="prospect-q7@example.com", zip="46032", category="roofing"
    )
    s.add(prospect)
    s.flush()
    dnc = admin_ops.add_dnc(s, admin, "(317) 846-2999", reason="DNCQ7")
    current = rules.current_rules(s).rules
    saved = rules.save_rules(s, admin, dict(current), note="q7 baseline")
    report = weekly_audit.run_weekly_audit(s, admin)
    s.commit()
    ids.update(message=message.id, prospect=prospect.id, dnc=dnc.id, report=report.id, rules_version=saved.version)
    return users, ids


def _settings_form(values: dict[str, str], checked: list[str]) -> dict[str, str]:
    form = dict(values)
    for item in checked:
        name, _, value = item.partition(":")
        form[name] = value or "on"
    return form


def _sqlite_backend(tmp_path_factory, template: Path) -> tuple[str, str, Callable[[], None], Callable[[], None]]:
    """(url, inspect url, keep-as-seeded, reset) of a SQLite copy of the migrated template."""
    folder = tmp_path_factory.mktemp("access-matrix")
    db_path, seeded = folder / "leadapp.db", folder / "seeded.db"
    shutil.copyfile(template, db_path)
    url = f"sqlite:///{db_path}"

    def keep() -> None:
        dispose_engine(url)
        shutil.copyfile(db_path, seeded)

    def reset() -> None:
        dispose_engine(url)
        for suffix in ("-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(seeded, db_path)

    return url, url, keep, reset


def _postgres_backend(roles: WalledRoles) -> tuple[WalledDatabase, Callable[[], None], Callable[[], None]]:
    """A walled PostgreSQL database (the app as its application role), with keep-as-seeded and reset."""
    import secrets

    name = f"{roles.owner[:-6]}_m{secrets.token_hex(3)}"
    db = clone_walled(roles, name)
    seeded: list[WalledDatabase] = []

    def keep() -> None:
        for url in (db.app_url, db.admin_url):
            dispose_engine(url)
        seeded.append(clone_walled(roles, f"{name}_seeded", template=name))

    def reset() -> None:
        drop_walled(db)
        clone_walled(roles, name, template=seeded[0].name)

    def drop() -> None:
        drop_walled(db)
        for copy in seeded:
            drop_walled(copy)

    reset.drop = drop  # type: ignore[attr-defined]
    return db, keep, reset


@pytest.fixture(scope="module", params=list(BACKENDS))
def world(request: pytest.FixtureRequest, tmp_path_factory, private_redis_url: str) -> Iterator[World]:
    import secrets

    backend = request.param
    if backend == "sqlite":
        url, inspect_url, keep, reset = _sqlite_backend(tmp_path_factory, request.getfixturevalue("_sqlite_template"))
    else:
        db, keep, reset = _postgres_backend(request.getfixturevalue("walled_roles"))
        url, inspect_url = db.app_url, db.admin_url
    prefix = f"test-{secrets.token_hex(4)}"
    try:
        with pytest.MonkeyPatch.context() as mp:
            for key, value in {
                "DATABASE_URL": url,
                "REDIS_URL": private_redis_url,
                "REDIS_PREFIX": prefix,
                "SECRET_KEY": secrets.token_hex(16),
                "ENVIRONMENT": "test",
                "SENTRY_DSN": "",
                "PASSWORD_HASH_MEMORY_KIB": "1024",
                "PASSWORD_HASH_TIME_COST": "1",
                "ACCESS_ROW_CHECKS_OFF": "true" if backend == "rls-alone" else "false",
            }.items():
                mp.setenv(key, value)
            mp.setattr("leadapp.core.services.notify.send_batch", lambda ids: {})  # nothing is sent in this module
            clear_app_caches()
            from leadapp.core.db import get_engine

            # The world is seeded the way the platform makes it: as the system (the worker's pipeline).
            with rls.system_context("test: seed the access matrix"), Session(get_engine(), expire_on_commit=False) as s:
                users, ids = _seed(s)
                tokens = {"anonymous": ""}
                for actor in ACTORS[1:]:
                    tokens[actor] = accounts.open_session(s, s.get(User, users[actor]))
                s.commit()
                rules_form = rules.rules_to_form(rules.current_rules(s).rules)
            w = World(backend, url, inspect_url, reset, private_redis_url, prefix, users, tokens, ids, {}, rules_form)
            from leadapp.pages.business.settings import BusinessSettingsState

            for side in SIDES:
                _, state = _state(
                    w, BusinessSettingsState, "admin", path=f"/dashboard/settings?business={ids[f'biz_{side}']}"
                )
                _run(BusinessSettingsState.event_handlers["load"], state, ())
                assert state.business_id == ids[f"biz_{side}"], state.errors
                w.settings_form[side] = _settings_form(dict(state.values), list(state.checked))
            keep()
            w.baseline = snapshot(w)
            try:
                yield w
            finally:
                dispose_engine(url)
                dispose_engine(inspect_url)
                clear_app_caches()
    finally:
        if backend != "sqlite":
            reset.drop()  # type: ignore[attr-defined]


# --- database snapshots ---------------------------------------------------------------------------

# Columns a read legitimately changes.
VOLATILE = {("auth_sessions", "last_seen_at")}


def snapshot(w: World) -> dict[str, dict[Any, tuple]]:
    """Every row of every table, by primary key, as a tuple of (column, value) pairs (read past row-level
    security; encrypted columns decrypted)."""
    from leadapp.core.db import engine_for

    out: dict[str, dict[Any, tuple]] = {}
    with engine_for(w.inspect_url).connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            cols = [c for c in table.columns if (table.name, c.name) not in VOLATILE]
            pk = [c.name for c in table.primary_key.columns]
            rows = {}
            for row in conn.execute(sa_select(*cols)).mappings():
                key = tuple(row[p] for p in pk) if pk else tuple(row.values())
                rows[key] = tuple((c.name, row[c.name]) for c in cols)
            out[table.name] = rows
    return out


@dataclasses.dataclass
class Diff:
    inserted: list[tuple[str, dict]]
    updated: list[tuple[str, dict, dict]]
    deleted: list[tuple[str, dict]]

    def __bool__(self) -> bool:
        return bool(self.inserted or self.updated or self.deleted)

    def describe(self) -> str:
        parts = [f"+{t}#{r.get('id')}" for t, r in self.inserted]
        for t, old, new in self.updated:
            changed = {k: (old[k], new[k]) for k in new if old.get(k) != new[k]}
            parts.append(f"~{t}#{new.get('id')} {changed}")
        parts += [f"-{t}#{r.get('id')}" for t, r in self.deleted]
        return "; ".join(parts)[:1500]


def diff(before: dict[str, dict[Any, tuple]], after: dict[str, dict[Any, tuple]]) -> Diff:
    d = Diff([], [], [])
    for table, rows in after.items():
        old = before.get(table, {})
        for key, row in rows.items():
            if key not in old:
                d.inserted.append((table, dict(row)))
            elif old[key] != row:
                d.updated.append((table, dict(old[key]), dict(row)))
        d.deleted += [(table, dict(row)) for key, row in old.items() if key not in rows]
    return d


def restore(w: World) -> None:
    """Put the seeded database back (only after a call that wrote) and forget this module's Redis keys."""
    if w.dirty:
        dispose_engine(w.url)
        dispose_engine(w.inspect_url)
        w.reset()
        w.dirty = False
    client = redis.Redis.from_url(w.redis_url, socket_connect_timeout=2, socket_timeout=5)
    try:
        stale = list(client.scan_iter(match=f"*{w.redis_prefix}*", count=500))
        if stale:
            client.delete(*stale)
    finally:
        client.close()


# --- calling a handler the way the Reflex backend does --------------------------------------------


def app_states() -> list[type[AuthState]]:
    """Every page state of the app: the AuthState subclasses reachable once the app module is imported."""
    import leadapp.leadapp  # noqa: F401  (imports every page module, as the server does)

    found, todo = [], [AuthState]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.get_substates())
    return sorted(found, key=lambda c: c.get_full_name())


def _state(w: World, cls: type[AuthState], actor: str, path: str = "/") -> tuple[rx.State, AuthState]:
    root = rx.State(_reflex_internal_init=True)
    root.router = RouterData(url=ReflexURL(f"http://localhost:3000{path}"))
    state = (
        root.get_substate(cls.get_full_name().split(".")[1:])
        if cls is not AuthState
        else root.get_substate(AuthState.get_full_name().split(".")[1:])
    )
    state.session_token = w.tokens[actor]
    return root, state


class _Background:
    """What a background handler gets instead of the StateProxy: the state, with `async with self` a no-op."""

    def __init__(self, state: AuthState) -> None:
        object.__setattr__(self, "_state", state)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._state, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._state, name, value)

    async def __aenter__(self) -> _Background:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


def _drain(result: Any) -> list[Any]:
    """Run what a handler returned (coroutine, generator) and collect the events it yielded or returned."""
    events: list[Any] = []

    def collect(value: Any) -> None:
        if value is None:
            return
        if isinstance(value, list | tuple):
            for v in value:
                collect(v)
        else:
            events.append(value)

    if inspect.iscoroutine(result):
        collect(asyncio.run(result))
    elif inspect.isasyncgen(result):

        async def run() -> None:
            async for value in result:
                collect(value)

        asyncio.run(run())
    elif inspect.isgenerator(result):
        for value in result:
            collect(value)
    else:
        collect(result)
    return events


def _run(handler: rx.EventHandler, state: AuthState, args: tuple) -> list[Any]:
    target = _Background(state) if getattr(handler, "is_background", False) else state
    return _drain(handler.fn(target, *args))


def _follow(root: rx.State, events: list[Any], depth: int = 0) -> list[str]:
    """Run the server-side events a handler chained (e.g. `return DashboardState.load`); return redirects."""
    redirects: list[str] = []
    for event in events:
        handler = event.handler if isinstance(event, rx.event.EventSpec) else event
        state_cls = getattr(handler, "state", None)
        if state_cls is None:  # a client-side event: a redirect, a download, a toast ...
            args = dict((str(k), getattr(v, "_var_value", str(v))) for k, v in getattr(event, "args", ()))
            redirects.append(str(args.get("path", args.get("url", ""))))
            continue
        if getattr(handler, "is_background", False):
            continue  # a background task runs on its own (and is called directly by its own case)
        if depth < 3 and not getattr(event, "args", ()):
            sub = root.get_substate(state_cls.get_full_name().split(".")[1:])
            redirects += _follow(root, _run(handler, sub, ()), depth + 1)
    return redirects


def browser_text(root: rx.State) -> str:
    """Everything the browser receives of this tab's state, as one searchable string."""
    return json.dumps(root.dict(), default=str).lower()


# --- the plan: arguments and the write policy of each handler -------------------------------------


@dataclasses.dataclass(frozen=True)
class Ctx:
    """The target side's ids (the data the call aims at)."""

    w: World
    side: str

    def __getattr__(self, name: str) -> int:
        return self.w.side(self.side, name)

    @property
    def consumer_user(self) -> int:
        return self.w.users[SIDES[self.side]["consumer"]]

    @property
    def owner_user(self) -> int:
        return self.w.users[SIDES[self.side]["business"]]


@dataclasses.dataclass(frozen=True)
class Plan:
    """How to call one handler against a side, and who may change the database through it.

    writers: "none" (a read: nobody writes), "admin", "consumer" / "business" (that side's owner or an admin),
    "self" (any logged-in actor, on their own rows only), "public" (anyone may add rows; nobody updates or
    deletes another's).
    """

    writers: str = "none"
    args: Callable[[Ctx], tuple] = lambda c: ()
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
    "AdminCallState.open_call": Plan(path=lambda c: f"/admin/calls/{c.call}"),
    "OutboxState.load": Plan(),
    "OutboxState.apply_filters": Plan(args=lambda c: ({"status": "failed"},)),
    "OutboxState.go_page": Plan(args=lambda c: (1,)),
    "OutboxState.open_detail": Plan(args=lambda c: (S(c.notification),)),
    "OutboxState.set_detail_open": Plan(args=lambda c: (False,)),
    "OutboxState.retry": Plan(writers="admin", args=lambda c: (S(c.notification),)),
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
    "ReportsState.older": Plan(),
    "ReportsState.newer": Plan(),
    "RulesState.load": Plan(),
    "RulesState.save": Plan(
        writers="admin", args=lambda c: ({**c.w.rules_form, "note": "q7 edit", "min_words": "11"},)
    ),
    "RulesState.ask_rollback": Plan(args=lambda c: (c.w.ids["rules_version"],)),
    "RulesState.cancel_rollback": Plan(),
    "RulesState.roll_back": Plan(writers="admin", preset=lambda c: {"confirm_version": c.w.ids["rules_version"]}),
    "RulesState.older": Plan(),
    "RulesState.newer": Plan(),
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
    "PortalState.verify_phone_code": Plan(writers="consumer", args=lambda c: ({"lead": S(c.lead), "code": "123456"},)),
    "InterviewState.open": Plan(writers="public"),
    "InterviewState.restart": Plan(writers="public"),
    "InterviewState.begin": Plan(args=lambda c: ({"cf-turnstile-response": "made-up"},)),
    "InterviewState.answer": Plan(writers="public", args=lambda c: ({"message": "my sink is blocked"},)),
    "InterviewState.send": Plan(writers="public", args=lambda c: ({"consent_ai_calls": "on"},)),
    "InterviewState.send_phone_code": Plan(writers="public"),
    "InterviewState.verify_phone_code": Plan(writers="public", args=lambda c: ({"code": "123456"},)),
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
    "UnsubscribeState.confirm": Plan(),
}


def _email(c: Ctx) -> str:
    return f"acct-{c.side.lower()}-q7@example.com"


def _selected(c: Ctx) -> dict[str, Any]:
    # Only the id: the page had it from an earlier (admin) event; the email would be a marker the test planted.
    return {"selected": {"id": S(c.consumer_user), "email": "", "role": "consumer"}}


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


def test_every_handler_has_a_plan():
    keys = {f"{cls.__name__}.{name}" for cls, name in CASES}
    assert not keys - PLANS.keys(), f"handlers without a plan in the access matrix: {sorted(keys - PLANS.keys())}"
    assert not PLANS.keys() - keys, f"plans for handlers that no longer exist: {sorted(PLANS.keys() - keys)}"
    assert len(NOT_CALLED) <= 3 and all(any(n in c.event_handlers for c in app_states()) for n in NOT_CALLED)
    assert len(CASES) > 100


def test_no_var_can_be_set_from_the_browser():
    """`setvar` is the one generic handler left out of the matrix: it must not be able to set any var."""
    for cls in app_states():
        root = rx.State(_reflex_internal_init=True)
        state = root.get_substate(cls.get_full_name().split(".")[1:])
        for var in cls.base_vars:
            if f"set_{var}" in cls.event_handlers:
                continue  # an explicit handler of that name: `setvar` reaches only it, and the matrix calls it
            with pytest.raises(AttributeError):
                cls.event_handlers["setvar"].fn(state, var, "1")


# --- the matrix -----------------------------------------------------------------------------------


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


def check_call(w: World, cls: type[AuthState], name: str, actor: str, side: str) -> list[str]:
    """Call one handler as `actor` against `side`'s data; the problems found (empty when all is right)."""
    plan, ctx = PLANS[f"{cls.__name__}.{name}"], Ctx(w, side)
    restore(w)
    root, state = _state(w, cls, actor, plan.path(ctx))
    preset = plan.preset(ctx)
    for var, value in preset.items():  # what the page showed before the event (e.g. an open detail)
        setattr(state, var, value)
    where = f"{cls.__name__}.{name} as {actor} on side {side}"
    try:
        redirects = _follow(root, _run(cls.event_handlers[name], state, plan.args(ctx)))
    except Exception as exc:  # a refusal is a clean outcome, never an exception
        w.dirty = True
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
    for marker, allowed in MARKERS.items():
        allowed = set(allowed)
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


# Cases where the matrix found a product bug in a file this change may not edit: (handler, actor) -> reason.
KNOWN_FAILURES: dict[str, str] = {}


@pytest.mark.parametrize(("cls", "name"), [pytest.param(c, n, id=f"{c.__name__}.{n}") for c, n in CASES])
def test_handler_against_every_actor(world: World, cls: type[AuthState], name: str):
    key = f"{cls.__name__}.{name}"
    if key in KNOWN_FAILURES:
        pytest.xfail(KNOWN_FAILURES[key])  # replaced by a strict marker below when listed
    problems = [p for side in SIDES for actor in ACTORS for p in check_call(world, cls, name, actor, side)]
    restore(world)
    assert not problems, "\n".join(problems)


# --- the rightful owner can act, and sees their own data ------------------------------------------

# (handler, actor, side, a table the call must change)
OWNER_ACTIONS = [
    ("DiscoveryState.invite", "admin", "A", "invitations"),
    ("MessagesState.mark", "admin", "A", "contact_messages"),
    ("BusinessesState.set_active", "admin", "B", "businesses"),
    ("BusinessesState.set_rating", "admin", "A", "businesses"),
    ("PhoneLineState.connect_local", "business_x", "A", "businesses"),
    ("LeadsState.confirm_action", "admin", "B", "leads"),
    ("DncState.add", "admin", "A", "do_not_call"),
    ("OutboxState.retry", "admin", "B", "notifications"),
    ("ReportsState.run_now", "admin", "A", "audit_reports"),
    ("RulesState.save", "admin", "A", "platform_rules"),
    ("UsersState.set_active", "admin", "B", "users"),
    ("DashboardState.accept", "business_y", "B", "matches"),
    ("DashboardState.cancel_call", "business_x", "A", "calls"),
    ("BusinessSettingsState.toggle_pause", "business_y", "B", "businesses"),
    ("BusinessSettingsState.save", "business_x", "A", "businesses"),
    ("PortalState.withdraw", "consumer_b", "B", "leads"),
    ("PortalState.delete_my_data", "consumer_a", "A", "leads"),
    ("ContactState.submit", "anonymous", "A", "contact_messages"),
    ("RequestState.submit", "consumer_a", "A", "leads"),
    ("AuthState.logout", "consumer_a", "A", "auth_sessions"),
]


def _call(w: World, key: str, actor: str, side: str) -> tuple[rx.State, Diff]:
    cls = next(c for c in app_states() if c.__name__ == key.split(".")[0])
    plan, ctx = PLANS[key], Ctx(w, side)
    restore(w)
    root, state = _state(w, cls, actor, plan.path(ctx))
    for var, value in plan.preset(ctx).items():
        setattr(state, var, value)
    _follow(root, _run(cls.event_handlers[key.split(".")[1]], state, plan.args(ctx)))
    changes = diff(w.baseline, snapshot(w))
    w.dirty = True
    return root, changes


@pytest.mark.parametrize(("key", "actor", "side", "table"), OWNER_ACTIONS, ids=[a[0] for a in OWNER_ACTIONS])
def test_the_rightful_owner_can_act(world: World, key: str, actor: str, side: str, table: str):
    _, changes = _call(world, key, actor, side)
    changed = {t for t, *_ in changes.inserted + changes.updated + changes.deleted}
    assert table in changed, (key, actor, changes.describe())


@pytest.mark.parametrize(
    ("key", "actor", "side", "must_see", "must_not_see"),
    [
        ("PortalState.load", "consumer_a", "A", ["TEXTAQ7", "Xq7 Plumbing"], ["TEXTBQ7", "notify-x-q7@example.com"]),
        ("DashboardState.load", "business_x", "A", ["TEXTAQ7", "Xq7 Plumbing"], ["TEXTBQ7", *CONTACT_A]),
        ("UsersState.load", "admin", "A", ["acct-a-q7@example.com", "owner-y-q7@example.com"], []),
        ("MessagesState.load", "admin", "A", ["MSGQ7"], []),
        ("BusinessSettingsState.load", "business_y", "B", ["notify-y-q7@example.com"], ["notify-x-q7@example.com"]),
    ],
)
def test_each_actor_sees_its_own_data(
    world: World, key: str, actor: str, side: str, must_see: list[str], must_not_see: list[str]
):
    root, _ = _call(world, key, actor, side)
    text = browser_text(root)
    assert all(m.lower() in text for m in must_see), (key, actor)
    assert not any(m.lower() in text for m in must_not_see), (key, actor)


def test_the_business_sees_contact_details_once_it_accepted(world: World):
    _call(world, "DashboardState.accept", "business_x", "A")  # the accept stays: no restore in between
    world.dirty = False
    from leadapp.pages.business.dashboard import DashboardState

    root, state = _state(world, DashboardState, "business_x")
    _run(DashboardState.event_handlers["open_detail"], state, (S(world.ids["match_A"]),))
    world.dirty = True
    assert CONTACT_A[0] in browser_text(root)


# --- the public API -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RoutePlan:
    """A request for one route against `side`, which actors get a 2xx (the others: 401/403/404 JSON), and a
    check of what a 2xx answer and the database may hold."""

    request: Callable[[Ctx], dict[str, Any]]
    url: Callable[[Ctx], str] | None = None  # for a path with parameters
    allowed: frozenset[str] = frozenset(ACTORS)
    writes: bool = False


ROUTE_PLANS: dict[tuple[str, str], RoutePlan] = {
    ("/api/v1/health", "GET"): RoutePlan(lambda c: {}),
    # the API's description is public, and the same for everyone (it names no data)
    ("/api/v1/openapi.json", "GET"): RoutePlan(lambda c: {}),
    ("/api/v1/leads", "POST"): RoutePlan(
        lambda c: {
            "json": {
                "text": "The bathroom faucet drips all night and the handle is loose, need it fixed this week",
                "zip": "46032" if c.side == "A" else "10001",
                "email": "api-q7@example.com",
                # not a field of the API: a caller cannot file a request into someone else's portal
                "consumer_id": c.consumer_user,
            }
        },
        # A logged-in user's session token sent as "Authorization: Bearer" is no partner API key: 401.
        allowed=frozenset({"anonymous"}),
        writes=True,
    ),
    # the token is the only credential; a session cookie or bearer token unsubscribes nobody
    ("/api/v1/unsubscribe/{token}", "POST"): RoutePlan(
        lambda c: {"content": b"List-Unsubscribe=One-Click"},
        url=lambda c: f"/api/v1/unsubscribe/{c.w.ids['prospect']}-guessed",
        allowed=frozenset(),
    ),
    # a recording opens with its signed link only (checked against the viewer it was made for); a session
    # cookie, a bearer token or a guessed token plays nothing
    ("/api/v1/recordings/{token}", "GET"): RoutePlan(
        lambda c: {}, url=lambda c: f"/api/v1/recordings/{c.call}.guessed", allowed=frozenset()
    ),
}


def api_routes() -> list[tuple[str, str]]:
    from leadapp.api.app import api

    return sorted((r.path, m) for r in api.routes for m in (r.methods or ()) if m != "HEAD")


def test_every_api_route_has_a_plan():
    assert set(api_routes()) == set(ROUTE_PLANS), "an API route without a plan in the access matrix"


@pytest.mark.parametrize(("path", "method"), api_routes())
def test_api_route_against_every_actor(world: World, path: str, method: str):
    from leadapp.api.app import api

    plan = ROUTE_PLANS[(path, method)]
    problems = []
    for side in SIDES:
        for actor in ACTORS:
            restore(world)
            token = world.tokens[actor]
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            with TestClient(api, cookies={SESSION_COOKIE: token} if token else None) as client:
                url = plan.url(Ctx(world, side)) if plan.url else path
                response = client.request(method, url, headers=headers, **plan.request(Ctx(world, side)))
            changes = diff(world.baseline, snapshot(world))
            world.dirty = bool(changes)
            where = f"{method} {path} as {actor} on side {side}"
            if actor in plan.allowed:
                if not 200 <= response.status_code < 300:
                    problems.append(f"{where}: {response.status_code} {response.text[:200]}")
            elif response.status_code not in (401, 403, 404) or "error" not in response.json():
                problems.append(f"{where}: not refused: {response.status_code}")
            body = response.text.lower()
            problems += [f"{where}: the answer shows {m!r}" for m in MARKERS if m.lower() in body]
            if changes and not plan.writes:
                problems.append(f"{where}: changed the database: {changes.describe()}")
            if changes.updated or changes.deleted:
                problems.append(f"{where}: updated or deleted rows: {changes.describe()}")
            owned = [r for t, r in changes.inserted if t == "leads" and r.get("consumer_id") is not None]
            if owned:
                problems.append(f"{where}: a request filed into a consumer's portal: {owned}")
    restore(world)
    assert not problems, "\n".join(problems)


# --- the runs mean what they say -------------------------------------------------------------------

# Attacks the access layer's row checks stop on their own: (handler, attacker, the victim's side).
ROW_CHECKED_ATTACKS = [
    ("DashboardState.accept", "business_y", "A"),  # accept another business's lead (and see its contact)
    ("DashboardState.open_detail", "business_y", "A"),  # read another business's lead
    ("PortalState.withdraw", "consumer_b", "A"),  # withdraw another consumer's request
    ("BusinessSettingsState.load", "business_y", "A"),  # read another business's settings
]


def _attack(world: World, key: str, actor: str, side: str) -> list[str]:
    cls = next(c for c in app_states() if c.__name__ == key.split(".")[0])
    return check_call(world, cls, key.split(".")[1], actor, side)


def test_with_the_row_checks_off_only_row_level_security_stops_the_attacks(
    world: World, monkeypatch: pytest.MonkeyPatch
):
    """Proof that the `rls-alone` run tests the database alone: with the row checks off, these attacks succeed on
    SQLite (no second wall) and fail on PostgreSQL (row-level security refuses what the application let through)."""
    from leadapp.core.settings import get_settings

    if world.backend == "postgres":
        pytest.skip("the run with the row checks on")
    monkeypatch.setenv("ACCESS_ROW_CHECKS_OFF", "true")
    get_settings.cache_clear()
    try:
        outcomes = {attack: _attack(world, *attack) for attack in ROW_CHECKED_ATTACKS}
        restore(world)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    if world.backend == "sqlite":
        assert all(outcomes.values()), f"an attack failed without the row checks: {outcomes}"
    else:
        assert not any(outcomes.values()), outcomes


def test_the_database_itself_walls_the_rows(world: World):
    """On PostgreSQL the app's role is walled: a session nobody entered sees no tenant row, a consumer only theirs;
    the superuser (the test's inspection) sees both sides."""
    from leadapp.core import db_roles
    from leadapp.core.db import get_engine
    from leadapp.core.models import Lead
    from leadapp.core.services import access

    if world.backend == "sqlite":
        pytest.skip("SQLite has no row-level security")
    assert db_roles.app_role_problems(world.url) == []
    leads = {dict(r)["id"] for r in snapshot(world)["leads"].values()}
    assert leads == {world.ids["lead_A"], world.ids["lead_B"]}
    with Session(get_engine()) as s:
        assert s.exec(select(Lead)).all() == [] and s.exec(select(Match)).all() == []
        access.enter(s, s.get(User, world.users["consumer_a"]))
        assert [lead.id for lead in s.exec(select(Lead)).all()] == [world.ids["lead_A"]]
        access.enter(s, s.get(User, world.users["business_y"]))
        assert [m.id for m in s.exec(select(Match)).all()] == [world.ids["match_B"]]
