"""The load of `bench.bridge`: both ends of N phone calls, stamped, and what they count.

OpenAI's end is the loopback Realtime peer (`BenchPeer`), strict, answering each turn with audio at real rate
whose deltas carry (item, chunk, chunks, send time) in their first 14 bytes; Twilio's end is one loopback
caller per call (`Caller`), sending 20 ms frames that carry (call, sequence, send time) (all calls' frames from one
timer, `Uplink`) and playing out, marking, answering and talking over the replies as a caller would. Both ends
write their messages straight to the socket (`bench.bridge_wire`) and take what they receive as it is parsed
(`ParsedAtOnce`), so that the load generator costs little next to the program it measures. Both count into one
`Stats` per phase: only what is sent inside its window counts.

How the turns come is a `Load`:
- `DEFAULT_LOAD`: 2 s replies in 100 ms deltas; the caller answers every even reply heard to the end (0.1-0.6 s
  later, 300 ms of speech; the peer's VAD starts the next reply 500 ms after it) and talks over every odd one
  30-60 % of the way in (counted in chunks).
- `OUTSIDE_LOAD`, the independent harness of issue 16 item 6: 2 s replies in 20 ms deltas, the first 100 ms
  sent at once (preroll) and the rest at real rate; the peer starts each next reply 1 s ± 50 % after the last
  one ended or was cut off (whatever the caller does); the caller talks over every second reply 1 s after it
  began to play (300 ms of speech, which the peer's VAD turns into a barge-in and a transcribed caller line).
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import struct
import time
from binascii import a2b_base64, b2a_base64
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from openai.types.realtime import InputAudioBufferAppendEvent
from pydantic import TypeAdapter, ValidationError
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.connection import Connection
from websockets.asyncio.server import ServerConnection
from websockets.frames import Frame, Opcode
from websockets.protocol import Event, Side, State

from bench.bridge_wire import TEXT_FIN, frame_at, write_text
from leadapp.core.crypto import media_stream_token
from voice_bridge import twilio_wire as tw
from voice_bridge.loopback.realtime_connection import AssistantAudio
from voice_bridge.loopback.realtime_peer import RealtimePeer
from voice_bridge.loopback.realtime_session import PeerSession
from voice_bridge.loopback.script import FRAME_MS, Reply, Script, Turn
from voice_bridge.loopback.twilio_caller import MediaStreamCaller

PUBLIC_BASE = "https://voice.bench.example.invalid"
PUBLIC_WSS = "wss://voice.bench.example.invalid/media"  # what the bridge checks the upgrade's signature against
AUTH_TOKEN = "twilio-auth-token-for-the-bench-0123"
API_KEY = "sk-bench-realtime-0123456789abcdef"
MODEL = "gpt-realtime"
SIGNATURE_HEADER = "X-Twilio-Signature"

UP_HEADER = struct.Struct(">HIq")  # call index, frame sequence, send time (monotonic ns): 14 bytes
DOWN_HEADER = struct.Struct(">HHHq")  # item number, chunk index, chunks in the item, send time: 14 bytes
TALK_FRAMES = 15  # the caller talks for 300 ms per turn
BARGE_FROM, BARGE_TO = 0.3, 0.6  # where in an odd item the caller interrupts
THINK_S = (0.1, 0.6)  # pause before answering a reply heard to the end
ASSISTANT_TEXT = (
    "Thanks for taking the call, this is the assistant for the plumber about the water heater you "
    "asked about, is now a good time for a couple of quick questions about the job please"
)
ASSISTANT_WORDS = ASSISTANT_TEXT.split()
CALLER_LINES = ("Yes, go ahead.", "Sorry, one question first.", "Tomorrow morning works.", "Wait, about the price.")
MEDIA_HEAD = '{"event":"media",'  # the bridge's media message, compact: its payload is read without json.loads
PAYLOAD_KEY = '"payload":"'
UPLINK_SLOTS = 10  # the calls' uplink phases, spread over 20 ms in 2 ms groups
MAX_TURNS = 10_000
OPCODE_BITS = 0x0F  # the script's turns (a phase has a few hundred per call at most)


@dataclass(frozen=True)
class Load:
    """How the assistant's turns come and how the caller meets them (see the module docstring)."""

    name: str
    turn_ms: int = 2000
    """Audio per assistant reply."""
    delta_ms: int = 100
    """Audio per `response.output_audio.delta`."""
    preroll_ms: int = 0
    """The first ms of each reply sent at once; the rest at real rate, that far ahead."""
    gap_s: tuple[float, float] | None = None
    """The peer starts each next reply after a pause drawn from this range (uniform) once the last one ended or
    was cut off; None: the caller's answer does (the peer's VAD hears it end)."""
    barge_after_s: float | None = None
    """Every second reply is talked over this long after it began to play; None: 30-60 % of the way in."""


DEFAULT_LOAD = Load("default")
OUTSIDE_LOAD = Load("outside", delta_ms=20, preroll_ms=100, gap_s=(0.5, 1.5), barge_after_s=1.0)
LOADS = {load.name: load for load in (DEFAULT_LOAD, OUTSIDE_LOAD)}


APPEND_EVENT: TypeAdapter[Any] = TypeAdapter(InputAudioBufferAppendEvent)
APPEND_PREFIX = '{"type":"input_audio_buffer.append",'
APPEND_PREFIX_B = APPEND_PREFIX.encode()
APPEND_AUDIO_HEAD = APPEND_PREFIX + '"audio":"'
STAMPED_BYTES = 15  # the 14-byte stamps rounded up to whole base64 groups: encoded per message, the rest once


def plain_append(raw: str) -> bool:
    """`{"type":"input_audio_buffer.append","audio":"…"}` with nothing else and no quote or escape in the audio:
    a valid `InputAudioBufferAppendEvent` without asking pydantic (whether the audio is base64 is checked when it
    is decoded, as for any append). Any other shape goes through the model."""
    if not (raw.startswith(APPEND_AUDIO_HEAD) and raw.endswith('"}')):
        return False
    audio = raw[len(APPEND_AUDIO_HEAD) : -2]
    return '"' not in audio and "\\" not in audio


# --- what is measured -------------------------------------------------------------------------------


@dataclass
class Stats:
    """Counters and samples of one phase; only events sent inside [w0, w1) (monotonic ns) count."""

    w0: int = 0
    w1: int = 0
    up_sent: int = 0
    up_received: int = 0
    down_sent: int = 0
    down_received: int = 0
    up_ns: list[int] = field(default_factory=list)
    down_ns: list[int] = field(default_factory=list)
    clear_ns: list[int] = field(default_factory=list)
    expected_clear: dict[int, int] = field(default_factory=dict)
    clears_expected: int = 0
    clears_unexpected: int = 0
    truncates_ok: int = 0
    truncates_bad: int = 0
    invalid_events: int = 0
    errors_sent: int = 0
    sessions: int = 0
    loadgen_lag_ns: list[int] = field(default_factory=list)

    def window(self, ts: int) -> bool:
        return self.w0 <= ts < self.w1


# --- sockets that take each message as it is parsed ---------------------------------------------------


class ParsedAtOnce(Connection):
    """A websockets connection that offers each text message to `on_text` (with its arrival time) as soon as it is
    parsed, in the read callback, instead of queueing it for a reader task to wake up for: at 150 calls that
    wake-up per message is much of what the load generator spends. A message `on_text` declines (False), and
    every later one while any is still queued, goes the usual way (`queued` counts them; the reader calls `took`
    once it has handled each), so the order is kept.

    While the connection is open, the received bytes are split into frames here (`bench.bridge_wire.frame_at`):
    a whole text message in one frame is decoded and offered at once; every other frame (control frames, binary,
    fragments, anything malformed), and a message declined, goes to websockets whole, in order, to be read and
    checked as always. Once a fragmented message begins, websockets reads everything from then on."""

    on_text: Callable[[str, int], bool] | None = None
    queued = 0
    _rest = b""
    _declined = False
    _split_here = True

    def data_received(self, data: bytes) -> None:
        if self._rest:
            data, self._rest = self._rest + data, b""
        if not self._split_here or self.protocol.state is not State.OPEN:
            super().data_received(data)
            return
        masked = self.protocol.side is Side.SERVER  # what a client sends is masked
        at = 0
        while at < len(data):
            end, payload = frame_at(data, at, masked)
            if end < 0:
                self._rest = data[at:]
                return
            on_text = self.on_text
            if payload is not None and on_text is not None and not self.queued:
                try:
                    text = payload.decode()
                except UnicodeDecodeError:  # websockets fails the connection over it
                    text = None
                if text is not None:
                    if on_text(text, time.monotonic_ns()):
                        at = end
                        continue
                    self._declined = True
            elif data[at] & (TEXT_FIN | OPCODE_BITS) in (Opcode.TEXT.value, Opcode.BINARY.value):
                self._split_here = False  # a fragmented message: websockets reads the rest of the stream
                super().data_received(data[at:])
                return
            try:
                super().data_received(data[at:end])
            finally:
                self._declined = False
            if self.protocol.state is not State.OPEN:
                super().data_received(data[end:])
                return
            at = end

    def process_event(self, event: Event) -> None:
        if isinstance(event, Frame) and event.opcode is Opcode.TEXT and event.fin:
            on_text = self.on_text
            offered = on_text is not None and not (self.queued or self._declined)
            if offered and on_text(event.data.decode(), time.monotonic_ns()):  # type: ignore[misc]
                return
            self.queued += 1
        super().process_event(event)  # type: ignore[misc]

    def took(self) -> None:
        """The reader has handled a queued message."""
        self.queued = max(0, self.queued - 1)


class ParsedAtOnceClient(ParsedAtOnce, ClientConnection):
    pass


class ParsedAtOnceServer(ParsedAtOnce, ServerConnection):
    pass


# --- OpenAI: the loopback peer, stamped ---------------------------------------------------------------


class BenchSession(PeerSession):
    """One realtime connection of the loopback peer, with the bench's stamps and counters on its hooks."""

    peer: BenchPeer

    def __init__(self, peer: BenchPeer, connection: ServerConnection, script: Script) -> None:
        super().__init__(peer, connection, script)
        self.stats = peer.stats
        self.call: int | None = None
        self.body = bytes([0x55]) * (peer.chunk_ms * 8)
        self.tails: dict[int, str] = {}
        if isinstance(connection, ParsedAtOnce):
            connection.on_text = self.on_text
        self._append_at = 0
        self.load = peer.load
        self.rng = random.Random(peer.stats.sessions)

    # -- the outside load's turns: the peer starts each reply a pause after the last one --

    async def _respond(self, reply: Reply, response_id: str) -> None:
        await super()._respond(reply, response_id)
        self._next_turn()

    async def cancel_response(self, reason: str) -> None:
        cutting = self._responding()
        await super().cancel_response(reason)
        if cutting:
            self._next_turn()

    def _next_turn(self) -> None:
        if self.load.gap_s is not None and not self.closed.is_set():
            asyncio.get_running_loop().call_later(self.rng.uniform(*self.load.gap_s), self._turn_due)

    def _turn_due(self) -> None:
        if not self.closed.is_set() and not self._responding():
            self.start_response(self.script.fallback)

    async def _end_of_speech(self, detection: dict[str, Any]) -> None:
        if self.load.gap_s is not None:  # the caller's line is transcribed; the next reply comes on its own time
            detection = {**detection, "create_response": False}
        await super()._end_of_speech(detection)

    def on_text(self, raw: str, at_ns: int) -> bool:
        """An append taken as it is parsed when nothing is to be answered about it (see `ParsedAtOnce`)."""
        if not plain_append(raw):
            return False
        self._append_at = at_ns
        return self.take_append_now(raw[len(APPEND_AUDIO_HEAD) : -2], at_ns)

    async def on_message(self, raw: str | bytes) -> None:
        try:
            await self._on_message(raw, time.monotonic_ns())
        finally:  # only now may the next append be taken as it is parsed: the messages stay in order
            if isinstance(self.connection, ParsedAtOnce):
                self.connection.took()

    async def _on_message(self, raw: str | bytes, at: int) -> None:
        if isinstance(raw, str) and plain_append(raw):  # the bridge's hot path, in the one shape it takes
            self.appends += 1
            self._append_at = at
            await self.on_append_audio(raw[len(APPEND_AUDIO_HEAD) : -2])
            return
        # Any other append is checked against the union's append member directly: the same model the union
        # would pick, at a quarter of the union's cost.
        if raw[: len(APPEND_PREFIX)] != (APPEND_PREFIX if isinstance(raw, str) else APPEND_PREFIX_B):
            await super().on_message(raw)
            return
        try:
            event = APPEND_EVENT.validate_json(raw)
        except ValidationError as exc:
            self.stats.invalid_events += 1
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            await self.send_error(f"Invalid client event: {where}: {first['msg']}", code="invalid_value")
            return
        self.appends += 1
        self._append_at = at
        await self.on_append_audio(event.audio)

    async def send_error(self, message: str, **kwargs: Any) -> None:
        self.stats.errors_sent += 1
        await super().send_error(message, **kwargs)

    def on_caller_audio(self, audio: bytes, at_ns: int) -> None:
        if len(audio) >= UP_HEADER.size:
            call, _seq, sent = UP_HEADER.unpack_from(audio)
            self.call = call
            if self.stats.window(sent):
                self.stats.up_received += 1
                self.stats.up_ns.append(self._append_at - sent)

    def speech_starting(self, responding: bool) -> None:
        if responding and self.call is not None:  # a barge-in: the bridge must clear Twilio's buffer
            sent = time.monotonic_ns()
            self.stats.expected_clear[self.call] = sent
            if self.stats.window(sent):
                self.stats.clears_expected += 1

    def truncated(self, ok: bool) -> None:
        counted = self.stats.window(time.monotonic_ns())
        if ok:
            self.stats.truncates_ok += counted
        else:
            self.stats.truncates_bad += counted

    def audio_payload(self, audio: AssistantAudio, index: int, chunks: int, ms: int) -> str:
        sent = time.monotonic_ns()
        if self.stats.window(sent):
            self.stats.down_sent += 1
        # Only the stamped head is encoded per chunk: base64 of its first 15 bytes (a whole number of 3-byte
        # groups) followed by the rest's, encoded once, is the base64 of the whole chunk.
        head = DOWN_HEADER.pack(audio.number, index, chunks, sent) + self.body[DOWN_HEADER.size : STAMPED_BYTES]
        tail = self.tails.get(ms)
        if tail is None:
            tail = self.tails[ms] = base64.b64encode(self.body[STAMPED_BYTES : ms * 8]).decode()
        return b2a_base64(head, newline=False).decode() + tail

    async def send_text(self, text: str) -> None:
        write_text(self.connection, text)


class BenchPeer(RealtimePeer):
    """The loopback OpenAI Realtime peer, strict (handshake and every client event), replying to each turn with
    `turn_ms` of audio sent at real rate in `delta_ms` chunks."""

    session_class = BenchSession
    connection_class = ParsedAtOnceServer
    api_key = API_KEY
    strict = True

    def __init__(self, stats: Stats, load: Load) -> None:
        reply = Reply(ASSISTANT_TEXT, audio_ms=load.turn_ms)
        turns = [Turn(CALLER_LINES[i % len(CALLER_LINES)], reply) for i in range(MAX_TURNS)]
        script = Script(greeting=reply, turns=turns, goodbye=reply, fallback=reply)
        super().__init__(script, stream_speed=1.0, chunk_ms=load.delta_ms, first_chunk_after=0.0)
        self.preroll_ms = load.preroll_ms
        self.load = load
        self.stats = stats

    async def _handle(self, connection: ServerConnection) -> None:
        self.stats.sessions += 1
        await super()._handle(connection)

    def check_client_event(self, session: PeerSession, raw: str | bytes, event: dict[str, Any]) -> str | None:
        problem = super().check_client_event(session, raw, event)
        if problem:
            self.stats.invalid_events += 1
        return problem


# --- Twilio: the loopback caller, one per call, stamped ---------------------------------------------


class Caller(MediaStreamCaller):
    """Twilio's side of one call: signed upgrade, `connected` + `start`, 20 ms stamped frames (sent by `Uplink`); a
    light playout (one timer per mark) that talks over every second reply and answers the others."""

    connection_class = ParsedAtOnceClient

    def __init__(
        self,
        index: int,
        url: str,
        signature: str,
        call_id: int,
        call_sid: str,
        stats: Stats,
        rng: random.Random,
        load: Load = DEFAULT_LOAD,
    ) -> None:
        super().__init__(
            url,
            call_id=None,
            call_sid=call_sid,
            headers={SIGNATURE_HEADER: signature},
            tick_ms=None,
            account_sid="AC" + "0" * 32,
        )
        self.index = index
        self.bench_call_id = call_id
        self.stats = stats
        self.rng = rng
        self.ready = asyncio.Event()
        self.item: int | None = None
        self.barge_at: int | None = None
        self.play_end = 0.0
        self.pending_marks: deque[tuple[asyncio.TimerHandle, str]] = deque()
        self.answer: asyncio.TimerHandle | None = None
        self.barge: asyncio.TimerHandle | None = None
        self.load = load
        self.tails: dict[bytes, str] = {}

    async def open(self) -> None:
        await self.connect()
        assert isinstance(self.ws, ParsedAtOnceClient)
        self.ws.on_text = self.on_text
        params = {"call_id": str(self.bench_call_id), "token": media_stream_token(self.bench_call_id)}
        await self.start(params, uplink=False)

    # -- up: one frame at a time, on `Uplink`'s schedule --

    def send_frame(self, frame: int, due_s: float) -> bool:
        """Frame number `frame` of the uplink, stamped and written now; False once the socket is closed."""
        if self.ws is None or self.closed.is_set() or self.stopped:
            return False
        return write_text(self.ws, self.next_frame(frame, due_s))

    def payload_b64(self, frame: bytes) -> str:
        sent = time.monotonic_ns()
        if self.stats.window(sent):
            self.stats.up_sent += 1
        # As the peer's chunks: the stamped head encoded now, the rest of the frame once per kind of frame.
        tail = self.tails.get(frame)
        if tail is None:
            tail = self.tails[frame] = base64.b64encode(frame[STAMPED_BYTES:]).decode()
        head = UP_HEADER.pack(self.index, self.sequence, sent) + frame[UP_HEADER.size : STAMPED_BYTES]
        return b2a_base64(head, newline=False).decode() + tail

    async def send_text(self, text: str) -> bool:
        if self.ws is None or self.closed.is_set():
            return False
        return write_text(self.ws, text)

    def talk(self) -> None:
        self.answer = None
        if not self.stopped:
            self._uplink.clear()
            self.say(TALK_FRAMES * FRAME_MS)

    # -- down: what the bridge sends, taken as it is parsed --

    def on_text(self, raw: str, at_ns: int) -> bool:
        if raw.startswith(MEDIA_HEAD):
            start = raw.find(PAYLOAD_KEY)
            if start > 0:
                start += len(PAYLOAD_KEY)
                self._on_media(raw[start : raw.index('"', start)], at_ns)
                return True
        name = tw.mark_echo(raw)  # the mark after every chunk, compact: its name read without json.loads too
        if name is not None:
            self._on_mark(name)
            return True
        message = json.loads(raw)
        event = message.get("event")
        if event == "media":
            self._on_media(message["media"]["payload"], at_ns)
        elif event == "mark":
            self._on_mark(message["mark"]["name"])
        elif event == "clear":
            self._on_clear(at_ns)
        return True

    async def on_message(self, message: dict[str, Any], at_ns: int) -> None:
        self.on_text(json.dumps(message), at_ns)  # only before `open` hands the socket its callback

    def _on_media(self, payload: str, at: int) -> None:
        item, chunk, chunks, sent = DOWN_HEADER.unpack_from(a2b_base64(payload[:20]))
        stats = self.stats
        if stats.window(sent):
            stats.down_received += 1
            stats.down_ns.append(at - sent)
        self.ready.set()
        loop = asyncio.get_running_loop()
        plays_at = max(loop.time(), self.play_end)
        self.play_end = plays_at + tw.b64_len_to_bytes(payload) / 8000
        if item != self.item:
            self.item = item
            self.barge_at = None
            if item % 2 == 1 and self.load.barge_after_s is not None:  # talk over it once it has played that long
                self.barge = loop.call_at(plays_at + self.load.barge_after_s, self.talk)
            elif item % 2 == 1:  # every second turn the caller talks over the assistant
                self.barge_at = self.rng.randint(int(chunks * BARGE_FROM), int(chunks * BARGE_TO))
        if self.barge_at is not None and chunk >= self.barge_at:
            self.barge_at = None
            self.talk()
        elif self.load.gap_s is None and item % 2 == 0 and chunk == chunks - 1 and self.answer is None:
            self.answer = loop.call_at(self.play_end + self.rng.uniform(*THINK_S), self.talk)

    def _on_mark(self, name: str) -> None:
        loop = asyncio.get_running_loop()
        if self.play_end <= loop.time():
            self._echo_now(name)
        else:
            handle = loop.call_at(self.play_end, self._echo_due)
            self.pending_marks.append((handle, name))

    def _echo_due(self) -> None:
        if self.pending_marks:
            _handle, name = self.pending_marks.popleft()
            self._echo_now(name)

    def _echo_now(self, name: str) -> None:
        if self.ws is not None and not self.closed.is_set():
            write_text(self.ws, self.mark_text(name))

    def _on_clear(self, at: int) -> None:
        stats = self.stats
        sent = stats.expected_clear.pop(self.index, None)
        if sent is None:
            stats.clears_unexpected += 1
        elif stats.window(sent):
            stats.clear_ns.append(at - sent)
        while self.pending_marks:  # Twilio drops the unplayed audio and echoes the marks still pending
            handle, name = self.pending_marks.popleft()
            handle.cancel()
            self._echo_now(name)
        self.play_end = asyncio.get_running_loop().time()

    async def finish(self) -> None:
        """Twilio ending the stream: `stop`, then the socket closes."""
        for timer in (self.answer, self.barge):
            if timer is not None:
                timer.cancel()
        for handle, _name in self.pending_marks:
            handle.cancel()
        self.pending_marks.clear()
        await self.hang_up()


class Uplink:
    """Every call's 20 ms frames from one timer: the calls' phases are spread over the 20 ms in `slots` groups,
    and each slot's frames are stamped and written one after the other when it is due (on an absolute schedule:
    a late slot goes out at once, like a network backlog), instead of a task and a sleep per call and frame."""

    def __init__(self, callers: list[Caller], begin: float, max_frames: int, slots: int = UPLINK_SLOTS) -> None:
        n = max(1, len(callers))
        self.groups: list[list[Caller]] = [[] for _ in range(slots)]
        for caller in callers:
            self.groups[caller.index * slots // n].append(caller)
        self.begin = begin
        self.max_frames = max_frames
        self.slot_s = FRAME_MS / 1000 / slots

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        clock_offset = time.monotonic() - loop.time()
        slots = len(self.groups)
        for tick in range(self.max_frames * slots):
            due = self.begin + tick * self.slot_s
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            frame, slot = divmod(tick, slots)
            group = self.groups[slot]
            if group:
                self.groups[slot] = [c for c in group if c.send_frame(frame, clock_offset + due)]
            if not any(self.groups):
                return
