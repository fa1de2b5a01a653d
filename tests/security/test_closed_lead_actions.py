"""Attack: accept (or decline, convert, call about, quote) a request its consumer withdrew or deleted, or an admin
rejected (issue 11, item 4).

The business owner's tab still had the lead open when the request closed (or the owner sends the match id
from an old page). Every action handler is called with that match: each must be refused with exactly the
refusal a foreign lead gets, change nothing (the match stays expired, the lead closed, no `match.accept`
audit, no call row), and the tab must not receive the consumer's contact details. The closed request is
gone from the inbox; one the business had accepted before it closed stays, read-only and without contact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pytest
from sqlmodel import Session, col, select

from leadapp.core.models import AuditEvent, Call, Lead, Match, Quote
from leadapp.core.services import inbox, moderation, portal
from leadapp.core.vocab import MatchStatus
from tests import factories
from tests.security.owner_tab import OwnerTab

EMAIL = "closed-q11@example.com"
PHONE = factories.PHONE


@dataclass
class World(factories.Rivals):
    lead_id: int
    match_id: int
    foreign_match_id: int


@pytest.fixture
def world(db_session: Session) -> World:
    """A consumer's request matched (notified) to the owner's business; another business's lead as the control."""
    s = db_session
    cast = factories.rivals(s)
    lead = factories.lead(s, cast.consumer, contact_name="Casey Closed", contact_email=EMAIL)
    foreign = factories.lead(
        s, None, raw_text="The kitchen sink drain is blocked and the water backs up into the dishwasher"
    )
    match, foreign_match = factories.match(s, lead, cast.business), factories.match(s, foreign, cast.other_business)
    s.commit()
    return World(**vars(cast), lead_id=lead.id, match_id=match.id, foreign_match_id=foreign_match.id)  # type: ignore[arg-type]


CLOSE: dict[str, Callable[[Session, World], None]] = {
    "withdrawn": lambda s, w: portal.withdraw_request(s, w.consumer, w.lead_id),
    "rejected": lambda s, w: moderation.reject(s, w.admin, w.lead_id, "spam seen before"),
    "deleted": lambda s, w: portal.delete_my_data(s, w.consumer),
}

# The owner's tab: (handler, arguments); the match id comes from the detail the tab had open.
ATTACKS: dict[str, tuple] = {
    "accept": (),
    "decline": ({"message": "busy"},),
    "convert": ({"job_value": "450"},),
    "request_call": ({"objective": "confirm the leak"},),
    "mark_callback_handled": (),
    "send_quote": ({"amount_min": "400", "included": "Parts and labour", "valid_until": date.today().isoformat()},),
}


def _close(s: Session, w: World, how: str) -> None:
    CLOSE[how](s, w)
    s.commit()
    s.expire_all()


def _stale_tab(w: World, match_id: int) -> OwnerTab:
    """The owner's tab with the lead's detail open, as it was before the request closed."""
    tab = OwnerTab(w.owner.id)  # type: ignore[arg-type]
    tab.state.detail = {"match_id": str(match_id)}
    return tab


def _refusal(w: World, handler: str, args: tuple, match_id: int) -> str:
    tab = _stale_tab(w, match_id)
    tab.run(handler, *args)
    assert EMAIL not in tab.browser_text() and PHONE[2:] not in tab.browser_digits()
    return tab.state.error


@pytest.mark.parametrize("how", CLOSE)
@pytest.mark.parametrize("handler", ATTACKS)
def test_a_closed_request_cannot_be_acted_on(db_session: Session, world: World, how: str, handler: str) -> None:
    s = db_session
    _close(s, world, how)
    expected = _refusal(world, handler, ATTACKS[handler], world.foreign_match_id)
    assert expected == inbox.NOT_YOUR_LEAD

    assert _refusal(world, handler, ATTACKS[handler], world.match_id) == expected  # the same refusal, word for word
    s.expire_all()
    match, lead = s.get(Match, world.match_id), s.get(Lead, world.lead_id)
    assert match is not None and lead is not None
    assert match.status == MatchStatus.EXPIRED.value and lead.status == how
    assert match.responded_at is None
    assert not s.exec(select(AuditEvent).where(col(AuditEvent.action).in_(["match.accept", "match.decline"]))).all()
    assert not s.exec(select(Call).where(Call.lead_id == world.lead_id)).all()
    assert not s.exec(select(Quote).where(Quote.lead_id == world.lead_id)).all()


@pytest.mark.parametrize("how", CLOSE)
def test_a_closed_request_leaves_the_inbox_and_its_detail_is_refused(
    db_session: Session, world: World, how: str
) -> None:
    tab = OwnerTab(world.owner.id)  # type: ignore[arg-type]
    tab.run("load")
    tab.run("open_detail", str(world.match_id))
    assert tab.state.total == 1 and tab.state.detail["match_id"] == str(world.match_id)  # open: in the inbox
    _close(db_session, world, how)
    tab.state.refresh_from_event()  # what the live update does
    assert tab.state.total == 0 and tab.state.rows == []
    assert tab.state.detail == {} and tab.state.gone  # the open detail closed itself, saying why
    tab.run("open_detail", str(world.match_id))
    assert tab.state.error == inbox.NOT_YOUR_LEAD and "match_id" not in tab.state.detail
    assert EMAIL not in tab.browser_text()


def test_accepted_then_withdrawn_stays_read_only_without_contact(db_session: Session, world: World) -> None:
    s = db_session
    tab = OwnerTab(world.owner.id)  # type: ignore[arg-type]
    tab.run("open_detail", str(world.match_id))
    tab.run("accept")
    assert tab.state.detail["status"] == "accepted" and EMAIL in tab.browser_text()
    _close(s, world, "withdrawn")

    tab.state.refresh_from_event()  # the live update of the open lead
    assert [r["closed"] for r in tab.state.rows] == ["withdrawn"]
    assert tab.state.detail["closed_reason"] and tab.state.detail["call_allowed"] == ""
    assert EMAIL not in tab.browser_text() and PHONE[2:] not in tab.browser_digits()
    for handler in ("decline", "convert", "request_call"):
        assert _refusal(world, handler, ATTACKS[handler], world.match_id) == inbox.NOT_YOUR_LEAD, handler
    s.expire_all()
    match = s.get(Match, world.match_id)
    assert match is not None and match.status == MatchStatus.ACCEPTED.value
    assert not s.exec(select(Call).where(Call.lead_id == world.lead_id)).all()
