"""The owner sees how an AI call went: after a (simulated) call on an accepted lead, its panel in the lead detail
gives the call's quality (turn latency, interruptions, talk ratio, silence, costs), and the stats page, reached from
the menu, charts the week's p95 turn latency and interruptions."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Deployment
from tests.e2e.journeys import ai_call_requested, click_link

pytestmark = pytest.mark.e2e
PHONE = "(317) 846-2216"  # its own number: calls count towards a per-number daily limit


def test_a_calls_quality_shows_on_its_panel_and_in_the_weekly_stats(browser: Browser, deployment: Deployment):
    if not deployment.local:
        pytest.skip("a real deployment dials a real phone")
    owner = ai_call_requested(
        browser,
        deployment,
        "The kitchen drain is blocked and the dishwasher backs up into the sink, need a plumber soon ({marker})",
        PHONE,
        "Confirm the blockage and book a visit",
    )
    panel = owner.locator(".call-panel").first
    expect(panel.locator(".call-outcome")).to_have_text("Qualified", timeout=120_000)
    quality = panel.locator(".call-quality")
    expect(quality).to_contain_text(re.compile(r"Turn latency: \d+ ms median, \d+ ms p95 \(\d+ turns\)"))
    expect(quality).to_contain_text("Interruptions: 0")
    expect(quality).to_contain_text(re.compile(r"Talk ratio: assistant \d+%"))
    expect(quality).to_contain_text("tokens reported")

    click_link(owner, deployment, "Stats", "/dashboard/stats")
    chart = owner.locator("#stats-chart-quality")
    expect(chart).to_be_visible()
    expect(chart.locator(".recharts-line")).to_have_count(1)
    expect(owner.locator("#stats-quality-empty")).to_have_count(0)
