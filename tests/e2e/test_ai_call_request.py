"""The owner asks for an AI call on an accepted lead and watches it live: without phone accounts the call is
simulated through the real bridge code, its transcript appears line by line, then the outcome and summary;
then the owner plays its recording in the lead detail (streamed by the app, with HTTP Range)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Deployment
from tests.e2e.journeys import call_ready_lead, new_marker

pytestmark = pytest.mark.e2e
PHONE = "(317) 846-2200"  # its own number: calls count towards a per-number daily limit
CARMEL = ZoneInfo("America/Indiana/Indianapolis")  # the request's ZIP 46032, and the plumber's


def test_ai_call_button_creates_a_call_shown_in_the_detail(browser: Browser, deployment: Deployment):
    marker = new_marker()
    _consumer, owner = call_ready_lead(
        browser,
        deployment,
        marker,
        f"Our toilet keeps running and the shutoff valve leaks under the tank, need a plumber this week ({marker})",
        PHONE,
    )
    # Before accepting, the AI call is refused with the reason.
    expect(owner.locator("#ai-call")).to_be_disabled()
    expect(owner.locator("#ai-call-reason")).to_contain_text("Accept the lead first")
    owner.locator("#accept-lead").click()
    expect(owner.locator("#detail-status")).to_have_text("Accepted")
    if not deployment.local:  # nobody verified the number: the call is refused with the reason
        expect(owner.locator("#ai-call-reason")).to_contain_text("not verified their phone number")
        return
    expect(owner.locator("#ai-call")).to_be_enabled()
    # Before a quote or a finished job, the one kind of call is the qualification.
    expect(owner.locator("#call-type option")).to_have_count(1)
    expect(owner.locator("#call-zone")).to_contain_text("America/Indiana/Indianapolis")
    # A time gone by is refused under its field, and nothing is requested.
    today = datetime.now(CARMEL).date()
    owner.locator("#call-when").fill(f"{today - timedelta(days=1)}T10:00")
    owner.locator("#ai-call").click()
    expect(owner.locator("#call-when-error")).to_contain_text("Pick a time in the future")
    expect(owner.locator(".call-panel")).to_have_count(0)
    # Tomorrow at 10 schedules it; the owner cancels it and asks for the call now instead.
    owner.locator("#call-when").fill(f"{today + timedelta(days=1)}T10:00")
    owner.locator("#ai-call").click()
    expect(owner.locator("#call-notice")).to_contain_text("scheduled for the time you picked")
    scheduled = owner.locator(".call-panel").first
    expect(scheduled.locator(".call-status")).to_have_text("Scheduled")
    expect(scheduled.locator(".call-kind")).to_have_text("Qualifying call")
    expect(scheduled).to_contain_text("tomorrow 10:00")
    expect(owner.locator("#call-when-error")).to_have_count(0)
    # (The notice above is drawn: the page no longer moves under the pointer.)
    scheduled.locator(".cancel-call").click()
    expect(scheduled.locator(".call-status")).to_have_text("Canceled")
    owner.locator("#call-when").fill("")
    owner.locator("#call-objective").fill("Confirm the leak and book a visit")
    owner.locator("#ai-call").click()
    expect(owner.locator("#call-notice")).to_be_visible()
    panel = owner.locator(".call-panel").first
    expect(panel).to_be_visible()
    expect(panel.locator(".call-status")).to_have_text(
        re.compile(r"Requested|Scheduled|Dialling|Ringing|On the call|Finished")
    )
    if not deployment.local:
        return  # a real deployment dials a real phone: stop at the request
    # Without any reload: the first lines (the AI disclosure first), then more, then the outcome and summary.
    first = panel.locator(".transcript-line").first
    expect(first).to_contain_text("AI assistant", timeout=60_000)
    expect(panel.locator(".transcript-line").nth(2)).to_be_visible(timeout=60_000)
    expect(panel.locator(".call-outcome")).to_have_text("Qualified", timeout=120_000)
    expect(panel.locator(".call-summary")).to_be_visible()
    expect(panel.locator(".call-status")).to_have_text("Finished")

    # The recording plays in the lead detail, streamed by the app itself (the simulated line recorded both sides).
    with owner.expect_response(lambda r: "/api/v1/recordings/" in r.url) as loaded:
        panel.locator(".open-recording").click()
    audio = panel.locator("audio.call-recording")
    expect(audio).to_be_visible()
    assert loaded.value.status in (200, 206) and loaded.value.headers["content-type"] == "audio/wav"
    src = audio.get_attribute("src") or ""
    assert src.startswith(f"{deployment.url}/api/v1/recordings/")  # our address, never the provider's
    player = audio.element_handle()
    owner.wait_for_function("(a) => a.readyState >= 2 && a.duration > 1", arg=player, timeout=20_000)
    played = owner.evaluate(
        """async (a) => {
            a.muted = true;
            await a.play();
            await new Promise((done) => setTimeout(done, 800));
            a.pause();
            return a.currentTime;
        }""",
        player,
    )
    assert played > 0.3, f"the recording did not play (currentTime {played})"
    ranged = owner.request.get(src, headers={"Range": "bytes=0-1023"})
    assert ranged.status == 206 and ranged.headers["content-range"].startswith("bytes 0-1023/")
    assert len(ranged.body()) == 1024 and ranged.body()[:4] == b"RIFF"
