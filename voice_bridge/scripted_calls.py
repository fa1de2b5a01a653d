"""The simulated line's scripted calls, in any language: a business's qualifying call and LeadApp's concierge
call, and a caller to a business's own number. What the scripted assistant says (the greeting with both
disclosures, the questions, the goodbye) and what the scripted callee answers, with the records and the end_call
the real assistant makes. One script per kind of call; each language gives its lines (`QualifyLines`,
`ConciergeLines`, `ReceptionistLines`)."""

from __future__ import annotations

from dataclasses import dataclass

from voice_bridge import realtime_wire as rt
from voice_bridge.caller_facts import CallerFacts
from voice_bridge.loopback.script import Reply, Script, Turn


@dataclass(frozen=True)
class QualifyLines:
    """One language's lines; `{name}`, `{service}` and `{business}` are filled in."""

    hello_named: str
    hello: str
    about: str  # after the business's name, when the service is known
    greeting: str  # {hello} {business} {about}
    go_ahead: str  # the callee
    ask_need: str
    ask_budget: str
    goodbye: str  # {business}
    reason: str


ENGLISH = QualifyLines(
    hello_named="Hi {name}",
    hello="Hi",
    about=" about {service}",
    greeting="{hello}, this is an AI assistant calling on behalf of {business}{about}. Just so you know, this call "
    "is recorded. Is now a good time for a couple of quick questions?",
    go_ahead="Yes, sure, go ahead.",
    ask_need="Great. What's going on, and how soon do you need someone?",
    ask_budget="Got it. Do you have a budget in mind, and what's the address with the ZIP code?",
    goodbye="Perfect, I have everything. {business} will call you to confirm a time. Thank you, goodbye!",
    reason="job qualified",
)


def qualify_script(
    business_name: str,
    first_name: str = "",
    service: str = "your request",
    facts: CallerFacts | None = None,
    lines: QualifyLines = ENGLISH,
) -> Script:
    """A short qualifying call: greeting with the disclosures, three answers, two records, end_call.

    The callee answers with `facts` (the lead's own need, timing, budget and ZIP: `caller_facts.facts_for_lead`),
    so the summary written from what was recorded agrees with the request."""
    f = facts or CallerFacts()
    hello = lines.hello_named.format(name=first_name) if first_name else lines.hello
    about = lines.about.format(service=service) if service else ""
    where = {"zip": f.zip, **({"address_details": f.address} if f.address else {})}
    return Script(
        greeting=Reply(lines.greeting.format(hello=hello, business=business_name, about=about)),
        turns=[
            Turn(lines.go_ahead, Reply(lines.ask_need)),
            Turn(
                f"{f.need} {f.timing_said}",
                Reply(
                    tool=rt.RECORD_QUALIFICATION,
                    arguments={"need": f.need_recorded, "urgency": f.urgency, "timing": f.timing},
                    then=Reply(lines.ask_budget),
                ),
            ),
            Turn(
                f"{f.budget_said} {f.address_said}",
                Reply(
                    tool=rt.RECORD_QUALIFICATION,
                    arguments={"budget": f.budget, **where},
                    then=Reply(
                        lines.goodbye.format(business=business_name),
                        tool=rt.END_CALL,
                        arguments={"outcome": "goal_achieved", "reason": lines.reason},
                    ),
                ),
            ),
        ],
    )


@dataclass(frozen=True)
class ConciergeLines:
    """One language's lines of a LeadApp concierge call (the consumer asked to be called back, before any business
    took the request); `{name}`, `{service}` and `{zip}` are filled in."""

    hello_named: str
    hello: str
    about: str  # {service}
    about_unknown: str
    greeting: str  # {hello} {about}
    go_ahead: str  # the callee
    ask_need: str
    need_said: str
    need: str
    timing: str
    ask_budget: str
    budget_said: str  # {zip}
    budget: str
    goodbye: str
    reason: str


ENGLISH_CONCIERGE = ConciergeLines(
    hello_named="Hi {name}",
    hello="Hi",
    about="{service}",
    about_unknown="your request",
    greeting="{hello}, this is an AI assistant from LeadApp, returning your call about {about}. Just so you know, "
    "this call is recorded. Is now a good moment to go over the details?",
    go_ahead="Yes, go ahead.",
    ask_need="Thanks. What exactly needs doing, and how soon do you need someone?",
    need_said="The pipe under the kitchen sink is leaking into the cabinet, I'd like someone this week.",
    need="leaking pipe under the kitchen sink",
    timing="this week",
    ask_budget="Got it. What budget do you have in mind, and what's the ZIP code of the job?",
    budget_said="About three hundred dollars. It's 12 Main Street, {zip}.",
    budget="about $300",
    goodbye="Thank you, I have everything. LeadApp will now look for businesses again with your completed request, "
    "and you'll hear by email or text when one responds. Goodbye!",
    reason="request completed",
)


def concierge_script(
    first_name: str = "",
    service: str = "your request",
    zip_code: str = "46032",
    lines: ConciergeLines = ENGLISH_CONCIERGE,
) -> Script:
    """A LeadApp concierge call: the assistant speaks for LeadApp, goes over the request and completes it."""
    hello = lines.hello_named.format(name=first_name) if first_name else lines.hello
    about = lines.about.format(service=service) if service else lines.about_unknown
    return Script(
        greeting=Reply(lines.greeting.format(hello=hello, about=about)),
        turns=[
            Turn(lines.go_ahead, Reply(lines.ask_need)),
            Turn(
                lines.need_said,
                Reply(
                    tool=rt.RECORD_QUALIFICATION,
                    arguments={"need": lines.need, "urgency": "high", "timing": lines.timing},
                    then=Reply(lines.ask_budget),
                ),
            ),
            Turn(
                lines.budget_said.format(zip=zip_code),
                Reply(
                    tool=rt.RECORD_QUALIFICATION,
                    arguments={"budget": lines.budget, "address_details": "12 Main Street", "zip": zip_code},
                    then=Reply(
                        lines.goodbye,
                        tool=rt.END_CALL,
                        arguments={"outcome": "goal_achieved", "reason": lines.reason},
                    ),
                ),
            ),
        ],
    )


@dataclass(frozen=True)
class ReceptionistLines:
    """One language's lines of a caller phoning a business's own number, after the receptionist's English greeting
    (a Spanish caller makes the bridge switch the session); `{need}` (capitalised), `{zip}` and `{business}` are
    filled in."""

    opening: str  # the caller: name, need and address; {need} {zip}
    need: str  # recorded, when the caller's need is not given
    ask_when: str
    when_said: str  # the caller
    timing: str
    budget: str
    goodbye: str  # {business}
    reason: str


RECEPTIONIST_GREETING = (
    "Thank you for calling {business}. I'm an AI assistant answering for the team, and this call is recorded. "
    "How can I help you today?"
)

ENGLISH_RECEPTIONIST = ReceptionistLines(
    opening="Hi, this is Alex Morgan. {need}. I'm at 12 Main Street, {zip}.",
    need="I have a repair job at my house and need someone to come out this week",
    ask_when="Thanks Alex. When would suit you for a visit, and do you have a budget in mind?",
    when_said="Tomorrow morning if possible, and around four hundred dollars.",
    timing="tomorrow morning",
    budget="about $400",
    goodbye="Perfect, I've passed this on to {business}; they will call you back shortly. Goodbye!",
    reason="job details taken",
)


def receptionist_script(
    business_name: str, zip_code: str, need: str = "", lines: ReceptionistLines = ENGLISH_RECEPTIONIST
) -> Script:
    """A caller phoning the business: the receptionist greets with the disclosures, takes the job, ends the call."""
    need = need or lines.need
    return Script(
        greeting=Reply(RECEPTIONIST_GREETING.format(business=business_name)),
        turns=[
            Turn(
                lines.opening.format(need=need[0].upper() + need[1:], zip=zip_code),
                Reply(
                    tool=rt.RECORD_QUALIFICATION,
                    arguments={
                        "caller_name": "Alex Morgan",
                        "need": need,
                        "address_details": f"12 Main Street, {zip_code}",
                        "zip": zip_code,
                    },
                    then=Reply(lines.ask_when),
                ),
            ),
            Turn(
                lines.when_said,
                Reply(
                    tool=rt.RECORD_QUALIFICATION,
                    arguments={"timing": lines.timing, "budget": lines.budget, "urgency": "high"},
                    then=Reply(
                        lines.goodbye.format(business=business_name),
                        tool=rt.END_CALL,
                        arguments={"outcome": "goal_achieved", "reason": lines.reason},
                    ),
                ),
            ),
        ],
    )
