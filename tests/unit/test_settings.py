"""The settings object: DATABASE_URL forms, and `.env.example` listing every setting."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.engine import make_url

from leadapp.core.settings import ROOT, Settings, psycopg_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@db.example:5432/leadapp", "postgresql+psycopg://u:p@db.example:5432/leadapp"),
        (
            "postgres://u:p@db.example:5432/leadapp?sslmode=require",
            "postgresql+psycopg://u:p@db.example:5432/leadapp?sslmode=require",
        ),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("sqlite:///var/leadapp.db", "sqlite:///var/leadapp.db"),
    ],
)
def test_database_url_from_the_environment_uses_the_installed_driver(
    monkeypatch: pytest.MonkeyPatch, given: str, expected: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", given)
    settings = Settings(_env_file=None)
    assert settings.database_url == expected
    assert psycopg_url(given) == expected


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_a_plain_postgres_url_gives_a_working_psycopg_engine(monkeypatch: pytest.MonkeyPatch, scheme: str) -> None:
    monkeypatch.setenv("DATABASE_URL", f"{scheme}://postgres@127.0.0.1:5432/postgres")
    settings = Settings(_env_file=None)
    url = make_url(settings.database_url)
    assert url.get_dialect().driver == "psycopg"  # psycopg2 (SQLAlchemy's default for postgresql://) is not installed
    assert not settings.is_sqlite


def test_env_example_lists_every_setting() -> None:
    # A setting line is `NAME=value`, or `# NAME=value` for one that must stay unset by default (REDIS_URL).
    listed = {
        name.lower() for name in re.findall(r"^(?:# )?([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M)
    }
    missing = [name for name in Settings.model_fields if name not in listed]
    assert missing == []
