"""Quotes (issue 15, item 2): a business that accepted a lead quotes it (amount or range, what is included,
valid until, visit time); the consumer compares them side by side and accepts one, which is the conversion with
its value; the others are declined, and the worker expires quotes past their day.

Modules: `service` (sending, reading, accepting, expiring), `notices` (the businesses' notifications).
"""

from __future__ import annotations

from leadapp.core.services.quotes.service import (
    FIELDS,
    MAX_VALID_DAYS,
    NOT_YOUR_QUOTE,
    QuoteTerms,
    accept_quote,
    amount_label,
    expire_quotes,
    quote_view,
    quotes_by_lead,
    quotes_for_match,
    read_terms,
    send_quote,
)

__all__ = [
    "FIELDS",
    "MAX_VALID_DAYS",
    "NOT_YOUR_QUOTE",
    "QuoteTerms",
    "accept_quote",
    "amount_label",
    "expire_quotes",
    "quote_view",
    "quotes_by_lead",
    "quotes_for_match",
    "read_terms",
    "send_quote",
]
