"""A request written in Spanish, by clicks: a visitor describes the job in Spanish from "Get help"; it is matched
to the demo plumber (who serves English and Spanish); the plumber opens it from the inbox and sees that it is in
Spanish, so the AI call will speak Spanish. The consumer reads their Spanish request's status lines in Spanish, in
the portal too, and its card's headings, times, distances, buttons and why a button is off."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Deployment
from tests.e2e.journeys import (
    TIMEOUT,
    click_link,
    go_to,
    log_in_to_portal,
    login,
    new_marker,
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
    send_request(
        visitor,
        f"Tengo una fuga de agua debajo del fregadero de la cocina y necesito un plomero esta semana ({marker})",
        "(317) 846-2218",
    )
    expect(visitor.locator("#request-status")).to_have_text("Con negocios", timeout=30_000)  # "Matched"

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
    expect(card.locator(".withdraw-request")).to_have_attribute("title", "Esta solicitud ya está retirada.")
    expect(card.locator(".callback-reason")).to_have_text("Esta solicitud fue retirada.")
