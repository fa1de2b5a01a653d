"""Live push with several web backends: every backend hears every event, each open tab is refreshed once.

Two backends are two concurrent dispatchers over the same Redis (as two Reflex backend processes are);
the refresh they run is a recording callable standing in for the page's own refresh.
"""

from __future__ import annotations

import asyncio
import json

import redis

from leadapp import live
from leadapp.core.broker import key


def _open_tabs(client: redis.Redis, set_key: str, count: int) -> list[str]:
    tokens = [f"tab-{i}" for i in range(count)]
    client.sadd(set_key, *tokens)
    return tokens


async def _two_backends(event_id: str, set_key: str, refreshed: list[tuple[str, str]]) -> list[int]:
    def backend(name: str):
        async def refresh(_app: object, token: str) -> None:
            await asyncio.sleep(0)  # let the other backend interleave
            refreshed.append((name, token))

        return live._refresh_each(event_id, set_key, refresh, None, "business")

    return list(await asyncio.gather(backend("a"), backend("b")))


def test_each_tab_is_refreshed_once_whatever_the_number_of_backends(redis_env: redis.Redis) -> None:
    set_key = live.business_tabs_key(7)
    tokens = _open_tabs(redis_env, set_key, 6)
    refreshed: list[tuple[str, str]] = []

    counts = asyncio.run(_two_backends("event-1", set_key, refreshed))

    assert sorted(token for _, token in refreshed) == sorted(tokens)  # every tab, once
    assert sum(counts) == len(tokens)
    assert int(redis_env.get(live.refresh_counter_key())) == len(tokens)


def test_the_next_event_refreshes_the_tabs_again(redis_env: redis.Redis) -> None:
    set_key = live.business_tabs_key(8)
    tokens = _open_tabs(redis_env, set_key, 3)
    first: list[tuple[str, str]] = []
    second: list[tuple[str, str]] = []

    asyncio.run(_two_backends("event-1", set_key, first))
    asyncio.run(_two_backends("event-2", set_key, second))

    assert sorted(t for _, t in first) == sorted(tokens)
    assert sorted(t for _, t in second) == sorted(tokens)


def test_a_tab_that_went_away_does_not_stop_the_others(redis_env: redis.Redis) -> None:
    set_key = live.business_tabs_key(9)
    _open_tabs(redis_env, set_key, 3)
    refreshed: list[str] = []

    async def refresh(_app: object, token: str) -> None:
        if token == "tab-1":
            raise RuntimeError("the tab closed")
        refreshed.append(token)

    done = asyncio.run(live._refresh_each("event-9", set_key, refresh, None, "business"))

    assert sorted(refreshed) == ["tab-0", "tab-2"]
    assert done == 2


def test_published_events_carry_an_id(redis_env: redis.Redis) -> None:
    from leadapp.core import events

    pubsub = redis_env.pubsub()
    pubsub.subscribe(events.channel())
    pubsub.get_message(timeout=2)  # the subscription confirmation
    assert events.publish("match", business_id=1)
    assert events.publish("match", business_id=1)
    ids: list[str] = []
    for _ in range(2):
        message = pubsub.get_message(timeout=2)
        assert message and message["type"] == "message"
        ids.append(json.loads(message["data"])["id"])
    assert len(set(ids)) == 2 and all(ids)
    pubsub.close()


def test_a_tab_in_two_sets_is_refreshed_in_each_of_its_states(redis_env: redis.Redis) -> None:
    """A logged-in consumer's tracking tab is one of their tabs and one of the lead's: an event about the lead
    refreshes both states (the portal's and the tracking page's), not only the first one dispatched."""
    consumer_tabs, lead_tabs = live.user_tabs_key(3), key("tabs", "lead", 11)
    redis_env.sadd(consumer_tabs, "tab-0")
    redis_env.sadd(lead_tabs, "tab-0")
    refreshed: list[tuple[str, str]] = []

    def recorder(what: str):
        async def refresh(_app: object, token: str) -> None:
            refreshed.append((what, token))

        return refresh

    async def one_event() -> None:
        await live._refresh_each("event-5", consumer_tabs, recorder("consumer"), None, "consumer")
        await live._refresh_each("event-5", lead_tabs, recorder("track"), None, "track")

    asyncio.run(one_event())
    asyncio.run(one_event())  # another backend hearing the same event refreshes nothing more

    assert refreshed == [("consumer", "tab-0"), ("track", "tab-0")]


def test_dispatch_runs_the_pages_registered_for_the_kind_and_a_failing_one_stops_no_other() -> None:
    """Pages register what they refresh (`live.on`); `live` itself knows no page. The real registrations:
    a match refreshes the owner's dashboard, the consumer's portal and the request's tracking tabs."""
    import leadapp.leadapp  # noqa: F401  (imports every page, as a backend does)

    registered = {kind: [h.__module__ for h in live._HANDLERS.get(kind, [])] for kind in ("match", "user_revoked")}
    assert set(registered["match"]) == {
        "leadapp.pages.business.dashboard",
        "leadapp.pages.consumer.portal",
        "leadapp.pages.consumer.track",
    }
    assert registered["user_revoked"] == ["leadapp.state.auth"]

    seen: list[str] = []

    @live.on("test-kind")
    async def broken(_app: object, event: dict) -> None:
        seen.append("broken")
        raise RuntimeError("a page's handler failed")

    @live.on("test-kind")
    async def works(_app: object, event: dict) -> None:
        seen.append(f"works:{event['n']}")

    try:
        asyncio.run(live.dispatch(None, {"kind": "test-kind", "n": 1}))
        asyncio.run(live.dispatch(None, {"kind": "other-kind", "n": 2}))
    finally:
        live._HANDLERS.pop("test-kind", None)
    assert seen == ["broken", "works:1"]


def test_only_the_tabs_with_an_open_socket_are_refreshed(redis_env: redis.Redis) -> None:
    """A user's tabs are kept a day; the closed ones are skipped (Reflex's own token manager says which are
    connected), or every event cost a refresh per tab ever opened."""
    from types import SimpleNamespace

    from reflex.utils.token_manager import LocalTokenManager

    set_key = live.user_tabs_key(7)
    _open_tabs(redis_env, set_key, 3)
    manager = LocalTokenManager()
    refreshed: list[str] = []

    async def refresh(_app: object, token: str) -> None:
        refreshed.append(token)

    async def run() -> int:
        await manager.link_token_to_sid("tab-0", "sid-0")
        await manager.link_token_to_sid("tab-2", "sid-2")
        app = SimpleNamespace(event_namespace=SimpleNamespace(_token_manager=manager))
        return await live._refresh_each("event-7", set_key, refresh, app, "consumer")

    assert asyncio.run(run()) == 2
    assert sorted(refreshed) == ["tab-0", "tab-2"]


def test_a_transactions_events_go_out_once_it_commits_each_with_its_own_id(redis_env: redis.Redis) -> None:
    """The events a transaction queued are published together after its commit (in order, each with its id), none
    before it, and none of a transaction rolled back."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from leadapp.core import events

    pubsub = redis_env.pubsub()
    pubsub.subscribe(events.channel())
    pubsub.get_message(timeout=2)  # the subscription confirmation
    engine = create_engine("sqlite://")
    with Session(engine) as session:
        events.publish_after_commit(session, "match", lead_id=1, business_id=2, match_id=3)
        events.publish_after_commit(session, "match", lead_id=1, business_id=4, match_id=5)
        events.publish_after_commit(session, "lead", lead_id=1, status="matched")
        assert pubsub.get_message(timeout=0.3) is None  # not before the commit
        session.commit()
    with Session(engine) as session:
        events.publish_after_commit(session, "lead", lead_id=2, status="withdrawn")
        session.rollback()
    got = []
    while (message := pubsub.get_message(timeout=0.5)) is not None:
        if message["type"] == "message":
            got.append(json.loads(message["data"]))
    pubsub.close()
    engine.dispose()

    assert [(e["kind"], e["lead_id"], e.get("business_id")) for e in got] == [
        ("match", 1, 2),
        ("match", 1, 4),
        ("lead", 1, None),
    ]
    assert len({e["id"] for e in got}) == 3
