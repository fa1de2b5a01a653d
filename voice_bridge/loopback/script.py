"""What is said on a loopback call: the peer's script (the caller's lines and the assistant's replies) and the
toy μ-law speech both loopback sides use (a loud pattern for talking, 0xFF for silence, and the VAD that
tells them apart)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SILENCE = 0xFF  # μ-law silence (0x7F is the other zero)
SPEECH_PATTERN = bytes([0x1A, 0x2C, 0x3E, 0x2C, 0x1A, 0x9A, 0xAC, 0xBE, 0xAC, 0x9A] * 16)  # 160 bytes, "loud"
FRAME_MS = 20


def is_speech(frame: bytes) -> bool:
    """The toy VAD: a frame is speech when most of its bytes are not μ-law silence (0xFF / 0x7F)."""
    return frame.count(SILENCE) + frame.count(0x7F) < len(frame) // 2


@dataclass
class Reply:
    """One assistant response: spoken text (audio + transcript), then optionally a tool call."""

    text: str = ""
    audio_ms: int | None = None
    tool: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)
    then: Reply | None = None
    """The response to give once the tool's output has come back and a response was requested."""


@dataclass
class Turn:
    caller: str
    """What the caller says (the peer's transcription of the caller's audio)."""
    reply: Reply | None = None
    """The assistant's answer, created by server VAD when the caller stops talking."""


@dataclass
class Script:
    greeting: Reply
    turns: list[Turn] = field(default_factory=list)
    goodbye: Reply = field(
        default_factory=lambda: Reply("Of course. Someone from the business will call you back soon. Goodbye!")
    )
    fallback: Reply = field(default_factory=lambda: Reply("Sorry, could you say that again?"))
    ms_per_char: float = 55.0
    """Speaking rate of both sides: audio length per character of text."""

    def audio_ms(self, reply: Reply) -> int:
        if reply.audio_ms is not None:
            return reply.audio_ms
        return max(300, int(len(reply.text) * self.ms_per_char))

    def speech_ms(self, text: str) -> int:
        return max(300, int(len(text) * self.ms_per_char))
