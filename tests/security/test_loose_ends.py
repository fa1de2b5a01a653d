"""Loose ends (issue 11, item 14), each written as what an outsider tries or reads.

- The voice bridge faces the internet (Twilio calls it): its API map (`/docs`, `/redoc`, `/openapi.json`) was
  served to anyone, and its public health answer carried the database's error text.
- Logs and error reports held what the code was handling: a consumer's name, phone number, email address,
  street address (an SMTP refusal names the recipient; Sentry sent every frame's local variables).
- SMTP went out in plain text unless told otherwise: a server (or a man in the middle) that offers no
  STARTTLS got the login and the message in the clear.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pytest_httpserver import HTTPServer
from starlette.testclient import TestClient

from leadapp.core.providers.email import SendError, send_email
from leadapp.core.settings import ROOT, get_settings
from tests.fakes.smtp_server import FakeSmtp, fake_smtp  # noqa: F401
from tests.integration.conftest import empty_database_url  # noqa: F401
from tests.unit.test_observability import _body, _events

TIMEOUT = 60
JANE = {"name": "Jane Q. Consumer", "phone": "(317) 846-2200", "email": "jane.consumer@example.com"}
STREET = "742 Evergreen Terrace"


# --- the voice bridge's public face ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"])
def test_the_bridge_publishes_no_map_of_its_routes(path: str) -> None:
    from voice_bridge.app import app

    with TestClient(app) as client:
        assert client.get(path).status_code == 404


def test_the_bridge_health_answer_carries_no_error_text(empty_database_url: str) -> None:  # noqa: F811
    from voice_bridge.app import app

    with TestClient(app) as client:
        reply = client.get("/health")
    assert reply.status_code == 503
    assert reply.json() == {"status": "degraded", "service": "voice_bridge", "version": reply.json()["version"],
                            "database": False, "calls": 0}  # fmt: skip
    for leak in ("migrat", "sqlite", "alembic", "unreachable", "head", empty_database_url.rsplit("/", 1)[-1]):
        assert leak not in reply.text.lower()


# --- logs and error reports -------------------------------------------------------------------------

SCRIPT = """
import sentry_sdk
from leadapp.core import observability
from leadapp.core.observability import get_logger

observability.configure("pytest")
log = get_logger("attack")
log.info("lead_received", contact_name="Jane Q. Consumer", lead_id=7, call_sid="CA1234567890123456789012",
         note="call me at (317) 846-2200 or jane.consumer@example.com, 742 Evergreen Terrace")
log.warning("smtp_refused", error="smtp: recipient refused: {'jane.consumer@example.com': (550, b'unknown')}",
            details={"to": "+13178462200", "tries": [1, "again at 317 846 2200"]})


def handle(consumer_name, phone):
    address = "742 Evergreen Terrace"
    raise ValueError(f"cannot call {phone} for lead 7")


try:
    handle("Jane Q. Consumer", "+13178462200")
except ValueError as exc:
    observability.report_exception(exc, lead_id=7, email="jane.consumer@example.com")
sentry_sdk.flush(timeout=10)
"""


def run_script(dsn: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
    env.update({"SENTRY_DSN": dsn, "ENVIRONMENT": "test", "LOG_JSON": "true", "PYTHONPATH": str(ROOT)})
    env.update({"NO_PROXY": "127.0.0.1,localhost", "HTTP_PROXY": "", "HTTPS_PROXY": "", "http_proxy": "",
                "https_proxy": ""})  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert result.returncode == 0, result.stderr
    return result


def personal_data_in(text: str) -> list[str]:
    digits = "".join(ch for ch in text if ch.isdigit())
    found = [value for value in (JANE["name"], JANE["email"], STREET, "Jane Q") if value in text]
    return found + [number for number in ("3178462200",) if number in digits.replace("13178462200", "3178462200")]


def test_logs_carry_no_name_phone_email_or_address() -> None:
    result = run_script("")
    assert "lead_received" in result.stderr and "smtp_refused" in result.stderr and "unhandled_error" in result.stderr
    assert '"lead_id": 7' in result.stderr and "CA1234567890123456789012" in result.stderr  # identifiers stay
    lines = [line for line in result.stderr.splitlines() if line.startswith("{")]
    assert personal_data_in("\n".join(lines)) == [], result.stderr


@pytest.fixture
def sentry_endpoint(httpserver: HTTPServer) -> HTTPServer:
    httpserver.expect_request("/api/1/envelope/", method="POST").respond_with_json({"id": "0" * 32})
    return httpserver


def test_an_error_report_carries_no_local_variables_or_personal_data(sentry_endpoint: HTTPServer) -> None:
    run_script(f"http://public@127.0.0.1:{sentry_endpoint.port}/1")
    bodies = [_body(request) for request, _response in sentry_endpoint.log]
    events = [event for body in bodies for event in _events(body)]
    assert len(events) == 1, bodies
    (event,) = events
    frames = event["exception"]["values"][-1]["stacktrace"]["frames"]
    assert frames and all("vars" not in frame for frame in frames)
    assert event["exception"]["values"][-1]["value"] == "cannot call [phone] for lead 7"
    assert personal_data_in(b"\n".join(bodies).decode(errors="replace")) == []


# --- SMTP ----------------------------------------------------------------------------------------------


def test_smtp_sends_nothing_to_a_server_without_starttls_by_default(
    fake_smtp: FakeSmtp,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("SENDGRID_API_KEY", "SMTP_USE_TLS", "SMTP_USERNAME", "SMTP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SMTP_HOST", fake_smtp.host)
    monkeypatch.setenv("SMTP_PORT", str(fake_smtp.port))
    get_settings.cache_clear()
    try:
        assert get_settings().smtp_use_tls is True
        with pytest.raises(SendError) as refused:
            send_email(JANE["email"], "Your request", "A plumber will call you.", "<p>A plumber will call you.</p>")
        assert not refused.value.permanent  # retried later (a server that gains STARTTLS gets it then)
        assert fake_smtp.messages == []
    finally:
        get_settings.cache_clear()
