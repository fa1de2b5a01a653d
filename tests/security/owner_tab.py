"""A business owner's dashboard tab as the Reflex backend holds it: handlers run on a real state tree, and what
the browser receives is the serialized state (every var of every state), searched as text."""

from __future__ import annotations

import json
import re
from typing import Any

import reflex as rx
from reflex.istate.data import ReflexURL, RouterData

from leadapp.core.db import session_scope
from leadapp.core.models import User
from leadapp.core.services import accounts


def session_token(user_id: int) -> str:
    """A logged-in session for this user (the cookie the browser would hold)."""
    with session_scope() as session:
        user = session.get(User, user_id)
        assert user is not None
        return accounts.open_session(session, user)


class OwnerTab:
    """One open `/dashboard` tab of a logged-in owner."""

    def __init__(self, user_id: int) -> None:
        import leadapp.leadapp  # noqa: F401  (imports every page module, as the server does)
        from leadapp.pages.business.dashboard import DashboardState

        self.root = rx.State(_reflex_internal_init=True)
        self.root.router = RouterData(url=ReflexURL("http://localhost:3000/dashboard"))
        self.state: Any = self.root.get_substate(DashboardState.get_full_name().split(".")[1:])
        self.state.session_token = session_token(user_id)

    def run(self, name: str, *args: Any) -> None:
        """Call one event handler as the browser would (its chained server events included)."""
        from leadapp.pages.business.dashboard import DashboardState

        result = DashboardState.event_handlers[name].fn(self.state, *args)
        chained = result if isinstance(result, list | tuple) else [result]
        for event in chained:
            handler = getattr(event, "handler", event)
            if getattr(handler, "state", None) is DashboardState and not getattr(event, "args", ()):
                self.run(handler.fn.__name__)

    def browser_text(self) -> str:
        """Everything the browser receives of this tab's state, lower-cased."""
        return json.dumps(self.root.dict(), default=str).lower()

    def browser_digits(self) -> str:
        return re.sub(r"[^0-9]", "", self.browser_text())
