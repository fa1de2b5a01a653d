"""A quote told to the consumer, and accepted from the emailed tracking link, on SQLite and on walled PostgreSQL
(row-level security in force, each call acting for its caller as a page does).

- A business sends a quote: the consumer's email (and SMS, when they prefer texts) is written with it, once per
  quote and channel, and enqueued after the commit; the same notice written again, a job enqueued again or run
  twice sends one message.
- The holder of a request's magic link sees its quotes and accepts one (the conversion, the other businesses told);
  another request's link, a forged or expired link, and a link after its quote was declined change nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from rq import Queue
from sqlmodel import col, select

from leadapp.core import links, localtime, rls
from leadapp.core.broker import get_redis
from leadapp.core.db import session_scope
from leadapp.core.errors import NotAllowed, UserError
from leadapp.core.models import Conversion, Lead, Notification, Quote, User, utcnow
from leadapp.core.providers.email import SendError
from leadapp.core.services import access, notify, portal, quotes
from leadapp.core.services.quotes import notices
from leadapp.core.settings import get_settings
from leadapp.core.tasks import NOTIFICATIONS
from leadapp.core.vocab import ContactPreference, LeadStatus, NotificationKind, QuoteStatus
from tests import factories
from tests.conftest import clear_app_caches, deployment_env, use_env
from tests.fakes.sendgrid_api import FakeSendGrid, fake_sendgrid  # noqa: F401
from tests.fakes.twilio_api import FakeTwilio, fake_twilio  # noqa: F401
from worker import jobs

World = factories.TwoBusinesses
APP_URL = "https://leads.example.test"


@pytest.fixture(params=["sqlite", "walled-postgres"])
def world(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, private_redis_url: str) -> Iterator[World]:
    """Casey's request accepted by two businesses, on SQLite or on walled PostgreSQL (its application role), with
    a clean Redis database and no provider configured."""
    if request.param == "sqlite":
        request.getfixturevalue("sqlite_url")
    else:
        request.getfixturevalue("walled_db")
    redis_url = private_redis_url.rsplit("/", 1)[0] + "/1"
    redis.Redis.from_url(redis_url).flushdb()
    no_providers = {name: "" for name in ("SENDGRID_API_KEY", "SMTP_HOST", "TWILIO_ACCOUNT_SID", "ANTHROPIC_API_KEY")}
    use_env(monkeypatch, deployment_env(redis_url, APP_URL=APP_URL, **no_providers))
    with rls.system_context("test: seed"), session_scope() as s:
        w = factories.two_businesses(s, accepted=True, preferred_contact=ContactPreference.SMS.value)
    yield w
    redis.Redis.from_url(redis_url).flushdb()
    clear_app_caches()


def _form(w: World, amount: str = "450") -> dict[str, Any]:
    today = utcnow().astimezone(localtime.lead_zone(w.lead)).date()
    return {
        "amount_min": amount,
        "included": "Parts and labour",
        "valid_until": (today + timedelta(days=10)).isoformat(),
    }


def _send(w: World, owner: User, match_id: int, amount: str = "450") -> int:
    """The owner sends a quote, as the lead page's handler does (the session acts for them)."""
    with session_scope() as s:
        access.enter(s, owner)
        return quotes.send_quote(s, owner, match_id, _form(w, amount)).id  # type: ignore[return-value]


def _notices(kind: str = NotificationKind.QUOTE_SENT.value) -> list[Notification]:
    with rls.system_context("test: look"), session_scope() as s:
        return list(s.exec(select(Notification).where(Notification.kind == kind).order_by(col(Notification.id))))


def _queued_ids() -> set[str]:
    queue = Queue(NOTIFICATIONS, connection=get_redis())
    return set(queue.job_ids)


# --- the consumer hears of a quote ------------------------------------------------------------------


def test_a_quote_sent_writes_the_consumers_email_and_sms_once_and_enqueues_them_after_the_commit(world: World):
    w = world
    quote_id = _send(w, w.owner, w.match.id, "450")

    rows = _notices()
    assert [(n.channel, n.recipient, n.status) for n in rows] == [
        ("email", "casey@example.com", "pending"),
        ("sms", factories.PHONE, "pending"),
    ]
    email, sms = rows
    assert {n.dedupe_key for n in rows} == {f"quote:{quote_id}:consumer:email", f"quote:{quote_id}:consumer:sms"}
    assert (email.lead_id, email.business_id, email.match_id, email.user_id) == (
        w.lead.id,
        w.business.id,
        w.match.id,
        w.consumer.id,
    )
    assert "Carmel Plumbing sent you a quote: $450" in email.subject
    track = f"{APP_URL}/portal/track/"
    assert track in email.body_text and f"Or in your account: {APP_URL}/portal" in email.body_text
    assert f'href="{track}' in email.body_html
    assert sms.body_text.startswith("LeadApp: Carmel Plumbing quoted $450") and track in sms.body_text
    assert len(sms.body_text) <= 320
    # No contact detail of the business in what the consumer is sent.
    assert "plumber@example.com" not in email.body_text + sms.body_text
    # Committed first, then one send job per row (job id notify-<id>).
    assert _queued_ids() == {f"notify-{email.id}", f"notify-{sms.id}"}

    # The same notice written again (a retried transaction, a second call) adds nothing.
    with rls.system_context("test: again"), session_scope() as s:
        lead, quote = s.get(Lead, w.lead.id), s.get(Quote, quote_id)
        assert lead is not None and quote is not None
        again = notices.quote_sent(s, lead, quote, "Carmel Plumbing", "$450")
    assert again == [email.id, sms.id]
    assert [n.id for n in _notices()] == [email.id, sms.id]

    # A second business's quote is a second notice of its own.
    _send(w, w.other_owner, w.other_match.id, "380")
    assert len(_notices()) == 4


def test_a_consumer_who_prefers_email_gets_no_sms(world: World):
    w = world
    with rls.system_context("test: prefer email"), session_scope() as s:
        lead = s.get(Lead, w.lead.id)
        assert lead is not None
        lead.preferred_contact = ContactPreference.EMAIL.value
        s.add(lead)
    _send(w, w.owner, w.match.id)
    assert [n.channel for n in _notices()] == ["email"]


def test_a_refused_quote_tells_nobody(world: World):
    w = world
    with pytest.raises(NotAllowed):
        _send(w, w.other_owner, w.match.id)  # another business's match
    with pytest.raises(UserError):
        _send(w, w.owner, w.match.id, "0")  # bad terms
    assert _notices() == []
    assert _queued_ids() == set()


def test_retries_and_duplicate_jobs_send_each_message_once(
    world: World, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
):
    w = world
    sendgrid: FakeSendGrid = request.getfixturevalue("fake_sendgrid")
    twilio: FakeTwilio = request.getfixturevalue("fake_twilio")
    for name, value in {
        "SENDGRID_API_KEY": sendgrid.api_key,
        "SENDGRID_HOST": sendgrid.url,
        "TWILIO_ACCOUNT_SID": twilio.account_sid,
        "TWILIO_AUTH_TOKEN": twilio.auth_token,
        "TWILIO_FROM_NUMBER": twilio.from_number,
        "TWILIO_API_BASE": twilio.url,
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    _send(w, w.owner, w.match.id)
    email, sms = _notices()

    sendgrid.fail_next(1)  # the first attempt fails: RQ's retry runs the job again
    with rls.system_context("test: the worker"):
        with pytest.raises(SendError):  # a transient provider error re-raises for RQ's Retry (retries left)
            notify.send_notification(email.id, final_on_failure=False)  # type: ignore[arg-type]
        for _ in range(3):  # the retry, then a duplicate job and the sweeper's re-run
            assert jobs.send_notification(email.id) == "sent"  # type: ignore[arg-type]
            assert jobs.send_notification(sms.id) == "sent"  # type: ignore[arg-type]

    assert len(sendgrid.messages) == 1 and len(twilio.requests) == 1
    [message] = sendgrid.messages
    assert message["personalizations"][0]["to"][0]["email"] == "casey@example.com"
    assert [(n.status, n.attempts) for n in _notices()] == [("sent", 2), ("sent", 1)]


# --- accepting from the emailed tracking link --------------------------------------------------------


def _accept_by_link(token: str, quote_id: int) -> None:
    """As the tracking page does: an anonymous visitor holding only the link."""
    with session_scope(rls.ANONYMOUS_CONTEXT) as s:
        quotes.accept_quote(s, access.MagicGrant(token), quote_id)


def _statuses() -> dict[int, str]:
    with rls.system_context("test: look"), session_scope() as s:
        return {q.id: q.status for q in s.exec(select(Quote))}  # type: ignore[misc]


def _conversions() -> list[tuple[int, int, int | None]]:
    with rls.system_context("test: look"), session_scope() as s:
        return [(c.match_id, c.job_value_cents, c.created_by_id) for c in s.exec(select(Conversion))]  # type: ignore[misc]


def test_the_link_holder_sees_the_quotes_and_accepts_one(world: World):
    w = world
    mine, theirs = _send(w, w.owner, w.match.id, "450"), _send(w, w.other_owner, w.other_match.id, "380")
    token = links.magic_token(w.lead.id)  # type: ignore[arg-type]
    with session_scope(rls.ANONYMOUS_CONTEXT) as s:
        view = portal.request_view(s, portal.MagicGrant(token), w.lead.id)  # type: ignore[arg-type]
    assert [(q["amount"], q["can_accept"]) for q in view["quotes"]] == [("$380", "yes"), ("$450", "yes")]

    _accept_by_link(token, mine)

    assert _statuses() == {mine: QuoteStatus.ACCEPTED.value, theirs: QuoteStatus.DECLINED.value}
    assert _conversions() == [(w.match.id, 45_000, None)]  # no account acted: the link did
    with rls.system_context("test: look"), session_scope() as s:
        assert s.get(Lead, w.lead.id).status == LeadStatus.CONVERTED.value  # type: ignore[union-attr]
    # The other quoting business is told its quote was declined; the winner that it was accepted.
    assert [(n.business_id, n.recipient) for n in _notices(NotificationKind.QUOTE_DECLINED.value)] == [
        (w.other_business.id, "drains@example.com")
    ]
    assert [n.business_id for n in _notices(NotificationKind.QUOTE_ACCEPTED.value)] == [w.business.id]
    # The declined quote cannot be taken with the link either.
    with pytest.raises(UserError, match="declined"):
        _accept_by_link(token, theirs)


def _other_request(w: World) -> tuple[int, int]:
    """Mallory's own request, accepted by the plumber who quoted it: (its lead id, the quote id)."""
    with rls.system_context("test: seed"), session_scope() as s:
        lead = factories.lead(s, w.other_consumer, status=LeadStatus.ACCEPTED.value, contact_email="m@example.com")
        match = factories.match(s, lead, w.business, status="accepted")
        quote = factories.quote(s, match)
        return lead.id, quote.id  # type: ignore[return-value]


def test_another_requests_link_cannot_accept_and_learns_nothing(world: World):
    w = world
    mine = _send(w, w.owner, w.match.id)
    mallorys_lead, mallorys_quote = _other_request(w)
    mallorys_link = links.magic_token(mallorys_lead)
    caseys_link = links.magic_token(w.lead.id)  # type: ignore[arg-type]

    # Mallory's link on Casey's quote, and Casey's link on Mallory's: the one refusal, like a missing quote.
    for token, quote_id in ((mallorys_link, mine), (caseys_link, mallorys_quote), (caseys_link, 10**9)):
        with pytest.raises(NotAllowed) as caught:
            _accept_by_link(token, quote_id)
        assert caught.value.message == quotes.NOT_YOUR_QUOTE
    assert set(_statuses().values()) == {QuoteStatus.SENT.value}
    assert _conversions() == []


@pytest.mark.parametrize("which", ["forged", "expired", "review link", "empty"])
def test_a_bad_link_accepts_nothing(world: World, which: str, monkeypatch: pytest.MonkeyPatch):
    w = world
    mine = _send(w, w.owner, w.match.id)
    good = links.magic_token(w.lead.id)  # type: ignore[arg-type]
    if which == "expired":
        issued = time.time()
        with monkeypatch.context() as m:
            m.setattr(time, "time", lambda: issued - links.MAGIC_TTL_SECONDS - 60)
            token = links.magic_token(w.lead.id)  # type: ignore[arg-type]
    else:
        token = {
            "forged": good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"),
            "review link": links.review_token(1, w.lead.id),  # type: ignore[arg-type]
            "empty": "",
        }[which]
    with pytest.raises(NotAllowed):
        _accept_by_link(token, mine)
    assert set(_statuses().values()) == {QuoteStatus.SENT.value}
    assert _conversions() == []
