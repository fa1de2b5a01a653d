"""The bridge's own event-loop figures (`voice_bridge.loop_stats`, VOICE_BRIDGE_LOOP_STATS) and their endpoint.

The socket writes of one loop turn are counted together and the largest turn kept; a loop held by blocking work
shows up as lag at least that long; a garbage collection is counted; `GET /debug/loop` answers the figures only
while the option is on (404 otherwise) and `?reset=1` starts them anew.
"""

from __future__ import annotations

import asyncio
import gc
import json
import time
from collections.abc import AsyncIterator

import pytest

from voice_bridge import app as bridge_app
from voice_bridge import loop_stats


@pytest.fixture
async def stats() -> AsyncIterator[loop_stats.LoopStats]:
    started = loop_stats.start()
    yield started
    await loop_stats.stop()


async def test_the_largest_burst_of_writes_in_one_loop_turn_is_kept(stats: loop_stats.LoopStats) -> None:
    for _ in range(7):  # one turn: no await in between
        stats.wrote()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    for _ in range(3):
        stats.wrote()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    figures = stats.figures()
    assert figures["writes"] == 10
    assert figures["max_writes_per_turn"] == 7


async def test_a_held_loop_shows_as_lag_at_least_as_long(stats: loop_stats.LoopStats) -> None:
    await asyncio.sleep(loop_stats.TICK_S * 3)  # the watcher is ticking
    time.sleep(0.05)  # blocking work on the loop, as a synchronous database write would be
    await asyncio.sleep(loop_stats.TICK_S * 3)
    assert stats.figures()["lag_max_ms"] >= 40  # a lower bound: a busy machine only makes it later


async def test_garbage_collections_are_counted(stats: loop_stats.LoopStats) -> None:
    gc.collect()
    figures = stats.figures()
    assert figures["gc_collections"] >= 1 and figures["gc_full"] >= 1


async def test_the_endpoint_answers_only_with_the_option_on_and_resets() -> None:
    off = await bridge_app.debug_loop()
    assert off.status_code == 404
    started = loop_stats.start()
    try:
        for _ in range(4):
            started.wrote()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        first = json.loads(bytes((await bridge_app.debug_loop(reset=True)).body))
        assert first["writes"] == 4 and first["max_writes_per_turn"] == 4
        again = json.loads(bytes((await bridge_app.debug_loop()).body))
        assert again["writes"] == 0 and again["max_writes_per_turn"] == 0
    finally:
        await loop_stats.stop()
    assert loop_stats.stats is None
