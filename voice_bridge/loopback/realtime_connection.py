"""One connection of the loopback OpenAI Realtime peer, its sending half: the connection's state, server events
built from the SDK's own models (the audio and transcript deltas from templates checked against the models at
import), and the
events that several parts of the conversation send alike (an item added, an output item added or done, a
response done). `realtime_responses` streams replies on top of it and `realtime_session` serves the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from dataclasses import dataclass
from typing import Any, Protocol

from openai.types.realtime import (
    ConversationItemAdded,
    RealtimeErrorEvent,
    ResponseAudioDeltaEvent,
    ResponseAudioTranscriptDeltaEvent,
    ResponseDoneEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
)
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from voice_bridge import twilio_wire as tw
from voice_bridge.loopback.script import Reply, Script


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def _delta_json(kind: str, event_id: str, response_id: str, item_id: str, delta: str, output_index: int) -> str:
    """A delta event of a reply's content as the SDK model serialises it (`delta` already a JSON string)."""
    return (
        f'{{"content_index":0,"delta":{delta},"event_id":"{event_id}","item_id":"{item_id}",'
        f'"output_index":{output_index},"response_id":"{response_id}","type":"{kind}"}}'
    )


def audio_delta_json(event_id: str, response_id: str, item_id: str, delta: str, output_index: int = 0) -> str:
    """`response.output_audio.delta` built by hand (the hot path of a reply; base64 needs no escaping)."""
    return _delta_json("response.output_audio.delta", event_id, response_id, item_id, f'"{delta}"', output_index)


def transcript_delta_json(event_id: str, response_id: str, item_id: str, delta: str, output_index: int = 0) -> str:
    """`response.output_audio_transcript.delta` built by hand (sent with most audio deltas of a reply)."""
    kind = "response.output_audio_transcript.delta"
    return _delta_json(kind, event_id, response_id, item_id, json.dumps(delta), output_index)


def _check_delta_templates() -> None:
    """Both templates serialise what the SDK's models do (checked at import: a new SDK fails loudly)."""
    for model, build, delta in (
        (ResponseAudioDeltaEvent, audio_delta_json, "AAAA"),
        (ResponseAudioTranscriptDeltaEvent, transcript_delta_json, ' said "hi"'),
    ):
        kind = model.model_fields["type"].annotation.__args__[0]  # type: ignore[union-attr]
        sample = model(
            type=kind,
            event_id="event_1",
            response_id="resp_1",
            item_id="item_1",
            output_index=2,
            content_index=0,
            delta=delta,
        )
        built = build("event_1", "resp_1", "item_1", delta, 2)
        assert json.loads(built) == json.loads(sample.to_json(indent=None)), f"{kind} template drifted from the SDK"


_check_delta_templates()


def merge_session(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key != "format":
            merged[key] = merge_session(merged[key], value)
        else:
            merged[key] = value
    return merged


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


class Peer(Protocol):
    """What a connection reads of its server (`realtime_peer.RealtimePeer`)."""

    stream_speed: float
    chunk_ms: int
    first_chunk_after: float
    preroll_ms: int

    def check_client_event(self, session: Any, raw: str | bytes, event: dict[str, Any]) -> str | None: ...


class PeerConnection:
    """One realtime connection's state (session, toy VAD, conversation, the response in progress) and how it
    sends server events."""

    def __init__(self, peer: Peer, connection: ServerConnection, script: Script) -> None:
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
        self.response_out_bytes = 0
        self.response_out_chars = 0
        self._cached_input: tuple[int, int] = (0, 0)
        self.usages: list[dict[str, Any]] = []
        """The `usage` of every `response.done` sent, in order."""
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
        await self.send_text(model.to_json(indent=None))

    async def send_text(self, text: str) -> None:
        """Hook: how every server event leaves (here websockets' send; nothing once the socket is closed)."""
        with contextlib.suppress(ConnectionClosed):
            await self.connection.send(text)

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

    # -- events sent alike from several places --

    def last_item(self) -> str | None:
        """The conversation's latest item: the `previous_item_id` of the next one."""
        return self.items[-1] if self.items else None

    async def send_item_added(self, item: dict[str, Any], previous: str | None) -> None:
        await self.send(
            ConversationItemAdded(
                type="conversation.item.added", event_id=self._event_id(), item=item, previous_item_id=previous
            )
        )

    async def send_output_item_added(self, response_id: str, index: int, item: dict[str, Any]) -> None:
        await self._send_output_item(
            ResponseOutputItemAddedEvent, "response.output_item.added", response_id, index, item
        )

    async def send_output_item_done(self, response_id: str, index: int, item: dict[str, Any]) -> None:
        await self._send_output_item(ResponseOutputItemDoneEvent, "response.output_item.done", response_id, index, item)

    async def _send_output_item(
        self,
        event: type[ResponseOutputItemAddedEvent | ResponseOutputItemDoneEvent],
        kind: str,
        response_id: str,
        index: int,
        item: dict[str, Any],
    ) -> None:
        """An output item of a response, as it is added or done (the two events carry the same fields)."""
        await self.send(
            event(type=kind, event_id=self._event_id(), response_id=response_id, output_index=index, item=item)
        )

    async def send_response_done(
        self, response_id: str, status: str, status_details: dict[str, Any] | None = None
    ) -> None:
        """`response.done` with the output items of the response so far (`status_details` when it was cut)."""
        response: dict[str, Any] = {
            "id": response_id,
            "object": "realtime.response",
            "status": status,
            "output": self._current_output,
        }
        if status_details is not None:
            response["status_details"] = status_details
        response["usage"] = usage = self.response_usage()
        self.usages.append(usage)
        await self.send(ResponseDoneEvent(type="response.done", event_id=self._event_id(), response=response))

    def response_usage(self) -> dict[str, Any]:
        """The usage a response reports, made up but shaped and counted like the real one's: its input is the
        whole conversation so far (the caller's audio at 10 tokens a second, the instructions and 8 text tokens an
        item), of which what the previous response had read is cached; its output is the audio it sent (20 tokens
        a second) and its text (a token per 4 characters)."""
        audio_in = self.audio_in_ms // 100
        text_in = len(str(self.config.get("instructions") or "")) // 4 + 8 * len(self.items)
        cached_text, cached_audio = (min(v, c) for v, c in zip((text_in, audio_in), self._cached_input, strict=True))
        self._cached_input = (text_in, audio_in)
        audio_out = self.response_out_bytes // tw.MULAW_BYTES_PER_MS // 50
        text_out = -(-self.response_out_chars // 4)
        return {
            "total_tokens": text_in + audio_in + text_out + audio_out,
            "input_tokens": text_in + audio_in,
            "output_tokens": text_out + audio_out,
            "input_token_details": {
                "text_tokens": text_in,
                "audio_tokens": audio_in,
                "cached_tokens": cached_text + cached_audio,
                "cached_tokens_details": {"text_tokens": cached_text, "audio_tokens": cached_audio},
            },
            "output_token_details": {"text_tokens": text_out, "audio_tokens": audio_out},
        }
