"""The bridge's websocket protocol (`voice_bridge.ws_protocol`) under a real uvicorn and a real websockets client.

Its departures from uvicorn's `websockets-sansio` are what is checked: reading stops only on a backlog
(and the backlog stays bounded while the app is slow), its message queue keeps order and hands a
cancelled reader's turn on, and what the app sends in one loop turn goes out in one socket write, in order,
before a close that follows it. Everything the protocol carries arrives, in order, whatever the app's pace.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.integration.programs import served_in_loop
from voice_bridge import WS_PROTOCOL
from voice_bridge.ws_protocol import HIGH_WATER, LOW_WATER, MediaStreamProtocol, MessageQueue

MESSAGE_BYTES = 8_000
"""Big enough that one socket read (uvloop's or asyncio's, at most 256 KiB) carries a few dozen messages at most."""
PER_READ_MAX = 256 * 1024 // MESSAGE_BYTES + 1
BURST = 12  # a reply's 100 ms preroll in 20 ms chunks, each a media and a mark


@dataclass
class App:
    """An ASGI websocket app that reads only while `reading` is set and keeps what it read."""

    reading: asyncio.Event = field(default_factory=asyncio.Event)
    received: list[str] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        try:
            while True:
                await self.reading.wait()
                message = await receive()
                if message["type"] != "websocket.receive":
                    return
                self.received.append(message["text"])
                if message["text"] == "echo":
                    await send({"type": "websocket.send", "text": f"got {len(self.received)}"})
                elif message["text"].startswith("burst"):  # BURST messages in one loop turn (no await suspends)
                    for n in range(BURST):
                        await send({"type": "websocket.send", "text": f"burst {n}"})
                    if message["text"] == "burst then close":
                        await send({"type": "websocket.close", "code": 4001})
                        return
        finally:
            self.done.set()


@dataclass
class Served:
    app: App
    server: uvicorn.Server
    url: str

    async def protocol(self) -> MediaStreamProtocol:
        """The server side of the one connection, once it is there."""
        await wait_until(lambda: len(self.server.server_state.connections) == 1, "the connection")
        (only,) = self.server.server_state.connections
        assert isinstance(only, MediaStreamProtocol)
        return only


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    app = App()
    async with served_in_loop(app, ws=WS_PROTOCOL) as (server, port):
        yield Served(app, server, f"ws://127.0.0.1:{port}/media")


async def wait_until(condition: Any, what: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.005)


async def send_all(ws: ClientConnection, messages: list[str]) -> None:
    for message in messages:
        await ws.send(message)


async def test_an_app_that_keeps_up_is_never_paused(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    served.app.reading.set()
    async with connect(served.url, compression=None) as ws:
        protocol = await served.protocol()
        pauses: list[float] = []
        real_pause = protocol.transport.pause_reading
        monkeypatch.setattr(protocol.transport, "pause_reading", lambda: (pauses.append(1), real_pause()))
        for n in range(1, 101):
            await ws.send("echo")
            assert await asyncio.wait_for(ws.recv(), 5) == f"got {n}"
    await asyncio.wait_for(served.app.done.wait(), 5)
    assert served.app.received == ["echo"] * 100
    assert pauses == []  # uvicorn's own protocol pauses (and resumes) reading once per message here


async def test_a_slow_app_pushes_back_with_a_bounded_backlog_and_loses_nothing(served: Served) -> None:
    messages = [f"{n:06d}" + "x" * (MESSAGE_BYTES - 6) for n in range(400)]  # 3.2 MB: far more than the socket holds

    async with connect(served.url, compression=None, max_size=None) as ws:
        protocol = await served.protocol()
        sender = asyncio.create_task(send_all(ws, messages))
        await wait_until(lambda: protocol.read_paused, "reading to stop while the app does not read")
        backlog = protocol.queue.qsize()
        assert HIGH_WATER <= backlog < HIGH_WATER + PER_READ_MAX
        await asyncio.sleep(0.3)  # nothing more is read meanwhile
        assert protocol.queue.qsize() == backlog  # the rest waits in the sockets

        served.app.reading.set()  # the app catches up: reading starts again and everything arrives
        await asyncio.wait_for(sender, 20)
        await wait_until(lambda: len(served.app.received) == len(messages), "every message")
        assert not protocol.read_paused
    assert served.app.received == messages


async def test_reading_starts_again_at_the_low_water_mark(served: Served) -> None:
    messages = [f"{n:06d}" + "y" * (MESSAGE_BYTES - 6) for n in range(200)]
    async with connect(served.url, compression=None, max_size=None) as ws:
        protocol = await served.protocol()
        sender = asyncio.create_task(send_all(ws, messages))
        await wait_until(lambda: protocol.read_paused, "reading to stop")
        seen: list[int] = []
        while protocol.read_paused:  # the app takes one message at a time, as the call session does
            seen.append(protocol.queue.qsize())
            message = await protocol.receive()
            served.app.received.append(message["text"])
        assert protocol.queue.qsize() == LOW_WATER and min(seen) == LOW_WATER + 1
        served.app.reading.set()
        await asyncio.wait_for(sender, 20)
        await wait_until(lambda: len(served.app.received) == len(messages), "every message")
    assert served.app.received == messages


async def test_the_queue_keeps_order_and_wakes_readers_in_turn() -> None:
    queue = MessageQueue(asyncio.get_running_loop())
    first = asyncio.create_task(queue.get())
    second = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    assert queue.qsize() == 0 and not first.done()
    queue.put_nowait("a")
    queue.put_nowait("b")
    queue.put_nowait("c")
    assert (await first, await second) == ("a", "b")
    assert queue.qsize() == 1 and await queue.get() == "c" and queue.qsize() == 0


async def test_a_reader_cancelled_after_its_wake_up_passes_the_item_on() -> None:
    queue = MessageQueue(asyncio.get_running_loop())
    cancelled = asyncio.create_task(queue.get())
    waiting = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait("only")  # wakes `cancelled` first...
    cancelled.cancel()  # ...which is cancelled before it runs
    assert await asyncio.wait_for(waiting, 1) == "only"
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert queue.qsize() == 0


async def test_a_reader_cancelled_while_waiting_leaves_no_trace() -> None:
    queue = MessageQueue(asyncio.get_running_loop())
    gone = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    queue.put_nowait("kept")
    assert queue.qsize() == 1 and await asyncio.wait_for(queue.get(), 1) == "kept"


async def test_what_the_app_sends_in_one_loop_turn_goes_out_in_one_write_in_order(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    served.app.reading.set()
    async with connect(served.url, compression=None) as ws:
        protocol = await served.protocol()
        writes: list[int] = []
        real_write = protocol.transport.write
        monkeypatch.setattr(protocol.transport, "write", lambda data: (writes.append(len(data)), real_write(data)))
        await ws.send("burst")
        assert [await asyncio.wait_for(ws.recv(), 5) for _ in range(BURST)] == [f"burst {n}" for n in range(BURST)]
        assert len(writes) == 1  # uvicorn's own protocol writes once per message: BURST times
        await ws.send("echo")  # a message on its own still goes out at once
        assert await asyncio.wait_for(ws.recv(), 5) == "got 2"
        assert len(writes) == 2


async def test_a_close_after_a_burst_goes_out_after_it(served: Served) -> None:
    served.app.reading.set()
    async with connect(served.url, compression=None) as ws:
        await ws.send("burst then close")
        received = []
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                received.append(await asyncio.wait_for(ws.recv(), 5))
        assert received == [f"burst {n}" for n in range(BURST)]
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001
