"""A real SMTP server on loopback (aiosmtpd) that keeps every message it receives.

It speaks the whole protocol (EHLO, MAIL, RCPT, DATA; AUTH PLAIN/LOGIN when credentials are set), so
`smtplib` in the app is exercised for real. It listens on 127.0.0.1 on an ephemeral port.

Use in a test module: `from tests.fakes.smtp_server import fake_smtp  # noqa: F401`, then point the app
at it with SMTP_HOST=fake.host and SMTP_PORT=str(fake.port).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    login: str | None


class _Sink:
    """The aiosmtpd handler: accepts every message and keeps it."""

    def __init__(self) -> None:
        self.messages: list[ReceivedMail] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        parsed = message_from_bytes(raw, policy=policy.default)
        auth = session.auth_data
        login = auth.login.decode() if isinstance(auth, LoginPassword) else None
        with self._lock:
            self.messages.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), parsed, login))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


class _EphemeralPortController(Controller):
    """aiosmtpd's Controller, able to listen on port 0: it learns the real port before its self-check connects."""

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class FakeSmtp:
    """A running SMTP server: `host`, `port`, and the `messages` it received."""

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        self.credentials = credentials
        self._sink = _Sink()
        options: dict[str, Any] = {}
        if credentials is not None:
            options = {"authenticator": self._authenticate, "auth_required": True, "auth_require_tls": False}
        self._controller = _EphemeralPortController(self._sink, hostname="127.0.0.1", port=0, **options)

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and self.credentials == (
            auth_data.login.decode(),
            auth_data.password.decode(),
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return self._controller.port

    @property
    def messages(self) -> list[ReceivedMail]:
        return list(self._sink.messages)

    def start(self) -> FakeSmtp:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


@pytest.fixture
def fake_smtp() -> Iterator[FakeSmtp]:
    """An SMTP server on 127.0.0.1 (ephemeral port) without authentication, stopped after the test."""
    server = FakeSmtp().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake_smtp_with_login() -> Iterator[FakeSmtp]:
    """An SMTP server that requires AUTH with user "mailer" and password "s3cret-pass"."""
    server = FakeSmtp(credentials=("mailer", "s3cret-pass")).start()
    try:
        yield server
    finally:
        server.stop()
