"""The bridge's OpenAI link (`voice_bridge.links.SdkRealtimeLink`) on a real websockets connection: what one loop
turn sends is framed in order and written in one system call, a full buffer still makes the sender wait, and a
closed connection still raises ConnectionClosed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from voice_bridge.links import SdkRealtimeLink

TIMEOUT_S = 5.0


class _Sdk:
    """What the link reads of the SDK's `AsyncRealtimeConnection`: the websocket it opened."""

    def __init__(self, websocket: ClientConnection) -> None:
        self._connection = websocket

    async def send_raw(self, data: str) -> None:  # pragma: no cover - the link sends on the websocket
        raise AssertionError("the SDK's send path is not used when the websocket is there")


async def _with_server(received: list[str], body: Any, compression: str | None = None) -> None:
    """`body(client)` on a connection to a server that keeps what it receives (no compression, as the SDK asks)."""

    async def handler(ws: ServerConnection) -> None:
        async for message in ws:
            received.append(str(message))

    async with serve(handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}", compression=compression) as client:
            await body(client)


async def _until(condition: Any) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        while not condition():
            await asyncio.sleep(0.005)


async def test_one_turns_messages_are_sent_in_order_in_one_write() -> None:
    received: list[str] = []

    async def body(client: ClientConnection) -> None:
        writes: list[bytes] = []
        write = client.transport.write
        client.transport.write = lambda data: (writes.append(bytes(data)), write(data))[1]  # type: ignore[method-assign]
        link = SdkRealtimeLink(_Sdk(client))
        for i in range(5):
            await link.send_raw(f'{{"n":{i}}}')
        assert writes == []  # framed, not yet written: the turn is not over
        await asyncio.sleep(0)  # the next turn of the loop
        assert len(writes) == 1
        await _until(lambda: len(received) == 5)
        await link.send_raw('{"n":5}')
        await _until(lambda: len(received) == 6)
        assert len(writes) == 2

    await _with_server(received, body)
    assert received == [f'{{"n":{i}}}' for i in range(6)]


async def test_with_compression_negotiated_websockets_frames_every_message() -> None:
    received: list[str] = []

    async def body(client: ClientConnection) -> None:
        link = SdkRealtimeLink(_Sdk(client))
        for i in range(5):
            await link.send_raw(f'{{"n":{i}}}')
        await _until(lambda: len(received) == 5)

    await _with_server(received, body, compression="deflate")
    assert received == [f'{{"n":{i}}}' for i in range(5)]


async def test_a_full_buffer_makes_the_sender_wait_and_a_closed_socket_raises() -> None:
    received: list[str] = []

    async def body(client: ClientConnection) -> None:
        link = SdkRealtimeLink(_Sdk(client))
        client.pause_writing()  # the transport says its buffer is full
        sending = asyncio.create_task(link.send_raw('{"n":"waits"}'))
        await asyncio.sleep(0.05)
        assert not sending.done()  # websockets' send waits for the buffer to drain
        client.resume_writing()
        await asyncio.wait_for(sending, TIMEOUT_S)
        await _until(lambda: received == ['{"n":"waits"}'])
        await client.close()
        with pytest.raises(ConnectionClosed):
            await link.send_raw('{"n":"late"}')

    await _with_server(received, body)
    assert received == ['{"n":"waits"}']
