"""Email delivery: SendGrid (official SDK) first, any SMTP server as the backup, the local outbox otherwise.

- SENDGRID_API_KEY set: SendGrid's v3 API through `sendgrid.SendGridAPIClient` (SENDGRID_HOST points it
  elsewhere, e.g. a stand-in); the provider id is SendGrid's `X-Message-Id`.
- SendGrid fails (any error) and SMTP_HOST is set: the same message goes through SMTP (STARTTLS when
  SMTP_USE_TLS, login when SMTP_USERNAME); the provider id is the Message-ID we generate.
- Neither configured: the local outbox. Nothing leaves the machine; the notification row itself is the
  outbox the admin pages show.

Failures raise `SendError`, telling permanent failures (retrying cannot help: a rejected address or
request) from transient ones (5xx, rate limits, timeouts, connection errors).
"""

from __future__ import annotations

import smtplib
import ssl
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr

from leadapp.core.observability import get_logger
from leadapp.core.providers import status as provider_status
from leadapp.core.settings import get_settings

log = get_logger(__name__)


def send_timeout() -> float:
    """Upper bound of one provider call (PROVIDER_TIMEOUT_SECONDS), well below the RQ job timeout and the
    notification claim lease."""
    return get_settings().provider_timeout_seconds


SENDGRID_DEFAULT_HOST = "https://api.sendgrid.com"
OUTBOX = "outbox"


@dataclass(frozen=True)
class SendResult:
    """A message a provider accepted: which provider, and its id for the message."""

    provider: str
    provider_id: str


class SendError(Exception):
    """A provider refused or failed to take a message; `permanent` means retrying the same message cannot help."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


def is_permanent_status(status: int | None) -> bool:
    """HTTP statuses worth no retry: 4xx except request timeout and rate limiting."""
    return status is not None and 400 <= status < 500 and status not in (408, 429)


def outbox_result() -> SendResult:
    """The local stand-in's receipt: a unique id, nothing sent."""
    return SendResult(OUTBOX, f"outbox-{uuid.uuid4()}")


def _sendgrid(to: str, subject: str, text: str, html: str, headers: Mapping[str, str]) -> SendResult:
    # Lazy: the SendGrid SDK loads only in a deployment with a SendGrid key (start-up cost otherwise).
    from python_http_client.exceptions import HTTPError
    from sendgrid import SendGridAPIClient
    from sendgrid.helpers.mail import Header, Mail, ReplyTo

    settings = get_settings()
    message = Mail(
        from_email=settings.email_from,
        to_emails=to,
        subject=subject,
        plain_text_content=text,
        html_content=html or None,
    )
    headers = dict(headers)
    reply_to = headers.pop("Reply-To", "")  # SendGrid refuses it as a custom header: it is a field of its own
    if reply_to:
        message.reply_to = ReplyTo(reply_to)
    if headers:
        message.header = [Header(name, value) for name, value in headers.items()]
    client = SendGridAPIClient(settings.sendgrid_api_key, host=settings.sendgrid_host or SENDGRID_DEFAULT_HOST)
    client.client.timeout = send_timeout()  # the SDK waits forever by default
    try:
        response = client.send(message)
    except HTTPError as exc:
        body = exc.body.decode(errors="replace") if isinstance(exc.body, bytes) else str(exc.body)
        raise SendError(
            f"sendgrid: HTTP {exc.status_code}: {body[:500]}", permanent=is_permanent_status(exc.status_code)
        ) from exc
    except Exception as exc:  # connection refused, timeout, TLS, DNS ...
        raise SendError(f"sendgrid: {exc!r}"[:1000], permanent=False) from exc
    if not 200 <= response.status_code < 300:
        raise SendError(f"sendgrid: HTTP {response.status_code}", permanent=is_permanent_status(response.status_code))
    message_id = response.headers.get("X-Message-Id", "") if response.headers else ""
    return SendResult("sendgrid", str(message_id or ""))


def _smtp(to: str, subject: str, text: str, html: str, headers: Mapping[str, str]) -> SendResult:
    settings = get_settings()
    _, from_address = parseaddr(settings.email_from)
    domain = from_address.rpartition("@")[2] or "leadapp.local"
    message_id = make_msgid(domain=domain)
    message = EmailMessage()
    message["From"] = settings.email_from
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id
    for name, value in headers.items():
        message[name] = value
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=send_timeout()) as smtp:
            if settings.smtp_use_tls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password)
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        raise SendError(
            f"smtp: recipient refused: {exc.recipients!r}"[:1000], permanent=all(c >= 500 for c in codes)
        ) from exc
    except smtplib.SMTPResponseException as exc:  # sender refused, auth failed, data refused ...
        detail = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        raise SendError(f"smtp: {exc.smtp_code} {detail}"[:1000], permanent=exc.smtp_code >= 500) from exc
    except (smtplib.SMTPException, OSError) as exc:  # disconnected, refused, timeout, TLS
        raise SendError(f"smtp: {exc!r}"[:1000], permanent=False) from exc
    return SendResult("smtp", message_id.strip("<>"))


def send_email(to: str, subject: str, text: str, html: str, headers: Mapping[str, str] | None = None) -> SendResult:
    """Deliver one email through the configured provider(s); raises `SendError` when none took it.

    `headers` are extra message headers (e.g. `List-Unsubscribe`), passed on by SendGrid and SMTP alike.

    SendGrid first when keyed; on any SendGrid error the SMTP backup when configured (the error is
    permanent only if both providers failed permanently); the local outbox when neither is configured.
    """
    if not to:
        raise SendError("no recipient address", permanent=True)
    settings = get_settings()
    primary_error: SendError | None = None
    if settings.sendgrid_api_key:
        try:
            return _sendgrid(to, subject, text, html, headers or {})
        except SendError as exc:
            provider_status.record_failure(provider_status.EMAIL, exc.message)
            if not settings.smtp_host:
                raise
            log.warning("sendgrid_failed_trying_smtp", error=exc.message, permanent=exc.permanent)
            primary_error = exc
    if settings.smtp_host:
        try:
            return _smtp(to, subject, text, html, headers or {})
        except SendError as exc:
            provider_status.record_failure(provider_status.EMAIL, exc.message)
            if primary_error is None:
                raise
            raise SendError(
                f"{primary_error.message}; {exc.message}", permanent=primary_error.permanent and exc.permanent
            ) from exc
    return outbox_result()
