"""OpenAI Realtime (GA), the wire format only: client events as JSON strings, server events parsed by type.

Pure functions, no sockets. Every builder returns the exact JSON text that goes on the socket, to be
sent with the SDK connection's `send_raw` (the typed `send` runs a transform costing ~10× more per
frame; VOICE.md §3). The unit tests validate each builder's output against the SDK's own
`RealtimeClientEvent` type, so the strings stay what the SDK would have sent.

Server events are parsed with one `json.loads` and dispatched on `type` into small dataclasses (only
the events the call session acts on; anything else is `Other`); the audio deltas, most of what arrives, are
read without parsing when they are a flat object without escapes (`_audio_delta`), with the same result.
GA names only: the beta ones (`response.audio.delta`, …) are never produced or expected.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from leadapp.core.vocab import CallOutcome, CallType

TRANSCRIPTION_MODEL = "gpt-4o-mini-transcribe"
SILENCE_DURATION_MS = 500
PREFIX_PADDING_MS = 300
VAD_THRESHOLD = 0.5
IDLE_TIMEOUT_MS = 15_000  # a silent phone line gets a nudge from the model instead of dead air

RECORD_QUALIFICATION = "record_qualification"
REQUEST_HUMAN = "request_human"
END_CALL = "end_call"
DO_NOT_CALL = "do_not_call"
RECORD_APPOINTMENT = "record_appointment"
RECORD_FEEDBACK = "record_feedback"
QUALIFICATION_FIELDS: dict[str, str] = {
    "need": "What the job is, in the caller's words (a short phrase).",
    "urgency": "emergency, high, normal or low.",
    "budget": "The budget the caller gave, e.g. '$300-$500' or 'not sure'.",
    "timing": "When the work should happen.",
    "address_details": "Street/area, access notes, ZIP code; whatever the caller gave.",
    "appointment_time": "An appointment time the caller agreed to, if any.",
    "quote": "A price or quote the caller asked for or accepted, if any.",
    "caller_name": "The caller's name, if they gave it.",
    "zip": "The 5-digit ZIP code of the job, if known.",
}
MODEL_OUTCOMES: tuple[str, ...] = (
    CallOutcome.GOAL_ACHIEVED.value,
    CallOutcome.DECLINED.value,
    CallOutcome.VOICEMAIL.value,
)

TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": RECORD_QUALIFICATION,
        "description": "Save what you learned about the job as soon as you learn it (call again to add or "
        "correct fields). Only include fields the caller actually told you.",
        "parameters": {
            "type": "object",
            "properties": {
                name: {"type": "string", "description": text} for name, text in QUALIFICATION_FIELDS.items()
            },
            "additionalProperties": False,
        },
    },
    {
        "type": "function",
        "name": REQUEST_HUMAN,
        "description": "The caller wants to talk to a person. Call this at once; the business will call back.",
        "parameters": {
            "type": "object",
            "properties": {"reason": {"type": "string", "description": "Why, in a few words."}},
            "additionalProperties": False,
        },
    },
    {
        "type": "function",
        "name": DO_NOT_CALL,
        "description": 'The caller does not want any more calls ("don\'t call me again", "take me off your '
        'list", "stop calling"). Call this at once: their number goes on the do-not-call list. Then confirm '
        "in one sentence that they will not be called again, say goodbye, and the call ends.",
        "parameters": {
            "type": "object",
            "properties": {"caller_words": {"type": "string", "description": "What the caller said, word for word."}},
            "additionalProperties": False,
        },
    },
    {
        "type": "function",
        "name": END_CALL,
        "description": "End the call after you have said goodbye. goal_achieved: the objective was met; "
        "declined: the caller is not interested; voicemail: you reached a voicemail or answering machine and "
        "left your short message. (A caller who asks not to be called again: do_not_call, not this.)",
        "parameters": {
            "type": "object",
            "properties": {
                "outcome": {"type": "string", "enum": list(MODEL_OUTCOMES)},
                "reason": {"type": "string", "description": "One short sentence."},
            },
            "required": ["outcome"],
            "additionalProperties": False,
        },
    },
]


# The tools of one kind of call, beside the common ones: each saves its answers as qualification fields.
KIND_TOOL_FIELDS: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    RECORD_APPOINTMENT: {
        "appointment_status": ("confirmed, reschedule or cancel.", ("confirmed", "reschedule", "cancel")),
        "appointment_time": ("The time the caller confirmed, or the new time they prefer.", ()),
    },
    RECORD_FEEDBACK: {
        "satisfied": ("Whether the caller is happy with the work: yes, no or mixed.", ("yes", "no", "mixed")),
        "feedback": ("What the caller said about the job, in a sentence.", ()),
        "will_review": ("Whether they will leave a review: yes, no or maybe.", ("yes", "no", "maybe")),
    },
}
_KIND_TOOL_TEXT = {
    RECORD_APPOINTMENT: "Save the caller's answer about the booked visit as soon as you have it: confirmed, a new "
    "preferred time (reschedule), or cancel.",
    RECORD_FEEDBACK: "Save how the job went as soon as you know: whether they are satisfied, what they said, and "
    "whether they will leave a review.",
}
KIND_TOOLS: dict[str, str] = {
    CallType.CONFIRM_APPOINTMENT.value: RECORD_APPOINTMENT,
    CallType.FOLLOW_UP.value: RECORD_FEEDBACK,
}
"""The extra tool of each kind of call (the others have the common tools only)."""


def _kind_tool(name: str) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for key, (text, choices) in KIND_TOOL_FIELDS[name].items():
        properties[key] = {"type": "string", "description": text, **({"enum": list(choices)} if choices else {})}
    return {
        "type": "function",
        "name": name,
        "description": _KIND_TOOL_TEXT[name],
        "parameters": {"type": "object", "properties": properties, "additionalProperties": False},
    }


def tools_for(call_type: str) -> list[dict[str, Any]]:
    """The tools a call of this kind offers the model: the common ones, and its own (`KIND_TOOLS`)."""
    extra = KIND_TOOLS.get(call_type)
    return [*TOOLS, _kind_tool(extra)] if extra else TOOLS


def clean_kind_fields(name: str, arguments: dict[str, Any]) -> dict[str, str]:
    """The fields of a kind's tool call as trimmed strings; a value outside its choices is dropped."""
    out: dict[str, str] = {}
    for key, (_text, choices) in KIND_TOOL_FIELDS.get(name, {}).items():
        text = str(arguments.get(key) or "").strip()[:500]
        if text and (not choices or text.lower() in choices):
            out[key] = text.lower() if choices else text
    return out


def _dumps(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


# --- client events ----------------------------------------------------------------------------------


def session_update(
    *,
    model: str,
    instructions: str,
    voice: str,
    transcription_model: str = TRANSCRIPTION_MODEL,
    silence_duration_ms: int = SILENCE_DURATION_MS,
    idle_timeout_ms: int | None = IDLE_TIMEOUT_MS,
    language: str = "en",
    tools: list[dict[str, Any]] | None = None,
) -> str:
    """The GA `session.update`: μ-law in and out (no transcoding), caller transcription, server VAD, tools.

    `language` is the caller's language for the transcription ("en", "es"); "" lets the model detect it (an
    inbound call, until the caller's first words tell)."""
    turn_detection: dict[str, Any] = {
        "type": "server_vad",
        "threshold": VAD_THRESHOLD,
        "prefix_padding_ms": PREFIX_PADDING_MS,
        "silence_duration_ms": silence_duration_ms,
        "create_response": True,
        "interrupt_response": True,
    }
    if idle_timeout_ms:
        turn_detection["idle_timeout_ms"] = idle_timeout_ms
    return _dumps(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "model": model,
                "instructions": instructions,
                "output_modalities": ["audio"],
                "audio": {
                    "input": {
                        "format": {"type": "audio/pcmu"},
                        "transcription": {"model": transcription_model, **({"language": language} if language else {})},
                        "turn_detection": turn_detection,
                    },
                    "output": {"format": {"type": "audio/pcmu"}, "voice": voice},
                },
                "tools": TOOLS if tools is None else tools,
                "tool_choice": "auto",
            },
        }
    )


_APPEND_HEAD = '{"type":"input_audio_buffer.append","audio":"'


def audio_append(payload_b64: str) -> str:
    """`input_audio_buffer.append` around a base64 μ-law payload taken from Twilio as is."""
    return _APPEND_HEAD + payload_b64 + '"}'


def audio_end_ms(played_bytes: int, sent_bytes: int) -> int:
    """The truncate point: the played bytes of the item / 8, clamped to [0, bytes sent]."""
    return max(0, min(played_bytes, sent_bytes)) // 8


def truncate(item_id: str, audio_end_ms_value: int) -> str:
    """`conversation.item.truncate` of an assistant audio item at what the caller actually heard."""
    return _dumps(
        {
            "type": "conversation.item.truncate",
            "item_id": item_id,
            "content_index": 0,
            "audio_end_ms": max(0, int(audio_end_ms_value)),
        }
    )


def function_call_output(call_id: str, output: dict[str, Any] | str) -> str:
    """`conversation.item.create` carrying a tool's result back to the model."""
    text = output if isinstance(output, str) else _dumps(output)
    item = {"type": "function_call_output", "call_id": call_id, "output": text}
    return _dumps({"type": "conversation.item.create", "item": item})


def system_message(text: str) -> str:
    """`conversation.item.create` of a system message (the owner's hint): guidance the model uses in its next
    reply; nothing is said because of it alone."""
    item = {"type": "message", "role": "system", "content": [{"type": "input_text", "text": text}]}
    return _dumps({"type": "conversation.item.create", "item": item})


def response_create(instructions: str | None = None) -> str:
    """`response.create`, optionally with per-response instructions (the greeting, a goodbye)."""
    if not instructions:
        return '{"type":"response.create"}'
    return _dumps({"type": "response.create", "response": {"instructions": instructions}})


def response_cancel() -> str:
    """`response.cancel` of the response in progress (the caller pressed 0 mid-reply)."""
    return '{"type":"response.cancel"}'


# --- server events ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionUpdated:
    session: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    item_id: str
    audio_start_ms: int


@dataclass(frozen=True, slots=True)
class SpeechStopped:
    item_id: str
    audio_end_ms: int


@dataclass(frozen=True, slots=True)
class Committed:
    item_id: str
    previous_item_id: str | None


@dataclass(frozen=True, slots=True)
class InputTranscriptCompleted:
    item_id: str
    transcript: str


@dataclass(frozen=True, slots=True)
class InputTranscriptFailed:
    item_id: str
    message: str


@dataclass(frozen=True, slots=True)
class ResponseCreated:
    response_id: str


@dataclass(frozen=True, slots=True)
class OutputItemAdded:
    response_id: str
    item_id: str
    item_type: str


@dataclass(frozen=True, slots=True)
class AudioDelta:
    response_id: str
    item_id: str
    delta: str
    """Base64 μ-law, forwarded to Twilio as is."""


@dataclass(frozen=True, slots=True)
class TranscriptDelta:
    response_id: str
    item_id: str
    delta: str


@dataclass(frozen=True, slots=True)
class TranscriptDone:
    response_id: str
    item_id: str
    transcript: str


@dataclass(frozen=True, slots=True)
class FunctionCall:
    response_id: str
    item_id: str
    call_id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ResponseDone:
    response_id: str
    status: str
    reason: str = ""
    usage: dict[str, Any] | None = None
    """The response's token usage as reported (`response.usage`), for the call's AI cost."""


@dataclass(frozen=True, slots=True)
class Truncated:
    item_id: str
    audio_end_ms: int


@dataclass(frozen=True, slots=True)
class Error:
    code: str
    message: str
    error_type: str = ""
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class Other:
    type: str
    data: dict[str, Any] = field(default_factory=dict)


ServerEvent = (
    SessionUpdated
    | SpeechStarted
    | SpeechStopped
    | Committed
    | InputTranscriptCompleted
    | InputTranscriptFailed
    | ResponseCreated
    | OutputItemAdded
    | AudioDelta
    | TranscriptDelta
    | TranscriptDone
    | FunctionCall
    | ResponseDone
    | Truncated
    | Error
    | Other
)


def _s(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return "" if value is None else str(value)


_DELTA_KEYS = (b'"response_id":"', b'"item_id":"', b'"delta":"')
_AUDIO_DELTA = b'"type":"response.output_audio.delta"'
_TRANSCRIPT_DELTA = b'"type":"response.output_audio_transcript.delta"'


def _flat_delta(raw: bytes) -> AudioDelta | TranscriptDelta | None:
    """An audio or transcript delta read without `json.loads`, when that is exact; else None (parsed in full).

    The two messages of every moment of a reply. Exact for a flat object (one `{`) holding no backslash in
    compact JSON: every `"` then delimits a string, so a key found with its quotes and colon is that key, and
    its value runs to the next `"`.
    """
    kind: type[AudioDelta] | type[TranscriptDelta]
    if _AUDIO_DELTA in raw:
        kind = AudioDelta
    elif _TRANSCRIPT_DELTA in raw:
        kind = TranscriptDelta
    else:
        return None
    if raw.count(b"{") != 1 or b"\\" in raw:
        return None
    values: list[str] = []
    for key in _DELTA_KEYS:
        start = raw.find(key)
        if start < 0:
            return None
        start += len(key)
        end = raw.find(b'"', start)
        if end < 0:
            return None
        values.append(raw[start:end].decode())
    return kind(*values)


def parse_event(raw: str | bytes) -> ServerEvent:
    """One server message → its dataclass (unknown or malformed → `Other`)."""
    if type(raw) is bytes:
        fast = _flat_delta(raw)
        if fast is not None:
            return fast
    try:
        data = json.loads(raw)
    except ValueError:
        return Other("invalid_json")
    if not isinstance(data, dict):
        return Other("invalid_json")
    kind = data.get("type")
    if kind == "response.output_audio.delta":
        return AudioDelta(_s(data, "response_id"), _s(data, "item_id"), _s(data, "delta"))
    if kind == "response.output_audio_transcript.delta":
        return TranscriptDelta(_s(data, "response_id"), _s(data, "item_id"), _s(data, "delta"))
    if kind == "response.output_audio_transcript.done":
        return TranscriptDone(_s(data, "response_id"), _s(data, "item_id"), _s(data, "transcript"))
    if kind == "input_audio_buffer.speech_started":
        return SpeechStarted(_s(data, "item_id"), int(data.get("audio_start_ms") or 0))
    if kind == "input_audio_buffer.speech_stopped":
        return SpeechStopped(_s(data, "item_id"), int(data.get("audio_end_ms") or 0))
    if kind == "input_audio_buffer.committed":
        return Committed(_s(data, "item_id"), data.get("previous_item_id"))
    if kind == "conversation.item.input_audio_transcription.completed":
        return InputTranscriptCompleted(_s(data, "item_id"), _s(data, "transcript"))
    if kind == "conversation.item.input_audio_transcription.failed":
        return InputTranscriptFailed(_s(data, "item_id"), _s(data.get("error") or {}, "message"))
    if kind == "response.created":
        return ResponseCreated(_s(data.get("response") or {}, "id"))
    if kind == "response.output_item.added":
        item = data.get("item") or {}
        return OutputItemAdded(_s(data, "response_id"), _s(item, "id"), _s(item, "type"))
    if kind == "response.function_call_arguments.done":
        return FunctionCall(
            _s(data, "response_id"), _s(data, "item_id"), _s(data, "call_id"), _s(data, "name"), _s(data, "arguments")
        )
    if kind == "response.done":
        response = data.get("response") or {}
        details = response.get("status_details") or {}
        usage = response.get("usage")
        usage = usage if isinstance(usage, dict) else None
        return ResponseDone(_s(response, "id"), _s(response, "status"), _s(details, "reason"), usage)
    if kind == "conversation.item.truncated":
        return Truncated(_s(data, "item_id"), int(data.get("audio_end_ms") or 0))
    if kind == "session.updated":
        return SessionUpdated(data.get("session") or {})
    if kind == "error":
        error = data.get("error") or {}
        return Error(_s(error, "code"), _s(error, "message"), _s(error, "type"), _s(error, "event_id"))
    return Other(str(kind), data)


def parse_arguments(arguments: str) -> dict[str, Any]:
    """A function call's JSON arguments as a dict ({} when malformed: the model is told, not trusted)."""
    try:
        value = json.loads(arguments or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def clean_qualification(arguments: dict[str, Any]) -> dict[str, str]:
    """The known qualification fields of a record_qualification call, as trimmed, non-empty strings."""
    out: dict[str, str] = {}
    for name in QUALIFICATION_FIELDS:
        value = arguments.get(name)
        if value is None:
            continue
        text = str(value).strip()[:500]
        if text:
            out[name] = text
    return out
