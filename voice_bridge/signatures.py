"""Twilio request signatures, checked against the bridge's PUBLIC address (one helper for every webhook).

Twilio signs the URL it was configured with (VOICE_BRIDGE_PUBLIC_URL + path), not the address this
process sees behind a TLS-terminating proxy, so the URL checked is always built from configuration.
Nothing unsigned is accepted: no auth token configured, a missing or a wrong signature all fail.
For the websocket upgrade use `is_signed(token, "wss://<public host>/<path>", {}, signature)`.

A signed request is still hostile input (a leaked token, a replay, a fuzzer): `signed_form` hands the routes the
form's text without control characters (PostgreSQL refuses NUL in text), `form_sid` a SID only when it looks like
one (fits the 64-character columns), `form_seconds` a duration only when it is a whole number of seconds the
database can hold. The routes refuse (4xx) what does not fit, before anything is written.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping

import structlog
from fastapi import Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import FormData
from twilio.request_validator import RequestValidator

from leadapp.core.settings import get_settings

SIGNATURE_HEADER = "X-Twilio-Signature"
MAX_FIELD_CHARS = 2000  # more than any Twilio field (an SMS body is at most 1600 characters)
MAX_SECONDS = 2**31 - 1  # an INTEGER column
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")


def public_url(path: str, public_base: str | None = None) -> str:
    """The URL Twilio signs for `path`: the bridge's public address plus the path."""
    base = public_base if public_base is not None else get_settings().voice_bridge_public_url
    return base.rstrip("/") + "/" + path.lstrip("/")


def is_signed(auth_token: str, url: str, params: Mapping[str, object], signature: str) -> bool:
    """True only when a token is configured and `signature` is Twilio's signature of `url` and `params`."""
    if not auth_token or not signature:
        return False
    try:
        # A multi-dict (Starlette's FormData) is signed value by value, as Twilio does for repeated fields.
        return bool(RequestValidator(auth_token).validate(url, params, signature))
    except (TypeError, ValueError):  # e.g. a file upload where only form text can be
        return False


def clean_form(form: FormData) -> dict[str, str]:
    """The form's text fields (the first value of a repeated one), without control characters (tabs and line
    breaks kept), each cut at MAX_FIELD_CHARS; a file upload is no Twilio field and reads as ""."""
    fields: dict[str, str] = {}
    for name, value in form.multi_items():
        if name not in fields:
            fields[name] = _CONTROL.sub("", value)[:MAX_FIELD_CHARS] if isinstance(value, str) else ""
    return fields


async def signed_form(request: Request) -> dict[str, str] | None:
    """The request's form fields (cleaned: `clean_form`) when Twilio signed them for the public URL of this
    request's path, else None."""
    form = await request.form()
    signature = request.headers.get(SIGNATURE_HEADER, "")
    url = public_url(request.url.path)
    return clean_form(form) if is_signed(get_settings().twilio_auth_token, url, form, signature) else None


def form_sid(form: Mapping[str, str], name: str) -> str | None:
    """A SID field: "" when absent or empty, the SID when it looks like one, None when it cannot be one (too
    long for its column, or odd characters): the route refuses that request."""
    value = form.get(name, "").strip()
    if not value:
        return ""
    return value if _SID.fullmatch(value) else None


async def signed_call_form(
    request: Request, log: structlog.stdlib.BoundLogger, event: str, **fields: object
) -> tuple[dict[str, str], str] | Response:
    """The signed form of a webhook about a call and its CallSid, or the answer refusing it: 403 for a wrong
    signature (logged as `event` with `fields`), 400 for a malformed CallSid."""
    form = await signed_form(request)
    if form is None:
        log.warning(event, **fields)
        return rejected()
    call_sid = form_sid(form, "CallSid")
    if call_sid is None:
        return invalid_field("CallSid")
    return form, call_sid


async def answer_signed_call(
    request: Request,
    log: structlog.stdlib.BoundLogger,
    event: str,
    answer: Callable[[dict[str, str], str], Awaitable[Response]],
    **fields: object,
) -> Response:
    """`answer(form, call_sid)` for a webhook about a call whose signed form and CallSid check out
    (`signed_call_form`); the answer refusing it otherwise."""
    checked = await signed_call_form(request, log, event, **fields)
    if isinstance(checked, Response):
        return checked
    return await answer(*checked)


def form_seconds(form: Mapping[str, str], name: str) -> int | None:
    """A duration field in whole seconds (ASCII digits, at most MAX_SECONDS); None when absent or anything else."""
    value = form.get(name, "").strip()
    if not (value.isascii() and value.isdigit()):
        return None
    seconds = int(value)
    return seconds if seconds <= MAX_SECONDS else None


def invalid_field(name: str) -> JSONResponse:
    """The answer to a signed request with a field that cannot be Twilio's (nothing was changed)."""
    return JSONResponse({"error": f"invalid {name}"}, status_code=400)


def rejected(reason: str = "invalid signature") -> JSONResponse:
    """The answer to an unsigned or wrongly signed request (nothing was changed)."""
    return JSONResponse({"error": reason}, status_code=403)


def done(result: str) -> Response:
    """The answer to a callback once handled: 404 for a call that does not exist, else 204 (Twilio reads no body)."""
    if result == "unknown_call":
        return JSONResponse({"error": "no such call"}, status_code=404)
    return Response(status_code=204)
