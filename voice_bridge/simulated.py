"""Simulated calls: the real bridge session between a scripted callee and a scripted realtime peer.

With no Twilio or OpenAI account, "AI call" still runs end to end: `run_simulated_call(call_id)` starts,
on loopback,

- a **realtime peer**: a websockets server at /v1/realtime speaking the OpenAI Realtime GA protocol
  (session.created/updated, a toy μ-law VAD that turns the caller's audio into speech_started /
  speech_stopped / committed and a scripted transcription, scripted replies streamed as audio and
  transcript deltas faster than real time, function calls that wait for their output, cancellation on
  barge-in, truncate with the real "already shorter than" error). Server events are built from the
  `openai` SDK's own models, so they are what the SDK would parse;
- a **media-stream socket** whose handler runs the very same `CallSession` as `/media`, dialling the peer
  through the `openai` SDK's realtime client;
- a **scripted callee**: a Media Streams client that sends `connected` and `start` (with the call id as a
  custom parameter), 20 ms μ-law frames in real time (silence, or speech-like bytes while it talks),
  plays our audio out at 8 bytes/ms, echoes marks once played, honours `clear`, and answers the
  script's turns when the assistant has finished speaking.

The session saves the transcript line by line (with live events), writes the summary and the outcome,
and the call is then ended through `calls.end_call` as a status callback would end a real one.
The tests' fakes (`tests/fakes/openai_realtime.py`, `tests/fakes/twilio_media.py`) extend the peer and the
caller below with strict validation, recording and fault injection.
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
from dataclasses import dataclass, field
from functools import partial
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree

from openai.types.realtime import (
    ConversationItemAdded,
    ConversationItemDone,
    ConversationItemInputAudioTranscriptionCompletedEvent,
    ConversationItemTruncatedEvent,
    InputAudioBufferCommittedEvent,
    InputAudioBufferSpeechStartedEvent,
    InputAudioBufferSpeechStoppedEvent,
    RealtimeErrorEvent,
    ResponseAudioDeltaEvent,
    ResponseAudioDoneEvent,
    ResponseAudioTranscriptDeltaEvent,
    ResponseAudioTranscriptDoneEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseCreatedEvent,
    ResponseDoneEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    SessionCreatedEvent,
    SessionUpdatedEvent,
)
from openai.types.realtime.conversation_created_event import ConversationCreatedEvent
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from leadapp.core.observability import get_logger
from leadapp.core.providers import recordings, telephony
from leadapp.core.services import calls, conversation
from leadapp.core.vocab import CATEGORY_LABELS, CallOutcome, CallStatus, Category
from voice_bridge import realtime_wire as rt
from voice_bridge import twilio_wire as tw
from voice_bridge.caller_facts import CallerFacts, facts_for_lead
from voice_bridge.links import RealtimeLink
from voice_bridge.session import CallResult, CallSession

log = get_logger("voice_bridge.simulated")

REALTIME_PATH = "/v1/realtime"
MEDIA_PATH = "/media"
SILENCE = 0xFF  # μ-law silence (0x7F is the other zero)
SPEECH_PATTERN = bytes([0x1A, 0x2C, 0x3E, 0x2C, 0x1A, 0x9A, 0xAC, 0xBE, 0xAC, 0x9A] * 16)  # 160 bytes, "loud"
FRAME_MS = 20
MAX_SIMULATED_SECONDS = 240


def is_speech(frame: bytes) -> bool:
    """The toy VAD: a frame is speech when most of its bytes are not μ-law silence (0xFF / 0x7F)."""
    return frame.count(SILENCE) + frame.count(0x7F) < len(frame) // 2


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


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


# --- scripts ----------------------------------------------------------------------------------------


@dataclass
class Reply:
    """One assistant response: spoken text (audio + transcript), then optionally a tool call."""

    text: str = ""
    audio_ms: int | None = None
    tool: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)
    then: Reply | None = None
    """The response to give once the tool's output has come back and a response was requested."""


@dataclass
class Turn:
    caller: str
    """What the caller says (the peer's transcription of the caller's audio)."""
    reply: Reply | None = None
    """The assistant's answer, created by server VAD when the caller stops talking."""


@dataclass
class Script:
    greeting: Reply
    turns: list[Turn] = field(default_factory=list)
    goodbye: Reply = field(
        default_factory=lambda: Reply("Of course. Someone from the business will call you back soon. Goodbye!")
    )
    fallback: Reply = field(default_factory=lambda: Reply("Sorry, could you say that again?"))
    ms_per_char: float = 55.0
    """Speaking rate of both sides: audio length per character of text."""

    def audio_ms(self, reply: Reply) -> int:
        if reply.audio_ms is not None:
            return reply.audio_ms
        return max(300, int(len(reply.text) * self.ms_per_char))

    def speech_ms(self, text: str) -> int:
        return max(300, int(len(text) * self.ms_per_char))


def qualify_script(
    business_name: str, first_name: str = "", service: str = "your request", facts: CallerFacts | None = None
) -> Script:
    """A short qualifying call: greeting with the disclosures, three answers, two records, end_call.

    The callee answers with `facts` (the lead's own need, timing, budget and ZIP: `caller_facts.facts_for_lead`),
    so the summary written from what was recorded agrees with the request."""
    f = facts or CallerFacts()
    hello = f"Hi {first_name}" if first_name else "Hi"
    where = {"zip": f.zip, **({"address_details": f.address} if f.address else {})}
    return Script(
        greeting=Reply(
            f"{hello}, this is an AI assistant calling on behalf of {business_name} about {service}. "
            "Just so you know, this call is recorded. Is now a good time for a couple of quick questions?"
        ),
        turns=[
            Turn("Yes, sure, go ahead.", Reply("Great. What's going on, and how soon do you need someone?")),
            Turn(
                f"{f.need} {f.timing_said}",
                Reply(
                    tool=rt.RECORD_QUALIFICATION,
                    arguments={"need": f.need_recorded, "urgency": f.urgency, "timing": f.timing},
                    then=Reply("Got it. Do you have a budget in mind, and what's the address with the ZIP code?"),
                ),
            ),
            Turn(
                f"{f.budget_said} {f.address_said}",
                Reply(
                    tool=rt.RECORD_QUALIFICATION,
                    arguments={"budget": f.budget, **where},
                    then=Reply(
                        f"Perfect, I have everything. {business_name} will call you to confirm a time. "
                        "Thank you, goodbye!",
                        tool=rt.END_CALL,
                        arguments={"outcome": "goal_achieved", "reason": "job qualified"},
                    ),
                ),
            ),
        ],
    )


# --- the realtime peer ------------------------------------------------------------------------------


@dataclass
class AssistantAudio:
    item_id: str
    tag: int
    bytes_sent: int = 0
    first_at_ns: int | None = None
    truncated_ms: int | None = None

    @property
    def ms_sent(self) -> int:
        return self.bytes_sent // tw.MULAW_BYTES_PER_MS


@dataclass
class BargeIn:
    """The caller spoke while an assistant item may still have been playing."""

    item_id: str
    at_ns: int
    ms_sent: int
    truncate_at_ns: int | None = None
    audio_end_ms: int | None = None

    @property
    def truncate_delay_ms(self) -> float | None:
        return None if self.truncate_at_ns is None else (self.truncate_at_ns - self.at_ns) / 1e6


class PeerSession:
    """One realtime connection: session state, the toy VAD, the conversation and the response in progress."""

    def __init__(self, peer: RealtimePeer, connection: ServerConnection, script: Script) -> None:
        self.peer = peer
        self.connection = connection
        self.script = script
        self.model = ""
        self.config: dict[str, Any] = {
            "type": "realtime",
            "output_modalities": ["audio"],
            "audio": {
                "input": {
                    "format": {"type": "audio/pcm", "rate": 24000},
                    "turn_detection": {"type": "server_vad", "silence_duration_ms": 500},
                },
                "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "alloy"},
            },
        }
        self.events: list[tuple[int, dict[str, Any]]] = []
        """Every client event but the audio appends, with its arrival time (monotonic_ns)."""
        self.appends = 0
        self.audio_in_ms = 0
        self._pending_audio = b""
        self.speaking = False
        self.speech_item: str | None = None
        self.silence_ms = 0
        self.items: list[str] = []
        self.turn = 0
        self.greeted = False
        self.followup: Reply | None = None
        self.assistant_audio: dict[str, AssistantAudio] = {}
        self.last_audio_item: str | None = None
        self.response_task: asyncio.Task[None] | None = None
        self.response_id: str | None = None
        self._current_item: str | None = None
        self._current_text: list[str] = []
        self._current_output: list[dict[str, Any]] = []
        self.response_creates: list[dict[str, Any]] = []
        self.function_outputs: list[dict[str, Any]] = []
        self.truncates: list[dict[str, Any]] = []
        self.barge_ins: list[BargeIn] = []
        self.errors_sent: list[dict[str, Any]] = []
        self._event_counter = 0
        self.closed = asyncio.Event()

    # -- sending --

    def _event_id(self) -> str:
        self._event_counter += 1
        return f"event_{self._event_counter:06d}"

    async def send(self, model: Any) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self.connection.send(model.to_json(indent=None))

    async def send_error(
        self,
        message: str,
        *,
        code: str | None = None,
        error_type: str = "invalid_request_error",
        event_id: str | None = None,
        param: str | None = None,
    ) -> None:
        error = {"type": error_type, "code": code, "message": message, "param": param, "event_id": event_id}
        self.errors_sent.append(error)
        await self.send(RealtimeErrorEvent(type="error", event_id=self._event_id(), error=error))

    # -- serving --

    async def serve(self) -> None:
        await self.send(SessionCreatedEvent(type="session.created", event_id=self._event_id(), session=self._session()))
        await self.send(
            ConversationCreatedEvent(
                type="conversation.created",
                event_id=self._event_id(),
                conversation={"id": _new_id("conv"), "object": "realtime.conversation"},
            )
        )
        try:
            async for raw in self.connection:
                await self.on_message(raw)
        except ConnectionClosed:
            pass
        finally:
            if self.response_task is not None:
                self.response_task.cancel()
            self.closed.set()

    def _session(self) -> dict[str, Any]:
        return {**self.config, "model": self.model or self.config.get("model") or "gpt-realtime"}

    async def on_message(self, raw: str | bytes) -> None:
        try:
            event = json.loads(raw)
        except ValueError:
            await self.send_error("The server could not parse the event: invalid JSON.", code="invalid_json")
            return
        if not isinstance(event, dict):
            await self.send_error("The event must be a JSON object.", code="invalid_json")
            return
        kind = event.get("type")
        if kind == "input_audio_buffer.append":
            self.appends += 1
        else:
            self.events.append((time.monotonic_ns(), event))
        problem = self.peer.check_client_event(self, raw, event)
        if problem:
            await self.send_error(problem, code="invalid_value", event_id=event.get("event_id"))
            return
        handler = {
            "input_audio_buffer.append": self.on_append,
            "session.update": self.on_session_update,
            "response.create": self.on_response_create,
            "response.cancel": self.on_response_cancel,
            "conversation.item.create": self.on_item_create,
            "conversation.item.truncate": self.on_truncate,
            "input_audio_buffer.clear": self.on_buffer_clear,
        }.get(str(kind))
        if handler is None:
            await self.send_error(
                f"Invalid value: '{kind}'. Supported values are client event types.", code="invalid_value", param="type"
            )
            return
        await handler(event)

    # -- session --

    async def on_session_update(self, event: dict[str, Any]) -> None:
        update = event.get("session") or {}
        if update.get("model"):
            self.model = str(update["model"])
        self.config = _merge(self.config, update)
        await self.send(SessionUpdatedEvent(type="session.updated", event_id=self._event_id(), session=self._session()))

    def _turn_detection(self) -> dict[str, Any] | None:
        return ((self.config.get("audio") or {}).get("input") or {}).get("turn_detection")

    # -- caller audio and the toy VAD --

    async def on_append(self, event: dict[str, Any]) -> None:
        try:
            audio = base64.b64decode(str(event.get("audio") or ""), validate=True)
        except ValueError:
            await self.send_error(
                "Invalid 'audio'. Expected base64-encoded audio bytes.", code="invalid_value", param="audio"
            )
            return
        data = self._pending_audio + audio
        frame_bytes = tw.FRAME_BYTES
        whole = len(data) - len(data) % frame_bytes
        self._pending_audio = data[whole:]
        for offset in range(0, whole, frame_bytes):
            await self.on_frame(data[offset : offset + frame_bytes])

    async def on_frame(self, frame: bytes) -> None:
        start_ms = self.audio_in_ms
        self.audio_in_ms += len(frame) // tw.MULAW_BYTES_PER_MS
        detection = self._turn_detection()
        if not detection:
            return
        if is_speech(frame):
            self.silence_ms = 0
            if not self.speaking:
                self.speaking = True
                self.speech_item = _new_id("item")
                await self.send(
                    InputAudioBufferSpeechStartedEvent(
                        type="input_audio_buffer.speech_started",
                        event_id=self._event_id(),
                        audio_start_ms=start_ms,
                        item_id=self.speech_item,
                    )
                )
                self._note_barge_in()
                if detection.get("interrupt_response", True) and self._responding():
                    await self.cancel_response("turn_detected")
            return
        if not self.speaking:
            return
        self.silence_ms += len(frame) // tw.MULAW_BYTES_PER_MS
        if self.silence_ms >= int(detection.get("silence_duration_ms") or 500):
            await self._end_of_speech(detection)

    async def _end_of_speech(self, detection: dict[str, Any]) -> None:
        item_id = self.speech_item or _new_id("item")
        self.speaking, self.speech_item = False, None
        previous = self.items[-1] if self.items else None
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
        self.items.append(item_id)
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
        turn = self.script.turns[self.turn] if self.turn < len(self.script.turns) else None
        self.turn += 1
        text = turn.caller if turn is not None else "Sorry?"
        await self.send(
            ConversationItemInputAudioTranscriptionCompletedEvent(
                type="conversation.item.input_audio_transcription.completed",
                event_id=self._event_id(),
                item_id=item_id,
                content_index=0,
                transcript=text,
                usage={"type": "duration", "seconds": round(self.script.speech_ms(text) / 1000, 2)},
            )
        )
        if detection.get("create_response", True) and not self._responding():
            reply = turn.reply if turn is not None and turn.reply is not None else self.script.fallback
            self.start_response(reply)

    async def on_buffer_clear(self, _event: dict[str, Any]) -> None:
        self._pending_audio = b""
        self.speaking, self.speech_item, self.silence_ms = False, None, 0

    # -- conversation items --

    async def on_item_create(self, event: dict[str, Any]) -> None:
        item = dict(event.get("item") or {})
        item.setdefault("id", _new_id("item"))
        if item.get("type") == "function_call_output":
            self.function_outputs.append({"at_ns": time.monotonic_ns(), **item})
        previous = self.items[-1] if self.items else None
        self.items.append(item["id"])
        await self.send(
            ConversationItemAdded(
                type="conversation.item.added", event_id=self._event_id(), item=item, previous_item_id=previous
            )
        )
        await self.send(
            ConversationItemDone(
                type="conversation.item.done", event_id=self._event_id(), item=item, previous_item_id=previous
            )
        )

    async def on_truncate(self, event: dict[str, Any]) -> None:
        item_id = str(event.get("item_id") or "")
        end_ms = int(event.get("audio_end_ms") or 0)
        at = time.monotonic_ns()
        audio = self.assistant_audio.get(item_id)
        record = {"at_ns": at, "item_id": item_id, "audio_end_ms": end_ms, "ok": False}
        self.truncates.append(record)
        if audio is None:
            await self.send_error(f"Conversation item '{item_id}' not found.", code="item_not_found", param="item_id")
            return
        if end_ms > audio.ms_sent:
            await self.send_error(
                f"Audio content of {audio.ms_sent}ms is already shorter than {end_ms}ms",
                code="invalid_value",
                param="audio_end_ms",
            )
            return
        record["ok"] = True
        audio.truncated_ms = end_ms
        for barge in self.barge_ins:
            if barge.item_id == item_id and barge.truncate_at_ns is None:
                barge.truncate_at_ns, barge.audio_end_ms = at, end_ms
        await self.send(
            ConversationItemTruncatedEvent(
                type="conversation.item.truncated",
                event_id=self._event_id(),
                item_id=item_id,
                content_index=int(event.get("content_index") or 0),
                audio_end_ms=end_ms,
            )
        )

    def _note_barge_in(self) -> None:
        audio = self.assistant_audio.get(self.last_audio_item or "")
        if audio is None or audio.first_at_ns is None or audio.truncated_ms is not None:
            return
        elapsed_ms = (time.monotonic_ns() - audio.first_at_ns) / 1e6
        if elapsed_ms < audio.ms_sent:  # played at real time since its first byte, some of it is still unheard
            self.barge_ins.append(BargeIn(audio.item_id, time.monotonic_ns(), audio.ms_sent))

    # -- responses --

    def _responding(self) -> bool:
        return self.response_task is not None and not self.response_task.done()

    async def on_response_create(self, event: dict[str, Any]) -> None:
        params = event.get("response") or {}
        self.response_creates.append({"at_ns": time.monotonic_ns(), **params})
        if self._responding():
            await self.send_error(
                f"Conversation already has an active response in progress: {self.response_id}. Wait until the "
                "response is finished before creating a new one.",
                code="conversation_already_has_active_response",
            )
            return
        if self.followup is not None:
            reply, self.followup = self.followup, None
        elif not self.greeted:
            reply = self.script.greeting
            self.greeted = True
        elif params.get("instructions"):
            reply = self.script.goodbye
        else:
            reply = self.script.fallback
        self.start_response(reply)

    async def on_response_cancel(self, _event: dict[str, Any]) -> None:
        if self._responding():
            await self.cancel_response("client_cancelled")

    def start_response(self, reply: Reply) -> None:
        self.response_id = _new_id("resp")
        self.response_task = asyncio.create_task(self._respond(reply, self.response_id))

    async def cancel_response(self, reason: str) -> None:
        task, response_id = self.response_task, self.response_id
        if task is None or response_id is None or task.done():
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        item_id = self._current_item
        if item_id is not None:
            transcript = "".join(self._current_text)
            await self._finish_message(response_id, item_id, transcript, "incomplete")
        await self.send(
            ResponseDoneEvent(
                type="response.done",
                event_id=self._event_id(),
                response={
                    "id": response_id,
                    "object": "realtime.response",
                    "status": "cancelled",
                    "status_details": {"type": "cancelled", "reason": reason},
                    "output": self._current_output,
                },
            )
        )

    async def _respond(self, reply: Reply, response_id: str) -> None:
        self._current_item, self._current_text, self._current_output = None, [], []
        await self.send(
            ResponseCreatedEvent(
                type="response.created",
                event_id=self._event_id(),
                response={"id": response_id, "object": "realtime.response", "status": "in_progress", "output": []},
            )
        )
        index = 0
        if reply.text:
            await self._speak(reply, response_id, index)
            index += 1
        if reply.tool:
            await self._call_tool(reply, response_id, index)
        self._current_item = None
        await self.send(
            ResponseDoneEvent(
                type="response.done",
                event_id=self._event_id(),
                response={
                    "id": response_id,
                    "object": "realtime.response",
                    "status": "completed",
                    "output": self._current_output,
                },
            )
        )

    async def _speak(self, reply: Reply, response_id: str, index: int) -> None:
        item_id = _new_id("item")
        previous = self.items[-1] if self.items else None
        self.items.append(item_id)
        tag = 0x20 + len(self.assistant_audio) % 0x50  # every item's audio has its own byte value
        audio = self.assistant_audio[item_id] = AssistantAudio(item_id, tag)
        self.last_audio_item = item_id
        self._current_item = item_id
        item = {"id": item_id, "type": "message", "role": "assistant", "status": "in_progress", "content": []}
        common = {"response_id": response_id, "item_id": item_id, "output_index": index, "content_index": 0}
        await self.send(
            ResponseOutputItemAddedEvent(
                type="response.output_item.added",
                event_id=self._event_id(),
                response_id=response_id,
                output_index=index,
                item=item,
            )
        )
        await self.send(
            ConversationItemAdded(
                type="conversation.item.added", event_id=self._event_id(), item=item, previous_item_id=previous
            )
        )
        await self.send(
            ResponseContentPartAddedEvent(
                type="response.content_part.added",
                event_id=self._event_id(),
                part={"type": "audio", "transcript": ""},
                **common,
            )
        )
        total_ms = self.script.audio_ms(reply)
        chunk_ms = self.peer.chunk_ms
        n_chunks = max(1, -(-total_ms // chunk_ms))
        words = reply.text.split(" ")
        per_chunk = max(1, -(-len(words) // n_chunks))
        for i in range(n_chunks):
            await asyncio.sleep(chunk_ms / self.peer.stream_speed / 1000)
            ms = min(chunk_ms, total_ms - i * chunk_ms)
            payload = base64.b64encode(bytes([tag]) * (ms * tw.MULAW_BYTES_PER_MS)).decode()
            if audio.first_at_ns is None:
                audio.first_at_ns = time.monotonic_ns()
            audio.bytes_sent += ms * tw.MULAW_BYTES_PER_MS
            await self.send(
                ResponseAudioDeltaEvent(
                    type="response.output_audio.delta", event_id=self._event_id(), delta=payload, **common
                )
            )
            piece = words[i * per_chunk : (i + 1) * per_chunk]
            if piece:
                delta = (" " if i else "") + " ".join(piece)
                self._current_text.append(delta)
                await self.send(
                    ResponseAudioTranscriptDeltaEvent(
                        type="response.output_audio_transcript.delta", event_id=self._event_id(), delta=delta, **common
                    )
                )
        await self._finish_message(response_id, item_id, reply.text, "completed")

    async def _finish_message(self, response_id: str, item_id: str, transcript: str, status: str) -> None:
        common = {"response_id": response_id, "item_id": item_id, "output_index": 0, "content_index": 0}
        await self.send(ResponseAudioDoneEvent(type="response.output_audio.done", event_id=self._event_id(), **common))
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
        item = {
            "id": item_id,
            "type": "message",
            "role": "assistant",
            "status": status,
            "content": [{"type": "output_audio", "transcript": transcript}],
        }
        self._current_output.append(item)
        await self.send(
            ResponseOutputItemDoneEvent(
                type="response.output_item.done",
                event_id=self._event_id(),
                response_id=response_id,
                output_index=0,
                item=item,
            )
        )
        self._current_item = None

    async def _call_tool(self, reply: Reply, response_id: str, index: int) -> None:
        item_id, call_id = _new_id("item"), _new_id("call")
        self.items.append(item_id)
        arguments = json.dumps(reply.arguments)
        item = {
            "id": item_id,
            "type": "function_call",
            "status": "in_progress",
            "name": reply.tool,
            "call_id": call_id,
            "arguments": "",
        }
        common = {"response_id": response_id, "item_id": item_id, "output_index": index, "call_id": call_id}
        await self.send(
            ResponseOutputItemAddedEvent(
                type="response.output_item.added",
                event_id=self._event_id(),
                response_id=response_id,
                output_index=index,
                item=item,
            )
        )
        await self.send(
            ResponseFunctionCallArgumentsDeltaEvent(
                type="response.function_call_arguments.delta", event_id=self._event_id(), delta=arguments, **common
            )
        )
        await self.send(
            ResponseFunctionCallArgumentsDoneEvent(
                type="response.function_call_arguments.done",
                event_id=self._event_id(),
                arguments=arguments,
                name=str(reply.tool),
                **common,
            )
        )
        done = {**item, "status": "completed", "arguments": arguments}
        self._current_output.append(done)
        await self.send(
            ResponseOutputItemDoneEvent(
                type="response.output_item.done",
                event_id=self._event_id(),
                response_id=response_id,
                output_index=index,
                item=done,
            )
        )
        self.followup = reply.then

    # -- faults (used by the tests' fake) --

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.connection.close(code, reason)


def _merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key != "format":
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class RealtimePeer:
    """A websockets server on 127.0.0.1 (port 0 = any free port) speaking the Realtime GA protocol."""

    session_class = PeerSession

    def __init__(
        self, script: Script | Callable[[], Script], *, stream_speed: float = 4.0, chunk_ms: int = 100
    ) -> None:
        self._script = script
        self.stream_speed = stream_speed
        self.chunk_ms = chunk_ms
        self.sessions: list[PeerSession] = []
        self.handshakes: list[dict[str, Any]] = []
        self._server: Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        return next(iter(self._server.sockets)).getsockname()[1]

    @property
    def base_url(self) -> str:
        """What the SDK takes as `base_url` (it dials `ws://…/v1/realtime?model=…`)."""
        return f"http://127.0.0.1:{self.port}/v1"

    async def start(self) -> RealtimePeer:
        self._server = await serve(
            self._handle, "127.0.0.1", 0, process_request=self._process_request, max_size=None, compression=None
        )
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> RealtimePeer:
        return await self.start()

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    def _process_request(self, _connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        self.handshakes.append({"path": url.path, "query": url.query, "headers": request.headers})
        if url.path != REALTIME_PATH:
            return http_error(HTTPStatus.NOT_FOUND, "not found")
        return self.check_handshake(url.query, request.headers)

    def check_handshake(self, query: str, headers: Headers) -> Response | None:
        """Accept every handshake (the tests' fake insists on a Bearer key and a model)."""
        return None

    def check_client_event(self, session: PeerSession, raw: str | bytes, event: dict[str, Any]) -> str | None:
        """A reason to refuse a client event with an `error` event (none here; the fake validates)."""
        return None

    def script(self) -> Script:
        return self._script() if callable(self._script) else self._script

    async def _handle(self, connection: ServerConnection) -> None:
        session = self.session_class(self, connection, self.script())
        query = urlsplit(connection.request.path).query if connection.request else ""
        session.model = dict(part.partition("=")[::2] for part in query.split("&") if part).get("model", "")
        self.sessions.append(session)
        await session.serve()


def http_error(status: HTTPStatus, text: str) -> Response:
    body = json.dumps({"error": {"message": text}}).encode()
    headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return Response(status.value, status.phrase, headers, body)


# --- the caller side ----------------------------------------------------------------------------------


class MediaStreamCaller:
    """A Twilio Media Streams client: sends the caller's frames in real time and plays our audio out.

    Playout drains 8 bytes/ms from the moment audio arrives (or the previous audio ends), echoes each mark
    once the audio before it has played, and on `clear` drops the unplayed audio and echoes the pending
    marks, as Twilio does. `heard` is every byte played to the caller, in order.
    """

    def __init__(
        self,
        url: str,
        *,
        call_id: int | None,
        call_sid: str | None = None,
        headers: dict[str, str] | None = None,
        tick_ms: float = 5.0,
    ) -> None:
        self.url = url
        self.call_id = call_id
        self.call_sid = call_sid or "CA" + secrets.token_hex(16)
        self.stream_sid = "MZ" + secrets.token_hex(16)
        self.account_sid = "AC" + secrets.token_hex(16)
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
        self.ws = await connect(self.url, additional_headers=self.headers, max_size=None, compression=None)
        self._tasks.append(asyncio.create_task(self._read()))
        self._tasks.append(asyncio.create_task(self._tick()))

    async def start(self, custom_parameters: dict[str, str] | None = None) -> None:
        """Send `connected` and `start` (call id as a custom parameter), then 20 ms frames in real time."""
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
        self._tasks.append(asyncio.create_task(self._send_frames()))

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

    async def _send_frames(self) -> None:
        silence = bytes([SILENCE]) * tw.FRAME_BYTES
        start = time.monotonic()
        frame = 0
        while not self.closed.is_set():
            payload = self._uplink.popleft() if self._uplink else silence
            self._record((start + frame * FRAME_MS / 1000) * 1000, payload, self.said_audio)
            self.sequence += 1
            self.chunk += 1
            await self._send(
                {
                    "event": "media",
                    "sequenceNumber": str(self.sequence),
                    "streamSid": self.stream_sid,
                    "media": {
                        "track": "inbound",
                        "chunk": str(self.chunk),
                        "timestamp": str(frame * FRAME_MS),
                        "payload": base64.b64encode(payload).decode(),
                    },
                }
            )
            frame += 1
            await asyncio.sleep(max(0.0, start + frame * FRAME_MS / 1000 - time.monotonic()))

    # -- what the caller hears --

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for raw in self.ws:
                at = time.monotonic_ns()
                message = json.loads(raw)
                self.received.append((at, message))
                await self._on_message(message, at / 1e6)
        except ConnectionClosed:
            pass
        finally:
            self.close_code = self.ws.close_code
            self.closed.set()

    async def _on_message(self, message: dict[str, Any], now: float) -> None:
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
            self.sequence += 1
            await self._send(
                {
                    "event": "mark",
                    "sequenceNumber": str(self.sequence),
                    "streamSid": self.stream_sid,
                    "mark": {"name": name},
                }
            )

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


class ScriptedCallee(MediaStreamCaller):
    """The simulated person: listens to each reply, then says the script's next line (at the script's rate)."""

    async def converse(self, script: Script, *, quiet_ms: float = 500, turn_timeout: float = 60.0) -> None:
        for turn in script.turns:
            heard_before = len(self.heard)
            if self.closed.is_set() or not await self.wait_quiet(quiet_ms, heard_before, turn_timeout):
                return
            self.say(script.speech_ms(turn.caller))
        await asyncio.wait_for(self.closed.wait(), turn_timeout)


class WebsocketsMediaSocket:
    """A websockets server connection as the session's `MediaSocket`."""

    def __init__(self, connection: ServerConnection) -> None:
        self._connection = connection

    async def receive(self) -> str | None:
        try:
            message = await self._connection.recv()
        except ConnectionClosed:
            return None
        return message if isinstance(message, str) else message.decode("utf-8", errors="replace")

    async def send(self, text: str) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self._connection.send(text)

    async def close(self, code: int = 1000) -> None:
        await self._connection.close(code)


# --- running a simulated call -------------------------------------------------------------------------


async def dial_peer(base_url: str, model: str = "gpt-realtime") -> RealtimeLink:
    """The bridge's dialler for a local peer: the real SDK realtime client, pointed at loopback."""
    from openai import AsyncOpenAI

    client = AsyncOpenAI(api_key="simulated-call", base_url=base_url, max_retries=0)
    return await client.realtime.connect(model=model).enter()


def concierge_script(first_name: str = "", service: str = "your request", zip_code: str = "46032") -> Script:
    """A LeadApp concierge call: the assistant speaks for LeadApp, goes over the request and completes it."""
    hello = f"Hi {first_name}" if first_name else "Hi"
    return Script(
        greeting=Reply(
            f"{hello}, this is an AI assistant from LeadApp, returning your call about {service}. "
            "Just so you know, this call is recorded. Is now a good moment to go over the details?"
        ),
        turns=[
            Turn("Yes, go ahead.", Reply("Thanks. What exactly needs doing, and how soon do you need someone?")),
            Turn(
                "The pipe under the kitchen sink is leaking into the cabinet, I'd like someone this week.",
                Reply(
                    tool=rt.RECORD_QUALIFICATION,
                    arguments={
                        "need": "leaking pipe under the kitchen sink",
                        "urgency": "high",
                        "timing": "this week",
                    },
                    then=Reply("Got it. What budget do you have in mind, and what's the ZIP code of the job?"),
                ),
            ),
            Turn(
                f"About three hundred dollars. It's 12 Main Street, {zip_code}.",
                Reply(
                    tool=rt.RECORD_QUALIFICATION,
                    arguments={"budget": "about $300", "address_details": "12 Main Street", "zip": zip_code},
                    then=Reply(
                        "Thank you, I have everything. LeadApp will now look for businesses again with your "
                        "completed request, and you'll hear by email or text when one responds. Goodbye!",
                        tool=rt.END_CALL,
                        arguments={"outcome": "goal_achieved", "reason": "request completed"},
                    ),
                ),
            ),
        ],
    )


def script_for_call(call_id: int, ms_per_char: float | None = None) -> Script:
    """The scripted conversation for a call: the business's name (or LeadApp's concierge script for a call
    without a business), the consumer's first name, the service."""
    call, business, lead = conversation.call_parties(call_id)
    first = (lead.contact_name or "").split(" ")[0] if lead else ""
    service = "your request"
    if lead and lead.category in Category._value2member_map_:
        service = f"your {CATEGORY_LABELS[Category(lead.category)].lower()} request"
    if call is not None and call.business_id is None:
        zip_code = (lead.location_zip or lead.zip or "46032") if lead else "46032"
        script = concierge_script(first, service, zip_code)
    else:
        script = qualify_script(business.name if business else "the business", first, service, facts_for_lead(lead))
    if ms_per_char:
        script.ms_per_char = ms_per_char
    return script


async def simulate_call(call_id: int, script: Script | None = None, *, ms_per_char: float | None = None) -> CallResult:
    """Run one call through the bridge's `CallSession` between a scripted callee and a scripted peer.

    Everything listens on 127.0.0.1 and is stopped before returning. The call record is handled exactly
    as for a real call (transcript lines with live events, qualification, outcome, summary, ended_at).
    """
    script = script or await asyncio.to_thread(script_for_call, call_id, ms_per_char)
    result: asyncio.Future[CallResult] = asyncio.get_running_loop().create_future()
    callee: ScriptedCallee | None = None

    async def hang_up(_call_sid: str, _say: str = "") -> None:  # what Twilio does after a REST hang-up: stop, close
        if callee is not None:
            await callee.hang_up()

    async with RealtimePeer(script) as peer:

        async def serve_media(connection: ServerConnection) -> None:
            socket = WebsocketsMediaSocket(connection)
            session = CallSession(socket, dial=partial(dial_peer, peer.base_url), hangup=hang_up, decides_outcome=True)
            try:
                outcome = await session.run()
            except Exception as exc:
                if not result.done():
                    result.set_exception(exc)
                raise
            if not result.done():
                result.set_result(outcome)

        async with serve(serve_media, "127.0.0.1", 0, max_size=None, compression=None) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            sid = await asyncio.to_thread(conversation.simulated_call_sid, call_id)
            callee = ScriptedCallee(f"ws://127.0.0.1:{port}{MEDIA_PATH}", call_id=None, call_sid=sid)
            callee.keep_audio = True  # the line's recording, as Twilio would record the call
            await callee.connect()
            # What Twilio would hand back in `start`: the <Parameter>s of the TwiML LeadApp makes for the call.
            await callee.start(stream_parameters(telephony.stream_twiml(calls.bridge_urls(call_id)[0], call_id)))
            try:
                await asyncio.wait_for(callee.converse(script), MAX_SIMULATED_SECONDS)
            except TimeoutError:
                log.warning("simulated_call_timeout", call_id=call_id)
            finally:
                await callee.hang_up()
            outcome = await asyncio.wait_for(result, 60)
    recording = await asyncio.to_thread(_save_recording, call_id, callee) if outcome.call_id is not None else None
    await asyncio.to_thread(_end_call, call_id, outcome, recording)
    return outcome


def _save_recording(call_id: int, callee: MediaStreamCaller) -> tuple[str, int] | None:
    """The simulated line's recording as a local WAV file: (reference, seconds), or None if nothing was said."""
    wav = callee.recording_wav()
    seconds = (len(wav) - 44) // (2 * 8000)
    if seconds <= 0:
        return None
    try:
        return recordings.save_local(call_id, wav), seconds
    except OSError as exc:  # a full or read-only disk loses the recording, not the call
        log.warning("simulated_recording_not_saved", call_id=call_id, error=repr(exc))
        return None


def stream_parameters(twiml: str) -> dict[str, str]:
    """The `<Parameter>`s of `<Connect><Stream>` in a TwiML document (Twilio's `start.customParameters`)."""
    stream = ElementTree.fromstring(twiml).find("./Connect/Stream")
    if stream is None:
        return {}
    return {str(p.get("name", "")): str(p.get("value", "")) for p in stream.findall("./Parameter")}


def _end_call(call_id: int, result: CallResult, recording: tuple[str, int] | None = None) -> None:
    """End the simulated call the way Twilio's `completed` status callback (and its recording) ends a real one."""
    if result.call_id is None:  # the bridge refused the stream: the call never started
        calls.end_call(call_id, CallStatus.FAILED.value, CallOutcome.ERROR.value, error="media stream refused")
        return
    outcome = result.outcome or CallOutcome.ERROR.value  # None only when closing the record itself failed
    calls.end_call(call_id, CallStatus.COMPLETED.value, outcome, error=result.ai_failure)
    # What Twilio's recording status callback does for a real call (an inbound call was already completed by
    # the bridge: its recording is kept all the same).
    if recording is not None and calls.record_local_recording(call_id, *recording) != "stored":
        recordings.delete(recording[0])  # the call is gone or its lead purged: keep no orphan file


def run_simulated_call(call_id: int, ms_per_char: float | None = None) -> str:
    """For the calls worker when `telephony.is_simulated()`: run the call to its end; returns the outcome.

    `ms_per_char` sets how fast both sides talk (tests speed the demo conversation up).
    """
    return asyncio.run(simulate_call(call_id, ms_per_char=ms_per_char)).outcome or ""


# --- a simulated call to a business's own number (inbound) -------------------------------------------

CALLER_NEEDS: dict[str, str] = {
    Category.PLUMBING.value: "my kitchen sink is leaking under the cabinet and the shutoff valve is stuck, "
    "so I need a plumber to come and fix it",
    Category.ELECTRICAL.value: "half of the outlets in my living room stopped working and the breaker keeps "
    "tripping, so I need an electrician to take a look",
    Category.HVAC.value: "my furnace is blowing cold air and the house is getting cold, so I need someone to "
    "repair the heating",
}


def receptionist_script(business_name: str, category: str, zip_code: str) -> Script:
    """A caller phoning the business: the receptionist greets with the disclosures, takes the job, ends the call."""
    label = CATEGORY_LABELS[Category(category)].lower() if category in Category._value2member_map_ else "repair"
    need = CALLER_NEEDS.get(category, f"I have a {label} job at my house and need someone to come out this week")
    return Script(
        greeting=Reply(
            f"Thank you for calling {business_name}. I'm an AI assistant answering for the team, and this call "
            "is recorded. How can I help you today?"
        ),
        turns=[
            Turn(
                f"Hi, this is Alex Morgan. {need[0].upper()}{need[1:]}. I'm at 12 Main Street, {zip_code}.",
                Reply(
                    tool=rt.RECORD_QUALIFICATION,
                    arguments={
                        "caller_name": "Alex Morgan",
                        "need": need,
                        "address_details": f"12 Main Street, {zip_code}",
                        "zip": zip_code,
                    },
                    then=Reply("Thanks Alex. When would suit you for a visit, and do you have a budget in mind?"),
                ),
            ),
            Turn(
                "Tomorrow morning if possible, and around four hundred dollars.",
                Reply(
                    tool=rt.RECORD_QUALIFICATION,
                    arguments={"timing": "tomorrow morning", "budget": "about $400", "urgency": "high"},
                    then=Reply(
                        f"Perfect, I've passed this on to {business_name}; they will call you back shortly. Goodbye!",
                        tool=rt.END_CALL,
                        arguments={"outcome": "goal_achieved", "reason": "job details taken"},
                    ),
                ),
            ),
        ],
    )


def receptionist_script_for_call(call_id: int, ms_per_char: float | None = None) -> Script:
    """The scripted caller of an inbound call: a job in the business's first category, in its own ZIP."""
    _call, business, _lead = conversation.call_parties(call_id)
    name = business.name if business else "the business"
    category = (business.categories or [""])[0] if business else ""
    script = receptionist_script(name, category, business.zip if business else "")
    if ms_per_char:
        script.ms_per_char = ms_per_char
    return script


def run_simulated_inbound_call(call_id: int, ms_per_char: float | None = None) -> str:
    """For the calls worker: a simulated caller rings a business's local line; returns the call's outcome.

    The call row exists already (`inbound.start_simulated_call`); the same `simulate_call` as for outbound calls
    runs the real `CallSession` against the local realtime peer. When the session ends, `finish_call` turns the
    call into the business's own lead, as for a real call.
    """
    call, _business, _lead = conversation.call_parties(call_id)
    if call is None or call.status != CallStatus.IN_PROGRESS.value:  # gone, or served by an earlier run
        return (call.outcome or "") if call is not None else ""
    script = receptionist_script_for_call(call_id, ms_per_char)
    return asyncio.run(simulate_call(call_id, script)).outcome or ""
