"""The loopback Twilio caller: one local stand-in for Twilio's side of a Media Stream, used by the simulated
call (`voice_bridge.simulated`), the bench (`bench.bridge`) and the tests' fake (`tests/fakes/twilio_media.py`).

A websockets client that dials the bridge's `/media` like Twilio does (extra headers, e.g. a signature):
`connected`, then `start` (custom parameters), then a 20 ms μ-law frame every 20 ms on an absolute schedule
(silence, or speech-like bytes while it talks), `dtmf` on `press`, `stop` on `hang_up`; frames are sent in
Twilio's compact JSON. Its playout simulator drains our audio at 8 bytes/ms, echoes each mark once the audio
ahead of it has played, and on `clear` drops the unplayed audio and echoes the pending marks; `heard` is every
byte played, and with `keep_audio` both sides are kept with their timing for `recording_wav`.

Hooks (the bench uses them for its timestamps): `connection_class` (the socket's class), `stamp` (each frame's
bytes just before it is sent) or `payload_b64` (the frame's base64 payload, stamped), `on_message` (each message
from the bridge; the bench replaces the playout with its own light one), `send_text` (how a message leaves), and
`start(..., uplink=False)` + `send_frames(begin, max_frames)` to run the uplink on the caller's own schedule, or
`next_frame` to build each frame's message on someone else's (the bench drives every call's uplink from one timer).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import secrets
import time
import wave
from array import array
from collections import deque
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from voice_bridge import twilio_wire as tw
from voice_bridge.loopback.script import FRAME_MS, SILENCE, SPEECH_PATTERN

CONNECT_TIMEOUT_S = 60.0
SILENCE_FRAME = bytes([SILENCE]) * tw.FRAME_BYTES


def _ulaw_to_linear(byte: int) -> int:
    """G.711 μ-law to a 16-bit linear sample."""
    u = ~byte & 0xFF
    sample = (((u & 0x0F) << 3) + 0x84) << ((u >> 4) & 0x07)
    return -(sample - 0x84) if u & 0x80 else sample - 0x84


ULAW_TO_LINEAR = tuple(_ulaw_to_linear(b) for b in range(256))


def mixed_wav(tracks: list[list[tuple[float, bytes]]]) -> bytes:
    """Mix μ-law pieces placed at their time (ms from the start) into one 8 kHz 16-bit mono WAV file."""
    end = max((int(at * tw.MULAW_BYTES_PER_MS) + len(audio) for track in tracks for at, audio in track), default=0)
    mix = [0] * end
    for track in tracks:
        for at, audio in track:
            offset = max(0, int(at * tw.MULAW_BYTES_PER_MS))
            for i, byte in enumerate(audio, offset):
                mix[i] += ULAW_TO_LINEAR[byte]
    samples = array("h", (max(-32768, min(32767, value)) for value in mix))
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(samples.tobytes())
    return out.getvalue()


def _json_string(text: str) -> str:
    """`json.dumps(text)`, without its encoder for printable ASCII with no quote or backslash (a mark's name: one
    echoed after every chunk of audio)."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    return json.dumps(text)


class MediaStreamCaller:
    """A Twilio Media Streams client: sends the caller's frames in real time and plays our audio out.

    Playout drains 8 bytes/ms from the moment audio arrives (or the previous audio ends), echoes each mark
    once the audio before it has played, and on `clear` drops the unplayed audio and echoes the pending
    marks, as Twilio does. `heard` is every byte played to the caller, in order.
    """

    connection_class: type[ClientConnection] = ClientConnection
    """Hook: the websockets connection class of the socket (a subclass may take messages as they are parsed)."""

    def __init__(
        self,
        url: str,
        *,
        call_id: int | None,
        call_sid: str | None = None,
        headers: dict[str, str] | None = None,
        tick_ms: float | None = 5.0,
        account_sid: str | None = None,
    ) -> None:
        self.url = url
        self.call_id = call_id
        self.call_sid = call_sid or "CA" + secrets.token_hex(16)
        self.stream_sid = "MZ" + secrets.token_hex(16)
        self.account_sid = account_sid or "AC" + secrets.token_hex(16)
        self.headers = headers or {}
        self.tick_ms = tick_ms
        self.ws: ClientConnection | None = None
        self.sequence = 0
        self.chunk = 0
        self.heard = bytearray()
        self.received: list[tuple[int, dict[str, Any]]] = []
        self.clears: list[tuple[int, int]] = []
        """(monotonic_ns, bytes heard so far) at each `clear`."""
        self.marks_echoed: list[str] = []
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self._entries: deque[list[Any]] = deque()
        self._play_clock: float | None = None
        self._uplink: deque[bytes] = deque()
        self._tasks: list[asyncio.Task[None]] = []
        self._started_at = 0.0
        self.keep_audio = False
        """Keep both sides' audio with its timing (`said_audio`, `played_audio`) for `recording_wav`."""
        self.said_audio: list[tuple[float, bytes]] = []
        self.played_audio: list[tuple[float, bytes]] = []
        self.last_played_at = 0.0
        self.stopped = False

    # -- connection --

    async def connect(self) -> None:
        """Open the websocket (raises websockets' InvalidStatus when the upgrade is refused)."""
        self.ws = await connect(
            self.url,
            additional_headers=self.headers,
            max_size=None,
            compression=None,
            open_timeout=CONNECT_TIMEOUT_S,
            ping_interval=None,
            create_connection=self.connection_class,
        )
        self._tasks.append(asyncio.create_task(self._read()))
        if self.tick_ms:
            self._tasks.append(asyncio.create_task(self._tick()))

    async def start(self, custom_parameters: dict[str, str] | None = None, *, uplink: bool = True) -> None:
        """Send `connected` and `start` (call id as a custom parameter), then (with `uplink`) 20 ms frames in real
        time; without, `send_frames` starts them later."""
        params = {"call_id": str(self.call_id)} if self.call_id is not None else {}
        params.update(custom_parameters or {})
        await self._send({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        self.sequence += 1
        await self._send(
            {
                "event": "start",
                "sequenceNumber": str(self.sequence),
                "streamSid": self.stream_sid,
                "start": {
                    "streamSid": self.stream_sid,
                    "accountSid": self.account_sid,
                    "callSid": self.call_sid,
                    "tracks": ["inbound"],
                    "customParameters": params,
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                },
            }
        )
        self._started_at = time.monotonic()
        if uplink:
            self._tasks.append(asyncio.create_task(self.send_frames()))

    async def _send(self, message: dict[str, Any]) -> None:
        if self.ws is None or self.closed.is_set():
            return
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(json.dumps(message))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.ws is not None:
            with contextlib.suppress(ConnectionClosed):
                await self.ws.close()
        self.closed.set()

    # -- what the caller does --

    def say(self, ms: int) -> None:
        """Talk for `ms` (speech-like frames replace the silence)."""
        for _ in range(max(1, ms // FRAME_MS)):
            self._uplink.append(SPEECH_PATTERN)

    @property
    def talking(self) -> bool:
        return bool(self._uplink)

    async def press(self, digit: str) -> None:
        self.sequence += 1
        await self._send(
            {
                "event": "dtmf",
                "streamSid": self.stream_sid,
                "sequenceNumber": str(self.sequence),
                "dtmf": {"track": "inbound_track", "digit": digit},
            }
        )

    async def hang_up(self) -> None:
        """The call ends (the caller hung up, or the network ended it): `stop`, then the socket closes."""
        if self.stopped:
            return
        self.stopped = True
        self.sequence += 1
        await self._send(
            {
                "event": "stop",
                "sequenceNumber": str(self.sequence),
                "streamSid": self.stream_sid,
                "stop": {"accountSid": self.account_sid, "callSid": self.call_sid},
            }
        )
        await self.close()

    def stamp(self, frame: bytes) -> bytes:
        """Hook: the frame's bytes as sent, called just before it leaves (the bench writes its send time in)."""
        return frame

    async def send_frames(self, begin: float | None = None, max_frames: int | None = None) -> None:
        """A frame every 20 ms from `begin` (the event loop's clock; now by default) on an absolute schedule: late
        frames go out at once, like a network backlog. Until the socket closes, or `max_frames` were sent."""
        loop = asyncio.get_running_loop()
        start = loop.time() if begin is None else begin
        clock_offset = time.monotonic() - loop.time()
        frame = 0
        while not self.closed.is_set() and (max_frames is None or frame < max_frames):
            delay = start + frame * FRAME_MS / 1000 - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
                if self.closed.is_set() or self.stopped:
                    return
            if not await self.send_text(self.next_frame(frame, clock_offset + start + frame * FRAME_MS / 1000)):
                return
            frame += 1

    def next_frame(self, frame: int, due_s: float) -> str:
        """The `media` message of uplink frame number `frame` (due at `due_s`, monotonic seconds): the caller's
        speech if it is talking, else silence; sequence and chunk numbers move on."""
        payload = self._uplink.popleft() if self._uplink else SILENCE_FRAME
        self._record(due_s * 1000, payload, self.said_audio)
        self.sequence += 1
        self.chunk += 1
        audio = self.payload_b64(payload)
        # Twilio's compact JSON (what the bridge's fast path reads), built without json.dumps: the hot path.
        return (
            f'{{"event":"media","sequenceNumber":"{self.sequence}","streamSid":"{self.stream_sid}","media":'
            f'{{"track":"inbound","chunk":"{self.chunk}","timestamp":"{frame * FRAME_MS}","payload":"{audio}"}}}}'
        )

    def payload_b64(self, frame: bytes) -> str:
        """Hook: a frame's payload as sent, base64; taken just before it leaves (here `stamp`'s bytes encoded)."""
        return base64.b64encode(self.stamp(frame)).decode()

    async def send_text(self, text: str) -> bool:
        """Send one message as it stands; False once the socket is closed."""
        if self.ws is None or self.closed.is_set():
            return False
        try:
            await self.ws.send(text)
        except ConnectionClosed:
            return False
        return True

    def mark_text(self, name: str) -> str:
        """The echo of a mark, as Twilio sends it (the next sequence number)."""
        self.sequence += 1
        return (
            f'{{"event":"mark","sequenceNumber":"{self.sequence}","streamSid":"{self.stream_sid}",'
            f'"mark":{{"name":{_json_string(name)}}}}}'
        )

    # -- what the caller hears --

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for raw in self.ws:
                at = time.monotonic_ns()
                await self.on_message(json.loads(raw), at)
        except ConnectionClosed:
            pass
        finally:
            self.close_code = self.ws.close_code
            self.closed.set()

    async def on_message(self, message: dict[str, Any], at_ns: int) -> None:
        """Hook: one message from the bridge, with its arrival time (monotonic_ns); here kept and played out."""
        self.received.append((at_ns, message))
        now = at_ns / 1e6
        event = message.get("event")
        await self._echo(self._advance(now))
        if event == "media":
            audio = bytearray(base64.b64decode(message["media"]["payload"]))
            if not self._entries and self._play_clock is None:
                self._play_clock = now
            self._entries.append(["audio", audio])
        elif event == "mark":
            self._entries.append(["mark", message["mark"]["name"]])
            await self._echo(self._advance(now))
        elif event == "clear":
            self.clears.append((int(now * 1e6), len(self.heard)))
            pending = [entry[1] for entry in self._entries if entry[0] == "mark"]
            self._entries.clear()
            self._play_clock = None
            await self._echo(pending)

    def _advance(self, now: float) -> list[str]:
        """Play out what is due by `now`; returns the marks now reached."""
        reached: list[str] = []
        while self._entries:
            kind, data = self._entries[0]
            if kind == "mark":
                reached.append(data)
                self._entries.popleft()
                continue
            if self._play_clock is None:
                self._play_clock = now
            due = int((now - self._play_clock) * tw.MULAW_BYTES_PER_MS)
            if due >= len(data):
                self.heard += data
                self._record(self._play_clock, bytes(data), self.played_audio)
                self._play_clock += len(data) / tw.MULAW_BYTES_PER_MS
                self.last_played_at = self._play_clock
                self._entries.popleft()
                continue
            if due > 0:
                self.heard += data[:due]
                self._record(self._play_clock, bytes(data[:due]), self.played_audio)
                del data[:due]
                self._play_clock += due / tw.MULAW_BYTES_PER_MS
                self.last_played_at = self._play_clock
            break
        if not self._entries:
            self._play_clock = None
        return reached

    def _record(self, at_ms: float, audio: bytes, track: list[tuple[float, bytes]]) -> None:
        if self.keep_audio and audio:
            track.append((at_ms - self._started_at * 1000, audio))

    def recording_wav(self) -> bytes:
        """The call as a recording would have it: both sides mixed, 8 kHz 16-bit mono WAV (from μ-law)."""
        return mixed_wav([self.said_audio, self.played_audio])

    async def _echo(self, names: list[str]) -> None:
        for name in names:
            self.marks_echoed.append(name)
            await self.send_text(self.mark_text(name))

    async def _tick(self) -> None:
        while not self.closed.is_set():
            await asyncio.sleep(self.tick_ms / 1000)
            await self._echo(self._advance(time.monotonic() * 1000))

    @property
    def playing(self) -> bool:
        return bool(self._entries)

    def heard_ms(self, tag: int | None = None) -> int:
        """Milliseconds heard in all, or of the audio whose bytes carry `tag` (one item's audio)."""
        count = len(self.heard) if tag is None else self.heard.count(tag)
        return count // tw.MULAW_BYTES_PER_MS

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.005)
        return True

    async def wait_quiet(self, quiet_ms: float, since_heard: int, timeout: float) -> bool:
        """Wait until something new was heard and nothing has played for `quiet_ms`."""

        def quiet() -> bool:
            now = time.monotonic() * 1000
            return len(self.heard) > since_heard and not self.playing and now - self.last_played_at >= quiet_ms

        return await self.wait_for(quiet, timeout)
