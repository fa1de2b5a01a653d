"""How the loopback OpenAI Realtime peer answers: scripted replies streamed as audio and transcript deltas on an
absolute schedule (`stream_speed` times real time), function calls that wait for their output and a
`response.create`, and cancellation (on barge-in or the client's `response.cancel`).

Hooks a subclass overrides (the bench stamps its chunks with them): `audio_chunk` (the bytes of each chunk of
a reply) or `audio_payload` (its base64), and `send_audio_delta` (how a chunk goes out).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from typing import Any

from openai.types.realtime import (
    ResponseAudioDoneEvent,
    ResponseAudioTranscriptDoneEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseCreatedEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
)

from voice_bridge import twilio_wire as tw
from voice_bridge.loopback.realtime_connection import (
    AssistantAudio,
    PeerConnection,
    audio_delta_json,
    new_id,
    transcript_delta_json,
)
from voice_bridge.loopback.script import Reply


class RespondingConnection(PeerConnection):
    """A realtime connection's responses: at most one in progress, streamed by its own task."""

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
        self.response_id = new_id("resp")
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
        await self.send_response_done(response_id, "cancelled", {"type": "cancelled", "reason": reason})

    async def _respond(self, reply: Reply, response_id: str) -> None:
        self._current_item, self._current_text, self._current_output = None, [], []
        self.response_out_bytes = self.response_out_chars = 0
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
        await self.send_response_done(response_id, "completed")

    async def _speak(self, reply: Reply, response_id: str, index: int) -> None:
        item_id = new_id("item")
        previous = self.last_item()
        self.items.append(item_id)
        tag = 0x20 + len(self.assistant_audio) % 0x50  # every item's audio has its own byte value
        audio = self.assistant_audio[item_id] = AssistantAudio(item_id, tag, len(self.assistant_audio))
        self.last_audio_item = item_id
        self._current_item = item_id
        item = {"id": item_id, "type": "message", "role": "assistant", "status": "in_progress", "content": []}
        common = {"response_id": response_id, "item_id": item_id, "output_index": index, "content_index": 0}
        await self.send_output_item_added(response_id, index, item)
        await self.send_item_added(item, previous)
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
        preroll_s = self.peer.preroll_ms / self.peer.stream_speed / 1000
        begin = loop.time() + self.peer.first_chunk_after * interval_s
        for i in range(n_chunks):
            # An absolute schedule (a late chunk does not delay the rest), `preroll_ms` ahead of real time.
            delay = begin + max(0.0, i * interval_s - preroll_s) - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            ms = min(chunk_ms, total_ms - i * chunk_ms)
            payload = self.audio_payload(audio, i, n_chunks, ms)
            if audio.first_at_ns is None:
                audio.first_at_ns = time.monotonic_ns()
            audio.bytes_sent += ms * tw.MULAW_BYTES_PER_MS
            self.response_out_bytes += ms * tw.MULAW_BYTES_PER_MS
            await self.send_audio_delta(payload, common)
            piece = words[i * per_chunk : (i + 1) * per_chunk]
            if piece:
                delta = (" " if i else "") + " ".join(piece)
                self._current_text.append(delta)
                await self.send_text(
                    transcript_delta_json(self._event_id(), response_id, item_id, delta, common["output_index"])
                )
        await self._finish_message(response_id, item_id, reply.text, "completed")

    def audio_payload(self, audio: AssistantAudio, index: int, chunks: int, ms: int) -> str:
        """Hook: one chunk of a reply as sent, base64 (here `audio_chunk`'s bytes encoded)."""
        return base64.b64encode(self.audio_chunk(audio, index, chunks, ms)).decode()

    def audio_chunk(self, audio: AssistantAudio, index: int, chunks: int, ms: int) -> bytes:
        """Hook: the bytes of one chunk of a reply (here the item's own byte value, so a test can tell items apart
        in what the caller heard)."""
        return bytes([audio.tag]) * (ms * tw.MULAW_BYTES_PER_MS)

    async def send_audio_delta(self, payload: str, common: dict[str, Any]) -> None:
        """Hook: send one `response.output_audio.delta` (as the SDK's model serialises it)."""
        event_id, index = self._event_id(), common["output_index"]
        await self.send_text(audio_delta_json(event_id, common["response_id"], common["item_id"], payload, index))

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
        self.response_out_chars += len(transcript)
        await self.send_output_item_done(response_id, 0, item)
        self._current_item = None

    async def _call_tool(self, reply: Reply, response_id: str, index: int) -> None:
        item_id, call_id = new_id("item"), new_id("call")
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
        await self.send_output_item_added(response_id, index, item)
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
        self.response_out_chars += len(arguments)
        self._current_output.append(done)
        await self.send_output_item_done(response_id, index, done)
        self.followup = reply.then
