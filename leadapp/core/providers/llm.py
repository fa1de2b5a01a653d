"""Claude, through the official `anthropic` SDK: the one adapter every feature calls.

A feature (classification, business messages, the interview, the weekly audit's narrative, call summaries)
keeps its own prompt and answer model beside its code and calls `call_tool` here: the Messages API with one
forced tool whose input schema is derived from the pydantic model, so Claude's answer arrives as structured
data and is validated before use. A failed attempt (malformed or missing tool input, a 5xx/429/overloaded
answer, a timeout or connection error) is retried once; the second failure raises `ProviderError`. Client
errors (400, 401, 403, 404) are not retried. `with_fallback(purpose, claude, local)` is the one place that
decides "Claude when keyed, else the local stand-in (also when Claude fails)".

Privacy: the consumer's phone number and email address are never sent. Features tell Claude only whether
they were given; contact details typed into free text are replaced by "[phone]", "[email]" and "[address]"
(`redaction.redact_contact`, the one redaction of the code base), and `without_contact` drops fact keys
naming a phone or email.

Prompt caching: a system prompt is a list of text blocks; a feature marks its last, stable block
`cache_control: ephemeral`, so tools + instructions + rules form one cached prefix. Nothing that varies per
request precedes that block: the consumer text is only in the user message.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

import anthropic
from pydantic import BaseModel, ValidationError

from leadapp.core.observability import get_logger, report_exception
from leadapp.core.providers import status as provider_status
from leadapp.core.redaction import redact_contact
from leadapp.core.settings import get_settings

log = get_logger(__name__)

ATTEMPTS = 2  # the first try and one retry
RETRY_DELAY_SECONDS = 0.5  # before retrying an HTTP/transport failure (not a malformed answer)
REQUEST_TIMEOUT_SECONDS = 20


class ProviderError(Exception):
    """Claude could not give a usable answer (after the retry); the caller should use its local fallback."""


# --- client and schemas -----------------------------------------------------------------------------


def anthropic_client() -> anthropic.Anthropic:
    """A new SDK client from settings (key, optional base URL); the SDK's own retries are off, timeout 20 s.

    Raises ProviderError when ANTHROPIC_API_KEY is not set. Close it after use (it is a context manager).
    """
    settings = get_settings()
    if not settings.anthropic_api_key:
        raise ProviderError("ANTHROPIC_API_KEY is not set")
    return anthropic.Anthropic(
        api_key=settings.anthropic_api_key,
        base_url=settings.anthropic_base_url or None,
        max_retries=0,
        timeout=REQUEST_TIMEOUT_SECONDS,
    )


def tool_input_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with every `$ref` inlined and titles dropped (a self-contained tool schema)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, list):
            return [resolve(item) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            target = resolve(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {**target, **{k: resolve(v) for k, v in node.items() if k not in ("$ref", "title")}}
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "title" and isinstance(value, str):
                continue
            if key == "properties" and isinstance(value, dict):
                out[key] = {name: resolve(prop) for name, prop in value.items()}
            else:
                out[key] = resolve(value)
        return out

    return resolve(schema)


# --- privacy ----------------------------------------------------------------------------------------

_CONTACT_KEY = re.compile(r"phone|e164|email|e-mail", re.IGNORECASE)


def without_contact(value: Any, *, keep_addresses: bool = False) -> Any:
    """Facts with every key naming a phone or email dropped and contact details redacted from strings."""
    if isinstance(value, dict):
        return {
            k: without_contact(v, keep_addresses=keep_addresses)
            for k, v in value.items()
            if not _CONTACT_KEY.search(str(k))
        }
    if isinstance(value, list | tuple):
        return [without_contact(v, keep_addresses=keep_addresses) for v in value]
    if isinstance(value, str):
        return redact_contact(value, keep_addresses=keep_addresses)
    return value


# --- the one call with its retry --------------------------------------------------------------------

_RETRYABLE_STATUS = frozenset({408, 409, 429})
M = TypeVar("M", bound=BaseModel)


def call_tool(
    *,
    purpose: str,
    system: list[dict[str, Any]],
    user: str,
    tool_name: str,
    tool_description: str,
    model_cls: type[M],
    max_tokens: int,
) -> M:
    """One forced tool call validated into `model_cls`; one retry after a retryable failure, else ProviderError."""
    settings = get_settings()
    tool = {"name": tool_name, "description": tool_description, "input_schema": tool_input_schema(model_cls)}
    failure, cause = "no attempt made", None
    with anthropic_client() as client:
        for attempt in range(1, ATTEMPTS + 1):
            request_id: str | None = None
            delay = 0.0  # a malformed answer is retried at once; an HTTP/transport failure after a pause
            try:
                message = client.messages.create(
                    model=settings.anthropic_model,
                    max_tokens=max_tokens,
                    system=system,  # type: ignore[arg-type]
                    messages=[{"role": "user", "content": user}],
                    tools=[tool],  # type: ignore[list-item]
                    tool_choice={"type": "tool", "name": tool_name},
                )
            except anthropic.APIStatusError as exc:
                failure, request_id, cause = f"HTTP {exc.status_code}: {exc.message}", exc.request_id, exc
                retryable = exc.status_code in _RETRYABLE_STATUS or exc.status_code >= 500
                delay = RETRY_DELAY_SECONDS
            except anthropic.APIConnectionError as exc:  # includes timeouts
                failure, retryable, delay, cause = f"{type(exc).__name__}: {exc}", True, RETRY_DELAY_SECONDS, exc
            except anthropic.AnthropicError as exc:
                failure, retryable, cause = f"{type(exc).__name__}: {exc}", False, exc
            else:
                request_id = getattr(message, "_request_id", None)
                usage = message.usage
                log.info(
                    "claude_call",
                    purpose=purpose,
                    model=message.model,
                    attempt=attempt,
                    request_id=request_id,
                    stop_reason=message.stop_reason,
                    input_tokens=usage.input_tokens,
                    output_tokens=usage.output_tokens,
                    cache_creation_input_tokens=usage.cache_creation_input_tokens,
                    cache_read_input_tokens=usage.cache_read_input_tokens,
                )
                block = next(
                    (b for b in message.content if b.type == "tool_use" and getattr(b, "name", None) == tool_name),
                    None,
                )
                if block is None:
                    cause = None
                    failure = f"no {tool_name} tool_use block (stop_reason {message.stop_reason})"
                else:
                    try:
                        return model_cls.model_validate(block.input)
                    except ValidationError as exc:
                        cause = exc
                        first = exc.errors()[0]
                        where = ".".join(str(part) for part in first["loc"]) or "input"
                        failure = f"malformed {tool_name} input ({exc.error_count()} errors): {where}: {first['msg']}"
                retryable = True
            provider_status.record_failure(provider_status.ANTHROPIC, f"{purpose}: {failure}")
            log.warning(
                "claude_attempt_failed",
                purpose=purpose,
                attempt=attempt,
                retryable=retryable,
                reason=failure,
                request_id=request_id,
            )
            if not retryable:
                raise ProviderError(f"{purpose}: {failure}") from cause
            if attempt < ATTEMPTS and delay:
                time.sleep(delay)
    raise ProviderError(f"{purpose}: {failure} (after {ATTEMPTS} attempts)") from cause


# --- Claude when keyed, else the local stand-in -------------------------------------------------------

T = TypeVar("T")


def with_fallback(purpose: str, claude: Callable[[], T], local: Callable[[], T], **context: Any) -> tuple[T, str]:
    """(answer, source): Claude's answer when ANTHROPIC_API_KEY is set and it gives one, else the local one.

    `source` is "claude", "local" (no key) or "local-fallback" (Claude was keyed but failed: a ProviderError is
    logged as `<purpose>_fallback`, anything else reported as an error). Never raises for a provider failure;
    `local` is called only when Claude's answer is not used.
    """
    if not get_settings().anthropic_api_key:
        return local(), "local"
    try:
        return claude(), "claude"
    except ProviderError as exc:
        log.warning(f"{purpose}_fallback", provider="anthropic", reason=str(exc), **context)
    except Exception as exc:
        report_exception(exc, stage=purpose, provider="anthropic", **context)
    return local(), "local-fallback"
