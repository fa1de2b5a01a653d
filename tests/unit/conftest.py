"""Fixtures of the in-process tests beyond the shared ones (`tests/conftest.py`): `published`, the live events a
test caused (`tests/live_events.py`)."""

from tests.live_events import published  # noqa: F401
