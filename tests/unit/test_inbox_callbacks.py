"""The human-callback request of an AI call in the owner's inbox (`services.inbox`), on SQLite and PostgreSQL:
a badge on the row and the detail while it is pending, cleared by "mark handled" (once, audited), only by the
business's owner or an admin; and the request text a business sees before and after accepting."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from sqlmodel import Session, select

from leadapp.core.errors import NotAllowed
from leadapp.core.models import AuditEvent, Business, Call, Lead, Match, utcnow
from leadapp.core.redaction import ADDRESS, EMAIL, PHONE
from leadapp.core.services import inbox
from tests import factories

TEXT = (
    "Water heater leaking in the garage, need someone today. Call 317-846-2200 or mail casey@example.com; "
    "the house is 742 Evergreen Terrace, Carmel 46032."
)


@dataclass
class World(factories.Rivals):
    lead: Lead
    match: Match


@pytest.fixture
def world(db_session: Session) -> World:
    """Casey's request (no account, no call consent; its text and requirement give a phone, an email and an
    address) matched (notified) to the owner's Carmel Plumbing; Quick Drains is the other owner's."""
    s = db_session
    cast = factories.rivals(s)
    requirements = ["call 317 846 2200 first"]
    lead = factories.lead(s, consent=False, raw_text=TEXT, key_requirements=requirements, contact_name="Casey")
    match = factories.match(s, lead, cast.business)
    s.commit()
    return World(**vars(cast), lead=lead, match=match)


def _call(s: Session, w: World, *, human: bool, by: Business | None = None) -> Call:
    call = factories.call(
        s,
        w.lead,
        by or w.business,
        "completed",
        outcome="goal_achieved",
        human_callback_requested=human,
        ended_at=utcnow(),
    )
    s.commit()
    return call


def _row(s: Session, w: World) -> dict[str, str]:
    rows, _ = inbox.inbox(s, w.owner, w.business.id, inbox.InboxFilters())
    return rows[0]


def test_the_business_sees_the_redacted_text_until_it_accepts(db_session: Session, world: World) -> None:
    s = db_session
    assert world.lead.redacted_text == (
        f"Water heater leaking in the garage, need someone today. Call {PHONE} or mail {EMAIL}; "
        f"the house is {ADDRESS}, Carmel 46032."
    )
    detail = inbox.lead_detail(s, world.owner, world.match.id)
    assert detail["text"] == world.lead.redacted_text and _row(s, world)["snippet"].startswith("Water heater")
    assert "846" not in detail["requirements"] and PHONE in detail["requirements"]
    assert (detail["contact_email"], detail["contact_phone"], detail["contact_name"]) == ("", "", "")
    inbox.respond(s, world.owner, world.match.id, accept=True)
    s.commit()
    detail = inbox.lead_detail(s, world.owner, world.match.id)
    assert detail["text"] == TEXT and detail["contact_phone"] == "+13178462200"
    _, total = inbox.inbox(s, world.owner, world.business.id, inbox.InboxFilters(search="Evergreen"))
    assert total == 1  # once accepted, the whole text is searchable


def test_the_redacted_text_follows_the_request_text(db_session: Session, world: World) -> None:
    world.lead.raw_text = "Now the furnace too: reach me at furnace.fan@example.org"
    db_session.add(world.lead)
    db_session.commit()
    db_session.expire_all()
    assert db_session.get(Lead, world.lead.id).redacted_text == f"Now the furnace too: reach me at {EMAIL}"


def test_a_human_callback_shows_until_marked_handled(db_session: Session, world: World) -> None:
    s = db_session
    _call(s, world, human=False)
    assert _row(s, world)["callback"] == ""
    first, second = _call(s, world, human=True), _call(s, world, human=True)
    assert _row(s, world)["callback"] == "yes"
    detail = inbox.lead_detail(s, world.owner, world.match.id)
    assert detail["callback"] == "yes" and re.search(r" \d{1,2}:\d{2} [A-Z]{2,5}$", detail["callback_since"])

    assert inbox.mark_callback_handled(s, world.owner, world.match.id) == 2
    s.commit()
    assert _row(s, world)["callback"] == "" and inbox.lead_detail(s, world.owner, world.match.id)["callback"] == ""
    s.expire_all()
    assert all(s.get(Call, c.id).human_callback_handled_at is not None for c in (first, second))
    events = s.exec(select(AuditEvent).where(AuditEvent.action == "call.human_callback_handled")).all()
    assert len(events) == 1 and events[0].actor_id == world.owner.id
    assert inbox.mark_callback_handled(s, world.owner, world.match.id) == 0  # twice changes nothing
    s.commit()
    assert len(s.exec(select(AuditEvent).where(AuditEvent.action == "call.human_callback_handled")).all()) == 1


def test_another_businesss_call_is_not_this_rows_badge(db_session: Session, world: World) -> None:
    s = db_session
    _call(s, world, human=True, by=world.other_business)
    assert _row(s, world)["callback"] == ""


def test_only_the_owner_or_an_admin_marks_it_handled(db_session: Session, world: World) -> None:
    s = db_session
    call = _call(s, world, human=True)
    with pytest.raises(NotAllowed) as refused:
        inbox.mark_callback_handled(s, world.other_owner, world.match.id)
    assert refused.value.message == inbox.NOT_YOUR_LEAD
    s.rollback()
    assert s.get(Call, call.id).human_callback_handled_at is None
    assert inbox.mark_callback_handled(s, world.admin, world.match.id) == 1


def test_calls_of_a_request_closed_after_accepting_hide_what_was_said_of_the_contact(
    db_session: Session, world: World
) -> None:
    from leadapp.core.models import TranscriptLine
    from leadapp.core.services import portal

    s = db_session
    consumer = world.consumer
    world.lead.consumer_id = consumer.id
    s.add(world.lead)
    inbox.respond(s, world.owner, world.match.id, accept=True)
    call = _call(s, world, human=False)
    call.summary = "Confirmed the leak at 742 Evergreen Terrace; call back on 317-846-2200."
    s.add(call)
    s.add(TranscriptLine(call_id=call.id, seq=1, speaker="caller", text="I'm at 742 Evergreen Terrace"))
    s.commit()
    seen = inbox.calls_for_match(s, world.owner, world.match.id)
    assert "Evergreen" in seen[0]["summary"] and "Evergreen" in seen[0]["transcript"][0]["text"]

    portal.withdraw_request(s, consumer, world.lead.id)
    s.commit()
    seen = inbox.calls_for_match(s, world.owner, world.match.id)
    assert seen[0]["summary"] == f"Confirmed the leak at {ADDRESS}; call back on {PHONE}."
    assert seen[0]["transcript"][0]["text"] == f"I'm at {ADDRESS}"
