"""The admin health page's providers (issue 10, item 9): each configured or its local stand-in, with the last
error its adapter met, kept in Redis so that a failure in one process (a worker) shows in another (the web
app); errors are stored bounded and without secrets or contact details. Real SDKs against the fakes."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from leadapp.core.errors import UserError
from leadapp.core.providers import status as provider_status
from leadapp.core.providers.llm import ProviderError
from leadapp.core.providers.places import PlacesError, find_places
from leadapp.core.providers.sms import SendError, send_sms
from leadapp.core.services import health, intake
from leadapp.core.services.compose import claude_compose
from leadapp.core.settings import ROOT, get_settings
from tests.fakes.anthropic_api import fake_anthropic, server_error  # noqa: F401
from tests.fakes.sendgrid_api import FakeSendGrid, fake_sendgrid  # noqa: F401
from tests.fakes.twilio_api import FakeTwilio, fake_twilio  # noqa: F401


def _rows() -> dict[str, dict[str, str]]:
    return {row["name"]: row for row in health.provider_rows()}


def _setenv(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()


def test_without_keys_every_provider_is_its_local_stand_in(app_env: dict[str, str]) -> None:
    rows = _rows()
    assert list(rows) == [
        "anthropic",
        "openai_realtime",
        "twilio",
        "email",
        "google_places",
        "turnstile",
        "photo_storage",
    ]
    assert all(row["configured"] == "" and row["last_error"] == "" for row in rows.values())
    assert rows["email"]["mode"] == "local outbox (shown under Outbox)"
    assert rows["twilio"]["mode"].startswith("simulated calls")


def test_a_failure_in_another_process_shows_here(
    app_env: dict[str, str],
    fake_sendgrid: FakeSendGrid,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker's failed SendGrid send (a child process) is the web app's last error for email."""
    fake_sendgrid.always_fail = True
    env = {**app_env, "SENDGRID_API_KEY": fake_sendgrid.api_key, "SENDGRID_HOST": fake_sendgrid.url}
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "from leadapp.core.providers.email import send_email, SendError\n"
            "try:\n    send_email('casey@example.com', 'Hi', 'Hello', '')\n"
            "except SendError as e:\n    print('failed', e.message)\n",
        ],
        cwd=ROOT,
        env={**os.environ, **env, "SENTRY_DSN": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == 0 and "failed sendgrid: HTTP 500" in child.stdout, child.stderr
    _setenv(monkeypatch, SENDGRID_API_KEY=fake_sendgrid.api_key, SENDGRID_HOST=fake_sendgrid.url)
    row = _rows()["email"]
    assert row["configured"] == "yes" and row["mode"] == "SendGrid"
    assert row["last_error"].startswith("sendgrid: HTTP 500") and row["last_error_at"].endswith("UTC")
    assert fake_sendgrid.api_key not in row["last_error"]


def test_twilio_sms_failure_is_recorded(
    app_env: dict[str, str],
    fake_twilio: FakeTwilio,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _setenv(
        monkeypatch,
        TWILIO_ACCOUNT_SID=fake_twilio.account_sid,
        TWILIO_AUTH_TOKEN=fake_twilio.auth_token,
        TWILIO_FROM_NUMBER=fake_twilio.from_number,
        TWILIO_API_BASE=fake_twilio.url,
    )
    fake_twilio.invalid_numbers.add("+13178462200")
    with pytest.raises(SendError):
        send_sms("+13178462200", "Your request was matched")
    row = _rows()["twilio"]
    assert row["configured"] == "yes" and "21211" in row["last_error"] and "Invalid 'To'" in row["last_error"]


def test_claude_failures_are_recorded(app_env: dict[str, str], fake_anthropic) -> None:  # noqa: F811
    fake_anthropic.script([server_error(), server_error()])
    with pytest.raises(ProviderError):
        claude_compose({"business_name": "Carmel Plumbing", "category_label": "Plumbing"})
    row = _rows()["anthropic"]
    assert row["configured"] == "yes" and row["mode"].startswith("Claude")
    assert row["last_error"].startswith("compose: HTTP 500")
    assert fake_anthropic.api_key not in row["last_error"]


def test_google_places_failures_are_recorded(
    app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, closed_port: int
) -> None:
    _setenv(
        monkeypatch,
        GOOGLE_PLACES_API_KEY="AIza-the-key-of-this-project",
        GOOGLE_PLACES_BASE_URL=f"http://127.0.0.1:{closed_port}",
    )
    with pytest.raises(PlacesError):
        find_places("46032", "plumbing")
    row = _rows()["google_places"]
    assert row["configured"] == "yes" and row["last_error"].startswith("Google Places could not be reached")
    assert "AIza-the-key-of-this-project" not in row["last_error"]


def test_an_unreachable_turnstile_is_recorded(
    app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, closed_port: int
) -> None:
    _setenv(
        monkeypatch,
        TURNSTILE_SITE_KEY="site-key",
        TURNSTILE_SECRET_KEY="secret-key-of-turnstile",
        TURNSTILE_VERIFY_URL=f"http://127.0.0.1:{closed_port}/siteverify",
    )
    with pytest.raises(UserError):
        intake.check_turnstile("a-token", "198.51.100.1")
    row = _rows()["turnstile"]
    assert row["configured"] == "yes" and row["last_error"].startswith("siteverify unreachable")


def test_stored_errors_are_bounded_and_hold_no_secret_or_contact_detail(
    app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _setenv(monkeypatch, TWILIO_AUTH_TOKEN="tok-0123456789secret")
    provider_status.record_failure(
        "twilio",
        "HTTP 400 for +1 (317) 846-2200 / casey@example.com with token tok-0123456789secret\n" + "x" * 2000,
        now=datetime(2026, 3, 1, 12, 30, tzinfo=UTC),
    )
    last = provider_status.last_failure("twilio")
    assert last is not None and last.at == datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    assert last.error.startswith("HTTP 400 for [phone] / [email] with token *** x")
    assert len(last.error) == provider_status.MAX_ERROR_CHARS and "\n" not in last.error
    provider_status.record_failure("no-such-provider", "ignored")
    assert provider_status.last_failure("no-such-provider") is None


def test_an_unreachable_redis_neither_breaks_recording_nor_the_page(
    app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, closed_port: int
) -> None:
    _setenv(monkeypatch, REDIS_URL=f"redis://127.0.0.1:{closed_port}/0")
    from leadapp.core import broker

    broker.redis_for.cache_clear()
    provider_status.record_failure("email", "smtp: refused")  # logged, not raised
    assert all(row["last_error"] == "" for row in health.provider_rows())
