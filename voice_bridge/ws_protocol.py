"""uvicorn's sans-I/O websocket protocol, lightened for the media stream (a message every 20 ms per call).

Three changes to `WebSocketsSansIOProtocol` (found with `perf` and `py-spy` under `bench.bridge`), everything else
uvicorn's:

- **Read flow control by backlog.** uvicorn stops reading the socket after every message it queues for the
  app and starts again once the app has taken it: a stop and a start of the read watcher (`epoll_ctl`, through
  io_uring with uvloop; about 4 % of the bridge's CPU) per caller frame. Here reading stops only when
  `HIGH_WATER` messages wait for the app and starts again when `LOW_WATER` are left: the backlog stays
  bounded and a slow app still pushes back on its sender, while a call that keeps up is never paused.
- **A queue bound to its loop.** `asyncio.Queue` looks the running loop up each time its reader waits, which
  on Python 3.11 makes a `getpid` system call per message; `MessageQueue` is given the protocol's loop.
- **Writes coalesced per loop turn.** uvicorn writes each text message to the socket as it is sent (a system
  call each): every chunk of assistant audio is a `media` and a `mark`, and a reply's preroll is several chunks
  at once. Here a text message is framed at once and the frames of one loop turn go out together in one
  `transport.write` at the end of the turn (`call_soon`), in the order sent; any other message (a close) and
  uvicorn's own writes (pongs) flush what is pending first, since they take the same connection's output.

Served as `--ws voice_bridge.ws_protocol:MediaStreamProtocol` (`voice_bridge.WS_PROTOCOL`). It leans on the
parent's attributes (`queue`, `read_paused`, `close_sent`, `transport`): uvicorn is pinned in requirements.txt,
and tests/integration/test_ws_protocol.py fails if a new uvicorn moves them.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from uvicorn._types import ASGIReceiveEvent, ASGISendEvent
from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState

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
        self._flush_due = False

    async def send(self, message: ASGISendEvent) -> None:
        text = message.get("text") if message["type"] == "websocket.send" else None
        if text is None or not self.handshake_complete or self.close_sent or self.initial_response is not None:
            self._flush()
            await super().send(message)
            return
        if not self.writable.is_set():
            await self.writable.wait()
        if self.disconnected:
            raise ClientDisconnected()
        try:
            self.conn.send_text(text.encode())
        except InvalidState:
            raise ClientDisconnected() from None
        if not self._flush_due:
            self._flush_due = True
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        """Write the frames framed since the last write (one system call for a loop turn's messages)."""
        self._flush_due = False
        output = self.conn.data_to_send()
        if output and not self.transport.is_closing():
            self.transport.write(b"".join(output))

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
