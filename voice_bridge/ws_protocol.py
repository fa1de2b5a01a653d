"""uvicorn's sans-I/O websocket protocol, lightened for the media stream (a message every 20 ms per call).

Two changes to `WebSocketsSansIOProtocol` (found with `perf` under `bench.bridge`), everything else uvicorn's:

- **Read flow control by backlog.** uvicorn stops reading the socket after every message it queues for the
  app and starts again once the app has taken it: a stop and a start of the read watcher (`epoll_ctl`, through
  io_uring with uvloop; about 4 % of the bridge's CPU) per caller frame. Here reading stops only when
  `HIGH_WATER` messages wait for the app and starts again when `LOW_WATER` are left: the backlog stays
  bounded and a slow app still pushes back on its sender, while a call that keeps up is never paused.
- **A queue bound to its loop.** `asyncio.Queue` looks the running loop up each time its reader waits, which
  on Python 3.11 makes a `getpid` system call per message; `MessageQueue` is given the protocol's loop.

Served as `--ws voice_bridge.ws_protocol:MediaStreamProtocol` (`voice_bridge.WS_PROTOCOL`). It leans on the
parent's attributes (`queue`, `read_paused`, `close_sent`, `transport`): uvicorn is pinned in requirements.txt,
and tests/integration/test_ws_protocol.py fails if a new uvicorn moves them.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from uvicorn._types import ASGIReceiveEvent
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

HIGH_WATER = 32
"""Messages waiting for the app at which the socket stops being read (0.64 s of one call's audio)."""
LOW_WATER = 8
"""Messages still waiting when reading starts again."""


class MessageQueue:
    """First in, first out, unbounded: `put_nowait`, `get` and `qsize` as `asyncio.Queue` has them.

    Readers wait in order; a reader cancelled after being woken passes its turn on, as in `asyncio.Queue`.
    """

    __slots__ = ("_items", "_loop", "_waiters")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._items: deque[Any] = deque()
        self._waiters: deque[asyncio.Future[None]] = deque()

    def qsize(self) -> int:
        return len(self._items)

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        self._wake_next()

    def _wake_next(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def get(self) -> Any:
        while not self._items:
            waiter = self._loop.create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                waiter.cancel()
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                elif self._items:  # woken, then cancelled: the item is for the next reader
                    self._wake_next()
                raise
        return self._items.popleft()


class MediaStreamProtocol(WebSocketsSansIOProtocol):
    """`WebSocketsSansIOProtocol` that pauses reading on a backlog, not on every message, and queues cheaply."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = MessageQueue(self.loop)  # type: ignore[assignment]  # uvicorn's protocol uses only these three

    def send_receive_event_to_app(self) -> None:
        paused = self.read_paused
        self.read_paused = True  # uvicorn's method pauses reading unless this says it already is
        try:
            super().send_receive_event_to_app()
        finally:
            self.read_paused = paused
        if not paused and not self.close_sent and self.queue.qsize() >= HIGH_WATER:
            self.read_paused = True
            self.transport.pause_reading()

    async def receive(self) -> ASGIReceiveEvent:
        message = await self.queue.get()
        if self.read_paused and self.queue.qsize() <= LOW_WATER:
            self.read_paused = False
            self.transport.resume_reading()
        return message
