"""Graceful stop of a bridge: on SIGTERM it takes no new media stream and lets the calls in progress finish.

A stream is counted from its accepted upgrade to the end of its `CallSession`. Once `begin()` was called (by the
server's SIGTERM handler, `voice_bridge.__main__`), `stream_opened()` says no, so the upgrade is refused (HTTP
403: Twilio's next call goes to another bridge), `/health` answers 503 "draining" (a load balancer stops sending
calls), and `wait_for_calls` returns once no call is left or after BRIDGE_DRAIN_SECONDS, whichever comes first;
only then does the server stop. One process, one event loop: plain counters are enough.
"""

from __future__ import annotations

import asyncio
import time

POLL_SECONDS = 0.05


class _Drain:
    draining = False
    streams = 0


_state = _Drain()


def begin() -> None:
    """From now on no new stream is taken."""
    _state.draining = True


def is_draining() -> bool:
    return _state.draining


def streams() -> int:
    """Media streams (calls) in progress."""
    return _state.streams


def stream_opened() -> bool:
    """Count a new stream in; False (and nothing counted) while draining: refuse it."""
    if _state.draining:
        return False
    _state.streams += 1
    return True


def stream_closed() -> None:
    _state.streams = max(0, _state.streams - 1)


async def wait_for_calls(timeout_seconds: float) -> int:
    """Wait until no stream is left, at most `timeout_seconds`; returns how many are still going."""
    deadline = time.monotonic() + timeout_seconds
    while _state.streams and time.monotonic() < deadline:
        await asyncio.sleep(POLL_SECONDS)
    return _state.streams


def reset() -> None:
    """Back to serving (tests that run the app in process)."""
    _state.draining, _state.streams = False, 0
