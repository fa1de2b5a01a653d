"""Reading the live events a test caused: each carries a fresh `id` (backends share out the tabs by it), which
is checked here and left out, so a test compares what the event says."""

from __future__ import annotations

import json
from typing import Any


def payload(data: bytes | str) -> dict[str, Any]:
    """One published event, without its random id (which must be there)."""
    event = json.loads(data)
    event_id = event.pop("id", None)
    assert isinstance(event_id, str) and event_id, f"a live event without its id: {event}"
    return event
