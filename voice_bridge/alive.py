"""The bridge says which calls it serves, all of them together (see `core.services.calls.sweeper`).

A sweep ends a call in progress that no bridge has said is alive for a while (a bridge that died mid-call).
Every call's session runs `keep_alive` for as long as it lasts; the process's `AliveKeeper` marks all its calls
in one Redis round trip every `ALIVE_EVERY_SECONDS`, in a worker thread, and a call just started within
`NEW_CALL_DELAY_S` (together with the others starting then). One thread hop every few seconds for the process,
instead of one per call (150 calls: 15 a second, each a thread competing with the event loop carrying the
audio). Redis down: the round is skipped (logged), and a sweep that cannot see the bridges ends no call either.
"""

from __future__ import annotations

import asyncio
import contextlib

from leadapp.core.observability import get_logger
from leadapp.core.services import calls
from voice_bridge.per_loop import PerLoop

log = get_logger("voice_bridge.alive")

NEW_CALL_DELAY_S = 0.2


class AliveKeeper:
    """Marks the calls of this process alive (see the module docstring). One per event loop."""

    def __init__(self, every_s: float = calls.ALIVE_EVERY_SECONDS) -> None:
        self.every_s = every_s
        self._calls: set[int] = set()
        self._new: set[int] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.rounds = 0
        """Rounds that marked calls alive."""

    def add(self, call_id: int) -> None:
        self._calls.add(call_id)
        self._new.add(call_id)
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def remove(self, call_id: int) -> None:
        self._calls.discard(call_id)
        self._new.discard(call_id)
        self._wake.set()  # the last call gone: the keeper stops

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while self._calls:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.0, due - loop.time()))
            self._wake.clear()
            if loop.time() >= due:
                marked, due = sorted(self._calls), loop.time() + self.every_s
            else:
                await asyncio.sleep(NEW_CALL_DELAY_S)  # calls starting together are marked together
                marked = sorted(self._new & self._calls)
            self._new.clear()
            if not marked:
                continue
            try:
                await asyncio.to_thread(calls.mark_all_alive, marked)
            except Exception as exc:  # Redis down: the sweep then ends no call either
                log.info("call_alive_mark_failed", calls=len(marked), error=repr(exc))
                continue
            self.rounds += 1


_keeper = PerLoop(AliveKeeper)


def alive_keeper() -> AliveKeeper:
    """The process's keeper (one per event loop), shared by every call."""
    return _keeper.get()


async def keep_alive(call_id: int) -> None:
    """Until cancelled (the call's end): this call is marked alive with the others of the process."""
    keeper = alive_keeper()
    keeper.add(call_id)
    try:
        await asyncio.Event().wait()
    finally:
        keeper.remove(call_id)
