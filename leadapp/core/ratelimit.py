"""Rate limits and throttles through the `limits` library, kept in Redis under REDIS_PREFIX.

When Redis is unreachable a call falls back to this process's memory (so logins and submissions keep
working, limited per process) and the next call tries Redis again: an outage is never remembered.
"""

from __future__ import annotations

from functools import lru_cache

from limits import RateLimitItem
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from leadapp.core.observability import get_logger
from leadapp.core.settings import get_settings

log = get_logger(__name__)
_memory = MovingWindowRateLimiter(MemoryStorage())


@lru_cache(maxsize=4)
def _redis_limiter(url: str, prefix: str) -> MovingWindowRateLimiter:
    storage: Storage = storage_from_string(url, key_prefix=f"{prefix}:limits", wrap_exceptions=True)
    return MovingWindowRateLimiter(storage)


def _call(method: str, item: RateLimitItem, *identifiers: str) -> bool:
    settings = get_settings()
    try:
        limiter = _redis_limiter(settings.redis_url, settings.redis_prefix)
        return bool(getattr(limiter, method)(item, *identifiers))
    except (StorageError, ConnectionError, OSError) as exc:
        log.warning("rate_limit_memory_fallback", method=method, error=repr(exc))
        return bool(getattr(_memory, method)(item, *identifiers))


def hit(item: RateLimitItem, *identifiers: str) -> bool:
    """Count one event; False when the limit was already reached (the event is then not counted)."""
    return _call("hit", item, *identifiers)


def test(item: RateLimitItem, *identifiers: str) -> bool:
    """True while another event would still be within the limit (counts nothing)."""
    return _call("test", item, *identifiers)


def clear(item: RateLimitItem, *identifiers: str) -> None:
    _call("clear", item, *identifiers)


def reset_caches() -> None:
    """Forget the Redis limiter and the memory fallback's counts (tests change REDIS_URL between cases)."""
    global _memory
    _redis_limiter.cache_clear()
    _memory = MovingWindowRateLimiter(MemoryStorage())
