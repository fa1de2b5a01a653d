"""The owner's hints for a call in progress, relayed into its realtime session (see `core.services.calls.hints`).

Each call's session runs `relay` for as long as it lasts. The process's `HintPoller` asks Redis every
`POLL_SECONDS`, for all the calls whose realtime session is configured at once, which have something waiting
(one command, in a worker thread: the audio never waits for Redis), takes only theirs, and hands each call
what was taken: the relay sends each hint as a system message (`conversation.item.create`, role system) and has
it written into the transcript as a "hint" line. One round trip a second for the whole process, not a
transaction and a thread hop per call (150 calls asked 150 times a second, each waking a thread that competed
with the event loop for the interpreter). A Redis error skips one round; the hints stay queued for the next.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from leadapp.core.observability import get_logger
from leadapp.core.services import calls
from voice_bridge import realtime_wire as rt
from voice_bridge.per_loop import PerLoop

log = get_logger("voice_bridge.hints")

POLL_SECONDS = calls.hints.POLL_SECONDS

Signals = tuple[list[str], bool]
"""What the owner sent for one call: the hints in order, and whether they asked to take over."""


def take_waiting(call_ids: Sequence[int]) -> dict[int, Signals]:
    """The signals of those of these calls that have any, taken (a call whose take fails keeps them queued)."""
    taken: dict[int, Signals] = {}
    for call_id in sorted(calls.calls_with_signals(call_ids)):
        try:
            taken[call_id] = calls.take_signals(call_id)
        except Exception as exc:  # Redis went away mid-round: the rest stay queued for the next one
            log.info("call_hints_unreachable", call_id=call_id, error=repr(exc))
    return taken


class HintPoller:
    """Takes the hints of every call of this process together (see the module docstring). One per event loop."""

    def __init__(self, poll_seconds: float = POLL_SECONDS) -> None:
        self.poll_seconds = poll_seconds
        self._calls: dict[int, tuple[Callable[[], bool], asyncio.Queue[Signals]]] = {}
        self._task: asyncio.Task[None] | None = None

    def register(self, call_id: int, ready: Callable[[], bool]) -> asyncio.Queue[Signals]:
        """Poll for this call while `ready()` (its realtime session configured); what is taken arrives in the queue."""
        queue: asyncio.Queue[Signals] = asyncio.Queue()
        self._calls[call_id] = (ready, queue)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        return queue

    def unregister(self, call_id: int) -> None:
        self._calls.pop(call_id, None)

    async def _run(self) -> None:
        while self._calls:
            await asyncio.sleep(self.poll_seconds)
            ready = [call_id for call_id, (is_ready, _queue) in self._calls.items() if is_ready()]
            if not ready:
                continue
            try:
                taken = await asyncio.to_thread(take_waiting, ready)
            except Exception as exc:  # Redis unreachable: try again next round (what was queued stays there)
                log.info("call_hints_unreachable", calls=len(ready), error=repr(exc))
                continue
            for call_id, signals in taken.items():
                entry = self._calls.get(call_id)
                if entry is not None:
                    entry[1].put_nowait(signals)


_poller = PerLoop(HintPoller)


def hint_poller() -> HintPoller:
    """The process's hint poller (one per event loop), shared by every call."""
    return _poller.get()


async def relay(
    call_id: int,
    ready: Callable[[], bool],
    send: Callable[[str], Awaitable[None]],
    note: Callable[[str], None],
    take_over: Callable[[], Awaitable[None]],
) -> None:
    """Until cancelled (the call's end): hints taken → `send(system message)` and `note(hint)`, in order; a
    take-over asked for → `take_over()` (the warm transfer to the owner's phone)."""
    poller = hint_poller()
    queue = poller.register(call_id, ready)
    try:
        while True:
            hints, taking_over = await queue.get()
            for hint in hints:
                log.info("call_hint_relayed", call_id=call_id, chars=len(hint))
                await send(rt.system_message(hint))
                note(hint)
            if taking_over:
                log.info("call_take_over", call_id=call_id)
                await take_over()
    finally:
        poller.unregister(call_id)
