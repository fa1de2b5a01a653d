"""Twilio request signatures, checked against the bridge's PUBLIC address (one helper for every webhook).

Twilio signs the URL it was configured with (VOICE_BRIDGE_PUBLIC_URL + path), not the address this
process sees behind a TLS-terminating proxy, so the URL checked is always built from configuration.
Nothing unsigned is accepted: no auth token configured, a missing or a wrong signature all fail.
For the websocket upgrade use `is_signed(token, "wss://<public host>/<path>", {}, signature)`.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.datastructures import FormData
from twilio.request_validator import RequestValidator

from leadapp.core.settings import get_settings

SIGNATURE_HEADER = "X-Twilio-Signature"


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


async def signed_form(request: Request) -> FormData | None:
    """The request's form fields when Twilio signed them for the public URL of this request's path, else None."""
    form = await request.form()
    signature = request.headers.get(SIGNATURE_HEADER, "")
    url = public_url(request.url.path)
    return form if is_signed(get_settings().twilio_auth_token, url, form, signature) else None


def rejected(reason: str = "invalid signature") -> JSONResponse:
    """The answer to an unsigned or wrongly signed request (nothing was changed)."""
    return JSONResponse({"error": reason}, status_code=403)
