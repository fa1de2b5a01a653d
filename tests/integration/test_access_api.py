"""The access matrix's public API: every route of the API (found on the app, so a new one fails
`test_every_api_route_has_a_plan` until it is given a plan here) requested as anonymous, consumer A, consumer B,
business X, business Y and an admin (cookie and bearer token) against both sides, on the three backends of
`access_world.py`: who gets a 2xx, what the answer may show, what the database may gain; and, on PostgreSQL,
the database's own wall between the sides.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from leadapp.core.models import Match, User
from leadapp.state.auth import SESSION_COOKIE
from tests.integration import access_world
from tests.integration.access_world import (
    ACTORS,
    MARKERS,
    SIDES,
    Ctx,
    World,
    diff,
    restore,
    snapshot,
)

# The seeded world, under the name this module's tests ask for (one per backend, for this module).
world = access_world.world


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
    # only the partner's key that made a lead reads its status: a session cookie or a session token sent as a
    # bearer key reads no lead (401 for a token that is no key, 404 without one), whoever's lead it is
    ("/api/v1/leads/{lead_id}", "GET"): RoutePlan(
        lambda c: {}, url=lambda c: f"/api/v1/leads/{c.lead}", allowed=frozenset()
    ),
    # only a partner's key sets its webhook: a session cookie or session token sets nobody's
    ("/api/v1/webhook", "PUT"): RoutePlan(lambda c: {"json": {"url": "https://8.8.8.8/hooks"}}, allowed=frozenset()),
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
    # a photo of a conversation opens with its signed per-viewer link only; a session cookie, a bearer token or a
    # guessed token shows nothing
    ("/api/v1/photos/{token}", "GET"): RoutePlan(
        lambda c: {}, url=lambda c: f"/api/v1/photos/{c.match}.guessed", allowed=frozenset()
    ),
    # SendGrid's Inbound Parse: the secret in the path is the only credential (none is configured here, so every
    # post is refused); a session or a guessed secret puts nothing into anyone's conversation
    ("/api/inbound/email/{secret}", "POST"): RoutePlan(
        lambda c: {
            "data": {"to": f"reply+{c.match}-c-{'0' * 20}@in.example", "from": "x@example.com", "text": "q7 hi"},
            "files": {"attachment1": ("a.txt", b"q7", "text/plain")},
        },
        url=lambda c: "/api/inbound/email/guessed-secret",
        allowed=frozenset(),
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


# --- the database's own wall ---------------------------------------------------------------------


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
