"""What the consumer is told about their own actions on a request is in the request's language (`core.languages`):
a message refused (empty, too long, a photo that is none, a closed request), their own name in the thread, a review
refused (no stars, stars out of range, already reviewed), a withdrawal refused, the code texted to the request's
number and its refusals, and the card's thread, review and code fields; the business's side of the same thread stays
English."""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, select

from leadapp.components.requests import request_view
from leadapp.core.errors import FieldErrors, UserError
from leadapp.core.models import Notification
from leadapp.core.models.messages import BODY_MAX
from leadapp.core.services import messages, phone_codes, portal, reviews
from leadapp.core.vocab import LeadStatus
from tests import factories

World = factories.TwoBusinesses

# Each text as (English, Spanish).
TEXTS = {
    "empty": ("Write a message first.", "Escriba un mensaje primero."),
    "too_long": (
        f"Keep it to 2,000 characters (this is {BODY_MAX + 1:,}).",
        f"Máximo 2,000 caracteres (este tiene {BODY_MAX + 1:,}).",
    ),
    "photo": ("Send a photo as JPEG, PNG, WebP or GIF.", "Envíe la foto en JPEG, PNG, WebP o GIF."),
    "closed": (
        "This request is closed: the conversation is read-only.",
        "Esta solicitud está cerrada: la conversación es solo de lectura.",
    ),
    "you": ("You", "Usted"),
    "no_stars": ("Choose from 1 to 5 stars.", "Elija de 1 a 5 estrellas."),
    "out_of_range": ("Stars go from 1 to 5.", "Las estrellas van de 1 a 5."),
    "already": (
        "This job has already been reviewed: a review link works once.",
        "Este trabajo ya tiene reseña: el enlace para la reseña vale una sola vez.",
    ),
    "withdrawn": ("This request is already withdrawn.", "Esta solicitud ya está retirada."),
    "card": (
        {"your_message": "Your message", "send_message": "Send message", "stars_5": "★★★★★ 5 — excellent"},
        {"your_message": "Su mensaje", "send_message": "Enviar mensaje", "stars_5": "★★★★★ 5 — excelente"},
    ),
    "code": (
        ("6-digit code", "Code from the text message", "Verify"),
        ("Código de 6 dígitos", "Código del mensaje de texto", "Verificar"),
    ),
    "sms": ("LeadApp: your code is ", "LeadApp: su código es "),
    "code_format": (
        "Enter the 6-digit code from the text message.",
        "Ingrese el código de 6 dígitos del mensaje de texto.",
    ),
    "wrong": ("That code is not right (", "Ese código no es correcto (le quedan "),
    "verified": ("Your phone number is already verified.", "Su número de teléfono ya está verificado."),
}
WORDS = {language: {name: both[i] for name, both in TEXTS.items()} for i, language in enumerate(("en", "es"))}


def _refusal(action) -> str:
    with pytest.raises(UserError) as refused:
        action()
    return refused.value.message


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_consumers_thread_and_its_refusals_are_in_the_requests_language(db_session: Session, language: str):
    s, want = db_session, WORDS[language]
    w = factories.two_businesses(s, accepted=True, language=language)
    assert _refusal(lambda: messages.post_message(s, w.consumer, w.match.id, "   ")) == want["empty"]
    too_long = "x" * (BODY_MAX + 1)
    assert _refusal(lambda: messages.post_message(s, w.consumer, w.match.id, too_long)) == want["too_long"]
    assert _refusal(lambda: messages.post_message(s, w.consumer, w.match.id, "", photo=b"not a photo")) == want["photo"]
    messages.post_message(s, w.consumer, w.match.id, "¿Puede venir el martes?")
    messages.post_message(s, w.owner, w.match.id, "Yes, 9am works.")
    s.commit()

    [card] = portal.consumer_leads(s, w.consumer)
    [thread] = [t for t in card["threads"] if t["match_id"] == str(w.match.id)]
    assert [m["author"] for m in thread["messages"]] == [want["you"], "Carmel Plumbing"]
    view = request_view(card)  # the card's panel and fields read the same language
    assert {key: view.words[key] for key in want["card"]} == want["card"]
    assert (view.words["code_placeholder"], view.words["code_label"], view.words["verify"]) == want["code"]

    # The business reads its side in English whatever the request's language.
    owner_view = messages.thread(s, w.owner, w.match.id)
    assert [m["author"] for m in owner_view["messages"]] == ["Consumer", "You"]  # type: ignore[union-attr]
    assert _refusal(lambda: messages.post_message(s, w.owner, w.match.id, "")) == "Write a message first."

    # A closed request: the consumer's thread is read-only, said in the request's language.
    w.lead.status = LeadStatus.WITHDRAWN.value
    s.add(w.lead)
    s.commit()
    assert _refusal(lambda: messages.post_message(s, w.consumer, w.match.id, "¿Hola?")) == want["closed"]
    assert _refusal(lambda: portal.withdraw_request(s, w.consumer, w.lead.id)) == want["withdrawn"]


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_refused_review_says_why_in_the_requests_language(db_session: Session, language: str):
    s, want = db_session, WORDS[language]
    w, conversion = factories.won_job(s, language=language)

    def review(form: dict[str, str]) -> dict[str, str]:
        with pytest.raises(FieldErrors) as refused:
            reviews.submit_review(s, w.consumer, form, conversion_id=conversion.id)
        return refused.value.errors

    assert review({"stars": "", "text": "ok"}) == {"stars": want["no_stars"]}
    assert review({"stars": "9", "text": "ok"}) == {"stars": want["out_of_range"]}
    reviews.submit_review(s, w.consumer, {"stars": "5", "text": "Muy bien"}, conversion_id=conversion.id)
    s.commit()
    assert (
        _refusal(lambda: reviews.submit_review(s, w.consumer, {"stars": "4"}, conversion_id=conversion.id))
        == (want["already"])
    )
    # The review page of the emailed link reads the same language.
    assert reviews.review_page(s, w.consumer, conversion.id)["language"] == language


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_code_texted_to_a_requests_number_and_its_refusals_are_in_its_language(db_session: Session, language: str):
    s, want = db_session, WORDS[language]
    consumer = factories.consumer(s, "casey@example.com")
    phone = "+13178462201" if language == "en" else "+13178462202"
    lead = factories.lead(s, consumer, phone=phone, language=language, phone_verified_at=None)
    s.commit()
    phone_codes.send_lead_code(s, consumer, lead.id)  # type: ignore[arg-type]
    s.commit()
    sms = s.exec(select(Notification).where(Notification.lead_id == lead.id).order_by(col(Notification.id))).all()
    assert [n.body_text[: len(want["sms"])] for n in sms] == [want["sms"]]
    code = sms[0].body_text[len(want["sms"]) :][:6]
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    assert _refusal(lambda: phone_codes.verify_lead_code(s, consumer, lead.id, "12")) == want["code_format"]
    assert _refusal(lambda: phone_codes.verify_lead_code(s, consumer, lead.id, wrong)).startswith(want["wrong"])
    phone_codes.verify_lead_code(s, consumer, lead.id, code)  # type: ignore[arg-type]
    s.commit()
    assert _refusal(lambda: phone_codes.send_lead_code(s, consumer, lead.id)) == want["verified"]
