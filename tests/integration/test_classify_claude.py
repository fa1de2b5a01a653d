"""Claude classification and composition through the real `anthropic` SDK against the fake Messages API."""

from __future__ import annotations

import copy
import json
from typing import Any

import anthropic
import pytest
from structlog.testing import capture_logs

import leadapp.core.services.classify as classifier_package
from leadapp.core.providers.llm import ProviderError
from leadapp.core.services.classify import Classification, classify, classify_local, claude_classify
from leadapp.core.services.compose import claude_compose
from leadapp.core.services.rules import DEFAULT_RULES, RulesSnapshot
from leadapp.core.settings import get_settings
from leadapp.core.vocab import Category, Urgency
from tests.fakes.anthropic_api import (
    FakeAnthropicAPI,
    fake_anthropic,  # noqa: F401
    http_error,
    overloaded,
    server_error,
    text_reply,
    tool_use,
)

RULES = RulesSnapshot(0, copy.deepcopy(DEFAULT_RULES))
TEXT = "My water heater is leaking all over the garage floor, need someone licensed today, budget $400-$600"
PHONE, EMAIL = "+13176640123", "pat.consumer@example.com"
CLAUDE_ANSWER: dict[str, Any] = {
    "service_category": "plumbing",
    "urgency": "high",
    "budget_min": 400,
    "budget_max": 600,
    "location_zip": "46032",
    "key_requirements": ["licensed", "water heater"],
    "sentiment": "neutral",
    "quality_score": 8.5,
    "spam": False,
    "spam_reason": "",
}
MALFORMED = {**CLAUDE_ANSWER, "service_category": "spaceships", "quality_score": 42}
COMPOSED = {
    "subject": "New plumbing lead in 46032",
    "text": "Hi Smith Plumbing,\nA leaking water heater in 46032, wanted today.",
    "sms": "LeadApp: leaking water heater in 46032, today. https://leads.example.test/l/1",
}
FACTS = {
    "business_name": "Smith Plumbing",
    "category": "plumbing",
    "urgency": "high",
    "zip": "46032",
    "quote": "Leaking water heater, call me at 317-664-0123 or pat.consumer@example.com",
    "consumer_phone": PHONE,
    "contact": {"email": EMAIL, "name": "Pat"},
    "lead_url": "https://leads.example.test/l/1",
}


@pytest.fixture
def fake(fake_anthropic: FakeAnthropicAPI) -> FakeAnthropicAPI:  # noqa: F811 (the fixture imported above)
    """The fake Messages API, with ANTHROPIC_API_KEY/ANTHROPIC_BASE_URL pointing at it."""
    return fake_anthropic


def run_classify(**overrides: Any) -> tuple[Classification, str]:
    kwargs: dict[str, Any] = {"zip_code": "46032", "phone_e164": PHONE, "email": EMAIL, "rules": RULES}
    kwargs.update(overrides)
    return classify(kwargs.pop("text", TEXT), **kwargs)


def system_blocks(request_body: dict[str, Any]) -> list[dict[str, Any]]:
    return request_body["system"]


# --- happy path -------------------------------------------------------------------------------------


def test_claude_answer_is_the_classification(fake: FakeAnthropicAPI) -> None:
    fake.script([tool_use(CLAUDE_ANSWER)])
    result, name = run_classify()
    assert name == "claude"
    # Claude's answer as given; it named no language, so the local detection's is filled in.
    assert result == Classification.model_validate({**CLAUDE_ANSWER, "language": "en"})

    [request] = fake.requests
    assert request.status == 200 and request.path == "/v1/messages"
    assert request.headers["anthropic-version"]
    assert fake.api_key in (request.headers.get("x-api-key"), request.headers["authorization"][7:])
    body = request.body
    assert body["model"] == get_settings().anthropic_model

    [tool] = body["tools"]
    assert tool["name"] == "record_classification"
    schema = tool["input_schema"]
    assert schema["type"] == "object"
    assert schema["properties"]["service_category"]["enum"] == [c.value for c in Category]
    assert schema["properties"]["urgency"]["enum"] == [u.value for u in Urgency]
    assert set(schema["required"]) == set(Classification.model_fields) - {"language"}  # optional: detected if absent
    assert body["tool_choice"] == {"type": "tool", "name": "record_classification"}

    cached = [block for block in system_blocks(body) if block.get("cache_control") == {"type": "ephemeral"}]
    assert len(cached) == 1
    assert system_blocks(body)[-1] == cached[0]  # last: everything before it is the cached prefix
    for keyword in DEFAULT_RULES["spam_keywords"]:
        assert json.dumps(keyword) in cached[0]["text"]
    for category in Category:
        assert category.value in cached[0]["text"]

    assert all(TEXT not in block["text"] for block in system_blocks(body))
    [message] = body["messages"]
    assert message["role"] == "user"
    assert json.loads(message["content"]) == {
        "request_text": TEXT,
        "form_zip": "46032",
        "phone_given": True,
        "email_given": True,
    }


def test_the_rules_prefix_is_cached_between_requests(fake: FakeAnthropicAPI) -> None:
    fake.script([tool_use(CLAUDE_ANSWER), tool_use(CLAUDE_ANSWER)])
    run_classify()
    run_classify(text=TEXT.replace("garage", "basement"))
    first, second = (r.response["usage"] for r in fake.requests)
    # The prefix (tool + instructions + rules) is long enough to be cached, and nothing per-request precedes it.
    assert first["cache_creation_input_tokens"] >= fake.min_cacheable_tokens
    assert second["cache_read_input_tokens"] == first["cache_creation_input_tokens"]
    assert second["cache_creation_input_tokens"] == 0


def test_edited_rules_reach_the_cached_block(fake: FakeAnthropicAPI) -> None:
    rules = copy.deepcopy(DEFAULT_RULES)
    rules["spam_keywords"] = [*rules["spam_keywords"], "gutter guards"]
    rules["min_words"] = 14
    fake.script([tool_use(CLAUDE_ANSWER)])
    run_classify(rules=RulesSnapshot(3, rules))
    cached = system_blocks(fake.requests[0].body)[-1]["text"]
    assert '"gutter guards"' in cached
    assert "version 3" in cached and "Minimum words: 14." in cached


# --- retries and fallback ---------------------------------------------------------------------------


def test_malformed_once_then_valid_is_retried_once(fake: FakeAnthropicAPI) -> None:
    fake.script([tool_use(MALFORMED), tool_use(CLAUDE_ANSWER)])
    result, name = run_classify()
    assert name == "claude"
    assert result.quality_score == CLAUDE_ANSWER["quality_score"]
    first, second = fake.requests
    assert first.body == second.body  # the same request again


def test_missing_tool_call_then_valid_is_retried_once(fake: FakeAnthropicAPI) -> None:
    fake.script([text_reply("It sounds like a plumbing problem."), tool_use(CLAUDE_ANSWER)])
    assert run_classify()[1] == "claude"
    assert len(fake.requests) == 2


def test_malformed_twice_falls_back_to_local(fake: FakeAnthropicAPI) -> None:
    fake.script([tool_use(MALFORMED), tool_use({"service_category": "plumbing"})])
    with capture_logs() as logs:
        result, name = run_classify()
    assert name == "local-fallback"
    assert result == classify_local(TEXT, zip_code="46032", phone_e164=PHONE, email=EMAIL, rules=RULES)
    assert len(fake.requests) == 2
    assert fake.remaining == 0
    fallback = [entry for entry in logs if entry["event"] == "classify_fallback"]
    assert fallback and "malformed record_classification input" in fallback[0]["reason"]


def test_text_only_twice_falls_back_to_local(fake: FakeAnthropicAPI) -> None:
    fake.script([text_reply("Plumbing."), text_reply("Plumbing, high urgency.")])
    assert run_classify()[1] == "local-fallback"


def test_http_500_falls_back_to_local(fake: FakeAnthropicAPI) -> None:
    fake.script([server_error(), server_error()])
    result, name = run_classify()
    assert name == "local-fallback"
    assert result.service_category == Category.PLUMBING
    assert [r.status for r in fake.requests] == [500, 500]


def test_overloaded_once_then_valid_is_retried(fake: FakeAnthropicAPI) -> None:
    fake.script([overloaded(), tool_use(CLAUDE_ANSWER)])
    assert run_classify()[1] == "claude"
    assert [r.status for r in fake.requests] == [529, 200]


def test_a_client_error_is_not_retried(fake: FakeAnthropicAPI) -> None:
    fake.script([http_error(400, "messages: bad"), tool_use(CLAUDE_ANSWER)])
    assert run_classify()[1] == "local-fallback"
    assert len(fake.requests) == 1


def test_claude_classify_raises_provider_error_after_two_bad_answers(fake: FakeAnthropicAPI) -> None:
    fake.script([tool_use(MALFORMED), tool_use(MALFORMED)])
    with pytest.raises(ProviderError, match="after 2 attempts"):
        claude_classify(TEXT, zip_code="46032", phone_present=True, email_present=False, rules=RULES)


def test_unexpected_errors_are_reported_and_fall_back(fake: FakeAnthropicAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Classification:
        raise RuntimeError("a bug in the adapter")

    monkeypatch.setattr(classifier_package, "claude_classify", broken)
    with capture_logs() as logs:
        assert run_classify()[1] == "local-fallback"
    assert any(entry["event"] == "unhandled_error" and entry.get("stage") == "classify" for entry in logs)


def test_without_a_key_the_local_classifier_runs_and_nothing_is_sent(
    fake: FakeAnthropicAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "")
    get_settings.cache_clear()
    fake.script([tool_use(CLAUDE_ANSWER)])
    result, name = run_classify()
    assert name == "local"
    assert result == classify_local(TEXT, zip_code="46032", phone_e164=PHONE, email=EMAIL, rules=RULES)
    assert fake.requests == []
    get_settings.cache_clear()


# --- privacy and the platform rules -----------------------------------------------------------------


def test_phone_and_email_never_reach_claude(fake: FakeAnthropicAPI) -> None:
    typed = TEXT + ". Call me at (317) 664-0123 or write to pat.consumer@example.com"
    fake.script([tool_use(MALFORMED), tool_use(CLAUDE_ANSWER), tool_use(COMPOSED)])
    run_classify(text=typed)
    claude_compose(FACTS)
    assert len(fake.requests) == 3
    for request in fake.requests:
        for secret in ("pat.consumer@example.com", "664-0123", "6640123", "+13176640123", "3176640123"):
            assert secret not in request.text
    sent = json.loads(fake.requests[0].body["messages"][0]["content"])
    assert sent["request_text"].endswith("Call me at [phone] or write to [email]")
    assert (sent["phone_given"], sent["email_given"]) == (True, True)


def test_mechanical_rules_hold_for_claude_answers(fake: FakeAnthropicAPI) -> None:
    fake.script([tool_use(CLAUDE_ANSWER), tool_use(CLAUDE_ANSWER)])
    # Claude never sees the phone, so a blocked number is applied after its answer.
    blocked, name = run_classify(phone_e164="+13175550123")
    assert name == "claude"
    assert blocked.spam and blocked.spam_reason == "blocked phone pattern"
    assert blocked.quality_score == CLAUDE_ANSWER["quality_score"] - 5
    # Short text is capped, and the form ZIP wins over what Claude read.
    short, _ = run_classify(text="Water heater leaking, come today", zip_code="46250")
    assert short.quality_score == 4.0
    assert short.location_zip == "46250"


# --- compose ----------------------------------------------------------------------------------------


def test_claude_compose_returns_the_message(fake: FakeAnthropicAPI) -> None:
    fake.script([tool_use(COMPOSED)])
    assert claude_compose(FACTS) == COMPOSED
    [request] = fake.requests
    assert [t["name"] for t in request.body["tools"]] == ["write_message"]
    assert request.body["tool_choice"] == {"type": "tool", "name": "write_message"}
    props = request.body["tools"][0]["input_schema"]["properties"]
    assert props["sms"]["maxLength"] == 320 and props["subject"]["maxLength"] == 120
    facts = json.loads(request.body["messages"][0]["content"])
    assert "consumer_phone" not in facts and facts["contact"] == {"name": "Pat"}
    assert facts["quote"] == "Leaking water heater, call me at [phone] or [email]"


def test_claude_compose_retries_once_then_signals_failure(fake: FakeAnthropicAPI) -> None:
    fake.script([tool_use({**COMPOSED, "sms": "x" * 321}), tool_use(COMPOSED)])
    assert claude_compose(FACTS) == COMPOSED

    fake.script([tool_use({**COMPOSED, "subject": "y" * 121}), tool_use({"text": "no subject"})])
    with pytest.raises(ProviderError):
        claude_compose(FACTS)
    assert len(fake.requests) == 4


def test_claude_compose_without_a_key_raises(fake: FakeAnthropicAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "")
    get_settings.cache_clear()
    with pytest.raises(ProviderError):
        claude_compose(FACTS)
    assert fake.requests == []
    get_settings.cache_clear()


# --- the fake itself answers like the API -----------------------------------------------------------


def test_the_fake_rejects_what_the_api_rejects(fake: FakeAnthropicAPI) -> None:
    client = anthropic.Anthropic(api_key=fake.api_key, base_url=fake.url, max_retries=0)
    good = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"name": "t", "input_schema": {"type": "object", "properties": {}}}],
        "tool_choice": {"type": "tool", "name": "t"},
    }
    bad_requests = [
        {**good, "tool_choice": {"type": "tool", "name": "other"}},
        {**good, "tools": [{"name": "t", "input_schema": {"type": "string"}}]},
        {**good, "system": [{"type": "text", "text": "x", "cache_control": {"type": "forever"}}]},
        {**good, "messages": [{"role": "assistant", "content": "hi"}]},
    ]
    for body in bad_requests:
        with pytest.raises(anthropic.BadRequestError) as caught:
            client.messages.create(**body)
        assert caught.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    wrong_key = anthropic.Anthropic(api_key="sk-wrong", base_url=fake.url, max_retries=0)
    with pytest.raises(anthropic.AuthenticationError):
        wrong_key.messages.create(**good)
    assert [r.status for r in fake.requests] == [400, 400, 400, 400, 401]
    client.close()
    wrong_key.close()


# --- languages --------------------------------------------------------------------------------------


def test_claude_may_say_the_language_and_is_asked_for_it(fake: FakeAnthropicAPI) -> None:
    spanish_text = "Se me rompió el calentador de agua y necesito un plomero con licencia hoy, presupuesto $400-$600"
    fake.script([tool_use({**CLAUDE_ANSWER, "language": "es"})])
    result, name = run_classify(text=spanish_text)
    assert (name, result.language) == ("claude", "es")
    [request] = fake.requests
    schema = request.body["tools"][0]["input_schema"]
    assert schema["properties"]["language"]["anyOf"][0]["enum"] == ["en", "es"]
    assert '- language: "es" when the request is written in Spanish' in system_blocks(request.body)[0]["text"]


def test_a_spanish_call_summary_is_asked_for_in_spanish(fake: FakeAnthropicAPI) -> None:
    from leadapp.core.services.call_summary import claude_call_summary

    said = "Resumen: fuga en el calentador, quiere una visita mañana por la mañana."
    fake.script([tool_use({"summary": said}), tool_use({"summary": "Leaking water heater, visit tomorrow morning."})])
    lines = [{"speaker": "caller", "text": "Tengo una fuga en el calentador."}]
    assert claude_call_summary(lines, {"need": "fuga"}, language="es") == said
    claude_call_summary(lines, {"need": "fuga"})
    spanish_request, english_request = fake.requests
    assert system_blocks(spanish_request.body)[0]["text"].endswith(
        "Write the summary in Spanish: the call was in Spanish."
    )
    assert "Spanish" not in system_blocks(english_request.body)[0]["text"]
