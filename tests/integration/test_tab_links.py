"""A tab reconnecting to another web backend keeps its token (its page state) when the backend that held its socket
is gone or is closing it, and a duplicated tab still gets a token of its own (`leadapp.tab_links`), through a real
Redis shared by two backends' token managers."""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from leadapp.tab_links import SurvivingTokenManager, alive_key

TOKEN = "7f1e9c52-tab-token"


@pytest.fixture
async def shared_redis(private_redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(private_redis_url)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.flushdb()
        await client.aclose()


def backend(redis: Redis, *, wait: float = 1.0) -> SurvivingTokenManager:
    manager = SurvivingTokenManager(redis)
    manager.release_wait_seconds = wait
    return manager


async def holder(redis: Redis, token: str) -> str | None:
    raw = await redis.get(f"token_manager_socket_record_{token}")
    return None if raw is None else pickle.loads(raw).instance_id


async def test_a_tab_whose_backend_was_killed_keeps_its_token_on_the_other_backend(shared_redis: Redis):
    killed, other = backend(shared_redis), backend(shared_redis)
    await killed.beat()
    assert await killed.link_token_to_sid(TOKEN, "sid-on-killed") is None
    await shared_redis.delete(alive_key(killed.instance_id))  # its heartbeat expired: nothing deleted its links

    assert await other.link_token_to_sid(TOKEN, "sid-on-other") is None  # the same token: the same page state
    assert await holder(shared_redis, TOKEN) == other.instance_id


async def test_a_tab_reconnecting_at_once_from_a_killed_backend_keeps_its_token_once_its_heartbeat_lapses(
    shared_redis: Redis,
):
    killed, other = backend(shared_redis, wait=3.0), backend(shared_redis)
    assert await killed.link_token_to_sid(TOKEN, "sid-on-killed") is None
    await shared_redis.set(alive_key(killed.instance_id), b"1", px=400)  # its last heartbeat, just before it died

    assert await other.link_token_to_sid(TOKEN, "sid-on-other") is None
    assert await holder(shared_redis, TOKEN) == other.instance_id


async def test_a_tab_whose_backend_is_closing_its_socket_keeps_its_token(shared_redis: Redis):
    stopping, other = backend(shared_redis), backend(shared_redis)
    await stopping.beat()
    await other.beat()
    assert await stopping.link_token_to_sid(TOKEN, "sid-on-stopping") is None

    async def close_socket_soon() -> None:  # the stopping backend deletes the link as the socket closes
        await asyncio.sleep(0.3)
        await stopping.disconnect_token(TOKEN, "sid-on-stopping")

    closing = asyncio.create_task(close_socket_soon())
    assert await other.link_token_to_sid(TOKEN, "sid-on-other") is None
    await closing
    assert await holder(shared_redis, TOKEN) == other.instance_id


async def test_a_tab_back_on_the_same_backend_before_its_old_link_is_deleted_keeps_its_token(shared_redis: Redis):
    only = backend(shared_redis)
    await only.beat()
    assert await only.link_token_to_sid(TOKEN, "first-socket") is None
    # The socket dropped: the backend forgot it at once; its delete in Redis has not happened yet.
    only.token_to_socket.pop(TOKEN)
    only.sid_to_token.pop("first-socket")

    assert await only.link_token_to_sid(TOKEN, "second-socket") is None
    assert only.sid_to_token["second-socket"] == TOKEN


async def test_a_duplicated_tab_gets_a_token_of_its_own_while_the_first_tab_stays_linked(shared_redis: Redis):
    first, second = backend(shared_redis), backend(shared_redis, wait=0.3)
    await first.beat()
    await second.beat()
    assert await first.link_token_to_sid(TOKEN, "sid-first-tab") is None

    new_token = await second.link_token_to_sid(TOKEN, "sid-duplicate-tab")

    assert new_token is not None and new_token != TOKEN  # two tabs never share one page state
    assert await holder(shared_redis, TOKEN) == first.instance_id
    assert await holder(shared_redis, new_token) == second.instance_id


async def test_a_stopped_backend_says_at_once_that_it_is_gone(shared_redis: Redis):
    manager = backend(shared_redis)
    await manager.beat()
    assert await shared_redis.exists(alive_key(manager.instance_id))
    await manager.stop_beating()
    assert not await shared_redis.exists(alive_key(manager.instance_id))
