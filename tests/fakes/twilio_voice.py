"""A stand-in for Twilio's Voice REST API (Calls) on loopback, and a call simulator that drives the bridge.

REST (for the real `twilio` SDK, pointed here with TWILIO_API_BASE):
- `POST /2010-04-01/Accounts/{AC}/Calls.json` checks HTTP basic auth like Twilio, requires To, From and
  one of Twiml / Url (Twilio ignores Twiml when Url is also given; recorded as `twiml_ignored`), refuses
  TwiML that is not XML or longer than 4000 characters, records every parameter (repeated ones such as
  StatusCallbackEvent as lists) and answers 201 with the call resource: sid "CA…", status "queued".
- `POST /2010-04-01/Accounts/{AC}/Calls/{CA}.json` handles `Status=completed` (hang up: the call becomes
  completed, or canceled if it was never answered) and `Twiml=…` (new instructions for a live call);
  either ends the media stream. Updating a call that is over answers Twilio's error 21220.
  Failures can be injected (`fail_next`). `GET …/Calls/{CA}.json` answers the call as it is now; a test moves a
  call with `set_status` (a dialled owner answering: "in-progress", or "no-answer") and registers a call placed
  elsewhere with `add_live_call`.
- Recordings: `POST …/Calls/{CA}/Recordings.json` starts one on a live call; `GET …/Recordings/{RE}.mp3`
  (or .wav) serves a stored recording's media with HTTP Range (206 + Content-Range, 416 past the end; or
  the whole file when `ignore_range`); `DELETE …/Recordings/{RE}.json` deletes it (then 404). All behind
  the account's basic auth.

Call simulator (`CallSimulator.call()`): for the call the app created, parses the `<Stream url>` and its
`<Parameter>`s out of the TwiML the app actually sent, then POSTs SIGNED callbacks to the bridge like
Twilio does — status (initiated, ringing, in-progress, completed with CallDuration and Recording*, or
busy / no-answer / failed) and the asynchronous AMD verdict. Signatures are computed with the account's
auth token over the PUBLIC url the app gave Twilio, while the requests go to the bridge's local address.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from twilio.request_validator import RequestValidator
from werkzeug import Request, Response

from tests.fakes.loopback import ProviderFake, http_server
from tests.fakes.twilio_api import E164, FakeTwilio, twilio_error

CALLS_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Calls\.json$")
CALL_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Calls/(?P<sid>[^/]+)\.json$")
CALL_RECORDINGS_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Calls/(?P<sid>[^/]+)/Recordings\.json$")
RECORDING_PATH = re.compile(
    r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Recordings/(?P<sid>RE[0-9a-f]{32})(?P<ext>\.json|\.mp3|\.wav)?$"
)
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
MAX_TWIML_CHARS = 4000
LIVE_STATUSES = ("queued", "initiated", "ringing", "in-progress")


@dataclass
class FakeCall:
    """One call as the fake holds it."""

    sid: str
    params: dict[str, Any]
    status: str = "queued"
    twiml: str = ""
    updates: list[dict[str, Any]] = field(default_factory=list)
    stream_ended: threading.Event = field(default_factory=threading.Event)
    price: str | None = None
    """What `price` the call resource shows: None (Twilio has not priced it yet), then e.g. "-0.02800"."""


def _form(request: Request) -> dict[str, Any]:
    """Form fields; a field sent more than once (StatusCallbackEvent) becomes a list."""
    fields: dict[str, Any] = {}
    for name, values in request.form.to_dict(flat=False).items():
        fields[name] = values if len(values) > 1 or name == "StatusCallbackEvent" else values[0]
    return fields


def _well_formed(xml: str) -> bool:
    try:
        ET.fromstring(xml)
    except ET.ParseError:
        return False
    return True


class FakeTwilioVoice(ProviderFake):
    """The fake's state: credentials, every request, the calls, injected failures (`fail_next`, `always_fail`;
    not the delay and outages of the messaging fakes)."""

    account_sid = FakeTwilio.account_sid
    auth_token = FakeTwilio.auth_token
    from_number = FakeTwilio.from_number

    def __init__(self, server: HTTPServer) -> None:
        super().__init__(server)
        self.requests: list[dict[str, Any]] = []
        """Every request: {"method", "path", "auth", "form"}."""
        self.creates: list[dict[str, Any]] = []
        """The parameters of each accepted Calls.json create, in order."""
        self.calls: dict[str, FakeCall] = {}
        self.recordings: dict[str, bytes] = {}
        """Recordings by SID: their media (what GET …/Recordings/RE….mp3 serves)."""
        self.recording_starts: list[dict[str, Any]] = []
        """The parameters of each POST …/Calls/CA…/Recordings.json (a recording started on a live call)."""
        self.deleted_recordings: list[str] = []
        self.ignore_range = False
        """Serve the whole file even when a Range is asked (some storage does): the app must cut the range."""
        self._changed = threading.Condition(self._lock)

    def _received(self, request: Request, path: re.Pattern[str], **seen: Any) -> tuple[Any, Response | None]:
        """Every request's first step, holding `_lock`: log it (with what the handler `seen` in it), then the
        path's match and Twilio's answer if it refuses the request before reading it (a wrong path or credentials,
        an injected failure), else None."""
        match = path.match(request.path)
        self.requests.append({"method": request.method, "path": request.path, **seen})
        return match, self._refusal(request, match)

    def _call_asked_for(self, request: Request, form: dict[str, str]) -> FakeCall | Response:
        """`_received` for one call's resource (…/Calls/CA….json), holding `_lock`: the call, or Twilio's answer
        when it refuses the request or knows no such call (404)."""
        match, refused = self._received(request, CALL_PATH, form=form)
        if refused is not None:
            return refused
        call = self.calls.get(match.group("sid"))
        return call if call is not None else twilio_error(404, 20404, "The requested resource was not found")

    def _refusal(self, request: Request, match: re.Match[str] | None) -> Response | None:
        if match is None or not self._authorised(request, match.group("account")):
            return twilio_error(401, 20003, "Authenticate")
        if self._fails_now():
            return twilio_error(self.fail_status, 20500, "Internal Server Error (injected by the fake)")
        return None

    def _authorised(self, request: Request, account: str) -> bool:
        auth = request.authorization
        return (
            auth is not None
            and (auth.username, auth.password) == (self.account_sid, self.auth_token)
            and account == auth.username
        )

    def _resource(self, call: FakeCall) -> dict[str, Any]:
        now = format_datetime(datetime.now(UTC), usegmt=True)
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "answered_by": None,
            "date_created": now,
            "date_updated": now,
            "direction": "outbound-api",
            "duration": None,
            "from": call.params.get("From", ""),
            "from_formatted": call.params.get("From", ""),
            "parent_call_sid": None,
            "price": call.price,
            "price_unit": "USD",
            "sid": call.sid,
            "start_time": None,
            "end_time": None,
            "status": call.status,
            "to": call.params.get("To", ""),
            "to_formatted": call.params.get("To", ""),
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Calls/{call.sid}.json",
        }

    def handle_create(self, request: Request) -> Response:
        form = _form(request)
        with self._lock:
            _, refused = self._received(request, CALLS_PATH, form=form)
            if refused is not None:
                return refused
            to, sender = form.get("To", ""), form.get("From", "")
            if not to:
                return twilio_error(400, 21201, "No 'To' number is specified")
            if not sender:
                return twilio_error(400, 21213, "No 'From' number is specified")
            if not E164.match(to):
                return twilio_error(400, 21211, "Invalid 'To' Phone Number")
            twiml, url = form.get("Twiml", ""), form.get("Url", "")
            if not twiml and not url:
                return twilio_error(400, 21205, "Url parameter is required.")
            if twiml and (len(twiml) > MAX_TWIML_CHARS or not _well_formed(twiml)):
                return twilio_error(400, 12100, "Document parse failure")
            call = FakeCall(sid="CA" + secrets.token_hex(16), params={**form, "twiml_ignored": bool(twiml and url)})
            call.twiml = "" if url else twiml
            self.calls[call.sid] = call
            self.creates.append(call.params)
            self._changed.notify_all()
            body = self._resource(call)
        return Response(json.dumps(body), status=201, content_type="application/json")

    def handle_update(self, request: Request) -> Response:
        form = _form(request)
        with self._lock:
            call = self._call_asked_for(request, form)
            if isinstance(call, Response):
                return call
            if call.status not in LIVE_STATUSES:
                return twilio_error(400, 21220, "Call is not in-progress. Cannot redirect.")
            twiml, status = form.get("Twiml", ""), form.get("Status", "")
            if twiml and (len(twiml) > MAX_TWIML_CHARS or not _well_formed(twiml)):
                return twilio_error(400, 12100, "Document parse failure")
            if status == "completed":
                call.status = "completed" if call.status == "in-progress" else "canceled"
            elif status == "canceled":
                call.status = "canceled"
            elif status:
                return twilio_error(400, 21218, "Invalid value for 'Status'")
            if twiml:
                call.twiml = twiml
            call.updates.append(form)
            call.stream_ended.set()  # new TwiML or a hang-up ends <Connect><Stream>
            self._changed.notify_all()
            body = self._resource(call)
        return Response(json.dumps(body), status=200, content_type="application/json")

    def handle_fetch(self, request: Request) -> Response:
        """GET one call resource (its status and, once Twilio has priced it, its price)."""
        with self._lock:
            call = self._call_asked_for(request, {})
            if isinstance(call, Response):
                return call
            body = self._resource(call)
        return Response(json.dumps(body), status=200, content_type="application/json")

    def add_live_call(self, sid: str, to: str = "+13175550123") -> FakeCall:
        """A call already in progress that the app did not create here (its media stream is running)."""
        with self._lock:
            call = FakeCall(sid=sid, params={"To": to, "From": self.from_number}, status="in-progress")
            self.calls[sid] = call
            return call

    def set_status(self, sid: str, status: str) -> None:
        """What the callee did: answered ("in-progress"), or "no-answer", "busy" ... (fetches report it)."""
        with self._lock:
            self.calls[sid].status = status
            self._changed.notify_all()

    # -- recordings --

    def add_recording(self, media: bytes) -> str:
        """Store a recording (as Twilio does when a recorded call ends); returns its SID."""
        sid = "RE" + secrets.token_hex(16)
        with self._lock:
            self.recordings[sid] = media
        return sid

    def handle_start_recording(self, request: Request) -> Response:
        form = _form(request)
        with self._lock:
            match, refused = self._received(request, CALL_RECORDINGS_PATH, form=form)
            if refused is not None:
                return refused
            call = self.calls.get(match.group("sid"))
            if call is not None and call.status not in LIVE_STATUSES:
                return twilio_error(400, 21220, "Call is not in-progress. Cannot start recording.")
            sid = "RE" + secrets.token_hex(16)
            self.recording_starts.append({"call_sid": match.group("sid"), "recording_sid": sid, **form})
            self._changed.notify_all()
        body = {
            "account_sid": self.account_sid,
            "call_sid": match.group("sid"),
            "sid": sid,
            "status": "in-progress",
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Calls/{match.group('sid')}/Recordings/{sid}.json",
        }
        return Response(json.dumps(body), status=201, content_type="application/json")

    def handle_recording(self, request: Request) -> Response:
        """GET the media (.mp3/.wav) with HTTP Range, or DELETE the recording (.json), behind basic auth."""
        with self._lock:
            match, refused = self._received(request, RECORDING_PATH, range=request.headers.get("Range"))
            if refused is not None:
                return refused
            sid, ext = match.group("sid"), match.group("ext") or ""
            media = self.recordings.get(sid)
            if media is None:
                return twilio_error(404, 20404, "The requested resource was not found")
            if request.method == "DELETE":
                if ext not in ("", ".json"):
                    return twilio_error(405, 20004, "Method not allowed")
                del self.recordings[sid]
                self.deleted_recordings.append(sid)
                self._changed.notify_all()
                return Response(status=204)
        if ext == ".json":
            return Response(json.dumps({"sid": sid, "status": "completed"}), content_type="application/json")
        content_type = "audio/mpeg" if ext == ".mp3" else "audio/x-wav"
        wanted = RANGE.match((request.headers.get("Range") or "").replace(" ", ""))
        if wanted is None or self.ignore_range or not any(wanted.groups()):
            return Response(media, status=200, content_type=content_type, headers={"Accept-Ranges": "bytes"})
        first_text, last_text = wanted.groups()
        size = len(media)
        if first_text:
            first, last = int(first_text), min(int(last_text) if last_text else size - 1, size - 1)
        else:
            first, last = max(0, size - int(last_text)), size - 1
        if first >= size or last < first:
            return Response(status=416, headers={"Content-Range": f"bytes */{size}"})
        return Response(
            media[first : last + 1],
            status=206,
            content_type=content_type,
            headers={"Content-Range": f"bytes {first}-{last}/{size}", "Accept-Ranges": "bytes"},
        )

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> None:
        """Block until `predicate()` holds (checked whenever a request changed something); fail on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("the fake Twilio never saw the expected request")
                self._changed.wait(left)


@pytest.fixture
def fake_twilio_voice() -> Iterator[FakeTwilioVoice]:
    """A fake Twilio Voice REST API (Calls) on 127.0.0.1 (ephemeral port), stopped after the test."""
    with http_server() as server:
        fake = FakeTwilioVoice(server)
        server.expect_request(CALLS_PATH, method="POST").respond_with_handler(fake.handle_create)
        server.expect_request(CALL_PATH, method="POST").respond_with_handler(fake.handle_update)
        server.expect_request(CALL_PATH, method="GET").respond_with_handler(fake.handle_fetch)
        server.expect_request(CALL_RECORDINGS_PATH, method="POST").respond_with_handler(fake.handle_start_recording)
        server.expect_request(RECORDING_PATH).respond_with_handler(fake.handle_recording)
        yield fake


# --- the call simulator ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamTarget:
    """What `<Connect><Stream>` in the app's TwiML asks Twilio to connect."""

    url: str
    parameters: dict[str, str]


def parse_stream(twiml: str) -> StreamTarget:
    """The `<Stream url>` and its `<Parameter name value>`s from `<Response><Connect><Stream>`."""
    root = ET.fromstring(twiml)
    assert root.tag == "Response", twiml
    stream = root.find("./Connect/Stream")
    assert stream is not None, f"no <Connect><Stream> in {twiml}"
    params = {p.get("name", ""): p.get("value", "") for p in stream.findall("./Parameter")}
    return StreamTarget(url=stream.get("url", ""), parameters=params)


class SimulatedCall:
    """One call the app created, as Twilio would carry it out: signed callbacks to the bridge."""

    def __init__(self, simulator: CallSimulator, call: FakeCall) -> None:
        self.simulator, self.fake_call = simulator, call
        self.params = call.params
        self.sid = call.sid
        self.stream = parse_stream(call.twiml)
        self.sequence = 0

    def _base_fields(self) -> dict[str, str]:
        return {
            "AccountSid": self.simulator.fake.account_sid,
            "CallSid": self.sid,
            "From": str(self.params.get("From", "")),
            "To": str(self.params.get("To", "")),
            "Direction": "outbound-api",
            "ApiVersion": "2010-04-01",
        }

    def status(self, call_status: str, **extra: str) -> httpx.Response:
        """POST one status callback (CallStatus=`call_status`) to the StatusCallback the app asked for."""
        fields = {
            **self._base_fields(),
            "CallStatus": call_status,
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(self.sequence),
            "Timestamp": format_datetime(datetime.now(UTC), usegmt=True),
            **extra,
        }
        self.sequence += 1
        return self.simulator.post(str(self.params["StatusCallback"]), fields)

    def amd(self, answered_by: str, detection_ms: int = 2400) -> httpx.Response:
        """POST the asynchronous answering-machine verdict to the AsyncAmdStatusCallback."""
        fields = {**self._base_fields(), "AnsweredBy": answered_by, "MachineDetectionDuration": str(detection_ms)}
        return self.simulator.post(str(self.params["AsyncAmdStatusCallback"]), fields)

    def completed(self, duration: int, recorded: bool = True) -> httpx.Response:
        """The final callback of an answered call: CallDuration, and the recording when recording was asked."""
        extra = {"CallDuration": str(duration), "Duration": str(max(1, -(-duration // 60)))}
        if recorded and str(self.params.get("Record", "")).lower() == "true":
            recording_sid = "RE" + secrets.token_hex(16)
            extra |= {
                "RecordingSid": recording_sid,
                "RecordingUrl": (
                    f"https://api.twilio.com/2010-04-01/Accounts/{self.simulator.fake.account_sid}"
                    f"/Recordings/{recording_sid}"
                ),
                "RecordingDuration": str(max(duration - 1, 0)),
            }
        self.fake_call.status = "completed"
        return self.status("completed", **extra)

    def recorded(self, media: bytes, duration: int = 60) -> tuple[str, httpx.Response]:
        """The recording is ready: Twilio stores it and POSTs the RecordingStatusCallback the app asked for."""
        sid = self.simulator.fake.add_recording(media)
        account = self.simulator.fake.account_sid
        fields = {
            "AccountSid": account,
            "CallSid": self.sid,
            "RecordingSid": sid,
            "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{account}/Recordings/{sid}",
            "RecordingStatus": "completed",
            "RecordingDuration": str(duration),
            "RecordingChannels": "1",
            "RecordingSource": "OutboundAPI",
            "RecordingStartTime": format_datetime(datetime.now(UTC), usegmt=True),
        }
        return sid, self.simulator.post(str(self.params["RecordingStatusCallback"]), fields)

    def answer(self, answered_by: str = "human") -> list[httpx.Response]:
        """initiated → ringing → in-progress, then the AMD verdict."""
        responses = [self.status("initiated"), self.status("ringing")]
        self.fake_call.status = "in-progress"
        responses += [self.status("in-progress"), self.amd(answered_by)]
        return responses

    def unanswered(self, final: str) -> list[httpx.Response]:
        """initiated → ringing → `final` (busy, no-answer, canceled) with no duration."""
        responses = [self.status("initiated"), self.status("ringing")]
        self.fake_call.status = final
        return [*responses, self.status(final, CallDuration="0")]


class CallSimulator:
    """Delivers Twilio's callbacks for calls created on `fake` to the bridge at `bridge_url`.

    The app gave Twilio callback URLs on its public address `public_base`; they are signed as such and
    delivered to the same path on `bridge_url` (as a TLS-terminating proxy would).
    """

    def __init__(self, fake: FakeTwilioVoice, bridge_url: str, public_base: str) -> None:
        self.fake, self.bridge_url, self.public_base = fake, bridge_url.rstrip("/"), public_base.rstrip("/")
        self.client = httpx.Client(timeout=30.0)

    def call(self, index: int = -1) -> SimulatedCall:
        """The `index`-th call the app created (default: the latest)."""
        params = self.fake.creates[index]
        sid = next(sid for sid, call in self.fake.calls.items() if call.params is params)
        return SimulatedCall(self, self.fake.calls[sid])

    def local(self, public_url: str) -> str:
        assert public_url.startswith(self.public_base + "/"), f"{public_url} is not on {self.public_base}"
        return self.bridge_url + public_url[len(self.public_base) :]

    def signature(self, public_url: str, fields: dict[str, str]) -> str:
        return RequestValidator(self.fake.auth_token).compute_signature(public_url, fields)

    def post(self, public_url: str, fields: dict[str, str], signature: str | None = None) -> httpx.Response:
        """POST `fields` to the bridge, signed for `public_url` (or with the given `signature`)."""
        sig = self.signature(public_url, fields) if signature is None else signature
        return self.client.post(self.local(public_url), data=fields, headers={"X-Twilio-Signature": sig})

    def close(self) -> None:
        self.client.close()
