"""The owner's hint ("whisper") for a call in progress: web → Redis → the bridge's session → the realtime model.

Through the real bridge app and the fakes (`bridge_harness`): the hint the owner sends with `calls.send_hint`
(what the lead page's form calls) reaches the fake OpenAI Realtime as a `conversation.item.create` system
message, validated against the SDK's types, and is stored in the transcript as a "hint" line. The refusals are
written as attacks: another business's owner, the consumer, an anonymous visitor, a call not in progress, a hint
too long or empty; none of them queues anything.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest
from sqlmodel import col, select, update

from leadapp.core.db import session_scope
from leadapp.core.errors import FieldErrors, NotAllowed, NotFound, UserError
from leadapp.core.models import AuditEvent, Business, Call, Lead, User
from leadapp.core.services import access, calls
from leadapp.core.vocab import Speaker
from tests.integration.bridge_harness import (
    GREETING,
    WAIT,
    Bridge,
    ended,
    eventually,
    listen,
    seed,
    transcript,
)
from voice_bridge.simulated import Reply, Script, Turn

HINT = "Offer Thursday 9 am"


def _user(role: str, email: str | None = None) -> int:
    with session_scope() as session:
        user = User(email=email or f"{role}-{secrets.token_hex(3)}@example.com", password_hash="x", role=role)
        session.add(user)
        session.flush()
        return int(user.id)  # type: ignore[arg-type]


def _owner_of(business_id: int) -> int:
    with session_scope() as session:
        business = session.get(Business, business_id)
        assert business is not None
        return int(business.owner_id)  # type: ignore[arg-type]


def _send(user_id: int | None, call_id: int, text: str) -> str:
    with session_scope() as session:
        user = session.get(User, user_id) if user_id is not None else None
        access.enter(session, user)
        return calls.send_hint(session, user, call_id, text)


def _system_items(peer: Any) -> list[dict[str, Any]]:
    return [
        event["item"]
        for _at, event in peer.received("conversation.item.create")
        if event.get("item", {}).get("role") == "system"
    ]


async def test_the_owners_hint_reaches_the_running_session_as_a_system_message_and_the_transcript(
    bridge: Bridge,
) -> None:
    seeded = seed(status="in_progress")
    bridge.fake.use(
        Script(
            greeting=Reply(GREETING, audio_ms=600),
            turns=[Turn("When could you come?", Reply("We could come Thursday at nine in the morning.", audio_ms=600))],
        )
    )
    media = await bridge.dial(seeded.call_id, seeded.call_sid)
    await listen(media)
    peer = await bridge.fake.wait_for_session()

    sent = await asyncio.to_thread(_send, _owner_of(seeded.business_id), seeded.call_id, f"  {HINT}\n ")
    assert sent == HINT

    await eventually(lambda: _system_items(peer), "the hint at the realtime session")
    assert _system_items(peer) == [
        {"type": "message", "role": "system", "content": [{"type": "input_text", "text": HINT}]}
    ]
    await eventually(
        lambda: [(line.speaker, line.text) for line in transcript(seeded.call_id) if line.speaker == Speaker.HINT],
        "the hint's transcript line",
    )
    assert calls.take_signals(seeded.call_id)[0] == []  # taken once, not again

    media.say(600)  # the call goes on after the hint
    await listen(media)
    await media.hang_up()
    await asyncio.wait_for(media.closed.wait(), WAIT)
    await ended(seeded.call_id)
    lines = [(line.speaker, line.text) for line in transcript(seeded.call_id)]
    assert (Speaker.HINT.value, HINT) in lines
    assert lines.index((Speaker.HINT.value, HINT)) < len(lines) - 1  # in its place, before what followed
    assert bridge.fake.problems == [] and bridge.fake.invalid_events == []
    with session_scope() as session:
        audited = session.exec(select(AuditEvent).where(col(AuditEvent.action) == "call.hint")).all()
    assert len(audited) == 1


@pytest.mark.parametrize("database", ["sqlite", "postgres"], indirect=True)
async def test_a_hint_is_refused_to_anyone_but_the_owner_and_admins_and_nothing_is_queued(
    database: str, redis_env: Any
) -> None:
    seeded = seed(status="in_progress")
    other = seed(status="in_progress", inbound_number=None)  # another business, its own owner
    with session_scope() as session:
        lead = session.get(Lead, seeded.lead_id)
        consumer = User(email=f"jane-{secrets.token_hex(3)}@example.com", password_hash="x", role="consumer")
        session.add(consumer)
        session.flush()
        assert lead is not None
        lead.consumer_id = consumer.id
        session.add(lead)
        consumer_id = int(consumer.id)  # type: ignore[arg-type]

    attacks: list[tuple[str, int | None, type[Exception]]] = [
        ("another business's owner", _owner_of(other.business_id), NotAllowed),
        ("the lead's consumer", consumer_id, NotAllowed),
        ("an anonymous visitor", None, access.NotLoggedIn),
    ]
    for who, user_id, refusal in attacks:
        with pytest.raises(refusal):
            await asyncio.to_thread(_send, user_id, seeded.call_id, HINT)
        assert calls.take_signals(seeded.call_id)[0] == [], who
    assert calls.calls_with_signals([seeded.call_id]) == set()  # nothing listed for the bridge to take

    owner = _owner_of(seeded.business_id)
    for bad in ("", "   ", "x" * (calls.MAX_HINT_CHARS + 1)):
        with pytest.raises(FieldErrors) as refused:
            _send(owner, seeded.call_id, bad)
        assert refused.value.field == "hint"
    assert len(_send(owner, seeded.call_id, "y" * calls.MAX_HINT_CHARS)) == calls.MAX_HINT_CHARS
    admin = _user("admin")
    assert _send(admin, seeded.call_id, "Mention the 10% discount") == "Mention the 10% discount"
    # The bridge asks once for all its calls which have something waiting, then takes only theirs.
    assert calls.calls_with_signals([other.call_id, seeded.call_id, 10**9]) == {seeded.call_id}
    assert calls.take_signals(seeded.call_id)[0] == ["y" * calls.MAX_HINT_CHARS, "Mention the 10% discount"]
    assert calls.calls_with_signals([seeded.call_id]) == set()  # taken: no longer listed
    with pytest.raises(NotAllowed):  # an id that does not exist tells an owner nothing
        _send(owner, 10**9, HINT)
    with pytest.raises(NotFound):
        _send(admin, 10**9, HINT)

    with session_scope() as session:
        session.execute(update(Call).where(col(Call.id) == seeded.call_id).values(status="completed"))
    with pytest.raises(UserError, match="not in progress"):
        _send(owner, seeded.call_id, HINT)
    assert calls.take_signals(seeded.call_id)[0] == []
