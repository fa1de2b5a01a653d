"""Moderation, on SQLite and PostgreSQL: the lead browser and its filters, the flag queue, flag / unflag (which
re-runs matching through a real RQ worker) / reject, businesses deactivated and reactivated, the audit
trail of each action, and every function refused to non-admins."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from rq import SimpleWorker
from sqlmodel import Session, func, select

from leadapp.core.broker import get_redis
from leadapp.core.errors import NotAllowed, NotFound, UserError
from leadapp.core.models import AuditEvent, Business, Lead, Match, Notification, User, utcnow
from leadapp.core.seed import ADMIN_EMAIL, CONSUMER_EMAIL, ELECTRICIAN_EMAIL, PLUMBER_EMAIL, seed_demo
from leadapp.core.services import accounts, classify, moderation, notify, pipeline
from leadapp.core.services.access import NotLoggedIn
from leadapp.core.services.rules import RulesSnapshot, current_rules
from leadapp.core.tasks import PIPELINE, queue
from leadapp.core.vocab import LeadStatus, MatchStatus, NotificationStatus
from tests import factories

PASSWORD = "demo-password-123"
WATER_HEATER = (
    "My water heater is leaking all over the garage floor, need someone today in Carmel 46032, budget around $500"
)
SPAMMY_PLUMBING = (
    "My water heater is leaking all over the garage floor, need a plumber today in Carmel 46032, "
    "budget around $500. Pay in bitcoin, click here"
)


@dataclass
class Demo:
    admin: User
    consumer: User
    plumber: User
    electrician: User
    plumbing: Business
    electric: Business


@pytest.fixture(autouse=True)
def no_stale_jobs(app_env: dict[str, str]) -> Iterator[None]:
    """RQ's keys are global in a Redis database: each test starts and ends with none in the private Redis."""

    def clear() -> None:
        client = get_redis()
        stale = list(client.scan_iter(match="rq:*", count=500))
        if stale:
            client.delete(*stale)

    clear()
    yield
    clear()


@pytest.fixture
def demo(db_session: Session) -> Demo:
    s = db_session
    seed_demo(s, PASSWORD)
    s.commit()

    def user(email: str) -> User:
        return s.exec(select(User).where(User.email == email)).one()

    plumber, electrician = user(PLUMBER_EMAIL), user(ELECTRICIAN_EMAIL)
    plumbing = s.exec(select(Business).where(Business.owner_id == plumber.id)).one()
    electric = s.exec(select(Business).where(Business.owner_id == electrician.id)).one()
    return Demo(user(ADMIN_EMAIL), user(CONSUMER_EMAIL), plumber, electrician, plumbing, electric)


def new_lead(s: Session, text: str = WATER_HEATER, **fields: Any) -> Lead:
    """A lead as intake stores it (status received), committed."""
    lead = factories.received_lead(s, text, **fields)
    s.commit()
    return lead


def classified_lead(
    s: Session, text: str = WATER_HEATER, rules: RulesSnapshot | None = None, status: str = "", **fields: Any
) -> Lead:
    """A lead through the pipeline's classification step (the real classifier), committed before matching.

    With `status`, the lead is then moved on to that status (as later stages would have moved it).
    """
    lead = new_lead(s, text, **fields)
    rules = rules or current_rules(s)
    result, classifier = classify.classify(lead.raw_text, zip_code=lead.zip, email=lead.contact_email, rules=rules)
    pipeline.apply_classification(lead, result, classifier, rules)
    if status:
        lead.status = status
    s.add(lead)
    s.commit()
    return lead


def work_pipeline() -> None:
    """Run every queued pipeline job with a real RQ worker (burst: it stops when the queue is empty)."""
    SimpleWorker([queue(PIPELINE)], connection=get_redis()).work(burst=True, with_scheduler=False)


def fresh(s: Session, model: Any, id_: int) -> Any:
    s.expire_all()
    return s.get(model, id_)


def matched_names(s: Session, lead_id: int) -> list[str]:
    rows = s.exec(select(Business.name).join(Match, Match.business_id == Business.id).where(Match.lead_id == lead_id))
    return sorted(rows.all())


def audit_of(s: Session, action: str, target_id: int) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.action == action, AuditEvent.target_id == str(target_id))
    return list(s.exec(query.order_by(AuditEvent.id)).all())


def count(s: Session, model: Any) -> int:
    return s.exec(select(func.count()).select_from(model)).one()


# --- refusals -------------------------------------------------------------------------------------

CALLS: dict[str, Callable[[Session, User | None, Lead, Business], object]] = {
    "list_leads": lambda s, a, lead, b: moderation.list_leads(s, a, moderation.LeadFilters()),
    "list_leads_filtered": lambda s, a, lead, b: moderation.list_leads(s, a, moderation.LeadFilters(search="water")),
    "flag_queue": lambda s, a, lead, b: moderation.flag_queue(s, a),
    "flag": lambda s, a, lead, b: moderation.flag(s, a, lead.id, "looks fake"),
    "unflag": lambda s, a, lead, b: moderation.unflag(s, a, lead.id),
    "reject": lambda s, a, lead, b: moderation.reject(s, a, lead.id, "spam"),
    "list_businesses": lambda s, a, lead, b: moderation.list_businesses(s, a, "carmel"),
    "set_business_active": lambda s, a, lead, b: moderation.set_business_active(s, a, b.id, False),
}


@pytest.mark.parametrize("who", ["anonymous", "consumer", "business_owner", "disabled_admin"])
@pytest.mark.parametrize("call", sorted(CALLS))
def test_non_admins_are_refused_every_function_and_nothing_changes(
    demo: Demo, db_session: Session, who: str, call: str
):
    s = db_session
    lead = classified_lead(s, SPAMMY_PLUMBING)
    assert lead.status == LeadStatus.FLAGGED
    actor: User | None = {"anonymous": None, "consumer": demo.consumer, "business_owner": demo.plumber}.get(who)
    if who == "disabled_admin":
        actor = accounts.ensure_admin(s, "second-admin@example.com", PASSWORD)
        accounts.set_active(s, demo.admin, actor.id, False)
        s.commit()
    audits = count(s, AuditEvent)
    with pytest.raises(NotLoggedIn if who in ("anonymous", "disabled_admin") else NotAllowed):
        CALLS[call](s, actor, lead, demo.plumbing)
    s.rollback()
    assert fresh(s, Lead, lead.id).status == LeadStatus.FLAGGED
    assert fresh(s, Business, demo.plumbing.id).is_active
    assert count(s, AuditEvent) == audits
    assert queue(PIPELINE).count == 0


# --- flag and unflag ------------------------------------------------------------------------------


def test_flag_holds_a_lead_back_and_unflag_rematches_it_through_the_worker(demo: Demo, db_session: Session):
    s = db_session
    lead = classified_lead(s)
    assert lead.status == LeadStatus.CLASSIFIED

    moderation.flag(s, demo.admin, lead.id, "  Same text as   yesterday's lead ")
    s.commit()
    flagged = fresh(s, Lead, lead.id)
    assert (flagged.status, flagged.flagged, flagged.flag_reason) == ("flagged", True, "Same text as yesterday's lead")
    rows, total = moderation.flag_queue(s, demo.admin)
    assert total == 1 and rows[0]["id"] == str(lead.id)
    assert rows[0]["flag_reason"] == "Same text as yesterday's lead" and rows[0]["matches"] == "0"
    # The pipeline leaves a flagged lead alone: nothing reaches a business.
    assert pipeline.process_lead(lead.id) == "flagged"
    assert matched_names(s, lead.id) == []

    unflagged = moderation.unflag(s, demo.admin, lead.id)
    assert unflagged.status == LeadStatus.CLASSIFIED
    # Committed by unflag itself, and the pipeline job is queued for the worker.
    with Session(s.get_bind()) as other:
        assert other.get(Lead, lead.id).status == LeadStatus.CLASSIFIED
    assert queue(PIPELINE).fetch_job(f"lead-{lead.id}") is not None
    work_pipeline()

    done = fresh(s, Lead, lead.id)
    assert done.status == LeadStatus.MATCHED and not done.flagged and done.flag_reason == ""
    assert matched_names(s, lead.id) == ["Carmel Plumbing Co"]
    kinds = {n.kind for n in s.exec(select(Notification).where(Notification.lead_id == lead.id))}
    assert "business_new_lead" in kinds
    assert moderation.flag_queue(s, demo.admin)[1] == 0

    [flag_event] = audit_of(s, "lead.flag", lead.id)
    assert flag_event.actor_id == demo.admin.id and flag_event.target_type == "leads"
    assert flag_event.before == {
        "status": "classified",
        "flagged": False,
        "flag_reason": "",
        "is_spam": False,
        "spam_reason": "",
    }
    assert flag_event.after["status"] == "flagged" and flag_event.after["flagged"] is True
    assert flag_event.after["flag_reason"] == "Same text as yesterday's lead"
    [unflag_event] = audit_of(s, "lead.unflag", lead.id)
    assert unflag_event.before["status"] == "flagged" and unflag_event.before["flagged"] is True
    assert unflag_event.after == {
        "status": "classified",
        "flagged": False,
        "flag_reason": "",
        "is_spam": False,
        "spam_reason": "",
        "rematch": True,
    }


def test_a_lead_the_classifier_flagged_as_spam_is_queued_with_its_reasons_and_unflag_matches_it(
    demo: Demo, db_session: Session
):
    s = db_session
    lead = classified_lead(s, SPAMMY_PLUMBING)
    assert lead.status == LeadStatus.FLAGGED and lead.is_spam
    [row] = moderation.flag_queue(s, demo.admin)[0]
    assert row["spam"] == "yes" and "bitcoin" in row["spam_reason"] and "spam" in row["flag_reason"]
    assert row["quality"] == f"{lead.quality_score:.1f}"

    moderation.unflag(s, demo.admin, lead.id)
    work_pipeline()
    done = fresh(s, Lead, lead.id)
    assert (done.status, done.is_spam, done.spam_reason) == ("matched", False, "")
    assert matched_names(s, lead.id) == ["Carmel Plumbing Co"]
    [event] = audit_of(s, "lead.unflag", lead.id)
    assert event.before["is_spam"] is True and "bitcoin" in event.before["spam_reason"]


def test_a_low_quality_lead_is_in_the_queue_and_unflag_approves_it(demo: Demo, db_session: Session):
    s = db_session
    base = current_rules(s)
    strict = RulesSnapshot(base.version, {**base.rules, "quality": {**base.rules["quality"], "low_quality_below": 11}})
    lead = classified_lead(s, rules=strict)
    assert lead.status == LeadStatus.LOW_QUALITY and not lead.flagged
    [row] = moderation.flag_queue(s, demo.admin)[0]
    assert row["status"] == "low_quality" and row["quality"] == f"{lead.quality_score:.1f}"
    moderation.unflag(s, demo.admin, lead.id)
    work_pipeline()
    assert fresh(s, Lead, lead.id).status == LeadStatus.MATCHED
    assert matched_names(s, lead.id) == ["Carmel Plumbing Co"]


def test_unflagging_a_lead_flagged_before_classification_classifies_it_first(demo: Demo, db_session: Session):
    s = db_session
    lead = new_lead(s)
    moderation.flag(s, demo.admin, lead.id, "check this one first")
    s.commit()
    assert moderation.unflag(s, demo.admin, lead.id).status == LeadStatus.RECEIVED
    work_pipeline()
    done = fresh(s, Lead, lead.id)
    assert done.status == LeadStatus.MATCHED and done.category == "plumbing"
    assert matched_names(s, lead.id) == ["Carmel Plumbing Co"]


def test_flag_and_unflag_refuse_what_they_cannot_do(demo: Demo, db_session: Session):
    s = db_session
    lead = classified_lead(s)
    with pytest.raises(UserError) as caught:
        moderation.flag(s, demo.admin, lead.id, "   ")
    assert caught.value.field == "reason"
    with pytest.raises(UserError) as caught:
        moderation.flag(s, demo.admin, lead.id, "x" * 501)
    assert caught.value.field == "reason"
    with pytest.raises(UserError, match="Only a flagged"):
        moderation.unflag(s, demo.admin, lead.id)
    moderation.flag(s, demo.admin, lead.id, "first")
    s.commit()
    with pytest.raises(UserError, match="already flagged"):
        moderation.flag(s, demo.admin, lead.id, "second")
    s.rollback()
    for status, message in [("accepted", "accepted"), ("withdrawn", "withdrew"), ("rejected", "already rejected")]:
        other = classified_lead(s, status=status)
        with pytest.raises(UserError, match=message):
            moderation.flag(s, demo.admin, other.id, "late")
        s.rollback()
        assert fresh(s, Lead, other.id).status == status
    deleted = classified_lead(s, deleted_at=utcnow())
    with pytest.raises(NotFound):
        moderation.flag(s, demo.admin, deleted.id, "gone")
    with pytest.raises(NotFound):
        moderation.unflag(s, demo.admin, 999_999)
    s.rollback()
    assert len(audit_of(s, "lead.flag", lead.id)) == 1


def test_a_flagged_matched_lead_is_matched_again_after_unflag_without_duplicates(demo: Demo, db_session: Session):
    s = db_session
    lead = classified_lead(s)
    assert pipeline.process_lead(lead.id) == "matched"
    notes_before = count(s, Notification)
    moderation.flag(s, demo.admin, lead.id, "customer called: maybe a prank")
    s.commit()
    moderation.unflag(s, demo.admin, lead.id)
    work_pipeline()
    assert fresh(s, Lead, lead.id).status == LeadStatus.MATCHED
    assert matched_names(s, lead.id) == ["Carmel Plumbing Co"]
    assert count(s, Notification) == notes_before


# --- reject ---------------------------------------------------------------------------------------


def test_reject_closes_a_flagged_lead_for_good(demo: Demo, db_session: Session):
    s = db_session
    lead = classified_lead(s, SPAMMY_PLUMBING)
    moderation.reject(s, demo.admin, lead.id, "crypto spam")
    s.commit()
    done = fresh(s, Lead, lead.id)
    assert (done.status, done.flag_reason) == ("rejected", "crypto spam")
    assert moderation.flag_queue(s, demo.admin)[1] == 0
    # Never sent: the pipeline does nothing with it, now or later.
    assert pipeline.process_lead(lead.id) == "rejected"
    assert matched_names(s, lead.id) == []
    assert s.exec(select(Notification).where(Notification.lead_id == lead.id)).all() == []
    with pytest.raises(UserError, match="Only a flagged"):
        moderation.unflag(s, demo.admin, lead.id)
    with pytest.raises(UserError, match="already rejected"):
        moderation.reject(s, demo.admin, lead.id, "again")
    s.rollback()
    [event] = audit_of(s, "lead.reject", lead.id)
    assert event.actor_id == demo.admin.id
    assert event.before["status"] == "flagged" and event.before["is_spam"] is True
    assert event.after["status"] == "rejected" and event.after["flag_reason"] == "crypto spam"
    assert event.after["businesses_stopped"] == []


def test_rejecting_a_matched_lead_stops_what_is_not_delivered_yet(demo: Demo, db_session: Session, monkeypatch):
    s = db_session
    monkeypatch.setattr(notify, "send_batch", lambda ids: {})  # leave the notifications unsent
    lead = classified_lead(s)
    assert pipeline.process_lead(lead.id) == "matched"
    moderation.reject(s, demo.admin, lead.id, "duplicate of another request")
    s.commit()
    s.expire_all()
    assert {m.status for m in s.exec(select(Match).where(Match.lead_id == lead.id))} == {MatchStatus.EXPIRED.value}
    statuses = {n.status for n in s.exec(select(Notification).where(Notification.lead_id == lead.id))}
    assert statuses == {NotificationStatus.SUPPRESSED.value}
    [event] = audit_of(s, "lead.reject", lead.id)
    assert event.before["status"] == "matched" and event.after["businesses_stopped"] == [demo.plumbing.id]


def test_a_lead_a_business_accepted_cannot_be_rejected(demo: Demo, db_session: Session):
    s = db_session
    lead = classified_lead(s, status="accepted")
    with pytest.raises(UserError, match="accepted"):
        moderation.reject(s, demo.admin, lead.id, "spam")
    with pytest.raises(UserError) as caught:
        moderation.reject(s, demo.admin, lead.id, "")
    assert caught.value.field == "reason"
    s.rollback()
    assert fresh(s, Lead, lead.id).status == "accepted"
    assert audit_of(s, "lead.reject", lead.id) == []


# --- the lead browser -----------------------------------------------------------------------------


def test_lead_browser_filters_in_sql_and_never_shows_deleted_leads(demo: Demo, db_session: Session):
    s = db_session
    old = classified_lead(s, "Wiring sparks in the kitchen outlet, need an electrician this week in 46032")
    old.created_at = utcnow() - timedelta(days=10)
    s.add(old)
    plumbing = classified_lead(s, contact_name="Robin Renter")
    spam = classified_lead(s, SPAMMY_PLUMBING)
    deleted = classified_lead(s, deleted_at=utcnow(), status="deleted")
    s.commit()
    admin = demo.admin

    def ids(**filters: str) -> list[int]:
        rows, total = moderation.list_leads(s, admin, moderation.lead_filters(**filters))
        assert total == len(rows)
        return [int(r["id"]) for r in rows]

    assert ids() == [spam.id, plumbing.id, old.id]  # newest first, the deleted one nowhere
    assert deleted.id not in ids(status="deleted")
    assert ids(status="flagged") == [spam.id]
    assert ids(category="electrical") == [old.id]
    assert ids(flagged="yes") == [spam.id]
    assert ids(flagged="no") == [plumbing.id, old.id]
    today = utcnow().date().isoformat()
    assert ids(since=today) == [spam.id, plumbing.id]
    assert ids(until=(utcnow() - timedelta(days=5)).date().isoformat()) == [old.id]
    assert ids(search="ROBIN") == [plumbing.id]
    assert ids(search="sparks") == [old.id]
    assert ids(search=f"#{plumbing.id}") == [plumbing.id]
    rows, _ = moderation.list_leads(s, admin, moderation.lead_filters(status="flagged"))
    assert rows[0]["flagged"] == "yes" and "bitcoin" in rows[0]["spam_reason"]
    for field, filters in [
        ("status", {"status": "bogus"}),
        ("category", {"category": "bogus"}),
        ("since", {"since": "yesterday"}),
        ("until", {"since": today, "until": "2000-01-01"}),
    ]:
        with pytest.raises(UserError) as caught:
            moderation.lead_filters(**filters)
        assert caught.value.field == field


def test_lead_pages_hold_at_most_100_rows(demo: Demo, db_session: Session):
    s = db_session
    s.add_all(Lead(raw_text=f"request number {i}", zip="46032", status="flagged", flagged=True) for i in range(105))
    s.commit()
    rows, total = moderation.list_leads(s, demo.admin, moderation.LeadFilters(), page_size=500)
    assert total == 105 and len(rows) == 100
    rows, total = moderation.flag_queue(s, demo.admin, page=5)
    assert total == 105 and len(rows) == 5


# --- businesses -----------------------------------------------------------------------------------


def test_business_list_searches_name_city_zip_and_owner(demo: Demo, db_session: Session):
    s = db_session
    admin = demo.admin

    def names(search: str) -> list[str]:
        return [r["name"] for r in moderation.list_businesses(s, admin, search)[0]]

    assert names("") == ["Carmel Plumbing Co", "Midtown Electric & Air"]
    assert names("CARMEL") == ["Carmel Plumbing Co"]
    assert names("10001") == ["Midtown Electric & Air"]
    assert names("electrician@") == ["Midtown Electric & Air"]
    assert names("nothing like it") == []
    [row] = moderation.list_businesses(s, admin, "carmel")[0]
    assert row["owner_email"] == PLUMBER_EMAIL and row["active"] == "yes"


def test_a_deactivated_business_is_never_matched_until_reactivated(demo: Demo, db_session: Session):
    s = db_session
    moderation.set_business_active(s, demo.admin, demo.plumbing.id, False)
    s.commit()
    assert moderation.list_businesses(s, demo.admin, "carmel")[0][0]["active"] == ""
    first = classified_lead(s)
    assert pipeline.process_lead(first.id) == "no_match"
    assert matched_names(s, first.id) == []

    moderation.set_business_active(s, demo.admin, demo.plumbing.id, True)
    s.commit()
    second = classified_lead(s, WATER_HEATER + " (second time)")
    assert pipeline.process_lead(second.id) == "matched"
    assert matched_names(s, second.id) == ["Carmel Plumbing Co"]

    [off] = audit_of(s, "business.deactivate", demo.plumbing.id)
    [on] = audit_of(s, "business.activate", demo.plumbing.id)
    assert (off.actor_id, off.target_type) == (demo.admin.id, "businesses")
    assert (off.before, off.after) == ({"is_active": True}, {"is_active": False})
    assert (on.before, on.after) == ({"is_active": False}, {"is_active": True})
    # Setting what it already is changes and records nothing.
    moderation.set_business_active(s, demo.admin, demo.plumbing.id, True)
    s.commit()
    assert len(audit_of(s, "business.activate", demo.plumbing.id)) == 1
    with pytest.raises(NotFound):
        moderation.set_business_active(s, demo.admin, 999_999, False)
