"""The Twilio messages of every moment of a call are read without a full JSON parse (`twilio_wire`).

`media_payload` and `mark_echo` must agree with `parse` on every message they accept, and give None
(so `parse` reads the message) for anything else: other events, escapes, other shapes.
"""

from __future__ import annotations

import json

import pytest

from voice_bridge import twilio_wire as tw

STREAM = "MZ" + "0" * 32
COMPACT = (",", ":")
SPACED = (", ", ": ")


def media(payload: str, separators: tuple[str, str]) -> str:
    message = {
        "event": "media",
        "sequenceNumber": "3",
        "streamSid": STREAM,
        "media": {"track": "inbound", "chunk": "2", "timestamp": "40", "payload": payload},
    }
    return json.dumps(message, separators=separators)


def mark(name: str, separators: tuple[str, str]) -> str:
    message = {"event": "mark", "sequenceNumber": "4", "streamSid": STREAM, "mark": {"name": name}}
    return json.dumps(message, separators=separators)


@pytest.mark.parametrize("separators", [COMPACT, SPACED])
def test_the_fast_paths_read_what_parse_reads(separators: tuple[str, str]) -> None:
    payload = "f/9/f3+AgP8A+w=="
    text = media(payload, separators)
    assert tw.media_payload(text) == payload == tw.parse(text).payload  # type: ignore[union-attr]
    assert tw.mark_echo(text) is None
    name = tw.mark_name(12, "item_C3xyz", 4800)
    echo = mark(name, separators)
    assert tw.mark_echo(echo) == name == tw.parse(echo).name  # type: ignore[union-attr]
    assert tw.media_payload(echo) is None


@pytest.mark.parametrize(
    "text",
    [
        media("ab\\/cd", COMPACT).replace("\\\\", "\\"),  # an escaped slash: valid JSON, left to `parse`
        mark('odd"name', COMPACT),
        '{"event":"mediaX","media":{"payload":"AAAA"}}',
        '{"event":"media","media":{"payload":null}}',
        '{"sequenceNumber":"1","event":"media","media":{"payload":"AAAA"}}',
        '{"event":"start","start":{"customParameters":{"payload":"x"}}}',
        "",
    ],
)
def test_anything_else_is_left_to_the_full_parse(text: str) -> None:
    assert tw.media_payload(text) is None
    assert tw.mark_echo(text) is None


def test_outgoing_messages_are_the_json_twilio_expects() -> None:
    name = tw.mark_name(1, 'item_"quoted"', 800)
    assert json.loads(tw.mark(STREAM, name)) == {"event": "mark", "streamSid": STREAM, "mark": {"name": name}}
    assert json.loads(tw.media(STREAM, "AAEC")) == {"event": "media", "streamSid": STREAM, "media": {"payload": "AAEC"}}
    assert json.loads(tw.clear('MZ"odd')) == {"event": "clear", "streamSid": 'MZ"odd'}
