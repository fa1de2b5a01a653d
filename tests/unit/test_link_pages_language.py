"""What a consumer is told before LeadApp knows their request is in their language too: a Spanish request's links
carry `?lang=es` (outside the token's signature), so a bad or expired tracking or review link is refused in Spanish,
and without it the browser's Accept-Language decides (English otherwise); someone else's conversation is refused in
the browser's language. Where the request is known its language decides: the review page's heading and done message,
the daily text cap and a bad number when its code is sent, and the "Email reply" / "Text reply" badge of a message
(the business's side stays English); a request form written in Spanish refuses a bad number, and each other field,
in Spanish, and its confirmation says how the link was sent in the request's language; the tracking page's account
form reads the request's language; the portal's request page its request's (refused: the browser's), and the
portal's account-wide words Spanish when every request is, else the browser's."""

from __future__ import annotations

import copy
from urllib.parse import urlsplit

import pytest
import reflex as rx
from reflex.istate.data import HeaderData, ReflexURL, RouterData
from sqlmodel import Session

from leadapp.core import languages, links
from leadapp.core.errors import UserError
from leadapp.core.models import ThreadMessage
from leadapp.core.services import accounts, compose, follow, intake, messages, phone_codes, portal
from leadapp.core.services.rules import DEFAULT_RULES, RulesSnapshot
from leadapp.core.settings import get_settings
from leadapp.core.vocab import MessageChannel, ThreadSide
from leadapp.pages.consumer.portal import PortalState
from leadapp.pages.consumer.track import TrackState
from leadapp.pages.public.review import ReviewState
from leadapp.routes import last_segment
from tests import factories

ORIGIN = "http://localhost:3000"
# Each text as (English, Spanish).
TEXTS = {
    "track_invalid": (
        "This tracking link is invalid or has expired, or the request was deleted. "
        "Links work for 30 days; log in to see all your requests.",
        "Este enlace de seguimiento no es válido o venció, o la solicitud se eliminó. "
        "Los enlaces valen por 30 días; inicie sesión para ver todas sus solicitudes.",
    ),
    "log_in": ("Log in", "Iniciar sesión"),
    "review_bad_link": (
        "This review link is invalid or has expired. Open your portal to review the job from your request.",
        "Este enlace para la reseña no es válido o venció. Abra su portal para calificar el trabajo desde su "
        "solicitud.",
    ),
    "review_heading": ("Review the job", "Califique el trabajo"),
    "review_done": (("Your review of ", " is posted. Thank you!"), ("Su reseña de ", " está publicada. ¡Gracias!")),
    "not_yours": ("This conversation is not one of yours.", "Esta conversación no es suya."),
    "phone_invalid": (
        "Enter a valid phone number, e.g. (317) 846-2200.",
        "Ingrese un número de teléfono válido, p. ej. (317) 846-2200.",
    ),
    "phone_country": (
        "We can only call and text numbers in the United States and Canada.",
        "Solo podemos llamar y enviar mensajes de texto a números de Estados Unidos y Canadá.",
    ),
    "sms_cap": (
        "LeadApp has sent as many text messages as it may today; try again tomorrow.",
        "LeadApp ya envió hoy todos los mensajes de texto que puede; inténtelo de nuevo mañana.",
    ),
    "via": (("Email reply", "Text reply"), ("Respuesta por correo", "Respuesta por SMS")),
    "link_sent": ("We also sent this link to you by ", "También le enviamos este enlace por "),
}
SENT_BY_ES = "correo electrónico y mensaje de texto"
WORDS = {language: {name: both[i] for name, both in TEXTS.items()} for i, language in enumerate(("en", "es"))}
# (the link's `lang`, the browser's Accept-Language) → the language of a page that does not know the request.
VISITORS = [
    ("es", "", "es"),
    ("es", "en-US,en;q=0.9", "es"),  # the link wins: it was sent for a Spanish request
    ("", "es-MX,es;q=0.9,en;q=0.8", "es"),
    ("", "fr-FR,es;q=0.5,en;q=0.3", "es"),
    ("", "en-US,es;q=0.5", "en"),
    ("fr", "de-DE", "en"),
    ("", "", "en"),
]


def state_at(state_cls: type, url: str, accept_language: str = "", user=None, s: Session | None = None):
    """A page state of a tab at `url` (as Reflex fills the router) in a browser sending `accept_language`."""
    root = rx.State(_reflex_internal_init=True)
    root.router = RouterData(url=ReflexURL(ORIGIN + url), headers=HeaderData(accept_language=accept_language))
    state = root.get_substate(state_cls.get_full_name().split(".")[1:])
    if user is not None and s is not None:
        state.session_token = accounts.open_session(s, user)
        s.commit()
    return state


def _path(link: str) -> str:
    """The address a link opens on this origin: its path and query."""
    parts = urlsplit(link)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@pytest.mark.parametrize(("lang", "accept", "expected"), VISITORS)
def test_a_page_that_does_not_know_the_request_speaks_the_links_language_else_the_browsers(lang, accept, expected):
    assert languages.of_visitor(lang, accept) == expected


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_requests_links_carry_its_language_outside_the_signature(db_session: Session, language: str):
    s = db_session
    lead = factories.lead(s, factories.consumer(s, "casey@example.com"), language=language)
    s.commit()
    query = "?lang=es" if language == "es" else ""
    tracking = compose.tracking_link(lead)
    assert tracking.endswith(query) and tracking.count("?") == len(query[:1])
    assert links.review_link(7, lead.id, language).endswith(f"/review/{links.review_token(7, lead.id)}{query}")  # type: ignore[arg-type]
    # The token the page reads from the address is the signed one: the query does not touch it.
    found = portal.lead_for_magic_token(s, last_segment(urlsplit(tracking).path))
    assert found is not None and found.id == lead.id


def opened_bad_link(state_cls: type, path: str, lang: str, accept: str):
    """The page state of a link whose token is none (with `?lang=` when `lang`), opened in a browser sending
    `accept`."""
    state = state_at(state_cls, f"{path}not-a-token{'?lang=' + lang if lang else ''}", accept)
    state_cls.open.fn(state)
    return state


# (the link's `lang`, the browser's Accept-Language, the language the refusal is in)
BAD_LINKS = [("es", "en-US", "es"), ("", "es-MX", "es"), ("", "", "en"), ("", "en-US", "en")]


@pytest.mark.parametrize(("lang", "accept", "language"), BAD_LINKS)
def test_a_bad_tracking_link_is_refused_in_the_links_or_the_browsers_language(
    db_session: Session, lang: str, accept: str, language: str
):
    want, state = WORDS[language], opened_bad_link(TrackState, "/portal/track/", lang, accept)
    assert state.track_status == "invalid"
    assert (state.invalid_words["text"], state.invalid_words["log_in"]) == (want["track_invalid"], want["log_in"])
    TrackState.withdraw.fn(state, "1")  # an action through the dead link says the same
    assert state.error == want["track_invalid"]


def test_a_good_tracking_link_reads_its_requests_language_whatever_the_browser(db_session: Session):
    s = db_session
    lead = factories.lead(s, factories.consumer(s, "casey@example.com"), language="es")
    s.commit()
    state = state_at(TrackState, _path(compose.tracking_link(lead)), "en-US")
    TrackState.open.fn(state)
    assert state.track_status == "ok" and state.tracked.words["your_request"] == "Su solicitud"


@pytest.mark.parametrize(("lang", "accept", "language"), BAD_LINKS)
def test_a_bad_review_link_is_refused_in_the_links_or_the_browsers_language(
    db_session: Session, lang: str, accept: str, language: str
):
    want, state = WORDS[language], opened_bad_link(ReviewState, "/review/", lang, accept)
    assert (state.review_status, state.review_message) == ("invalid", want["review_bad_link"])
    assert state.page_words["heading"] == want["review_heading"]


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_review_page_of_a_good_link_reads_the_requests_language(db_session: Session, language: str):
    s, want = db_session, WORDS[language]
    w, conversion = factories.won_job(s, language=language)
    link = links.review_link(conversion.id, w.lead.id, language)  # type: ignore[arg-type]
    state = state_at(ReviewState, urlsplit(link).path, "fr-FR")  # no `lang`, a browser in neither language
    ReviewState.open.fn(state)
    assert (state.review_status, state.page_words["heading"]) == ("ready", want["review_heading"])
    ReviewState.submit.fn(state, {"stars": "5", "text": "ok"})
    done = (state.page_words["done"], state.page_words["done_end"])
    assert (state.review_status, done) == ("done", want["review_done"])


@pytest.mark.parametrize(("accept", "language"), [("es-US,es;q=0.9", "es"), ("en-US", "en")])
def test_someone_elses_conversation_is_refused_in_the_browsers_language(db_session: Session, accept, language):
    s = db_session
    w = factories.two_businesses(s, accepted=True, language="es")
    state = state_at(PortalState, "/portal", accept, w.other_consumer, s)
    PortalState.load.fn(state)
    match_id = str(w.match.id)
    PortalState.send_message.fn(state, {"match_id": match_id, "body": "hola"})
    assert state.message_errors == {match_id: WORDS[language]["not_yours"]}


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_bad_number_and_the_days_text_cap_are_said_in_the_requests_language(
    db_session: Session, monkeypatch: pytest.MonkeyPatch, language: str
):
    s, want = db_session, WORDS[language]
    lead = factories.lead(s, factories.consumer(s, "casey@example.com"), language=language, phone_verified_at=None)
    s.commit()

    def refusal(number: str) -> str:
        with pytest.raises(UserError) as refused:
            phone_codes.send_code(s, f"lead-{lead.id}", number, lead_id=lead.id)
        return refused.value.message

    assert refusal("12") == want["phone_invalid"]
    assert refusal("+44 20 7946 0958") == want["phone_country"]
    monkeypatch.setenv("SMS_PER_DAY", "0")
    get_settings.cache_clear()
    assert refusal("+13178462203") == want["sms_cap"]


@pytest.mark.parametrize("language", ["en", "es"])
def test_how_a_reply_came_in_reads_in_the_consumers_language_and_english_for_the_business(
    db_session: Session, language: str
):
    s = db_session
    w = factories.two_businesses(s, accepted=True, language=language)
    for channel in (MessageChannel.EMAIL, MessageChannel.SMS):
        s.add(
            ThreadMessage(
                match_id=w.match.id,  # type: ignore[arg-type]
                lead_id=w.lead.id,  # type: ignore[arg-type]
                business_id=w.business.id,  # type: ignore[arg-type]
                side=ThreadSide.BUSINESS.value,
                body=f"Reply by {channel.value}",
                channel=channel.value,
            )
        )
    s.commit()
    [card] = portal.consumer_leads(s, w.consumer)
    [thread] = [t for t in card["threads"] if t["match_id"] == str(w.match.id)]
    assert tuple(m["via"] for m in thread["messages"]) == WORDS[language]["via"]
    owner_view = messages.thread(s, w.owner, w.match.id)
    assert tuple(m["via"] for m in owner_view["messages"]) == WORDS["en"]["via"]  # type: ignore[union-attr]


JOBS = {
    "en": "My kitchen sink is leaking under the cabinet and I need a plumber this week",
    "es": "Tengo una fuga de agua debajo del fregadero de la cocina y necesito un plomero esta semana",
}


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize(("phone", "why"), [("12", "phone_invalid"), ("+44 20 7946 0958", "phone_country")])
def test_a_request_form_refuses_a_bad_number_in_the_language_it_is_written_in(language: str, phone: str, why: str):
    form = intake.Submission(text=JOBS[language], zip="46032", phone=phone, email="casey@example.com")
    with pytest.raises(intake.SubmissionInvalid) as refused:
        intake.validate(form, RulesSnapshot(0, copy.deepcopy(DEFAULT_RULES)))
    assert refused.value.errors == {"phone": WORDS[language][why]}


# The request form's other fields: (the form's changes, the field, its refusal in English and in Spanish).
FORM_REFUSALS = [
    ({"zip": "4603"}, "zip", ("Enter a 5-digit US ZIP code.", "Ingrese un código postal de EE. UU. de 5 dígitos.")),
    ({"zip": "00000"}, "zip", ("We don't know the ZIP code 00000.", "No conocemos el código postal 00000.")),
    ({"email": "casey@"}, "email", ("Enter a valid email address (", "Ingrese un correo electrónico válido (")),
    (
        {"email": "", "phone": ""},
        "email",
        ("Give an email address or a phone number", "Dé un correo electrónico o un número de teléfono"),
    ),
    ({"preferred_contact": "pigeon"}, "preferred_contact", ("Choose email, phone", "Elija correo electrónico")),
    (
        {"preferred_contact": "sms", "phone": ""},
        "phone",
        ("Give a phone number to be", "Dé un número de teléfono para"),
    ),
    ({"phone": "(317) 555-1234"}, "phone", ("This phone number can't be used.", "Este número de teléfono no se puede")),
    ({"name": "n" * 201}, "name", ("Use at most 200 characters.", "Use como máximo 200 caracteres.")),
]


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize(("changes", "field", "said"), FORM_REFUSALS)
def test_a_request_form_refuses_each_field_in_the_language_it_is_written_in(language, changes, field, said):
    values = {"text": JOBS[language], "zip": "46032", "phone": "(317) 846-2200", "email": "casey@example.com"}
    with pytest.raises(intake.SubmissionInvalid) as refused:
        intake.validate(intake.Submission(**{**values, **changes}), RulesSnapshot(0, copy.deepcopy(DEFAULT_RULES)))
    assert refused.value.errors[field].startswith(said[("en", "es").index(language)])


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("Se me rompió el calentador de agua", "Describa el problema en al menos 10 palabras"),
        ("My water heater broke down", "Describe the problem in at least 10 words"),
    ],
)
def test_a_description_too_short_is_refused_in_its_own_language(text: str, said: str):
    with pytest.raises(intake.SubmissionInvalid) as refused:
        form = intake.Submission(text=text, zip="46032", email="casey@example.com")
        intake.validate(form, RulesSnapshot(0, copy.deepcopy(DEFAULT_RULES)))
    assert refused.value.errors["text"].startswith(said)


@pytest.mark.parametrize(("language", "sent_by"), [("en", "email and text message"), ("es", SENT_BY_ES)])
def test_the_confirmation_says_how_the_link_was_sent_in_the_requests_language(db_session, language, sent_by):
    s = db_session
    # Just sent, not yet classified (its language not yet set): the language its text reads as; then its own.
    lead = factories.lead(s, raw_text=JOBS[language], status="received", preferred_contact="sms")
    s.commit()
    shown = follow.confirmation(s, lead.id)  # type: ignore[arg-type]
    assert shown is not None and shown.sent_by == sent_by
    assert shown.tracking_link.endswith("?lang=es") == (language == "es")
    lead.status, lead.raw_text, lead.language = "classified", JOBS["en"], language
    s.add(lead)
    s.commit()
    assert follow.confirmation(s, lead.id).sent_by == sent_by  # type: ignore[union-attr]
    assert languages.phrases(language).CARD["link_sent"] == WORDS[language]["link_sent"]  # the sentence around it


# The tracking page's account form: (its labels and hint, the passwords differing, too short, no email) by language.
CLAIM = {
    "en": (
        {"email": "Email", "password": "Password", "repeat": "Repeat the password", "hint": "At least 10 characters."},
        "The two passwords differ.",
        "Use at least 10 characters.",
        "Enter the email address to log in with.",
    ),
    "es": (
        {"email": "Correo electrónico", "password": "Contraseña", "repeat": "Repita la contraseña"}
        | {"hint": "Al menos 10 caracteres."},
        "Las dos contraseñas no coinciden.",
        "Use al menos 10 caracteres.",
        "Ingrese el correo electrónico con el que iniciará sesión.",
    ),
}


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_tracking_pages_account_form_reads_the_requests_language(db_session: Session, language: str):
    s = db_session
    labels, differ, short, no_email = CLAIM[language]
    lead = factories.lead(s, None, language=language, contact_email="")
    s.commit()
    state = state_at(TrackState, _path(compose.tracking_link(lead)), "fr-FR")  # a browser in neither language
    TrackState.open.fn(state)
    assert (state.can_claim, state.claim_needs_email, state.claim_words) == (True, True, labels)
    TrackState.create_account.fn(state, {"password": "a-long-password", "password_confirm": "another-one"})
    assert state.claim_errors == {"password_confirm": differ}
    TrackState.create_account.fn(state, {"password": "short", "password_confirm": "short", "email": "c@example.com"})
    assert state.claim_errors == {"password": short}
    TrackState.create_account.fn(state, {"password": "a-long-password", "password_confirm": "a-long-password"})
    assert state.claim_errors == {"email": no_email}


# The portal's frame and account-wide words, by language: (heading, back link, refusal of a request not in the account,
# the "No AI calls" switch's label, "No such request", a quote and a job not one's own, "AI calls are off", deleted).
PORTAL_WORDS = {
    "en": (
        "Your request",
        "My requests",
        "This request is not in your account",
        "No AI calls",
        "No such request.",
        "This quote is not on one of your requests.",
        "You can only review a business that did a job for you.",
        "AI calls are off: no AI assistant will call your numbers",
        "Your requests were deleted",
    ),
    "es": (
        "Su solicitud",
        "Mis solicitudes",
        "Esta solicitud no está en su cuenta",
        "Sin llamadas de IA",
        "Esa solicitud no existe.",
        "Este presupuesto no es de ninguna de sus solicitudes.",
        "Solo puede calificar a un negocio que hizo un trabajo para usted.",
        "Llamadas de IA desactivadas: ningún asistente de IA llamará a sus números",
        "Sus solicitudes se eliminaron",
    ),
}


@pytest.mark.parametrize(("language", "accept"), [("es", "en-US"), ("en", "es-MX")])
def test_a_request_page_reads_its_requests_language_whatever_the_browser(db_session: Session, language, accept):
    s = db_session
    consumer = factories.consumer(s, "casey@example.com")
    lead = factories.lead(s, consumer, language=language)
    s.commit()
    state = state_at(PortalState, f"/portal/requests/{lead.id}", accept, consumer, s)
    PortalState.open_request.fn(state)
    assert state.request_page == "ok"
    assert (state.frame["your_request"], state.frame["my_requests"]) == PORTAL_WORDS[language][:2]


@pytest.mark.parametrize(("accept", "language"), [("es-MX,es;q=0.9", "es"), ("en-US", "en")])
def test_a_request_page_refused_reads_the_browsers_language(db_session: Session, accept: str, language: str):
    s = db_session
    consumer = factories.consumer(s, "casey@example.com")
    factories.lead(s, consumer, language="es")  # the account's request is not the one asked for
    s.commit()
    state = state_at(PortalState, "/portal/requests/999999", accept, consumer, s)
    PortalState.open_request.fn(state)
    assert state.request_page == "refused"
    assert state.frame["request_refused"].startswith(PORTAL_WORDS[language][2])


# (the languages of the account's requests, the browser's Accept-Language, the language of the account's parts)
ACCOUNTS = [(("es", "es"), "en-US", "es"), (("es", "en"), "es-MX", "es"), (("es", "en"), "en-US", "en")]


def loaded_portal(s: Session, requests: tuple[str, ...], accept: str):
    """The portal's list loaded for a consumer whose requests are in `requests`' languages, in a browser sending
    `accept`."""
    consumer = factories.consumer(s, "casey@example.com")
    for request_language in requests:
        factories.lead(s, consumer, language=request_language)
    s.commit()
    state = state_at(PortalState, "/portal", accept, consumer, s)
    PortalState.load.fn(state)
    return state


@pytest.mark.parametrize(("requests", "accept", "language"), ACCOUNTS)
def test_the_portals_account_wide_words_are_spanish_when_all_requests_are_else_the_browsers(
    db_session: Session, requests: tuple[str, ...], accept: str, language: str
):
    want, state = PORTAL_WORDS[language], loaded_portal(db_session, requests, accept)
    assert state.frame["no_ai_calls"] == want[3]
    PortalState.withdraw.fn(state, "x")
    assert state.error == want[4]
    PortalState.withdraw.fn(state, "999999")  # refused by the service, which knows no request
    assert state.error == want[4]
    PortalState.accept_quote.fn(state, "999999")
    assert state.error == want[5]
    PortalState.submit_review.fn(state, {"conversion_id": "x", "stars": "5"})
    assert state.error == want[6]
    PortalState.set_no_ai_calls.fn(state, True)
    assert state.notice.startswith(want[7])
    PortalState.delete_my_data.fn(state)
    assert state.notice.startswith(want[8])


# A link the service refuses once the tracking page had it, the account made from it, and a quote refused: (another
# request's link, the request gone, a link that is none, the account form's link problem, a declined quote, a quote
# of no request of the link's) by language.
LINK_REFUSALS = {
    "en": (
        "This link is for another request.",
        "This request no longer exists.",
        "This link is invalid or has expired.",
        "This tracking link is invalid or has expired: log in, or ask for a new link.",
        "This quote was declined: you accepted another one.",
        "This quote is not on one of your requests.",
    ),
    "es": (
        "Este enlace es de otra solicitud.",
        "Esta solicitud ya no existe.",
        "Este enlace no es válido o ha caducado.",
        "Este enlace de seguimiento no es válido o ha caducado: inicie sesión o pida un enlace nuevo.",
        "Este presupuesto fue rechazado: usted aceptó otro.",
        "Este presupuesto no es de ninguna de sus solicitudes.",
    ),
}


def _opened_track(s: Session, lead, accept: str = "fr-FR"):
    """The tracking page of `lead`'s own link, opened in a browser in neither language."""
    state = state_at(TrackState, _path(compose.tracking_link(lead)), accept)
    TrackState.open.fn(state)
    assert state.track_status == "ok"
    return state


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_link_refused_by_the_service_is_said_in_the_links_language(db_session: Session, language: str):
    s, want = db_session, LINK_REFUSALS[language]
    lead = factories.lead(s, None, language=language, contact_email="casey@example.com")
    other = factories.lead(s, None, language=language)
    s.commit()
    state = _opened_track(s, lead)
    state._lead_id = other.id  # the link's token names its own request only
    TrackState.withdraw.fn(state, "1")
    assert state.error == want[0]
    state = _opened_track(s, lead)
    state._token = "not-a-token"
    TrackState.create_account.fn(state, {"password": "a-long-password", "password_confirm": "a-long-password"})
    assert state.claim_errors == {"form": want[3]}
    TrackState.withdraw.fn(state, "1")
    assert state.error == want[2]
    state = _opened_track(s, lead)
    lead.deleted_at = lead.created_at
    s.add(lead)
    s.commit()
    TrackState.withdraw.fn(state, "1")
    assert state.error == want[1]


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_quote_refused_on_the_tracking_page_is_said_in_the_requests_language(db_session: Session, language: str):
    s, want = db_session, LINK_REFUSALS[language]
    w = factories.two_businesses(s, accepted=True, language=language)
    declined = factories.quote(s, w.match, status="declined")
    s.commit()
    state = _opened_track(s, w.lead, "en-US" if language == "es" else "es-MX")  # the browser does not decide
    TrackState.accept_quote.fn(state, str(declined.id))
    assert state.error == want[4]
    TrackState.accept_quote.fn(state, "999999")  # no quote at all: the service's refusal, in the page's language
    assert state.error == want[5]


# The list page's frame: (heading, "Hello, ", "New request", none yet, "Your data", the delete dialog's title, cancel,
# its button) by language.
PORTAL_LIST = {
    "en": (
        "My requests",
        "Hello, ",
        "New request",
        "You have no service requests yet.",
        "Your data",
        "Delete all your requests?",
        "Cancel",
        "Delete my data",
    ),
    "es": (
        "Mis solicitudes",
        "Hola, ",
        "Nueva solicitud",
        "Todavía no tiene solicitudes de servicio.",
        "Sus datos",
        "¿Eliminar todas sus solicitudes?",
        "Cancelar",
        "Eliminar mis datos",
    ),
}
LIST_KEYS = ("my_requests", "hello", "new_request", "no_requests", "your_data", "delete_title", "cancel")


@pytest.mark.parametrize(("requests", "accept", "language"), [*ACCOUNTS, ((), "es-MX", "es"), ((), "en-US", "en")])
def test_the_portal_lists_frame_reads_the_accounts_language(
    db_session: Session, requests: tuple[str, ...], accept: str, language: str
):
    frame = loaded_portal(db_session, requests, accept).frame
    assert (*(frame[k] for k in LIST_KEYS), frame["delete_my_data"]) == PORTAL_LIST[language]
    assert frame["delete_text"].startswith(
        ("Every request you made", "Todas las solicitudes que hizo")[language == "es"]
    )
