"""The event loop a bench program runs on: the one `python -m voice_bridge` gets from uvicorn (`--loop auto`: uvloop
when it is installed, asyncio's own otherwise), so that the bridge, the bare relay it is compared with and the load
generator all run on the same kind of loop, and the generator costs as little as the programs it measures allow."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
    uvloop = None  # type: ignore[assignment]


def loop_name() -> str:
    """The loop `run` uses: "uvloop" or "asyncio"."""
    return "uvloop" if uvloop is not None else "asyncio"


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)` on uvloop when it is installed (as uvicorn chooses for the bridge)."""
    if uvloop is None:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)
