"""Attack: learn a consumer's contact details from a lead one has not accepted (issue 11, item 3).

A matched business owner who has not accepted a lead looks at everything LeadApp gives them about it: the
Reflex state of their dashboard tab (inbox row and lead detail), the inbox search (an oracle: "does the text
contain 846?"), the new-lead email and SMS, and the instructions the voice agent would get. The consumer
typed contact details into the request: through the guided interview's "email or phone" answer, and into the
free text of the plain form. None of it may show before the business accepts; after it accepts, it does.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlmodel import Session, col, select

from leadapp.core import crypto
from leadapp.core.models import Business, Lead, Match, Notification
from leadapp.core.services import accounts, intake, interview
from leadapp.core.services.pipeline import process_lead
from leadapp.core.vocab import NotificationKind
from tests import factories
from tests.security.owner_tab import OwnerTab

PASSWORD = "a long enough password"
EMAIL = "casey.q11@example.com"
PHONE_DIGITS = "3178462200"
STREET = "742 evergreen terrace"
# What must never reach the owner before accepting, as it appears in text; the phone also as bare digits.
SECRETS = (EMAIL, "casey.q11", "846-2200", "846 2200", "(317) 846", STREET, "evergreen")


@dataclass
class World:
    owner_id: int
    business_id: int
    lead_id: int
    match_id: int


def _business(s: Session) -> tuple[int, int]:
    owner = accounts.register(s, "owner-q11@example.com", PASSWORD, "business_owner")
    business = factories.business(
        s,
        owner,
        "Carmel Plumbing Q11",
        latitude=39.97,
        longitude=-86.12,
        radius_miles=30,
        rating=4.8,
        review_count=10,
        notify_email="owner-q11@example.com",
        notify_phone="(317) 555-0100",
        notify_channels=["email", "sms"],
    )
    s.commit()
    return owner.id, business.id  # type: ignore[return-value]


def _interview_lead(s: Session) -> int:
    """A consumer's guided interview, answered the way people answer: contact and address in their words."""
    token, turn = factories.answered_interview(
        s,
        (
            "Water is dripping from the ceiling under the upstairs bathroom",
            "It comes from the toilet supply line, still dripping, water off now",
            "It's 46032",
            "Today if possible, it's urgent",
            "Around $300",
            f"Weekdays after 4pm, the house is {STREET.title()}",
            f"email or phone: {EMAIL} or (317) 846-2200",
        ),
    )
    assert turn.complete
    s.commit()
    return interview.submit(s, token, None, "198.51.100.7", consent=True).lead_id


def _form_lead(s: Session) -> int:
    accepted = intake.submit(
        s,
        intake.Submission(
            text="My water heater is leaking all over the garage floor, need a plumber today, budget around $500. "
            f"Call me at 317.846.2200 or write to {EMAIL}; I'm at {STREET.title()}, Carmel 46032.",
            zip="46032",
            email=EMAIL,
            phone="(317) 846-2200",
            consent_ai_calls=True,
            phone_verified_hash=crypto.phone_hash("+13178462200"),
            client_ip="198.51.100.8",
        ),
    )
    s.commit()
    return accepted.lead_id


@pytest.fixture(params=["interview", "form"])
def world(request: pytest.FixtureRequest, db_session: Session, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setattr("leadapp.core.services.notify.send_batch", lambda ids: {})  # rows are what we read
    owner_id, business_id = _business(db_session)
    lead_id = _interview_lead(db_session) if request.param == "interview" else _form_lead(db_session)
    assert process_lead(lead_id) == "matched"
    db_session.expire_all()
    match = db_session.exec(select(Match).where(Match.lead_id == lead_id, Match.business_id == business_id)).one()
    return World(owner_id, business_id, lead_id, match.id)  # type: ignore[arg-type]


def _leaks(text: str, digits: str) -> list[str]:
    found = [secret for secret in SECRETS if secret in text.lower()]
    return found + ([PHONE_DIGITS] if PHONE_DIGITS in digits else [])


def test_the_owners_browser_state_holds_no_contact_detail_before_accepting(world: World) -> None:
    tab = OwnerTab(world.owner_id)
    tab.run("load")
    assert tab.state.total == 1  # the lead is in the inbox...
    tab.run("open_detail", str(world.match_id))
    assert tab.state.detail.get("match_id") == str(world.match_id)  # ...and its detail is open
    assert "leak" in tab.state.detail["text"].lower() or "drip" in tab.state.detail["text"].lower()
    assert _leaks(tab.browser_text(), tab.browser_digits()) == []

    tab.run("accept")  # once accepted, the business may reach the consumer
    assert tab.state.detail["status"] == "accepted"
    assert EMAIL in tab.browser_text() and PHONE_DIGITS in tab.browser_digits()


@pytest.mark.parametrize("probe", ["846", "2200", "Evergreen", "casey", "example.com"])
def test_the_inbox_search_is_no_oracle_for_contact_details(world: World, probe: str) -> None:
    tab = OwnerTab(world.owner_id)
    tab.run("apply_filters", {"status": "all", "urgency": "all", "category": "all", "search": probe})
    assert tab.state.total == 0, f"searching {probe!r} finds the lead: its contact details are searchable"
    tab.run("apply_filters", {"status": "all", "urgency": "all", "category": "all", "search": "46032"})
    assert tab.state.total == 1  # the search itself works


def test_the_new_lead_email_and_sms_hold_no_contact_detail(world: World, db_session: Session) -> None:
    rows = db_session.exec(
        select(Notification).where(
            Notification.business_id == world.business_id,
            col(Notification.kind) == NotificationKind.BUSINESS_NEW_LEAD.value,
        )
    ).all()
    assert {row.channel for row in rows} == {"email", "sms"}
    for row in rows:
        text = " ".join([row.subject, row.body_text, row.body_html])
        assert _leaks(text, "".join(ch for ch in text if ch.isdigit())) == [], row.channel


def test_the_voice_agents_instructions_hold_no_contact_detail(world: World, db_session: Session) -> None:
    from voice_bridge.instructions import outbound_instructions

    lead, business = db_session.get(Lead, world.lead_id), db_session.get(Business, world.business_id)
    assert lead is not None and business is not None
    text = outbound_instructions(business, lead, "Qualify the job", "qualify_lead")
    assert _leaks(text, "".join(ch for ch in text if ch.isdigit())) == []


def test_the_interview_keeps_contact_answers_out_of_the_request_text(db_session: Session) -> None:
    lead = db_session.get(Lead, _interview_lead(db_session))
    assert lead is not None
    assert lead.contact_email == EMAIL and lead.contact_phone_last4 == "2200"  # kept where they belong
    assert "toilet supply line" in lead.raw_text and "Weekdays after 4pm" in lead.raw_text
    assert "email or phone" not in lead.raw_text.lower() and "casey" not in lead.raw_text
    assert PHONE_DIGITS not in "".join(ch for ch in lead.raw_text if ch.isdigit())
    # The street stays in the request (the business that accepts needs it) and out of what the others see.
    assert STREET in lead.raw_text.lower() and "evergreen" not in lead.redacted_text.lower()
