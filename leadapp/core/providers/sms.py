"""SMS delivery: Twilio's Messages API through the official `twilio` SDK, the local outbox otherwise.

- TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER set: `client.messages.create(to, from_, body)`;
  the provider id is the message SID. TWILIO_API_BASE (tests, a stand-in) sends the SDK's requests to
  that address instead of https://api.twilio.com.
- Otherwise: the local outbox (nothing leaves the machine; the notification row is the outbox).

Failures raise `SendError`: permanent for 4xx answers (an invalid or unsubscribed number, bad
credentials), transient for 5xx, rate limits and connection errors.
"""

from __future__ import annotations

from typing import Any

from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response

from leadapp.core.observability import get_logger
from leadapp.core.providers import status as provider_status
from leadapp.core.providers.email import SendError, SendResult, is_permanent_status, outbox_result, send_timeout
from leadapp.core.settings import get_settings

__all__ = [
    "TWILIO_API",
    "RebasedTwilioHttpClient",
    "SendError",
    "SendResult",
    "send_sms",
    "twilio_client",
    "twilio_configured",
]

log = get_logger(__name__)

TWILIO_API = "https://api.twilio.com"


class RebasedTwilioHttpClient(TwilioHttpClient):
    """The SDK's own HTTP client, sending what it would send to https://api.twilio.com to `api_base` instead.

    The SDK has no base-URL option; rewriting in `request()` keeps every other behaviour (auth, form
    encoding, headers, error parsing) exactly the SDK's.
    """

    def __init__(self, api_base: str, timeout: float | None = None) -> None:
        super().__init__(timeout=timeout or send_timeout())
        self.api_base = api_base.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if url.startswith(TWILIO_API):
            url = self.api_base + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


def twilio_configured() -> bool:
    settings = get_settings()
    return bool(settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from_number)


def twilio_client() -> Any:
    """The SDK's REST client for the configured account, through the rebasing HTTP client when TWILIO_API_BASE
    is set (SMS and calls alike)."""
    from twilio.rest import Client  # lazy: the Twilio SDK adds start-up time; only a keyed deployment loads it

    settings = get_settings()
    if settings.twilio_api_base:
        http_client: TwilioHttpClient = RebasedTwilioHttpClient(settings.twilio_api_base)
    else:
        http_client = TwilioHttpClient(timeout=send_timeout())
    return Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=http_client)


def send_sms(to_e164: str, body: str) -> SendResult:
    """Deliver one SMS to an E.164 number; raises `SendError` when Twilio does not take it.

    Opt-outs are the caller's business (the notification service checks them before calling here).
    """
    if not to_e164:
        raise SendError("no recipient number", permanent=True)
    if not twilio_configured():
        return outbox_result()
    from twilio.base.exceptions import TwilioRestException  # lazy: as for the client, only when keyed

    try:
        message = twilio_client().messages.create(to=to_e164, from_=get_settings().twilio_from_number, body=body)
    except TwilioRestException as exc:
        code = f" (Twilio error {exc.code})" if exc.code else ""
        error = SendError(
            f"twilio: HTTP {exc.status}{code}: {exc.msg}"[:1000], permanent=is_permanent_status(exc.status)
        )
        provider_status.record_failure(provider_status.TWILIO, f"send SMS: {error.message}")
        raise error from exc
    except Exception as exc:  # connection refused, timeout, TLS ...
        provider_status.record_failure(provider_status.TWILIO, f"send SMS: twilio: {exc!r}")
        raise SendError(f"twilio: {exc!r}"[:1000], permanent=False) from exc
    return SendResult("twilio", str(message.sid or ""))
