"""The admin inbox of contact messages, on SQLite and PostgreSQL: new → read → answered (never backwards by a
stray "Mark read"; `reopen` on purpose), the state filter, the page's handlers, and non-admins refused."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from leadapp.core.errors import NotAllowed, UserError
from leadapp.core.models import User
from leadapp.core.services import contact
from leadapp.pages.admin.home import MessagesState
from tests import factories

PASSWORD = "a long enough password"


People = factories.People


@pytest.fixture
def people(db_session: Session) -> People:
    return factories.people(db_session)


message, stored = factories.contact_message, factories.stored_message


# --- the service ----------------------------------------------------------------------------------


def test_a_message_moves_forward_and_a_stray_mark_read_keeps_it_answered(db_session: Session, people: People):
    s = db_session
    mid = message(s)
    contact.set_status(s, people.admin, mid, "read")
    s.commit()
    row = stored(s, mid)
    assert row.status == "read" and row.read_at is not None and row.answered_at is None
    read_at = row.read_at

    contact.set_status(s, people.admin, mid, "read")  # again: the first read time stays
    contact.set_status(s, people.admin, mid, "answered")
    s.commit()
    row = stored(s, mid)
    assert (row.status, row.read_at) == ("answered", read_at) and row.answered_at is not None
    answered_at = row.answered_at

    # "Mark read" on an answered message: it stays answered, with its times.
    contact.set_status(s, people.admin, mid, "read")
    contact.set_status(s, people.admin, mid, "answered")  # answering again keeps the first answer's time
    s.commit()
    row = stored(s, mid)
    assert (row.status, row.read_at, row.answered_at) == ("answered", read_at, answered_at)

    # Reopening is the explicit way back: read again, no answer time; then it can be answered anew.
    contact.reopen(s, people.admin, mid)
    s.commit()
    row = stored(s, mid)
    assert (row.status, row.read_at, row.answered_at) == ("read", read_at, None)
    contact.set_status(s, people.admin, mid, "answered")
    s.commit()
    assert stored(s, mid).status == "answered"


def test_answering_an_unread_message_also_marks_it_read_and_reopen_leaves_others_alone(
    db_session: Session, people: People
):
    s = db_session
    answered, untouched = message(s, "Ann"), message(s, "Bob")
    contact.set_status(s, people.admin, answered, "answered")
    contact.reopen(s, people.admin, untouched)  # not answered: nothing to reopen
    s.commit()
    row = stored(s, answered)
    assert row.status == "answered" and row.read_at is not None and row.read_at == row.answered_at
    row = stored(s, untouched)
    assert (row.status, row.read_at, row.answered_at) == ("new", None, None)


def test_unknown_states_and_messages_are_refused_and_nothing_changes(db_session: Session, people: People):
    s = db_session
    mid = message(s)
    for bad in ("new", "spam", ""):
        with pytest.raises(UserError):
            contact.set_status(s, people.admin, mid, bad)
    with pytest.raises(UserError, match="No such message"):
        contact.set_status(s, people.admin, 999_999, "read")
    with pytest.raises(UserError, match="No such message"):
        contact.reopen(s, people.admin, 999_999)
    with pytest.raises(UserError, match="Unknown message state"):
        contact.list_messages(s, people.admin, status="spam")
    s.rollback()
    row = stored(s, mid)
    assert (row.status, row.read_at) == ("new", None)


def test_the_list_filters_by_state_newest_first(db_session: Session, people: People):
    s = db_session
    ann, bob, cid, dan = message(s, "Ann"), message(s, "Bob"), message(s, "Cid"), message(s, "Dan")
    contact.set_status(s, people.admin, bob, "read")
    contact.set_status(s, people.admin, cid, "answered")
    contact.set_status(s, people.admin, dan, "answered")
    s.commit()

    def ids(status: str | None) -> set[int]:
        return {m.id for m in contact.list_messages(s, people.admin, status=status)}  # type: ignore[misc]

    assert (ids("new"), ids("read"), ids("answered")) == ({ann}, {bob}, {cid, dan})
    assert ids(None) == ids("") == {ann, bob, cid, dan}


@pytest.mark.parametrize("who", ["anonymous", "consumer", "owner", "disabled_admin"])
def test_non_admins_are_refused_every_inbox_function(db_session: Session, people: People, who: str):
    s = db_session
    actor = None if who == "anonymous" else getattr(people, who)
    new, answered = message(s, "Ann"), message(s, "Bob")
    contact.set_status(s, people.admin, answered, "answered")
    s.commit()
    before = stored(s, answered).answered_at
    with pytest.raises(NotAllowed):
        contact.list_messages(s, actor)
    with pytest.raises(NotAllowed):
        contact.set_status(s, actor, new, "answered")
    with pytest.raises(NotAllowed):
        contact.reopen(s, actor, answered)
    s.rollback()
    assert (stored(s, new).status, stored(s, new).read_at) == ("new", None)
    assert (stored(s, answered).status, stored(s, answered).answered_at) == ("answered", before)


# --- the page's handlers ----------------------------------------------------------------------------


def page_state(s: Session, user: User | None) -> MessagesState:
    """The messages page's state for a tab logged in as `user` (None: no session cookie)."""
    return factories.tab_state(s, MessagesState, user)


def shown(state: MessagesState) -> list[tuple[str, str]]:
    return [(m["name"], m["status"]) for m in state.messages]


def test_the_page_marks_filters_and_reopens(db_session: Session, people: People):
    s = db_session
    ann, bob = message(s, "Ann"), message(s, "Bob")
    state = page_state(s, people.admin)
    MessagesState.load.fn(state)
    assert sorted(shown(state)) == [("Ann", "new"), ("Bob", "new")] and state.error == ""

    MessagesState.mark.fn(state, str(ann), "read")
    MessagesState.mark.fn(state, str(bob), "answered")
    assert sorted(shown(state)) == [("Ann", "read"), ("Bob", "answered")]
    assert stored(s, ann).read_at is not None and stored(s, bob).answered_at is not None

    MessagesState.mark.fn(state, str(bob), "read")  # a stray click on an answered message
    assert dict(shown(state))["Bob"] == "answered" and stored(s, bob).status == "answered"

    MessagesState.filter_by.fn(state, "answered")
    assert (state.status_filter, shown(state)) == ("answered", [("Bob", "answered")])
    MessagesState.reopen.fn(state, str(bob))
    assert shown(state) == []  # no longer answered: out of this view
    assert (stored(s, bob).status, stored(s, bob).answered_at) == ("read", None)
    MessagesState.filter_by.fn(state, "read")
    assert sorted(shown(state)) == [("Ann", "read"), ("Bob", "read")]
    MessagesState.filter_by.fn(state, "all")  # the control's "All"
    assert state.status_filter == "" and len(state.messages) == 2

    MessagesState.mark.fn(state, "999999", "read")
    assert state.error == "No such message."
    MessagesState.mark.fn(state, str(ann), "spam")
    assert state.error == "Unknown message state."
    assert stored(s, ann).status == "read"


@pytest.mark.parametrize("who", ["anonymous", "consumer", "owner"])
def test_the_page_refuses_non_admins(db_session: Session, people: People, who: str):
    s = db_session
    new, answered = message(s, "Ann"), message(s, "Bob")
    contact.set_status(s, people.admin, answered, "answered")
    s.commit()
    state = page_state(s, None if who == "anonymous" else getattr(people, who))
    MessagesState.load.fn(state)
    assert state.messages == []
    MessagesState.mark.fn(state, str(new), "answered")
    MessagesState.reopen.fn(state, str(answered))
    MessagesState.filter_by.fn(state, "answered")
    assert state.messages == []
    assert (stored(s, new).status, stored(s, new).read_at) == ("new", None)
    assert stored(s, answered).status == "answered" and stored(s, answered).answered_at is not None
