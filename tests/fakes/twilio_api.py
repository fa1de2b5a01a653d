"""A stand-in for Twilio's Messages REST API on loopback, for the real `twilio` SDK to talk to.

`POST /2010-04-01/Accounts/{AccountSid}/Messages.json` checks HTTP basic auth (AccountSid:AuthToken,
the SID matching the path) and the form fields To, From, Body the way Twilio does, and answers like
Twilio: 201 with the message resource (sid "SM…", status "queued"), 401 error 20003 for bad
credentials, 400 with Twilio's error JSON for a missing field or an invalid number (21211).
Failures can be injected: the next N requests, or every request, answer 500 (error 20500).

Use in a test module: `from tests.fakes.twilio_api import fake_twilio  # noqa: F401`, then point the app
at it with TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN/TWILIO_FROM_NUMBER from the fake and TWILIO_API_BASE=fake.url.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.fakes.loopback import ProviderFake, http_server

MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
MAX_BODY_CHARS = 1600


def twilio_error(status: int, code: int, message: str) -> Response:
    """Twilio's error body, e.g. {"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400}."""
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return Response(json.dumps(body), status=status, content_type="application/json")


class FakeTwilio(ProviderFake):
    """The fake's state: credentials, what it received, which numbers are invalid, injected failures."""

    account_sid = "AC" + "0" * 31 + "1"
    auth_token = "fake-auth-token-0123456789abcdef"
    from_number = "+13175550100"

    def __init__(self, server: HTTPServer) -> None:
        super().__init__(server)
        self.requests: list[dict[str, Any]] = []
        """Every request to Messages.json, accepted or not: {"path", "auth", "form"}."""
        self.messages: list[dict[str, Any]] = []
        """Accepted messages: the resource returned (sid, to, from, body ...)."""
        self.invalid_numbers: set[str] = set()
        """Numbers answered with error 21211 even though they look like E.164."""

    def handle(self, request: Request) -> Response:
        if self._outage():
            return twilio_error(503, 20503, "Service Unavailable (injected by the fake)")
        match = MESSAGES_PATH.match(request.path)
        path_sid = match.group("sid") if match else ""
        auth = request.authorization
        form = request.form.to_dict()
        with self._lock:
            self.requests.append(
                {"path": request.path, "auth": (auth.username, auth.password) if auth else None, "form": form}
            )
            if (
                auth is None
                or (auth.username, auth.password) != (self.account_sid, self.auth_token)
                or path_sid != auth.username
            ):
                return twilio_error(401, 20003, "Authenticate")
            if self._fails_now():
                return twilio_error(self.fail_status, 20500, "Internal Server Error (injected by the fake)")
            to, sender, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
            if not to:
                return twilio_error(400, 21604, "A 'To' phone number is required.")
            if not sender:
                return twilio_error(400, 21603, "A 'From' phone number is required.")
            if not body:
                return twilio_error(400, 21602, "Message body is required.")
            if not E164.match(to) or to in self.invalid_numbers:
                return twilio_error(400, 21211, "Invalid 'To' Phone Number")
            if len(body) > MAX_BODY_CHARS:
                return twilio_error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
            sid = "SM" + secrets.token_hex(16)
            now = format_datetime(datetime.now(UTC), usegmt=True)
            resource = {
                "account_sid": self.account_sid,
                "api_version": "2010-04-01",
                "body": body,
                "date_created": now,
                "date_sent": None,
                "date_updated": now,
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "from": sender,
                "messaging_service_sid": None,
                "num_media": "0",
                "num_segments": str(max(1, -(-len(body) // 153))),
                "price": None,
                "price_unit": "USD",
                "sid": sid,
                "status": "queued",
                "subresource_uris": {"media": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}/Media.json"},
                "to": to,
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            }
            self.messages.append(resource)
        return Response(json.dumps(resource), status=201, content_type="application/json")


def twilio_settings(fake: Any, public_base: str) -> dict[str, str]:
    """The app's settings for a Twilio account that is `fake` (any of the Twilio fakes: they share the account),
    with the voice bridge reachable at `public_base`."""
    return {
        "TWILIO_ACCOUNT_SID": fake.account_sid,
        "TWILIO_AUTH_TOKEN": fake.auth_token,
        "TWILIO_FROM_NUMBER": fake.from_number,
        "TWILIO_API_BASE": fake.url,
        "VOICE_BRIDGE_PUBLIC_URL": public_base,
    }


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    """A fake Twilio REST API (Messages) on 127.0.0.1 (ephemeral port), stopped after the test."""
    with http_server() as server:
        fake = FakeTwilio(server)
        server.expect_request(MESSAGES_PATH, method="POST").respond_with_handler(fake.handle)
        yield fake
