"""Outbound AI calls' recordings: announced by Twilio's signed callback, streamed through the app (with Range) to
the lead's business owner, its consumer and admins only, and deleted at Twilio when the lead is purged. The fake
Twilio and the real voice bridge are `calls_world`'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import Session
from starlette.testclient import TestClient

from leadapp.core import crypto
from leadapp.core.errors import NotAllowed
from leadapp.core.models import Call, User, utcnow
from leadapp.core.providers.recordings import RecordingError
from leadapp.core.services import calls, portal
from leadapp.core.tasks import MAINTENANCE, queue
from leadapp.core.vocab import CallStatus
from tests.fakes.twilio_voice import CallSimulator, FakeTwilioVoice, fake_twilio_voice  # noqa: F401
from tests.integration.calls_world import (
    PUBLIC_BASE,
    World,
    answered,
    assert_204,
    fresh,
)

# --- recordings -----------------------------------------------------------------------------------

MEDIA = bytes(range(256)) * 40  # 10 240 bytes of "audio", every offset recognisable


def recorded_call(s: Session, world: World, simulator: CallSimulator) -> tuple[Call, str]:
    """A call that was answered and ended, and whose recording Twilio then announced (signed callback)."""
    call, sim = answered(s, world, simulator)
    assert_204([sim.completed(120)])
    sid, response = sim.recorded(MEDIA, duration=118)
    assert_204([response])
    return fresh(s, call.id), sid


@pytest.fixture
def web() -> Iterator[TestClient]:
    """The web app's API (the routes Reflex mounts), in-process."""
    from leadapp.api.app import api

    with TestClient(api) as client:
        yield client


def path_of(link: str) -> str:
    assert link.startswith("https://leads.example.test/api/v1/recordings/"), link  # on the app, not Twilio's
    return link.removeprefix("https://leads.example.test")


def test_the_recording_arrives_by_its_signed_callback(
    db_session: Session, world: World, simulator: CallSimulator, twilio: FakeTwilioVoice
) -> None:
    s = db_session
    call, sid = recorded_call(s, world, simulator)
    assert (call.recording_ref, call.recording_seconds) == (sid, 118)

    hook = f"{PUBLIC_BASE}/twilio/calls/{call.id}/recording"
    other = {"CallSid": "CA" + "9" * 32, "RecordingSid": "RE" + "1" * 32, "RecordingStatus": "completed"}
    assert simulator.post(hook, other, signature="forged").status_code == 403  # unsigned: nothing changes
    assert simulator.post(hook, other).status_code == 204  # signed, but for another call's SID: ignored
    assert fresh(s, call.id).recording_ref == sid
    missing = f"{PUBLIC_BASE}/twilio/calls/999999/recording"
    assert simulator.post(missing, {**other, "CallSid": call.provider_call_sid or ""}).status_code == 404


def test_recordings_stream_through_the_app_with_range_to_the_owner_the_consumer_and_admins(
    db_session: Session, world: World, simulator: CallSimulator, twilio: FakeTwilioVoice, web: TestClient
) -> None:
    s = db_session
    call, sid = recorded_call(s, world, simulator)

    for viewer in (world.owner, world.consumer, world.admin):
        whole = web.get(path_of(calls.recording_link(s, viewer, call.id)))
        assert whole.status_code == 200 and whole.content == MEDIA
        assert whole.headers["content-type"] == "audio/mpeg" and whole.headers["accept-ranges"] == "bytes"
        assert "location" not in whole.headers and "private" in whole.headers["cache-control"]
    link = path_of(calls.recording_link(s, world.owner, call.id))
    part = web.get(link, headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206 and part.content == MEDIA[1000:2000]
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(MEDIA)}"
    tail = web.get(link, headers={"Range": "bytes=-100"})
    assert tail.status_code == 206 and tail.content == MEDIA[-100:]
    assert web.get(link, headers={"Range": f"bytes={len(MEDIA)}-"}).status_code == 416
    # Fetched from Twilio by the server, with the account's credentials, the browser's range passed on.
    fetched = [r for r in twilio.requests if r["path"].endswith(f"/Recordings/{sid}.mp3")]
    assert fetched and {r["range"] for r in fetched} >= {"bytes=1000-1999", "bytes=-100"}
    # A provider that ignores Range and sends everything: the app cuts the range out itself.
    twilio.ignore_range = True
    cut = web.get(link, headers={"Range": "bytes=5000-5099"})
    assert cut.status_code == 206 and cut.content == MEDIA[5000:5100]
    assert cut.headers["content-range"] == f"bytes 5000-5099/{len(MEDIA)}" and cut.headers["content-length"] == "100"

    with pytest.raises(NotAllowed):
        calls.recording_link(s, world.other_owner, call.id)
    token = link.rsplit("/", 1)[1]
    later = utcnow() + timedelta(seconds=2 * 118 + calls.RECORDING_LINK_TTL_SECONDS + 5)
    assert calls.open_recording(token, now=later).status == 410  # long enough to play it whole, then no more
    expired = web.get(path_of(calls.recording_link(s, world.owner, call.id, ttl=-5)))
    assert expired.status_code == 410 and "expired" in expired.json()["message"]
    forged = web.get(link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB"))
    assert forged.status_code == 403
    other_purpose = crypto.sign("portal-lead", {"call": call.id, "viewer": world.owner.id, "exp": 2**40}, 600)
    assert web.get(f"/api/v1/recordings/{other_purpose}").status_code == 403
    # Rights are checked on every request of the player: a disabled owner's link stops working mid-way.
    owner = s.get(User, world.owner.id)
    owner.is_active = False
    s.add(owner)
    s.commit()
    assert web.get(link, headers={"Range": "bytes=0-99"}).status_code == 403
    assert all("location" not in r.headers for r in [expired, forged])


def test_purging_a_lead_deletes_its_recording_at_twilio(
    db_session: Session, world: World, simulator: CallSimulator, twilio: FakeTwilioVoice, web: TestClient
) -> None:
    from worker import jobs

    s = db_session
    call, sid = recorded_call(s, world, simulator)
    link = path_of(calls.recording_link(s, world.admin, call.id))
    assert portal.delete_my_data(s, world.consumer) == 1
    s.commit()
    assert portal.purge_deleted(s, now=utcnow() + portal.PURGE_AFTER + timedelta(minutes=1)) == 1
    s.commit()

    # At once: no link opens it any more, and its deletion at Twilio is queued.
    assert web.get(link).status_code == 410
    job = queue(MAINTENANCE).fetch_job(f"delete-recording-{call.id}")
    assert job is not None and job.args == (call.id,)
    assert sid in twilio.recordings
    assert jobs.delete_call_recording(call.id) == "deleted"
    assert twilio.deleted_recordings == [sid] and sid not in twilio.recordings
    purged = fresh(s, call.id)
    assert (purged.recording_ref, purged.to_number_enc, purged.lead_id) == ("", "", None)
    assert jobs.delete_call_recording(call.id) == "nothing"  # safe twice

    # A recording Twilio announces after the purge is deleted on arrival.
    late_sid, response = simulator.call().recorded(b"late audio", duration=3)
    assert_204([response])
    assert queue(MAINTENANCE).fetch_job(f"delete-recording-{call.id}") is not None
    assert jobs.delete_call_recording(call.id) == "deleted" and late_sid in twilio.deleted_recordings

    # A deletion that failed (Twilio down) is caught up by the daily purge job.
    left = add_purged_recording(s, world, twilio.add_recording(b"left behind"))
    twilio.fail_next(10)
    with pytest.raises(RecordingError):
        calls.delete_recording(left.id)
    twilio.fail_next(0)
    assert fresh(s, left.id).recording_ref  # kept until it is really gone
    jobs.purge_deleted_leads()
    assert fresh(s, left.id).recording_ref == "" and len(twilio.deleted_recordings) == 3


def add_purged_recording(s: Session, world: World, recording_sid: str) -> Call:
    call = Call(
        business_id=world.business.id,
        status=CallStatus.COMPLETED.value,
        provider="twilio",
        recording_ref=recording_sid,
        recording_purge_at=utcnow(),
    )
    s.add(call)
    s.commit()
    return call
