"""The `inbox` migration on SQLite and PostgreSQL: leads stored before it get their redacted text (what a
business sees before accepting), and downgrading removes the two columns again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.config import Config
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine

from alembic import command
from leadapp.core.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Engine]]:
    url = f"sqlite:///{tmp_path / 'inbox.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    engine = create_engine(url)
    yield url, engine
    engine.dispose()
    get_settings.cache_clear()


def _config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    return config


def _columns(engine: Engine, table: str) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns(table)}


def test_existing_leads_get_their_redacted_text_and_downgrade_removes_it(db: tuple[str, Engine]) -> None:
    url, engine = db
    command.upgrade(_config(url), "0001")
    with engine.begin() as conn:
        for text_value in ("Leak! Call 317-846-2200, 742 Evergreen Terrace, Carmel 46032", "Noisy furnace", ""):
            conn.execute(
                text(
                    "INSERT INTO leads (source, raw_text, contact_name, contact_email, contact_phone_enc, "
                    "contact_phone_hash, contact_phone_last4, preferred_contact, zip, consent_ai_calls, consent_text, "
                    "client_ip, key_requirements, is_spam, spam_reason, flagged, flag_reason, classifier, status, "
                    "attempts, created_at, updated_at) VALUES ('form', :t, '', 'casey@example.com', '', '', '', "
                    "'email', '46032', false, '', '', '[]', false, '', false, '', '', 'matched', 0, "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"t": text_value},
            )
    command.upgrade(_config(url), "inbox")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT raw_text, redacted_text FROM leads ORDER BY id")).all()
    assert [r[1] for r in rows] == ["Leak! Call [phone], [address], Carmel 46032", "Noisy furnace", ""]
    assert "human_callback_handled_at" in _columns(engine, "calls")

    command.downgrade(_config(url), "0001")
    assert "redacted_text" not in _columns(engine, "leads")
    assert "human_callback_handled_at" not in _columns(engine, "calls")
