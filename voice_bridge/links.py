"""The session's two links, as protocols, and the SDK's realtime client that opens the OpenAI one.

`MediaSocket` is Twilio's side (the ASGI socket of `/media`, or a websockets connection on the simulated
line); `RealtimeLink` is what the session uses of the SDK's `AsyncRealtimeConnection`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any, Protocol

from websockets.protocol import State

from leadapp.core.settings import get_settings
from voice_bridge.frames import client_text


class MediaSocket(Protocol):
    """Twilio's side of the call: one text message at a time (None once the socket is closed)."""

    async def receive(self) -> str | None: ...

    async def send(self, text: str) -> None: ...

    async def close(self, code: int = 1000) -> None: ...


class RealtimeLink(Protocol):
    """The parts of the SDK's `AsyncRealtimeConnection` the session uses."""

    async def send_raw(self, data: str) -> None: ...

    async def recv_bytes(self) -> bytes: ...

    async def close(self, *, code: int = 1000, reason: str = "") -> None: ...


RealtimeDialer = Callable[[], Awaitable[RealtimeLink]]


@lru_cache(maxsize=4)
def _openai_client(api_key: str, base_url: str | None) -> Any:
    """One SDK client per configuration, shared by every call of the process.

    Building one loads the TLS trust store and, the first time, imports the SDK's realtime types: tens of
    milliseconds of event-loop time that, paid per call, stalled the audio of every other call.
    """
    from openai import AsyncOpenAI  # lazy: a bridge without an OpenAI key never loads the SDK

    client = AsyncOpenAI(api_key=api_key, base_url=base_url, max_retries=0)
    _ = client.realtime  # the realtime resources load now, not during a call
    return client


def realtime_client() -> Any:
    """The shared SDK client for OPENAI_API_KEY and OPENAI_BASE_URL (built on first use)."""
    settings = get_settings()
    return _openai_client(settings.openai_api_key or "not-configured", settings.openai_base_url or None)


class SdkRealtimeLink:
    """The SDK's realtime connection, with what the bridge sends put straight on the SDK's own websocket.

    The SDK's `send_raw` runs every message through its reconnect queue (a receipt, the queue's checks and an anyio
    task lookup per message): under 150 calls that was about a third of the cost of each send, 50 appends a second
    per call. The bridge does not use the SDK's reconnect (a lost connection ends the call), so nothing is ever
    queued there, and sending on the websocket the SDK opened (`websockets`' ClientConnection, its
    `_connection`) keeps the order and the errors (ConnectionClosed) the same. Without that attribute (another
    SDK version) it falls back to `send_raw`. Receiving and closing are the SDK's.

    On that websocket a message is framed at once (`frames.client_text`: masked, keys drawn in batches, as long as
    no extension was negotiated — the SDK asks for none) and what a loop turn framed is written at its end in one
    `transport.write`, as `ws_protocol` does on Twilio's side: websockets' `send` wraps every message in an async
    context manager and a drain (the larger part of the bridge's own Python work per caller frame in a py-spy
    profile at 150 calls), and after a stall of the loop a call's waiting frames went out one system call each.
    While the socket's buffer is full (`paused`), or once it is not open, what is pending is written and a message
    goes through websockets' `send` as before: it waits for the buffer to drain, or raises ConnectionClosed.
    """

    def __init__(self, connection: Any) -> None:
        self.sdk = connection
        websocket = getattr(connection, "_connection", None)
        send = getattr(websocket, "send", None)
        self._send: Callable[[str], Awaitable[None]] = send if callable(send) else connection.send_raw
        framing = all(hasattr(websocket, name) for name in ("protocol", "paused", "loop", "transport"))
        self._ws: Any = websocket if framing and not getattr(websocket.protocol, "extensions", True) else None
        self._flush_due = False
        self._framed: list[bytes] = []

    async def send_raw(self, data: str) -> None:
        ws = self._ws
        if ws is None or ws.paused or ws.protocol.state is not State.OPEN:
            if self._framed:
                self._flush()  # what was framed before goes first
            await self._send(data)
            return
        self._framed.append(client_text(data.encode()))
        if not self._flush_due:
            self._flush_due = True
            ws.loop.call_soon(self._flush)

    def _flush(self) -> None:
        """Write what this loop turn framed in one go (a failing socket is aborted, as websockets' `send` does)."""
        self._flush_due = False
        ws = self._ws
        output = ws.protocol.data_to_send()
        if self._framed:
            if ws.protocol.state is State.OPEN:  # else the server's close was answered: nothing may follow it
                output = self._framed + output
            self._framed = []
        try:
            if all(output):
                if output:
                    ws.transport.write(b"".join(output))
                return
            for data in output:  # the connection is ending (b"" marks the end of the stream): websockets' writer
                if data:
                    ws.transport.write(data)
                elif ws.transport.can_write_eof():
                    ws.transport.write_eof()
        except Exception:  # the next read or send sees the connection closed
            ws.transport.abort()

    async def recv_bytes(self) -> bytes:
        return await self.sdk.recv_bytes()

    async def close(self, *, code: int = 1000, reason: str = "") -> None:
        if self._framed:
            self._flush()
        await self.sdk.close(code=code, reason=reason)


async def dial_openai() -> RealtimeLink:
    """Connect to OpenAI Realtime through the SDK (OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_REALTIME_MODEL)."""
    client = realtime_client()
    return SdkRealtimeLink(await client.realtime.connect(model=get_settings().openai_realtime_model).enter())
