"""Contact details in free text: found and hidden, in one place.

Whatever a consumer wrote reaches people and models that may not know how to reach them: a business
before it accepts the lead (pages, emails, SMS), the classifier, the composer and the voice agent. Each
of them gets the text through `redact_contact`, so what counts as a contact detail is decided here once.

Guarantees of `redact_contact(text, *known)`:
- phone numbers become "[phone]": whatever `phonenumbers.PhoneNumberMatcher` finds at POSSIBLE leniency
  with the US as the default region (so "(317) 846-2200", "317.846.2200", "+1 317 846 2200 ext 12",
  "3 1 7 8 4 6 2 2 0 0", a local "846-2200", full-width digits and any number written with a + and a
  country code), and numbers spelled out in words ("three one seven, eight four six ...");
- email addresses become "[email]", also written as "jane at example dot com" or "jane(at)example.com";
- street addresses become "[address]": a house number, the street's name and its type ("742 Evergreen
  Terrace", "12345 N Highway 31", "55 W 10th St Apt 4B"), and PO boxes. The city, the state and the ZIP code
  around them stay: a business may know the area before it accepts, never the door;
- `known` values (the lead's own email and phone) are hidden wherever they appear, whatever their case;
- it errs on the side of hiding: a figure that could be a phone number is hidden, even if it was not one.
Never raises; returns "" for empty text.

No library fits street addresses in running prose: pyap's street rule (tried) also took "500 to 800
dollars. My water heater is" for a street, and usaddress tags any string it is given. So the street rule
is a pattern here: a number, one to four name words (none of them a small word such as "in" or "my"),
then a street type from the USPS list of common suffixes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import phonenumbers

PHONE = "[phone]"
EMAIL = "[email]"
ADDRESS = "[address]"
MARKERS = (PHONE, EMAIL, ADDRESS)

DEFAULT_REGION = "US"

# --- email addresses ------------------------------------------------------------------------------

_EMAIL = re.compile(r"(?<![\w.+%'-])[\w.+%'-]++@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# "jane at example dot com", "jane(at)example(dot)com", "jane [at] example . co . uk"
_AT = r"(?:\s*[\(\[\{<]\s*at\s*[\)\]\}>]\s*|\s+at\s+|\s*@\s*)"
_DOT = r"(?:\s*[\(\[\{<]\s*dot\s*[\)\]\}>]\s*|\s+dot\s+|\.)"
_TLD = r"(?:com|net|org|edu|gov|mil|info|biz|io|co|us|ca|uk|me|app|dev|email|online|site|xyz)"
# "jane@example . com": around an @ any spacing is still an address.
_SPACED_EMAIL = re.compile(
    rf"(?<![\w.+%'-])[\w.+%'-]++\s*@\s*[\w-]+(?:\s*\.\s*[\w-]+)*?\s*\.\s*{_TLD}\b", re.IGNORECASE | re.UNICODE
)
_SPELLED_EMAIL = re.compile(
    rf"(?<![\w.+-])[\w.+-]++{_AT}[\w-]+(?:{_DOT}[\w-]+)*?{_DOT}{_TLD}\b",
    re.IGNORECASE | re.UNICODE,
)

# --- phone numbers spelled out --------------------------------------------------------------------

_DIGIT_WORD = r"(?:zero|oh|o|one|two|three|four|five|six|seven|eight|nine|\d)"
_SPELLED_PHONE = re.compile(
    rf"\b{_DIGIT_WORD}(?:[\s,.\-/]+{_DIGIT_WORD}){{6,14}}\b",
    re.IGNORECASE,
)
_NUMBER_WORD = re.compile(r"[a-z]", re.IGNORECASE)
# The matcher gives up on a whole candidate it cannot parse ("317 846 2200 x5 0"): ten to fifteen digits in
# a row, at most two separator characters between them, are a number too; dates ("2026-05-03 10") are not.
_DIGIT_RUN = re.compile(r"(?<![\w+])\+?\(?\d(?:[ .\-/()\u2013]{0,2}\d){9,14}(?!\w)")
_DATE_START = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")

# --- street addresses -----------------------------------------------------------------------------

# USPS Publication 28, the common street suffixes (full and standard abbreviation). Words that are
# everyday English in a job description ("run", "bend", "point", "row", "park") are left out on purpose.
_STREET_TYPES = (
    "street|st|avenue|ave|av|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|place|pl|way|terrace|ter|"
    "circle|cir|parkway|pkwy|highway|hwy|trail|trl|square|sq|plaza|plz|loop|alley|aly|crescent|cres|pike|"
    "turnpike|tpke|expressway|expy|freeway|fwy|causeway|cswy|boulevarde"
)
_DIRECTION = r"(?:north|south|east|west|northeast|northwest|southeast|southwest|[nsew]|ne|nw|se|sw)\.?"
# Small words never part of a street's name: "3 cars in my drive" is not an address.
_SMALL_WORDS = (
    "a|an|the|in|on|at|to|of|my|our|your|his|her|their|its|and|or|but|for|with|from|by|is|are|was|were|be|"
    "has|have|had|it|this|that|these|those|there|here|we|i|you|he|she|they|me|us|them|need|needs|about|"
    "around|near|into|onto|off|up|down|over|under|out|so|too|very|some|any|all|no|not|per|each|every|"
    "which|what|when|where|who|how|than|then|also|just|only|am|pm"
)
_NAME_WORD = rf"(?!(?:{_SMALL_WORDS}|{_STREET_TYPES})\b)[A-Za-z0-9][\w'.-]*"
# A unit after the street: "Apt 4B", "# 12", "Suite 200" (its number has a digit, or is one letter).
_UNIT = (
    r"(?:\s*,?\s*(?:apt|apartment|unit|suite|ste|room|rm|floor|fl|bldg|building|\#)\.?\s*\#?\s*"
    r"(?:[\w-]*\d[\w-]*|[a-z])\b)"
)
_STREET = re.compile(
    rf"""
    \b\d{{1,6}}[A-Za-z]?(?:-\d{{1,4}})?          # house number: 742, 12B, 31-07
    \s+(?:{_DIRECTION}\s+)?                      # N, South
    (?:
        (?:{_NAME_WORD}\s+){{1,4}}?(?:{_STREET_TYPES})\b\.?   # Evergreen Terrace, W 10th St.
        (?:\s+{_DIRECTION}(?![\w]))?              # Pennsylvania Ave NW
      | (?:highway|hwy|route|rte|county\s+road|state\s+road|us)\s+\d{{1,4}}\b   # Highway 31
    )
    {_UNIT}?
    """,
    re.IGNORECASE | re.VERBOSE,
)
_PO_BOX = re.compile(r"\b(?:p\.?\s*o\.?|post\s+office)\s*box\s*#?\s*\d{1,8}\b", re.IGNORECASE)


def _spans(text: str, addresses: bool) -> list[tuple[int, int, str]]:
    """(start, end, marker) of every contact detail found in `text`, overlapping ones included."""
    found: list[tuple[int, int, str]] = []
    found += [(m.start(), m.end(), EMAIL) for m in _EMAIL.finditer(text)]
    found += [(m.start(), m.end(), EMAIL) for m in _SPACED_EMAIL.finditer(text)]
    found += [(m.start(), m.end(), EMAIL) for m in _SPELLED_EMAIL.finditer(text)]
    if addresses:
        found += [(m.start(), m.end(), ADDRESS) for m in _STREET.finditer(text)]
        found += [(m.start(), m.end(), ADDRESS) for m in _PO_BOX.finditer(text)]
    matcher = phonenumbers.PhoneNumberMatcher(text, DEFAULT_REGION, leniency=phonenumbers.Leniency.POSSIBLE)
    found += [(m.start, m.end, PHONE) for m in matcher]
    found += [(m.start(), m.end(), PHONE) for m in _DIGIT_RUN.finditer(text) if not _DATE_START.match(m.group())]
    # Spelled numbers need a word in them; runs of plain digits are the matcher's to judge.
    found += [(m.start(), m.end(), PHONE) for m in _SPELLED_PHONE.finditer(text) if _NUMBER_WORD.search(m.group())]
    return found


def _merge(spans: Iterable[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Overlapping spans joined into one (the marker of the one that starts first, the longest on a tie)."""
    merged: list[tuple[int, int, str]] = []
    for start, end, marker in sorted(spans, key=lambda s: (s[0], -s[1])):
        if merged and start < merged[-1][1]:
            last_start, last_end, last_marker = merged[-1]
            merged[-1] = (last_start, max(last_end, end), last_marker)
        else:
            merged.append((start, end, marker))
    return merged


def _known_spans(text: str, known: Iterable[str]) -> list[tuple[int, int, str]]:
    spans: list[tuple[int, int, str]] = []
    for value in known:
        value = (value or "").strip()
        if len(value) < 4:  # too short to mean anything on its own ("" or a stray "+1")
            continue
        marker = EMAIL if "@" in value else PHONE
        spans += [(m.start(), m.end(), marker) for m in re.finditer(re.escape(value), text, re.IGNORECASE)]
    return spans


def find_contact(text: str, *known: str, keep_addresses: bool = False) -> list[tuple[int, int, str]]:
    """The contact details in `text`: (start, end, marker) for each, in order, overlaps merged."""
    if not text:
        return []
    return _merge([*_spans(text, not keep_addresses), *_known_spans(text, known)])


def redact_contact(text: str, *known: str, keep_addresses: bool = False) -> str:
    """`text` with every phone number, email address and street address replaced by "[phone]", "[email]" or
    "[address]", and the `known` values (a lead's own email and phone) hidden wherever they appear.

    `keep_addresses=True` leaves street addresses (for a model summarising a call for a business that
    accepted the lead: the address is what the call was for); phones and emails are hidden all the same.
    """
    if not text:
        return ""
    parts: list[str] = []
    position = 0
    for start, end, marker in find_contact(text, *known, keep_addresses=keep_addresses):
        parts += [text[position:start], marker]
        position = end
    parts.append(text[position:])
    return "".join(parts)


def has_contact(text: str, *known: str) -> bool:
    """True when `text` holds a contact detail `redact_contact` would hide."""
    return bool(find_contact(text, *known))


def redact_values(value: Any, *known: str, keep_addresses: bool = False) -> Any:
    """Every string inside `value` (dicts, lists and tuples walked) redacted; other values unchanged."""
    if isinstance(value, str):
        return redact_contact(value, *known, keep_addresses=keep_addresses)
    if isinstance(value, dict):
        return {k: redact_values(v, *known, keep_addresses=keep_addresses) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_values(v, *known, keep_addresses=keep_addresses) for v in value]
    return value


def only_contact(text: str, *known: str, keep_addresses: bool = False) -> bool:
    """True when `text` says nothing once its contact details are gone (e.g. an answer "jane@example.com,
    317 846 2200"): what is left is punctuation and small connecting words. With `keep_addresses`, a street
    address counts as something said."""
    rest = redact_contact(text, *known, keep_addresses=keep_addresses)
    for marker in MARKERS:
        rest = rest.replace(marker, " ")
    words = re.findall(r"[^\W_]+", rest)
    filler = {
        "my", "is", "or", "and", "at", "me", "call", "text", "email", "e", "mail", "phone", "number", "cell",
        "mobile", "reach", "you", "can", "it", "its", "the", "best", "to", "on", "by", "via", "please", "thanks",
        "thank", "home", "work", "a", "an", "contact", "i", "am", "here", "s", "address", "tel", "ph",
    }  # fmt: skip
    return all(word.lower() in filler for word in words)
