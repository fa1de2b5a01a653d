"""Per-call quality analytics end to end: a scripted call with known timings through the real bridge, the fake
OpenAI Realtime and the fake Twilio on loopback; the metrics the bridge wrote when the call ended are checked
against what the two fakes saw on their own clocks (the same monotonic clock: one process).

The script: a greeting, an answer after the first line, a deliberate 1.5 s pause before the second line, a long
reply the caller talks over (one barge-in), and an answer to that. Every reply's first audio goes out 250 ms after
`response.created` (`first_chunk_after` × the 100 ms chunk, at real time), so each turn's latency is known.
The AI cost must be the fake's reported `response.done` usage at the settings' token prices.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlmodel import Session

from leadapp.core.db import get_engine
from leadapp.core.models import CallMetrics
from leadapp.core.settings import get_settings
from tests.fakes.openai_realtime import FakeRealtimeSession
from tests.integration.bridge_harness import WAIT, Bridge, Seeded, ended, listen
from voice_bridge.loopback.realtime_connection import AssistantAudio
from voice_bridge.simulated import Reply, Script, Turn

LOAD_MARGIN_MS = 600
"""How much later than by design a busy machine may let events reach the bridge (speech detected, a frame sent):
the upper bounds of what the bridge measures against the script; the exact checks are against the fakes' own
timestamps (turn latency never longer than what Twilio's side saw)."""
FIRST_AUDIO_MS = 250  # each reply's first chunk: 2.5 chunk intervals of 100 ms after response.created
PAUSE_S = 1.5
SAID_MS = (600, 400, 500)


def _script() -> Script:
    return Script(
        greeting=Reply("Hi Jane, this is an AI assistant for Smith and Sons. This call is recorded.", audio_ms=1000),
        turns=[
            Turn("Yes, it's about the water heater.", Reply("Got it. When would suit you?", audio_ms=800)),
            Turn(
                "Tomorrow.",
                Reply("Tomorrow works. Let me tell you about our many services and prices first.", audio_ms=3000),
            ),
            Turn("Sorry, just tomorrow morning please.", Reply("Of course, tomorrow morning.", audio_ms=600)),
        ],
    )


def _expected_cents(usages: list[dict]) -> float:
    """The reported usage at the settings' prices, worked out here by hand from the raw `response.done` usage."""
    s = get_settings()
    usd = 0.0
    for usage in usages:
        given, out = usage["input_token_details"], usage["output_token_details"]
        cached = given["cached_tokens_details"]
        usd += (given["text_tokens"] - cached["text_tokens"]) * s.realtime_text_in_usd_per_mtok
        usd += cached["text_tokens"] * s.realtime_text_cached_usd_per_mtok
        usd += (given["audio_tokens"] - cached["audio_tokens"]) * s.realtime_audio_in_usd_per_mtok
        usd += cached["audio_tokens"] * s.realtime_audio_cached_usd_per_mtok
        usd += out["text_tokens"] * s.realtime_text_out_usd_per_mtok
        usd += out["audio_tokens"] * s.realtime_audio_out_usd_per_mtok
    return usd / 1_000_000 * 100


def _metrics(call_id: int) -> CallMetrics | None:
    with Session(get_engine(), expire_on_commit=False) as session:
        return session.get(CallMetrics, call_id)


@pytest.mark.parametrize("database", ["sqlite", "postgres"], indirect=True)
async def test_a_scripted_call_yields_its_known_latencies_barge_ins_talk_times_silence_and_usage_cost(
    bridge: Bridge, seeded: Seeded
) -> None:
    fake = bridge.fake
    fake.stream_speed, fake.first_chunk_after = 1.0, FIRST_AUDIO_MS / 100
    fake.use(_script())
    media = await bridge.dial(seeded.call_id, seeded.call_sid)
    await listen(media)  # the greeting

    media.say(SAID_MS[0])
    await listen(media)  # the first answer
    quiet_since_ms = media.last_played_at
    await asyncio.sleep(PAUSE_S)  # the longest silence of the call, by design
    spoke_at_ms = time.monotonic() * 1000
    media.say(SAID_MS[1])
    peer = fake.session
    long_reply = await _nth_item(peer, 2)
    assert await media.wait_for(lambda: media.heard_ms(long_reply.tag) >= 800, WAIT)
    media.say(SAID_MS[2])  # over the long reply: a barge-in
    last = await _nth_item(peer, 3)
    assert await media.wait_for(lambda: media.heard_ms(last.tag) >= 600, WAIT)  # the answer to it, heard in full
    await media.hang_up()
    call = await ended(seeded.call_id)
    metrics = _metrics(seeded.call_id)
    assert metrics is not None

    # Turn latency: each speech_stopped the fake sent → the first media frame Twilio got after it.
    stops = peer.sent_at("input_audio_buffer.speech_stopped")
    media_at = [at for at, _ in media.messages("media")]
    seen = [(next(at for at in media_at if at > stop) - stop) / 1e6 for stop in stops]
    assert len(stops) == 3 and metrics.turns == 3
    for measured, outside in zip(metrics.turn_latencies_ms, seen, strict=True):
        # The bridge's view lies inside the fakes' (two hops shorter: a few ms, more on a busy machine).
        assert outside - LOAD_MARGIN_MS <= measured <= outside + 2
        assert FIRST_AUDIO_MS - 10 <= measured <= FIRST_AUDIO_MS + LOAD_MARGIN_MS
    ordered = sorted(metrics.turn_latencies_ms)
    assert metrics.turn_latency_p50_ms == ordered[1] and metrics.turn_latency_p95_ms == ordered[2]

    # One barge-in; talk times: the caller's speech, and the assistant's audio as the caller heard it.
    assert metrics.interruptions == 1
    assert sum(SAID_MS) - 40 <= metrics.caller_talk_ms <= sum(SAID_MS) + LOAD_MARGIN_MS
    assert abs(metrics.assistant_talk_ms - media.heard_ms()) <= 40
    assert media.heard_ms(long_reply.tag) < 3000  # the cut part is not counted as talk
    assert metrics.talk_ratio == pytest.approx(
        metrics.assistant_talk_ms / (metrics.assistant_talk_ms + metrics.caller_talk_ms)
    )

    # The longest silence is the deliberate pause (the answer waits were ~500 ms VAD + 250 ms).
    pause_ms = spoke_at_ms - quiet_since_ms
    assert pause_ms - 30 <= metrics.longest_silence_ms <= pause_ms + LOAD_MARGIN_MS

    # Bridge latency: one sample per assistant frame Twilio received, in order.
    assert metrics.audio_frames == len(media_at)
    assert metrics.bridge_latency_p50_ms is not None and metrics.bridge_latency_max_ms is not None
    assert 0 <= metrics.bridge_latency_p50_ms <= metrics.bridge_latency_p95_ms <= metrics.bridge_latency_max_ms

    # AI cost: the fake's reported usage (one per response.done) at the settings' prices, not the flat rate.
    usages = peer.usages
    assert len(usages) == len(peer.sent_at("response.done")) >= 4
    assert metrics.ai_cost_from_usage
    assert metrics.audio_out_tokens == sum(u["output_token_details"]["audio_tokens"] for u in usages) > 0
    assert metrics.audio_cached_tokens == sum(
        u["input_token_details"]["cached_tokens_details"]["audio_tokens"] for u in usages
    )
    assert call.cost_realtime_cents == pytest.approx(_expected_cents(usages), abs=1e-4)
    assert call.cost_total_cents == pytest.approx(
        call.cost_carrier_cents + call.cost_realtime_cents + call.cost_summary_cents, abs=0.01
    )
    assert fake.invalid_events == []


async def _nth_item(peer: FakeRealtimeSession, n: int) -> AssistantAudio:
    """The `n`-th assistant audio item (0 = the greeting), once the fake has started it."""
    deadline = time.monotonic() + WAIT
    while len(peer.assistant_audio) <= n:
        assert time.monotonic() < deadline, f"assistant item {n} never started"
        await asyncio.sleep(0.01)
    return list(peer.assistant_audio.values())[n]
