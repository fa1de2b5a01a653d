"""The languages a call and a consumer's pages speak: one catalogue module per language (`english`, `spanish`),
the same names in each.

`phrases(language)` gives the catalogue of a language code ("en", "es"); anything else (None, "", an unknown
code) gives English, so a row written before languages existed reads as it always did.
"""

from __future__ import annotations

from datetime import date
from types import ModuleType

from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from leadapp.core.languages import english, spanish
from leadapp.core.vocab import Language

CATALOGUES: dict[str, ModuleType] = {Language.ENGLISH.value: english, Language.SPANISH.value: spanish}
DEFAULT = Language.ENGLISH.value


def known(language: str | None) -> str:
    """The language code itself when LeadApp speaks it, else English's."""
    return language if language in CATALOGUES else DEFAULT


def phrases(language: str | None) -> ModuleType:
    """The catalogue of everything a call says or sends about itself, in `language` (English when unknown)."""
    return CATALOGUES[known(language)]


# A link in a message adds its request's language (`?lang=es`, outside the token's signature): the page it opens speaks
# it before it knows the request (a bad or expired link).
LINK_PARAMETER = "lang"


def link_query(language: str | None) -> str:
    """What a link to a consumer's page adds for `language`: "?lang=es", or "" for English (the default)."""
    return f"?{LINK_PARAMETER}={known(language)}" if known(language) != DEFAULT else ""


def of_visitor(link_language: str | None, accept_language: str | None) -> str:
    """The language of a page that does not know the request: the link's own (`lang`) when LeadApp speaks it, else
    the first LeadApp speaks in the browser's Accept-Language, else English."""
    if link_language in CATALOGUES:
        return str(link_language)
    # By quality, the primary subtag decides ("es-MX" is Spanish), so "en-US,es;q=0.5" stays English.
    for tag, _quality in parse_accept_header((accept_language or "")[:500], LanguageAccept):
        if (primary := tag.split("-", 1)[0].lower()) in CATALOGUES:
            return primary
    return DEFAULT


# The refusals a service says in English because it knows no request to take a language from (an id that is no
# request, quote, job or conversation of the consumer's; a link that no longer works): a page says them in its own.
_UNKNOWN_REFUSALS = {
    english.NOT_YOUR_THREAD: "NOT_YOUR_THREAD",
    english.NO_SUCH_REQUEST: "NO_SUCH_REQUEST",
    english.NOT_YOUR_QUOTE: "NOT_YOUR_QUOTE",
    english.NOT_YOUR_JOB: "NOT_YOUR_JOB",
    english.LINK_INVALID: "LINK_INVALID",
    english.LINK_OTHER_REQUEST: "LINK_OTHER_REQUEST",
    english.REQUEST_GONE: "REQUEST_GONE",
    english.TRACKING_LINK_PROBLEM: "TRACKING_LINK_PROBLEM",
}


def refusal_in(words: ModuleType, refusal: str) -> str:
    """A refusal as the consumer reads it: one of `_UNKNOWN_REFUSALS` in the language tables `words`; any other
    already is in the request's language."""
    return getattr(words, _UNKNOWN_REFUSALS[refusal]) if refusal in _UNKNOWN_REFUSALS else refusal


def is_spanish(language: str | None) -> bool:
    return language == Language.SPANISH.value


def long_date(day: date, language: str | None) -> str:
    """A date written out in `language`: "December 14, 2026", "14 de diciembre de 2026"."""
    w = phrases(language)
    return w.DATE.format(day=day.day, month=w.MONTHS[day.month - 1], year=day.year)


def count_businesses(n: int, language: str | None) -> str:
    """ "1 business", "3 businesses" / "1 negocio", "3 negocios"."""
    w = phrases(language)
    return f"{n:,} {w.BUSINESS_ONE if n == 1 else w.BUSINESS_MANY}"
