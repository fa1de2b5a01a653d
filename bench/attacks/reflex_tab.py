"""A browser tab as an attacker drives it: a raw socket.io client on Reflex's `/_event` socket.

It sends event-handler calls with any name, arguments and page path (what a modified front end can send), with
the session cookie of an account the attacker holds, and collects every state update the server pushes back, so
an attack can search what it was sent (`received_text`).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from functools import cache
from typing import Any

import socketio

WAIT_SECONDS = 15.0
NAMESPACE = "/_event"  # Reflex's socket.io namespace (and engine.io path)


@cache
def state_name(dotted: str) -> str:
    """The full Reflex name of a page state, e.g. "leadapp.pages.business.dashboard.DashboardState"."""
    import importlib

    importlib.import_module("leadapp.leadapp")  # every page module, as the server imports them
    module, _, cls = dotted.rpartition(".")
    return getattr(importlib.import_module(module), cls).get_full_name()


class ReflexTab:
    """One tab: connected with a fresh client token, optionally logged in with a session cookie value."""

    def __init__(self, web_url: str, session_token: str = "", *, headers: dict[str, str] | None = None) -> None:
        self.token = str(uuid.uuid4())
        self.updates: list[dict[str, Any]] = []
        self._final = threading.Event()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("event", self._on_update, namespace=NAMESPACE)
        self.sio.connect(
            f"{web_url}?token={self.token}",
            socketio_path="/_event",
            namespaces=[NAMESPACE],
            transports=["websocket"],
            headers=headers or {},
            wait_timeout=WAIT_SECONDS,
        )
        if session_token:
            from reflex.state import UpdateVarsInternalState

            auth = state_name("leadapp.state.auth.AuthState")
            self.call(
                f"{UpdateVarsInternalState.get_full_name()}.update_vars_internal",
                {"vars": {f"{auth}.session_token": session_token}},
                "/",
            )

    def _on_update(self, data: Any) -> None:
        update = json.loads(data) if isinstance(data, str) else data
        self.updates.append(update if isinstance(update, dict) else {"raw": update})
        if not isinstance(update, dict) or update.get("final", True):
            self._final.set()

    def call(self, event: str, payload: dict[str, Any] | None = None, path: str = "/") -> list[dict[str, Any]]:
        """Send one event (full handler name) as if from page `path`; the updates it caused (bounded wait)."""
        before = len(self.updates)
        self._final.clear()
        router_data = {"pathname": path.split("?")[0], "asPath": path, "query": {}}
        self.sio.emit(
            "event", {"name": event, "payload": payload or {}, "router_data": router_data}, namespace=NAMESPACE
        )
        deadline = time.monotonic() + WAIT_SECONDS
        while not self._final.wait(0.05):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no final update for {event}")
        return self.updates[before:]

    def handler(self, state: str, name: str, path: str, **payload: Any) -> list[dict[str, Any]]:
        """Call `name` of the page state `state` (dotted class path) with keyword arguments, from page `path`."""
        return self.call(f"{state_name(state)}.{name}", payload, path)

    def received_text(self) -> str:
        """Everything this tab was sent so far, as one lower-cased string."""
        return json.dumps(self.updates, default=str).lower()

    def close(self) -> None:
        self.sio.disconnect()

    def __enter__(self) -> ReflexTab:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
