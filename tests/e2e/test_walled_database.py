"""On PostgreSQL the running app is walled by row-level security: every connection of its programs is the
application role `make run` made (it owns no table and has no BYPASSRLS), never the superuser it was given."""

from __future__ import annotations

import psutil
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from leadapp.core import db_roles
from tests.e2e.conftest import Deployment
from tests.e2e.journeys import login


def test_the_programs_connect_as_the_walled_application_role(deployment: Deployment, page: Page):
    if not deployment.local or not deployment.database_url.startswith("postgresql"):
        pytest.skip("only for the local PostgreSQL run (E2E_DATABASE=postgres)")
    database = make_url(deployment.database_url).database
    _, app = db_roles.role_names(database)
    # The admin's home reads every table: the web app holds connections too.
    login(page, deployment, deployment.admin_email, deployment.admin_password)
    expect(page.locator("#admin-heading")).to_be_visible()
    engine = create_engine(deployment.database_url)
    try:
        with engine.connect() as conn:
            # Every connection but this test process's own (the suite reads the outbox as the superuser).
            ours = {c.laddr.port for c in psutil.Process().net_connections(kind="tcp") if c.laddr}
            rows = conn.execute(
                text("SELECT usename, client_port FROM pg_stat_activity WHERE datname = :d AND client_port > 0"),
                {"d": database},
            ).all()
    finally:
        engine.dispose()
    users = {user for user, port in rows if port not in ours}
    assert users == {app}, users
    app_url = make_url(deployment.database_url).set(username=app, password=db_roles.role_password(app))
    assert db_roles.app_role_problems(app_url.render_as_string(hide_password=False)) == []
