"""One connection of the loopback OpenAI Realtime peer as served: session.created, then session.update →
session.updated (merged into the session state), a toy μ-law VAD that turns the caller's audio into
speech_started / speech_stopped / committed and a scripted transcription, conversation items, truncate with the
real "already shorter than" error, and the barge-ins the VAD heard while a reply was playing.

`take_append_now` takes an ordinary append synchronously, for a reader that handles messages as they are parsed.

Hooks a subclass overrides (the bench uses them for its timestamps): `on_caller_audio` (each append's audio as
it arrives), `speech_starting` (just before `speech_started`, saying whether a reply is being cut off) and
`truncated` (each truncate, valid or not); the replies' own hooks are in `realtime_responses`.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from typing import Any

from openai.types.realtime import (
    ConversationItemDone,
    ConversationItemInputAudioTranscriptionCompletedEvent,
    ConversationItemTruncatedEvent,
    InputAudioBufferCommittedEvent,
    InputAudioBufferSpeechStartedEvent,
    InputAudioBufferSpeechStoppedEvent,
    SessionCreatedEvent,
    SessionUpdatedEvent,
)
from openai.types.realtime.conversation_created_event import ConversationCreatedEvent
from websockets.exceptions import ConnectionClosed

from voice_bridge import twilio_wire as tw
from voice_bridge.loopback.realtime_connection import BargeIn, merge_session, new_id
from voice_bridge.loopback.realtime_responses import RespondingConnection
from voice_bridge.loopback.script import is_speech

FRAME_B64_CHARS = -(-tw.FRAME_BYTES // 3) * 4  # one 20 ms frame, base64 (padded)


class PeerSession(RespondingConnection):
    """One realtime connection: session state, the toy VAD, the conversation and the response in progress."""

    # -- serving --

    async def serve(self) -> None:
        await self.send(SessionCreatedEvent(type="session.created", event_id=self._event_id(), session=self._session()))
        await self.send(
            ConversationCreatedEvent(
                type="conversation.created",
                event_id=self._event_id(),
                conversation={"id": new_id("conv"), "object": "realtime.conversation"},
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
        self.config = merge_session(self.config, update)
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

    def take_append_now(self, audio_b64: str, at_ns: int) -> bool:
        """One append's audio taken at once, without awaiting anything, when there is nothing to answer about it:
        one whole frame of valid base64 (none pending) that the VAD hears without speech starting or ending. False,
        with nothing taken, otherwise (`on_append_audio` takes it then). For a socket reader that handles messages
        as they are parsed (the bench's)."""
        if self._pending_audio or len(audio_b64) != FRAME_B64_CHARS:
            return False
        try:
            audio = binascii.a2b_base64(audio_b64, strict_mode=True)  # base64.b64decode(..., validate=True)
        except ValueError:
            return False
        if len(audio) != tw.FRAME_BYTES:
            return False
        detection, speech = self._turn_detection(), is_speech(audio)
        if self._vad_news(audio, detection, speech):
            return False
        self.appends += 1
        self.on_caller_audio(audio, at_ns)
        self._hear_quietly(audio, detection, speech)
        return True

    def on_caller_audio(self, audio: bytes, at_ns: int) -> None:
        """Hook: the audio of one append, as it arrived (before the VAD sees it)."""

    def speech_starting(self, responding: bool) -> None:
        """Hook: the VAD is about to send `speech_started`; `responding` says a reply is being spoken."""

    def truncated(self, ok: bool) -> None:
        """Hook: a truncate arrived; `ok` when it was valid (answered with `truncated`, not an error)."""

    def _vad_news(self, frame: bytes, detection: dict[str, Any] | None, speech: bool) -> bool:
        """Whether the VAD (`detection`, the session's turn detection) has something to say about this frame
        (`speech`: whether it is speech): speech starting, or the silence ending it."""
        if not detection:
            return False
        if speech:
            return not self.speaking
        ms = len(frame) // tw.MULAW_BYTES_PER_MS
        return self.speaking and self.silence_ms + ms >= int(detection.get("silence_duration_ms") or 500)

    def _hear_quietly(self, frame: bytes, detection: dict[str, Any] | None, speech: bool) -> None:
        """The VAD's step for a frame it has nothing to say about (`_vad_news` False)."""
        ms = len(frame) // tw.MULAW_BYTES_PER_MS
        self.audio_in_ms += ms
        if detection:
            if speech:
                self.silence_ms = 0
            elif self.speaking:
                self.silence_ms += ms

    async def on_frame(self, frame: bytes) -> None:
        detection, speech = self._turn_detection(), is_speech(frame)
        if not self._vad_news(frame, detection, speech):
            self._hear_quietly(frame, detection, speech)
            return
        start_ms = self.audio_in_ms
        self.audio_in_ms += len(frame) // tw.MULAW_BYTES_PER_MS
        if not detection:
            return
        if speech:
            self.silence_ms = 0
            if not self.speaking:
                self.speaking = True
                self.speech_item = new_id("item")
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
        item_id = self.speech_item or new_id("item")
        self.speaking, self.speech_item = False, None
        previous = self.last_item()
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
        await self.send_item_added(item, previous)
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
        item.setdefault("id", new_id("item"))
        if item.get("type") == "function_call_output":
            self.function_outputs.append({"at_ns": time.monotonic_ns(), **item})
        previous = self.last_item()
        self.items.append(item["id"])
        await self.send_item_added(item, previous)
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

    # -- faults (used by the tests' fake) --

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.connection.close(code, reason)
