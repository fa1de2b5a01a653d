"""A request written in Spanish, by clicks: a visitor describes the job in Spanish from "Get help"; it is matched
to the demo plumber (who serves English and Spanish); the plumber opens it from the inbox and sees that it is in
Spanish, so the AI call will speak Spanish; the confirmation says in Spanish how the tracking link was sent. The
consumer reads their Spanish request's status lines in Spanish, in the portal too, and its card's headings, times,
distances, buttons and why a button is off, and the request's own page; once the plumber took it, the conversation
with the plumber (the plumber's side stays English) and, once the job is won, the review form and the emailed review
link's page (that link spoiled is refused in Spanish, as a bad tracking link is in a browser speaking Spanish). A
browser speaking Spanish gets the request form in Spanish before anything is typed, and sends it by clicks."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Deployment
from tests.e2e.journeys import (
    TIMEOUT,
    accepted_in_two_browsers,
    click_link,
    emailed_link,
    go_to,
    log_in_to_portal,
    login,
    new_marker,
    open_emailed_link,
    send_request,
    start,
)

pytestmark = pytest.mark.e2e


def test_a_request_in_spanish_reaches_a_plumber_serving_spanish_who_sees_its_language(
    browser: Browser, deployment: Deployment
):
    marker = new_marker()
    visitor, owner = (browser.new_context().new_page() for _ in range(2))
    for p in (visitor, owner):
        p.set_default_timeout(TIMEOUT)
    start(visitor, deployment)
    click_link(visitor, deployment, "Get help", "/request")
    job = f"Tengo una fuga de agua debajo del fregadero de la cocina y necesito un plomero esta semana ({marker})"
    # A number that is none is refused in the language the request is written in.
    send_request(visitor, job, "12", consent=False)
    expect(visitor.locator("#error-phone")).to_have_text("Ingrese un número de teléfono válido, p. ej. (317) 846-2200.")
    send_request(visitor, job, "(317) 846-2218")
    expect(visitor.locator("#request-status")).to_have_text("Con negocios", timeout=30_000)  # "Matched"
    # The confirmation says how its tracking link was also sent, in Spanish too.
    expect(visitor.locator("#tracking-link-sent")).to_have_text(
        "También le enviamos este enlace por correo electrónico."
    )

    login(owner, deployment, "plumber@leadapp.demo", deployment.consumer_password)
    owner.wait_for_url(re.compile(r".*/dashboard/?$"))
    owner.locator(".lead-row", has_text=marker).click()
    expect(owner.locator("#detail-language")).to_have_text(re.compile(r"Spanish"))


def test_the_portal_shows_a_spanish_requests_status_lines_in_spanish(browser: Browser, deployment: Deployment):
    marker = new_marker()
    page = browser.new_context().new_page()
    page.set_default_timeout(TIMEOUT)
    log_in_to_portal(page, deployment)
    go_to(page, "New request")
    job = f"Se me rompió el calentador de agua y necesito un plomero mañana, por favor ({marker})"
    send_request(page, job, "(317) 846-2218")
    expect(page.locator("#request-status")).to_have_text("Con negocios", timeout=30_000)
    expect(page.locator("#request-classification")).to_contain_text("La entendimos como: ")  # "We read it as: "

    go_to(page, "My requests")
    card = page.locator(".portal-request", has_text=marker)
    expect(card.locator(".request-status")).to_have_text("Con negocios")
    expect(card.locator(".request-reach")).to_contain_text(re.compile(r"Enviada a \d+ negocios? · \d+ la"))
    # The card's frame: its heading, how long ago, the distance and rating of a business, its buttons.
    expect(card).to_contain_text("Negocios encontrados")
    expect(card.locator(".request-time")).to_have_text(re.compile(r"^(hace |ayer)"))
    expect(card.locator(".match-rating").first).to_contain_text(re.compile(r"\d millas · "))
    expect(card.locator(".request-callback")).to_contain_text("Pedir que me llamen")
    # Withdrawn by a click: why the buttons are off now reads Spanish too.
    card.locator(".withdraw-request", has_text="Retirar").click()
    expect(card.locator(".request-status")).to_have_text("Retirada")
    expect(page.locator("#portal-notice")).to_contain_text("Retiró su solicitud.")
    expect(card.locator(".withdraw-request")).to_have_attribute("title", "Esta solicitud ya está retirada.")
    expect(card.locator(".callback-reason")).to_have_text("Esta solicitud fue retirada.")
    # Its own page, opened from the card: the page's heading and way back read Spanish as well.
    card.locator(".open-request").click()
    expect(page.locator("#request-heading")).to_have_text("Su solicitud")
    expect(page.locator("#back-to-requests")).to_have_text("Mis solicitudes")


def test_a_spanish_requests_conversation_and_review_form_read_spanish(browser: Browser, deployment: Deployment):
    marker = new_marker()
    job = f"Se me rompió el calentador de agua del garaje y necesito un plomero esta semana, por favor (ref {marker})"
    owner, consumer = accepted_in_two_browsers(browser, deployment, marker, job=job)

    # The conversation with the plumber: its heading, empty text, field, buttons and refusal read Spanish.
    go_to(consumer, "My requests")
    card = consumer.locator(".portal-request", has_text=marker)
    thread = card.locator(".message-thread")
    expect(thread).to_have_count(1, timeout=10_000)
    expect(thread).to_contain_text("Mensajes con ")
    expect(thread.locator(".thread-empty")).to_contain_text("Todavía no hay mensajes.")
    expect(thread.locator(".send-photo")).to_have_text("Enviar foto")
    thread.locator(".send-message", has_text="Enviar mensaje").click()
    expect(thread.locator("[id$='-error']")).to_have_text("Escriba un mensaje primero.")
    thread.get_by_label("Su mensaje").fill(f"¿Puede venir el martes por la mañana? ({marker})")
    thread.locator(".send-message").click()
    expect(thread.locator(".thread-message .thread-author")).to_have_text("Usted")
    # The plumber's side of the same conversation stays English.
    owner_thread = owner.locator(".message-thread")
    expect(owner_thread.locator(".thread-message")).to_have_count(1, timeout=10_000)
    expect(owner_thread.get_by_label("Your message")).to_be_visible()

    # The plumber marks the job won: the card's review form, and its refusal, read Spanish.
    owner.locator("#job-value").fill("450")
    owner.locator("#convert-lead").click()
    expect(owner.locator("#detail-status")).to_have_text("Won", timeout=10_000)
    go_to(consumer, "New request")
    go_to(consumer, "My requests")
    form = card.locator(".review-form")
    expect(form).to_contain_text("Califique a ")
    form.locator(".post-review", has_text="Publicar mi reseña").click()
    expect(form.locator("[id$='-error-stars']")).to_have_text("Elija de 1 a 5 estrellas.")
    form.get_by_label("Estrellas").select_option(label="★★★★★ 5 — excelente")
    form.get_by_label("Su reseña (opcional, hasta 2,000 caracteres)").fill(f"Muy puntual y limpio ({marker})")
    form.locator(".post-review").click()
    expect(card.locator(".my-review-stars")).to_have_text("5 de 5 estrellas")

    # The review link emailed for the job carries the request's language: its page reads Spanish, the review done;
    # the same link spoiled is refused in Spanish before the page knows whose job it was.
    link = emailed_link(deployment, marker, "review_invite", "/review/")
    assert link.endswith("?lang=es"), link
    open_emailed_link(consumer, link)
    expect(consumer.locator("#review-heading")).to_have_text("Califique el trabajo")
    done = re.compile(r"Su reseña de .+ está publicada\. ¡Gracias!")
    expect(consumer.locator("#review-done")).to_contain_text(done)
    expect(consumer.locator("#review-posted-stars")).to_have_text("5 de 5 estrellas")
    token = link.split("/review/", 1)[1].split("?", 1)[0]
    open_emailed_link(consumer, link.replace(token, token[:-2] + ("AA" if not token.endswith("AA") else "BB")))
    expect(consumer.locator("#review-invalid")).to_have_text(re.compile(r"^Este enlace para la reseña no es válido"))


def test_a_bad_tracking_link_in_a_browser_speaking_spanish_is_refused_in_spanish(
    browser: Browser, deployment: Deployment
):
    page = browser.new_context(locale="es-MX").new_page()  # its requests say Accept-Language: es-MX
    page.set_default_timeout(TIMEOUT)
    open_emailed_link(page, f"{deployment.url}/portal/track/not-a-token")
    expect(page.locator("#track-invalid")).to_have_text(re.compile(r"^Este enlace de seguimiento no es válido"))
    expect(page.locator("#track-heading")).to_have_text("Su solicitud")
    expect(page.get_by_role("button", name="Iniciar sesión")).to_be_visible()


def test_a_browser_speaking_spanish_gets_the_request_form_in_spanish_and_sends_it(
    browser: Browser, deployment: Deployment
):
    marker = new_marker()
    page = browser.new_context(locale="es-MX").new_page()  # its requests say Accept-Language: es-MX
    page.set_default_timeout(TIMEOUT)
    start(page, deployment)
    click_link(page, deployment, "Get help", "/request")
    expect(page.get_by_role("heading", name="Consiga ayuda de un profesional local")).to_be_visible()
    expect(page.get_by_role("link", name="Responda unas preguntas")).to_be_visible()
    page.get_by_label("¿Con qué necesita ayuda?").fill(
        f"Tengo una fuga de agua debajo del fregadero de la cocina y necesito un plomero esta semana ({marker})"
    )
    page.get_by_label("Código postal").fill("46032")
    page.get_by_label("Su nombre").fill("Casey")
    page.get_by_role("textbox", name="Correo electrónico").fill("casey@example.com")
    page.get_by_role("textbox", name="Teléfono").fill("(317) 846-2218")
    expect(page.locator("#field-preferred_contact")).to_contain_text("Llamada telefónica")
    page.get_by_label("Mensaje de texto").click()
    consent = page.locator("label[for='field-consent_ai_calls']")
    expect(consent).to_contain_text("Acepto que un asistente de IA pueda llamarme")
    page.locator("#field-consent_ai_calls").click()
    page.get_by_role("button", name="Enviar mi solicitud").click()
    expect(page.locator("#request-received")).to_have_text("Gracias: recibimos su solicitud.")
    expect(page.locator("#request-status")).to_have_text("Con negocios", timeout=30_000)
    page.get_by_role("button", name="Enviar otra solicitud").click()
    expect(page.get_by_label("¿Con qué necesita ayuda?")).to_have_value("")
