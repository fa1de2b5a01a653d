"""The media stream's own reading of whole text frames (`voice_bridge.ws_protocol`), through raw bytes on a socket.

A client writes frames as it likes: many in one write, one split at any byte, control frames and fragments in
between. Every message must reach the app whole and in order, and every frame a websocket server must refuse
(unmasked, bad UTF-8, reserved bits, a stray continuation, too large) must close the connection with the code
websockets gives it, with nothing of it handed to the app. Compression is never negotiated.
"""

from __future__ import annotations

import asyncio
import base64
import os
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from websockets.asyncio.client import connect
from websockets.frames import Frame, Opcode

from tests.integration.programs import served_in_loop
from tests.integration.test_ws_protocol import App, wait_until
from voice_bridge import WS_PROTOCOL

MAX_SIZE = 200_000  # the server's message limit in these tests (uvicorn's default is 16 MiB)
STRICT_MAX_SIZE = 1_000  # a limit below what the protocol keeps of an unfinished frame (MAX_HELD)


@dataclass
class Raw:
    """A websocket client that is only a socket: the handshake by hand, then whatever bytes a test writes."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    async def write(self, data: bytes, pieces: int = 1, rng: random.Random | None = None) -> None:
        """`data` in `pieces` writes cut at random places, each drained before the next."""
        cuts = sorted((rng or random.Random(0)).sample(range(1, len(data)), pieces - 1)) if pieces > 1 else []
        for start, end in zip([0, *cuts], [*cuts, len(data)], strict=True):
            self.writer.write(data[start:end])
            await self.writer.drain()
            await asyncio.sleep(0)

    async def frame(self) -> tuple[int, bytes]:
        """The next frame the server sent (unmasked, so read by hand): (opcode, payload)."""
        first, second = await self.reader.readexactly(2)
        length = second & 0x7F
        if length == 126:
            length = int.from_bytes(await self.reader.readexactly(2), "big")
        elif length == 127:
            length = int.from_bytes(await self.reader.readexactly(8), "big")
        return first & 0x0F, await self.reader.readexactly(length)

    async def close_code(self) -> int:
        """The code of the server's close frame (any other frame before it is skipped)."""
        while True:
            opcode, payload = await asyncio.wait_for(self.frame(), 10)
            if opcode == Opcode.CLOSE.value:
                return int.from_bytes(payload[:2], "big")


@dataclass
class Server:
    app: App
    port: int

    async def raw(self) -> Raw:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                "GET /media HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert head.startswith(b"HTTP/1.1 101"), head
        return Raw(reader, writer)


async def serve(max_size: int) -> AsyncIterator[Server]:
    app = App()
    app.reading.set()
    async with served_in_loop(app, ws=WS_PROTOCOL, ws_max_size=max_size) as (_server, port):
        yield Server(app, port)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async for served in serve(MAX_SIZE):
        yield served


@pytest.fixture
async def strict_server() -> AsyncIterator[Server]:
    async for served in serve(STRICT_MAX_SIZE):
        yield served


def text(message: str, fin: bool = True) -> bytes:
    return Frame(Opcode.TEXT, message.encode(), fin=fin).serialize(mask=True, extensions=[])


def frame(opcode: Opcode, payload: bytes, fin: bool = True, mask: bool = True, rsv1: bool = False) -> bytes:
    raw = Frame(opcode, payload, fin=fin).serialize(mask=mask, extensions=[])
    return bytes([raw[0] | 0x40]) + raw[1:] if rsv1 else raw  # websockets will not build one with the bit set


async def test_messages_cut_anywhere_arrive_whole_and_in_order(server: Server) -> None:
    rng = random.Random(7)
    sizes = [0, 1, 5, 120, 125, 126, 127, 300, 1_000, 65_535, 65_536, 70_000, 150_000]
    messages = [f"{n}:" + "é€" * (size // 5) + "x" * (size % 5) for n, size in enumerate(sizes * 3)]
    rng.shuffle(messages)
    client = await server.raw()
    # Several messages per write, each write cut at random bytes (inside headers, masks and multi-byte characters).
    await client.write(b"".join(text(m) for m in messages), pieces=400, rng=rng)
    await wait_until(lambda: len(server.app.received) == len(messages), "every message")
    assert server.app.received == messages
    small = [m for m in messages if len(m.encode()) < 400]
    for message in small:  # and one byte at a time
        await client.write(text(message), pieces=len(text(message)), rng=rng)
    await wait_until(lambda: len(server.app.received) == len(messages) + len(small), "the small ones again")
    assert server.app.received[len(messages) :] == small


async def test_pings_and_fragmented_messages_between_whole_ones_keep_their_place(server: Server) -> None:
    client = await server.raw()
    data = (
        text("one")
        + frame(Opcode.PING, b"are you there")
        + text("two")
        + frame(Opcode.TEXT, b"thr", fin=False)
        + frame(Opcode.PING, b"again")
        + frame(Opcode.CONT, b"ee", fin=True)
        + text("four")
    )
    await client.write(data, pieces=9, rng=random.Random(3))
    await wait_until(lambda: len(server.app.received) == 4, "four messages")
    assert server.app.received == ["one", "two", "three", "four"]
    pongs = [await asyncio.wait_for(client.frame(), 10) for _ in range(2)]
    assert pongs == [(Opcode.PONG.value, b"are you there"), (Opcode.PONG.value, b"again")]


@pytest.mark.parametrize(
    ("attack", "code"),
    [
        # unmasked, and followed by bytes that a reader taking its first four for a mask would read on into
        (frame(Opcode.TEXT, b"x" * 20, mask=False) + b"abcd", 1002),
        (frame(Opcode.TEXT, b"\xff\xfe not UTF-8"), 1007),
        (frame(Opcode.TEXT, b"reserved bit set", rsv1=True), 1002),
        (frame(Opcode.CONT, b"continues nothing"), 1002),
        (frame(Opcode.TEXT, b"x" * (STRICT_MAX_SIZE + 1)), 1009),
    ],
    ids=["unmasked", "bad-utf8", "reserved-bit", "stray-continuation", "too-large"],
)
async def test_a_frame_a_server_must_refuse_closes_the_socket_and_reaches_no_app(
    strict_server: Server, attack: bytes, code: int
) -> None:
    client = await strict_server.raw()
    await client.write(text("before") + attack + text("after"), pieces=3, rng=random.Random(5))
    assert await client.close_code() == code
    await asyncio.sleep(0.05)
    assert strict_server.app.received == ["before"]


async def test_compression_is_never_negotiated(server: Server) -> None:
    async with connect(f"ws://127.0.0.1:{server.port}/media", compression="deflate") as ws:
        assert ws.response is not None
        assert ws.response.headers.get("Sec-WebSocket-Extensions") is None
        await ws.send("echo")
        assert await asyncio.wait_for(ws.recv(), 10) == "got 1"
