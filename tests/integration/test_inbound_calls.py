"""A call to a business's own number, from connecting the number to releasing the lead, all on loopback.

The number is connected through the real `twilio` SDK against the fake IncomingPhoneNumbers API; the fake then
plays Twilio receiving a call on it: the signed voice webhook to the url the app configured, the media stream
the bridge's TwiML asks for (the real bridge under uvicorn, the real `openai` SDK against the fake Realtime
server), and the final status callback. The lead the call becomes is run through the pipeline as the worker
runs it: it is the called business's alone, "called you", notified to it at once, until it releases it.
"""

from __future__ import annotations

import asyncio
import itertools
from xml.etree import ElementTree

import pytest
from sqlmodel import Session, select

from leadapp.core.db import get_engine, session_scope
from leadapp.core.errors import UserError
from leadapp.core.models import Call, Match, Notification, User
from leadapp.core.services import inbound, inbox, match
from leadapp.core.services.pipeline import process_lead
from tests import factories
from tests.fakes.twilio_media import FakeTwilioMedia
from tests.fakes.twilio_numbers import FakeTwilioNumbers, fake_twilio_numbers  # noqa: F401
from tests.integration.bridge_harness import (
    AUTH_TOKEN,
    PUBLIC_BASE,
    WAIT,
    Bridge,
    ended,
    listen,
    load_lead,
    receptionist_script,
    transcript,
)
from tests.integration.programs import clear_settings_caches
from voice_bridge.simulated import Script

NUMBER = "+13178462555"
CALLER = "+13178462200"
_serial = itertools.count(1)


def business(session: Session, name: str, categories: list[str], **fields: object) -> tuple[int, int]:
    """A free-plan business in Carmel (46032) with its owner: (owner id, business id)."""
    owner = factories.user(session, "business_owner", f"owner{next(_serial)}@example.com")
    where = {"city": "Carmel", "state": "IN", "latitude": 39.9712, "longitude": -86.1245}
    notify = f"leads{next(_serial)}@example.com"
    row = factories.business(
        session, owner, name, plan="free", categories=categories, notify_email=notify, **where, **fields
    )
    return owner.id, row.id  # type: ignore[return-value]


def caller_script() -> Script:
    said = (
        "Hi, this is Bob Stone. My kitchen sink is clogged and leaking under the cabinet, water everywhere. "
        "I'm at 14 Oak Street, 46032. Could a plumber come on Friday? My budget is about 300 dollars."
    )
    greeting = "Thank you for calling X Plumbing, an AI assistant here. This call is recorded."
    return receptionist_script(greeting, said, budget="about $300")


@pytest.fixture
def twilio(
    database: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Bridge, FakeTwilioNumbers]:
    """The bridge, and the app with a Twilio account whose REST API is the fake (its webhooks go to the bridge)."""
    the_bridge: Bridge = request.getfixturevalue("bridge")
    fake: FakeTwilioNumbers = request.getfixturevalue("fake_twilio_numbers")
    fake.auth_token = AUTH_TOKEN  # the account's token signs the webhooks the bridge checks
    fake.deliver_to, fake.public_base = the_bridge.http_url, PUBLIC_BASE
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", fake.account_sid)
    monkeypatch.setenv("TWILIO_FROM_NUMBER", fake.from_number)
    monkeypatch.setenv("TWILIO_API_BASE", fake.url)
    # Nothing is sent in this module: the notification rows are what is checked.
    monkeypatch.setattr("leadapp.core.services.notify.send_batch", lambda ids: {})
    clear_settings_caches()
    return the_bridge, fake


def _setup(twilio: FakeTwilioNumbers) -> dict[str, int]:
    with session_scope() as s:
        owner_x, x = business(s, "X Plumbing", ["plumbing"], rating=3.2, review_count=4)
        owner_y, y = business(s, "Y Drains", ["plumbing"], rating=4.9, review_count=200, licensed=True)
        _, z = business(s, "Z Electric", ["electrical"], rating=4.9, review_count=200)
    sid = twilio.add(NUMBER)
    with session_scope() as s:
        inbound.connect_twilio_number(s, s.get(User, owner_x), x, sid)
    return {"owner_x": owner_x, "x": x, "owner_y": owner_y, "y": y, "z": z}


def _matches(lead_id: int) -> dict[int, Match]:
    with Session(get_engine(), expire_on_commit=False) as s:
        return {m.business_id: m for m in s.exec(select(Match).where(Match.lead_id == lead_id)).all()}


def _business_notifications(lead_id: int) -> set[int]:
    with Session(get_engine()) as s:
        rows = s.exec(select(Notification).where(Notification.lead_id == lead_id)).all()
        return {n.business_id for n in rows if n.kind == "business_new_lead"}


@pytest.mark.parametrize("database", ["sqlite", "postgres"], indirect=True)
async def test_a_call_to_a_business_number_is_its_own_lead_until_it_releases_it(
    twilio: tuple[Bridge, FakeTwilioNumbers], request: pytest.FixtureRequest
) -> None:
    the_bridge, fake = twilio
    published_since = request.getfixturevalue("live_events")
    ids = await asyncio.to_thread(_setup, fake)
    the_bridge.fake.use(caller_script())

    # Twilio receives the call and asks the number's voice url (which the app pointed at the bridge).
    ringing = await asyncio.to_thread(fake.ring, NUMBER, CALLER)
    assert ringing.answer.status_code == 200, ringing.answer.text
    stream = ElementTree.fromstring(ringing.answer.text).find("./Connect/Stream")
    assert stream is not None
    parameters = {p.get("name") or "": p.get("value") or "" for p in stream.findall("Parameter")}
    media = FakeTwilioMedia.signed(
        the_bridge.media_url,
        public_wss_url=str(stream.get("url")),
        auth_token=AUTH_TOKEN,
        call_id=None,
        call_sid=ringing.sid,
    )
    the_bridge.lines[ringing.sid] = media
    await media.connect()
    await media.start(parameters)
    await listen(media)
    media.say(2500)
    await asyncio.wait_for(media.closed.wait(), WAIT)
    call = await ended(int(parameters["call_id"]))
    assert (call.business_id, call.direction, call.outcome) == (ids["x"], "inbound", "goal_achieved")
    lead = load_lead(call.lead_id)
    assert (lead.business_id, lead.source, lead.released_at) == (ids["x"], "phone", None)

    # The pipeline, as the worker runs it: X alone, at once.
    assert await asyncio.to_thread(process_lead, lead.id) == "matched"
    matches = _matches(lead.id)
    assert set(matches) == {ids["x"]}  # Y is nearer the top of any ranking, and still gets nothing
    own = matches[ids["x"]]
    assert own.reasons[0] == match.CALLED_YOU and own.points
    assert sum(p["points"] for p in own.points) == pytest.approx(own.score, abs=0.05)
    assert _business_notifications(lead.id) == {ids["x"]}
    published = [e for e in published_since() if e["kind"] == "match"]
    assert {e["business_id"] for e in published} == {ids["x"]}

    def x_sees() -> tuple[list[dict[str, str]], dict]:
        with session_scope() as s:
            owner = s.get(User, ids["owner_x"])
            rows, _ = inbox.inbox(s, owner, ids["x"], inbox.InboxFilters())
            return rows, inbox.lead_detail(s, owner, own.id)

    rows, detail = await asyncio.to_thread(x_sees)
    assert [(r["lead_id"], r["called_you"]) for r in rows] == [(str(lead.id), "yes")]
    assert detail["can_release"] is True and detail["released_at"] == ""

    # Twilio's final status callback for the number records the carrier minutes.
    done = await asyncio.to_thread(fake.hang_up, ringing, 95)
    assert done.status_code == 204
    with Session(get_engine()) as s:
        stored = s.get(Call, call.id)
        assert (stored.duration_seconds, stored.cost_carrier_cents) == (95, pytest.approx(1.7))
        assert stored.status == "completed" and stored.outcome == "goal_achieved"  # the conversation's outcome kept

    # Y cannot release X's lead; X releases it, and the marketplace gets it too (X keeps it).
    def release(owner_key: str) -> None:
        with session_scope() as s:
            inbound.release_lead(s, s.get(User, ids[owner_key]), own.id)

    with pytest.raises(UserError):
        await asyncio.to_thread(release, "owner_y")
    await asyncio.to_thread(release, "owner_x")
    with pytest.raises(UserError, match="already released"):
        await asyncio.to_thread(release, "owner_x")
    assert await asyncio.to_thread(process_lead, lead.id) == "matched"
    matches = _matches(lead.id)
    assert set(matches) == {ids["x"], ids["y"]}  # Z offers electrical work only
    assert matches[ids["x"]].id == own.id and matches[ids["y"]].reasons[0] != match.CALLED_YOU
    assert _business_notifications(lead.id) == {ids["x"], ids["y"]}
    rows, detail = await asyncio.to_thread(x_sees)
    assert [r["lead_id"] for r in rows] == [str(lead.id)]
    assert detail["released_at"] != "" and detail["can_release"] is False
    assert load_lead(lead.id).released_at is not None
    assert [line.speaker for line in transcript(call.id)] == ["assistant", "caller", "assistant"]
