"""The one phone-number normalizer: every number LeadApp takes in (intake, the guided interview, business
settings, the public API, webhooks, the do-not-call list) is parsed here.

Numbers we may call or text are valid numbers of a supported country (`SUPPORTED_PHONE_REGIONS`, default
`US,CA`): a number elsewhere is refused where it is typed, with the countries named, and never reaches a
provider (the SMS sender and the call worker check `is_supported` once more before dialling or sending).
Numbers that only identify (an opt-out reply, a do-not-call entry) are parsed the same way without the
country check, so that a STOP from anywhere is still honoured.
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, geocoder

from leadapp.core import languages
from leadapp.core.languages import english
from leadapp.core.settings import get_settings

DEFAULT_REGION = "US"
"""How a number without a country code is read (a US number typed as (317) 846-2200)."""
INVALID_MESSAGE = english.PHONE_INVALID


class PhoneRefused(ValueError):
    """A number that cannot be used; `message` says why, for the person who typed it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def supported_regions() -> frozenset[str]:
    """The countries (ISO 3166 codes) whose numbers LeadApp calls and texts."""
    raw = get_settings().supported_phone_regions
    return frozenset(part.strip().upper() for part in raw.split(",") if part.strip())


def _country_names(regions: list[str], language: str | None = None) -> str:
    names = []
    for region in regions:
        example = phonenumbers.example_number(region) if phonenumbers.country_code_for_region(region) else None
        name = geocoder.country_name_for_number(example, languages.known(language)) if example is not None else ""
        names.append(("the " + name if name.startswith("United") else name) or region)  # English's article
    return languages.phrases(language).AND.join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def unsupported_message(language: str | None = None) -> str:
    """Why a number of another country is refused, naming the supported ones (in the setting's order), in
    `language` (English by default)."""
    regions = [part.strip().upper() for part in get_settings().supported_phone_regions.split(",") if part.strip()]
    return languages.phrases(language).PHONE_COUNTRIES.format(countries=_country_names(regions, language))


def _parse_valid(raw: str, language: str | None = None) -> phonenumbers.PhoneNumber:
    text, invalid = (raw or "").strip(), languages.phrases(language).PHONE_INVALID
    if not text or len(text) > 40:
        raise PhoneRefused(invalid)
    try:
        parsed = phonenumbers.parse(text, DEFAULT_REGION)
    except NumberParseException as exc:
        raise PhoneRefused(invalid) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise PhoneRefused(invalid)
    return parsed


def parse(raw: str, language: str | None = None) -> str:
    """`raw` as E.164 when it is a valid number of a supported country; PhoneRefused (with the reason, in `language`,
    English by default) otherwise."""
    parsed = _parse_valid(raw, language)
    if phonenumbers.region_code_for_number(parsed) not in supported_regions():
        raise PhoneRefused(unsupported_message(language))
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164)


def parse_any_country(raw: str) -> str:
    """`raw` as E.164 when it is a valid number of any country (to identify a number, never to reach it)."""
    return phonenumbers.format_number(_parse_valid(raw), PhoneNumberFormat.E164)


def normalize(raw: str) -> str:
    """E.164 when `raw` parses as a possible number (any country), else the trimmed input ("" stays ""): the
    form numbers are stored and hashed in, so one number always has one hash."""
    text = (raw or "").strip()
    if not text:
        return ""
    try:
        parsed = phonenumbers.parse(text, DEFAULT_REGION)
    except NumberParseException:
        return text
    if not phonenumbers.is_possible_number(parsed):
        return text
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164)


def is_supported(number: str) -> bool:
    """True when `number` is a valid number of a supported country (checked again before every call and SMS)."""
    try:
        parse(number)
    except PhoneRefused:
        return False
    return True


def first_in_text(text: str) -> tuple[str, str]:
    """(E.164, "") for the first phone number written in `text` that may be used, ("", why) when the text holds
    only numbers that may not (another country), ("", "") when it holds none."""
    refusal = ""
    for found in phonenumbers.PhoneNumberMatcher(text or "", DEFAULT_REGION):
        number = phonenumbers.format_number(found.number, PhoneNumberFormat.E164)
        try:
            return parse(number), ""
        except PhoneRefused as exc:
            refusal = refusal or exc.message
    return "", refusal
