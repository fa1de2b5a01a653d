"""Compose: what a business and a consumer are told, escaped for HTML, short for SMS, never leaking contacts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadapp.core.crypto import encrypt_phone
from leadapp.core.languages import english, spanish
from leadapp.core.models import Business, Lead, Match
from leadapp.core.providers.llm import ProviderError
from leadapp.core.redaction import ADDRESS, EMAIL, PHONE
from leadapp.core.services import compose
from leadapp.core.services.compose import (
    SMS_MAX_CHARS,
    ComposedMessage,
    compose_business_message,
    compose_consumer_matched,
    compose_consumer_no_match,
)
from leadapp.core.settings import get_settings
from tests.fakes.anthropic_api import FakeAnthropicAPI, fake_anthropic, server_error, tool_use  # noqa: F401

APP_URL = "https://leads.example.test"
CONSUMER_EMAIL = "jane.doe@example.com"
CONSUMER_PHONE = "+13175550123"
BUSINESS_EMAIL = "office@smithplumbing.example"
BUSINESS_PHONE = "+13175550999"


@pytest.fixture(autouse=True)
def app_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("APP_URL", APP_URL)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "")
    monkeypatch.setenv("SECRET_KEY", "unit-test-secret")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _lead(**overrides: Any) -> Lead:
    values: dict[str, Any] = {
        "id": 42,
        "raw_text": "My water heater is leaking all over the basement floor, please come today. Budget $300-$500.",
        "contact_name": "Jane Doe",
        "contact_email": CONSUMER_EMAIL,
        "contact_phone_enc": encrypt_phone(CONSUMER_PHONE),
        "contact_phone_last4": "0123",
        "zip": "46032",
        "location_zip": "46032",
        "category": "plumbing",
        "urgency": "emergency",
        "budget_min": 300,
        "budget_max": 500,
    }
    values.update(overrides)
    return Lead(**values)


def _business(**overrides: Any) -> Business:
    values: dict[str, Any] = {
        "id": 7,
        "owner_id": 3,
        "name": "Smith Plumbing",
        "zip": "46032",
        "rating": 4.8,
        "review_count": 120,
        "notify_email": BUSINESS_EMAIL,
        "notify_phone": BUSINESS_PHONE,
        "inbound_number": "+13175550888",
    }
    values.update(overrides)
    return Business(**values)


def _match(**overrides: Any) -> Match:
    values: dict[str, Any] = {
        "id": 9,
        "lead_id": 42,
        "business_id": 7,
        "score": 87.5,
        "distance_miles": 3.44,
        "reasons": ["Within your 25-mile service area", "Exact category: plumbing", "Offers emergency service"],
    }
    values.update(overrides)
    return Match(**values)


def _all_parts(message: ComposedMessage) -> str:
    return "\n".join([message.subject, message.text, message.html, message.sms])


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


# --- the business message -------------------------------------------------------------------------


def test_business_message_carries_the_facts_and_the_link() -> None:
    message = compose_business_message(_lead(), _business(), _match())

    assert message.text.startswith("Hi Smith Plumbing,")
    for expected in (
        "plumbing",
        "Emergency",
        "$300–$500",
        "ZIP 46032",
        "3.4 miles",
        "Within your 25-mile service area",
        "Offers emergency service",
        '"My water heater is leaking all over the basement floor',
        f"{APP_URL}/dashboard/leads/42",
    ):
        assert expected in message.text, expected
    assert "46032" in message.subject and "plumbing" in message.subject.lower()
    assert f'href="{APP_URL}/dashboard/leads/42"' in message.html
    assert message.sms.endswith(f"{APP_URL}/dashboard/leads/42")
    assert len(message.sms) <= SMS_MAX_CHARS


def test_consumer_text_is_html_escaped() -> None:
    lead = _lead(raw_text='Fix my sink <script>alert("x")</script> & the tap, Tom & Jerry <b>now</b>')
    business = _business(name="Smith & Sons <Plumbing>")
    message = compose_business_message(lead, business, _match(reasons=["<i>close</i> & fast"]))

    assert "<script" not in message.html.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in message.html
    assert "&amp; the tap, Tom &amp; Jerry &lt;b&gt;now&lt;/b&gt;" in message.html
    assert "Smith &amp; Sons &lt;Plumbing&gt;" in message.html
    assert "&lt;i&gt;close&lt;/i&gt; &amp; fast" in message.html
    assert "<b>" not in message.html and "<i>" not in message.html
    # The plain text and SMS keep the words as written.
    assert '<script>alert("x")</script>' in message.text


def test_business_message_never_contains_the_consumer_contact_details() -> None:
    lead = _lead(
        raw_text=(
            "Leaking pipe under the kitchen sink. Call me at (317) 555-0123 or 317.555.0123, "
            f"text +1 317 555 0123, or mail {CONSUMER_EMAIL} / JANE.DOE@EXAMPLE.COM or backup jd+home@mail.example.org."
            " The house is 742 Evergreen Terrace, Carmel 46032."
        )
    )
    message = compose_business_message(lead, _business(), _match())
    everything = _all_parts(message)

    assert "jane.doe" not in everything.lower()
    assert "@example.com" not in everything.lower()
    assert "jd+home" not in everything
    assert "5550123" not in _digits(everything)
    assert "0123" not in everything  # not even the last four digits
    assert "Evergreen" not in everything  # the street goes, the town and ZIP stay
    assert PHONE in message.text and EMAIL in message.text and f"{ADDRESS}, Carmel 46032" in message.text
    assert "Leaking pipe under the kitchen sink." in message.text


def test_sms_fits_even_with_long_names_and_words() -> None:
    lead = _lead(raw_text="word " * 900, budget_min=12_000, budget_max=95_000)
    business = _business(name="A" * 200)
    message = compose_business_message(lead, business, _match())

    assert len(message.sms) <= SMS_MAX_CHARS
    assert message.sms.endswith(f"{APP_URL}/dashboard/leads/42")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw_text=st.text(min_size=0, max_size=3000), name=st.text(min_size=1, max_size=250))
def test_any_input_gives_a_short_sms_and_escaped_html(raw_text: str, name: str) -> None:
    message = compose_business_message(_lead(raw_text=raw_text), _business(name=name), _match())

    assert len(message.sms) <= SMS_MAX_CHARS
    lowered = message.html.lower()
    assert "<script" not in lowered
    # The only tags are our own: every "<" in the page opens one of them.
    assert set(re.findall(r"<\s*/?\s*([a-z!]+)", lowered)) <= {
        "!doctype", "html", "body", "p", "br", "table", "tr", "td", "ul", "li", "blockquote", "a",
    }  # fmt: skip


def test_missing_facts_are_said_plainly() -> None:
    lead = _lead(category=None, urgency=None, budget_min=None, budget_max=None, location_zip=None, zip="")
    message = compose_business_message(lead, _business(), _match(distance_miles=None, reasons=[]))

    assert "Budget: not stated" in message.text
    assert "Location: your area" in message.text
    assert "Why it matched" not in message.text
    assert len(message.sms) <= SMS_MAX_CHARS


# --- Claude, when keyed ---------------------------------------------------------------------------


@pytest.fixture
def claude(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Stand-in for the Claude call (the SDK adapter's job, tested on its own): records facts, answers as told."""
    state: dict[str, Any] = {"calls": [], "answer": None, "error": None}

    def claude_compose(facts: dict) -> dict:
        state["calls"].append(facts)
        if state["error"] is not None:
            raise state["error"]
        return state["answer"]

    monkeypatch.setattr("leadapp.core.services.compose.claude_compose", claude_compose)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    get_settings.cache_clear()
    yield state


def test_claude_words_are_used_checked_and_escaped(claude: dict[str, Any]) -> None:
    claude["answer"] = {
        "subject": "Emergency leak <b>near you</b>",
        "text": "Hi Smith Plumbing,\n\nA basement is flooding & needs you <script>x</script>.\nCall 317-555-0123.",
        "sms": "Flooding basement in 46032, emergency. " + "x" * 400,
    }
    message = compose_business_message(_lead(), _business(), _match())

    facts = claude["calls"][0]
    assert facts["business_name"] == "Smith Plumbing"
    assert facts["lead_url"] == f"{APP_URL}/dashboard/leads/42"
    assert CONSUMER_EMAIL not in str(facts) and "5550123" not in _digits(str(facts))
    assert message.subject.startswith("Emergency leak")
    assert "A basement is flooding & needs you" in message.text
    assert f"{APP_URL}/dashboard/leads/42" in message.text  # added when the model left it out
    assert "5550123" not in _digits(_all_parts(message))
    assert "&amp; needs you &lt;script&gt;x&lt;/script&gt;" in message.html
    assert "<script" not in message.html
    assert f'<a href="{APP_URL}/dashboard/leads/42">' in message.html
    assert len(message.sms) <= SMS_MAX_CHARS and message.sms.endswith(f"{APP_URL}/dashboard/leads/42")


@pytest.mark.parametrize(
    "failure",
    [
        {"error": ProviderError("rate limited")},
        {"error": RuntimeError("boom")},
        {"answer": {"subject": "only a subject"}},
        {"answer": "not a dict"},
        {"answer": {"subject": "", "text": "t", "sms": "s"}},
    ],
    ids=["provider-error", "any-exception", "missing-keys", "not-a-dict", "empty-subject"],
)
def test_claude_failures_fall_back_to_the_template(claude: dict[str, Any], failure: dict[str, Any]) -> None:
    claude.update(failure)
    message = compose_business_message(_lead(), _business(), _match())

    assert len(claude["calls"]) == 1
    assert message.text.startswith("Hi Smith Plumbing,")
    assert "Why it matched:" in message.text


def test_claude_is_not_asked_without_a_key(claude: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "")
    get_settings.cache_clear()
    compose_business_message(_lead(), _business(), _match())
    assert claude["calls"] == []


def test_claude_through_the_real_sdk_against_the_fake_api(request: pytest.FixtureRequest) -> None:
    fake: FakeAnthropicAPI = request.getfixturevalue("fake_anthropic")
    fake.script(
        [
            tool_use(
                {
                    "subject": "Basement flooding in 46032",
                    "text": "Hi Smith Plumbing & team,\n\nA basement <b>floods</b> near you.",
                    "sms": "Basement flooding in 46032, emergency.",
                }
            )
        ]
    )

    message = compose_business_message(_lead(), _business(), _match())

    assert message.subject == "Basement flooding in 46032"
    assert message.text.startswith("Hi Smith Plumbing & team,")
    assert "Smith Plumbing &amp; team" in message.html and "&lt;b&gt;floods&lt;/b&gt;" in message.html
    assert f"{APP_URL}/dashboard/leads/42" in message.text
    assert message.sms.startswith("Basement flooding") and message.sms.endswith(f"{APP_URL}/dashboard/leads/42")
    (sent,) = fake.requests
    assert CONSUMER_EMAIL not in sent.text and "5550123" not in _digits(sent.text)


def test_claude_down_falls_back_to_the_template(request: pytest.FixtureRequest) -> None:
    fake: FakeAnthropicAPI = request.getfixturevalue("fake_anthropic")
    fake.script([server_error(), server_error()])

    message = compose_business_message(_lead(), _business(), _match())

    assert len(fake.requests) >= 1 and fake.remaining == 0
    assert message.text.startswith("Hi Smith Plumbing,") and "Why it matched:" in message.text


# --- the consumer messages ------------------------------------------------------------------------


def test_consumer_matched_lists_names_ratings_distances_never_business_contacts() -> None:
    pairs = [
        (_match(distance_miles=3.44), _business()),
        (
            _match(id=10, business_id=8, distance_miles=11.0),
            _business(
                id=8,
                name="Quick & <Reliable> Drains",
                rating=0.0,
                review_count=0,
                notify_email="drains@quick.example",
                notify_phone="+13175550777",
                inbound_number=None,
            ),
        ),
    ]
    message = compose_consumer_matched(_lead(), pairs)
    everything = _all_parts(message)

    assert "2 local businesses" in message.text
    assert "Smith Plumbing (4.8★, 120 reviews, 3.4 miles away)" in message.text
    assert "Quick & <Reliable> Drains (not rated yet, 11.0 miles away)" in message.text
    assert "Quick &amp; &lt;Reliable&gt; Drains" in message.html
    # The tracking link leads (it works without an account); no portal link for a consumer without an account.
    track = f"{APP_URL}/portal/track/"
    assert f"Follow your request: {track}" in message.text and f'href="{track}' in message.html
    assert "Or in your account" not in message.text and f'href="{APP_URL}/portal"' not in message.html
    for secret in (BUSINESS_EMAIL, "drains@quick.example"):
        assert secret not in everything
    for number in (BUSINESS_PHONE, "+13175550777", "+13175550888"):
        assert _digits(number)[1:] not in _digits(everything)
    assert len(message.sms) <= SMS_MAX_CHARS and message.sms.rsplit(" ", 1)[-1].startswith(track)
    assert "Smith Plumbing" in message.sms


def test_consumer_matched_sms_stays_short_with_many_businesses() -> None:
    pairs = [(_match(id=i, business_id=i), _business(id=i, name=f"Business number {i} " * 3)) for i in range(10)]
    message = compose_consumer_matched(_lead(), pairs)
    assert len(message.sms) <= SMS_MAX_CHARS
    assert f"{APP_URL}/portal/track/" in message.sms.rsplit(" ", 1)[-1]
    assert "10 businesses" in message.sms


def test_consumer_no_match_is_honest() -> None:
    message = compose_consumer_no_match(_lead(contact_name="<Jane> & co"))

    assert "no business" in message.text.lower()
    assert "not been sent to anyone" in message.text
    assert "contact details have not been shared" in message.text
    assert "withdraw" in message.text
    assert f"Your request: {APP_URL}/portal/track/" in message.text
    assert "&lt;Jane&gt;" in message.html and "<Jane>" not in message.html
    assert len(message.sms) <= SMS_MAX_CHARS and f"{APP_URL}/portal/track/" in message.sms.rsplit(" ", 1)[-1]


def test_a_consumer_with_an_account_also_gets_the_portal_second() -> None:
    message = compose_consumer_no_match(_lead(consumer_id=5))
    track_at, portal_at = message.text.index(f"{APP_URL}/portal/track/"), message.text.index("Or in your account")
    assert track_at < portal_at and message.text.rstrip().endswith(f"{APP_URL}/portal")
    first_href = message.html.split('href="', 1)[1]
    assert first_href.startswith(f"{APP_URL}/portal/track/")


def test_a_quote_is_told_with_its_business_amount_day_and_the_link_to_accept_it() -> None:
    long_name = "<b>Evil</b> & Sons Plumbing, Heating, Cooling and Anything Else You Need " * 3
    message = compose.compose_consumer_quote(_lead(consumer_id=5), long_name, "$400–$600", date(2027, 1, 9))

    assert message.subject.endswith("$400–$600 for your plumbing request")
    assert "quote of $400–$600 for your plumbing request #42, valid until January 9, 2027" in message.text
    assert f"accept the one you choose: {APP_URL}/portal/track/" in message.text
    assert message.text.rstrip().endswith(f"Or in your account: {APP_URL}/portal")
    assert "&lt;b&gt;Evil&lt;/b&gt; &amp; Sons" in message.html and "<b>Evil" not in message.html
    # However long the business's name, the text message keeps the link whole.
    assert len(message.sms) <= SMS_MAX_CHARS and message.sms.rsplit(" ", 1)[-1].startswith(f"{APP_URL}/portal/track/")
    for private in (CONSUMER_EMAIL, CONSUMER_PHONE, BUSINESS_EMAIL, BUSINESS_PHONE):
        assert private not in message.text + message.html + message.sms


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [(300, 500, "$300–$500"), (None, 500, "up to $500"), (300, None, "from $300"), (None, None, "not stated")],
)
def test_budget_text(low: int | None, high: int | None, expected: str) -> None:
    assert compose.budget_text(low, high) == expected


# --- a Spanish request: the consumer hears back in Spanish -------------------------------------------


def test_a_spanish_consumer_is_told_of_the_match_in_spanish() -> None:
    message = compose_consumer_matched(_lead(language="es", consumer_id=5), [(_match(), _business())])

    assert message.subject == "Su solicitud de plomería coincidió con 1 negocio de la zona"
    assert message.text.startswith("Hola, Jane:\n\nBuenas noticias: su solicitud de plomería coincide con 1 negocio")
    assert "Smith Plumbing (4.8★, 120 reseñas, a 3.4 millas)" in message.text
    assert spanish.MATCHED_SENT in message.text and f"Siga su solicitud: {APP_URL}/portal/track/" in message.text
    assert message.text.rstrip().endswith(f"O en su cuenta: {APP_URL}/portal")
    assert ">Siga su solicitud</a>" in message.html and english.MATCHED_SENT not in message.html
    assert message.sms.startswith("LeadApp: su solicitud de plomería coincidió con 1 negocio: Smith Plumbing")


def test_a_spanish_consumer_is_told_in_spanish_that_nothing_matched_yet() -> None:
    message = compose_consumer_no_match(_lead(language="es", contact_name=""))

    assert message.subject == "Ningún negocio ha coincidido todavía con su solicitud de plomería"
    assert message.text.startswith("Hola:\n\nRecibimos su solicitud de plomería en 46032, pero ningún negocio")
    assert spanish.NO_MATCH_ON_FILE in message.text and english.NO_MATCH_ON_FILE not in message.text
    assert message.sms.startswith("LeadApp: ningún negocio ha coincidido todavía con su solicitud de plomería en 46032")


def test_a_spanish_consumer_is_told_of_a_quote_in_spanish_with_the_date_in_spanish() -> None:
    message = compose.compose_consumer_quote(_lead(language="es"), "Smith Plumbing", "$400", date(2027, 1, 9))

    assert message.subject == "Smith Plumbing le envió un presupuesto: $400 por su solicitud de plomería"
    assert (
        "presupuesto de $400 por su solicitud de plomería n.º 42, válido hasta el 9 de enero de 2027." in message.text
    )
    assert "acepte el que elija: " in message.text and message.sms.startswith("LeadApp: Smith Plumbing le cotizó $400")


def test_an_english_consumer_still_reads_english() -> None:
    message = compose.compose_consumer_quote(_lead(language="en"), "Smith Plumbing", "$400", date(2027, 1, 9))
    assert "valid until January 9, 2027." in message.text and message.text.startswith("Hi Jane,")
