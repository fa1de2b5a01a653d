"""Reading the live events a test caused: each carries a fresh `id` (backends share out the tabs by it), which
is checked here and left out, so a test compares what the event says.

A test module that reads them with the `published` fixture imports it:
`from tests.live_events import published  # noqa: F401`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis

from leadapp.core import events


def payload(data: bytes | str) -> dict[str, Any]:
    """One published event, without its random id (which must be there)."""
    event = json.loads(data)
    event_id = event.pop("id", None)
    assert isinstance(event_id, str) and event_id, f"a live event without its id: {event}"
    return event


@contextmanager
def subscription(client: redis.Redis, wait: float) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Subscribed to the live-event channel from now on: calling the result returns the events published since its
    previous call (the last one followed by `wait` s of silence). Unsubscribed on exit."""
    pubsub = client.pubsub()
    pubsub.subscribe(events.channel())
    pubsub.get_message(timeout=2)  # the subscription confirmation

    def drain() -> list[dict[str, Any]]:
        got = []
        while (message := pubsub.get_message(timeout=wait)) is not None:
            if message["type"] == "message":
                got.append(payload(message["data"]))
        return got

    try:
        yield drain
    finally:
        pubsub.close()


@pytest.fixture
def published(app_env: dict[str, str]) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """`published()`: the live events published since the previous call (read from the test's private Redis)."""
    client = redis.Redis.from_url(app_env["REDIS_URL"])
    try:
        with subscription(client, wait=0.5) as drain:
            yield drain
    finally:
        client.close()
