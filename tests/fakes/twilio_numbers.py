"""A stand-in for Twilio's IncomingPhoneNumbers REST API on loopback, for the real `twilio` SDK to talk to.

- `GET /2010-04-01/Accounts/{AC}/IncomingPhoneNumbers.json` lists the account's numbers the way Twilio pages
  them: `PageSize` (default 50, at most 1000), `Page` and `PageToken`, optional `PhoneNumber` (digits match
  anywhere, `*` any digit) and `FriendlyName` filters; the body carries `incoming_phone_numbers`, `page`,
  `page_size`, `start`, `end`, `uri`, `first_page_uri`, `next_page_uri` (None on the last page) and
  `previous_page_uri`, so the SDK follows the pages itself.
- `GET …/IncomingPhoneNumbers/{PN}.json` fetches one; 404 (20404) for a number the account does not have.
- `POST …/IncomingPhoneNumbers/{PN}.json` updates one: form-encoded only (415 otherwise, as a JSON body is
  not read by Twilio), urls must be absolute http(s) urls or empty (400, 21402), methods GET or POST (400,
  21403); an empty value clears a setting; a `VoiceApplicationSid` or `TrunkSid` makes Twilio ignore the
  voice url (kept as it is, as Twilio does). Answers 200 with the whole resource.
Every request needs HTTP basic auth with the account SID and token, the SID matching the path (401, 20003).
Resources have the real shape (capabilities, the *_method fields, `status`, `subresource_uris` …).

`ring(number, caller)` plays Twilio receiving a call on one of the numbers: it POSTs the signed voice webhook
to the number's voice url (as configured through the API), and `hang_up(...)` the signed final status
callback to its status callback, both to `deliver_to` (the bridge's local address) for the public urls.
Use: `from tests.fakes.twilio_numbers import fake_twilio_numbers  # noqa: F401`; point the app at it with
TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN / TWILIO_FROM_NUMBER from the fake and TWILIO_API_BASE=fake.url.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from pytest_httpserver import HTTPServer
from twilio.request_validator import RequestValidator
from werkzeug import Request, Response

from tests.fakes.loopback import http_server
from tests.fakes.twilio_api import FakeTwilio, twilio_error

API = "/2010-04-01/Accounts"
LIST_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/IncomingPhoneNumbers\.json$")
ONE_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/IncomingPhoneNumbers/(?P<sid>[^/]+)\.json$")
URL_FIELDS = ("VoiceUrl", "VoiceFallbackUrl", "StatusCallback", "SmsUrl", "SmsFallbackUrl")
METHOD_FIELDS = ("VoiceMethod", "VoiceFallbackMethod", "StatusCallbackMethod", "SmsMethod", "SmsFallbackMethod")
# Form field → resource field, for every setting an update may change.
SETTINGS = {
    "FriendlyName": "friendly_name",
    "VoiceUrl": "voice_url",
    "VoiceMethod": "voice_method",
    "VoiceFallbackUrl": "voice_fallback_url",
    "VoiceFallbackMethod": "voice_fallback_method",
    "StatusCallback": "status_callback",
    "StatusCallbackMethod": "status_callback_method",
    "VoiceApplicationSid": "voice_application_sid",
    "TrunkSid": "trunk_sid",
    "SmsUrl": "sms_url",
    "SmsMethod": "sms_method",
    "SmsFallbackUrl": "sms_fallback_url",
    "SmsFallbackMethod": "sms_fallback_method",
}
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 50, 1000


def _valid_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in value


def _digits_match(pattern: str, number: str) -> bool:
    wanted = re.sub(r"[^0-9*]", "", pattern)
    regex = re.escape(wanted).replace(r"\*", "[0-9]")
    return re.search(regex, re.sub(r"[^0-9]", "", number)) is not None


@dataclass
class RingingCall:
    """A call Twilio received on one of the numbers: the webhook's fields and the bridge's TwiML answer."""

    sid: str
    number: dict[str, Any]
    fields: dict[str, str]
    answer: httpx.Response


@dataclass
class FakeTwilioNumbers:
    """The fake's state: credentials, the account's numbers (in creation order), every request."""

    server: HTTPServer
    account_sid: str = FakeTwilio.account_sid
    auth_token: str = FakeTwilio.auth_token
    from_number: str = FakeTwilio.from_number
    numbers: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    """Every request: {"method", "path", "query", "form", "content_type"}."""
    updates: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    """Accepted updates: (number sid, the form fields sent)."""
    fail_next: int = 0
    """Answer the next N requests with a 500 (error 20500)."""
    deliver_to: str = ""
    """Where `ring` and `hang_up` send the webhooks (the bridge's local base url)."""
    public_base: str = ""
    """The bridge's public base url (the one numbers are configured with) that `deliver_to` stands for."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    # -- the account's numbers --

    def add(
        self,
        phone_number: str,
        *,
        friendly_name: str = "",
        voice: bool = True,
        voice_url: str = "",
        voice_application_sid: str | None = None,
        trunk_sid: str | None = None,
        status_callback: str = "",
    ) -> str:
        """Buy a number for the account; returns its SID ("PN" + 32 hex digits)."""
        sid = "PN" + secrets.token_hex(16)
        now = format_datetime(datetime.now(UTC), usegmt=True)
        digits = phone_number.removeprefix("+1")
        self.numbers[sid] = {
            "account_sid": self.account_sid,
            "address_requirements": "none",
            "address_sid": None,
            "api_version": "2010-04-01",
            "beta": False,
            "capabilities": {"voice": voice, "sms": True, "mms": True, "fax": False},
            "date_created": now,
            "date_updated": now,
            "emergency_status": "Inactive",
            "emergency_address_sid": None,
            "emergency_address_status": "unregistered",
            "friendly_name": friendly_name or f"({digits[:3]}) {digits[3:6]}-{digits[6:]}",
            "identity_sid": None,
            "origin": "twilio",
            "phone_number": phone_number,
            "sid": sid,
            "sms_application_sid": "",
            "sms_fallback_method": "POST",
            "sms_fallback_url": "",
            "sms_method": "POST",
            "sms_url": "https://demo.twilio.com/welcome/sms/reply",
            "status_callback": status_callback,
            "status_callback_method": "POST",
            "trunk_sid": trunk_sid,
            "uri": f"{API}/{self.account_sid}/IncomingPhoneNumbers/{sid}.json",
            "voice_receive_mode": "voice",
            "voice_application_sid": voice_application_sid,
            "voice_caller_id_lookup": False,
            "voice_fallback_method": "POST",
            "voice_fallback_url": "",
            "voice_method": "POST",
            "voice_url": voice_url,
            "bundle_sid": None,
            "status": "in-use",
            "subresource_uris": {
                "assigned_add_ons": f"{API}/{self.account_sid}/IncomingPhoneNumbers/{sid}/AssignedAddOns.json"
            },
            "type": "local",
        }
        return sid

    def by_number(self, phone_number: str) -> dict[str, Any]:
        return next(n for n in self.numbers.values() if n["phone_number"] == phone_number)

    # -- the HTTP side --

    def _refusal(self, request: Request, account: str) -> Response | None:
        auth = request.authorization
        if auth is None or (auth.username, auth.password) != (self.account_sid, self.auth_token):
            return twilio_error(401, 20003, "Authenticate")
        if account != auth.username:
            return twilio_error(401, 20003, "Authenticate")
        if self.fail_next > 0:
            self.fail_next -= 1
            return twilio_error(500, 20500, "Internal Server Error (injected by the fake)")
        return None

    def _received(self, request: Request, path: re.Pattern[str]) -> tuple[re.Match[str] | None, Response | None]:
        """Every request's first step, holding `_lock`: log it, then the path's match and Twilio's answer if it
        refuses the request before reading it (wrong credentials or account, an injected failure), else None."""
        match = path.match(request.path)
        self.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "query": request.args.to_dict(),
                "form": request.form.to_dict(),
                "content_type": request.mimetype,
            }
        )
        return match, self._refusal(request, match.group("account") if match else "")

    def handle_list(self, request: Request) -> Response:
        with self._lock:
            _, refusal = self._received(request, LIST_PATH)
            if refusal is not None:
                return refusal
            args = request.args
            try:
                page_size = int(args.get("PageSize", DEFAULT_PAGE_SIZE))
                page = int(args.get("Page", 0))
            except ValueError:
                return twilio_error(400, 20001, "Invalid paging parameter")
            if not 1 <= page_size <= MAX_PAGE_SIZE or page < 0:
                return twilio_error(400, 20001, f"PageSize must be between 1 and {MAX_PAGE_SIZE}")
            found = list(self.numbers.values())
            if args.get("PhoneNumber"):
                found = [n for n in found if _digits_match(args["PhoneNumber"], n["phone_number"])]
            if args.get("FriendlyName"):
                found = [n for n in found if n["friendly_name"] == args["FriendlyName"]]
            token = args.get("PageToken", "")
            start = 0
            if token:  # "PA" + the SID of the previous page's last number: continue after it
                sids = [n["sid"] for n in found]
                start = sids.index(token[2:]) + 1 if token[2:] in sids else len(found)
            else:
                start = page * page_size
            chunk = found[start : start + page_size]
            base = f"{API}/{self.account_sid}/IncomingPhoneNumbers.json"
            filters = {k: args[k] for k in ("PhoneNumber", "FriendlyName") if args.get(k)}

            def page_uri(number: int, page_token: str = "") -> str:
                query = {**filters, "PageSize": page_size, "Page": number}
                if page_token:
                    query["PageToken"] = page_token
                return f"{base}?{urlencode(query)}"

            more = start + page_size < len(found)
            body = {
                "end": start + max(len(chunk), 1) - 1,
                "first_page_uri": page_uri(0),
                "incoming_phone_numbers": chunk,
                "next_page_uri": page_uri(page + 1, "PA" + chunk[-1]["sid"]) if more and chunk else None,
                "page": page,
                "page_size": page_size,
                "previous_page_uri": page_uri(page - 1) if page > 0 else None,
                "start": start,
                "uri": page_uri(page, token),
            }
        return Response(json.dumps(body), status=200, content_type="application/json")

    def handle_one(self, request: Request) -> Response:
        with self._lock:
            match, refusal = self._received(request, ONE_PATH)
            if refusal is not None:
                return refusal
            number = self.numbers.get(match.group("sid") if match else "")
            if number is None:
                return twilio_error(404, 20404, f"The requested resource {request.path} was not found")
            if request.method == "GET":
                return Response(json.dumps(number), status=200, content_type="application/json")
            if request.mimetype != "application/x-www-form-urlencoded":
                return twilio_error(415, 20415, "Unsupported Media Type: send form-encoded parameters")
            form = request.form.to_dict()
            for name in URL_FIELDS:
                if form.get(name) and not _valid_url(form[name]):
                    return twilio_error(400, 21402, f"Url is not a valid URL: {form[name]}")
            for name in METHOD_FIELDS:
                if form.get(name) and form[name].upper() not in ("GET", "POST"):
                    return twilio_error(400, 21403, "Invalid Method: use GET or POST")
            for name, key in SETTINGS.items():
                if name in form:
                    value = form[name]
                    if name in METHOD_FIELDS:
                        value = value.upper() or "POST"
                    number[key] = value if value or name not in ("VoiceApplicationSid", "TrunkSid") else None
            number["date_updated"] = format_datetime(datetime.now(UTC), usegmt=True)
            self.updates.append((number["sid"], form))
            return Response(json.dumps(number), status=200, content_type="application/json")

    # -- calls to the numbers --

    def _local(self, public_url: str) -> str:
        assert public_url.startswith(self.public_base.rstrip("/") + "/"), f"{public_url} is not the bridge's url"
        return self.deliver_to.rstrip("/") + public_url[len(self.public_base.rstrip("/")) :]

    def _post(self, public_url: str, fields: dict[str, str]) -> httpx.Response:
        signature = RequestValidator(self.auth_token).compute_signature(public_url, fields)
        return httpx.post(self._local(public_url), data=fields, headers={"X-Twilio-Signature": signature}, timeout=30)

    def ring(self, phone_number: str, caller: str) -> RingingCall:
        """A caller dials one of the numbers: Twilio asks the number's voice url what to do (signed POST)."""
        number = self.by_number(phone_number)
        assert number["voice_url"] and not number["voice_application_sid"] and not number["trunk_sid"], number
        assert number["voice_method"] == "POST", "the bridge's webhook takes POST"
        sid = "CA" + secrets.token_hex(16)
        fields = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "CallSid": sid,
            "CallStatus": "ringing",
            "Called": phone_number,
            "Caller": caller,
            "Direction": "inbound",
            "From": caller,
            "To": phone_number,
        }
        return RingingCall(sid, number, fields, self._post(number["voice_url"], fields))

    def hang_up(self, call: RingingCall, duration_seconds: int, status: str = "completed") -> httpx.Response:
        """The call is over: Twilio posts its final status to the number's status callback (signed)."""
        fields = {
            **call.fields,
            "CallStatus": status,
            "CallDuration": str(duration_seconds),
            "Duration": str(max(1, -(-duration_seconds // 60))),
        }
        assert call.number["status_callback"], "the number has no status callback"
        return self._post(call.number["status_callback"], fields)


def install(server: HTTPServer) -> FakeTwilioNumbers:
    """Serve the IncomingPhoneNumbers routes on `server` (which may serve other Twilio fakes too)."""
    fake = FakeTwilioNumbers(server)
    server.expect_request(LIST_PATH, method="GET").respond_with_handler(fake.handle_list)
    server.expect_request(ONE_PATH, method="GET").respond_with_handler(fake.handle_one)
    server.expect_request(ONE_PATH, method="POST").respond_with_handler(fake.handle_one)
    return fake


@pytest.fixture
def fake_twilio_numbers() -> Iterator[FakeTwilioNumbers]:
    """A fake Twilio IncomingPhoneNumbers API on 127.0.0.1 (ephemeral port), stopped after the test."""
    with http_server() as server:
        yield install(server)
