"""The web side of live updates: a lifespan task in every Reflex backend worker listens to the Redis
event channel (see `leadapp.core.events`) and pushes changes into the open tabs they concern.

Which tabs are open, and whose, is kept in Redis (never in this process), so any backend worker can
reach any tab: Reflex relays a push to the worker that holds the tab's websocket.

This module knows no page: each page (and the session state, for revocations) registers what it does with an
event kind (`@live.on("match", "call")`), and `dispatch` runs the handlers registered for the event's kind.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis

from leadapp.core.broker import get_redis, key
from leadapp.core.events import channel
from leadapp.core.observability import get_logger, report_exception
from leadapp.core.settings import get_settings

log = get_logger(__name__)
TAB_TTL_SECONDS = 24 * 3600
RECONNECT_SECONDS = 2.0
CLAIM_TTL_SECONDS = 120
Refresh = Callable[[Any, str], Awaitable[None]]
Handler = Callable[[Any, dict[str, Any]], Awaitable[None]]
_HANDLERS: dict[str, list[Handler]] = {}


def on(*kinds: str) -> Callable[[Handler], Handler]:
    """Register `handler(app, event)` for events of these kinds (a page says what it refreshes, and when)."""

    def register(handler: Handler) -> Handler:
        for kind in kinds:
            handlers = _HANDLERS.setdefault(kind, [])
            if handler not in handlers:
                handlers.append(handler)
        return handler

    return register


def user_tabs_key(user_id: int) -> str:
    return key("tabs", "user", user_id)


def business_tabs_key(business_id: int) -> str:
    return key("tabs", "business", business_id)


def remember(set_key: str, client_token: str) -> None:
    """Add a tab to a set of tabs (kept a day after its last addition)."""
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
        remember(user_tabs_key(user_id), client_token)


def remember_business_tab(business_id: int, client_token: str) -> None:
    """Note that this tab shows the dashboard of this business (new leads and changes are pushed to it)."""
    if business_id and client_token:
        remember(business_tabs_key(business_id), client_token)


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


async def _connected(app: Any, tokens: list[str]) -> list[str]:
    """The tabs with a socket open on some backend. A set keeps every tab of a user for a day: refreshing the
    closed ones too cost a page's whole reading per closed tab on every event, and a user who had opened many
    tabs (a support person, a browser test suite) kept a backend busy long enough to stall the open ones."""
    manager = getattr(getattr(app, "event_namespace", None), "_token_manager", None)
    if manager is None:  # no Reflex app (a bench, a test): every tab counts
        return tokens
    return [token for token in tokens if await manager.is_token_connected(token)]


async def _refresh_each(event_id: str, set_key: str, refresh: Refresh, app: Any, what: str) -> int:
    """Refresh each open tab in `set_key` that this backend claims for the event; returns how many it refreshed."""
    tokens = await asyncio.to_thread(_claim, event_id, await _connected(app, await _tokens(set_key)), what)
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


async def tokens_of(set_key: str) -> list[str]:
    """Every tab in `set_key` (for work no backend shares out, such as signing a revoked user out)."""
    return await _tokens(set_key)


async def refresh_tabs(app: Any, event: dict[str, Any], set_key: str, refresh: Refresh, what: str) -> int:
    """Refresh, for this event, each tab of `set_key` this backend claims (`what` names the page state)."""
    return await _refresh_each(str(event.get("id") or ""), set_key, refresh, app, what)


async def dispatch(app: Any, event: dict[str, Any]) -> None:
    """Run the handlers registered for the event's kind; one that fails does not stop the others."""
    for handler in list(_HANDLERS.get(str(event.get("kind") or ""), ())):
        try:
            await handler(app, event)
        except Exception as exc:
            report_exception(exc, where="live.dispatch", kind=event.get("kind"), handler=handler.__qualname__)


async def listen() -> None:
    """Lifespan task: follow the event channel for as long as the backend runs, reconnecting after errors."""
    # Lazy: Reflex's registry is only set up once the backend runs (this module is imported while building).
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
