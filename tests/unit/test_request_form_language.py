"""The request form, before anything is typed, speaks the browser's language (`languages.of_visitor`): a browser
asking for Spanish first reads the heading, intro, labels, contact choices, consent, buttons and the thanks in
Spanish, and the consent the request records is the text the consumer read; any other browser reads exactly the
English words the page always had."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from leadapp.core.languages import english, spanish
from leadapp.core.models import Lead
from leadapp.pages.consumer.request import RequestState
from tests.unit.test_link_pages_language import JOBS, state_at

# Some of the English page's words as they were written in the page before it had a Spanish side (unchanged).
ENGLISH_SOME = {
    "heading": "Get help from a local pro",
    "what": "What do you need help with?",
    "zip": "ZIP code",
    "by_sms": " Text message",
    "send": "Send my request",
    "received": "Thank you — your request has been received.",
    "another": "Submit another request",
    "my_requests": "My requests",
}
SPANISH_SOME = {
    "heading": "Consiga ayuda de un profesional local",
    "what": "¿Con qué necesita ayuda?",
    "zip": "Código postal",
    "by_sms": " Mensaje de texto",
    "send": "Enviar mi solicitud",
    "received": "Gracias: recibimos su solicitud.",
    "another": "Enviar otra solicitud",
    "my_requests": "Mis solicitudes",
}
# (the browser's Accept-Language, the form's language)
BROWSERS = [("es-MX,es;q=0.9,en;q=0.8", "es"), ("es", "es"), ("en-US,es;q=0.5", "en"), ("fr-FR", "en"), ("", "en")]


def opened_form(accept: str):
    state = state_at(RequestState, "/request", accept)
    RequestState.open.fn(state)
    return state


def test_the_english_form_keeps_every_word_it_had():
    assert english.REQUEST_FORM | ENGLISH_SOME == english.REQUEST_FORM
    assert english.REQUEST_FORM["consent"] == english.CONSENT_TEXT
    assert set(spanish.REQUEST_FORM) == set(english.REQUEST_FORM)


@pytest.mark.parametrize(("accept", "language"), BROWSERS)
def test_the_request_form_speaks_the_browsers_language_before_anything_is_typed(accept: str, language: str):
    words = opened_form(accept).form_words
    if language == "en":
        assert words == english.REQUEST_FORM and words | ENGLISH_SOME == words
    else:
        assert words == spanish.REQUEST_FORM and words | SPANISH_SOME == words
        assert words["consent"].startswith("Acepto que un asistente de IA pueda llamarme en nombre de los negocios")


@pytest.mark.parametrize(("accept", "consent"), [("es-MX", spanish.CONSENT_TEXT), ("en-US", english.CONSENT_TEXT)])
def test_the_consent_recorded_is_the_text_the_form_showed(db_session: Session, accept: str, consent: str):
    state = opened_form(accept)
    form = {"text": JOBS["es"], "zip": "46032", "email": "casey@example.com", "phone": "(317) 846-2200"}
    assert RequestState.submit.fn(state, form | {"consent_ai_calls": "on"}) is not None, state.errors
    lead = db_session.exec(select(Lead).where(Lead.id == state.lead_id)).one()
    assert (lead.consent_ai_calls, lead.consent_text) == (True, consent)
