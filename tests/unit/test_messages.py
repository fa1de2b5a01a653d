"""Messages (`services.messages`), on SQLite and PostgreSQL: once a business accepted a lead, the consumer and that
business write in one thread per match and both read it; the other side is told by a notification row per channel
it chose, with the thread's reply address; and the attacks: empty or too long text, an unknown thread, someone
else's thread, a lead not accepted, a closed request, an admin writing. Nothing is stored on a refusal."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from leadapp.core import links
from leadapp.core.errors import NotAllowed, NotFound, UserError
from leadapp.core.models import Match, Notification, ThreadMessage
from leadapp.core.services import messages, portal
from leadapp.core.services.access import NOT_YOUR_LEAD, NOT_YOUR_THREAD, NotLoggedIn
from leadapp.core.services.messages.replies import read_reply_address
from leadapp.core.vocab import LeadStatus, MatchStatus, NotificationKind, ThreadSide
from tests import factories

World = factories.TwoBusinesses


@pytest.fixture
def world(db_session: Session) -> World:
    """One request matched to two businesses that both accepted it, each with its own owner."""
    return factories.two_businesses(db_session, accepted=True)


def _stored(s: Session) -> list[ThreadMessage]:
    s.expire_all()
    return list(s.exec(select(ThreadMessage).order_by(ThreadMessage.id)).all())  # type: ignore[arg-type]


def test_consumer_and_business_write_and_each_reads_the_thread_as_theirs(db_session: Session, world: World):
    s, w = db_session, world
    messages.post_message(s, w.consumer, w.match.id, "  Can you come Tuesday?  ")
    s.commit()
    messages.post_message(s, w.owner, w.match.id, "Yes, 9am works.")
    s.commit()

    stored = _stored(s)
    assert [(m.side, m.body, m.channel, m.author_id) for m in stored] == [
        ("consumer", "Can you come Tuesday?", "web", w.consumer.id),
        ("business", "Yes, 9am works.", "web", w.owner.id),
    ]
    seen_by_owner = messages.thread(s, w.owner, w.match.id)
    assert [(m["author"], m["mine"], m["body"]) for m in seen_by_owner["messages"]] == [  # type: ignore[union-attr]
        ("Consumer", "", "Can you come Tuesday?"),
        ("You", "yes", "Yes, 9am works."),
    ]
    assert seen_by_owner["can_write"] == "yes"
    [card] = portal.consumer_leads(s, w.consumer)
    threads = {t["business_name"]: t for t in card["threads"]}
    assert set(threads) == {"Carmel Plumbing", "Quick Drains"}
    assert [(m["author"], m["mine"]) for m in threads["Carmel Plumbing"]["messages"]] == [
        ("You", "yes"),
        ("Carmel Plumbing", ""),
    ]
    assert threads["Quick Drains"]["messages"] == []  # one thread per business: the other one sees nothing of it
    assert messages.thread(s, w.other_owner, w.other_match.id)["messages"] == []
    assert [m["body"] for m in messages.thread(s, w.admin, w.match.id)["messages"]] == [  # type: ignore[union-attr]
        "Can you come Tuesday?",
        "Yes, 9am works.",
    ]
    assert messages.thread(s, w.admin, w.match.id)["can_write"] == ""


def test_the_thread_shows_no_contact_detail_of_the_consumer(db_session: Session, world: World):
    s, w = db_session, world
    messages.post_message(s, w.consumer, w.match.id, "Hello")
    s.commit()
    view = messages.thread(s, w.owner, w.match.id)
    text = repr(view)
    assert "casey@example.com" not in text and factories.PHONE not in text and "Casey" not in text


@pytest.mark.parametrize(
    ("body", "refusal"),
    [("", "Write a message first."), ("   \n\t ", "Write a message first."), ("x" * 2001, "2,000 characters")],
)
def test_empty_or_too_long_text_is_refused_on_its_field(db_session: Session, world: World, body: str, refusal: str):
    s, w = db_session, world
    with pytest.raises(UserError, match=refusal) as refused:
        messages.post_message(s, w.consumer, w.match.id, body)
    assert refused.value.field == "body"
    s.rollback()
    assert _stored(s) == []


def test_exactly_two_thousand_characters_is_kept_whole(db_session: Session, world: World):
    s, w = db_session, world
    messages.post_message(s, w.owner, w.match.id, "y" * 2000)
    s.commit()
    assert [len(m.body) for m in _stored(s)] == [2000]


def test_someone_elses_or_an_unknown_thread_is_refused_the_same_way(db_session: Session, world: World):
    s, w = db_session, world
    attacks = [
        (w.other_consumer, w.match.id, NotAllowed, NOT_YOUR_THREAD),  # another consumer
        (w.consumer, 999_999, NotAllowed, NOT_YOUR_THREAD),  # an unknown thread
        (w.other_owner, w.match.id, NotAllowed, NOT_YOUR_LEAD),  # another business on this lead
        (w.owner, w.other_match.id, NotAllowed, NOT_YOUR_LEAD),  # the other business's thread
        (w.owner, 999_999, NotAllowed, NOT_YOUR_LEAD),
        (None, w.match.id, NotLoggedIn, "Log in"),  # anonymous
        (w.admin, w.match.id, NotAllowed, "Admins read"),  # an admin may read, not write
    ]
    for user, match_id, error, words in attacks:
        with pytest.raises(error, match=words):
            messages.post_message(s, user, match_id, "Hi")
        s.rollback()
    for user, match_id, error, words in attacks[:-1]:
        with pytest.raises(error, match=words):
            messages.thread(s, user, match_id)
        s.rollback()
    with pytest.raises(NotFound):
        messages.thread(s, w.admin, 999_999)
    assert _stored(s) == []


@pytest.mark.parametrize("status", [MatchStatus.NOTIFIED.value, MatchStatus.DECLINED.value])
def test_no_thread_before_the_business_accepts(db_session: Session, world: World, status: str):
    s, w = db_session, world
    match = s.get(Match, w.match.id)
    assert match is not None
    match.status = status
    s.add(match)
    s.commit()
    with pytest.raises(NotAllowed, match=NOT_YOUR_THREAD):
        messages.post_message(s, w.consumer, w.match.id, "Are you there?")
    s.rollback()
    with pytest.raises(UserError, match="Accept the lead"):
        messages.post_message(s, w.owner, w.match.id, "Hello")
    s.rollback()
    [card] = portal.consumer_leads(s, w.consumer)
    assert [t["business_name"] for t in card["threads"]] == ["Quick Drains"]
    assert _stored(s) == []


def test_a_closed_request_reads_but_takes_no_message(db_session: Session, world: World):
    s, w = db_session, world
    messages.post_message(s, w.consumer, w.match.id, "First")
    s.commit()
    w.lead.status = LeadStatus.WITHDRAWN.value
    s.add(w.lead)
    s.commit()
    with pytest.raises(NotAllowed):
        messages.post_message(s, w.consumer, w.match.id, "Second")
    s.rollback()
    with pytest.raises(NotAllowed):
        messages.post_message(s, w.owner, w.match.id, "Second")
    s.rollback()
    view = messages.thread(s, w.consumer, w.match.id)
    assert [m["body"] for m in view["messages"]] == ["First"] and view["can_write"] == ""  # type: ignore[union-attr]
    assert [m.body for m in _stored(s)] == ["First"]


def test_the_other_side_is_told_per_channel_with_the_threads_reply_address(
    db_session: Session, world: World, monkeypatch: pytest.MonkeyPatch
):
    s, w = db_session, world
    monkeypatch.setenv("INBOUND_EMAIL_DOMAIN", "in.leadapp.test")
    from tests.conftest import clear_app_caches

    clear_app_caches()
    w.business.notify_channels = ["email", "sms"]
    w.business.notify_phone = "+13175550100"
    s.add(w.business)
    w.lead.preferred_contact = "sms"
    s.add(w.lead)
    s.commit()
    first = messages.post_message(s, w.consumer, w.match.id, "Can you come Tuesday?")
    s.commit()
    second = messages.post_message(s, w.owner, w.match.id, "Yes, 9am works.")
    s.commit()
    rows = s.exec(select(Notification).where(Notification.kind == NotificationKind.THREAD_MESSAGE.value)).all()
    told = sorted((r.dedupe_key.split(":")[1], r.channel, r.recipient, r.user_id) for r in rows)
    assert told == [
        (str(first.id), "email", "plumber@example.com", w.owner.id),
        (str(first.id), "sms", "+13175550100", w.owner.id),
        (str(second.id), "email", "casey@example.com", w.consumer.id),
        (str(second.id), "sms", factories.PHONE, w.consumer.id),
    ]
    to_owner = next(r for r in rows if r.recipient == "plumber@example.com")
    assert "Can you come Tuesday?" in to_owner.body_text and "casey@example.com" not in to_owner.body_text
    assert factories.PHONE not in to_owner.body_text
    to_consumer = next(r for r in rows if r.recipient == factories.PHONE)
    assert to_consumer.body_text.startswith("Carmel Plumbing:") and "Yes, 9am works." in to_consumer.body_text
    # each email's Reply-To is the recipient's address of this thread, and reads back to it
    from leadapp.core.services.notify.sending import _extra_headers

    owner_reply = _extra_headers(to_owner)
    assert owner_reply == {"Reply-To": links.reply_address(w.match.id, "business")}  # type: ignore[arg-type]
    assert read_reply_address(owner_reply["Reply-To"]) == (w.match.id, ThreadSide.BUSINESS)
    consumer_email = next(r for r in rows if r.recipient == "casey@example.com")
    consumer_reply = _extra_headers(consumer_email)["Reply-To"]  # type: ignore[index]
    assert read_reply_address(f"Casey <{consumer_reply}>") == (w.match.id, ThreadSide.CONSUMER)
    # a message saved again makes no second row (one per message and channel)
    assert len(rows) == 4


def test_a_forged_or_foreign_reply_address_reads_as_no_thread(
    db_session: Session, world: World, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("INBOUND_EMAIL_DOMAIN", "in.leadapp.test")
    from tests.conftest import clear_app_caches

    clear_app_caches()
    genuine = links.reply_address(world.match.id, "consumer")  # type: ignore[arg-type]
    local, _, domain = genuine.partition("@")
    other_thread = genuine.replace(f"reply+{world.match.id}-", f"reply+{world.other_match.id}-")
    as_business = local.replace("-c-", "-b-") + "@" + domain
    assert read_reply_address(genuine.upper()) == (world.match.id, ThreadSide.CONSUMER)  # case changed in transit
    signature_changed = local[:-1] + ("1" if local.endswith("0") else "0") + "@" + domain
    for forged in (other_thread, as_business, local + "@evil.test", signature_changed, "reply@x"):
        assert read_reply_address(forged) is None, forged
