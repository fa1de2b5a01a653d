"""Open tabs keep their page state when the web backend holding their socket stops (scaled out, `SCALE=2`).

Reflex links each tab's token to its socket in Redis, and a tab that connects with a token already linked is taken
for a duplicated browser tab: it is handed a new token, that is a fresh page state (logged out, filters gone). A
backend that stops leaves its links behind: for a moment when it stops gracefully (it deletes them as its sockets
close, while its tabs are already reconnecting through the proxy to the other backend), for the links' whole
expiry (an hour) when it is killed. Its tabs would then come back to the other backend as strangers.

So each backend says in Redis that it is alive (`keep_alive`, a lifespan task), and a tab's link held by a backend
that is gone is taken over by the backend the tab reconnects to; a link whose backend is alive is given
`RELEASE_WAIT_SECONDS` to go (its socket is closing, or the backend was killed and its alive key is about to
expire) before the tab is treated as a duplicate, as Reflex does.
"""

from __future__ import annotations

import asyncio
import contextlib
import pickle
from collections.abc import AsyncIterator
from typing import Any

from redis.exceptions import RedisError
from reflex.utils.token_manager import RedisTokenManager

from leadapp.core.observability import get_logger

log = get_logger(__name__)
ALIVE_PREFIX = "leadapp:web_backend_alive:"
BEAT_SECONDS = 1.0
ALIVE_SECONDS = 3  # a backend that has not said so for this long is gone (killed, or its machine is)
# How long a reconnecting tab waits for the link to go: a killed backend's alive key expires within ALIVE_SECONDS.
# Only a duplicated browser tab (its twin still connected) waits it out, then gets a token of its own.
RELEASE_WAIT_SECONDS = ALIVE_SECONDS + 1.0
POLL_SECONDS = 0.1
# Deletes the link only if it is still the one that was read: another backend may have linked the token since.
_DELETE_IF_SAME = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


def alive_key(instance_id: str) -> str:
    return f"{ALIVE_PREFIX}{instance_id}"


class SurvivingTokenManager(RedisTokenManager):
    """Reflex's Redis token manager, which lets a tab keep its token when the backend that held it is gone."""

    release_wait_seconds = RELEASE_WAIT_SECONDS

    async def beat(self) -> None:
        await self.redis.set(alive_key(self.instance_id), b"1", ex=ALIVE_SECONDS)

    async def stop_beating(self) -> None:
        await self.redis.delete(alive_key(self.instance_id))

    async def link_token_to_sid(self, token: str, sid: str) -> str | None:
        record = self.token_to_socket.get(token)
        if record is None or record.sid != sid:
            with contextlib.suppress(RedisError):  # Redis failing: Reflex's own link below reports it and decides
                await self._release_if_gone(token)
        new_token = await super().link_token_to_sid(token, sid)
        if new_token is not None:
            log.info("tab_link_duplicate", sid=sid)  # another live tab holds the token: this one starts afresh
        return new_token

    async def _release_if_gone(self, token: str) -> None:
        """Deletes the token's link when the socket it names is gone; returns when there is none left to wait for."""
        key = self._get_redis_key(token)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.release_wait_seconds
        waited = False
        while (raw := await self.redis.get(key)) is not None:
            owner = pickle.loads(raw)  # Reflex's own record, written by a backend of this deployment
            if self._is_gone(owner.instance_id, owner.sid, token) or not await self.redis.exists(
                alive_key(owner.instance_id)
            ):
                await self.redis.eval(_DELETE_IF_SAME, 1, key, raw)  # type: ignore[misc]
                log.info("tab_link_taken_over", previous_backend=owner.instance_id)
                return
            if loop.time() >= deadline:
                return  # a live tab elsewhere holds the token: a duplicated tab, given a new token by Reflex
            waited = True
            await asyncio.sleep(POLL_SECONDS)
        if waited:
            log.info("tab_link_released", waited_ms=round((loop.time() - deadline + self.release_wait_seconds) * 1000))

    def _is_gone(self, instance_id: str, sid: str, token: str) -> bool:
        """A link of this backend whose socket it no longer has (its delete is still on its way)."""
        return instance_id == self.instance_id and self.sid_to_token.get(sid) != token


@contextlib.asynccontextmanager
async def keep_alive(app: Any) -> AsyncIterator[None]:
    """Lifespan task: with page state in Redis, links tabs through `SurvivingTokenManager` and says this backend is
    alive every `BEAT_SECONDS` until it stops (then says so at once). With state in memory it does nothing."""
    namespace = app.event_namespace
    reflex_manager = getattr(namespace, "_token_manager", None)
    if not isinstance(reflex_manager, RedisTokenManager):
        yield
        return
    manager = SurvivingTokenManager(reflex_manager.redis)
    namespace._token_manager = manager  # before the first socket: the backend starts serving after its lifespan

    async def beat_forever() -> None:
        while True:
            with contextlib.suppress(RedisError):
                await manager.beat()
            await asyncio.sleep(BEAT_SECONDS)

    beating = asyncio.create_task(beat_forever(), name="leadapp_web_backend_alive")
    log.info("web_backend_links_tabs", alive_key=alive_key(manager.instance_id))
    try:
        yield
    finally:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating
        with contextlib.suppress(RedisError):
            await manager.stop_beating()
