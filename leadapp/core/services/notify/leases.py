"""A run's claim leases in Redis: taken and released for a whole batch in one round trip each."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from redis.exceptions import RedisError

from leadapp.core.broker import get_redis, key
from leadapp.core.observability import get_logger

log = get_logger(__name__)

CLAIM_LEASE_SECONDS = 300
"""How long a run's claim stays live without being released (longer than the RQ job timeout)."""


def _lease_key(notification_id: int) -> str:
    return key("notification", notification_id, "claim")


_RELEASE_LEASES = """
local released = 0
for i, name in ipairs(KEYS) do
  if redis.call('get', name) == ARGV[1] then released = released + redis.call('del', name) end
end
return released
"""


class _Leases:
    """This run's leases on a batch of notifications, taken and released in one Redis round trip each.

    A lease is `SET <prefix>:notification:<id>:claim <token> NX EX CLAIM_LEASE_SECONDS`, the same key a
    redis-py `Lock` would use; it is released only while it still holds this run's token.
    """

    def __init__(self, ids: Sequence[int]) -> None:
        self.token = uuid.uuid4().hex
        self.held: set[int] = set()
        self.busy: set[int] = set()
        self.keep: set[int] = set()
        """Claimed ids whose outcome is not committed yet: their leases outlive this run."""
        try:
            pipe = get_redis().pipeline(transaction=False)
            for notification_id in ids:
                pipe.set(_lease_key(notification_id), self.token, nx=True, ex=CLAIM_LEASE_SECONDS)
            for notification_id, taken in zip(ids, pipe.execute(), strict=True):
                (self.held if taken else self.busy).add(notification_id)
        except RedisError as exc:
            log.warning("notification_lease_unavailable", notification_ids=list(ids), error=repr(exc))
            self.held, self.busy = set(), set()

    def release(self) -> None:
        names = [_lease_key(i) for i in sorted(self.held - self.keep)]
        if not names:
            return
        try:
            get_redis().register_script(_RELEASE_LEASES)(keys=names, args=[self.token])
        except RedisError as exc:  # Redis went away: the leases expire anyway
            log.warning("notification_lease_release_failed", leases=names, error=repr(exc))
