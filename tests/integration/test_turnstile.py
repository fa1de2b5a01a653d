"""Cloudflare Turnstile, when configured: intake asks the (fake) siteverify endpoint and obeys its answer."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, func, select

from leadapp.core.errors import UserError
from leadapp.core.models import Lead
from leadapp.core.services import intake
from tests.conftest import SITEVERIFY


def submission(token: str) -> intake.Submission:
    return intake.Submission(
        text="My water heater is leaking all over the garage floor, need someone today please",
        zip="46032",
        email="casey@example.com",
        client_ip="198.51.100.5",
        turnstile_token=token,
    )


def count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Lead)).one()


def test_a_valid_token_is_verified_with_the_secret_and_the_lead_accepted(turnstile, db_session):
    turnstile.expect_oneshot_request(SITEVERIFY, method="POST").respond_with_json({"success": True})
    accepted = intake.submit(db_session, submission("good-token"))
    assert accepted.created
    sent = turnstile.log[0][0].form
    assert sent["secret"] == "secret-key" and sent["response"] == "good-token" and sent["remoteip"] == "198.51.100.5"


def test_a_refused_token_stores_nothing(turnstile, db_session):
    turnstile.expect_oneshot_request(SITEVERIFY, method="POST").respond_with_data(
        json.dumps({"success": False, "error-codes": ["invalid-input-response"]}), content_type="application/json"
    )
    with pytest.raises(UserError) as caught:
        intake.submit(db_session, submission("bad-token"))
    assert caught.value.field == "turnstile"
    assert count(db_session) == 0


def test_a_missing_token_is_refused_without_asking(turnstile, db_session):
    with pytest.raises(UserError):
        intake.submit(db_session, submission(""))
    assert turnstile.log == [] and count(db_session) == 0


def test_without_keys_no_check_happens(app_env, db_session, httpserver):
    assert intake.submit(db_session, submission("")).created
    assert httpserver.log == []
