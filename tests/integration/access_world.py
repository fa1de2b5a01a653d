"""The seeded world of the access matrix (`test_access_handlers.py`, `test_access_api.py`): six actors and two
sides of private data with marker strings planted in it, on each of the three backends (SQLite, PostgreSQL, and
PostgreSQL with the access layer's row checks off); row-by-row snapshots of the database; and calling a page
state's event handler the way the Reflex backend does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
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

from leadapp.core import crypto, phones, rls
from leadapp.core.models import (
    ApiKey,
    Business,
    Call,
    Conversion,
    Notification,
    Prospect,
    Quote,
    Review,
    User,
    WebhookDelivery,
)
from leadapp.core.models.base import utcnow
from leadapp.core.services import accounts, admin_ops, contact, rules, weekly_audit
from leadapp.core.services.intake import Submission
from leadapp.state.auth import AuthState
from tests import factories
from tests.background_state import Background
from tests.conftest import (
    WalledDatabase,
    WalledRoles,
    clear_app_caches,
    clone_walled,
    deployment_env,
    dispose_engine,
    drop_walled,
    use_env,
)

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
    "HOOKQ7": {"admin"},  # a partner's webhook delivery: the platform's own outbox
    "TEXTAQ7": {"consumer_a", "business_x", "admin"},
    "TEXTBQ7": {"consumer_b", "business_y", "admin"},
    "Xq7 Plumbing": {"business_x", "consumer_a", "admin"},
    "Yq7 Plumbing": {"business_y", "consumer_b", "admin"},
    "notify-x-q7@example.com": {"business_x", "admin"},
    "notify-y-q7@example.com": {"business_y", "admin"},
    "QUOTEAQ7": {"consumer_a", "business_x", "admin"},  # a business's quote: its consumer and that business
    "QUOTEBQ7": {"consumer_b", "business_y", "admin"},
    "REVIEWAQ7": {"consumer_a", "business_x", "admin"},  # a verified review of a job: its sides (public once shown)
    "REVIEWBQ7": {"consumer_b", "business_y", "admin"},
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
        [match] = factories.matched_lead(
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
        assert match.business_id == ids[f"biz_{side}"], side
        ids[f"lead_{side}"], ids[f"match_{side}"] = match.lead_id, match.id
        owner = users[SIDES[side]["business"]]
        call = Call(
            lead_id=match.lead_id,
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
        quote = Quote(
            lead_id=match.lead_id,
            business_id=match.business_id,
            match_id=match.id,
            amount_min_cents=40_000,
            amount_max_cents=60_000,
            included=f"QUOTE{side}Q7 parts and labour",
            valid_until=(utcnow() + timedelta(days=7)).date(),
            expires_at=utcnow() + timedelta(days=7),
            created_by_id=owner,
        )
        s.add(quote)
        s.flush()
        ids[f"quote_{side}"] = quote.id
        # A job recorded and reviewed (the match itself stays as it is, so the other handlers' plans hold).
        conversion = Conversion(
            lead_id=match.lead_id, business_id=match.business_id, match_id=match.id, job_value_cents=45_000
        )
        s.add(conversion)
        s.flush()
        review = Review(
            conversion_id=conversion.id,
            lead_id=match.lead_id,
            business_id=match.business_id,
            consumer_id=users[consumer],
            stars=4,
            text=f"REVIEW{side}Q7 fixed the leak",
        )
        s.add(review)
        s.flush()
        ids[f"conversion_{side}"], ids[f"review_{side}"] = conversion.id, review.id
        notification = s.exec(select(Notification).where(Notification.lead_id == match.lead_id)).first()
        assert notification is not None, side
        notification.status, notification.last_error = "failed", "q7 test failure"
        s.add(notification)
        ids[f"notification_{side}"] = notification.id
    # A partner's key with a webhook, and a failed delivery of each side's lead to it (admins only see them).
    key = ApiKey(
        name="PartnerQ7",
        token_hash="q7" * 32,
        token_prefix="lak_q7",
        webhook_url="https://partner-q7.example/hooks",
        webhook_secret="whsec_" + "A" * 44,
    )
    s.add(key)
    s.flush()
    ids["api_key"] = key.id
    for side in SIDES:
        lead_id = ids[f"lead_{side}"]
        delivery = WebhookDelivery(
            webhook_id=f"msg_q7{side}",
            api_key_id=key.id,
            lead_id=lead_id,
            event="lead.matched",
            dedupe_key=f"lead:{lead_id}:lead.matched",
            payload={"type": "lead.matched", "data": {"lead_id": lead_id, "status": "matched"}},
            status="failed",
            attempts=8,
            last_error=f"HOOKQ7 HTTP 500 from side {side}",
        )
        s.add(delivery)
        s.flush()
        ids[f"webhook_{side}"] = delivery.id
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

    backend = request.param
    if backend == "sqlite":
        url, inspect_url, keep, reset = _sqlite_backend(tmp_path_factory, request.getfixturevalue("_sqlite_template"))
    else:
        db, keep, reset = _postgres_backend(request.getfixturevalue("walled_roles"))
        url, inspect_url = db.app_url, db.admin_url
    env = deployment_env(
        private_redis_url, DATABASE_URL=url, ACCESS_ROW_CHECKS_OFF="true" if backend == "rls-alone" else "false"
    )
    prefix = env["REDIS_PREFIX"]
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr("leadapp.core.services.notify.send_batch", lambda ids: {})  # nothing is sent in this module
            use_env(mp, env)
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
    target = Background(state) if getattr(handler, "is_background", False) else state
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
