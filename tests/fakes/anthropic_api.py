"""A stand-in for Anthropic's Messages API on 127.0.0.1, for the real `anthropic` SDK to talk to.

`POST /v1/messages` checks what the API checks before it runs a model: an API key (`x-api-key`, or
`Authorization: Bearer`, which is how the SDK 2.x sends `api_key`) and the `anthropic-version` header, then
the request body (model, max_tokens, messages, system text blocks, tools with an object input_schema,
tool_choice naming a declared tool, cache_control blocks, at most 4 breakpoints, no unknown fields). A bad
request gets the API's error shape: `{"type": "error", "error": {"type": "invalid_request_error",
"message": ...}, "request_id": ...}`. Every request is recorded, accepted or not.

Answers come from a script, one entry per accepted request, in order: `tool_use(input)` (what the model
returns for a forced tool, malformed input included), `text_reply(text)`, `http_error(status)`
(`server_error()` 500, `overloaded()` 529). An exhausted script answers 500 with "no scripted response
left", so an unexpected extra request fails its test. Responses have the real shape (msg_ id, role
assistant, content blocks, stop_reason, usage with the cache counters).

Prompt caching is emulated: the prefix up to the last `cache_control` block (tools, then system, then
messages) is "written" on first sight and "read" by later identical prefixes, only when it reaches
`min_cacheable_tokens` (1,024 by default, Sonnet's minimum; tokens estimated as characters / 4).

Use in a test module: `from tests.fakes.anthropic_api import fake_anthropic  # noqa: F401`; the fixture
sets ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL for the test and clears the settings cache.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse

from tests.fakes.loopback import ServedFake

MESSAGES_PATH = "/v1/messages"
DEFAULT_MIN_CACHEABLE_TOKENS = 1024

_TOP_LEVEL_FIELDS = frozenset(
    {
        "model",
        "max_tokens",
        "messages",
        "system",
        "tools",
        "tool_choice",
        "metadata",
        "stop_sequences",
        "stream",
        "temperature",
        "top_k",
        "top_p",
        "thinking",
        "cache_control",
        "container",
        "context_management",
        "diagnostics",
        "inference_geo",
        "mcp_servers",
        "output_config",
        "service_tier",
        "speed",
    }
)
_TOOL_FIELDS = frozenset({"name", "description", "input_schema", "cache_control", "type", "strict", "input_examples"})
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_JSON_TYPES = frozenset({"object", "array", "string", "number", "integer", "boolean", "null"})
_TEXT_BLOCK_FIELDS = frozenset({"type", "text", "cache_control", "citations"})
_CONTENT_BLOCK_TYPES = frozenset(
    {"text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking", "search_result"}
)


# --- the script -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scripted:
    """One scripted answer: a 200 message with `content`, or an HTTP error."""

    content: tuple[dict[str, Any], ...] = ()
    stop_reason: str = "end_turn"
    status: int = 200
    error_type: str = ""
    error_message: str = ""


def tool_use(tool_input: Any, *, name: str | None = None) -> Scripted:
    """The model calls a tool with `tool_input` (any JSON, valid or not); the name defaults to the forced tool."""
    block = {"type": "tool_use", "id": _new_id("toolu_"), "name": name, "input": tool_input}
    return Scripted(content=(block,), stop_reason="tool_use")


def text_reply(text: str) -> Scripted:
    """The model answers in prose instead of calling the tool."""
    return Scripted(content=({"type": "text", "text": text},), stop_reason="end_turn")


_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def http_error(status: int, message: str = "") -> Scripted:
    """An HTTP error in the API's error shape (error type from the status, as the API names them)."""
    error_type = _ERROR_TYPES.get(status, "api_error")
    return Scripted(status=status, error_type=error_type, error_message=message or error_type.replace("_", " "))


def server_error() -> Scripted:
    return http_error(500, "Internal server error")


def overloaded() -> Scripted:
    return http_error(529, "Overloaded")


# --- recording --------------------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    """One request as the fake saw it, and what it answered."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    raw_body: bytes
    body: Any  # parsed JSON, or None when the body was not JSON
    status: int = 0
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.raw_body.decode("utf-8", errors="replace")


def _new_id(prefix: str) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return prefix + "01" + "".join(secrets.choice(alphabet) for _ in range(22))


def _tokens(value: Any) -> int:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
    return max(1, math.ceil(len(text) / 4))


class InvalidRequest(Exception):
    """The request breaks a rule of the API; the message is what the API would say."""


# --- request validation -----------------------------------------------------------------------------


def _check_cache_control(value: Any, where: str) -> int:
    if value is None:
        return 0
    if not isinstance(value, dict) or value.get("type") != "ephemeral":
        raise InvalidRequest(f"{where}.cache_control.type: Input should be 'ephemeral'")
    if set(value) - {"type", "ttl"}:
        raise InvalidRequest(f"{where}.cache_control: Extra inputs are not permitted")
    if "ttl" in value and value["ttl"] not in ("5m", "1h"):
        raise InvalidRequest(f"{where}.cache_control.ttl: Input should be '5m' or '1h'")
    return 1


def _check_text_block(block: Any, where: str) -> int:
    if not isinstance(block, dict) or block.get("type") != "text":
        raise InvalidRequest(f"{where}.type: Input should be 'text'")
    if extra := set(block) - _TEXT_BLOCK_FIELDS:
        raise InvalidRequest(f"{where}.{sorted(extra)[0]}: Extra inputs are not permitted")
    if not isinstance(block.get("text"), str):
        raise InvalidRequest(f"{where}.text: Field required")
    if not block["text"]:
        raise InvalidRequest(f"{where}: text content blocks must be non-empty")
    return _check_cache_control(block.get("cache_control"), where)


def _check_schema(node: Any, where: str, defs: dict[str, Any]) -> None:
    if not isinstance(node, dict):
        raise InvalidRequest(f"{where}: JSON schema is invalid: a schema must be an object")
    if "$ref" in node:
        ref = node["$ref"]
        name = ref.rsplit("/", 1)[-1] if isinstance(ref, str) and ref.startswith("#/$defs/") else None
        if name is None or name not in defs:
            raise InvalidRequest(f"{where}: JSON schema is invalid: unresolvable $ref {ref!r}")
    kind = node.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if kind is not None else []
    if any(k not in _JSON_TYPES for k in kinds):
        raise InvalidRequest(f"{where}.type: JSON schema is invalid: unknown type {kind!r}")
    if "enum" in node and (not isinstance(node["enum"], list) or not node["enum"]):
        raise InvalidRequest(f"{where}.enum: JSON schema is invalid: enum must be a non-empty array")
    properties = node.get("properties", {})
    if not isinstance(properties, dict):
        raise InvalidRequest(f"{where}.properties: JSON schema is invalid: properties must be an object")
    for name, sub in properties.items():
        _check_schema(sub, f"{where}.properties.{name}", defs)
    required = node.get("required", [])
    if not isinstance(required, list) or any(r not in properties for r in required):
        raise InvalidRequest(f"{where}.required: JSON schema is invalid: required names an undefined property")
    if "items" in node:
        _check_schema(node["items"], f"{where}.items", defs)
    for combinator in ("anyOf", "oneOf", "allOf"):
        if combinator in node:
            if not isinstance(node[combinator], list) or not node[combinator]:
                raise InvalidRequest(f"{where}.{combinator}: JSON schema is invalid: must be a non-empty array")
            for index, sub in enumerate(node[combinator]):
                _check_schema(sub, f"{where}.{combinator}.{index}", defs)


def validate_request(body: Any) -> None:
    """Raise InvalidRequest when `body` is not a Messages API request the real API would accept."""
    if not isinstance(body, dict):
        raise InvalidRequest("There was an issue with your request body: expected a JSON object")
    if extra := set(body) - _TOP_LEVEL_FIELDS:
        raise InvalidRequest(f"{sorted(extra)[0]}: Extra inputs are not permitted")
    for required in ("model", "max_tokens", "messages"):
        if required not in body:
            raise InvalidRequest(f"{required}: Field required")
    if not isinstance(body["model"], str) or not body["model"]:
        raise InvalidRequest("model: Input should be a valid string")
    max_tokens = body["max_tokens"]
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise InvalidRequest("max_tokens: Input should be an integer greater than or equal to 1")
    if body.get("stream"):
        raise InvalidRequest("stream: this fake does not stream; send stream=false")
    breakpoints = _check_cache_control(body.get("cache_control"), "cache_control")

    system = body.get("system")
    if isinstance(system, list):
        for index, block in enumerate(system):
            breakpoints += _check_text_block(block, f"system.{index}")
    elif system is not None and not isinstance(system, str):
        raise InvalidRequest("system: Input should be a valid string or a list of text blocks")

    messages = body["messages"]
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("messages: at least one message is required")
    for index, message in enumerate(messages):
        where = f"messages.{index}"
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            raise InvalidRequest(f"{where}.role: Input should be 'user' or 'assistant'")
        if set(message) - {"role", "content"}:
            raise InvalidRequest(f"{where}: Extra inputs are not permitted")
        content = message.get("content")
        if isinstance(content, str):
            if not content and index < len(messages) - 1:
                raise InvalidRequest(f"{where}: all messages must have non-empty content")
        elif isinstance(content, list) and content:
            for block_index, block in enumerate(content):
                block_where = f"{where}.content.{block_index}"
                if not isinstance(block, dict) or block.get("type") not in _CONTENT_BLOCK_TYPES:
                    raise InvalidRequest(f"{block_where}.type: unknown content block type")
                if block["type"] == "text":
                    breakpoints += _check_text_block(block, block_where)
                else:
                    breakpoints += _check_cache_control(block.get("cache_control"), block_where)
        else:
            raise InvalidRequest(f"{where}.content: Input should be a string or a non-empty list of blocks")
    if messages[0]["role"] != "user":
        raise InvalidRequest('messages: first message must use the "user" role')

    tools = body.get("tools")
    names: list[str] = []
    if tools is not None:
        if not isinstance(tools, list):
            raise InvalidRequest("tools: Input should be a valid list")
        for index, tool in enumerate(tools):
            where = f"tools.{index}"
            if not isinstance(tool, dict):
                raise InvalidRequest(f"{where}: Input should be an object")
            if tool.get("type") not in (None, "custom"):
                raise InvalidRequest(f"{where}.type: this fake knows only custom tools")
            if extra := set(tool) - _TOOL_FIELDS:
                raise InvalidRequest(f"{where}.{sorted(extra)[0]}: Extra inputs are not permitted")
            if not isinstance(tool.get("name"), str) or not _TOOL_NAME.match(tool["name"]):
                raise InvalidRequest(f"{where}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'")
            if "description" in tool and not isinstance(tool["description"], str):
                raise InvalidRequest(f"{where}.description: Input should be a valid string")
            schema = tool.get("input_schema")
            if not isinstance(schema, dict):
                raise InvalidRequest(f"{where}.input_schema: Field required")
            if schema.get("type") != "object":
                raise InvalidRequest(f"{where}.input_schema.type: Input should be 'object'")
            defs = schema.get("$defs") or schema.get("definitions") or {}
            _check_schema(schema, f"{where}.input_schema", defs)
            breakpoints += _check_cache_control(tool.get("cache_control"), where)
            names.append(tool["name"])
        if len(set(names)) != len(names):
            raise InvalidRequest("tools: Tool names must be unique.")

    choice = body.get("tool_choice")
    if choice is not None:
        if not isinstance(choice, dict) or choice.get("type") not in ("auto", "any", "tool", "none"):
            raise InvalidRequest("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
        if set(choice) - {"type", "name", "disable_parallel_tool_use"}:
            raise InvalidRequest("tool_choice: Extra inputs are not permitted")
        if choice["type"] != "none" and not names:
            raise InvalidRequest("tool_choice may only be specified while providing tools.")
        if choice["type"] == "tool" and choice.get("name") not in names:
            raise InvalidRequest(f"tool_choice.name: Tool '{choice.get('name')}' not found in the provided tools")
    if breakpoints > 4:
        raise InvalidRequest(f"A maximum of 4 blocks with cache_control may be provided. Found {breakpoints}.")


# --- the server -------------------------------------------------------------------------------------


class FakeAnthropicAPI(ServedFake[RecordedRequest]):
    """The Messages API on 127.0.0.1 (uvicorn in a background thread): a script, a record, a prompt cache."""

    served_name = "fake Anthropic API"

    def __init__(self, *, api_key: str | None = None, min_cacheable_tokens: int = DEFAULT_MIN_CACHEABLE_TOKENS):
        super().__init__()
        self.api_key = api_key or "sk-ant-fake-" + secrets.token_hex(12)
        self.min_cacheable_tokens = min_cacheable_tokens
        self._script: list[Scripted] = []
        self._cache: set[str] = set()

    # test-facing API

    def script(self, replies: list[Scripted]) -> None:
        """Queue answers for the next accepted requests, in order (appended to what is left)."""
        with self._lock:
            self._script.extend(replies)

    @property
    def remaining(self) -> int:
        """How many scripted answers have not been used."""
        with self._lock:
            return len(self._script)

    def settings(self) -> dict[str, str]:
        return {"ANTHROPIC_API_KEY": self.api_key, "ANTHROPIC_BASE_URL": self.url}

    # HTTP

    def _error(self, record: RecordedRequest, status: int, error_type: str, message: str) -> JSONResponse:
        request_id = _new_id("req_")
        body = {"type": "error", "error": {"type": error_type, "message": message}, "request_id": request_id}
        record.status, record.response = status, body
        return JSONResponse(body, status_code=status, headers={"request-id": request_id})

    async def _handle(self, request: Request) -> JSONResponse:
        raw = await request.body()
        try:
            parsed: Any = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        record = RecordedRequest(
            method=request.method,
            path=request.url.path,
            headers={k.lower(): v for k, v in request.headers.items()},
            raw_body=raw,
            body=parsed,
        )
        with self._lock:
            self._requests.append(record)
        if request.method != "POST" or request.url.path != MESSAGES_PATH:
            return self._error(record, 404, "not_found_error", f"Not found: {request.method} {request.url.path}")
        key = record.headers.get("x-api-key") or ""
        auth = record.headers.get("authorization", "")
        if not key and auth.lower().startswith("bearer "):
            key = auth[7:].strip()
        if not key:
            return self._error(record, 401, "authentication_error", "x-api-key header is required")
        if not secrets.compare_digest(key, self.api_key):
            return self._error(record, 401, "authentication_error", "invalid x-api-key")
        if not record.headers.get("anthropic-version"):
            return self._error(record, 400, "invalid_request_error", "anthropic-version: header is required")
        if parsed is None:
            return self._error(record, 400, "invalid_request_error", "There was an issue with your request body")
        try:
            validate_request(parsed)
        except InvalidRequest as exc:
            return self._error(record, 400, "invalid_request_error", str(exc))
        with self._lock:
            reply = self._script.pop(0) if self._script else None
        if reply is None:
            return self._error(record, 500, "api_error", "fake: no scripted response left")
        if reply.status != 200:
            return self._error(record, reply.status, reply.error_type, reply.error_message)
        return self._message(record, parsed, reply)

    def _message(self, record: RecordedRequest, body: dict[str, Any], reply: Scripted) -> JSONResponse:
        forced = body.get("tool_choice") or {}
        default_tool = forced.get("name") or next((t["name"] for t in body.get("tools") or []), "tool")
        content = [dict(block) for block in reply.content]
        for block in content:
            if block["type"] == "tool_use" and not block["name"]:
                block["name"] = default_tool
        cache_creation, cache_read, uncached = self._cache_usage(body)
        request_id = _new_id("req_")
        response = {
            "id": _new_id("msg_"),
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": content,
            "stop_reason": reply.stop_reason,
            "stop_sequence": None,
            "usage": {
                "input_tokens": uncached,
                "output_tokens": _tokens(content),
                "cache_creation_input_tokens": cache_creation,
                "cache_read_input_tokens": cache_read,
            },
        }
        record.status, record.response = 200, response
        return JSONResponse(response, headers={"request-id": request_id})

    def _cache_usage(self, body: dict[str, Any]) -> tuple[int, int, int]:
        """(cache_creation, cache_read, uncached input) tokens, as the API counts them for this request."""
        segments: list[tuple[Any, bool]] = []  # (content, marked with cache_control), in prompt order
        segments += [(tool, "cache_control" in tool) for tool in body.get("tools") or []]
        system = body.get("system")
        if isinstance(system, str):
            segments.append((system, False))
        elif isinstance(system, list):
            segments += [(block, "cache_control" in block) for block in system]
        for message in body["messages"]:
            content = message["content"]
            blocks = content if isinstance(content, list) else [content]
            segments += [(block, isinstance(block, dict) and "cache_control" in block) for block in blocks]
        total = sum(_tokens(content) for content, _ in segments)
        marked = [index for index, (_, is_marked) in enumerate(segments) if is_marked]
        if not marked:
            return 0, 0, total
        prefix = [content for content, _ in segments[: marked[-1] + 1]]
        prefix_tokens = sum(_tokens(content) for content in prefix)
        if prefix_tokens < self.min_cacheable_tokens:
            return 0, 0, total
        key = hashlib.sha256(json.dumps([body["model"], prefix], sort_keys=True).encode()).hexdigest()
        with self._lock:
            hit = key in self._cache
            self._cache.add(key)
        return (0, prefix_tokens, total - prefix_tokens) if hit else (prefix_tokens, 0, total - prefix_tokens)


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropicAPI]:
    """A running fake Messages API; ANTHROPIC_API_KEY/ANTHROPIC_BASE_URL point at it for the test."""
    fake = FakeAnthropicAPI()
    with fake.serving():
        yield fake
