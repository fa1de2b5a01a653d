"""Provider outages for the fakes: a share of requests answered 5xx, a share held past the client's timeout.

A request that times out here was never taken by the provider (the fake answers 504 after the hold and
records nothing), as when a gateway in front of the provider gives up. A provider that takes a message and
then times out cannot be told apart from this by any client without the provider's own idempotency support.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Flakiness:
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    hold_seconds: float = 0.0
    seed: int = 0
    errors: int = 0
    timeouts: int = 0
    _random: random.Random = field(default_factory=random.Random, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._random.seed(self.seed)

    def draw(self) -> str:
        """'error', 'timeout' (after holding the request) or 'ok' for the next request."""
        with self._lock:
            roll = self._random.random()
            if roll < self.error_rate:
                self.errors += 1
                return "error"
            if roll < self.error_rate + self.timeout_rate:
                self.timeouts += 1
                outcome = "timeout"
            else:
                return "ok"
        time.sleep(self.hold_seconds)  # outside the lock: other requests go on meanwhile
        return outcome
