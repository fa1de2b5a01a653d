"""The weekly audit on seeded data with known answers (SQLite and PostgreSQL): exact counts and rates, the
repeated text and phone patterns, flags at their thresholds, proposed rule changes and accepting them,
Claude's narrative through the fake Messages API and the template when Claude is absent or failing."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from leadapp.core import crypto
from leadapp.core.errors import NotAllowed, NotFound, UserError
from leadapp.core.models import (
    AuditEvent,
    AuditReport,
    Business,
    Lead,
    Match,
    User,
    utcnow,
)
from leadapp.core.services import accounts, classify, weekly_audit
from leadapp.core.services.access import NotLoggedIn
from leadapp.core.services.rules import current_rules
from leadapp.core.services.weekly_audit import (
    accept_recommendation,
    compute_figures,
    flags,
    recommendations,
    run_weekly_audit,
)
from leadapp.core.vocab import LeadStatus, MatchStatus
from leadapp.pages.admin.reports import ReportsState
from tests import factories
from tests.fakes.anthropic_api import fake_anthropic, server_error, tool_use  # noqa: F401

PASSWORD = "a long enough password"
NOW = datetime(2026, 6, 7, 2, 0, tzinfo=UTC)  # a Sunday, 02:00
START = NOW - timedelta(days=7)
INSIDE = START + timedelta(days=3)
PHONE_X = "+13178460001"  # 5 leads, not blocked by the default rules
PHONE_Y = "+13175551234"  # 5 leads, blocked (555 numbers)
PHONE_Z = "+13178460002"  # 4 leads: under the threshold
TEXT_A = "Guaranteed backlinks boost rankings for your website now"
TEXT_B = "Crypto casino bonus: claim your jackpot reward instantly"


@dataclass
class Seeded:
    admin: User
    consumer: User
    owner: User
    leads: dict[str, Lead] = field(default_factory=dict)
    businesses: dict[str, Business] = field(default_factory=dict)


def _status(score: float | None, spam: bool) -> str:
    if score is None:
        return LeadStatus.RECEIVED.value
    if spam or score < 3:
        return LeadStatus.FLAGGED.value
    return LeadStatus.LOW_QUALITY.value if score < 5 else LeadStatus.MATCHED.value


def seed(s: Session) -> Seeded:
    """26 leads in the week (24 classified), 5 outside it or deleted, 4 businesses with matches, 3 conversions."""
    admin = accounts.ensure_admin(s, "admin@example.com", PASSWORD)
    consumer = accounts.register(s, "casey@example.com", PASSWORD, "consumer")
    owner = accounts.register(s, "plumber@example.com", PASSWORD, "business_owner")
    world = Seeded(admin, consumer, owner)

    def lead(
        key: str,
        text: str,
        score: float | None,
        *,
        spam: bool = False,
        reason: str = "",
        phone: str = "",
        category: str = "plumbing",
        at: datetime = INSIDE,
        deleted: bool = False,
    ) -> None:
        world.leads[key] = factories.received_lead(
            s,
            text,
            phone=phone,
            contact_email="someone@example.com",
            quality_score=score,
            is_spam=spam,
            spam_reason=reason,
            category=category if score is not None else None,
            status=_status(score, spam),
            created_at=at,
            deleted_at=at if deleted else None,
        )

    # Repeated text A, 4 times (case and punctuation differ), 2 of them caught as spam ("all caps").
    lead("A1", TEXT_A.upper(), 1.0, spam=True, reason="all caps")
    lead("A2", "GUARANTEED BACKLINKS, BOOST RANKINGS FOR YOUR WEBSITE NOW!!", 2.0, spam=True, reason="all caps")
    lead("A3", "guaranteed backlinks -- boost rankings for your website now", 4.0)
    lead("A4", TEXT_A + ".", 6.0)
    # Repeated text B, 3 times, always caught already.
    lead("B1", TEXT_B, 0.0, spam=True, reason="keyword 'crypto'; keyword 'casino'", category="other")
    lead("B2", TEXT_B, 0.5, spam=True, reason="keyword 'crypto'; keyword 'casino'", category="other")
    lead("B3", TEXT_B, 1.5, spam=True, reason="keyword 'crypto'; all caps", category="other")
    # Phone X on 5 leads with different texts.
    for i, score in enumerate([3.0, 3.5, 4.5, 5.0, 7.0], start=1):
        lead(f"X{i}", f"Leaking kitchen faucet number {i} needs a plumber in Carmel", score, phone=PHONE_X)
    # Phone Y (a blocked 555 number) on 5 leads, all spam.
    for i, score in enumerate([2.5, 2.0, 2.0, 3.0, 4.0], start=1):
        lead(
            f"Y{i}",
            f"Sump pump job {i} near Westfield",
            score,
            spam=True,
            reason="blocked phone pattern",
            phone=PHONE_Y,
        )
    # Phone Z on 4 leads: one short of a pattern.
    for i, score in enumerate([8.0, 8.9, 9.0, 10.0], start=1):
        lead(f"Z{i}", f"Water heater replacement quote request {i} for a 50 gallon tank", score, phone=PHONE_Z)
    # Ordinary leads; N1 and N2 share a text (twice is not a pattern); N3 arrives exactly at the start.
    lead("N1", "Toilet keeps running all night in the upstairs bathroom", 5.5)
    lead("N2", "Toilet keeps running all night in the upstairs bathroom", 7.5)
    lead("N3", "Shower drain is slow and smells, please send a licensed plumber", 9.5, at=START)
    # Not classified yet.
    lead("U1", "Garbage disposal hums but does not spin", None)
    lead("U2", "Outdoor spigot drips constantly since the freeze", None)
    # Not in the week: before the start, exactly at the end, and deleted by the consumer.
    lead("OUT1", TEXT_B, 0.0, spam=True, reason="keyword 'crypto'", at=START - timedelta(seconds=1))
    lead("OUT2", TEXT_B, 0.0, spam=True, reason="keyword 'crypto'", at=NOW)
    lead("DEL", TEXT_A, 6.0, deleted=True)
    for i in (1, 2):
        lead(f"OUTX{i}", "Old request from the same number", 6.0, phone=PHONE_Z, at=START - timedelta(days=2))

    def business(key: str, name: str) -> None:
        owner = accounts.register(s, f"owner-{key.lower()}@example.com", PASSWORD, "business_owner")
        row = Business(verified_at=utcnow(), owner_id=owner.id, name=name, categories=["plumbing"], zip="46032")
        s.add(row)
        s.flush()
        world.businesses[key] = row

    for key, name in [("B1", "Reliable Plumbing"), ("B2", "Slow Drains"), ("B3", "Middling Co"), ("B4", "New Co")]:
        business(key, name)

    old, recent = NOW - timedelta(days=3), NOW - timedelta(hours=2)

    def match(lead_key: str, business_key: str, created: datetime, status: str = MatchStatus.NOTIFIED.value) -> Match:
        answered = status in (MatchStatus.ACCEPTED.value, MatchStatus.CONVERTED.value)
        row = Match(
            lead_id=world.leads[lead_key].id,
            business_id=world.businesses[business_key].id,
            score=80.0,
            status=status,
            created_at=created,
            responded_at=created + timedelta(minutes=30) if answered else None,
        )
        s.add(row)
        s.flush()
        return row

    accepted, converted = MatchStatus.ACCEPTED.value, MatchStatus.CONVERTED.value
    # B1: 3 of 4 answered (75 %), plus one too recent to count.
    match("A4", "B1", old, accepted)
    match("X4", "B1", old, accepted)
    x5 = match("X5", "B1", old, converted)
    match("Z1", "B1", old)
    match("Z2", "B1", recent)
    # B2: 1 of 3 (33.3 %); its match before the week does not count.
    match("Z3", "B2", old, accepted)
    match("Z4", "B2", old)
    match("N1", "B2", old)
    match("OUTX1", "B2", START - timedelta(days=2))
    # B3: 1 of 2 (50 %: neither top nor under 50 %).
    match("N2", "B3", old, converted)
    n2 = s.exec(select(Match).where(Match.lead_id == world.leads["N2"].id)).one()
    match("N3", "B3", old)
    # B4: only a match too recent to count, so no rate at all.
    match("A4", "B4", recent)
    out = match("OUTX2", "B2", START - timedelta(days=2), converted)

    for converted_match, cents, when in [
        (x5, 120000, INSIDE + timedelta(days=1)),
        (n2, 35050, INSIDE + timedelta(days=1)),
        (out, 99900, START - timedelta(days=1)),
    ]:
        factories.conversion(s, converted_match, cents, when)
    s.commit()
    return world


@pytest.fixture
def seeded(db_session: Session) -> Seeded:
    return seed(db_session)


# --- the figures ------------------------------------------------------------------------------------


def test_figures_have_the_known_answers(db_session: Session, seeded: Seeded):
    figures = compute_figures(db_session, START, NOW)
    assert figures["period"] == {"start": START.isoformat(), "end": NOW.isoformat()}
    assert figures["rules_version"] == 0
    assert figures["leads"] == {
        "total": 26,
        "classified": 24,
        "by_status": {"flagged": 10, "low_quality": 4, "matched": 10, "received": 2},
        "by_category": {"plumbing": 21, "other": 3},
    }
    assert figures["quality"] == {
        "buckets": {"0-2": 8, "3-4": 6, "5-6": 3, "7-8": 4, "9-10": 3},
        "average": 4.58,  # 109.9 / 24
        "low_quality_below": 5.0,
        "low_quality": 14,
        "low_quality_rate": 0.5833,
    }
    assert figures["spam"] == {
        "count": 10,
        "rate": 0.4167,
        "keyword_hits": {"crypto": 3, "casino": 2},
        "signal_hits": {"all caps": 3, "blocked phone pattern": 5},
    }


def test_repeated_texts_and_numbers_are_found(db_session: Session, seeded: Seeded):
    patterns = compute_figures(db_session, START, NOW)["patterns"]
    w = seeded.leads
    assert patterns["repeated_texts"] == [
        {
            "text": "guaranteed backlinks boost rankings for your website now",
            "count": 4,
            "spam": 2,
            "lead_ids": sorted(w[k].id for k in ("A1", "A2", "A3", "A4")),
            "distinctive_words": ["guaranteed", "backlinks", "boost"],
        },
        {
            "text": "crypto casino bonus claim your jackpot reward instantly",
            "count": 3,
            "spam": 3,
            "lead_ids": sorted(w[k].id for k in ("B1", "B2", "B3")),
            # "crypto" and "casino" are spam keywords already.
            "distinctive_words": ["bonus", "claim", "jackpot"],
        },
    ]
    numbers = {n["number"]: n for n in patterns["repeated_numbers"]}
    assert numbers == {
        "+1•••••••0001": {
            "number": "+1•••••••0001",
            "hash": crypto.phone_hash(PHONE_X),
            "count": 5,
            "spam": 0,
            "blocked": False,
        },
        "+1•••••••1234": {
            "number": "+1•••••••1234",
            "hash": crypto.phone_hash(PHONE_Y),
            "count": 5,
            "spam": 5,
            "blocked": True,
        },
    }
    # No number is stored in clear.
    assert PHONE_X not in json.dumps(patterns) and PHONE_Y not in json.dumps(patterns)


def test_response_rates_and_conversions(db_session: Session, seeded: Seeded):
    figures = compute_figures(db_session, START, NOW)
    b = seeded.businesses
    responses = figures["responses"]
    assert (responses["businesses"], responses["answered"], responses["counted"]) == (3, 5, 9)
    assert responses["overall_rate"] == 0.5556
    assert responses["top"] == [
        {
            "business_id": b["B1"].id,
            "name": "Reliable Plumbing",
            "matches": 5,
            "answered": 3,
            "counted": 4,
            "rate": 0.75,
        }
    ]
    assert responses["under_50"] == [
        {"business_id": b["B2"].id, "name": "Slow Drains", "matches": 3, "answered": 1, "counted": 3, "rate": 0.3333}
    ]
    assert (responses["top_count"], responses["under_50_count"]) == (1, 1)
    assert figures["conversions"] == {
        "count": 2,
        "value_cents": 155050,
        "average_value_cents": 77525,
        "matches": 11,
        "accepted_matches": 5,
        "matched_leads": 10,
        "converted_leads": 2,
        "rate": 0.2,
    }


def test_an_empty_week_has_no_rates(db_session: Session, seeded: Seeded):
    figures = compute_figures(db_session, NOW + timedelta(days=30), NOW + timedelta(days=37))
    assert figures["leads"]["total"] == 0
    assert figures["spam"]["rate"] is None
    assert figures["quality"]["low_quality_rate"] is None and figures["quality"]["average"] is None
    assert figures["responses"]["overall_rate"] is None
    assert figures["conversions"]["rate"] is None and figures["conversions"]["average_value_cents"] is None
    assert flags(figures) == []
    assert weekly_audit.template_narrative(figures, [], []) == (
        "LeadApp received 0 leads this week and none was classified, so there is no spam or quality rate.\n\n"
        "No business had a match old enough to judge its response rate.\n\n"
        "0 conversions were recorded, worth $0.00 in total."
    )


# --- flags and recommendations (pure) ---------------------------------------------------------------


def figures_with(spam: int, low: int, classified: int = 1000) -> dict[str, Any]:
    return {
        "leads": {"classified": classified},
        "spam": {"count": spam, "rate": round(spam / classified, 4)},
        "quality": {"low_quality": low, "low_quality_rate": round(low / classified, 4), "low_quality_below": 5.0},
    }


@pytest.mark.parametrize(
    ("spam", "low", "raised"),
    [
        (100, 300, []),  # exactly 10 % and 30 %: not above
        (101, 300, [("critical", "spam_rate")]),
        (100, 301, [("high", "low_quality_rate")]),
        (250, 500, [("critical", "spam_rate"), ("high", "low_quality_rate")]),
    ],
)
def test_flags_at_their_thresholds(spam: int, low: int, raised: list[tuple[str, str]]):
    assert [(f["severity"], f["code"]) for f in flags(figures_with(spam, low))] == raised


def test_flag_messages_carry_the_figures():
    critical, high = flags(figures_with(250, 500))
    assert critical["message"] == "Spam rate 25.0 % is above 10.0 % (250 of 1000 classified leads)."
    assert high["message"] == "Low-quality rate 50.0 % is above 30.0 % (500 of 1000 classified leads scored below 5)."
    assert (critical["value"], critical["threshold"]) == (0.25, 0.1)


def test_recommendations_propose_structured_rule_changes(db_session: Session, seeded: Seeded):
    rules = current_rules(db_session)
    proposed = recommendations(compute_figures(db_session, START, NOW, rules=rules), rules)
    assert proposed == [
        {
            "kind": "spam_keywords",
            "summary": "Add 'guaranteed', 'backlinks', 'boost' to the spam keywords",
            "reason": "The same text was submitted 4 times (2 not caught as spam): "
            '"guaranteed backlinks boost rankings for your website now".',
            "change": {"op": "add_spam_keywords", "keywords": ["guaranteed", "backlinks", "boost"]},
            "status": "proposed",
        },
        {
            "kind": "blocked_phone",
            "summary": "Block the phone number +1•••••••0001",
            "reason": "5 leads came from this number (0 already spam).",
            "change": {"op": "block_phone", "phone_hash": crypto.phone_hash(PHONE_X), "number": "+1•••••••0001"},
            "status": "proposed",
        },
    ]


# --- the report, accepting a change ----------------------------------------------------------------


def audit_actions(s: Session) -> list[tuple[str, int | None]]:
    return [
        (e.action, e.actor_id)
        for e in s.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
        if e.action.startswith(("audit_report.", "rules."))
    ]


def test_the_scheduled_run_writes_one_report_per_period(db_session: Session, seeded: Seeded):
    s = db_session
    report = run_weekly_audit(s, now=NOW)
    s.commit()
    assert (report.period_start, report.period_end) == (START, NOW)
    assert report.narrator == "template" and report.created_by_id is None
    assert report.figures == compute_figures(s, START, NOW)
    assert [(f["severity"], f["code"]) for f in report.flags] == [
        ("critical", "spam_rate"),
        ("high", "low_quality_rate"),
    ]
    assert [r["kind"] for r in report.recommendations] == ["spam_keywords", "blocked_phone"]
    md = report.markdown
    assert md.startswith("# Weekly audit: 2026-05-31 to 2026-06-07\n")
    assert "- **CRITICAL**: Spam rate 41.7 % is above 10.0 % (10 of 24 classified leads)." in md
    assert "| 0-2 | 8 | 33.3 % |" in md
    assert "| guaranteed backlinks boost rankings for your website now | 4 | 2 |" in md
    assert "| \\+1•••••••0001 | 5 | 0 | no |" in md
    assert "| Reliable Plumbing | 3 of 4 | 75.0 % |" in md
    assert "| Total job value | $1,550.50 |" in md
    assert "LeadApp received 26 leads this week, 24 of them classified." in md
    assert PHONE_X not in md

    # The job may run twice: the same period gives back the same report.
    assert run_weekly_audit(s, now=NOW).id == report.id
    s.commit()
    assert len(s.exec(select(AuditReport)).all()) == 1
    assert audit_actions(s) == [("audit_report.run", None)]


def test_consumer_text_cannot_format_the_report(db_session: Session, seeded: Seeded):
    s = db_session
    for _ in range(3):
        text = "<img src=x onerror=alert(1)> [click](http://evil.example) | **bold**"
        factories.received_lead(s, text, quality_score=1.0, created_at=INSIDE, status="flagged")
    s.commit()
    md = run_weekly_audit(s, now=NOW).markdown
    assert "<img" not in md and "](http" not in md
    assert "| img src x onerror alert 1 click http evil example bold | 3 | 0 |" in md


def test_an_admin_runs_it_now_and_accepts_a_recommendation(db_session: Session, seeded: Seeded):
    s = db_session
    report = run_weekly_audit(s, actor=seeded.admin, now=NOW)
    s.commit()
    assert report.created_by_id == seeded.admin.id
    # Runs by an admin are never merged: each press of "Run now" writes a report.
    assert run_weekly_audit(s, actor=seeded.admin, now=NOW).id != report.id
    s.commit()

    row = accept_recommendation(s, seeded.admin, report.id, 0)
    s.commit()
    assert row.version == 1
    assert row.note == f"Weekly audit #{report.id}: Add 'guaranteed', 'backlinks', 'boost' to the spam keywords"
    rules = current_rules(s)
    assert rules.rules["spam_keywords"][-3:] == ["guaranteed", "backlinks", "boost"]
    # The classifier now catches the repeated text.
    assert classify.classify_local(TEXT_A, rules=rules).spam

    row = accept_recommendation(s, seeded.admin, report.id, 1)
    s.commit()
    assert row.version == 2
    assert current_rules(s).rules["blocked_phone_patterns"][-1] == "^\\+13178460001$"
    assert classify.phone_is_blocked(PHONE_X, current_rules(s))

    s.expire_all()
    stored = s.get(AuditReport, report.id)
    assert [(r["status"], r.get("accepted_version"), r.get("accepted_by_id")) for r in stored.recommendations] == [
        ("accepted", 1, seeded.admin.id),
        ("accepted", 2, seeded.admin.id),
    ]
    with pytest.raises(UserError, match="Already accepted"):
        accept_recommendation(s, seeded.admin, report.id, 0)
    with pytest.raises(NotFound):
        accept_recommendation(s, seeded.admin, report.id, 2)
    with pytest.raises(NotFound):
        accept_recommendation(s, seeded.admin, report.id + 100, 0)
    # The other report proposed the same keywords: they are in the rules already.
    other = s.exec(select(AuditReport).where(AuditReport.id != report.id)).one()
    with pytest.raises(UserError, match="already contain"):
        accept_recommendation(s, seeded.admin, other.id, 0)
    s.rollback()
    admin_id = seeded.admin.id
    assert audit_actions(s) == [
        ("audit_report.run", admin_id),
        ("audit_report.run", admin_id),
        ("rules.edit", admin_id),
        ("audit_report.accept", admin_id),
        ("rules.edit", admin_id),
        ("audit_report.accept", admin_id),
    ]


@pytest.mark.parametrize("who", ["anonymous", "consumer", "owner"])
def test_non_admins_can_neither_run_read_nor_accept(db_session: Session, seeded: Seeded, who: str):
    s = db_session
    report = run_weekly_audit(s, now=NOW)
    s.commit()
    users = {"anonymous": None, "consumer": seeded.consumer, "owner": seeded.owner}
    user = users[who]
    refused = NotLoggedIn if user is None else NotAllowed
    actions = [
        lambda: accept_recommendation(s, user, report.id, 0),
        lambda: weekly_audit.list_reports(s, user),
        lambda: weekly_audit.get_report(s, user, report.id),
    ]
    if user is not None:  # no actor at all is the scheduled job itself
        actions.append(lambda: run_weekly_audit(s, actor=user, now=NOW + timedelta(hours=1)))
    for action in actions:
        with pytest.raises(refused):
            action()
    s.rollback()
    assert current_rules(s).version == 0
    assert len(s.exec(select(AuditReport)).all()) == 1


def test_reports_are_listed_newest_first(db_session: Session, seeded: Seeded):
    s = db_session
    first = run_weekly_audit(s, now=NOW - timedelta(days=7))
    second = run_weekly_audit(s, now=NOW)
    s.commit()
    reports, total = weekly_audit.list_reports(s, seeded.admin)
    assert total == 2 and [r.id for r in reports] == [second.id, first.id]
    assert weekly_audit.get_report(s, seeded.admin, first.id).period_end == NOW - timedelta(days=7)
    with pytest.raises(NotFound):
        weekly_audit.get_report(s, seeded.admin, second.id + 1)


# --- Claude's narrative -----------------------------------------------------------------------------

NARRATIVE = (
    "Spam reached 41.7 % of classified leads this week, well above the critical line, and 58.3 % scored "
    "below 5. One text was sent four times and one number sent five leads; two rule changes are proposed."
)


def test_claude_writes_the_narrative_from_the_figures(db_session: Session, seeded: Seeded, fake_anthropic):  # noqa: F811
    fake_anthropic.script([tool_use({"narrative": NARRATIVE + " <script>x</script>"})])
    report = run_weekly_audit(db_session, now=NOW)
    db_session.commit()
    assert report.narrator == "claude"
    assert NARRATIVE + r" &lt;script\>x&lt;/script\>" in report.markdown
    assert "Summary written by Claude, from the figures below." in report.markdown
    # The figures tables are still there, computed, not written by the model.
    assert "| 0-2 | 8 | 33.3 % |" in report.markdown
    (request,) = fake_anthropic.requests
    assert request.body["tool_choice"] == {"type": "tool", "name": "write_audit_narrative"}
    sent = json.loads(request.body["messages"][0]["content"])
    assert sent["spam"]["rate"] == 0.4167 and sent["leads"]["total"] == 26
    assert [f["severity"] for f in sent["flags"]] == ["critical", "high"]
    assert len(sent["proposed_rule_changes"]) == 2
    assert PHONE_X.encode() not in request.raw_body and b"someone@example.com" not in request.raw_body


def test_a_malformed_answer_is_retried_once(db_session: Session, seeded: Seeded, fake_anthropic):  # noqa: F811
    fake_anthropic.script([tool_use({"narrative": "too short"}), tool_use({"narrative": NARRATIVE})])
    report = run_weekly_audit(db_session, now=NOW)
    assert report.narrator == "claude" and NARRATIVE in report.markdown
    assert len(fake_anthropic.requests) == 2


def test_the_template_writes_it_when_claude_fails(db_session: Session, seeded: Seeded, fake_anthropic):  # noqa: F811
    fake_anthropic.script([server_error(), server_error()])
    report = run_weekly_audit(db_session, now=NOW)
    assert report.narrator == "template"
    assert "LeadApp received 26 leads this week, 24 of them classified." in report.markdown
    assert "Summary written by the report template." in report.markdown
    assert len(fake_anthropic.requests) == 2 and fake_anthropic.remaining == 0


def test_without_a_key_the_template_writes_it_and_nothing_is_sent(
    db_session: Session, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
):
    from leadapp.core.settings import get_settings

    monkeypatch.setenv("ANTHROPIC_API_KEY", "")
    get_settings.cache_clear()

    def never(*args: Any, **kwargs: Any) -> str:
        raise AssertionError("Claude must not be called without a key")

    monkeypatch.setattr("leadapp.core.services.audit_narrative.claude_audit_narrative", never)
    report = run_weekly_audit(db_session, now=NOW)
    assert report.narrator == "template"
    assert (
        "**CRITICAL:** Spam rate 41.7 % is above 10.0 % (10 of 24 classified leads). **HIGH:** Low-quality rate "
        "58.3 % is above 30.0 % (14 of 24 classified leads scored below 5)." in report.markdown
    )
    assert "2 texts were submitted 3 or more times and 2 phone numbers sent 5 or more leads." in report.markdown
    assert (
        "Of 3 businesses with matches, 1 answered at least 70 % and 1 answered under 50 %; overall response rate "
        "55.6 %.\n\n2 conversions were recorded, worth $1,550.50 in total." in report.markdown
    )
    assert "2 rule changes are proposed below; none applies until an admin accepts it." in report.markdown


# --- the page's handlers ----------------------------------------------------------------------------


def page_state(s: Session, user: User | None):
    """The reports page's state for a tab logged in as `user` (None: no session cookie)."""
    return factories.tab_state(s, ReportsState, user)


async def test_the_page_runs_shows_accepts_and_downloads(
    db_session: Session, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
):
    for home in ("report", "findings"):  # where `utcnow` is looked up: "Run now" on the seeded week
        monkeypatch.setattr(f"leadapp.core.services.weekly_audit.{home}.utcnow", lambda: NOW)
    s = db_session
    state = page_state(s, seeded.admin)
    ReportsState.load.fn(state)
    assert (state.rows, state.report_id, state.denied) == ([], 0, False)

    steps = [step async for step in ReportsState.run_now.fn(state)]
    assert len(steps) == 2  # one push to show the spinner, then the result with its toast
    (report,) = s.exec(select(AuditReport)).all()
    assert state.message == f"Report #{report.id} written." and state.running is False
    assert steps[0] is None and steps[1].handler.fn.__qualname__ == "FeedbackState.show"
    assert [value._var_value for _, value in steps[1].args] == ["success", f"Report #{report.id} written."]
    assert [(r["id"], r["by"], r["flags"]) for r in state.rows] == [(str(report.id), "run now", "critical, high")]
    assert state.report_id == report.id and state.markdown == report.markdown
    assert [f["severity"] for f in state.flags] == ["critical", "high"]
    assert [(r["index"], r["status"]) for r in state.recommendations] == [("0", "proposed"), ("1", "proposed")]

    ReportsState.accept.fn(state, "1")
    assert state.message == "Accepted: rules version 1 is in force."
    assert [(r["status"], r["version"]) for r in state.recommendations] == [("proposed", ""), ("accepted", "1")]
    s.expire_all()
    assert classify.phone_is_blocked(PHONE_X, current_rules(s))
    ReportsState.accept.fn(state, "1")
    assert state.error == "Already accepted (rules version 1)."

    spec = ReportsState.download.fn(state)
    encoded = base64.b64encode(report.markdown.encode()).decode()
    assert encoded in str(spec.args)
    assert f"leadapp-weekly-audit-{report.id}-2026-06-07.md" in str(spec.args)


@pytest.mark.parametrize("who", ["consumer", "owner"])
async def test_the_page_refuses_non_admins(db_session: Session, seeded: Seeded, who: str):
    s = db_session
    report = run_weekly_audit(s, now=NOW)
    s.commit()
    state = page_state(s, getattr(seeded, who))
    ReportsState.load.fn(state)
    assert state.denied and state.rows == [] and state.markdown == ""
    _ = [step async for step in ReportsState.run_now.fn(state)]
    state.report_id = report.id
    ReportsState.accept.fn(state, "0")
    assert ReportsState.download.fn(state) is None
    ReportsState.open_report.fn(state, str(report.id))
    assert state.markdown == ""
    s.expire_all()
    assert len(s.exec(select(AuditReport)).all()) == 1
    assert current_rules(s).version == 0


def test_the_page_lists_reports_a_page_at_a_time(db_session: Session, seeded: Seeded):
    s = db_session
    for week in range(21):  # one more than a page
        end = NOW - timedelta(days=7 * week)
        s.add(AuditReport(period_start=end - timedelta(days=7), period_end=end, created_at=end))
    s.commit()
    state = page_state(s, seeded.admin)
    ReportsState.load.fn(state)
    assert (state.page, state.pages, state.total, len(state.rows)) == (1, 2, 21, 20)
    newest, oldest = state.rows[0]["id"], state.rows[-1]["id"]
    assert state.report_id == int(newest)

    ReportsState.go_page.fn(state, 1)
    assert state.page == 2 and len(state.rows) == 1 and state.rows[0]["id"] not in (newest, oldest)
    assert state.rows[0]["period"].startswith((NOW - timedelta(days=147)).strftime("%Y-%m-%d"))
    ReportsState.go_page.fn(state, -1)
    assert (state.page, state.rows[0]["id"], state.rows[-1]["id"]) == (1, newest, oldest)
