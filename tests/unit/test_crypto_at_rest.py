"""Encrypted columns and link redaction (`crypto.encrypt_text`, `models.base.EncryptedText/JSON`,
`crypto.redact_links`)."""

from __future__ import annotations

import pytest

from leadapp.core import crypto
from leadapp.core.models.base import EncryptedJSON, EncryptedText
from leadapp.core.settings import Settings, get_settings


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SECRET_KEY", "k" * 32)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_encrypted_text_round_trips_and_hides_the_value(key):
    column = EncryptedText("notification")
    stored = column.process_bind_param("casey@example.com", None)
    assert stored and "casey" not in stored and stored != column.process_bind_param("casey@example.com", None)
    assert column.process_result_value(stored, None) == "casey@example.com"
    assert column.process_bind_param("", None) == "" and column.process_result_value("", None) == ""
    assert column.process_bind_param(None, None) is None


def test_a_value_from_another_key_or_purpose_reads_as_empty(key, monkeypatch: pytest.MonkeyPatch):
    stored = EncryptedText("notification").process_bind_param("+13175550100", None)
    assert EncryptedText("interview").process_result_value(stored, None) == ""
    monkeypatch.setenv("SECRET_KEY", "z" * 32)
    get_settings.cache_clear()
    assert EncryptedText("notification").process_result_value(stored, None) == ""
    assert EncryptedText("notification").process_result_value("not a token", None) == ""


def test_encrypted_json_round_trips(key):
    column = EncryptedJSON("interview")
    value = [{"role": "user", "text": "call me on (317) 846-2200"}]
    stored = column.process_bind_param(value, None)
    assert "846" not in stored
    assert column.process_result_value(stored, None) == value


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "Choose a new password: https://app.example/reset-password/Xy9_-abcdefghijklmnop1234 (24 hours)",
            "Choose a new password: https://app.example/reset-password/[hidden] (24 hours)",
        ),
        (
            '<a href="https://app.example/portal/track/eyJwIjp7ImxlYWQiOjF9fQ.abcDEF1234567890xyz">Follow</a>',
            '<a href="https://app.example/portal/track/[hidden]">Follow</a>',
        ),
        (
            "https://app.example/register?invite=AAAAAAAAAAAAAAAAAAAAAA&amp;utm=x",
            "https://app.example/register?invite=[hidden]&amp;utm=x",
        ),
        ("See https://app.example/dashboard/leads/12 for details", None),
        ("No link here, just a long word: supercalifragilisticexpialidocious", None),
    ],
)
def test_links_are_shown_with_their_tokens_hidden(text: str, shown: str | None):
    assert crypto.redact_links(text) == (shown if shown is not None else text)


def test_the_row_checks_can_only_be_switched_off_in_tests(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ACCESS_ROW_CHECKS_OFF", "true")
    for environment in ("production", "development"):
        monkeypatch.setenv("ENVIRONMENT", environment)
        with pytest.raises(ValueError, match="ACCESS_ROW_CHECKS_OFF"):
            Settings(_env_file=None)
    monkeypatch.setenv("ENVIRONMENT", "test")
    assert Settings(_env_file=None).access_row_checks_off
