"""The loopback OpenAI Realtime (GA) peer: one local stand-in for the model, used by the simulated call
(`voice_bridge.simulated`), the bench (`bench.bridge`) and the tests' fake (`tests/fakes/openai_realtime.py`).

A websockets server on 127.0.0.1 at /v1/realtime that the real `openai` SDK dials: session.created, then
session.update → session.updated (merged into the session state), a toy μ-law VAD that turns the caller's
audio into speech_started / speech_stopped / committed and a scripted transcription, scripted replies
streamed as audio and transcript deltas on an absolute schedule (`stream_speed` times real time), function
calls that wait for their output and a `response.create`, cancellation on barge-in, truncate with the real
"already shorter than" error. Server events are built from the SDK's own models (the audio delta from a
template checked against the model at import), so they are what the SDK would parse.

`api_key` set: the handshake must carry that Bearer key, a `model` query and no `OpenAI-Beta` header (else
401/400, listed in `problems`). `strict`: every client event is validated with
`TypeAdapter(openai.types.realtime.RealtimeClientEvent)`; an invalid one is answered with an `error` event
(the socket stays open, as the real server does) and listed in `invalid_events`.

Hooks (methods a subclass overrides; the bench uses them for its timestamps): `PeerSession.on_caller_audio`
(each append's audio as it arrives), `speech_starting` (just before `speech_started`, saying whether a
reply is being cut off), `truncated` (each truncate, valid or not), `audio_chunk` (the bytes of each chunk of
a reply) and `send_audio_delta` (how a chunk goes out).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from openai.types.realtime import (
    ConversationItemAdded,
    ConversationItemDone,
    ConversationItemInputAudioTranscriptionCompletedEvent,
    ConversationItemTruncatedEvent,
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
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    SessionCreatedEvent,
    SessionUpdatedEvent,
)
from openai.types.realtime.conversation_created_event import ConversationCreatedEvent
from pydantic import TypeAdapter, ValidationError
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from voice_bridge import twilio_wire as tw

REALTIME_PATH = "/v1/realtime"
SILENCE = 0xFF  # μ-law silence (0x7F is the other zero)
SPEECH_PATTERN = bytes([0x1A, 0x2C, 0x3E, 0x2C, 0x1A, 0x9A, 0xAC, 0xBE, 0xAC, 0x9A] * 16)  # 160 bytes, "loud"
FRAME_MS = 20
CLOSE_TIMEOUT_S = 30.0
CLIENT_EVENT: TypeAdapter[Any] = TypeAdapter(RealtimeClientEvent)


def is_speech(frame: bytes) -> bool:
    """The toy VAD: a frame is speech when most of its bytes are not μ-law silence (0xFF / 0x7F)."""
    return frame.count(SILENCE) + frame.count(0x7F) < len(frame) // 2


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def audio_delta_json(event_id: str, response_id: str, item_id: str, delta: str, output_index: int = 0) -> str:
    """`response.output_audio.delta` as the SDK model serialises it, built by hand (the hot path of a reply)."""
    return (
        '{"content_index":0,"delta":"'
        + delta
        + '","event_id":"'
        + event_id
        + '","item_id":"'
        + item_id
        + '","output_index":'
        + str(output_index)
        + ',"response_id":"'
        + response_id
        + '","type":"response.output_audio.delta"}'
    )


def _check_delta_template() -> None:
    sample = ResponseAudioDeltaEvent(
        type="response.output_audio.delta",
        event_id="event_1",
        response_id="resp_1",
        item_id="item_1",
        output_index=0,
        content_index=0,
        delta="AAAA",
    )
    built = audio_delta_json("event_1", "resp_1", "item_1", "AAAA")
    assert json.loads(built) == json.loads(sample.to_json(indent=None)), "delta template drifted from the SDK"


_check_delta_template()


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


# --- the peer -----------------------------------------------------------------------------------------


@dataclass
class AssistantAudio:
    item_id: str
    tag: int
    number: int = 0
    """The item's place among the session's assistant items (0 for the first reply)."""
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
        await self.on_append_audio(str(event.get("audio") or ""))

    async def on_append_audio(self, audio_b64: str) -> None:
        try:
            audio = base64.b64decode(audio_b64, validate=True)
        except ValueError:
            await self.send_error(
                "Invalid 'audio'. Expected base64-encoded audio bytes.", code="invalid_value", param="audio"
            )
            return
        self.on_caller_audio(audio, time.monotonic_ns())
        data = self._pending_audio + audio
        frame_bytes = tw.FRAME_BYTES
        whole = len(data) - len(data) % frame_bytes
        self._pending_audio = data[whole:]
        for offset in range(0, whole, frame_bytes):
            await self.on_frame(data[offset : offset + frame_bytes])

    def on_caller_audio(self, audio: bytes, at_ns: int) -> None:
        """Hook: the audio of one append, as it arrived (before the VAD sees it)."""

    def speech_starting(self, responding: bool) -> None:
        """Hook: the VAD is about to send `speech_started`; `responding` says a reply is being spoken."""

    def truncated(self, ok: bool) -> None:
        """Hook: a truncate arrived; `ok` when it was valid (answered with `truncated`, not an error)."""

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
                self.speech_starting(self._responding())
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
            self.truncated(False)
            await self.send_error(f"Conversation item '{item_id}' not found.", code="item_not_found", param="item_id")
            return
        if end_ms > audio.ms_sent:
            self.truncated(False)
            await self.send_error(
                f"Audio content of {audio.ms_sent}ms is already shorter than {end_ms}ms",
                code="invalid_value",
                param="audio_end_ms",
            )
            return
        record["ok"] = True
        self.truncated(True)
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
        audio = self.assistant_audio[item_id] = AssistantAudio(item_id, tag, len(self.assistant_audio))
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
        loop = asyncio.get_running_loop()
        interval_s = chunk_ms / self.peer.stream_speed / 1000
        begin = loop.time() + self.peer.first_chunk_after * interval_s
        for i in range(n_chunks):
            delay = begin + i * interval_s - loop.time()  # an absolute schedule: a late chunk does not delay the rest
            if delay > 0:
                await asyncio.sleep(delay)
            ms = min(chunk_ms, total_ms - i * chunk_ms)
            chunk = self.audio_chunk(audio, i, n_chunks, ms)
            if audio.first_at_ns is None:
                audio.first_at_ns = time.monotonic_ns()
            audio.bytes_sent += ms * tw.MULAW_BYTES_PER_MS
            await self.send_audio_delta(base64.b64encode(chunk).decode(), common)
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

    def audio_chunk(self, audio: AssistantAudio, index: int, chunks: int, ms: int) -> bytes:
        """Hook: the bytes of one chunk of a reply (here the item's own byte value, so a test can tell items apart
        in what the caller heard)."""
        return bytes([audio.tag]) * (ms * tw.MULAW_BYTES_PER_MS)

    async def send_audio_delta(self, payload: str, common: dict[str, Any]) -> None:
        """Hook: send one `response.output_audio.delta` (here built from the SDK's model)."""
        await self.send(
            ResponseAudioDeltaEvent(
                type="response.output_audio.delta", event_id=self._event_id(), delta=payload, **common
            )
        )

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

    session_class: type[PeerSession] = PeerSession
    api_key: str | None = None
    """When set, the handshake must carry this Bearer key, a model and no OpenAI-Beta header."""
    strict = False
    """Validate every client event against the SDK's `RealtimeClientEvent`."""

    def __init__(
        self,
        script: Script | Callable[[], Script],
        *,
        stream_speed: float = 4.0,
        chunk_ms: int = 100,
        first_chunk_after: float = 1.0,
    ) -> None:
        self._script = script
        self.stream_speed = stream_speed
        self.chunk_ms = chunk_ms
        self.first_chunk_after = first_chunk_after
        """When a reply's first chunk goes out, in chunk intervals after `response.created`."""
        self.sessions: list[PeerSession] = []
        self.handshakes: list[dict[str, Any]] = []
        self.problems: list[str] = []
        self.invalid_events: list[tuple[dict[str, Any], str]] = []
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

    def ws_url(self, model: str = "gpt-realtime") -> str:
        return f"ws://127.0.0.1:{self.port}{REALTIME_PATH}?model={model}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), CLOSE_TIMEOUT_S)
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
        """Without `api_key` every handshake is accepted; with it, as the real server checks it."""
        if self.api_key is None:
            return None
        if headers.get("Authorization") != f"Bearer {self.api_key}":
            self.problems.append(f"bad Authorization header: {headers.get('Authorization')!r}")
            return http_error(HTTPStatus.UNAUTHORIZED, "Incorrect API key provided.")
        if "model=" not in query:
            self.problems.append(f"no model in the query: {query!r}")
            return http_error(HTTPStatus.BAD_REQUEST, "Missing required parameter: 'model'.")
        if "OpenAI-Beta" in headers:
            self.problems.append(f"OpenAI-Beta header sent: {headers.get('OpenAI-Beta')!r}")
            return http_error(HTTPStatus.BAD_REQUEST, "The beta Realtime API is not served here.")
        return None

    def check_client_event(self, session: PeerSession, raw: str | bytes, event: dict[str, Any]) -> str | None:
        """A reason to refuse a client event with an `error` event: with `strict`, what the SDK's model rejects."""
        if not self.strict:
            return None
        try:
            CLIENT_EVENT.validate_json(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            message = f"Invalid client event: {where}: {first['msg']}"
            self.invalid_events.append((event, message))
            return message
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
