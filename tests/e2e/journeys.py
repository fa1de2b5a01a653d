"""How a browser test gets around: the way a person does, by clicks from the role's home.

A journey starts with one typed address (`start`: the home page, or a page a person would open from a
bookmark) or with a link taken from the outbox (`open_emailed_link`); every other page is reached by
clicking the site's links (`go_to` for the role's navigation bar).
"""

from __future__ import annotations

import contextlib
import re
import secrets
import string
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Deployment

if TYPE_CHECKING:
    from sqlmodel import Session

    from leadapp.core.models import Lead, Match

TIMEOUT = 20_000
NO_AI_CALLS = "You asked not to receive AI calls on this number."


def new_marker() -> str:
    """Six random letters that tag one test's rows. Letters only: a hex tag such as "962571" reads as part of
    a phone number ("(962571-2)"), which the business's view of a request hides, so the test missed its row."""
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(6))


def path_re(deployment: Deployment, path: str) -> re.Pattern[str]:
    """The deployment's URL for `path` (a trailing slash and a query string allowed)."""
    return re.compile(re.escape(deployment.url) + re.escape(path.rstrip("/")) + r"/?(\?.*)?$")


def _address_bar(page: Page, url: str) -> None:
    """The one way a browser test leaves the clicks: an address given to the browser (the first page of a journey,
    a link from the outbox, or an address an attacker types)."""
    page.goto(url)


def start(page: Page, deployment: Deployment, path: str = "/") -> None:
    """Open the first page of a journey (typed into the address bar, as its user would)."""
    _address_bar(page, f"{deployment.url}{path}")


def open_emailed_link(page: Page, url: str) -> None:
    """Open a link taken from an email or SMS in the outbox."""
    _address_bar(page, url)


def login(page: Page, deployment: Deployment, email: str, password: str) -> None:
    """From the home page, click "Log in" and sign in; the role's home opens."""
    start(page, deployment)
    expect(page.locator("header nav").first).to_be_visible()
    desktop = page.locator("header").get_by_role("link", name="Log in").locator("visible=true")
    if desktop.count():
        desktop.first.click()
    else:  # a phone: the site's links are in the menu
        page.locator("#mobile-menu").click()
        page.get_by_role("menuitem", name="Log in").click()
    page.wait_for_url(path_re(deployment, "/login"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.locator("#login-submit").click()


def new_page(browser: Browser) -> Page:
    """A page in a browser context of its own (its own cookies: another person), waiting up to TIMEOUT."""
    page = browser.new_context().new_page()
    page.set_default_timeout(TIMEOUT)
    return page


def register_owner(page: Page, deployment: Deployment, email: str, full_name: str, password: str) -> None:
    """From the home page, "For businesses" → "Create a business account" (the business role already chosen),
    filled in and sent; the new owner's dashboard opens."""
    start(page, deployment)
    click_link(page, deployment, "For businesses", "/for-businesses")
    page.get_by_role("link", name="Create a business account").first.click()
    expect(page.locator("#role-business")).to_be_checked()
    page.get_by_label("Full name").fill(full_name)
    send_registration(page, email, password)
    page.wait_for_url(re.compile(re.escape(deployment.url) + r"/dashboard/?$"))


def send_registration(page: Page, email: str, password: str) -> None:
    """The open registration form's e-mail and password (twice) filled in, and sent."""
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Repeat the password").fill(password)
    page.locator("#register-submit").click()


def save_business_settings(page: Page, name: str, zip_code: str) -> None:
    """From the owner's navigation, "Settings": the business `name`, plumbing in `zip_code` and 20 miles around,
    saved (the page then says whether it was)."""
    go_to(page, "Settings")
    page.get_by_label("Business name").fill(name)
    page.get_by_role("checkbox", name="Plumbing", exact=True).check()
    page.get_by_label("ZIP code").fill(zip_code)
    page.get_by_label("Service radius (miles)").fill("20")
    page.locator("#settings-save").click()


def choose_interview(page: Page) -> None:
    """On the request form, take "Answer a few questions instead"; the guided interview opens with its first
    question."""
    page.get_by_role("link", name="Answer a few questions instead").click()
    page.wait_for_url(re.compile(r".*/request/interview/?$"))
    expect(page.locator(".chat-assistant").first).to_be_visible()


def answer_interview(page: Page, answers: list[str], *, until_ready: bool = True) -> None:
    """Send each answer in the guided interview and wait for the assistant's next message; with `until_ready`,
    stop as soon as the request may be sent ("Send request" enabled)."""
    submit = page.locator("#interview-submit")
    for answer in answers:
        count = page.locator(".chat-assistant").count()
        page.get_by_label("Your answer").fill(answer)
        page.locator("#interview-send").click()
        expect(page.locator(".chat-assistant")).to_have_count(count + 1)
        if until_ready and submit.is_enabled():
            break


def send_request(page: Page, text: str, phone: str, *, consent: bool = True) -> None:
    """On the request form: describe the job (`text`, ZIP 46032, the demo consumer's email, `phone`), consent
    to AI calls (with `consent`) and send it; the request's status appears on the page."""
    page.get_by_label("What do you need help with?").fill(text)
    page.get_by_label("ZIP code").fill("46032")
    page.locator("#field-email").fill("casey@example.com")
    page.locator("#field-phone").fill(phone)
    if consent:
        page.locator("#field-consent_ai_calls").click()
    page.locator("#request-submit").click()


def log_in_to_portal(page: Page, deployment: Deployment) -> None:
    """Log in as the demo consumer; the portal opens."""
    login(page, deployment, deployment.consumer_email, deployment.consumer_password)
    page.wait_for_url(re.compile(r".*/portal/?$"))


def log_in_to_inbox(page: Page, deployment: Deployment, email: str) -> None:
    """Log in as the demo business owner `email`; the dashboard opens on the inbox."""
    login(page, deployment, email, deployment.consumer_password)
    page.wait_for_url(path_re(deployment, "/dashboard"))
    expect(page.locator("#inbox-count")).to_be_visible()


def log_in_to_admin(page: Page, deployment: Deployment) -> None:
    """Log in as the deployment's admin; the admin home opens."""
    login(page, deployment, deployment.admin_email, deployment.admin_password)
    page.wait_for_url(re.compile(r".*/admin/?$"))


def file_request_from_portal(page: Page, deployment: Deployment, text: str, phone: str) -> None:
    """Log in as the demo consumer, file a request from the portal's "New request" (`send_request`) and wait
    until it is matched."""
    log_in_to_portal(page, deployment)
    go_to(page, "New request")
    send_request(page, text, phone)
    expect(page.locator("#request-status")).to_have_text("Matched", timeout=30_000)


def file_marked_request(page: Page, deployment: Deployment, job: str, phone: str) -> str:
    """`file_request_from_portal` for `job` tagged with a new marker ("… (ref marker)"); returns the marker."""
    marker = new_marker()
    file_request_from_portal(page, deployment, f"{job} (ref {marker})", phone)
    return marker


def my_request_card(page: Page, deployment: Deployment, job: str, phone: str) -> tuple[str, Any]:
    """`file_marked_request`, then the request's card in the portal's "My requests": (marker, card)."""
    marker = file_marked_request(page, deployment, job, phone)
    go_to(page, "My requests")
    return marker, page.locator(".portal-request", has_text=marker)


def post_request_from_portal(page: Page, deployment: Deployment, text: str, phone: str = "") -> None:
    """Log in as the demo consumer and send `text` from the portal's "New request" without consent to AI calls;
    the form says it was received (not waiting for a match)."""
    log_in_to_portal(page, deployment)
    go_to(page, "New request")
    send_request(page, text, phone, consent=False)
    expect(page.locator("#request-received")).to_be_visible()


def switch_ai_calls_off(page: Page, notice: str, card: Any) -> Any:
    """Turn the "No AI calls" switch on (it was off): `notice` says AI calls are off, and the request `card`'s
    callback button is disabled with the reason. Returns the switch."""
    switch = page.locator("#no-ai-calls")
    expect(switch).to_have_attribute("aria-checked", "false")
    switch.click()
    expect(page.locator(notice)).to_contain_text("AI calls are off")
    expect(switch).to_have_attribute("aria-checked", "true")
    expect(card.locator(".request-callback")).to_be_disabled()
    expect(card.locator(".callback-reason")).to_have_text(NO_AI_CALLS)
    return switch


def search_list(page: Page, nav_label: str, query: str, list_id: str) -> None:
    """Open `nav_label` in the admin's navigation, type `query` in its Search field and apply it."""
    go_to(page, nav_label)
    page.get_by_label("Search").fill(query)
    page.locator(f"#{list_id}-apply").click()


def lead_row_with_status(page: Page, marker: str, status: str, seconds: float = 30) -> Any:
    """The admin lead browser's row for `marker` once it shows `status` (refreshing: the worker changes it)."""
    row = page.locator(".admin-lead-row", has_text=marker)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if row.count() == 1 and row.get_attribute("data-status") == status:
            return row
        page.locator("#leads-refresh").click()
        page.wait_for_timeout(500)
    expect(row).to_have_attribute("data-status", status)
    return row


def flag_then_unflag(page: Page, row: Any, marker: str, reason: str) -> None:
    """On the admin's leads page: flag the lead in `row` with `reason`, then unflag it from the flag queue
    (it is matched again)."""
    row.locator(".flag-lead").click()
    page.get_by_label("Reason").fill(reason)
    page.locator("#confirm-lead-action").click()
    expect(page.locator("#leads-notice")).to_contain_text("flagged")
    expect(row).to_have_attribute("data-status", "flagged")
    page.locator("#tab-flag-queue").click()
    queued = page.locator(".flag-row", has_text=marker)
    expect(queued.locator(".flag-reason")).to_have_text(reason)
    queued.locator(".unflag-lead").click()
    expect(page.locator("#leads-notice")).to_contain_text("matched again")


def role_nav(page: Page):
    """The logged-in role's navigation bar."""
    return page.locator("nav[id^='role-nav-']")


def go_to(page: Page, label: str) -> None:
    """Click `label` in the role's navigation bar and wait until its page is the current one."""
    link = role_nav(page).get_by_role("link", name=label, exact=True)
    href = link.get_attribute("href") or ""
    link.click()
    page.wait_for_url(re.compile(re.escape(href.rstrip("/")) + r"/?(\?.*)?$"))
    expect(link).to_have_attribute("aria-current", "page")


def lead_of_the_simulated_call(page: Page, timeout: float) -> Any:
    """In the owner's inbox (loaded): wait, without reloading, for the lead of the simulated call that is running
    to arrive on top, marked "called you"; returns its row.

    The inbox is paged and newest first: a new lead can push an older one to the next page, so rows are told
    apart by their lead ids, never counted."""
    rows = page.locator(".lead-row")
    seen = [lead for lead in rows.evaluate_all("rs => rs.map(r => r.dataset.lead)") if lead]
    newest = rows.first
    if seen:
        earlier = re.compile("^(" + "|".join(re.escape(lead) for lead in seen) + ")$")
        expect(newest).not_to_have_attribute("data-lead", earlier, timeout=timeout)
    else:
        expect(newest).to_be_visible(timeout=timeout)
    expect(newest.locator(".called-you")).to_have_text("called you")
    lead = newest.get_attribute("data-lead")
    return page.locator(f'.lead-row[data-lead="{lead}"]')


def type_address(page: Page, deployment: Deployment, path: str) -> None:
    """Type an address by hand: what an attacker (or a curious user) does to reach a page not offered to them."""
    _address_bar(page, f"{deployment.url}{path}")


def click_link(page: Page, deployment: Deployment, name: str, path: str) -> None:
    """Click the visible site link called `name` (in the menu on a phone) and wait for `path` to open."""
    expect(page.locator("header nav").first).to_be_visible()
    link = page.get_by_role("link", name=name, exact=True).locator("visible=true")
    if link.count():
        link.first.click()
    else:
        page.locator("#mobile-menu").click()
        page.get_by_role("menuitem", name=name).click()
    page.wait_for_url(path_re(deployment, path))


def texted_code(deployment: Deployment, phone_e164: str, after_id: int = 0) -> tuple[int, str]:
    """(notification id, code) of the newest verification SMS to `phone_e164` in the stack's outbox, newer than
    `after_id` (read from the stack's database, as a person reads their phone)."""
    import time

    from sqlmodel import Session, col, create_engine, select

    from leadapp.core.models import Notification

    engine = create_engine(deployment.database_url)
    try:
        for _ in range(50):  # the code is queued before the page says it was sent; bounded wait all the same
            with Session(engine) as session:
                rows = session.exec(
                    select(Notification)
                    .where(Notification.kind == "phone_code", col(Notification.id) > after_id)
                    .order_by(col(Notification.id).desc())
                ).all()
            for row in rows:
                found = re.search(r"\b([0-9]{6})\b", row.body_text)
                if row.recipient == phone_e164 and found:
                    return int(row.id), found.group(1)  # type: ignore[arg-type]
            time.sleep(0.2)
    finally:
        engine.dispose()
    raise AssertionError(f"no verification code was texted to {phone_e164}")


def verify_phone(page: Page, deployment: Deployment, card, phone_e164: str, notice: str) -> None:
    """In a request's card (portal or tracking page): "Send code", then type the code from the text message and
    "Verify"; `notice` is the page's notice element (`#portal-notice`, `#track-notice`)."""
    card.locator(".send-phone-code").click()
    expect(page.locator(notice)).to_contain_text("We texted you a 6-digit code")
    _, code = texted_code(deployment, phone_e164)
    card.locator("input[name='code']").fill(code)
    card.locator(".verify-phone-code").click()
    expect(page.locator(notice)).to_contain_text("Your phone number is verified")
    expect(card.locator(".phone-check")).to_have_count(0)


@contextlib.contextmanager
def stack_database(deployment: Deployment) -> Iterator[Session]:
    """A session on the local stack's database (its rows and its outbox), its engine disposed after."""
    from sqlmodel import Session, create_engine

    engine = create_engine(deployment.database_url)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def stored_lead(deployment: Deployment, marker: str) -> Lead:
    """The request whose text carries `marker`, as the local stack's database holds it now."""
    from sqlmodel import select

    from leadapp.core.models import Lead

    with stack_database(deployment) as session:
        return session.exec(select(Lead).where(Lead.raw_text.contains(marker))).one()  # type: ignore[attr-defined]


def planted_match(
    session: Session,
    text: str,
    email: str,
    score: float,
    *,
    lead_status: str = "matched",
    match_status: str = "notified",
) -> Match:
    """A plumbing request from 46032 matched to the demo plumber (Carmel Plumbing Co), added to `session` and
    flushed (the caller commits)."""
    from sqlmodel import select

    from leadapp.core.models import Business, Lead, Match

    business = session.exec(select(Business).where(Business.name == "Carmel Plumbing Co")).one()
    lead = Lead(
        raw_text=text, zip="46032", category="plumbing", urgency="normal", contact_email=email, status=lead_status
    )
    session.add(lead)
    session.flush()
    match = Match(lead_id=lead.id, business_id=business.id, score=score, status=match_status)
    session.add(match)
    return match


def planted_email(deployment: Deployment, marker: str, subject: str, body: str, **fields: Any) -> int:
    """An e-mail to `marker`@example.com put straight into the local stack's outbox (a contact-form message, in the
    state `fields` give: status, attempts …); its id."""
    from leadapp.core.models import Notification

    with stack_database(deployment) as session:
        row = Notification(
            kind="contact_message",
            channel="email",
            recipient=f"{marker}@example.com",
            subject=subject,
            body_text=body,
            dedupe_key=f"e2e:{marker}",
            **fields,
        )
        session.add(row)
        session.commit()
        return row.id  # type: ignore[return-value]


def emailed_link(deployment: Deployment, marker: str, kind: str, path_prefix: str, seconds: float = 30.0) -> str:
    """The link to `path_prefix…` in the `kind` email about the request whose text carries `marker`, read from
    the local outbox (the stack's database) once the worker has sent it. Local deployments only."""
    import time

    from sqlmodel import Session, create_engine, select

    from leadapp.core.models import Lead, Notification

    # A Spanish request's link ends with its language (`?lang=es`), kept: the page reads it.
    pattern = re.compile(r"https?://[^\s\"'<>]+" + re.escape(path_prefix) + r"[A-Za-z0-9_.~=-]+(?:\?lang=[a-z]+)?")
    engine = create_engine(deployment.database_url)
    try:
        deadline = time.monotonic() + seconds
        while True:
            with Session(engine) as session:
                lead = session.exec(select(Lead).where(Lead.raw_text.contains(marker))).first()  # type: ignore[attr-defined]
                notes = (
                    session.exec(
                        select(Notification).where(
                            Notification.lead_id == lead.id, Notification.kind == kind, Notification.channel == "email"
                        )
                    ).all()
                    if lead is not None
                    else []
                )
                for note in notes:
                    found = pattern.search(note.body_text) if note.status == "sent" else None
                    if found:
                        return found.group(0)
            if time.monotonic() > deadline:
                raise AssertionError(f"no sent {kind} email with a {path_prefix} link about request {marker}")
            time.sleep(0.5)
    finally:
        engine.dispose()


def call_ready_lead(browser: Browser, deployment: Deployment, marker: str, text: str, phone: str) -> tuple[Page, Page]:
    """A visitor files `text` from "Get help" with `phone` and AI-call consent; on a local stack they verify the
    number from the confirmation email's tracking link (the texted code read from the outbox); the plumber logs in
    and opens the lead from the inbox, not accepted yet. `text` carries `marker`. Returns (consumer, owner).

    Each test that places calls gives its own `phone`: calls count towards a per-number daily limit."""
    consumer, owner = (browser.new_context().new_page() for _ in range(2))
    for p in (consumer, owner):
        p.set_default_timeout(TIMEOUT)
    start(consumer, deployment)
    click_link(consumer, deployment, "Get help", "/request")
    send_request(consumer, text, phone)
    expect(consumer.locator("#request-status")).to_have_text("Matched", timeout=30_000)
    if deployment.local:  # AI-call consent counts once the number is verified
        open_emailed_link(consumer, emailed_link(deployment, marker, "consumer_matched", "/portal/track/"))
        card = consumer.locator("#track-request .portal-request")
        verify_phone(consumer, deployment, card, "+1" + re.sub(r"\D", "", phone), "#track-notice")
    login(owner, deployment, "plumber@leadapp.demo", deployment.consumer_password)
    owner.wait_for_url(re.compile(r".*/dashboard/?$"))
    owner.locator(".lead-row", has_text=marker).click()
    return consumer, owner


def ai_call_requested(browser: Browser, deployment: Deployment, text: str, phone: str, objective: str) -> Page:
    """`call_ready_lead` with a new marker in `text` ("{marker}" is replaced), then the plumber accepts the lead and
    asks for an AI call with `objective`. Returns the owner's page, on the lead with its call panel shown."""
    marker = new_marker()
    _consumer, owner = call_ready_lead(browser, deployment, marker, text.format(marker=marker), phone)
    owner.locator("#accept-lead").click()
    expect(owner.locator("#detail-status")).to_have_text("Accepted")
    owner.locator("#call-objective").fill(objective)
    owner.locator("#ai-call").click()
    expect(owner.locator(".call-panel").first).to_be_visible()
    return owner


def accepted_in_two_browsers(
    browser: Browser, deployment: Deployment, marker: str, job: str | None = None
) -> tuple[Page, Page]:
    """The plumber's dashboard and the demo consumer's portal, each in its own browser; the consumer files a
    plumbing request tagged `marker` from "New request" (`job`, else a leaking water heater in English), and the
    plumber opens it from the inbox and accepts it (the consumer's email shows). Returns (owner, consumer)."""
    owner, consumer = (browser.new_context().new_page() for _ in range(2))
    for p in (owner, consumer):
        p.set_default_timeout(TIMEOUT)
    log_in_to_inbox(owner, deployment, "plumber@leadapp.demo")

    job = (
        job
        or f"The water heater in my garage is leaking from the bottom valve, need a plumber this week (ref {marker})"
    )
    post_request_from_portal(consumer, deployment, job, "(317) 846-2200")

    row = owner.locator(".lead-row", has_text=marker)
    expect(row).to_be_visible(timeout=30_000)
    row.click()
    owner.locator("#accept-lead").click()
    expect(owner.locator("#detail-email")).to_have_text("casey@example.com")
    return owner, consumer
