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
import json
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
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from openai.types.realtime import (
    ConversationItemAdded,
    ConversationItemInputAudioTranscriptionCompletedEvent,
    ConversationItemTruncatedEvent,
    InputAudioBufferAppendEvent,
    InputAudioBufferCommittedEvent,
    InputAudioBufferSpeechStartedEvent,
    InputAudioBufferSpeechStoppedEvent,
    RealtimeClientEvent,
    RealtimeErrorEvent,
    ResponseAudioDeltaEvent,
    ResponseAudioDoneEvent,
    ResponseAudioTranscriptDeltaEvent,
    ResponseAudioTranscriptDoneEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseCreatedEvent,
    ResponseDoneEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    SessionCreatedEvent,
    SessionUpdatedEvent,
)
from openai.types.realtime.conversation_created_event import ConversationCreatedEvent
from pydantic import TypeAdapter, ValidationError
from twilio.request_validator import RequestValidator
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from bench.stack import Stack, _process_tree, free_port, stack, wait_for
from leadapp.core.crypto import media_stream_token
from voice_bridge import WS_PROTOCOL

PUBLIC_BASE = "https://voice.bench.example.invalid"
PUBLIC_WSS = "wss://voice.bench.example.invalid/media"  # what the bridge checks the upgrade's signature against
AUTH_TOKEN = "twilio-auth-token-for-the-bench-0123"
API_KEY = "sk-bench-realtime-0123456789abcdef"
MODEL = "gpt-realtime"
SIGNATURE_HEADER = "X-Twilio-Signature"
REALTIME_PATH = "/v1/realtime"

FRAME_MS = 20
FRAME_BYTES = 160
SILENCE = 0xFF
SPEECH = bytes([0x1A, 0x2C, 0x3E, 0x2C, 0x1A, 0x9A, 0xAC, 0xBE, 0xAC, 0x9A] * 16)  # loud enough for the toy VAD
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

CONNECT_TIMEOUT_S = 60.0
READY_TIMEOUT_S = 60.0
CLOSE_TIMEOUT_S = 30.0
PROCESS_STOP_TIMEOUT_S = 30.0

CLIENT_EVENT: TypeAdapter[Any] = TypeAdapter(RealtimeClientEvent)
APPEND_EVENT: TypeAdapter[Any] = TypeAdapter(InputAudioBufferAppendEvent)
APPEND_PREFIX = '{"type":"input_audio_buffer.append",'
APPEND_PREFIX_B = APPEND_PREFIX.encode()


def is_speech(frame: bytes) -> bool:
    """The toy VAD of the tests' fake: speech when most bytes are not μ-law silence (0xFF / 0x7F)."""
    return frame.count(SILENCE) + frame.count(0x7F) < len(frame) // 2


def percentile(values: list[int], q: float) -> float:
    """Nearest-rank percentile (nan for no values)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))])


def http_error(status: HTTPStatus, text: str) -> Response:
    body = json.dumps({"error": {"message": text}}).encode()
    headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return Response(status.value, status.phrase, headers, body)


def b64_len(b64: str) -> int:
    n = len(b64)
    return n * 3 // 4 - (2 if b64.endswith("==") else 1 if b64.endswith("=") else 0)


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


# --- the fake OpenAI Realtime server ----------------------------------------------------------------


class FakeRealtime:
    """OpenAI Realtime (GA) on 127.0.0.1 for the bench: strict handshake and events, scripted turns."""

    def __init__(self, stats: Stats, *, turn_ms: int, delta_ms: int) -> None:
        self.stats = stats
        self.turn_ms = turn_ms
        self.delta_ms = delta_ms
        self.problems: list[str] = []
        self._server: Server | None = None
        self._check_delta_template()

    @property
    def port(self) -> int:
        assert self._server is not None
        return next(iter(self._server.sockets)).getsockname()[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}{REALTIME_PATH}?model={MODEL}"

    async def start(self) -> FakeRealtime:
        self._server = await serve(
            self._handle, "127.0.0.1", 0, process_request=self._process_request, max_size=None, compression=None
        )
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), CLOSE_TIMEOUT_S)
            self._server = None

    def _process_request(self, _connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        if url.path != REALTIME_PATH:
            return http_error(HTTPStatus.NOT_FOUND, "not found")
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            self.problems.append("bad Authorization header")
            return http_error(HTTPStatus.UNAUTHORIZED, "Incorrect API key provided.")
        if "model=" not in url.query:
            self.problems.append("no model in the query")
            return http_error(HTTPStatus.BAD_REQUEST, "Missing required parameter: 'model'.")
        if "OpenAI-Beta" in request.headers:
            self.problems.append("OpenAI-Beta header sent")
            return http_error(HTTPStatus.BAD_REQUEST, "The beta Realtime API is not served here.")
        return None

    async def _handle(self, connection: ServerConnection) -> None:
        self.stats.sessions += 1
        await FakeSession(self, connection).serve()

    @staticmethod
    def delta_json(event_id: str, response_id: str, item_id: str, delta: str) -> str:
        """`response.output_audio.delta` as the SDK model serialises it (built by hand: the hot path)."""
        return (
            '{"content_index":0,"delta":"'
            + delta
            + '","event_id":"'
            + event_id
            + '","item_id":"'
            + item_id
            + '","output_index":0,"response_id":"'
            + response_id
            + '","type":"response.output_audio.delta"}'
        )

    def _check_delta_template(self) -> None:
        sample = ResponseAudioDeltaEvent(
            type="response.output_audio.delta",
            event_id="event_1",
            response_id="resp_1",
            item_id="item_1",
            output_index=0,
            content_index=0,
            delta="AAAA",
        )
        built = self.delta_json("event_1", "resp_1", "item_1", "AAAA")
        assert json.loads(built) == json.loads(sample.to_json(indent=None)), "delta template drifted from the SDK"


class FakeSession:
    """One realtime connection: VAD over the caller's frames, one scripted 2 s reply per turn, barge-in."""

    def __init__(self, fake: FakeRealtime, connection: ServerConnection) -> None:
        self.fake = fake
        self.stats = fake.stats
        self.connection = connection
        self.call: int | None = None
        self.counter = 0
        self.silence_limit_ms = 500
        self.speaking = False
        self.silence_ms = 0
        self.speech_item: str | None = None
        self.audio_in_ms = 0
        self.items: list[str] = []
        self.item_no = 0
        self.turn = 0
        self.ms_sent: dict[str, int] = {}
        self.response_task: asyncio.Task[None] | None = None
        self.response_id: str | None = None
        self.current_item: str | None = None
        self.current_text: list[str] = []
        self.body = bytes([0x55]) * (fake.delta_ms * 8)

    def _id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}_{self.counter:06d}{secrets.token_hex(3)}"

    def _event_id(self) -> str:
        self.counter += 1
        return f"event_{self.counter:06d}"

    async def _send_text(self, text: str) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self.connection.send(text)

    async def send(self, model: Any) -> None:
        await self._send_text(model.to_json(indent=None))

    async def send_error(self, message: str, code: str, param: str | None = None) -> None:
        self.stats.errors_sent += 1
        error = {"type": "invalid_request_error", "code": code, "message": message, "param": param}
        await self.send(RealtimeErrorEvent(type="error", event_id=self._event_id(), error=error))

    async def serve(self) -> None:
        session = {"type": "realtime", "model": MODEL, "output_modalities": ["audio"]}
        await self.send(SessionCreatedEvent(type="session.created", event_id=self._event_id(), session=session))
        conversation = {"id": self._id("conv"), "object": "realtime.conversation"}
        await self.send(
            ConversationCreatedEvent(type="conversation.created", event_id=self._event_id(), conversation=conversation)
        )
        try:
            async for raw in self.connection:
                await self.on_message(raw, time.monotonic_ns())
        except ConnectionClosed:
            pass
        finally:
            if self.response_task is not None:
                self.response_task.cancel()

    async def on_message(self, raw: str | bytes, at: int) -> None:
        try:
            # An append (the bridge's hot path) is checked against the union's append member directly: the
            # same model the union would pick, at a quarter of the union's cost.
            is_append = raw[: len(APPEND_PREFIX)] == (APPEND_PREFIX if isinstance(raw, str) else APPEND_PREFIX_B)
            event = (APPEND_EVENT if is_append else CLIENT_EVENT).validate_json(raw)
        except ValidationError as exc:
            self.stats.invalid_events += 1
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            await self.send_error(f"Invalid client event: {where}: {first['msg']}", "invalid_value")
            return
        kind = event.type
        if kind == "input_audio_buffer.append":
            await self.on_append(event.audio, at)
        elif kind == "session.update":
            await self.on_session_update(event)
        elif kind == "response.create":
            if self.responding():
                await self.send_error(
                    f"Conversation already has an active response in progress: {self.response_id}.",
                    "conversation_already_has_active_response",
                )
            else:
                self.start_response()
        elif kind == "response.cancel":
            await self.cancel_response("client_cancelled")
        elif kind == "conversation.item.truncate":
            await self.on_truncate(event.item_id, event.audio_end_ms)

    async def on_session_update(self, event: Any) -> None:
        session = event.session.model_dump(exclude_none=True)
        detection = ((session.get("audio") or {}).get("input") or {}).get("turn_detection") or {}
        self.silence_limit_ms = int(detection.get("silence_duration_ms") or 500)
        session.setdefault("model", MODEL)
        await self.send(SessionUpdatedEvent(type="session.updated", event_id=self._event_id(), session=session))

    # -- the caller's audio --

    async def on_append(self, audio_b64: str, at: int) -> None:
        try:
            audio = base64.b64decode(audio_b64, validate=True)
        except ValueError:
            await self.send_error("Invalid 'audio'. Expected base64-encoded audio bytes.", "invalid_value", "audio")
            return
        if len(audio) >= UP_HEADER.size:
            call, _seq, sent = UP_HEADER.unpack_from(audio)
            self.call = call
            if self.stats.window(sent):
                self.stats.up_received += 1
                self.stats.up_ns.append(at - sent)
        ms = len(audio) // 8
        start_ms = self.audio_in_ms
        self.audio_in_ms += ms
        if is_speech(audio):
            self.silence_ms = 0
            if not self.speaking:
                await self._speech_started(start_ms)
            return
        if self.speaking:
            self.silence_ms += ms
            if self.silence_ms >= self.silence_limit_ms:
                await self._speech_stopped()

    async def _speech_started(self, start_ms: int) -> None:
        self.speaking = True
        self.speech_item = self._id("item")
        barge_in = self.responding()
        sent = time.monotonic_ns()
        if barge_in and self.call is not None:
            self.stats.expected_clear[self.call] = sent
            if self.stats.window(sent):
                self.stats.clears_expected += 1
        await self.send(
            InputAudioBufferSpeechStartedEvent(
                type="input_audio_buffer.speech_started",
                event_id=self._event_id(),
                audio_start_ms=start_ms,
                item_id=self.speech_item,
            )
        )
        if barge_in:
            await self.cancel_response("turn_detected")

    async def _speech_stopped(self) -> None:
        item_id = self.speech_item or self._id("item")
        self.speaking, self.speech_item = False, None
        previous = self.items[-1] if self.items else None
        self.items.append(item_id)
        await self.send(
            InputAudioBufferSpeechStoppedEvent(
                type="input_audio_buffer.speech_stopped",
                event_id=self._event_id(),
                audio_end_ms=self.audio_in_ms - self.silence_ms,
                item_id=item_id,
            )
        )
        await self.send(
            InputAudioBufferCommittedEvent(
                type="input_audio_buffer.committed",
                event_id=self._event_id(),
                item_id=item_id,
                previous_item_id=previous,
            )
        )
        item = {
            "id": item_id,
            "type": "message",
            "role": "user",
            "status": "completed",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        await self.send(
            ConversationItemAdded(
                type="conversation.item.added", event_id=self._event_id(), item=item, previous_item_id=previous
            )
        )
        text = CALLER_LINES[self.turn % len(CALLER_LINES)]
        self.turn += 1
        await self.send(
            ConversationItemInputAudioTranscriptionCompletedEvent(
                type="conversation.item.input_audio_transcription.completed",
                event_id=self._event_id(),
                item_id=item_id,
                content_index=0,
                transcript=text,
                usage={"type": "duration", "seconds": 0.3},
            )
        )
        if not self.responding():
            self.start_response()

    async def on_truncate(self, item_id: str, audio_end_ms: int) -> None:
        sent_ms = self.ms_sent.get(item_id)
        counted = self.stats.window(time.monotonic_ns())
        if sent_ms is None:
            self.stats.truncates_bad += counted
            await self.send_error(f"Conversation item '{item_id}' not found.", "item_not_found", "item_id")
            return
        if audio_end_ms > sent_ms:
            self.stats.truncates_bad += counted
            await self.send_error(
                f"Audio content of {sent_ms}ms is already shorter than {audio_end_ms}ms",
                "invalid_value",
                "audio_end_ms",
            )
            return
        self.stats.truncates_ok += counted
        await self.send(
            ConversationItemTruncatedEvent(
                type="conversation.item.truncated",
                event_id=self._event_id(),
                item_id=item_id,
                content_index=0,
                audio_end_ms=audio_end_ms,
            )
        )

    # -- the assistant's turns --

    def responding(self) -> bool:
        return self.response_task is not None and not self.response_task.done()

    def start_response(self) -> None:
        self.response_id = self._id("resp")
        item_no = self.item_no
        self.item_no += 1
        self.response_task = asyncio.create_task(self._respond(self.response_id, item_no))

    async def _respond(self, response_id: str, item_no: int) -> None:
        item_id = self._id("item")
        previous = self.items[-1] if self.items else None
        self.items.append(item_id)
        self.ms_sent[item_id] = 0
        self.current_item, self.current_text = item_id, []
        response = {"id": response_id, "object": "realtime.response", "status": "in_progress", "output": []}
        await self.send(ResponseCreatedEvent(type="response.created", event_id=self._event_id(), response=response))
        item = {"id": item_id, "type": "message", "role": "assistant", "status": "in_progress", "content": []}
        await self.send(
            ResponseOutputItemAddedEvent(
                type="response.output_item.added",
                event_id=self._event_id(),
                response_id=response_id,
                output_index=0,
                item=item,
            )
        )
        await self.send(
            ConversationItemAdded(
                type="conversation.item.added", event_id=self._event_id(), item=item, previous_item_id=previous
            )
        )
        common = {"response_id": response_id, "item_id": item_id, "output_index": 0, "content_index": 0}
        await self.send(
            ResponseContentPartAddedEvent(
                type="response.content_part.added",
                event_id=self._event_id(),
                part={"type": "audio", "transcript": ""},
                **common,
            )
        )
        delta_ms, turn_ms = self.fake.delta_ms, self.fake.turn_ms
        chunks = max(1, -(-turn_ms // delta_ms))
        loop = asyncio.get_running_loop()
        begin = loop.time()
        for i in range(chunks):
            delay = begin + i * delta_ms / 1000 - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            ms = min(delta_ms, turn_ms - i * delta_ms)
            sent = time.monotonic_ns()
            audio = DOWN_HEADER.pack(item_no, i, chunks, sent) + self.body[: ms * 8 - DOWN_HEADER.size]
            text = self.fake.delta_json(self._event_id(), response_id, item_id, base64.b64encode(audio).decode())
            self.ms_sent[item_id] += ms
            if self.stats.window(sent):
                self.stats.down_sent += 1
            await self._send_text(text)
            word = (" " if i else "") + ASSISTANT_WORDS[i % len(ASSISTANT_WORDS)]
            self.current_text.append(word)
            await self.send(
                ResponseAudioTranscriptDeltaEvent(
                    type="response.output_audio_transcript.delta", event_id=self._event_id(), delta=word, **common
                )
            )
        await self._finish(response_id, "completed", "")

    async def _finish(self, response_id: str, status: str, reason: str) -> None:
        item_id = self.current_item
        output: list[dict[str, Any]] = []
        if item_id is not None:
            transcript = "".join(self.current_text)
            common = {"response_id": response_id, "item_id": item_id, "output_index": 0, "content_index": 0}
            await self.send(
                ResponseAudioDoneEvent(type="response.output_audio.done", event_id=self._event_id(), **common)
            )
            await self.send(
                ResponseAudioTranscriptDoneEvent(
                    type="response.output_audio_transcript.done",
                    event_id=self._event_id(),
                    transcript=transcript,
                    **common,
                )
            )
            await self.send(
                ResponseContentPartDoneEvent(
                    type="response.content_part.done",
                    event_id=self._event_id(),
                    part={"type": "audio", "transcript": transcript},
                    **common,
                )
            )
            done_item = {
                "id": item_id,
                "type": "message",
                "role": "assistant",
                "status": "completed" if status == "completed" else "incomplete",
                "content": [{"type": "output_audio", "transcript": transcript}],
            }
            output.append(done_item)
            await self.send(
                ResponseOutputItemDoneEvent(
                    type="response.output_item.done",
                    event_id=self._event_id(),
                    response_id=response_id,
                    output_index=0,
                    item=done_item,
                )
            )
            self.current_item = None
        response: dict[str, Any] = {
            "id": response_id,
            "object": "realtime.response",
            "status": status,
            "output": output,
        }
        if reason:
            response["status_details"] = {"type": status, "reason": reason}
        await self.send(ResponseDoneEvent(type="response.done", event_id=self._event_id(), response=response))

    async def cancel_response(self, reason: str) -> None:
        task, response_id = self.response_task, self.response_id
        if task is None or response_id is None or task.done():
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await self._finish(response_id, "cancelled", reason)


# --- Twilio: one caller per call --------------------------------------------------------------------


class Caller:
    """Twilio's side of one call: signed upgrade, `connected` + `start`, 20 ms frames, playout, marks, clear."""

    def __init__(
        self, index: int, url: str, signature: str, call_id: int, call_sid: str, stats: Stats, rng: random.Random
    ) -> None:
        self.index = index
        self.url = url
        self.signature = signature
        self.call_id = call_id
        self.call_sid = call_sid
        self.stream_sid = "MZ" + secrets.token_hex(16)
        self.account_sid = "AC" + "0" * 32
        self.stats = stats
        self.rng = rng
        self.ws: ClientConnection | None = None
        self.ready = asyncio.Event()
        self.done = False
        self.sequence = 0
        self.talk_left = 0
        self.item: int | None = None
        self.barge_at: int | None = None
        self.play_end = 0.0
        self.pending_marks: deque[tuple[asyncio.TimerHandle, str]] = deque()
        self.answer: asyncio.TimerHandle | None = None
        self.tasks: list[asyncio.Task[Any]] = []
        self.silence = bytes([SILENCE]) * (FRAME_BYTES - UP_HEADER.size)
        self.speech = SPEECH[UP_HEADER.size :]
        self.frame_head = '{"event":"media","sequenceNumber":"'
        self.frame_mid = '","streamSid":"' + self.stream_sid + '","media":{"track":"inbound","chunk":"'

    async def open(self) -> None:
        self.ws = await connect(
            self.url,
            additional_headers={SIGNATURE_HEADER: self.signature},
            max_size=None,
            compression=None,
            open_timeout=CONNECT_TIMEOUT_S,
            ping_interval=None,
        )
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
                    "customParameters": {"call_id": str(self.call_id), "token": media_stream_token(self.call_id)},
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                },
            }
        )
        self.tasks.append(asyncio.create_task(self._read()))

    def begin_uplink(self, at: float, max_frames: int) -> None:
        self.tasks.append(asyncio.create_task(self._uplink(at, max_frames)))

    async def _send(self, message: dict[str, Any]) -> None:
        await self._send_text(json.dumps(message))

    async def _send_text(self, text: str) -> None:
        if self.ws is not None:
            with contextlib.suppress(ConnectionClosed):
                await self.ws.send(text)

    async def _uplink(self, begin: float, max_frames: int) -> None:
        """A frame every 20 ms on an absolute schedule (late frames go out at once, like a network backlog)."""
        assert self.ws is not None
        loop = asyncio.get_running_loop()
        stats, ws, index = self.stats, self.ws, self.index
        for frame in range(max_frames):
            delay = begin + frame * FRAME_MS / 1000 - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if self.done:
                return
            if self.talk_left > 0:
                self.talk_left -= 1
                body = self.speech
            else:
                body = self.silence
            self.sequence += 1
            sent = time.monotonic_ns()
            payload = base64.b64encode(UP_HEADER.pack(index, self.sequence, sent) + body).decode()
            text = (
                f'{self.frame_head}{self.sequence}{self.frame_mid}{frame + 1}","timestamp":"{frame * FRAME_MS}",'
                f'"payload":"{payload}"}}}}'
            )
            if stats.window(sent):
                stats.up_sent += 1
            try:
                await ws.send(text)
            except ConnectionClosed:
                return

    def talk(self) -> None:
        self.answer = None
        if not self.done:
            self.talk_left = TALK_FRAMES

    async def _read(self) -> None:
        assert self.ws is not None
        with contextlib.suppress(ConnectionClosed):
            async for raw in self.ws:
                at = time.monotonic_ns()
                message = json.loads(raw)
                event = message.get("event")
                if event == "media":
                    self._on_media(message["media"]["payload"], at)
                elif event == "mark":
                    self._on_mark(message["mark"]["name"])
                elif event == "clear":
                    await self._on_clear(at)

    def _on_media(self, payload: str, at: int) -> None:
        item, chunk, chunks, sent = DOWN_HEADER.unpack_from(base64.b64decode(payload[:20]))
        stats = self.stats
        if stats.window(sent):
            stats.down_received += 1
            stats.down_ns.append(at - sent)
        self.ready.set()
        loop = asyncio.get_running_loop()
        now = loop.time()
        self.play_end = max(now, self.play_end) + b64_len(payload) / 8000
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
        self.sequence += 1
        text = json.dumps(
            {
                "event": "mark",
                "sequenceNumber": str(self.sequence),
                "streamSid": self.stream_sid,
                "mark": {"name": name},
            }
        )
        task = asyncio.create_task(self._send_text(text))
        self.tasks.append(task)
        if len(self.tasks) > 64:
            self.tasks = [t for t in self.tasks if not t.done()]

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

    async def close(self) -> None:
        """Twilio ending the stream: `stop`, then the socket closes."""
        self.done = True
        if self.answer is not None:
            self.answer.cancel()
        for handle, _name in self.pending_marks:
            handle.cancel()
        self.pending_marks.clear()
        if self.ws is not None:
            self.sequence += 1
            stop = {"accountSid": self.account_sid, "callSid": self.call_sid}
            await self._send(
                {"event": "stop", "sequenceNumber": str(self.sequence), "streamSid": self.stream_sid, "stop": stop}
            )
            with contextlib.suppress(ConnectionClosed, TimeoutError):
                await asyncio.wait_for(self.ws.close(), 10)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


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
                asyncio.gather(*(c.close() for c in callers), return_exceptions=True), CLOSE_TIMEOUT_S
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
    fake = await FakeRealtime(stats, turn_ms=args.turn_ms, delta_ms=args.delta_ms).start()
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
    fake = await FakeRealtime(stats, turn_ms=args.turn_ms, delta_ms=args.delta_ms).start()
    try:
        port = free_port()
        argv = [sys.executable, "-m", "bench.relay", "--port", str(port), "--upstream", fake.ws_url]
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
