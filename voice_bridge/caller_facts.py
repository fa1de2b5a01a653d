"""What the simulated callee says on a simulated call: the lead's own request, not a canned story.

A simulated call (no phone account) is answered by a scripted callee. So that the call's summary agrees with
the request the business accepted, the callee's answers come from the lead: what it needs (the consumer's own
first sentence), how soon (its urgency), its budget and its ZIP code. Pure functions of the lead; no session.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from leadapp.core.models import Lead
from leadapp.core.redaction import redact_contact
from leadapp.core.vocab import Urgency

NEED_MAX_CHARS = 160
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")

# How the callee says the timing, and what the assistant records of it, per urgency.
TIMING: dict[str, tuple[str, str]] = {
    Urgency.EMERGENCY.value: ("It's an emergency, I need someone right away.", "right away (emergency)"),
    Urgency.HIGH.value: ("It's urgent, today or tomorrow if possible.", "today or tomorrow"),
    Urgency.NORMAL.value: ("Sometime in the next week or so is fine.", "within a week or so"),
    Urgency.LOW.value: ("There's no rush, whenever suits you.", "flexible, no rush"),
}


@dataclass(frozen=True)
class CallerFacts:
    """The callee's answers. The defaults are the demo story used when a call has no lead."""

    need: str = "The water heater is leaking in the garage."
    need_recorded: str = "leaking water heater in the garage"
    urgency: str = Urgency.HIGH.value
    timing_said: str = "I'd like someone tomorrow morning if possible."
    timing: str = "tomorrow morning"
    budget_said: str = "Around five hundred dollars."
    budget: str = "about $500"
    zip: str = "46032"
    address_said: str = "It's 12 Main Street, 46032."
    address: str = "12 Main Street"


def _budget(low: int | None, high: int | None) -> tuple[str, str]:
    """(what the callee says, what is recorded): the request's own budget, or that there is none yet."""
    if low and high and low != high:
        text = f"${low:,} to ${high:,}"
    elif high or low:
        text = f"about ${(high or low):,}"
    else:
        return "I'm not sure about the budget yet.", "not sure"
    return f"My budget is {text}.", text


def _need(lead: Lead) -> str:
    """The consumer's first sentence, contact details hidden, cut to NEED_MAX_CHARS."""
    text = " ".join((lead.redacted_text or redact_contact(lead.raw_text or "", lead.contact_email)).split())
    first = _SENTENCE_END.split(text, maxsplit=1)[0] if text else ""
    if len(first) > NEED_MAX_CHARS:
        first = first[: NEED_MAX_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return first


def facts_for_lead(lead: Lead | None) -> CallerFacts:
    """The callee's answers for a call about `lead` (the demo story without a lead or without its words)."""
    if lead is None:
        return CallerFacts()
    need = _need(lead)
    if not need:
        return CallerFacts()
    urgency = lead.urgency if lead.urgency in TIMING else Urgency.NORMAL.value
    timing_said, timing = TIMING[urgency]
    budget_said, budget = _budget(lead.budget_min, lead.budget_max)
    zip_code = lead.location_zip or lead.zip or ""
    return CallerFacts(
        need=need if need.endswith((".", "!", "?", "…")) else need + ".",
        need_recorded=need.rstrip(".!?…"),
        urgency=urgency,
        timing_said=timing_said,
        timing=timing,
        budget_said=budget_said,
        budget=budget,
        zip=zip_code,
        # The request holds a ZIP code, not a street address: the callee gives what the request has.
        address_said=f"The job is in ZIP code {zip_code}." if zip_code else "I'd rather give the address later.",
        address="",
    )
