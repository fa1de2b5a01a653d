"""The owner's hints for a call in progress, relayed into its realtime session (see `core.services.calls.hints`).

Each call's session runs `relay` for as long as it lasts: every `POLL_SECONDS` it takes the hints the web app
queued for the call (in a worker thread: the audio never waits for Redis), and once the realtime session is
configured it sends each one as a system message (`conversation.item.create`, role system) and has it written
into the transcript as a "hint" line. A Redis error skips one round; the hints stay queued for the next.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from leadapp.core.observability import get_logger
from leadapp.core.services import calls
from voice_bridge import realtime_wire as rt

log = get_logger("voice_bridge.hints")

POLL_SECONDS = calls.hints.POLL_SECONDS


async def relay(
    call_id: int,
    ready: Callable[[], bool],
    send: Callable[[str], Awaitable[None]],
    note: Callable[[str], None],
    take_over: Callable[[], Awaitable[None]],
    poll_seconds: float = POLL_SECONDS,
) -> None:
    """Until cancelled (the call's end): hints taken → `send(system message)` and `note(hint)`, in order; a
    take-over asked for → `take_over()` (the warm transfer to the owner's phone)."""
    while True:
        await asyncio.sleep(poll_seconds)
        if not ready():
            continue
        try:
            hints, taking_over = await asyncio.to_thread(calls.take_signals, call_id)
        except Exception as exc:  # Redis unreachable: try again next round (what was queued stays there)
            log.info("call_hints_unreachable", call_id=call_id, error=repr(exc))
            continue
        for hint in hints:
            log.info("call_hint_relayed", call_id=call_id, chars=len(hint))
            await send(rt.system_message(hint))
            note(hint)
        if taking_over:
            log.info("call_take_over", call_id=call_id)
            await take_over()
