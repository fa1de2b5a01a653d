"""The consumer's portal and tracking page speak the request's language: a Spanish request's status, its
businesses, its AI calls and how far it went read in Spanish (from `core.languages`), an English one's as before;
an owner's view of the same call stays English."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from leadapp.components.requests import request_view
from leadapp.core import labels, links
from leadapp.core.models import User, utcnow
from leadapp.core.services import portal
from leadapp.core.services.portal import MagicGrant
from leadapp.core.vocab import CallOutcome, CallStatus, CallType, LeadStatus, MatchStatus
from tests import factories

EXPECTED = {
    "en": {
        "status": "Matched",
        "category": "Plumbing",
        "urgency": "Urgent",
        "scheduled": "AI call scheduled for tomorrow ",
        "scheduled_tail": " (your time)",
        "reach": "Sent to 2 businesses · 1 has seen it · more businesses if none accepts soon",
        "matches": ["Seen", "Notified"],
        "concierge": "LeadApp concierge call finished: no answer, we will try once more",
        "business_call": "AI call finished: voicemail",
        "accepted": "Accepted by 1 business",
        "taken": "Accepted",
        "ringing": "AI call: ringing",
    },
    "es": {
        "status": "Con negocios",
        "category": "Plomería",
        "urgency": "Urgente",
        "scheduled": "Llamada de IA programada para mañana ",
        "scheduled_tail": " (su hora)",
        "reach": "Enviada a 2 negocios · 1 la ha visto · más negocios si ninguno la acepta pronto",
        "matches": ["La vio", "Avisado"],
        "concierge": "Llamada de asistencia de LeadApp terminada: no contestó, lo intentaremos una vez más",
        "business_call": "Llamada de IA terminada: buzón de voz",
        "accepted": "Aceptada por 1 negocio",
        "taken": "La aceptó",
        "ringing": "Llamada de IA: sonando",
    },
}


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_status_lines_of_a_request_are_in_its_language(db_session: Session, language: str) -> None:
    s = db_session
    consumer = factories.consumer(s, "casey@example.com")
    owner, other = factories.owner(s, "plumber@example.com"), factories.owner(s, "drains@example.com")
    business = factories.business(s, owner, "Carmel Plumbing", rating=4.8)
    rival = factories.business(s, other, "Quick Drains", zip="46033", rating=4.1)
    lead = factories.lead(s, consumer, language=language, next_wave_at=utcnow() + timedelta(hours=1))
    factories.match(s, lead, business, MatchStatus.VIEWED.value)
    factories.match(s, lead, rival, MatchStatus.NOTIFIED.value)
    factories.call(s, lead, business, CallStatus.SCHEDULED.value, scheduled_for=utcnow() + timedelta(days=1, minutes=5))
    concierge = factories.lead(s, consumer, language=language, status=LeadStatus.NO_MATCH.value)
    factories.call(
        s,
        concierge,
        None,
        CallStatus.COMPLETED.value,
        call_type=CallType.CONSUMER_CALLBACK.value,
        outcome=CallOutcome.NO_ANSWER.value,
    )
    accepted = factories.lead(s, consumer, language=language, status=LeadStatus.ACCEPTED.value)
    factories.match(s, accepted, business, MatchStatus.ACCEPTED.value)
    factories.call(s, accepted, business, CallStatus.COMPLETED.value, outcome=CallOutcome.VOICEMAIL.value)
    ringing = factories.lead(s, consumer, language=language)
    factories.call(s, ringing, business, CallStatus.RINGING.value)
    s.commit()
    want = EXPECTED[language]

    rows = {row["lead"]["id"]: row for row in portal.consumer_leads(s, consumer)}
    card = request_view(rows[str(lead.id)])  # what the portal's card shows
    assert (card.status_label, card.category_label, card.urgency) == (want["status"], want["category"], want["urgency"])
    assert card.call_status.startswith(want["scheduled"]) and card.call_status.endswith(want["scheduled_tail"])
    assert card.reach_label == want["reach"]
    assert [m["status_label"] for m in rows[str(lead.id)]["matches"]] == want["matches"]
    assert rows[str(concierge.id)]["call_status"] == want["concierge"]
    assert rows[str(accepted.id)]["call_status"] == want["business_call"]
    assert rows[str(accepted.id)]["accepted_label"] == want["accepted"]
    [taken] = request_view(rows[str(accepted.id)]).matches  # the badge on the business that took it
    assert taken.taken_label == want["taken"]
    assert rows[str(ringing.id)]["call_status"] == want["ringing"]
    # The tracking page (a magic link) reads the same lines.
    tracked = portal.request_view(s, MagicGrant(links.magic_token(lead.id)), lead.id)  # type: ignore[arg-type]
    assert tracked["lead"]["status_label"] == want["status"] and tracked["reach_label"] == want["reach"]
    # The page right after submitting shows the same status and businesses.
    submitted = portal.lead_status_for_submitter(s, lead.id)  # type: ignore[arg-type]
    assert submitted is not None and submitted["lead"]["status_label"] == want["status"]
    assert [m["status_label"] for m in submitted["matches"]] == want["matches"]


def test_an_unknown_language_reads_english_and_owners_words_stay_english(db_session: Session) -> None:
    s = db_session
    consumer: User = factories.consumer(s, "casey@example.com")
    lead = factories.lead(s, consumer, language="fr")
    s.commit()
    [row] = portal.consumer_leads(s, consumer)
    assert row["lead"]["status_label"] == "Matched"
    assert labels.lead_status(LeadStatus.MATCHED.value) == "Matched"  # the owner's dashboard word
    assert lead.language == "fr"
