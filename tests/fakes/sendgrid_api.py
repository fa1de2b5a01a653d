"""A stand-in for SendGrid's v3 Mail Send API on loopback, for the real `sendgrid` SDK to talk to.

`POST /v3/mail/send` checks what SendGrid checks first (Bearer key, the JSON shape: personalizations
with recipients, from, subject, content) and answers like SendGrid: 202 with an `X-Message-Id` header
and no body, 401 for a wrong key, 400 with an `errors` list for a malformed request. Failures can be
injected: the next N requests, or every request, answer 500.

Use in a test module: `from tests.fakes.sendgrid_api import fake_sendgrid  # noqa: F401`, then point the
app at it with SENDGRID_API_KEY=fake.api_key and SENDGRID_HOST=fake.url.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.fakes.loopback import ProviderFake, http_server

MAIL_SEND_PATH = "/v3/mail/send"


def _errors(status: int, *errors: tuple[str, str | None]) -> Response:
    body = {"errors": [{"message": message, "field": field, "help": None} for message, field in errors]}
    return Response(json.dumps(body), status=status, content_type="application/json")


def shape_errors(payload: Any) -> list[tuple[str, str | None]]:
    """What SendGrid would reject in a Mail Send body (the checks the SDK's output must pass)."""
    if not isinstance(payload, dict):
        return [("The request body must be a JSON object.", None)]
    problems: list[tuple[str, str | None]] = []
    personalizations = payload.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        problems.append(
            ("The personalizations field is required and must have at least one personalization.", "personalizations")
        )
        personalizations = []
    for index, item in enumerate(personalizations):
        recipients = item.get("to") if isinstance(item, dict) else None
        if not isinstance(recipients, list) or not recipients:
            problems.append(
                ("The to array is required for all personalization objects.", f"personalizations.{index}.to")
            )
            continue
        for recipient in recipients:
            if not isinstance(recipient, dict) or "@" not in str(recipient.get("email", "")):
                problems.append(("Does not contain a valid address.", f"personalizations.{index}.to"))
    sender = payload.get("from")
    if not isinstance(sender, dict) or "@" not in str(sender.get("email", "")):
        problems.append(("The from object must be provided for every email send.", "from.email"))
    has_subject = bool(payload.get("subject")) or all(
        isinstance(p, dict) and p.get("subject") for p in personalizations or [{}]
    )
    if not has_subject:
        problems.append(("The subject is required.", "subject"))
    content = payload.get("content")
    if not isinstance(content, list) or not content:
        problems.append(("Unless a valid template_id is provided, the content parameter is required.", "content"))
    else:
        types = [c.get("type") if isinstance(c, dict) else None for c in content]
        if any(not isinstance(c, dict) or not c.get("type") or not c.get("value") for c in content):
            problems.append(("Each content object needs a type and a non-empty value.", "content"))
        if "text/plain" in types and types[0] != "text/plain":
            problems.append(("If present, text/plain content must be first.", "content.0.type"))
    return problems


class FakeSendGrid(ProviderFake):
    """The fake's state: what it received and which failures it injects."""

    api_key = "SG.fake-test-key.0123456789"

    def __init__(self, server: HTTPServer) -> None:
        super().__init__(server)
        self.requests: list[dict[str, Any]] = []
        """Every request to Mail Send, accepted or not: {"headers", "json"}."""
        self.messages: list[dict[str, Any]] = []
        """Accepted messages: the JSON body plus "message_id"."""

    def handle(self, request: Request) -> Response:
        if self._outage():
            return _errors(503, ("Service unavailable (injected by the fake)", None))
        try:
            payload = json.loads(request.get_data(as_text=True) or "null")
        except ValueError:
            payload = None
        with self._lock:
            self.requests.append({"headers": dict(request.headers), "json": payload})
            if request.headers.get("Authorization") != f"Bearer {self.api_key}":
                return _errors(401, ("The provided authorization grant is invalid, expired, or revoked", None))
            if self._fails_now():
                return _errors(self.fail_status, ("Internal server error (injected by the fake)", None))
            problems = shape_errors(payload)
            if problems:
                return _errors(400, *problems)
            message_id = secrets.token_urlsafe(16)[:22]
            self.messages.append({**payload, "message_id": message_id})
        return Response("", status=202, headers={"X-Message-Id": message_id})


@pytest.fixture
def fake_sendgrid() -> Iterator[FakeSendGrid]:
    """A fake SendGrid v3 API on 127.0.0.1 (ephemeral port), stopped after the test."""
    with http_server() as server:
        fake = FakeSendGrid(server)
        server.expect_request(MAIL_SEND_PATH, method="POST").respond_with_handler(fake.handle)
        yield fake
