"""The platform keeps an active admin even when its last two admins are removed at the same moment.

PostgreSQL only (two real connections): on SQLite the database-wide write lock serializes writers, and
tests/unit/test_admin_users.py covers the rule itself on both databases.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import Session, select

from leadapp.core.db import get_engine
from leadapp.core.errors import UserError
from leadapp.core.models import AuditEvent, User
from leadapp.core.services import accounts, admin_users
from tests.integration.programs import waiting_on_a_lock

PASSWORD = "a long enough password"
LOCK_WAIT_TIMEOUT = 10.0


@pytest.fixture
def any_db_url(migrated_pg_url: str) -> str:
    """This module runs on PostgreSQL only (overrides the SQLite/PostgreSQL pair of tests/conftest.py)."""
    return migrated_pg_url


def _disable(s: Session, actor: User, target: User) -> None:
    accounts.set_active(s, actor, target.id, False)  # type: ignore[arg-type]


def _demote(s: Session, actor: User, target: User) -> None:
    admin_users.change_role(s, actor, target.id, "consumer")  # type: ignore[arg-type]


REMOVALS: dict[str, Callable[[Session, User, User], None]] = {"disable": _disable, "demote": _demote}


@pytest.mark.parametrize(("first", "second"), [("disable", "disable"), ("disable", "demote"), ("demote", "disable")])
def test_removing_the_last_two_admins_at_once_leaves_one(app_env: dict[str, str], first: str, second: str) -> None:
    engine = get_engine()
    with Session(engine, expire_on_commit=False) as setup:
        ann = accounts.ensure_admin(setup, "ann@example.com", PASSWORD)
        bob = accounts.ensure_admin(setup, "bob@example.com", PASSWORD)
        setup.commit()

    outcome: dict[str, Any] = {}

    def other_admin() -> None:
        """Bob removes Ann while Ann's removal of Bob is still open."""
        try:
            with Session(engine, expire_on_commit=False) as other:
                REMOVALS[second](other, bob, ann)
                other.commit()
                outcome["done"] = True
        except Exception as exc:  # reported to the test thread below
            outcome["error"] = exc

    with Session(engine, expire_on_commit=False) as mine:
        REMOVALS[first](mine, ann, bob)  # Ann removes Bob: allowed, Ann is still an admin
        worker = threading.Thread(target=other_admin, daemon=True)
        worker.start()
        deadline = time.monotonic() + LOCK_WAIT_TIMEOUT
        # Locked rows make Bob's request wait for Ann's; without the locks it would finish at once.
        while not waiting_on_a_lock(engine) and worker.is_alive():
            assert time.monotonic() < deadline, "the second request neither waited nor finished"
            time.sleep(0.05)
        mine.commit()
    worker.join(timeout=LOCK_WAIT_TIMEOUT)
    assert not worker.is_alive()

    assert "done" not in outcome, "both removals went through: no active admin is left"
    error = outcome.get("error")
    assert isinstance(error, UserError) and str(error) == accounts.LAST_ADMIN_MESSAGE, repr(error)
    with Session(engine) as check:
        admins = check.exec(select(User.email).where(User.role == "admin", User.is_active.is_(True))).all()  # type: ignore[attr-defined]
        assert admins == ["ann@example.com"]
        # Only the removal that happened is in the audit trail.
        actions = check.exec(select(AuditEvent.action, AuditEvent.actor_id)).all()
        expected = "user.disable" if first == "disable" else "user.role_change"
        assert [(a, actor) for a, actor in actions if a in ("user.disable", "user.role_change")] == [(expected, ann.id)]
