"""Structured logging for every program, and Sentry error reporting when SENTRY_DSN is set."""

from __future__ import annotations

import logging
import sys

import structlog

from leadapp.core.settings import get_settings

_configured = False


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
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(program=program)
    if settings.sentry_dsn:
        import sentry_sdk

        sentry_sdk.init(
            dsn=settings.sentry_dsn,
            environment=settings.environment,
            server_name=program,
            traces_sample_rate=0.0,
            send_default_pii=False,
        )
    _configured = True


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)


def report_exception(exc: BaseException, **context: object) -> None:
    """Log an error we caused, with context, and send it to Sentry when configured."""
    get_logger("leadapp.errors").error("unhandled_error", error=repr(exc), exc_info=exc, **context)
    if get_settings().sentry_dsn:
        import sentry_sdk

        with sentry_sdk.new_scope() as scope:
            for k, v in context.items():
                scope.set_extra(k, v)
            sentry_sdk.capture_exception(exc)
