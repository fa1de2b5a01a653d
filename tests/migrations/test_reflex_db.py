"""`reflex db` and plain Alembic agree: one history, the same head, the same view of a database."""

from __future__ import annotations

import os
import subprocess
import sys

from alembic.script import ScriptDirectory

from tests.conftest import ROOT, alembic_config


def _reflex_db(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "REFLEX_TELEMETRY_ENABLED": "false"}
    return subprocess.run(
        [sys.executable, "-m", "reflex", "db", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )


def test_reflex_db_status_reports_the_alembic_head_as_applied(sqlite_url: str):
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    result = _reflex_db(sqlite_url, "status")
    assert result.returncode == 0, result.stdout + result.stderr
    line = next(line for line in result.stdout.splitlines() if f"{head} (head)" in line)
    assert "✓" in line


def test_reflex_db_migrate_builds_the_same_schema_as_alembic(tmp_path):
    url = f"sqlite:///{tmp_path / 'by-reflex.db'}"
    result = _reflex_db(url, "migrate")
    assert result.returncode == 0, result.stdout + result.stderr
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.connect() as conn:
        assert (
            MigrationContext.configure(conn).get_current_revision()
            == ScriptDirectory.from_config(alembic_config()).get_current_head()
        )
    engine.dispose()
