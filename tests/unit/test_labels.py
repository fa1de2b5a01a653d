"""The label table covers every status, outcome, urgency and channel value the code defines, in plain words."""

from __future__ import annotations

import inspect
import re
import typing
from enum import StrEnum

import pytest

from leadapp.core import labels, vocab
from leadapp.core.services import classify, inbound

# Every StrEnum of the vocabulary and the table that words it. A new enum fails the test below until it is
# listed here with its table.
ENUM_TABLES: dict[type[StrEnum], str] = {
    vocab.Role: "role",
    vocab.Category: "category",
    vocab.Urgency: "urgency",
    vocab.LeadStatus: "lead_status",
    vocab.LeadSource: "lead_source",
    vocab.ContactPreference: "contact_preference",
    vocab.MatchStatus: "match_status",
    vocab.QuoteStatus: "quote_status",
    vocab.ThreadSide: "thread_side",
    vocab.MessageChannel: "message_channel",
    vocab.Plan: "plan",
    vocab.PriceTier: "price_tier",
    vocab.Channel: "channel",
    vocab.Language: "language",
    vocab.NotificationStatus: "notification_status",
    vocab.NotificationKind: "notification_kind",
    vocab.WebhookStatus: "webhook_status",
    vocab.WebhookEvent: "webhook_event",
    vocab.CallType: "call_type",
    vocab.CallDirection: "call_direction",
    vocab.CallStatus: "call_status",
    vocab.CallOutcome: "call_outcome",
    vocab.DncSource: "dnc_source",
    vocab.Speaker: "speaker",
    vocab.ProspectStatus: "prospect_status",
    vocab.ContactMessageStatus: "contact_message_status",
    vocab.InterviewStatus: "interview_status",
}

INTERNAL = re.compile(r"^[a-z]+(_[a-z]+)+$")


def _vocab_enums() -> list[type[StrEnum]]:
    return [
        obj
        for _, obj in inspect.getmembers(vocab, inspect.isclass)
        if issubclass(obj, StrEnum) and obj is not StrEnum and obj.__module__ == vocab.__name__
    ]


def test_every_vocabulary_enum_has_a_table() -> None:
    missing = [e.__name__ for e in _vocab_enums() if e not in ENUM_TABLES]
    assert not missing, f"enums without a label table: {missing}"


@pytest.mark.parametrize("enum", list(ENUM_TABLES), ids=lambda e: e.__name__)
def test_every_value_has_a_word(enum: type[StrEnum]) -> None:
    table = labels.TABLES[ENUM_TABLES[enum]]
    for member in enum:
        assert member.value in table, f"{enum.__name__}.{member.name} has no label"
        word = table[member.value]
        assert word.strip() and not INTERNAL.match(word), f"{member.value!r} reads {word!r}"
        assert "_" not in word, f"{member.value!r} reads {word!r}"
    # No stale words for values that no longer exist.
    assert set(table) == {m.value for m in enum}


def test_literal_and_constant_values_have_words() -> None:
    sentiments = typing.get_args(classify.Sentiment)
    assert sentiments and set(sentiments) == set(labels.SENTIMENT)
    assert {inbound.MODE_TWILIO, inbound.MODE_LOCAL} == set(labels.PHONE_LINE_MODE)


@pytest.mark.parametrize(
    ("value", "word"),
    [
        ("goal_achieved", "Qualified"),
        ("in_progress", "On the call"),
        ("no_match", "No match yet"),
        ("low_quality", "Needs more detail"),
    ],
)
def test_internal_values_read_as_words(value: str, word: str) -> None:
    found = {labels.call_outcome(value), labels.call_status(value), labels.lead_status(value)}
    assert word in found


def test_unknown_and_missing_values_never_show_underscores() -> None:
    assert labels.lead_status("some_new_state") == "Some new state"
    assert labels.call_outcome(None) == ""
    assert labels.urgency(None) == "Not stated"


@pytest.mark.parametrize(
    ("n", "noun", "text"),
    [
        (0, "lead", "0 leads"),
        (1, "lead", "1 lead"),
        (2, "lead", "2 leads"),
        (1, "attempt", "1 attempt"),
        (3, "attempt", "3 attempts"),
        (1, "business", "1 business"),
        (2, "business", "2 businesses"),
        (1200, "review", "1,200 reviews"),
    ],
)
def test_plurals(n: int, noun: str, text: str) -> None:
    assert labels.count(n, noun) == text


def test_filter_options_are_words() -> None:
    for value, text in labels.options("match_status"):
        assert value in {m.value for m in vocab.MatchStatus} and not INTERNAL.match(text)
