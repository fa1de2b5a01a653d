"""uvicorn's sans-I/O websocket protocol, lightened for the media stream (a message every 20 ms per call).

Five changes to `WebSocketsSansIOProtocol` (found with `perf` and `py-spy` under `bench.bridge`), everything else
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
  at once. Here a text message is framed at once (`frames.server_text`: no `Frame` object, none of the checks
  websockets repeats per message) and the frames of one loop turn go out together in one `transport.write` at
  the end of the turn (`call_soon`), in the order sent; any other message the app sends (a close) flushes what
  is pending first. uvicorn's own pongs may go out ahead of the turn's messages (a control frame may come
  between messages); once the client's close is answered, what is pending is dropped (nothing may follow it).
- **Whole text frames read directly.** Every caller frame and echoed mark is one small, masked, unfragmented
  text frame. websockets' parser reads each through a chain of generators, and uvicorn turns it into a `Frame`
  and an opcode dispatch: with the replies' media and marks, the larger part of the bridge's receive work at
  150 calls in a py-spy profile. Once the handshake is done and websockets' parser stands between frames with
  nothing fragmented in progress, such frames are cut out of the bytes read here: header, unmasking
  (websockets' own C `apply_mask`), UTF-8 decoding, queued as uvicorn queues them. Anything else (a control
  frame, a fragment, a frame too large, not masked or not UTF-8, a close in progress) is given, from its first
  byte on, to websockets as before, which answers it and fails the connection exactly as it did.
- **No compression.** permessage-deflate is never negotiated on the media stream: base64 μ-law shrinks by
  about a quarter, for a deflate and an inflate of every message on the one core the calls share.

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
from websockets.protocol import State

from voice_bridge.frames import MASKED, WHOLE_TEXT, apply_mask, server_text

HIGH_WATER = 32
"""Messages waiting for the app at which the socket stops being read (0.64 s of one call's audio)."""
LOW_WATER = 8
"""Messages still waiting when reading starts again."""
MAX_HELD = 64 * 1024
"""The most of an unfinished frame kept here between reads; a longer one is left to websockets' parser."""


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
        self.conn.available_extensions = []  # no permessage-deflate, whatever the client offers
        self._flush_due = False
        self._framed: list[bytes] = []  # text frames of this loop turn, written at its end
        self._held = b""  # the start of a frame whose end has not been read yet
        # What the direct reading relies on in websockets' protocol (pinned; without it, websockets reads all).
        conn = self.conn
        self._direct = all(hasattr(conn, name) for name in ("current_size", "max_message_size", "reader", "state"))

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
        if self.conn.state is not State.OPEN:
            raise ClientDisconnected()
        self._framed.append(server_text(text.encode()))
        if not self._flush_due:
            self._flush_due = True
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        """Write the frames framed since the last write (one system call for a loop turn's messages)."""
        self._flush_due = False
        output = self.conn.data_to_send()
        if self._framed:
            if self.conn.state is State.OPEN:  # else the client's close was answered: nothing may follow it
                output = self._framed + output
            self._framed = []
        if output and not self.transport.is_closing():
            self.transport.write(b"".join(output))

    def data_received(self, data: bytes) -> None:
        if self._held:
            data, self._held = self._held + data, b""
        elif not self._between_frames():
            super().data_received(data)
            return
        self._read_frames(data)

    def _between_frames(self) -> bool:
        """True when the bytes read next start a frame that websockets' parser need not see."""
        conn = self.conn
        return (
            self._direct
            and self.handshake_complete
            and not self.close_sent
            and conn.state is State.OPEN
            and conn.current_size is None
            and conn.parser_exc is None
            and not conn.reader.buffer
            and not conn.reader.eof
        )

    def _read_frames(self, data: bytes) -> None:
        """Queue the whole text frames at the start of `data`; hand websockets the rest from the first other frame."""
        size, at = len(data), 0
        limit = self.conn.max_message_size
        while at < size:
            if size - at < 2:
                self._held = data[at:]
                return
            first, second = data[at], data[at + 1]
            if first != WHOLE_TEXT or not second & MASKED:
                break
            length = second & 0x7F
            head = at + 2 if length < 126 else at + 4 if length == 126 else at + 10
            if head + 4 > size:  # the header is not all here yet
                self._held = data[at:]
                return
            if length >= 126:
                length = int.from_bytes(data[at + 2 : head], "big")
            if limit is not None and length > limit:
                break
            head += 4  # after the masking key
            end = head + length
            if end > size:
                if end - at > MAX_HELD:
                    break
                self._held = data[at:]
                return
            try:
                text = apply_mask(data[head:end], data[head - 4 : head]).decode()
            except UnicodeDecodeError:
                break
            self._deliver(text)
            at = end
        if at < size:
            super().data_received(data[at:] if at else data)

    def _deliver(self, text: str) -> None:
        """One text message for the app, queued and paused for as uvicorn's `send_receive_event_to_app` does."""
        if self.close_sent:  # the app is past `websocket.close`: uvicorn drops what still comes
            return
        self.queue.put_nowait({"type": "websocket.receive", "text": text})
        if not self.read_paused and self.queue.qsize() >= HIGH_WATER:
            self.read_paused = True
            self.transport.pause_reading()

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
