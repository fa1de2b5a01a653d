"""The consumer's "No AI calls" switch, on SQLite and PostgreSQL: it withdraws (and gives back) consent to AI calls
for the numbers of the consumer's own requests only, records the time, channel and wording, cancels calls not
dialled yet, and cannot take off an entry the person made through another channel or an admin made."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from leadapp.core import crypto, links
from leadapp.core.errors import NotAllowed, UserError
from leadapp.core.models import AuditEvent, Call, DoNotCall
from leadapp.core.services import admin_ops, calls, optouts, portal
from leadapp.core.services.access import NotLoggedIn
from tests import factories
from tests.unit.test_portal_actions import PHONE, World, world  # noqa: F401

OTHER_PHONE = "+13178462299"


def entries(s: Session) -> dict[str, DoNotCall]:
    s.expire_all()
    return {e.phone_hash: e for e in s.exec(select(DoNotCall)).all()}


def test_the_switch_lists_every_number_of_my_requests_with_when_how_and_the_words(
    db_session: Session,
    world: World,  # noqa: F811
) -> None:
    s = db_session
    first = factories.lead(s, world.consumer)
    factories.lead(s, world.consumer, phone=OTHER_PHONE)
    factories.match(s, first, world.business)
    waiting = calls.new_outbound_call(
        s, first, business_id=None, requested_by_id=world.consumer.id, call_type="consumer_callback", objective=""
    )
    s.commit()
    assert not optouts.ai_calls_switch(s, world.consumer).on

    state = optouts.set_no_ai_calls(s, world.consumer, True)
    s.commit()

    assert state.on and {n.display for n in state.numbers} == {"+1•••••••2200", "+1•••••••2299"}
    listed = entries(s)
    assert set(listed) == {crypto.phone_hash(PHONE), crypto.phone_hash(OTHER_PHONE)}
    for entry in listed.values():
        assert (entry.source, entry.wording, entry.created_by_id) == (
            "portal",
            optouts.PORTAL_WORDING,
            world.consumer.id,
        )
        assert entry.created_at is not None and entry.lead_id is not None
    assert s.get(Call, waiting.id).status == "canceled"  # type: ignore[union-attr]
    assert portal.consumer_leads(s, world.consumer)[0]["callback_reason"] == (
        "You asked not to receive AI calls on this number."
    )
    with pytest.raises(UserError, match="do-not-call"):  # a business's request for an AI call is refused too
        match = factories.match(s, factories.lead(s, None, phone=PHONE), world.other_business, status="accepted")
        calls.request_call(s, world.other_owner, match.id)
    s.rollback()
    actions = s.exec(select(AuditEvent.action).where(AuditEvent.actor_id == world.consumer.id)).all()
    assert actions.count("consent.withdraw") == 2

    # The admin's do-not-call page shows where each entry came from.
    page = admin_ops.list_dnc(s, world.admin)
    assert {(r["source_label"], r["wording"]) for r in page.rows} == {
        ("Consumer portal switch", optouts.PORTAL_WORDING)
    }

    # Turning it off gives AI calls back (consent is the one recorded with each request).
    state = optouts.set_no_ai_calls(s, world.consumer, False)
    s.commit()
    assert not state.on and entries(s) == {}
    assert portal.consumer_leads(s, world.consumer)[0]["callback_reason"] == ""
    assert "consent.restore" in s.exec(select(AuditEvent.action)).all()


def test_the_switch_cannot_lift_what_was_asked_by_call_text_or_an_admin(
    db_session: Session,
    world: World,  # noqa: F811
) -> None:
    s = db_session
    factories.lead(s, world.consumer)
    factories.lead(s, world.consumer, phone=OTHER_PHONE)
    optouts.record_sms_opt_out(s, PHONE, "STOP CALLS")
    s.commit()
    state = optouts.ai_calls_switch(s, world.consumer)
    assert not state.on and [(n.display, n.label) for n in state.locked] == [("+1•••••••2200", "Text reply")]

    optouts.set_no_ai_calls(s, world.consumer, True)
    s.commit()
    state = optouts.set_no_ai_calls(s, world.consumer, False)
    s.commit()
    assert state.on is False
    assert set(entries(s)) == {crypto.phone_hash(PHONE)}  # the text reply's entry stays
    assert entries(s)[crypto.phone_hash(PHONE)].source == "sms"


def test_the_switch_acts_on_my_own_numbers_only(
    db_session: Session,
    world: World,  # noqa: F811
) -> None:
    s = db_session
    factories.lead(s, world.other_consumer, phone=OTHER_PHONE)
    factories.lead(s, world.consumer)
    s.commit()
    optouts.set_no_ai_calls(s, world.consumer, True)
    s.commit()
    assert set(entries(s)) == {crypto.phone_hash(PHONE)}

    # Someone else's switch cannot remove my entry even when we share a number.
    factories.lead(s, world.other_consumer, phone=PHONE)
    s.commit()
    optouts.set_no_ai_calls(s, world.other_consumer, False)
    s.commit()
    assert set(entries(s)) == {crypto.phone_hash(PHONE)}


def test_the_switch_is_for_consumers_with_a_number(
    db_session: Session,
    world: World,  # noqa: F811
) -> None:
    s = db_session
    with pytest.raises(UserError, match="no AI calls to stop"):
        optouts.set_no_ai_calls(s, world.consumer, True)
    with pytest.raises(NotAllowed):
        optouts.set_no_ai_calls(s, world.owner, True)
    with pytest.raises(NotLoggedIn):
        optouts.set_no_ai_calls(s, None, True)
    assert entries(s) == {}


def test_the_tracking_link_turns_ai_calls_off_for_its_own_request_and_back_on(
    db_session: Session,
    world: World,  # noqa: F811
) -> None:
    """Someone who made a request without an account withdraws AI-call consent with the link alone."""
    s = db_session
    lead = factories.lead(s, None)
    other = factories.lead(s, None, phone=OTHER_PHONE)
    s.commit()
    grant = portal.MagicGrant(links.magic_token(lead.id))  # type: ignore[arg-type]
    assert portal.ai_calls_by_link(s, grant, lead.id) == optouts.LinkSwitch(has_number=True, on=False)  # type: ignore[arg-type]

    state = portal.set_no_ai_calls_by_link(s, grant, lead.id, True)  # type: ignore[arg-type]
    s.commit()
    assert state == optouts.LinkSwitch(has_number=True, on=True, removable=True)
    [entry] = entries(s).values()
    assert (entry.phone_hash, entry.source, entry.wording, entry.lead_id, entry.created_by_id) == (
        crypto.phone_hash(PHONE),
        "portal",
        optouts.LINK_WORDING,
        lead.id,
        None,
    )
    assert portal.request_view(s, grant, lead.id)["callback_reason"] == (  # type: ignore[arg-type]
        "You asked not to receive AI calls on this number."
    )
    # The link speaks for its own request only.
    with pytest.raises(NotAllowed):
        portal.set_no_ai_calls_by_link(s, grant, other.id, True)  # type: ignore[arg-type]
    with pytest.raises(NotAllowed):
        portal.set_no_ai_calls_by_link(s, portal.MagicGrant(grant.token[:-2] + "xx"), lead.id, True)  # type: ignore[arg-type]

    state = portal.set_no_ai_calls_by_link(s, grant, lead.id, False)  # type: ignore[arg-type]
    s.commit()
    assert state == optouts.LinkSwitch(has_number=True, on=False) and entries(s) == {}
    assert portal.request_view(s, grant, lead.id)["callback_reason"] == ""  # type: ignore[arg-type]


def test_the_tracking_link_cannot_lift_what_was_asked_another_way(
    db_session: Session,
    world: World,  # noqa: F811
) -> None:
    s = db_session
    lead = factories.lead(s, None)
    optouts.record_sms_opt_out(s, PHONE, "STOP CALLS")
    s.commit()
    grant = portal.MagicGrant(links.magic_token(lead.id))  # type: ignore[arg-type]
    assert portal.ai_calls_by_link(s, grant, lead.id) == optouts.LinkSwitch(has_number=True, on=True)  # type: ignore[arg-type]
    with pytest.raises(UserError, match="Text reply"):
        portal.set_no_ai_calls_by_link(s, grant, lead.id, False)  # type: ignore[arg-type]
    assert entries(s)[crypto.phone_hash(PHONE)].source == "sms"

    # A request without a number has nothing to switch.
    bare = factories.lead(s, None, contact_phone_enc="", contact_phone_hash="", contact_phone_last4="")
    s.commit()
    bare_grant = portal.MagicGrant(links.magic_token(bare.id))  # type: ignore[arg-type]
    assert portal.ai_calls_by_link(s, bare_grant, bare.id) == optouts.LinkSwitch(has_number=False, on=False)  # type: ignore[arg-type]
    with pytest.raises(UserError, match="no AI calls to stop"):
        portal.set_no_ai_calls_by_link(s, bare_grant, bare.id, True)  # type: ignore[arg-type]
