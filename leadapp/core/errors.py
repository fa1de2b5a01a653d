"""Errors a user can cause: each carries a message fit to show, and optionally the field it concerns; and the one
check of free text a user wrote (`written_text`: trimmed, not empty, not too long)."""

from __future__ import annotations


class UserError(Exception):
    """Bad input or a refused action; the message is safe to show (form field or 4xx JSON)."""

    status_code = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotAllowed(UserError):
    status_code = 403


class NotFound(UserError):
    status_code = 404


class TooManyAttempts(UserError):
    status_code = 429


class Unavailable(UserError):
    """Something we depend on failed just now (a store, a provider): nothing was done, and trying again later may
    work. Not the user's fault, but the refusal is theirs to read (503)."""

    status_code = 503


class FieldErrors(UserError):
    """One or more form fields are wrong; `errors` maps each field to its message (422)."""

    status_code = 422

    def __init__(self, errors: dict[str, str]) -> None:
        first_field, first_message = next(iter(errors.items()))
        super().__init__(first_message, field=first_field)
        self.errors = errors


TOO_LONG = "Keep it to {most:,} characters (this is {length:,})."


def written_text(value: object, field: str, *, most: int, missing: str = "", too_long: str = TOO_LONG) -> str:
    """What a user wrote in `field`, trimmed. A UserError on `field`: `missing` when it is empty (empty is allowed
    when `missing` is ""), `too_long` (formatted with `most` and the `length` given) when it is over `most`
    characters. The one reading of free text shared by messages, quotes and reviews."""
    text = str(value or "").strip()
    if not text and missing:
        raise UserError(missing, field=field)
    if len(text) > most:
        raise UserError(too_long.format(most=most, length=len(text)), field=field)
    return text
