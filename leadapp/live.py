"""The web side of live updates: a lifespan task in every Reflex backend worker listens to the Redis
event channel (see `leadapp.core.events`) and pushes changes into the open tabs they concern.

Which tabs are open, and whose, is kept in Redis (never in this process), so any backend worker can
reach any tab: Reflex relays a push to the worker that holds the tab's websocket.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
import reflex as rx

from leadapp.core.broker import get_redis, key
from leadapp.core.events import channel
from leadapp.core.observability import get_logger, report_exception
from leadapp.core.settings import get_settings

log = get_logger(__name__)
TAB_TTL_SECONDS = 24 * 3600
RECONNECT_SECONDS = 2.0
CLAIM_TTL_SECONDS = 120
Refresh = Callable[[Any, str], Awaitable[None]]


def _user_tabs_key(user_id: int) -> str:
    return key("tabs", "user", user_id)


def _business_tabs_key(business_id: int) -> str:
    return key("tabs", "business", business_id)


def _remember(set_key: str, client_token: str) -> None:
    try:
        client = get_redis()
        pipe = client.pipeline()
        pipe.sadd(set_key, client_token)
        pipe.expire(set_key, TAB_TTL_SECONDS)
        pipe.execute()
    except Exception as exc:  # live updates are a convenience: never fail a page load over them
        log.warning("remember_tab_failed", error=repr(exc))


def remember_tab(user_id: int, client_token: str) -> None:
    """Note that this browser tab shows pages of this user (so a revocation or an update can reach it)."""
    if user_id and client_token:
        _remember(_user_tabs_key(user_id), client_token)


def remember_business_tab(business_id: int, client_token: str) -> None:
    """Note that this tab shows the dashboard of this business (new leads and changes are pushed to it)."""
    if business_id and client_token:
        _remember(_business_tabs_key(business_id), client_token)


def refresh_counter_key() -> str:
    """The count of tab refreshes done by every backend together (`bench.live` reads refreshes per tab)."""
    return key("live", "refreshes")


async def _tokens(set_key: str) -> list[str]:
    raw = await asyncio.to_thread(get_redis().smembers, set_key)
    return [t.decode() if isinstance(t, bytes) else str(t) for t in raw]


def _claim(event_id: str, tokens: list[str], what: str) -> list[str]:
    """The tabs this backend refreshes for this event: the ones no other backend claimed first.

    Every backend hears every event; without this each would refresh every tab (N backends, N refreshes
    per tab). The claim is one SET NX per (event, page state, tab) in one round trip, so the work spreads over
    the backends and each tab is refreshed once per page state. One tab can be in two sets (a logged-in consumer
    on a tracking page is in their own tabs and the lead's): each of its states is claimed on its own, or the
    first refresh (the portal's) would take the claim from the one the tab shows (the tracking page's).
    An event without an id (an older publisher) is not shared.
    """
    if not event_id or not tokens:
        return tokens
    pipe = get_redis().pipeline(transaction=False)
    for token in tokens:
        pipe.set(key("live", "claim", event_id, what, token), 1, nx=True, ex=CLAIM_TTL_SECONDS)
    won = pipe.execute()
    return [token for token, ok in zip(tokens, won, strict=True) if ok]


async def _refresh_each(event_id: str, set_key: str, refresh: Refresh, app: Any, what: str) -> int:
    """Refresh each tab in `set_key` that this backend claims for the event; returns how many it refreshed."""
    tokens = await asyncio.to_thread(_claim, event_id, await _tokens(set_key), what)
    done = 0
    for token in tokens:
        try:
            await refresh(app, token)
            done += 1
        except Exception as exc:  # a tab that went away meanwhile
            log.info("live_tab_skipped", what=what, error=repr(exc))
    if done:
        await asyncio.to_thread(get_redis().incrby, refresh_counter_key(), done)
    return done


async def _revoke_tab(app: Any, token: str, user_id: int) -> None:
    from leadapp.state.auth import AuthState

    async with app.modify_state(rx.BaseStateToken(ident=token, cls=AuthState)) as root:
        auth = await root.get_state(AuthState)
        if auth.user_id == user_id:
            auth.session_token = ""
            auth.user_id, auth.user_email, auth.user_name, auth.user_role = 0, "", "", ""
            auth.allowed_area, auth.denied = "", True


async def _revoke_user_tabs(app: Any, user_id: int) -> None:
    # Revocation is never shared out: every backend signs out every tab of the user (idempotent), so a
    # backend that dies mid-loop cannot leave a revoked user's tab signed in.
    for token in await _tokens(_user_tabs_key(user_id)):
        try:
            await _revoke_tab(app, token, user_id)
        except Exception as exc:  # a tab that went away meanwhile
            log.info("revoke_tab_skipped", error=repr(exc))


async def dispatch(app: Any, event: dict[str, Any]) -> None:
    """Route one event to the tabs it concerns (each tab refreshed by one backend)."""
    from leadapp.pages.business import dashboard
    from leadapp.pages.consumer import portal, track

    kind = event.get("kind")
    event_id = str(event.get("id") or "")
    if kind == "user_revoked" and event.get("user_id"):
        await _revoke_user_tabs(app, int(event["user_id"]))
        return
    if kind in ("match", "call", "transcript") and event.get("business_id"):
        tabs = _business_tabs_key(int(event["business_id"]))
        await _refresh_each(event_id, tabs, dashboard.refresh_tab, app, "business")
    if kind in ("match", "lead") and event.get("consumer_id"):
        tabs = _user_tabs_key(int(event["consumer_id"]))
        await _refresh_each(event_id, tabs, portal.refresh_tab, app, "consumer")
    if kind in ("match", "lead") and event.get("lead_id"):
        tabs = track.lead_tabs_key(int(event["lead_id"]))
        await _refresh_each(event_id, tabs, track.refresh_tab, app, "track")


async def listen() -> None:
    """Lifespan task: follow the event channel for as long as the backend runs, reconnecting after errors."""
    from reflex_base.registry import RegistrationContext

    app = RegistrationContext.get().app
    while True:
        connection = aioredis.from_url(get_settings().redis_url)
        try:
            pubsub = connection.pubsub()
            await pubsub.subscribe(channel())
            async for message in pubsub.listen():
                if message.get("type") != "message":
                    continue
                try:
                    await dispatch(app, json.loads(message["data"]))
                except Exception as exc:
                    report_exception(exc, where="live.dispatch")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("live_listener_reconnecting", error=repr(exc))
            await asyncio.sleep(RECONNECT_SECONDS)
        finally:
            await connection.aclose()
