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
from leadapp.core.settings import get_settings
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


CARD_WORDS = {
    "en": {
        "ago": "3 h ago",
        "yesterday": "yesterday",
        "distance": "2.5 mi",
        "no_reviews": "No verified reviews yet",
        "one_review": "★ 4.0 (1 verified review)",
        "matched": "Matched businesses",
        "withdraw": "Withdraw",
        "request_callback": "Request a callback",
        "not_withdrawable": "This request is already withdrawn.",
        "closed": "This request was withdrawn.",
        "no_consent": "You did not agree to AI calls on this request.",
        "unverified": "Verify your phone number first: press “Send code” and enter the code we text you.",
        "business_call": "Carmel Plumbing accepted this request, so an AI assistant will call you on behalf of",
        "hours": "We call between 9:00 and 21:00 your time; outside those hours the call waits for 9:00.",
    },
    "es": {
        "ago": "hace 3 h",
        "yesterday": "ayer",
        "distance": "2.5 millas",
        "no_reviews": "Sin reseñas verificadas todavía",
        "one_review": "★ 4.0 (1 reseña verificada)",
        "matched": "Negocios encontrados",
        "withdraw": "Retirar",
        "request_callback": "Pedir que me llamen",
        "not_withdrawable": "Esta solicitud ya está retirada.",
        "closed": "Esta solicitud fue retirada.",
        "no_consent": "No aceptó llamadas de IA para esta solicitud.",
        "unverified": "Primero verifique su número: pulse “Enviar código” e ingrese el código que le enviamos por SMS.",
        "business_call": "Carmel Plumbing aceptó esta solicitud, así que un asistente de IA lo llamará en nombre de",
        "hours": "Llamamos entre las 9:00 y las 21:00 de su hora; fuera de ese horario la llamada espera a las 9:00.",
    },
}


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_frame_of_a_requests_card_and_why_its_buttons_are_off_are_in_its_language(
    db_session: Session, language: str
) -> None:
    s = db_session
    consumer = factories.consumer(s, "casey@example.com")
    owner, other = factories.owner(s, "plumber@example.com"), factories.owner(s, "drains@example.com")
    business = factories.business(s, owner, "Carmel Plumbing", verified_review_count=1, verified_stars_total=4)
    unrated = factories.business(s, other, "Quick Drains")
    lead = factories.lead(s, consumer, language=language, created_at=utcnow() - timedelta(hours=3, minutes=5))
    factories.match(s, lead, business, MatchStatus.ACCEPTED.value, score=90.0)
    factories.match(s, lead, unrated, MatchStatus.NOTIFIED.value)
    withdrawn = factories.lead(
        s, consumer, language=language, status=LeadStatus.WITHDRAWN.value, created_at=utcnow() - timedelta(days=1)
    )
    no_consent = factories.lead(s, consumer, language=language, consent=False)
    unverified = factories.lead(s, consumer, language=language, phone_verified_at=None)
    s.commit()
    want = CARD_WORDS[language]

    rows = {row["lead"]["id"]: row for row in portal.consumer_leads(s, consumer)}
    card = request_view(rows[str(lead.id)])
    assert card.created_at == want["ago"]
    rated, plain = card.matches
    assert (rated.distance, rated.rating_label, plain.rating_label) == (
        want["distance"],
        want["one_review"],
        want["no_reviews"],
    )
    assert (card.words["matched"], card.words["withdraw"]) == (want["matched"], want["withdraw"])
    assert card.words["request_callback"] == want["request_callback"]
    assert card.callback_explanation.startswith(want["business_call"])
    assert card.callback_explanation.endswith(want["hours"])
    gone = request_view(rows[str(withdrawn.id)])
    assert (gone.created_at, gone.withdraw_reason, gone.callback_reason) == (
        want["yesterday"],
        want["not_withdrawable"],
        want["closed"],
    )
    assert rows[str(no_consent.id)]["callback_reason"] == want["no_consent"]
    assert rows[str(unverified.id)]["callback_reason"] == want["unverified"]
    # The tracking page's card reads the same words.
    tracked = request_view(portal.request_view(s, MagicGrant(links.magic_token(lead.id)), lead.id))  # type: ignore[arg-type]
    assert (tracked.created_at, tracked.words["matched"]) == (want["ago"], want["matched"])


def test_a_consumer_with_requests_in_both_languages_reads_each_card_in_its_own(db_session: Session) -> None:
    s = db_session
    consumer = factories.consumer(s, "casey@example.com")
    business = factories.business(s, factories.owner(s, "plumber@example.com"), "Carmel Plumbing")
    english_lead = factories.lead(s, consumer, language="en", status=LeadStatus.WITHDRAWN.value)
    spanish_lead = factories.lead(s, consumer, language="es", status=LeadStatus.WITHDRAWN.value)
    for lead in (english_lead, spanish_lead):
        factories.match(s, lead, business)
    s.commit()
    cards = {card.id: card for card in map(request_view, portal.consumer_leads(s, consumer))}
    english_card, spanish_card = cards[str(english_lead.id)], cards[str(spanish_lead.id)]
    assert (english_card.words["matched"], english_card.withdraw_reason, english_card.matches[0].distance) == (
        "Matched businesses",
        "This request is already withdrawn.",
        "2.5 mi",
    )
    assert (spanish_card.words["matched"], spanish_card.withdraw_reason, spanish_card.matches[0].distance) == (
        "Negocios encontrados",
        "Esta solicitud ya está retirada.",
        "2.5 millas",
    )


@pytest.mark.parametrize(
    ("language", "platform", "business"),
    [
        (
            "en",
            "LeadApp has placed as many AI calls as it may today; try again tomorrow.",
            "This business's AI calls for today are used up (0 a day); try again tomorrow.",
        ),
        (
            "es",
            "LeadApp ya hizo hoy todas las llamadas de IA que puede; inténtelo de nuevo mañana.",
            "Las llamadas de IA de este negocio para hoy se agotaron (0 al día); inténtelo de nuevo mañana.",
        ),
    ],
)
def test_the_daily_call_caps_refuse_a_callback_in_the_requests_language(
    db_session: Session, monkeypatch: pytest.MonkeyPatch, language: str, platform: str, business: str
) -> None:
    s = db_session
    consumer = factories.consumer(s, "casey@example.com")
    taker = factories.business(s, factories.owner(s, "plumber@example.com"), "Carmel Plumbing")
    concierge = factories.lead(s, consumer, language=language, phone="+13175550101")
    accepted = factories.lead(s, consumer, language=language, phone="+13175550102")
    factories.match(s, accepted, taker, MatchStatus.ACCEPTED.value)
    s.commit()
    monkeypatch.setenv("AI_CALLS_PER_BUSINESS_PER_DAY", "0")
    get_settings.cache_clear()
    rows = {row["lead"]["id"]: row for row in portal.consumer_leads(s, consumer)}
    assert rows[str(accepted.id)]["callback_reason"] == business
    monkeypatch.setenv("AI_CALLS_PER_DAY", "0")
    get_settings.cache_clear()
    rows = {row["lead"]["id"]: row for row in portal.consumer_leads(s, consumer)}
    assert rows[str(concierge.id)]["callback_reason"] == platform
    get_settings.cache_clear()
