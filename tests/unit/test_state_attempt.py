"""`AuthState._attempt`, the one place the pages run an action as the tab's user: the result when it went through
(committed), else why not — the refusal's own message, or what the page's policy (`refused`, `fields`, `failed`,
`malformed`) says instead; and nothing of a refused action is kept."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from leadapp.core.errors import FieldErrors, NotAllowed, UserError
from leadapp.core.models import User
from leadapp.core.services import access, contact
from leadapp.state.auth import AuthState
from tests import factories


@pytest.fixture
def people(db_session: Session) -> factories.People:
    return factories.people(db_session)


def tab(s: Session, user: User | None) -> AuthState:
    """The root page state of a tab logged in as `user` (None: no session cookie)."""
    return factories.tab_state(s, AuthState, user)


def status_of(s: Session, message_id: int) -> str:
    return factories.stored_message(s, message_id).status


def test_an_action_that_goes_through_returns_its_result_and_is_committed(db_session: Session, people):
    s, message_id = db_session, factories.contact_message(db_session)
    state = tab(s, people.admin)
    result, why = state._attempt(
        access.Area.ADMIN, lambda session, user: contact.set_status(session, user, message_id, "read").id
    )
    assert (why, result, status_of(s, message_id)) == ("", message_id, "read")


@pytest.mark.parametrize("who", ["anonymous", "consumer"])
def test_a_refused_user_gets_the_refusal_or_the_pages_words_and_the_action_never_runs(db_session: Session, people, who):
    s = db_session
    state = tab(s, None if who == "anonymous" else people.consumer)
    ran: list[str] = []

    def action(session: Session, user: User) -> str:
        ran.append("ran")
        return "done"

    expected = "Log in to continue." if who == "anonymous" else "You are not allowed to open this page."
    assert state._attempt(access.Area.ADMIN, action) == (None, expected)
    refusals: list[NotAllowed] = []
    assert state._attempt(access.Area.ADMIN, action, refused=lambda exc: refusals.append(exc) or "Cleared.") == (
        None,
        "Cleared.",
    )
    assert ran == [] and [r.message for r in refusals] == [expected]


def test_each_kind_of_failure_answers_by_its_policy_and_nothing_of_it_is_kept(db_session: Session, people):
    s, message_id = db_session, factories.contact_message(db_session)
    state = tab(s, people.admin)

    def failing(exc: Exception):
        def action(session: Session, user: User) -> None:
            contact.set_status(session, user, message_id, "answered")  # written, then undone by the failure
            raise exc

        return action

    fields = FieldErrors({"amount": "Give an amount.", "visit": "Pick a day."})
    assert state._attempt(access.Area.ADMIN, failing(fields)) == (None, "Give an amount.")
    assert state._attempt(access.Area.ADMIN, failing(fields), fields=lambda e: " ".join(e.errors.values())) == (
        None,
        "Give an amount. Pick a day.",
    )
    wrong = UserError("No such message.", field="message")
    assert state._attempt(access.Area.ADMIN, failing(wrong)) == (None, "No such message.")
    assert state._attempt(access.Area.ADMIN, failing(wrong), failed=lambda e: f"{e.field}: {e.message}") == (
        None,
        "message: No such message.",
    )
    # A policy for one kind leaves the others alone: a refusal inside the action is still a refusal.
    refused = NotAllowed("Not yours.")
    assert state._attempt(access.Area.ADMIN, failing(refused), failed=lambda e: "failed") == (None, "Not yours.")
    assert state._attempt(access.Area.ADMIN, failing(refused), refused=lambda e: "refused") == (None, "refused")
    malformed = ValueError("invalid literal for int() with base 10: 'x'")
    assert state._attempt(access.Area.ADMIN, failing(malformed)) == (None, str(malformed))
    assert state._attempt(access.Area.ADMIN, failing(malformed), malformed="Invalid request: ") == (
        None,
        f"Invalid request: {malformed}",
    )
    assert status_of(s, message_id) == "new"
