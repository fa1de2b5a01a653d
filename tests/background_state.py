"""What a Reflex background handler gets instead of its StateProxy, for tests that call handlers directly:
the state itself, with `async with self` (the lock around its changes) a no-op."""

from __future__ import annotations

from typing import Any


class Background:
    def __init__(self, state: Any) -> None:
        object.__setattr__(self, "_state", state)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._state, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._state, name, value)

    async def __aenter__(self) -> Background:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None
