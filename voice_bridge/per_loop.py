"""One shared object per event loop: the process's writer, keeper and poller that every call of a loop hands its
work to. A new loop (a test's, the simulated line's) gets a new one, so nothing bound to a closed loop is reused."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerLoop(Generic[T]):
    """`get()` is the running loop's object, made by `make` the first time the loop asks."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._value: T | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def get(self) -> T:
        loop = asyncio.get_running_loop()
        if self._value is None or self._loop is not loop:
            self._value, self._loop = self._make(), loop
        return self._value

    def current(self) -> T | None:
        """The running loop's object if it has made one, else None (nothing is made)."""
        return self._value if self._loop is asyncio.get_running_loop() else None
