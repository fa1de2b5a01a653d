"""Every Twilio webhook of the voice bridge, fuzzed with correctly SIGNED requests (hypothesis-generated form fields
signed with the test auth token for the bridge's public URL, as Twilio signs them).

Properties, on SQLite and PostgreSQL:
- no body, however odd (huge numbers, long or binary-looking strings, unknown statuses and SIDs, other calls'
  ids), gets a 5xx;
- an answer that refuses (4xx) wrote nothing: every table reads the same before and after;
- the same body with a wrong signature is refused (403; 404/422 for a path that names no call).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel
from starlette.testclient import TestClient
from twilio.request_validator import RequestValidator

from leadapp.core import crypto
from leadapp.core.db import get_engine
from leadapp.core.models import Business, Call, User
from leadapp.core.services.inbound import INBOUND_PATH, INBOUND_STATUS_PATH
from tests.conftest import clear_app_caches
from voice_bridge.app import app
from voice_bridge.calls_webhooks import AMD_PATH, RECORDING_PATH, STATUS_PATH
from voice_bridge.sms import SMS_PATH

PUBLIC_BASE = "https://voice.fuzz.example.test"
AUTH_TOKEN = "fuzz-twilio-auth-token-0123456789"
BUSINESS_NUMBER = "+13175550111"
CALLER = "+13175550123"
OUTBOUND_SID = "CA" + "1" * 32
INBOUND_SID = "CA" + "2" * 32
EXAMPLES = 20

# The fields each webhook reads, plus what Twilio always sends; any other name may appear too.
FIELDS = {
    SMS_PATH: ["From", "To", "Body", "MessageSid", "AccountSid", "NumMedia"],
    STATUS_PATH: ["CallSid", "CallStatus", "CallDuration", "AccountSid", "From", "To"],
    AMD_PATH: ["CallSid", "AnsweredBy", "AccountSid"],
    RECORDING_PATH: ["CallSid", "RecordingSid", "RecordingStatus", "RecordingDuration", "RecordingUrl"],
    INBOUND_PATH: ["To", "From", "CallSid", "CallStatus", "Direction", "AccountSid"],
    INBOUND_STATUS_PATH: ["CallSid", "CallStatus", "CallDuration", "To", "From"],
}
MEANINGFUL = [
    "",
    "0",
    "-1",
    "9" * 30,
    "1e309",
    "NaN",
    OUTBOUND_SID,
    INBOUND_SID,
    "CA" + "f" * 200,
    "RE" + "3" * 32,
    "RE" + "x" * 600,
    BUSINESS_NUMBER,
    CALLER,
    "+1",
    "STOP",
    "stop calls",
    "START",
    "queued",
    "ringing",
    "in-progress",
    "completed",
    "busy",
    "no-answer",
    "canceled",
    "failed",
    "absent",
    "human",
    "machine_start",
    "fax",
    "unknown",
]
# Form text as a browser or Twilio could send it: any Unicode but lone surrogates (not encodable), NUL included.
FORM_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=80)
VALUES = st.one_of(st.sampled_from(MEANINGFUL), FORM_TEXT, st.integers(-(2**70), 2**70).map(str))


@dataclass
class World:
    client: TestClient
    outbound_call: int
    inbound_call: int


@pytest.fixture
def world(app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The bridge app in process (no provider account: only the webhooks' own writes), a business with its own
    number, an outbound call ringing and an inbound call in progress."""
    for name, value in {
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_ACCOUNT_SID": "",
        "VOICE_BRIDGE_PUBLIC_URL": PUBLIC_BASE,
    }.items():
        monkeypatch.setenv(name, value)
    clear_app_caches()
    with Session(get_engine(), expire_on_commit=False) as s:
        owner = User(email="owner@fuzz.example.com", password_hash="x", role="business_owner")
        s.add(owner)
        s.flush()
        business = Business(owner_id=owner.id, name="Fuzz Plumbing", zip="46032", inbound_number=BUSINESS_NUMBER)
        s.add(business)
        s.flush()
        number = {"to_number_enc": crypto.encrypt_phone(CALLER), "to_number_hash": crypto.phone_hash(CALLER)}
        outbound = Call(business_id=business.id, provider="twilio", provider_call_sid=OUTBOUND_SID, status="ringing")
        inbound = Call(
            business_id=business.id,
            provider="twilio",
            provider_call_sid=INBOUND_SID,
            direction="inbound",
            call_type="inbound",
            status="in-progress",
        )
        for call in (outbound, inbound):
            for name, value in number.items():
                setattr(call, name, value)
        s.add_all([outbound, inbound])
        s.commit()
        ids = (outbound.id, inbound.id)
    client = TestClient(app, raise_server_exceptions=False)  # no lifespan: the webhooks need no realtime client
    yield World(client, *ids)
    client.close()


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (the whole database is small here)."""
    with Session(get_engine()) as s:
        return {
            table.name: sorted((tuple(map(repr, row)) for row in s.execute(sa_select(table)).all()), key=str)
            for table in SQLModel.metadata.sorted_tables
        }


def post(world: World, path: str, form: dict[str, str], *, signed: bool = True) -> Any:
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_BASE + path, form)
    if not signed:
        signature = RequestValidator("not-" + AUTH_TOKEN).compute_signature(PUBLIC_BASE + path, form)
    return world.client.post(path, data=form, headers={"X-Twilio-Signature": signature})


def forms(template: str) -> st.SearchStrategy[dict[str, str]]:
    """The webhook's own fields, each there or not, plus a few of any other name."""
    known = st.fixed_dictionaries({}, optional=dict.fromkeys(FIELDS[template], VALUES))
    others = st.dictionaries(st.text(st.characters(codec="ascii"), min_size=1, max_size=12), VALUES, max_size=3)
    return st.builds(lambda a, b: {**b, **a}, known, others)


def call_ids(world: World) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from([str(world.outbound_call), str(world.inbound_call)]),
        st.integers(-(2**70), 2**70).map(str),
        st.sampled_from(["0", "-1", "abc", "1.5", "%20", "9" * 40]),
    )


WEBHOOKS = [SMS_PATH, STATUS_PATH, AMD_PATH, RECORDING_PATH, INBOUND_PATH, INBOUND_STATUS_PATH]
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))


# Bodies the generated runs once missed and that answered 500 (on PostgreSQL, or on both): run every time.
KNOWN_HOSTILE = [
    (INBOUND_PATH, {"To": BUSINESS_NUMBER, "From": CALLER, "CallSid": "CA" + "f" * 200}),  # over the column
    (INBOUND_PATH, {"To": BUSINESS_NUMBER, "From": "x\x00y", "CallSid": "CA\x00"}),  # NUL: refused by PostgreSQL
    (INBOUND_STATUS_PATH, {"CallSid": INBOUND_SID, "CallStatus": "completed", "CallDuration": "9" * 30}),
    (INBOUND_STATUS_PATH, {"CallSid": INBOUND_SID, "CallStatus": "completed", "CallDuration": "²"}),  # isdigit()
    (STATUS_PATH, {"CallSid": OUTBOUND_SID, "CallStatus": "completed", "CallDuration": "9" * 30}),
    (RECORDING_PATH, {"CallSid": OUTBOUND_SID, "RecordingSid": "RE" + "x" * 600, "RecordingStatus": "completed"}),
    (RECORDING_PATH, {"CallSid": OUTBOUND_SID, "RecordingSid": "RE" + "1" * 32, "RecordingDuration": "9" * 30}),
    (AMD_PATH, {"CallSid": OUTBOUND_SID, "AnsweredBy": "x" * 100}),
    (SMS_PATH, {"From": "+13175550199", "Body": "STOP\x00"}),
    (SMS_PATH, {"From": "+1317555019\x009", "Body": "STOP"}),
    (SMS_PATH, {"From": "x" * 300, "Body": "STOP"}),
    (STATUS_PATH.replace("{call_id}", str(2**31)), {"CallStatus": "completed"}),  # over PostgreSQL's integer
    (AMD_PATH.replace("{call_id}", str(2**63)), {"AnsweredBy": "human"}),  # over SQLite's
]


def test_known_hostile_bodies_are_answered_without_a_5xx(world: World) -> None:
    for path, form in KNOWN_HOSTILE:
        before = snapshot()
        answer = post(world, path.replace("{call_id}", str(world.outbound_call)), form)
        assert answer.status_code < 500, (path, form, answer.text)
        if answer.status_code >= 400:
            assert snapshot() == before, (path, form)


@pytest.mark.parametrize("template", WEBHOOKS)
def test_signed_generated_bodies_never_fail_and_refusals_write_nothing(world: World, template: str) -> None:
    @FUZZ
    @given(form=forms(template), call_id=call_ids(world))
    def run(form: dict[str, str], call_id: str) -> None:
        path = template.replace("{call_id}", call_id)
        before = snapshot()
        forged = post(world, path, form, signed=False)
        assert forged.status_code in (403, 404, 422), (path, form, forged.status_code, forged.text)
        answer = post(world, path, form)
        assert answer.status_code < 500, (path, form, answer.status_code, answer.text)
        if answer.status_code >= 400:  # then neither the forged nor the signed request may have written
            assert snapshot() == before, f"a refused request ({answer.status_code}) wrote: {path} {form}"

    run()
