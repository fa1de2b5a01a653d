"""Every event handler of every admin page, called as anonymous, a consumer and a business owner, changes
nothing in the database (and an admin calling a read handler gets data, so the harness really runs them)."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import pkgutil

import pytest
import reflex as rx
from sqlalchemy import func, select
from sqlmodel import Session, SQLModel

import leadapp.pages.admin as admin_pages
from leadapp.core.services import accounts
from leadapp.state.auth import AuthState


def admin_states() -> list[type[AuthState]]:
    states = []
    for module_info in pkgutil.iter_modules(admin_pages.__path__):
        module = importlib.import_module(f"{admin_pages.__name__}.{module_info.name}")
        for value in vars(module).values():
            is_state = inspect.isclass(value) and issubclass(value, AuthState) and value is not AuthState
            if is_state and value.__module__ == module.__name__:
                states.append(value)
    return states


def table_counts(session: Session) -> dict[str, int]:
    return {
        name: session.execute(select(func.count()).select_from(t)).scalar_one()
        for name, t in SQLModel.metadata.tables.items()
    }


def call(handler, state, args) -> None:
    result = handler.fn(state, *args)
    if inspect.iscoroutine(result):
        asyncio.run(result)
    elif inspect.isasyncgen(result):

        async def drain():
            async for _ in result:
                pass

        asyncio.run(drain())
    elif inspect.isgenerator(result):
        list(result)


def dummy_args(fn) -> list[object]:
    params = list(inspect.signature(fn).parameters.values())[1:]
    args: list[object] = []
    for p in params:
        if p.default is not inspect.Parameter.empty:
            break
        annotation = str(p.annotation)
        args.append({"id": "1", "email": "x@example.com", "role": "admin"} if "dict" in annotation else "1")
    return args


STATES = admin_states()


def test_the_admin_pages_are_found():
    names = {s.__name__ for s in STATES}
    assert {"HealthState", "MessagesState", "UsersState", "RulesState", "OutboxState"} <= names


@pytest.mark.parametrize("who", ["anonymous", "consumer", "business_owner"])
def test_non_admins_change_nothing_through_any_admin_handler(db_session: Session, who: str):
    s = db_session
    accounts.ensure_admin(s, "root@example.com", "a long enough password")
    user = None
    if who != "anonymous":
        user = accounts.register(s, f"{who}@example.com", "a long enough password", who)
    s.commit()
    token = accounts.open_session(s, user) if user is not None else ""
    s.commit()
    before = table_counts(s)
    called = 0
    for state_cls in STATES:
        for name, handler in state_cls.event_handlers.items():
            if name.startswith("set_") or name in {"logout", "load_public", "guard"}:
                continue
            root = rx.State(_reflex_internal_init=True)
            state = root.get_substate(state_cls.get_full_name().split(".")[1:])
            state.session_token = token
            try:
                call(handler, state, dummy_args(handler.fn))
            except Exception as exc:  # a handler may refuse by raising; it must still write nothing
                assert not isinstance(exc, AssertionError), (state_cls.__name__, name)
            called += 1
            s.rollback()
            assert table_counts(s) == before, (state_cls.__name__, name, who)
    assert called > 20


def test_the_same_harness_gives_an_admin_the_data(db_session: Session):
    from leadapp.pages.admin.users import UsersState

    s = db_session
    admin = accounts.ensure_admin(s, "root@example.com", "a long enough password")
    accounts.register(s, "someone@example.com", "a long enough password", "consumer")
    s.commit()
    for user, expected in ((admin, {"root@example.com", "someone@example.com"}), (None, set())):
        root = rx.State(_reflex_internal_init=True)
        state = root.get_substate(UsersState.get_full_name().split(".")[1:])
        state.session_token = accounts.open_session(s, user) if user is not None else ""
        s.commit()
        call(UsersState.load, state, [])
        assert {row["email"] for row in state.rows} == expected
