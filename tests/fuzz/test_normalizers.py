"""Hypothesis properties of the normalizers (phone, ZIP, budget, dates) and of intake, over any input.

Each normalizer either gives a value in its normal form or refuses with a message naming the field; it never
raises anything else. Intake either stores a valid lead or refuses with a field message, and a refusal writes
nothing (every table keeps its row count).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from datetime import datetime

import phonenumbers
import pytest
import zipcodes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel

from leadapp.core import crypto, rls
from leadapp.core.db import get_engine, use_context
from leadapp.core.errors import UserError
from leadapp.core.models import Lead
from leadapp.core.services import admin_ops, classify, inbox, intake, moderation, notify
from leadapp.core.services import rules as rules_service
from leadapp.core.services.rules import RulesSnapshot, current_rules

E164 = re.compile(r"\+[1-9][0-9]{1,14}")
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)
PHONE_LIKE = st.one_of(
    ANY_TEXT,
    st.from_regex(r"\+?1?[ (]?[2-9][0-9]{2}[) .-]?[2-9][0-9]{2}[ .-]?[0-9]{4}", fullmatch=True),
    st.from_regex(r"\+[0-9]{1,16}", fullmatch=True),
)
ZIP_LIKE = st.one_of(ANY_TEXT, st.from_regex(r"\s?[0-9]{5}\s?", fullmatch=True), st.from_regex(r"[0-9]{1,9}"))
DAY_LIKE = st.one_of(
    ANY_TEXT,
    st.dates().map(lambda d: d.isoformat()),
    st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", fullmatch=True),
    st.just(""),
)
PROPERTY = settings(max_examples=100, deadline=None)


DEFAULT_RULES = RulesSnapshot(0, copy.deepcopy(rules_service.DEFAULT_RULES))


# --- phone ----------------------------------------------------------------------------------------------


@PROPERTY
@given(PHONE_LIKE)
def test_normalize_phone_gives_e164_or_the_trimmed_input_and_is_stable(raw: str) -> None:
    normal = notify.normalize_phone(raw)
    assert E164.fullmatch(normal) or normal == raw.strip()
    assert notify.normalize_phone(normal) == normal


# --- ZIP, phone, email as intake validates them ----------------------------------------------------------

TEXT = "The kitchen sink drains slowly and the disposal hums, need a plumber this week please"


@PROPERTY
@given(zip_code=ZIP_LIKE, phone=PHONE_LIKE, email=st.one_of(ANY_TEXT, st.emails()))
def test_intake_validation_gives_normal_values_or_names_the_field(zip_code: str, phone: str, email: str) -> None:
    submission = intake.Submission(text=TEXT, zip=zip_code, phone=phone, email=email)
    try:
        valid = intake.validate(submission, DEFAULT_RULES)
    except intake.SubmissionInvalid as exc:
        assert exc.errors and set(exc.errors) <= {"zip", "phone", "email"}, exc.errors
        assert all(message.strip() for message in exc.errors.values())
        return
    assert re.fullmatch(r"[0-9]{5}", valid.zip) and zipcodes.is_real(valid.zip)
    if valid.phone_e164:
        assert E164.fullmatch(valid.phone_e164)
        assert phonenumbers.is_valid_number(phonenumbers.parse(valid.phone_e164))
    assert valid.phone_e164 or valid.email


# --- budget -----------------------------------------------------------------------------------------------


@PROPERTY
@given(st.one_of(ANY_TEXT, st.from_regex(r"(under |over |about )?\$?[0-9,]{1,12}(\.[0-9]+)?( ?k| to [0-9]+)?")))
def test_budget_range_is_an_ordered_pair_of_sane_amounts(said: str) -> None:
    low, high = classify.budget_range(said)
    for amount in (low, high):
        assert amount is None or 0 <= amount <= classify.MAX_BUDGET
    if low is not None and high is not None:
        assert low <= high


# --- dates ------------------------------------------------------------------------------------------------


@PROPERTY
@given(since=DAY_LIKE, until=DAY_LIKE)
def test_inbox_day_filter_is_a_window_or_names_the_field(since: str, until: str) -> None:
    try:
        start, end = inbox.received_between(since, until)
    except UserError as exc:
        assert exc.field in ("since", "until") and exc.message
        return
    if start and end:
        assert start < end
    for bound in (start, end):
        assert bound is None or bound.tzinfo is not None


@PROPERTY
@given(since=DAY_LIKE, until=DAY_LIKE)
def test_admin_lead_filter_days_are_ordered_or_name_the_field(since: str, until: str) -> None:
    try:
        filters = moderation.lead_filters(since=since, until=until)
    except UserError as exc:
        assert exc.field in ("since", "until") and exc.message
        return
    if filters.since and filters.until:
        assert filters.since <= filters.until


@PROPERTY
@given(st.one_of(ANY_TEXT, st.from_regex(r"[0-9]{1,5}-[0-9]{1,3}", fullmatch=True)))
def test_a_month_is_a_month_long_window_or_names_the_field(month: str) -> None:
    try:
        start, end = admin_ops.month_bounds(month)
    except UserError as exc:
        assert exc.field == "month" and exc.message
        return
    assert start < end and start.day == 1 and end.day == 1 and isinstance(start, datetime)


# --- intake, stored or refused, never half-written --------------------------------------------------------


def row_counts() -> dict[str, int]:
    with Session(get_engine()) as s:
        return {
            t.name: s.execute(sa_select(func.count()).select_from(t)).scalar_one()
            for t in SQLModel.metadata.sorted_tables
        }


SUBMISSIONS = st.builds(
    intake.Submission,
    text=st.one_of(ANY_TEXT, st.just(TEXT), st.just(TEXT + " " + "x" * 5000)),
    zip=st.one_of(ZIP_LIKE, st.just("46032")),
    phone=st.one_of(PHONE_LIKE, st.just("(317) 846-2200"), st.just("")),
    email=st.one_of(ANY_TEXT, st.emails(), st.just("")),
    name=st.one_of(ANY_TEXT, st.just("n" * 201)),
    preferred_contact=st.one_of(st.sampled_from(["email", "phone", "sms", "", "EMAIL ", "fax"]), ANY_TEXT),
    consent_ai_calls=st.booleans(),
    source=st.just("api"),
    idempotency_key=st.one_of(st.none(), st.text(max_size=3), st.just("k" * 201)),
    client_ip=st.just("198.51.100.77"),
)


@pytest.fixture
def intake_db(app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from tests.conftest import clear_app_caches

    monkeypatch.setenv("INTAKE_PER_IP_PER_HOUR", "100000")
    clear_app_caches()
    yield


@pytest.mark.parametrize("any_db_url", ["sqlite", "postgres"], indirect=True)
def test_intake_stores_a_valid_lead_or_refuses_with_field_messages_and_writes_nothing(intake_db: None) -> None:
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(submission=SUBMISSIONS)
    def run(submission: intake.Submission) -> None:
        before = row_counts()
        with Session(get_engine(), expire_on_commit=False) as session:
            use_context(session, rls.ANONYMOUS_CONTEXT, now=False)
            try:
                accepted = intake.submit(session, submission)
            except UserError as exc:
                fields = getattr(exc, "errors", None) or {exc.field: exc.message}
                assert all(name and message.strip() for name, message in fields.items()), fields
                refused = True
            else:
                refused = False
        if refused:
            assert row_counts() == before, "a refused submission wrote rows"
            return
        with Session(get_engine()) as session:
            lead = session.get(Lead, accepted.lead_id)
            assert lead is not None
            rules = current_rules(session)
        assert intake.word_count(lead.raw_text) >= int(rules.get("min_words"))
        assert len(lead.raw_text) <= intake.MAX_TEXT_CHARS
        assert re.fullmatch(r"[0-9]{5}", lead.zip) and zipcodes.is_real(lead.zip)
        phone = crypto.decrypt_phone(lead.contact_phone_enc)
        assert phone == "" or E164.fullmatch(phone)
        assert phone or lead.contact_email
        assert lead.preferred_contact in ("email", "phone", "sms")
        assert not lead.consent_ai_calls or phone
        if accepted.created:
            assert sum(row_counts().values()) == sum(before.values()) + 1, "more than the lead was written"

    run()
