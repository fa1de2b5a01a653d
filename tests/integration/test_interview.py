"""The guided interview: one question per turn, diagnostics, a complete request through intake, ownership."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from leadapp.core.errors import NotAllowed, UserError
from leadapp.core.models import InterviewSession, Lead, User
from leadapp.core.services import accounts, interview
from tests import factories
from tests.fakes.anthropic_api import fake_anthropic, tool_use  # noqa: F401


def _consumer(session: Session, email: str) -> User:
    user = accounts.register(session, email, "a long enough password", "consumer")
    session.commit()
    return user


def test_scripted_interview_asks_one_question_per_turn_until_complete(db_session: Session):
    token, turn = interview.start(db_session, None)
    assert turn.messages[-1]["role"] == "assistant" and not turn.complete

    turn = interview.reply(db_session, token, None, "Water is dripping from the ceiling under the upstairs bathroom")
    assert turn.fields["category"] == "Plumbing"
    question = turn.messages[-1]["text"]
    assert "water" in question.lower() and question.count("?") <= 2  # the water diagnostic, one question

    turn = interview.reply(
        db_session, token, None, "It comes from the toilet supply line, still dripping, water off now"
    )
    assert "ZIP" in turn.messages[-1]["text"]
    turn = interview.reply(db_session, token, None, "It's 46032")
    assert turn.fields["zip"] == "46032"
    assert "soon" in turn.messages[-1]["text"]
    turn = interview.reply(db_session, token, None, "Today if possible, it's urgent")
    assert turn.fields["urgency"] in ("Urgent", "Emergency")
    turn = interview.reply(db_session, token, None, "Around $300")
    assert turn.fields["budget"] == "$300"
    turn = interview.reply(db_session, token, None, "Weekdays after 4pm")
    assert turn.fields["availability"] == "Weekdays after 4pm"
    assert not turn.complete
    turn = interview.reply(db_session, token, None, "casey@example.com or (317) 846-2200")
    assert turn.complete and turn.fields["contact"] == "casey@example.com"

    db_session.commit()
    accepted = interview.submit(db_session, token, None, "198.51.100.1", consent=True)
    lead = db_session.get(Lead, accepted.lead_id)
    assert lead is not None and lead.source == "interview" and lead.zip == "46032"
    assert "toilet supply line" in lead.raw_text and "Weekdays after 4pm" in lead.raw_text
    assert lead.consent_ai_calls and lead.contact_phone_last4 == "2200"
    # Submitting again is idempotent: the same lead.
    assert interview.submit(db_session, token, None, "198.51.100.1", consent=True).lead_id == lead.id
    assert len(db_session.exec(select(Lead)).all()) == 1


def test_submit_is_refused_until_complete(db_session: Session):
    token, _ = interview.start(db_session, None)
    interview.reply(db_session, token, None, "My furnace makes a loud banging noise when it starts up in the morning")
    with pytest.raises(UserError):
        interview.submit(db_session, token, None, "", consent=False)


def test_an_interview_is_readable_only_by_its_owner(db_session: Session):
    ann, bob = _consumer(db_session, "ann@example.com"), _consumer(db_session, "bob@example.com")
    token, _ = interview.start(db_session, ann)
    db_session.commit()
    assert interview.load(db_session, token, ann).messages
    with pytest.raises(NotAllowed):
        interview.load(db_session, token, bob)  # another account, even with the token
    with pytest.raises(NotAllowed):
        interview.load(db_session, token, None)
    row_id = token.split(".")[0]
    for forged in (f"{row_id}.guess", f"{row_id}", "garbage", f"{int(row_id) + 1}.{token.split('.')[1]}"):
        with pytest.raises(NotAllowed):
            interview.reply(db_session, forged, ann, "hello there")
    stored = db_session.get(InterviewSession, int(row_id))
    assert stored is not None and token.split(".")[1] not in stored.owner_token_hash


def test_empty_and_oversized_answers_are_refused(db_session: Session):
    token, _ = interview.start(db_session, None)
    with pytest.raises(UserError):
        interview.reply(db_session, token, None, "   ")
    with pytest.raises(UserError):
        interview.reply(db_session, token, None, "x" * 5000)


def test_with_a_key_claude_asks_the_next_question(db_session: Session, fake_anthropic):  # noqa: F811
    fake_anthropic.script([tool_use({"question": "Is the water still running right now?", "done": False})])
    token, _ = interview.start(db_session, None)
    turn = interview.reply(db_session, token, None, "Water everywhere under my kitchen sink, call 317-846-2200")
    assert turn.messages[-1]["text"] == "Is the water still running right now?"
    assert turn.fields["category"] == "Plumbing"
    assert turn.fields["contact"] == "+13178462200"  # contact details are extracted locally...
    sent = fake_anthropic.requests[-1].body
    assert "846-2200" not in str(sent)  # ...and redacted before anything leaves


def test_claudes_structured_extraction_fills_the_panel_when_valid(db_session: Session, fake_anthropic):  # noqa: F811
    fake_anthropic.script(
        [
            tool_use(
                {
                    "question": "When are you free for a visit?",
                    "done": False,
                    "extracted": {
                        "service_category": "hvac",
                        "urgency": "high",
                        "zip": "10001",
                        "budget": "a few hundred dollars",
                        "availability": None,
                    },
                }
            ),
            tool_use({"question": "Anything else?", "done": False, "extracted": {"zip": "99999"}}),
        ]
    )
    token, _ = interview.start(db_session, None)
    turn = interview.reply(db_session, token, None, "The thing in the hallway closet stopped making the flat warm")
    assert turn.fields["category"] == "Heating & cooling (HVAC)"
    assert (turn.fields["urgency"], turn.fields["zip"], turn.fields["budget"]) == (
        "Urgent",
        "10001",
        "a few hundred dollars",
    )
    assert turn.messages[-1]["text"] == "When are you free for a visit?"
    token2, _ = interview.start(db_session, None)
    turn2 = interview.reply(db_session, token2, None, "My furnace is making a loud banging noise every morning")
    assert turn2.fields["zip"] == ""  # an unknown ZIP from the model is not taken


def test_when_claude_fails_the_scripted_interviewer_asks(db_session: Session, fake_anthropic):  # noqa: F811
    token, _ = interview.start(db_session, None)  # the fake's empty script answers 500
    turn = interview.reply(db_session, token, None, "Water everywhere under my kitchen sink since this morning")
    assert "water" in turn.messages[-1]["text"].lower()


def test_contact_answers_stay_out_of_the_request_text_other_words_stay_in(db_session: Session):
    token, turn = factories.answered_interview(
        db_session,
        (
            "My kitchen sink drain is clogged and the water will not go down, email me at jo@example.com",
            "46032",
            "This week",
            "not sure",
            "Weekdays after 4pm",
            "My email is jo@example.com, my cell is (317) 846-2200",  # only contact: nothing of it in the text
            "317 846 2201, best after 6pm",  # contact and more: the more stays
        ),
    )
    assert turn.complete and turn.fields["contact"] == "jo@example.com"
    db_session.commit()
    lead = db_session.get(Lead, interview.submit(db_session, token, None, "198.51.100.2", consent=False).lead_id)
    assert lead is not None and lead.contact_email == "jo@example.com"
    first = "My kitchen sink drain is clogged and the water will not go down, email me at [email]"
    assert lead.raw_text.startswith(first)
    assert "[phone], best after 6pm" in lead.raw_text
    assert "jo@example.com" not in lead.raw_text and "846" not in lead.raw_text and "My email is" not in lead.raw_text


def test_the_interview_asks_how_urgent_instead_of_guessing_from_the_problem(db_session: Session):
    token, _ = interview.start(db_session, None)
    turn = interview.reply(db_session, token, None, "The kitchen faucet is leaking under the sink cabinet")
    assert turn.fields["urgency"] == ""  # a leak says nothing about how soon: no guessed "high"
    turn = interview.reply(db_session, token, None, "From the base of the faucet, the water is shut off now")
    assert "ZIP" in turn.messages[-1]["text"]
    turn = interview.reply(db_session, token, None, "46032")
    assert "How soon" in turn.messages[-1]["text"]
    turn = interview.reply(db_session, token, None, "hmm, good question")
    assert turn.fields["urgency"] == "" and "how soon" in turn.messages[-1]["text"].lower()  # asked once more
    turn = interview.reply(db_session, token, None, "No rush, whenever suits")
    assert turn.fields["urgency"] == "Flexible timing"  # the answer, not the leak, decides
    assert "budget" in turn.messages[-1]["text"].lower()


def test_stated_timing_is_taken_without_asking(db_session: Session):
    token, _ = interview.start(db_session, None)
    turn = interview.reply(db_session, token, None, "Need someone today to fix a leaking pipe under the sink")
    assert turn.fields["urgency"] == "Urgent"
    token2, _ = interview.start(db_session, None)
    turn2 = interview.reply(db_session, token2, None, "I would like the bedroom walls painted this week, two coats")
    assert turn2.fields["urgency"] == "Normal"
