"""The simulated callee answers from the lead's own request (need, timing, budget, ZIP), not a canned story."""

from __future__ import annotations

from leadapp.core.models import Lead
from voice_bridge import simulated
from voice_bridge.caller_facts import CallerFacts, facts_for_lead


def _lead(**fields) -> Lead:
    base = {
        "raw_text": "Our deck boards are rotting near the stairs. Call me at 317-846-2200 or ann@example.com please.",
        "contact_email": "ann@example.com",
        "zip": "94110",
        "urgency": "low",
        "budget_min": 800,
        "budget_max": 1200,
    }
    return Lead(**{**base, **fields})


def test_the_callee_says_what_the_request_says() -> None:
    facts = facts_for_lead(_lead())
    assert facts.need == "Our deck boards are rotting near the stairs."
    assert (facts.urgency, facts.timing) == ("low", "flexible, no rush")
    assert (facts.budget, facts.zip, facts.address) == ("$800 to $1,200", "94110", "")
    script = simulated.qualify_script("Bay Decks", "Ann", "your carpentry request", facts)
    said = " ".join(turn.caller for turn in script.turns)
    assert "rotting" in said and "94110" in said and "$800 to $1,200" in said
    assert "12 Main Street" not in said and "water heater" not in said and "846-2200" not in said
    recorded = {k: v for turn in script.turns if turn.reply for k, v in turn.reply.arguments.items()}
    assert recorded == {
        "need": "Our deck boards are rotting near the stairs",
        "urgency": "low",
        "timing": "flexible, no rush",
        "budget": "$800 to $1,200",
        "zip": "94110",
    }


def test_no_budget_and_a_classified_zip() -> None:
    facts = facts_for_lead(_lead(budget_min=None, budget_max=None, location_zip="94103", urgency=None))
    assert (facts.budget, facts.zip, facts.urgency) == ("not sure", "94103", "normal")
    assert "not sure" in facts.budget_said


def test_without_a_lead_the_demo_story() -> None:
    assert facts_for_lead(None) == CallerFacts()
