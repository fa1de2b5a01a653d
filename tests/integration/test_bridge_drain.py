"""Graceful stop of a real bridge process (`python -m voice_bridge`): SIGTERM in the middle of a call.

The bridge runs as its own process on loopback, with the fake OpenAI Realtime server in this test's event loop
and the fake Twilio media stream dialling it. On SIGTERM it must say "draining" on /health (503), refuse a new
stream (HTTP 403 on the upgrade), let the call in progress go on to its natural end (the caller hears the whole
greeting, hangs up, the call's record is closed with its transcript and summary), and only then exit.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from websockets.exceptions import InvalidStatus

from leadapp.core.providers import telephony
from tests.fakes.openai_realtime import FakeOpenAIRealtime
from tests.fakes.twilio_media import FakeTwilioMedia
from tests.fakes.twilio_voice import parse_stream
from tests.integration.bridge_harness import (
    AUTH_TOKEN,
    GREETING,
    PUBLIC_WSS,
    WAIT,
    bridge_environment,
    ended,
    seed,
    transcript,
)
from tests.integration.programs import (
    PROCESS_START_TIMEOUT,
    clear_settings_caches,
    program_output,
    start_voice_bridge,
    stop_program,
)
from voice_bridge.simulated import Reply, Script

GREETING_MS = 3000
# Generous: on a loaded 2-core machine the bridge's imports alone have taken over 15 s.
START_TIMEOUT = 3 * PROCESS_START_TIMEOUT


@dataclass
class BridgeProcess:
    proc: subprocess.Popen
    url: str
    media_url: str
    log: Path


@pytest.fixture
async def bridge_process(
    sqlite_url: str,
    redis_env: redis.Redis,
    fake_openai: FakeOpenAIRealtime,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[BridgeProcess]:
    for name, value in {
        **bridge_environment(fake_openai),
        "BRIDGE_DRAIN_SECONDS": "60",  # far more than the call needs: the call's end, not the limit, stops it
        "RECORDINGS_DIR": str(tmp_path / "recordings"),
    }.items():
        monkeypatch.setenv(name, value)
    clear_settings_caches()
    log = tmp_path / "voice_bridge.log"
    proc, url = await asyncio.to_thread(start_voice_bridge, log, healthy=(200,), timeout=START_TIMEOUT)
    bridge = BridgeProcess(proc, url, f"{url.replace('http://', 'ws://')}/media", log)
    try:
        yield bridge
    finally:
        await asyncio.to_thread(stop_program, proc)


def dial(bridge: BridgeProcess, call_id: int, call_sid: str) -> FakeTwilioMedia:
    media = FakeTwilioMedia.signed(
        bridge.media_url, public_wss_url=PUBLIC_WSS, auth_token=AUTH_TOKEN, call_id=None, call_sid=call_sid
    )
    media.parameters = parse_stream(telephony.stream_twiml(PUBLIC_WSS, call_id)).parameters
    return media


async def health(bridge: BridgeProcess) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5.0) as client:
        return await client.get(f"{bridge.url}/health")


async def test_sigterm_drains_the_call_in_progress_and_refuses_new_streams(
    bridge_process: BridgeProcess, fake_openai: FakeOpenAIRealtime
) -> None:
    bridge = bridge_process
    fake_openai.stream_speed = 1.0  # the greeting is still being spoken when the stop signal comes
    fake_openai.use(Script(greeting=Reply(GREETING, audio_ms=GREETING_MS)))
    running, waiting = seed(), seed(inbound_number=None)
    media = dial(bridge, running.call_id, running.call_sid)
    await media.connect()
    await media.start(media.parameters)
    assert await media.wait_for(lambda: media.heard_ms() >= 300, WAIT), program_output(bridge.log)

    bridge.proc.send_signal(signal.SIGTERM)

    async def draining() -> bool:
        answer = await health(bridge)
        return answer.status_code == 503 and answer.json()["status"] == "draining"

    deadline = time.monotonic() + WAIT
    while not await draining():
        assert time.monotonic() < deadline, f"health never said draining:\n{program_output(bridge.log)}"
        await asyncio.sleep(0.05)
    assert (await health(bridge)).json()["calls"] == 1

    late = dial(bridge, waiting.call_id, waiting.call_sid)
    with pytest.raises(InvalidStatus) as refused:
        await late.connect()
    assert refused.value.response.status_code == 403

    # The call in progress goes on: the whole greeting plays out, then the caller hangs up.
    assert await media.wait_for(lambda: media.heard_ms() >= GREETING_MS - 40, WAIT), program_output(bridge.log)
    assert bridge.proc.poll() is None, "the bridge stopped before its call ended"
    await media.hang_up()
    call = await ended(running.call_id)
    assert call.ended_at is not None and call.summary
    (line,) = transcript(running.call_id)
    assert line.speaker == "assistant" and line.text == GREETING

    returncode = await asyncio.to_thread(wait_for_exit, bridge.proc)
    assert returncode in (0, -signal.SIGTERM), program_output(bridge.log)
    assert "voice_bridge_drained" in program_output(bridge.log)
    assert len(fake_openai.handshakes) == 1  # the refused stream never reached OpenAI


def wait_for_exit(proc: subprocess.Popen) -> int | None:
    try:
        return proc.wait(timeout=WAIT)
    except subprocess.TimeoutExpired:
        return None
