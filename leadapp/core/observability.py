"""Structured logging for every program, and Sentry error reporting when SENTRY_DSN is set."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from leadapp.core.redaction import redact_contact
from leadapp.core.settings import get_settings

_configured = False

NAME_KEYS = frozenset(
    {
        "full_name",
        "first_name",
        "last_name",
        "contact_name",
        "consumer_name",
        "customer_name",
        "user_name",
        "display_name",
        "caller_name",
        "address",
        "street",
        "street_address",
        "contact_address",
    }
)
"""Log fields that hold a person's name or address: no pattern finds those in free text, so they go by name."""
ID_SUFFIXES = ("_id", "_ids", "_sid", "sid", "id")
"""Identifiers (a Twilio SID may hold a run of digits that looks like a phone number): kept as they are."""
KEPT_KEYS = frozenset({"event", "level", "timestamp", "logger", "program"})
REDACTED = "[redacted]"


def scrub(value: Any, key: str = "") -> Any:
    """`value` with personal data hidden: the value of a name or address field entirely, and in any other text
    every phone number, email address and street address (`redaction.redact_contact`). Dicts, lists and tuples
    are scrubbed item by item; numbers, booleans and None stay. Never raises."""
    name = key.lower()
    if name in NAME_KEYS:
        return REDACTED if value not in (None, "") else value
    if isinstance(value, str):
        if name in KEPT_KEYS or name.endswith(ID_SUFFIXES):
            return value
        try:
            return redact_contact(value)
        except Exception:  # a log line must never be lost to the scrubber; an unreadable one is hidden
            return REDACTED
    if isinstance(value, dict):
        return {k: scrub(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(scrub(item, key) for item in value)
    return value


def scrub_log_event(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: no name, address, phone number or email address reaches a log line (the rendered
    exception included, so it runs after `format_exc_info`)."""
    for key, value in list(event_dict.items()):
        event_dict[key] = scrub(value, key)
    return event_dict


def scrub_sentry_event(event: dict[str, Any], _hint: dict[str, Any]) -> dict[str, Any]:
    """Sentry `before_send`: the same scrubbing over the whole event (message, exception values, extras,
    breadcrumbs, tags) before it leaves the process."""
    scrubbed: dict[str, Any] = scrub(event)
    return scrubbed


class _ProgramName:
    """structlog processor: every line names the program that wrote it, whichever thread or task logs it (a value
    bound in a context variable would miss the requests of a server configured in its lifespan task)."""

    def __init__(self, program: str) -> None:
        self.program = program

    def __call__(self, _logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        event_dict.setdefault("program", self.program)
        return event_dict


def configure(program: str) -> None:
    """Set up structlog (JSON or console) and, when configured, Sentry; safe to call twice."""
    global _configured
    if _configured:
        return
    settings = get_settings()
    level = getattr(logging, settings.log_level.upper(), logging.INFO)
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=level)
    renderer = structlog.processors.JSONRenderer() if settings.log_json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            _ProgramName(program),
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            scrub_log_event,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    if settings.sentry_dsn:
        import sentry_sdk  # lazy: loaded only when error reporting is configured

        sentry_sdk.init(
            dsn=settings.sentry_dsn,
            environment=settings.environment,
            server_name=program,
            traces_sample_rate=0.0,
            send_default_pii=False,
            # A stack frame's local variables hold whatever the code was handling (a lead's text, an email).
            include_local_variables=False,
            before_send=scrub_sentry_event,
            before_send_transaction=scrub_sentry_event,
        )
    _configured = True


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)


def report_exception(exc: BaseException, **context: object) -> None:
    """Log an error we caused, with context, and send it to Sentry when configured."""
    get_logger("leadapp.errors").error("unhandled_error", error=repr(exc), exc_info=exc, **context)
    if get_settings().sentry_dsn:
        import sentry_sdk  # lazy: loaded only when error reporting is configured

        with sentry_sdk.new_scope() as scope:
            for k, v in context.items():
                scope.set_extra(k, v)
            sentry_sdk.capture_exception(exc)
