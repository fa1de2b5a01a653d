"""Twilio Media Streams, the wire format only: parse what Twilio sends, build what we send back.

Pure functions, no sockets (the transport is `voice_bridge.media`, the logic `voice_bridge.session`).
Messages follow https://www.twilio.com/docs/voice/media-streams/websocket-messages:

- from Twilio: `connected`, `start`, `media`, `mark`, `dtmf`, `stop` (anything else parses as `Unknown`);
- to Twilio: `media` (base64 μ-law 8 kHz, passed through untouched), `mark`, `clear`.

Outgoing messages are built as strings: a payload is already base64 (nothing in it needs JSON escaping),
so concatenation is both correct and several times cheaper than `json.dumps` on the audio path.

Mark names carry `(counter, item_id, bytes)`: a per-call counter that makes every name unique, the
assistant item whose audio precedes the mark, and the item's cumulative byte count once that chunk has
played. An echoed mark therefore says exactly how much of which item the caller has heard.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

MULAW_BYTES_PER_MS = 8  # 8 kHz, one byte per sample
FRAME_BYTES = 160  # Twilio sends 20 ms frames


@dataclass(frozen=True, slots=True)
class Connected:
    protocol: str = ""
    version: str = ""


@dataclass(frozen=True, slots=True)
class Start:
    stream_sid: str
    call_sid: str = ""
    account_sid: str = ""
    tracks: tuple[str, ...] = ()
    custom_parameters: dict[str, str] = field(default_factory=dict)
    encoding: str = ""
    sample_rate: int = 0
    channels: int = 0


@dataclass(frozen=True, slots=True)
class Media:
    payload: str
    """Base64 μ-law, forwarded as is."""
    timestamp_ms: int = 0
    chunk: int = 0
    track: str = "inbound"


@dataclass(frozen=True, slots=True)
class Mark:
    name: str


@dataclass(frozen=True, slots=True)
class Dtmf:
    digit: str
    track: str = ""


@dataclass(frozen=True, slots=True)
class Stop:
    call_sid: str = ""
    account_sid: str = ""


@dataclass(frozen=True, slots=True)
class Unknown:
    event: str
    raw: dict[str, Any] = field(default_factory=dict)


TwilioEvent = Connected | Start | Media | Mark | Dtmf | Stop | Unknown


class WireError(ValueError):
    """A message that is not a Twilio Media Streams JSON object."""


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def parse(text: str | bytes) -> TwilioEvent:
    """One Twilio message → its dataclass. Raises WireError for non-JSON or a non-object."""
    try:
        message = json.loads(text)
    except ValueError as exc:
        raise WireError(f"not JSON: {exc}") from exc
    if not isinstance(message, dict):
        raise WireError("not a JSON object")
    event = message.get("event")
    if event == "media":
        media = message.get("media") or {}
        return Media(
            payload=str(media.get("payload") or ""),
            timestamp_ms=_int(media.get("timestamp")),
            chunk=_int(media.get("chunk")),
            track=str(media.get("track") or "inbound"),
        )
    if event == "mark":
        return Mark(name=str((message.get("mark") or {}).get("name") or ""))
    if event == "start":
        start = message.get("start") or {}
        media_format = start.get("mediaFormat") or {}
        params = start.get("customParameters") or {}
        return Start(
            stream_sid=str(message.get("streamSid") or start.get("streamSid") or ""),
            call_sid=str(start.get("callSid") or ""),
            account_sid=str(start.get("accountSid") or ""),
            tracks=tuple(str(t) for t in start.get("tracks") or ()),
            custom_parameters={str(k): str(v) for k, v in params.items()} if isinstance(params, dict) else {},
            encoding=str(media_format.get("encoding") or ""),
            sample_rate=_int(media_format.get("sampleRate")),
            channels=_int(media_format.get("channels")),
        )
    if event == "dtmf":
        dtmf = message.get("dtmf") or {}
        return Dtmf(digit=str(dtmf.get("digit") or ""), track=str(dtmf.get("track") or ""))
    if event == "stop":
        stop = message.get("stop") or {}
        return Stop(call_sid=str(stop.get("callSid") or ""), account_sid=str(stop.get("accountSid") or ""))
    if event == "connected":
        return Connected(protocol=str(message.get("protocol") or ""), version=str(message.get("version") or ""))
    return Unknown(event=str(event), raw=message)


_MEDIA_HEADS = ('{"event":"media"', '{"event": "media"')
_MARK_HEADS = ('{"event":"mark"', '{"event": "mark"')


def _string_after(text: str, heads: tuple[str, ...], key: str) -> str | None:
    """The string value after `key` in a message starting with one of `heads`, read without parsing; else None.

    Compact JSON or JSON with one space after the colon; a value holding an escape gives None.
    """
    if not text.startswith(heads):
        return None
    start = text.find(key)
    if start < 0:
        return None
    start += len(key)
    if text.startswith('"', start):
        start += 1
    elif text.startswith(' "', start):
        start += 2
    else:
        return None
    end = text.find('"', start)
    if end < 0:
        return None
    value = text[start:end]
    return None if "\\" in value else value


def media_payload(text: str) -> str | None:
    """The payload of a `media` message in Twilio's compact form, found without parsing the JSON; else None.

    The audio path's fast lane (50 messages a second per call): the base64 text is returned as it stands
    between its quotes, ready to be placed in another JSON string. Any other event, other spacing, or an
    escape inside the payload gives None, and the message is then parsed in full with `parse`.
    """
    return _string_after(text, _MEDIA_HEADS, '"payload":')


def mark_echo(text: str) -> str | None:
    """The name of an echoed `mark` message in Twilio's compact form, without parsing the JSON; else None.

    Like `media_payload`, for the echo that follows every chunk of assistant audio; a name holding an
    escape gives None (then `parse` reads the message).
    """
    return _string_after(text, _MARK_HEADS, '"name":')


# --- to Twilio ------------------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _quoted(stream_sid: str) -> str:
    """A stream id as a JSON string (the same few per process, so quoted once)."""
    return json.dumps(stream_sid)


def media(stream_sid: str, payload_b64: str) -> str:
    """`{"event":"media","streamSid":…,"media":{"payload":…}}` with the base64 μ-law passed through."""
    return '{"event":"media","streamSid":' + _quoted(stream_sid) + ',"media":{"payload":"' + payload_b64 + '"}}'


def mark(stream_sid: str, name: str) -> str:
    """`{"event":"mark","streamSid":…,"mark":{"name":…}}`: Twilio echoes it once the audio before it played."""
    return '{"event":"mark","streamSid":' + _quoted(stream_sid) + ',"mark":{"name":' + json.dumps(name) + "}}"


def clear(stream_sid: str) -> str:
    """`{"event":"clear","streamSid":…}`: drop every buffered byte (Twilio then echoes the pending marks)."""
    return '{"event":"clear","streamSid":' + _quoted(stream_sid) + "}"


def mark_name(counter: int, item_id: str, item_bytes: int) -> str:
    """A unique mark name for a chunk: `counter:item_id:cumulative bytes of the item`."""
    return f"{counter}:{item_id}:{item_bytes}"


def parse_mark_name(name: str) -> tuple[int, str, int] | None:
    """`(counter, item_id, bytes)` from a name built by `mark_name`; None for a name we did not build."""
    head, sep, rest = name.partition(":")
    item_id, sep2, tail = rest.rpartition(":")
    if not sep or not sep2 or not head.isdigit() or not tail.isdigit() or not item_id:
        return None
    return int(head), item_id, int(tail)


def b64_len_to_bytes(b64: str) -> int:
    """The decoded length of a base64 string, without decoding it."""
    n = len(b64)
    if n == 0:
        return 0
    padding = 2 if b64.endswith("==") else 1 if b64.endswith("=") else 0
    return n * 3 // 4 - padding


def bytes_to_ms(n_bytes: int) -> int:
    return n_bytes // MULAW_BYTES_PER_MS
