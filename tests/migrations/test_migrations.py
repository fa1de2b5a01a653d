"""The one Alembic history, on SQLite and on PostgreSQL: complete, without drift, reversible, run by the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import leadapp.core.models  # noqa: F401  (registers every table on SQLModel.metadata)
from alembic import command
from leadapp.core import migration_history
from leadapp.core.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]
CLI_TIMEOUT = 180


@pytest.fixture(params=["sqlite", "postgres"])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty database (a new SQLite file, or a new PostgreSQL database); DATABASE_URL points at it."""
    url = f"sqlite:///{tmp_path / 'empty.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


@pytest.fixture
def engine(empty_db_url: str) -> Iterator[Engine]:
    """An engine of the test's own (not the app's cached one), disposed at the end."""
    engine = create_engine(empty_db_url)
    yield engine
    engine.dispose()


def _config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    return config


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def _drift(engine: Engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, SQLModel.metadata)


def _current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_metadata_has_the_tables_the_app_needs() -> None:
    expected = {"users", "auth_sessions", "audit_events", "contact_messages", "leads", "matches", "businesses"}
    assert expected <= set(SQLModel.metadata.tables)


def test_upgrade_from_empty_creates_every_table_at_head(empty_db_url: str, engine: Engine) -> None:
    assert _tables(engine) == set()
    command.upgrade(_config(empty_db_url), "head")
    assert _tables(engine) >= set(SQLModel.metadata.tables) | {"alembic_version"}
    head = ScriptDirectory.from_config(_config(empty_db_url)).get_current_head()
    assert head is not None
    assert _current_revision(engine) == head


def test_upgrade_reads_database_url_from_the_environment(empty_db_url: str, engine: Engine) -> None:
    command.upgrade(Config(str(ROOT / "alembic.ini")), "head")  # no URL in the config: DATABASE_URL decides
    assert _tables(engine) >= set(SQLModel.metadata.tables)


def test_migrations_match_the_models_without_drift(empty_db_url: str, engine: Engine) -> None:
    command.upgrade(_config(empty_db_url), "head")
    assert _drift(engine) == []


def test_downgrade_to_base_and_upgrade_again(empty_db_url: str, engine: Engine) -> None:
    config = _config(empty_db_url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    assert _tables(engine) - {"alembic_version"} == set()
    assert _current_revision(engine) is None
    command.upgrade(config, "head")
    assert _tables(engine) >= set(SQLModel.metadata.tables)
    assert _current_revision(engine) == ScriptDirectory.from_config(config).get_current_head()
    assert _drift(engine) == []


def test_history_is_linear_with_one_head() -> None:
    script = ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini")))
    assert len(script.get_heads()) == 1
    assert len(script.get_bases()) == 1


def _cli(
    url: str, *args: str, env: dict[str, str] | None = None, exit_code: int = 0
) -> subprocess.CompletedProcess[str]:
    """Run `python -m leadapp.cli ARGS` against `url` in a child process; it must exit with `exit_code`."""
    child_env = {k: v for k, v in os.environ.items() if k not in {"SENTRY_DSN", "REDIS_URL", "SEED_DEMO"}}
    child_env.update({"DATABASE_URL": url, "ENVIRONMENT": "test", "PYTHONPATH": str(ROOT), **(env or {})})
    result = subprocess.run(
        [sys.executable, "-m", "leadapp.cli", *args],
        cwd=ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    assert result.returncode == exit_code, f"cli {args} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result


def test_cli_migrate_then_seed_twice_is_idempotent(empty_db_url: str, engine: Engine) -> None:
    _cli(empty_db_url, "migrate")
    assert _current_revision(engine) == ScriptDirectory.from_config(_config(empty_db_url)).get_current_head()
    first = _cli(empty_db_url, "seed")
    assert "admin@leadapp.demo" in first.stdout
    _cli(empty_db_url, "migrate")  # migrating an up-to-date database is a no-op
    _cli(empty_db_url, "seed")
    with engine.connect() as conn:
        admins = conn.execute(text("SELECT email FROM users WHERE role = 'admin'")).scalars().all()
        users = conn.execute(text("SELECT count(*) FROM users")).scalar_one()
        businesses = conn.execute(text("SELECT count(*) FROM businesses")).scalar_one()
    assert admins == ["admin@leadapp.demo"]
    assert users == 4
    assert businesses == 2


def test_cli_seed_if_enabled_respects_seed_demo_false(empty_db_url: str, engine: Engine) -> None:
    _cli(empty_db_url, "migrate")
    result = _cli(empty_db_url, "seed", "--if-enabled", env={"SEED_DEMO": "false"})
    assert "SEED_DEMO is off" in result.stdout
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM users")).scalar_one() == 0


def test_cli_seed_without_force_leaves_an_already_seeded_database_alone(empty_db_url: str, engine: Engine) -> None:
    """`seed` says 'Demo data already present.'; only `--force` re-creates missing demo rows (cli.py help).

    `make run` seeds on every start, so without this a demo business an admin removed comes back each time.
    """
    _cli(empty_db_url, "migrate")
    _cli(empty_db_url, "seed")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM businesses WHERE name = 'Midtown Electric & Air'"))
    again = _cli(empty_db_url, "seed")
    assert "Demo data already present." in again.stdout
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM businesses")).scalar_one() == 1
    _cli(empty_db_url, "seed", "--force")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM businesses")).scalar_one() == 2


@pytest.mark.parametrize("retired", ["0001", "inbox", "quality"])
def test_cli_migrate_tells_to_recreate_a_database_from_before_the_baseline(
    empty_db_url: str, engine: Engine, retired: str
) -> None:
    """A database stamped with a revision folded into the baseline is left alone, with advice, not a traceback."""
    _cli(empty_db_url, "migrate")
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": retired})

    result = _cli(empty_db_url, "migrate", exit_code=2)

    assert "Traceback" not in result.stderr
    assert f"at revision {retired}, from before the migration history was folded" in result.stderr
    database = engine.url.database or ""
    assert f"delete the SQLite file {database}" in result.stderr or f"drop the PostgreSQL database {database}" in (
        result.stderr
    )
    assert _current_revision(engine) == retired  # untouched


def test_the_baseline_keeps_the_id_of_the_last_folded_revision() -> None:
    """A database migrated to head before the fold is at head after it (its revision id did not change)."""
    script = ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini")))
    assert script.get_current_head() == migration_history.BASELINE == "spanish"
    assert not migration_history.RETIRED_REVISIONS & {rev.revision for rev in script.walk_revisions()}
