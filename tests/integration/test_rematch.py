"""Matching a lead again after a concierge call completed it (SQLite and PostgreSQL): new businesses only, each
with its points, nobody matched twice, and never a lead that a business holds (accepted, or called in)."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from leadapp.core.models import Business, Lead, Match, Notification
from leadapp.core.seed import seed_demo
from leadapp.core.services import pipeline
from leadapp.core.services.intake import Submission, submit
from leadapp.core.services.pipeline import process_lead

TEXT = "The pipe under the kitchen sink is leaking into the cabinet, need a plumber to fix it this week please"


@pytest.fixture
def demo(db_session: Session, monkeypatch: pytest.MonkeyPatch) -> Session:
    seed_demo(db_session, "demo-password-123")
    db_session.commit()
    monkeypatch.setattr("leadapp.core.services.notify.send_batch", lambda ids: {})
    return db_session


def new_lead(s: Session, zip_code: str, phone: str = "(317) 846-2255") -> Lead:
    accepted = submit(s, Submission(text=TEXT, zip=zip_code, phone=phone, email="casey@example.com"))
    process_lead(accepted.lead_id)
    s.expire_all()
    lead = s.get(Lead, accepted.lead_id)
    assert lead is not None
    return lead


def carmel(s: Session) -> Business:
    return s.exec(select(Business).where(Business.name == "Carmel Plumbing Co")).one()


def test_a_completed_request_is_offered_to_the_businesses_that_now_fit_once(demo: Session) -> None:
    s = demo
    lead = new_lead(s, "47401")
    assert lead.status == "no_match"
    lead.location_zip = "46032"  # what the consumer confirmed on the call
    s.add(lead)
    s.commit()

    assert pipeline.rematch_lead(lead.id, details_confirmed=True) == "matched"  # type: ignore[arg-type]
    s.expire_all()
    (match,) = s.exec(select(Match).where(Match.lead_id == lead.id)).all()
    assert match.business_id == carmel(s).id and match.points and match.score >= 50
    told = s.exec(select(Notification).where(Notification.lead_id == lead.id)).all()
    kinds = sorted(n.kind for n in told)
    assert "business_new_lead" in kinds and "consumer_matched" in kinds
    before = len(told)
    assert pipeline.rematch_lead(lead.id, details_confirmed=True) == "matched"  # type: ignore[arg-type]
    s.expire_all()
    assert len(s.exec(select(Match).where(Match.lead_id == lead.id)).all()) == 1
    assert len(s.exec(select(Notification).where(Notification.lead_id == lead.id)).all()) == before


def test_leads_a_business_holds_or_that_wait_for_review_are_not_offered_again(demo: Session) -> None:
    s = demo
    called_in = new_lead(s, "46032", phone="(317) 846-2256")
    called_in.business_id, called_in.status = carmel(s).id, "matched"  # a call to Carmel's own number
    for m in s.exec(select(Match).where(Match.lead_id == called_in.id)).all():
        s.delete(m)
    flagged = new_lead(s, "46032", phone="(317) 846-2257")
    flagged.status = "flagged"
    low = new_lead(s, "46032", phone="(317) 846-2258")
    for m in s.exec(select(Match).where(Match.lead_id == low.id)).all():
        s.delete(m)
    low.status = "low_quality"
    s.add_all([called_in, flagged, low])
    s.commit()

    assert pipeline.rematch_lead(called_in.id, details_confirmed=True) == "skipped:called_in"  # type: ignore[arg-type]
    assert pipeline.rematch_lead(flagged.id, details_confirmed=True) == "skipped:flagged"  # type: ignore[arg-type]
    assert pipeline.rematch_lead(low.id) == "skipped:low_quality"  # type: ignore[arg-type]
    assert pipeline.rematch_lead(low.id, details_confirmed=True) == "matched"  # type: ignore[arg-type]
    s.expire_all()
    assert s.exec(select(Match).where(Match.lead_id == called_in.id)).all() == []

    accepted = new_lead(s, "46032", phone="(317) 846-2259")
    (match,) = s.exec(select(Match).where(Match.lead_id == accepted.id)).all()
    match.status = "accepted"
    s.add(match)
    s.commit()
    assert pipeline.rematch_lead(accepted.id, details_confirmed=True) == "skipped:accepted"  # type: ignore[arg-type]
