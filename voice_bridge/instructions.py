"""What the voice agent is told: session instructions and per-response greetings (pure text building).

Guarantees:
- The consumer's phone number and email address never reach the model: only the lead's classified
  fields, the first name, and the request text with phones, emails and street addresses redacted
  (`redaction.redact_contact`, the same redaction a business sees before it accepts).
- Every greeting discloses that the caller is talking to an AI assistant and that the call is recorded
  (VOICE.md rule 4); the disclosure sits in the greeting's per-response instructions, so it is said
  first whatever the session instructions say.
- Consumer-written text is fenced and labelled as data, never as instructions; it cannot close the fence
  (`as_data`: no angle bracket of it survives).
- Every text is in the call's language ("en" or "es"): the words come from that language's catalogue
  (`core.languages`), the same structure for each.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from types import ModuleType
from typing import Any

from leadapp.core import languages
from leadapp.core.languages import english
from leadapp.core.models import Business, Lead
from leadapp.core.redaction import redact_contact
from leadapp.core.vocab import CallType

AI_DISCLOSURE = english.AI_DISCLOSURE
RECORDING_NOTICE = english.RECORDING_NOTICE
LEADAPP = english.LEADAPP
MAX_REQUEST_CHARS = 1200
_CALL_TYPE_GOALS = english.CALL_TYPE_GOALS


def _categories(codes: Iterable[str], words: ModuleType = english) -> str:
    return ", ".join(words.CATEGORIES[code] for code in codes or () if code in words.CATEGORIES)


def _first_name(full_name: str) -> str:
    return (full_name or "").strip().split(" ")[0][:40]


def business_profile(business: Business, language: str = "en") -> str:
    """The facts about the business the agent may use."""
    w = languages.phrases(language)
    lines = [w.PROFILE_BUSINESS.format(name=business.name)]
    trades = _categories(business.categories, w)
    if trades:
        lines.append(w.PROFILE_SERVICES.format(trades=trades))
    place = ", ".join(p for p in (business.city, business.state) if p)
    if place:
        lines.append(w.PROFILE_PLACE.format(place=place, zip=business.zip, radius=f"{business.radius_miles:g}"))
    facts = []
    if business.licensed:
        facts.append(w.FACT_LICENSED)
    if business.insured:
        facts.append(w.FACT_INSURED)
    if business.emergency_service:
        facts.append(w.FACT_EMERGENCY)
    if business.years_in_business:
        facts.append(w.FACT_YEARS.format(years=business.years_in_business))
    if facts:
        lines.append(w.PROFILE_FACTS.format(facts=", ".join(facts)))
    if business.description:
        lines.append(w.PROFILE_ABOUT.format(text=business.description.strip()[:600]))
    if business.hours:
        hours = "; ".join(f"{day}: {value}" for day, value in business.hours.items() if value)
        if hours:
            lines.append(w.PROFILE_HOURS.format(hours=hours))
    return "\n".join(lines)


_FENCE_CHARS = str.maketrans({"<": "‹", ">": "›"})


def as_data(text: str) -> str:
    """Text someone outside LeadApp wrote (a lead's request, what a caller said), made unable to close or open
    the `<<<` … `>>>` fence that marks it as data: compatibility forms (fullwidth ＞, small ﹥) are folded first
    (NFKC), then every angle bracket becomes a harmless single guillemet."""
    return unicodedata.normalize("NFKC", text).translate(_FENCE_CHARS)


def lead_facts(lead: Lead | None, language: str = "en") -> str:
    """The lead's classified fields and redacted request text (never its phone number or email)."""
    w = languages.phrases(language)
    if lead is None:
        return w.NO_REQUEST
    facts: list[str] = []
    if lead.category:
        facts.append(w.FACT_CATEGORY.format(value=_categories([lead.category], w) or lead.category))
    if lead.urgency:
        facts.append(w.FACT_URGENCY.format(value=w.URGENCIES.get(lead.urgency, lead.urgency)))
    if lead.budget_min is not None or lead.budget_max is not None:
        low, high = lead.budget_min, lead.budget_max
        budget = f"${low}" if low == high else f"${low or '?'}-${high or '?'}"
        facts.append(w.FACT_BUDGET.format(value=budget))
    zip_code = lead.location_zip or lead.zip
    if zip_code:
        facts.append(w.FACT_ZIP.format(value=zip_code))
    if lead.key_requirements:
        facts.append(w.FACT_REQUIREMENTS.format(value=", ".join(as_data(str(r)) for r in lead.key_requirements[:12])))
    qualification: dict[str, Any] = lead.qualification or {}
    known = "; ".join(
        f"{as_data(str(k))}: {as_data(str(v))}"
        for k, v in qualification.items()
        if v and isinstance(v, str | int | float)
    )
    text = as_data(redact_contact((lead.raw_text or "").strip(), lead.contact_email)[:MAX_REQUEST_CHARS])
    parts = [w.CLASSIFIED.format(facts="; ".join(facts) or w.NOTHING_CLASSIFIED)]
    if known:
        parts.append(w.CONFIRMED_BEFORE.format(known=known))
    if text:
        parts.append(w.OWN_WORDS + "\n<<<\n" + text + "\n>>>")
    return "\n".join(parts)


def _who(lead: Lead | None, w: ModuleType) -> str:
    name = _first_name(lead.contact_name) if lead else ""
    return w.CONSUMER_NAMED.format(name=name) if name else w.CONSUMER


def outbound_instructions(
    business: Business, lead: Lead | None, objective: str, call_type: str, language: str = "en"
) -> str:
    """Session instructions for a call LeadApp places on the business's behalf."""
    w = languages.phrases(language)
    goal = w.CALL_TYPE_GOALS.get(call_type, w.CALL_TYPE_GOALS[CallType.QUALIFY_LEAD.value])
    objective_text = (objective or business.call_objective_notes or "").strip()[:1500]
    sections = [
        w.OUTBOUND_INTRO.format(ai=w.AI_DISCLOSURE, who=_who(lead, w), business=business.name),
        w.GOAL.format(goal=goal),
    ]
    if objective_text:
        sections.append(w.OWNER_OBJECTIVE.format(objective=objective_text))
    sections += [business_profile(business, language), lead_facts(lead, language), w.STYLE, w.TOOLS, w.VOICEMAIL]
    return "\n\n".join(sections)


def concierge_instructions(lead: Lead | None, objective: str, language: str = "en") -> str:
    """Session instructions for a LeadApp concierge call: a callback the consumer asked for before any business
    accepted the request. The assistant speaks for LeadApp, confirms and completes the request's details."""
    w = languages.phrases(language)
    sections = [
        w.CONCIERGE_INTRO.format(ai=w.AI_DISCLOSURE, who=_who(lead, w), leadapp=w.LEADAPP),
        w.CONCIERGE_GOAL,
        w.CONCIERGE_RULES,
    ]
    notes = (objective or "").strip()[:600]
    if notes:
        sections.append(w.CONCIERGE_WHY.format(notes=notes))
    sections += [lead_facts(lead, language), w.STYLE, w.TOOLS, w.CONCIERGE_VOICEMAIL]
    return "\n\n".join(sections)


def inbound_instructions(business: Business, language: str = "en") -> str:
    """Session instructions for answering the business's own number as its receptionist."""
    w = languages.phrases(language)
    notes = (business.call_objective_notes or "").strip()[:1500]
    sections = [w.INBOUND_INTRO.format(ai=w.AI_DISCLOSURE, business=business.name)]
    if notes:
        sections.append(w.INBOUND_NOTES.format(notes=notes))
    sections += [business_profile(business, language), w.STYLE, w.TOOLS]
    return "\n\n".join(sections)


def session_instructions(
    business: Business | None, lead: Lead | None, objective: str, call_type: str, language: str = "en"
) -> str:
    """The session instructions for this call (LeadApp concierge without a business, inbound receptionist,
    outbound agent), in the call's `language`."""
    if business is None:
        return concierge_instructions(lead, objective, language)
    if call_type == CallType.INBOUND.value:
        return inbound_instructions(business, language)
    return outbound_instructions(business, lead, objective, call_type, language)


def greeting_instructions(business: Business | None, lead: Lead | None, call_type: str, language: str = "en") -> str:
    """Per-response instructions for the first words: the AI disclosure and the recording notice first."""
    w = languages.phrases(language)
    name = _first_name(lead.contact_name) if lead else ""
    hello = w.HELLO_NAMED.format(name=name) if name else w.HELLO
    service = (_categories([lead.category], w) or w.HELP) if lead and lead.category else ""
    disclosures = {"ai": w.AI_DISCLOSURE, "recording": w.RECORDING_NOTICE}
    if business is None:
        about = w.ABOUT_CATEGORY.format(service=service) if service else w.ABOUT_REQUEST
        return w.GREET_CONCIERGE.format(hello=hello, leadapp=w.LEADAPP, about=about, **disclosures)
    if call_type == CallType.INBOUND.value:
        return w.GREET_INBOUND.format(business=business.name, **disclosures)
    about = w.ABOUT_OUTBOUND.format(service=service) if service else ""
    return w.GREET_OUTBOUND.format(hello=hello, business=business.name, about=about, **disclosures)


def goodbye_for_human_instructions(business: Business | None, language: str = "en") -> str:
    """Per-response instructions after the caller asked for a person (tool or key 0)."""
    w = languages.phrases(language)
    return w.GOODBYE_FOR_HUMAN.format(who=business.name if business is not None else w.LEADAPP)


def apology_after_ai_lost(business: Business | None, language: str = "en") -> str:
    """What the caller hears (the provider's text-to-speech) when the assistant is gone mid-call."""
    w = languages.phrases(language)
    return w.APOLOGY_AFTER_AI_LOST.format(who=business.name if business is not None else w.LEADAPP)


def say_language(language: str = "en") -> str:
    """The language the provider's text-to-speech reads our words in (`<Say language=…>`; '' for its default)."""
    return languages.phrases(language).SAY_LANGUAGE


def goodbye_for_do_not_call_instructions(business: Business | None, language: str = "en") -> str:
    """Per-response instructions after the caller asked not to be called again (the do_not_call tool)."""
    w = languages.phrases(language)
    nobody = w.NOBODY_NAMED.format(business=business.name) if business is not None else w.NOBODY
    return w.GOODBYE_FOR_DO_NOT_CALL.format(leadapp=w.LEADAPP, nobody=nobody)
