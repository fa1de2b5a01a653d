"""The Redis connection shared by RQ, rate limits and live events, and its key naming."""

from __future__ import annotations

from functools import lru_cache

import redis

from leadapp.core.settings import get_settings


@lru_cache(maxsize=8)
def redis_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30)


def get_redis() -> redis.Redis:
    """The Redis client for REDIS_URL (connection-pooled, one per URL)."""
    return redis_for(get_settings().redis_url)


def key(*parts: object) -> str:
    """A Redis key or channel name under the configured prefix, e.g. `leadapp:worker:heartbeat`."""
    return ":".join([get_settings().redis_prefix, *(str(p) for p in parts)])
