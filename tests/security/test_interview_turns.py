"""Attack: the guided interview as a free, unlimited Claude endpoint that also stalls the server (issue 11,
item 7), and the interview that could never submit with Turnstile configured (issue 10, item 8).

- The Turnstile check at the start of the interview runs off the event loop: here siteverify answers only once
  a coroutine on the loop has run, so a check made on the loop would wait out its time-out and fail.
- Answers are limited per interview (INTERVIEW_MAX_TURNS) and per client IP (INTERVIEW_TURNS_PER_IP_PER_HOUR),
  across interviews, so restarting does not reset the count.
- With Turnstile configured, an interview that passed the widget at its start submits.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
import reflex as rx
from reflex.istate.data import ReflexURL, RouterData
from sqlmodel import Session, select
from werkzeug import Request, Response

from leadapp.core.errors import TooManyAttempts, UserError
from leadapp.core.models import Lead
from leadapp.core.services import interview
from tests.background_state import Background
from tests.conftest import SITEVERIFY, use_env

ANSWERS = [
    "Water is dripping from the ceiling under the upstairs bathroom",
    "It comes from the toilet supply line, still dripping, water off now",
    "It's 46032",
    "Today if possible, it's urgent",
    "Around $300",
    "Weekdays after 4pm",
    "casey@example.com or (317) 846-2200",
]


def _interview_tab() -> Any:
    import leadapp.leadapp  # noqa: F401  (imports every page module, as the server does)
    from leadapp.pages.consumer.interview import InterviewState

    root = rx.State(_reflex_internal_init=True)
    root.router = RouterData(url=ReflexURL("http://localhost:3000/request/interview"))
    return root.get_substate(InterviewState.get_full_name().split(".")[1:])


async def _run(handler: Any, state: Any, *args: Any) -> None:
    result = handler.fn(Background(state), *args)
    if hasattr(result, "__aiter__"):
        async for _ in result:
            pass
    elif asyncio.iscoroutine(result):
        await result


def test_the_turnstile_check_at_the_start_runs_off_the_event_loop_and_the_interview_submits(
    turnstile, db_session: Session
) -> None:
    from leadapp.pages.consumer.interview import InterviewState

    loop_ran = threading.Event()

    def siteverify(_request: Request) -> Response:
        # Answers only once the event loop ran something else while the check was under way.
        ok = loop_ran.wait(timeout=5)
        return Response(f'{{"success": {"true" if ok else "false"}}}', content_type="application/json")

    turnstile.expect_request(SITEVERIFY, method="POST").respond_with_handler(siteverify)
    tab = _interview_tab()
    InterviewState.event_handlers["open"].fn(tab)
    assert tab.human_ok is False  # the widget shows first; the chat waits

    async def scenario() -> None:
        async def on_the_loop() -> None:
            await asyncio.sleep(0)
            loop_ran.set()

        await asyncio.gather(
            _run(InterviewState.event_handlers["begin"], tab, {"cf-turnstile-response": "t"}), on_the_loop()
        )

    asyncio.run(scenario())
    assert (tab.human_ok, tab.error) == (True, "")

    for answer in ANSWERS:
        asyncio.run(_run(InterviewState.event_handlers["answer"], tab, {"message": answer}))
        assert tab.error == "", tab.error
    assert tab.complete
    asyncio.run(_run(InterviewState.event_handlers["send"], tab, {"consent_ai_calls": "on"}))
    assert tab.error == "", tab.error
    db_session.expire_all()
    [lead] = db_session.exec(select(Lead)).all()
    assert lead.source == "interview" and "toilet supply line" in lead.raw_text
    assert len(turnstile.log) == 1  # one check, at the start


def test_answers_are_limited_per_client_ip_across_interviews(
    app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, db_session: Session
) -> None:
    use_env(monkeypatch, {"INTERVIEW_TURNS_PER_IP_PER_HOUR": "3"})
    token, _ = interview.start(db_session, None)
    for answer in ANSWERS[:3]:
        interview.reply(db_session, token, None, answer, "203.0.113.5")
    with pytest.raises(TooManyAttempts):
        interview.reply(db_session, token, None, ANSWERS[3], "203.0.113.5")
    fresh, _ = interview.start(db_session, None)  # starting again does not reset the count
    with pytest.raises(TooManyAttempts):
        interview.reply(db_session, fresh, None, ANSWERS[0], "203.0.113.5")
    with pytest.raises(TooManyAttempts):  # an unknown address is a bucket too, never a skipped limit
        for answer in ANSWERS[:4]:
            interview.reply(db_session, fresh, None, answer, "")
    interview.reply(db_session, fresh, None, ANSWERS[0], "198.51.100.77")


def test_answers_are_limited_per_interview(
    app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, db_session: Session
) -> None:
    use_env(monkeypatch, {"INTERVIEW_MAX_TURNS": "2"})
    token, _ = interview.start(db_session, None)
    interview.reply(db_session, token, None, ANSWERS[0], "203.0.113.6")
    interview.reply(db_session, token, None, ANSWERS[1], "203.0.113.6")
    with pytest.raises(UserError, match="long enough"):
        interview.reply(db_session, token, None, ANSWERS[2], "203.0.113.6")
