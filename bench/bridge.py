"""`python -m bench.bridge --calls N --seconds S`: N simultaneous phone calls through the real voice bridge.

Starts a private Redis and a fresh SQLite database with the demo data plus N outbound calls (provider
"twilio", status "ringing", each with its lead) for the demo plumber's business, a fake OpenAI Realtime
server, and the real bridge as its own process pinned to core 0
(`taskset -c 0 python -m uvicorn voice_bridge.app:app --ws WS`, WS being the websocket protocol that
`python -m voice_bridge` serves with; configured with OPENAI_API_KEY/OPENAI_BASE_URL of the fake,
TWILIO_AUTH_TOKEN, VOICE_BRIDGE_PUBLIC_URL, DATABASE_URL, REDIS_URL). This process, pinned to core 1,
is both Twilio (N signed media streams opened at once) and OpenAI (the fake); everything listens on
127.0.0.1 and is stopped at the end, also on errors and Ctrl-C.

Per call:
- up: a 20 ms μ-law frame every 20 ms (phases spread over the 20 ms). The first 14 bytes of every frame
  carry (call, sequence, send time in monotonic ns); the rest is silence (0xFF) or, while the caller
  talks, speech-like bytes, so the fake's toy VAD (0xFF/0x7F = silence) still hears what it should.
- down: the fake answers each turn with ~2 s of audio sent at real rate (`--delta-ms` chunks, with
  transcript deltas); the first 14 bytes of every delta carry (item, chunk, chunks, send time). The
  caller plays it out at 8 bytes/ms, echoes each mark once the audio ahead of it has played, and on
  `clear` drops the rest and echoes the pending marks, as Twilio does.
- turns: even items are heard to the end, then (after 0.1-0.6 s) the caller talks for 300 ms; the fake's
  VAD answers 500 ms of silence later. Odd items are interrupted 30-60 % of the way in: a barge-in, for
  which the fake sends `speech_started`, cancels the response and expects a valid truncate.

Measured over a window of S seconds, after every call has heard its first audio and `--warmup` more:
- up latency: the caller's frame leaving (timestamp taken just before `ws.send`) → the fake receiving the
  `input_audio_buffer.append` carrying it (timestamp on receipt, before validation);
- down latency: the fake sending a `response.output_audio.delta` → the caller receiving the Twilio
  `media` message carrying it;
- clear latency: the fake sending a barge-in `speech_started` → the caller receiving Twilio `clear`;
- lost: frames sent up in the window that never reached the fake, plus deltas sent in the window that
  never reached the caller (counted after `--drain` seconds more of traffic);
- CPU: the bridge process tree's CPU time (/proc, user + system) in the window / uplink frames sent.
Both clocks are CLOCK_MONOTONIC of one process, so no clock skew enters the numbers. That process keeps its
garbage collector off from the window to the end of the drain (it collects just before), so that its own
pauses are not stamped onto the program measured; `loadgen_lag_p99_ms`/`loadgen_lag_max_ms` say how late its
event loop ran a 5 ms timer in the window (a busy load generator delays the stamps too).

Then the same load goes through `bench.relay` (a raw `websockets` pass-through, no SDK, no logic), also
pinned to core 0, with a fresh fake: its CPU per uplink frame is the floor. Every client event the fake
receives, appends included, is validated against `openai.types.realtime.RealtimeClientEvent`.

The two alternate for `--rounds` rounds (bridge, relay, bridge, relay, …; each bridge round with N fresh
calls), so that both meet the machine in the same moments: on a shared machine the CPU time per frame of
one program drifts by ±20 % from one minute to the next, and one bridge phase followed by one relay phase
compared two different moments. The figures pool the rounds (CPU and frames summed, latency samples
together); the ratio of each round is printed too.

Last line: `bridge calls=N up_p50_us=A up_p99_us=B down_p99_us=C cpu_us_per_frame=D
floor_cpu_us_per_frame=E clear_p99_ms=F lost=G`; one `phase=…` line per phase above it has the details.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gc
import math
import os
import random
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from openai.types.realtime import InputAudioBufferAppendEvent
from pydantic import TypeAdapter, ValidationError
from twilio.request_validator import RequestValidator
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from bench.stack import Stack, _process_tree, free_port, stack, wait_for
from leadapp.core.crypto import media_stream_token
from voice_bridge import WS_PROTOCOL
from voice_bridge import twilio_wire as tw
from voice_bridge.loopback.realtime_connection import AssistantAudio, audio_delta_json
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
MAX_TURNS = 10_000  # the script's turns (a phase has a few hundred per call at most)

CONNECT_TIMEOUT_S = 60.0
READY_TIMEOUT_S = 60.0
CLOSE_TIMEOUT_S = 30.0
PROCESS_STOP_TIMEOUT_S = 30.0

APPEND_EVENT: TypeAdapter[Any] = TypeAdapter(InputAudioBufferAppendEvent)
APPEND_PREFIX = '{"type":"input_audio_buffer.append",'
APPEND_PREFIX_B = APPEND_PREFIX.encode()


def percentile(values: list[int], q: float) -> float:
    """Nearest-rank percentile (nan for no values)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))])


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


# --- OpenAI: the loopback peer, stamped ---------------------------------------------------------------


class BenchSession(PeerSession):
    """One realtime connection of the loopback peer, with the bench's stamps and counters on its hooks."""

    peer: BenchPeer

    def __init__(self, peer: BenchPeer, connection: ServerConnection, script: Script) -> None:
        super().__init__(peer, connection, script)
        self.stats = peer.stats
        self.call: int | None = None
        self.body = bytes([0x55]) * (peer.chunk_ms * 8)
        self._append_at = 0

    async def on_message(self, raw: str | bytes) -> None:
        at = time.monotonic_ns()
        # An append (the bridge's hot path) is checked against the union's append member directly: the same
        # model the union would pick, at a quarter of the union's cost.
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

    def audio_chunk(self, audio: AssistantAudio, index: int, chunks: int, ms: int) -> bytes:
        sent = time.monotonic_ns()
        if self.stats.window(sent):
            self.stats.down_sent += 1
        return DOWN_HEADER.pack(audio.number, index, chunks, sent) + self.body[: ms * 8 - DOWN_HEADER.size]

    async def send_audio_delta(self, payload: str, common: dict[str, Any]) -> None:
        text = audio_delta_json(self._event_id(), common["response_id"], common["item_id"], payload)
        with contextlib.suppress(ConnectionClosed):
            await self.connection.send(text)


class BenchPeer(RealtimePeer):
    """The loopback OpenAI Realtime peer, strict (handshake and every client event), replying to each turn with
    `turn_ms` of audio sent at real rate in `delta_ms` chunks."""

    session_class = BenchSession
    api_key = API_KEY
    strict = True

    def __init__(self, stats: Stats, *, turn_ms: int, delta_ms: int) -> None:
        reply = Reply(ASSISTANT_TEXT, audio_ms=turn_ms)
        turns = [Turn(CALLER_LINES[i % len(CALLER_LINES)], reply) for i in range(MAX_TURNS)]
        script = Script(greeting=reply, turns=turns, goodbye=reply, fallback=reply)
        super().__init__(script, stream_speed=1.0, chunk_ms=delta_ms, first_chunk_after=0.0)
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
    """Twilio's side of one call: signed upgrade, `connected` + `start`, 20 ms stamped frames; a light playout
    (one timer per mark) that talks over every second reply and answers the others."""

    def __init__(
        self, index: int, url: str, signature: str, call_id: int, call_sid: str, stats: Stats, rng: random.Random
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
        self.echoes: list[asyncio.Task[bool]] = []

    async def open(self) -> None:
        await self.connect()
        params = {"call_id": str(self.bench_call_id), "token": media_stream_token(self.bench_call_id)}
        await self.start(params, uplink=False)

    def begin_uplink(self, at: float, max_frames: int) -> None:
        self._tasks.append(asyncio.create_task(self.send_frames(at, max_frames)))

    def stamp(self, frame: bytes) -> bytes:
        sent = time.monotonic_ns()
        if self.stats.window(sent):
            self.stats.up_sent += 1
        return UP_HEADER.pack(self.index, self.sequence, sent) + frame[UP_HEADER.size :]

    def talk(self) -> None:
        self.answer = None
        if not self.stopped:
            self._uplink.clear()
            self.say(TALK_FRAMES * FRAME_MS)

    async def on_message(self, message: dict[str, Any], at_ns: int) -> None:
        event = message.get("event")
        if event == "media":
            self._on_media(message["media"]["payload"], at_ns)
        elif event == "mark":
            self._on_mark(message["mark"]["name"])
        elif event == "clear":
            await self._on_clear(at_ns)

    def _on_media(self, payload: str, at: int) -> None:
        item, chunk, chunks, sent = DOWN_HEADER.unpack_from(base64.b64decode(payload[:20]))
        stats = self.stats
        if stats.window(sent):
            stats.down_received += 1
            stats.down_ns.append(at - sent)
        self.ready.set()
        loop = asyncio.get_running_loop()
        now = loop.time()
        self.play_end = max(now, self.play_end) + tw.b64_len_to_bytes(payload) / 8000
        if item != self.item:
            self.item = item
            self.barge_at = None
            if item % 2 == 1:  # every second turn the caller talks over the assistant
                self.barge_at = self.rng.randint(int(chunks * BARGE_FROM), int(chunks * BARGE_TO))
        if self.barge_at is not None and chunk >= self.barge_at:
            self.barge_at = None
            self.talk()
        elif item % 2 == 0 and chunk == chunks - 1 and self.answer is None:
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
        self.echoes.append(asyncio.create_task(self.send_text(self.mark_text(name))))
        if len(self.echoes) > 64:
            self.echoes = [t for t in self.echoes if not t.done()]

    async def _on_clear(self, at: int) -> None:
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
        if self.answer is not None:
            self.answer.cancel()
        for handle, _name in self.pending_marks:
            handle.cancel()
        self.pending_marks.clear()
        await self.hang_up()
        for task in self.echoes:
            task.cancel()
        await asyncio.gather(*self.echoes, return_exceptions=True)


# --- one phase: N calls through one program ---------------------------------------------------------


@dataclass
class Phase:
    name: str
    calls: int
    stats: Stats
    cpu_seconds: float
    loadgen_cpu_seconds: float
    seconds: float
    runqueue_wait_seconds: float
    loadgen_runqueue_wait_seconds: float

    @property
    def lost_up(self) -> int:
        return self.stats.up_sent - self.stats.up_received

    @property
    def lost_down(self) -> int:
        return self.stats.down_sent - self.stats.down_received

    @property
    def lost(self) -> int:
        return self.lost_up + self.lost_down

    @property
    def cpu_us_per_frame(self) -> float:
        return self.cpu_seconds * 1e6 / self.stats.up_sent if self.stats.up_sent else float("nan")

    def us(self, samples: list[int], q: float) -> float:
        return percentile(samples, q) / 1000

    def describe(self) -> str:
        s = self.stats
        clear_missing = s.clears_expected - len(s.clear_ns)
        return (
            f"phase={self.name} calls={self.calls} seconds={self.seconds:g} frames_up={s.up_sent} "
            f"lost_up={self.lost_up} up_p50_us={self.us(s.up_ns, 0.5):.0f} up_p99_us={self.us(s.up_ns, 0.99):.0f} "
            f"up_max_us={self.us(s.up_ns, 1.0):.0f} deltas_down={s.down_sent} lost_down={self.lost_down} "
            f"down_p50_us={self.us(s.down_ns, 0.5):.0f} down_p99_us={self.us(s.down_ns, 0.99):.0f} "
            f"down_max_us={self.us(s.down_ns, 1.0):.0f} clears={len(s.clear_ns)} clear_missing={clear_missing} "
            f"clear_unexpected={s.clears_unexpected} clear_p50_ms={self.us(s.clear_ns, 0.5) / 1000:.2f} "
            f"clear_p99_ms={self.us(s.clear_ns, 0.99) / 1000:.2f} truncates_ok={s.truncates_ok} "
            f"truncates_bad={s.truncates_bad} invalid_events={s.invalid_events} cpu_s={self.cpu_seconds:.2f} "
            f"cpu_us_per_frame={self.cpu_us_per_frame:.1f} "
            f"runq_wait_ms={1000 * self.runqueue_wait_seconds:.0f} "
            f"loadgen_cpu_pct={100 * self.loadgen_cpu_seconds / self.seconds:.0f} "
            f"loadgen_runq_wait_ms={1000 * self.loadgen_runqueue_wait_seconds:.0f} "
            f"loadgen_lag_p99_ms={self.us(s.loadgen_lag_ns, 0.99) / 1000:.2f} "
            f"loadgen_lag_max_ms={self.us(s.loadgen_lag_ns, 1.0) / 1000:.2f}"
        )


def tree_cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system, all threads) of these processes so far, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            continue
    return total


def runqueue_wait_seconds(pid: int) -> float:
    """Time the process's main thread (its event loop) spent runnable but waiting for its CPU (/proc schedstat).

    Not part of the result: it shows how much other programs sharing the core delayed the loop measured.
    """
    try:
        return int(Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return float("nan")


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


LAG_TICK_S = 0.005


async def watch_loop_lag(stats: Stats) -> None:
    """How late this process's event loop (callers and fake alike) wakes a 5 ms timer, sampled in the window.

    The latencies are stamped here, so a busy load generator shows up in them too; this says how much.
    """
    while True:
        start = time.monotonic_ns()
        await asyncio.sleep(LAG_TICK_S)
        if stats.window(start):
            stats.loadgen_lag_ns.append(max(0, time.monotonic_ns() - start - int(LAG_TICK_S * 1e9)))


async def run_phase(
    name: str,
    media_url: str,
    targets: list[tuple[int, str]],
    stats: Stats,
    program_pid: int,
    args: argparse.Namespace,
) -> Phase:
    """Open every call at once, wait until each hears audio, warm up, measure `args.seconds`, drain, hang up."""
    rng = random.Random(args.seed)
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_WSS, {})
    callers = [
        Caller(i, media_url, signature, call_id, sid, stats, random.Random(rng.random()))
        for i, (call_id, sid) in enumerate(targets)
    ]
    n = len(callers)
    loop = asyncio.get_running_loop()
    total_s = READY_TIMEOUT_S + args.warmup + args.seconds + args.drain + 5
    max_frames = int(total_s * 1000 / FRAME_MS)
    lag_watch: asyncio.Task[None] | None = None
    try:
        await asyncio.wait_for(asyncio.gather(*(c.open() for c in callers)), CONNECT_TIMEOUT_S)
        begin = loop.time() + 0.05
        for caller in callers:
            caller.begin_uplink(begin + caller.index * FRAME_MS / 1000 / n, max_frames)
        try:
            await asyncio.wait_for(asyncio.gather(*(c.ready.wait() for c in callers)), READY_TIMEOUT_S)
        except TimeoutError:
            silent = sum(1 for c in callers if not c.ready.is_set())
            raise RuntimeError(f"{name}: {silent} of {n} calls heard no audio within {READY_TIMEOUT_S:.0f} s") from None
        await asyncio.sleep(args.warmup)
        # This process stamps the latencies: a full collection of its heap (over 100 ms once the phases' samples
        # pile up) would stall every call at once and be counted against the program measured. It collects
        # now, and not again until the window and the drain are over.
        gc.collect()
        gc.disable()
        lag_watch = asyncio.create_task(watch_loop_lag(stats))
        pids = await asyncio.to_thread(_process_tree, program_pid)
        cpu0, own0 = tree_cpu_seconds(pids), own_cpu_seconds()
        wait0, own_wait0 = runqueue_wait_seconds(program_pid), runqueue_wait_seconds(os.getpid())
        stats.w0 = time.monotonic_ns()
        stats.w1 = stats.w0 + int(args.seconds * 1e9)
        await asyncio.sleep(max(0.0, (stats.w1 - time.monotonic_ns()) / 1e9))
        cpu1, own1 = tree_cpu_seconds(pids), own_cpu_seconds()
        wait1, own_wait1 = runqueue_wait_seconds(program_pid), runqueue_wait_seconds(os.getpid())
        await asyncio.sleep(args.drain)  # traffic goes on; what is still missing after this counts as lost
    finally:
        gc.enable()
        if lag_watch is not None:
            lag_watch.cancel()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(c.finish() for c in callers), return_exceptions=True), CLOSE_TIMEOUT_S
            )
    return Phase(name, n, stats, cpu1 - cpu0, own1 - own0, args.seconds, wait1 - wait0, own_wait1 - own_wait0)


# --- set-up -----------------------------------------------------------------------------------------


def seed_calls(database_url: str, redis_url: str, n: int) -> list[tuple[int, str]]:
    """N outbound calls of the demo plumber's business, each about its own consenting lead (as the tests seed)."""
    os.environ["DATABASE_URL"] = database_url
    os.environ["REDIS_URL"] = redis_url
    from sqlmodel import select

    from leadapp.core import crypto, rls
    from leadapp.core.db import engine_for, session_scope
    from leadapp.core.models import Business, Call, Lead, User
    from leadapp.core.seed import PLUMBER_EMAIL
    from leadapp.core.settings import get_settings

    get_settings.cache_clear()
    targets: list[tuple[int, str]] = []
    with session_scope(rls.system("bench.bridge: seed calls")) as session:
        owner = session.exec(select(User).where(User.email == PLUMBER_EMAIL)).one()
        business = session.exec(select(Business).where(Business.owner_id == owner.id)).one()
        for i in range(n):
            phone = f"+1317555{1000 + i:04d}"
            email = f"caller{i}@example.com"
            lead = Lead(
                raw_text=f"Water heater leaking in the garage. Call me at {phone} or {email}.",
                contact_name=f"Caller {i}",
                contact_email=email,
                contact_phone_enc=crypto.encrypt_phone(phone),
                contact_phone_hash=crypto.phone_hash(phone),
                contact_phone_last4=phone[-4:],
                zip="46032",
                location_zip="46032",
                category="plumbing",
                urgency="high",
                budget_min=300,
                budget_max=600,
                consent_ai_calls=True,
                status="matched",
            )
            session.add(lead)
            session.flush()
            sid = "CA" + secrets.token_hex(16)
            call = Call(
                lead_id=lead.id,
                business_id=business.id,
                objective="Confirm the job and get a budget.",
                to_number_enc=lead.contact_phone_enc,
                to_number_hash=lead.contact_phone_hash,
                status="ringing",
                provider="twilio",
                provider_call_sid=sid,
            )
            session.add(call)
            session.flush()
            targets.append((call.id, sid))  # type: ignore[arg-type]
    engine_for(database_url).dispose()
    return targets


def pin_command(core: int | None, argv: list[str]) -> list[str]:
    if core is not None and shutil.which("taskset"):
        return ["taskset", "-c", str(core), *argv]
    return argv


def pin_process(core: int | None, pid: int) -> None:
    """When taskset is missing: pin the child after the fact (its later threads inherit the mask)."""
    if core is not None and not shutil.which("taskset"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(pid, {core})


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=PROCESS_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def pooled(phases: list[Phase]) -> Phase:
    """The rounds of one program as one phase: counters and CPU summed, latency samples put together."""
    first = phases[0]
    stats = Stats()
    for phase in phases:
        for name, value in vars(phase.stats).items():
            if isinstance(value, int) and name not in ("w0", "w1"):
                setattr(stats, name, getattr(stats, name) + value)
            elif isinstance(value, list):
                getattr(stats, name).extend(value)
    return Phase(
        first.name.partition("#")[0],
        first.calls,
        stats,
        sum(p.cpu_seconds for p in phases),
        sum(p.loadgen_cpu_seconds for p in phases),
        sum(p.seconds for p in phases),
        sum(p.runqueue_wait_seconds for p in phases),
        sum(p.loadgen_runqueue_wait_seconds for p in phases),
    )


async def bridge_phase(
    s: Stack, args: argparse.Namespace, targets: list[tuple[int, str]], core: int | None, name: str
) -> Phase:
    """One measured phase through the real bridge, started for it and stopped after it (with its fake)."""
    stats = Stats()
    fake = await BenchPeer(stats, turn_ms=args.turn_ms, delta_ms=args.delta_ms).start()
    try:
        port = free_port()
        argv = [sys.executable, "-m", "uvicorn", "voice_bridge.app:app", "--host", "127.0.0.1", "--port", str(port)]
        argv += ["--ws", WS_PROTOCOL]  # as `python -m voice_bridge` serves it
        proc = s.start(
            "bridge",
            pin_command(core, [*argv, "--log-level", "warning"]),
            OPENAI_API_KEY=API_KEY,
            OPENAI_BASE_URL=fake.base_url,
            TWILIO_AUTH_TOKEN=AUTH_TOKEN,
            TWILIO_ACCOUNT_SID="",
            VOICE_BRIDGE_PUBLIC_URL=PUBLIC_BASE,
            PYTHONUNBUFFERED="1",
        )
        pin_process(core, proc.pid)
        health = f"http://127.0.0.1:{port}/health"
        await asyncio.to_thread(wait_for, lambda: httpx.get(health, timeout=1).status_code == 200, 60, "voice bridge")
        phase = await run_phase(name, f"ws://127.0.0.1:{port}/media", targets, stats, proc.pid, args)
        if fake.problems:
            raise RuntimeError(f"the bridge's handshakes with the fake OpenAI failed: {sorted(set(fake.problems))}")
        await asyncio.to_thread(stop_process, proc)  # the core is quiet again before the next phase
        return phase
    finally:
        await fake.stop()


async def relay_phase(
    s: Stack, args: argparse.Namespace, targets: list[tuple[int, str]], core: int | None, name: str
) -> Phase:
    """The same load through `bench.relay` (the floor), started for it and stopped after it (with its fake)."""
    stats = Stats()
    fake = await BenchPeer(stats, turn_ms=args.turn_ms, delta_ms=args.delta_ms).start()
    try:
        port = free_port()
        argv = [sys.executable, "-m", "bench.relay", "--port", str(port), "--upstream", fake.ws_url(MODEL)]
        proc = s.start("relay", pin_command(core, [*argv, "--api-key", API_KEY]))
        pin_process(core, proc.pid)
        await asyncio.to_thread(wait_for, lambda: port_open(port), 30, "relay")
        phase = await run_phase(name, f"ws://127.0.0.1:{port}/media", targets, stats, proc.pid, args)
        await asyncio.to_thread(stop_process, proc)
        return phase
    finally:
        await fake.stop()


async def bench(s: Stack, args: argparse.Namespace) -> tuple[list[Phase], list[Phase]]:
    """`--rounds` rounds of (bridge phase, relay phase), alternating, so both see the machine at the same moments.

    Each bridge round serves its own N fresh calls (a finished call is not served twice).
    """
    cores = sorted(os.sched_getaffinity(0))
    program_core, loadgen_core = (cores[0], cores[1]) if len(cores) >= 2 else (None, None)
    if program_core is None:
        print("warning: fewer than 2 usable cores, nothing is pinned", file=sys.stderr)
    await asyncio.to_thread(s.redis)
    await asyncio.to_thread(s.database, "sqlite")
    targets = await asyncio.to_thread(seed_calls, s.env["DATABASE_URL"], s.env["REDIS_URL"], args.calls * args.rounds)
    if loadgen_core is not None:
        os.sched_setaffinity(0, {loadgen_core})
    bridges: list[Phase] = []
    relays: list[Phase] = []
    for r in range(args.rounds):
        round_targets = targets[r * args.calls : (r + 1) * args.calls]
        bridges.append(await bridge_phase(s, args, round_targets, program_core, f"bridge#{r + 1}"))
        print(bridges[-1].describe(), flush=True)
        if args.floor:
            relays.append(await relay_phase(s, args, round_targets, program_core, f"relay#{r + 1}"))
            print(relays[-1].describe(), flush=True)
    return bridges, relays


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bridge", description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20, help="simultaneous calls (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window (default: %(default)s)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds after every call is up (default: 2)")
    parser.add_argument("--drain", type=float, default=1.5, help="seconds of traffic after the window (default: 1.5)")
    parser.add_argument("--turn-ms", type=int, default=2000, help="audio per assistant turn (default: 2000)")
    parser.add_argument("--delta-ms", type=int, default=100, help="audio per delta, sent at real rate (default: 100)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the callers' timing")
    parser.add_argument("--floor", action=argparse.BooleanOptionalAction, default=True, help="also run the relay")
    parser.add_argument(
        "--rounds", type=int, default=3, help="bridge/relay phases, alternating; figures pooled (default: 3)"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.rounds <= 20:
        parser.error("need 1 <= --rounds <= 20")
    if not 1 <= args.calls <= 60000 or args.seconds <= 0 or args.delta_ms < 20 or args.turn_ms % args.delta_ms:
        parser.error("need 1 <= --calls <= 60000, --seconds > 0, --delta-ms >= 20, --turn-ms a multiple of it")

    with stack() as s:
        try:
            bridges, relays = asyncio.run(bench(s, args))
        except BaseException:
            for name in ("bridge", "relay"):
                tail = s.log_tail(name)
                if tail:
                    print(f"--- {name} log ---\n{tail}", file=sys.stderr)
            raise
        bridge = pooled(bridges)
        log = s.log_tail("bridge", 200_000)
        problems = [line for line in log.splitlines() if any(w in line.lower() for w in ("error", "warn", "fail"))]
        if problems or bridge.lost or bridge.stats.invalid_events or bridge.stats.truncates_bad:
            print(f"--- bridge log: {len(problems)} error/warning lines ---\n{log[-3000:]}", file=sys.stderr)
    print(bridge.describe())
    floor = float("nan")
    if relays:
        relay = pooled(relays)
        print(relay.describe())
        floor = relay.cpu_us_per_frame
        rounds = zip(bridges, relays, strict=True)
        ratios = " ".join(f"{b.cpu_us_per_frame / r.cpu_us_per_frame:.2f}" for b, r in rounds)
        print(f"cpu_ratio per round (bridge/floor): {ratios}; pooled {bridge.cpu_us_per_frame / floor:.2f}")
    b = bridge.stats
    print(
        f"bridge calls={bridge.calls} up_p50_us={bridge.us(b.up_ns, 0.5):.0f} up_p99_us={bridge.us(b.up_ns, 0.99):.0f} "
        f"down_p99_us={bridge.us(b.down_ns, 0.99):.0f} cpu_us_per_frame={bridge.cpu_us_per_frame:.1f} "
        f"floor_cpu_us_per_frame={floor:.1f} clear_p99_ms={bridge.us(b.clear_ns, 0.99) / 1000:.2f} lost={bridge.lost}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
