"""What a call session keeps about its call: each assistant item being spoken, and the result it returns."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class AssistantItem:
    response_id: str
    parts: list[str] = field(default_factory=list)
    saved: bool = False
    heard_ms: int | None = None


@dataclass
class CallResult:
    call_id: int | None
    outcome: str | None = None
    lines_saved: int = 0
    ai_failure: str = ""
    human_requested: bool = False
    hung_up: bool = False
