"""The arithmetic of per-call quality: the bridge's meter on a made-up timeline (times in ms, passed in), the
percentiles, the realtime usage and its price, and calls taken together."""

from __future__ import annotations

import pytest
from openai.types.realtime import InputAudioBufferSpeechStoppedEvent, ResponseDoneEvent
from sqlmodel import Session

from leadapp.core.models import Call, CallMetrics, User
from leadapp.core.services import admin_records, calls
from leadapp.core.services.call_quality import TokenUsage, percentile, summarize
from leadapp.core.settings import get_settings
from leadapp.core.vocab import MatchStatus
from tests import factories
from voice_bridge import realtime_wire as rt
from voice_bridge.quality import BUCKET_MS, QualityMeter

USAGE = {
    "total_tokens": 1630,
    "input_tokens": 1200,
    "output_tokens": 430,
    "input_token_details": {
        "text_tokens": 1000,
        "audio_tokens": 200,
        "cached_tokens": 900,
        "cached_tokens_details": {"text_tokens": 800, "audio_tokens": 100},
    },
    "output_token_details": {"text_tokens": 30, "audio_tokens": 400},
}


def _frames(meter: QualityMeter, start: float, count: int, *, lag: float = 0.1, every: float = 100.0) -> float:
    """`count` deltas of 100 ms audio (800 bytes) sent `every` ms from `start`; returns the time after the last."""
    for i in range(count):
        received = start + i * every
        meter.audio_sent(received, received + lag, 800)
    return start + count * every


def test_a_timeline_gives_its_turn_latencies_talk_times_interruptions_and_longest_silence() -> None:
    meter = QualityMeter()
    meter.started(0.0)
    end = _frames(meter, 400.0, 10)  # the greeting: 1 s of audio from 400 ms (400 ms of silence first)
    assert end == 1400.0
    # The caller talks 2000-2600 ms (server audio clock = ours + 0), the VAD says so at 3100 ms; answer at 3350.
    meter.speech_started(2000.0, 2000)
    meter.speech_stopped(3100.0, 2600)
    _frames(meter, 3350.0 - 0.1, 5)  # 500 ms of answer, sent at 3350 ms
    # The caller talks over a long reply: 20 frames sent from 5000 ms; at 5600 ms 1400 ms were never heard.
    meter.speech_started(4100.0, 4100)  # before the reply: not an interruption (nothing playing)
    meter.speech_stopped(4800.0, 4300)
    _frames(meter, 5000.0, 20, every=10.0)  # 2 s of audio sent faster than real time (by 5190 ms)
    meter.speech_started(5600.0, 5600)
    meter.cleared(5600.0, 1400 * 8, barge_in=True)
    meter.speech_stopped(6400.0, 5900)
    _frames(meter, 6700.0, 3)

    quality = meter.result()
    assert quality.turn_latencies_ms == (250, 200, 300)  # 3100→3350, 4800→5000, 6400→6700
    assert quality.interruptions == 1
    assert quality.caller_talk_ms == 600 + 200 + 300
    assert quality.assistant_talk_ms == 1000 + 500 + (2000 - 1400) + 300
    # Silences: 400 (start→greeting), 600 (greeting ends 1400 → caller 2000), 750 (caller stopped 2600 → 3350),
    # 250 (answer ends 3850 → caller 4100), 700 (caller stopped 4300 → reply 5000), 800 (caller stopped 5900 → 6700).
    assert quality.longest_silence_ms == 800
    assert quality.audio_frames == 38
    assert quality.bridge_latency_p50_ms == pytest.approx(0.1, abs=1e-3)  # its bucket's edge, capped at the max
    assert quality.bridge_latency_max_ms == pytest.approx(0.1)


def test_a_key_press_clearing_audio_is_not_an_interruption_but_the_cut_audio_is_not_talk() -> None:
    meter = QualityMeter()
    meter.started(0.0)
    _frames(meter, 0.0, 10)
    meter.cleared(500.0, 500 * 8, barge_in=False)
    meter.cleared(600.0, 0, barge_in=True)  # nothing left playing: no interruption
    quality = meter.result()
    assert quality.interruptions == 0
    assert quality.assistant_talk_ms == 500


def test_bridge_latency_percentiles_come_from_the_histogram_and_the_maximum_is_exact() -> None:
    meter = QualityMeter()
    for i in range(100):
        meter.audio_sent(0.0, 0.2 if i < 95 else 40.0 + i, 160)  # 95 fast frames, 5 slow ones past the last bucket
    assert meter.bridge_percentile(50) == pytest.approx(0.2 + BUCKET_MS)  # 0.2 ms: the bucket [0.2, 0.225)
    assert meter.bridge_percentile(95) == pytest.approx(0.225)
    assert meter.bridge_percentile(96) == pytest.approx(139.0)  # the last bucket reports the exact maximum
    assert meter.result().bridge_latency_max_ms == pytest.approx(139.0)
    assert QualityMeter().result().bridge_latency_p50_ms is None


def test_speaking_again_before_any_answer_restarts_the_turn() -> None:
    meter = QualityMeter()
    meter.started(0.0)
    meter.speech_stopped(1000.0, 500)
    meter.speech_started(1100.0, 1100)
    meter.speech_stopped(2000.0, 1500)
    _frames(meter, 2300.0, 1)
    assert meter.result().turn_latencies_ms == (300,)


def test_nearest_rank_percentiles() -> None:
    assert percentile([], 50) is None
    assert percentile([7], 95) == 7
    values = list(range(1, 21))  # 1..20
    assert percentile(values, 50) == 10 and percentile(values, 95) == 19 and percentile(values, 100) == 20
    assert percentile([300, 100, 200], 50) == 200


def test_usage_is_read_from_response_done_and_priced_at_the_settings_rates() -> None:
    event = ResponseDoneEvent(type="response.done", event_id="e", response={"id": "resp_1", "usage": USAGE})
    parsed = rt.parse_event(event.to_json(indent=None))
    assert isinstance(parsed, rt.ResponseDone) and parsed.usage == USAGE
    usage = TokenUsage.from_response(parsed.usage)
    assert usage == TokenUsage(text_in=200, text_cached=800, text_out=30, audio_in=100, audio_cached=100, audio_out=400)
    s = get_settings()
    usd = (
        200 * s.realtime_text_in_usd_per_mtok
        + 800 * s.realtime_text_cached_usd_per_mtok
        + 30 * s.realtime_text_out_usd_per_mtok
        + 100 * s.realtime_audio_in_usd_per_mtok
        + 100 * s.realtime_audio_cached_usd_per_mtok
        + 400 * s.realtime_audio_out_usd_per_mtok
    ) / 1e6
    assert usage.cost_cents() == pytest.approx(usd * 100, abs=1e-4)
    assert (usage + usage).total == 2 * 1630
    meter = QualityMeter()
    meter.response_usage(parsed.usage)
    meter.response_usage(None)  # a response.done without usage adds nothing
    assert meter.result().usage == usage


@pytest.mark.parametrize(
    "usage",
    [None, {}, {"input_token_details": "x"}, {"output_token_details": {"audio_tokens": -5, "text_tokens": True}}],
)
def test_malformed_usage_counts_as_nothing(usage: object) -> None:
    assert TokenUsage.from_response(usage).total == 0  # type: ignore[arg-type]


def test_speech_stopped_is_parsed_with_its_audio_end() -> None:
    event = InputAudioBufferSpeechStoppedEvent(
        type="input_audio_buffer.speech_stopped", event_id="e", audio_end_ms=2600, item_id="item_1"
    )
    assert rt.parse_event(event.to_json(indent=None)) == rt.SpeechStopped("item_1", 2600)


def test_calls_together_take_percentiles_over_all_their_turns() -> None:
    rows = [
        CallMetrics(
            call_id=1, turn_latencies_ms=[100, 200], interruptions=1, assistant_talk_ms=3000, caller_talk_ms=1000
        ),
        CallMetrics(
            call_id=2,
            turn_latencies_ms=[300, 400, 2000],
            interruptions=2,
            assistant_talk_ms=1000,
            caller_talk_ms=3000,
            longest_silence_ms=900,
            bridge_latency_p95_ms=0.3,
        ),
    ]
    summary = summarize(rows)
    assert (summary.calls, summary.turns, summary.interruptions) == (2, 5, 3)
    assert summary.turn_latency_p50_ms == 300 and summary.turn_latency_p95_ms == 2000
    assert summary.talk_ratio == pytest.approx(0.5)
    assert summary.longest_silence_ms == 900 and summary.bridge_latency_p95_ms == pytest.approx(0.3)
    assert summary.interruptions_per_call == pytest.approx(1.5)
    assert summarize([]).calls == 0 and summarize([]).turn_latency_p95_ms is None


def _measured_call(s: Session, **metrics: object) -> tuple[User, User, Call]:
    """An owner's business with a lead, one finished call about it with `metrics`, and an admin."""
    owner = factories.owner(s)
    business = factories.business(s, owner)
    lead = factories.lead(s)
    factories.match(s, lead, business, MatchStatus.ACCEPTED.value)
    call = Call(
        lead_id=lead.id,
        business_id=business.id,
        status="completed",
        outcome="goal_achieved",
        provider="twilio",
        cost_realtime_cents=1.1501,
        cost_carrier_cents=2.65,
        cost_carrier_reported=True,
    )
    s.add(call)
    s.flush()
    if metrics:
        s.add(CallMetrics(call_id=call.id, **metrics))  # type: ignore[arg-type]
    s.flush()
    return owner, factories.admin(s), call


MEASURED = {
    "turns": 3,
    "turn_latencies_ms": [251, 256, 251],
    "turn_latency_p50_ms": 251,
    "turn_latency_p95_ms": 256,
    "interruptions": 1,
    "assistant_talk_ms": 3300,
    "caller_talk_ms": 1500,
    "longest_silence_ms": 1540,
    "bridge_latency_p50_ms": 0.05,
    "bridge_latency_p95_ms": 0.125,
    "bridge_latency_max_ms": 0.61,
    "audio_out_tokens": 1200,
    "text_in_tokens": 300,
    "ai_cost_from_usage": True,
}


def test_the_call_panels_show_the_measured_figures_and_where_the_costs_come_from(db_session: Session) -> None:
    owner, admin, call = _measured_call(db_session, **MEASURED)
    (view,) = calls.calls_for_lead(db_session, owner, call.lead_id, call.business_id)
    assert view["quality"] == (
        "Turn latency: 251 ms median, 256 ms p95 (3 turns) · Interruptions: 1 · "
        "Talk ratio: assistant 69% (3.3 s), caller 31% (1.5 s) · Longest silence: 1.5 s · "
        "Bridge latency: 0.05 ms median, 0.12 ms p95, 0.61 ms max · "
        "AI cost: $0.0115 (1,500 tokens reported) · Carrier cost: $0.0265 (Twilio's price)"
    )
    record = admin_records.call_record(db_session, admin, call.id)["call"]
    assert record["turn_latency"] == "251 ms median, 256 ms p95 (3 turns)" and record["interruptions"] == "1"
    assert record["ai_cost"] == "$0.0115 (1,500 tokens reported)"
    assert record["carrier_cost"] == "$0.0265 (Twilio's price)"


def test_a_call_the_bridge_never_measured_shows_only_its_estimated_costs(db_session: Session) -> None:
    owner, admin, call = _measured_call(db_session)
    call.cost_carrier_reported = False
    db_session.add(call)
    db_session.flush()
    (view,) = calls.calls_for_lead(db_session, owner, call.lead_id, call.business_id)
    assert view["quality"] == "AI cost: $0.0115 (estimate) · Carrier cost: $0.0265 (estimate)"
    record = admin_records.call_record(db_session, admin, call.id)["call"]
    assert record["turn_latency"] == record["talk_ratio"] == record["bridge_latency"] == ""
