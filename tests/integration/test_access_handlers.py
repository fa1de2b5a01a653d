"""The access matrix, enumerated: every event handler of every page state and every public API route, called as
anonymous, consumer A, consumer B, business X, business Y and an admin, against the *other* side's data.

The handlers are found by introspection (every `AuthState` subclass the app imports), so a new handler fails
`test_every_handler_has_a_plan` until it is given arguments and a write policy in `access_plans.py` (a new API
route: in `test_access_api.py`). For each call:

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

The seeded world is `access_world.py`; the public API's routes are `test_access_api.py`. One seeded
database per run; it is put back from a seeded copy after any call that wrote something.
"""

from __future__ import annotations

import pytest
import reflex as rx

from leadapp.state.auth import AuthState
from tests.integration import access_world
from tests.integration.access_plans import CASES, PLANS, S, call_handler, check_call, state_class
from tests.integration.access_world import (
    ACTORS,
    CONTACT_A,
    NOT_CALLED,
    SIDES,
    Diff,
    World,
    _run,
    _state,
    app_states,
    browser_text,
    diff,
    restore,
    snapshot,
)

# The seeded world, under the name this module's tests ask for (one per backend, for this module).
world = access_world.world


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
    ("WebhookOutboxState.resend", "admin", "B", "webhook_deliveries"),
    ("ApiKeysState.set_webhook", "admin", "A", "api_keys"),
    ("ReportsState.run_now", "admin", "A", "audit_reports"),
    ("RulesState.save", "admin", "A", "platform_rules"),
    ("UsersState.set_active", "admin", "B", "users"),
    ("DashboardState.accept", "business_y", "B", "matches"),
    ("DashboardState.reply_review", "business_x", "A", "reviews"),
    ("AdminLeadState.hide_review", "admin", "B", "reviews"),
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
    root, _ = call_handler(w, state_class(key), key.split(".")[1], actor, side)
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
        ("PortalState.load", "consumer_b", "B", ["QUOTEBQ7"], ["QUOTEAQ7"]),
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


# --- the runs mean what they say -------------------------------------------------------------------

# Attacks the access layer's row checks stop on their own: (handler, attacker, the victim's side).
ROW_CHECKED_ATTACKS = [
    ("DashboardState.accept", "business_y", "A"),  # accept another business's lead (and see its contact)
    ("DashboardState.open_detail", "business_y", "A"),  # read another business's lead
    ("PortalState.withdraw", "consumer_b", "A"),  # withdraw another consumer's request
    ("BusinessSettingsState.load", "business_y", "A"),  # read another business's settings
]


def _attack(world: World, key: str, actor: str, side: str) -> list[str]:
    return check_call(world, state_class(key), key.split(".")[1], actor, side)


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
