"""The consumer's actions on their requests, on SQLite and PostgreSQL: withdraw, delete my data (hidden at once,
purged after 30 days), ask for a callback, and magic links that stand in for an account for one request."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import redis
from sqlmodel import Session, select

from leadapp.core import crypto, links
from leadapp.core.errors import NotAllowed, NotFound, UserError
from leadapp.core.models import (
    Call,
    DoNotCall,
    InterviewSession,
    Lead,
    Match,
    Notification,
    TranscriptLine,
    User,
    utcnow,
)
from leadapp.core.services import compose, inbox, notify, portal
from leadapp.core.services.access import NotLoggedIn
from leadapp.core.services.portal import MagicGrant
from leadapp.core.settings import get_settings
from leadapp.core.vocab import CallStatus, CallType, LeadStatus, MatchStatus, NotificationStatus
from tests import factories

PHONE = factories.PHONE


@dataclass
class World(factories.Rivals):
    other_consumer: User


@pytest.fixture
def world(db_session: Session) -> World:
    cast = factories.rivals(db_session)
    other_consumer = factories.consumer(db_session, "robin@example.com")
    db_session.commit()
    return World(**vars(cast), other_consumer=other_consumer)


def make_notification(s: Session, lead: Lead, status: str = NotificationStatus.PENDING.value) -> Notification:
    row = notify.create_notification(
        s,
        kind="business_new_lead",
        channel="email",
        recipient="plumber@example.com",
        subject="New plumbing lead",
        text=f"In the customer's words: {lead.raw_text}",
        html=f"<p>{lead.raw_text}</p>",
        dedupe_key=notify.business_dedupe_key(lead.id, 1, "email"),
        lead_id=lead.id,
    )
    row.status = status
    s.add(row)
    s.flush()
    return row


# --- withdraw -------------------------------------------------------------------------------------


def test_consumer_withdraws_own_request_open_matches_expire_and_pages_are_told(
    world: World, db_session: Session, published
):
    s = db_session
    lead = factories.lead(s, world.consumer)
    open_match = factories.match(s, lead, world.business, MatchStatus.VIEWED.value)
    declined = factories.match(s, lead, world.other_business, MatchStatus.DECLINED.value)
    pending = make_notification(s, lead)
    queued_call = Call(lead_id=lead.id, business_id=world.business.id, status=CallStatus.REQUESTED.value)
    s.add(queued_call)
    s.commit()

    portal.withdraw_request(s, world.consumer, lead.id)
    s.commit()
    s.expire_all()

    lead = s.get(Lead, lead.id)
    assert lead.status == LeadStatus.WITHDRAWN.value and lead.withdrawn_at is not None
    assert s.get(Match, open_match.id).status == MatchStatus.EXPIRED.value
    assert s.get(Match, declined.id).status == MatchStatus.DECLINED.value  # an answer already given stays
    assert s.get(Notification, pending.id).status == NotificationStatus.SUPPRESSED.value
    assert s.get(Call, queued_call.id).status == CallStatus.CANCELED.value
    (row,) = portal.consumer_leads(s, world.consumer)
    assert row["lead"]["status_label"] == "Withdrawn"
    assert row["withdraw_reason"] == "This request is already withdrawn."
    assert row["callback_reason"] == "This request was withdrawn."

    got = published()
    assert {e["business_id"] for e in got if e["kind"] == "match"} == {world.business.id, world.other_business.id}
    assert {"kind": "lead", "lead_id": lead.id, "status": "withdrawn", "consumer_id": world.consumer.id} in got

    with pytest.raises(UserError, match="already withdrawn"):
        portal.withdraw_request(s, world.consumer, lead.id)


@pytest.mark.parametrize("who", ["other_consumer", "owner", "admin", "anonymous"])
def test_nobody_else_may_withdraw(world: World, db_session: Session, who: str):
    s = db_session
    lead = factories.lead(s, world.consumer)
    factories.match(s, lead, world.business)
    s.commit()
    actor = None if who == "anonymous" else getattr(world, who)

    expected = NotLoggedIn if who == "anonymous" else NotAllowed
    with pytest.raises(expected):
        portal.withdraw_request(s, actor, lead.id)
    with pytest.raises(expected):
        portal.request_callback(s, actor, lead.id)
    s.rollback()
    assert s.get(Lead, lead.id).status == LeadStatus.MATCHED.value
    assert s.exec(select(Call)).all() == []


def test_admin_reads_any_request_the_owner_reads_theirs_others_are_refused(world: World, db_session: Session):
    s = db_session
    lead = factories.lead(s, world.consumer)
    factories.match(s, lead, world.business)
    s.commit()

    for reader in (world.consumer, world.admin):
        view = portal.request_view(s, reader, lead.id)
        assert view["lead"]["id"] == str(lead.id)
        assert [m["name"] for m in view["matches"]] == ["Carmel Plumbing"]
        assert all("email" not in m and "phone" not in m for m in view["matches"])
    for stranger in (world.other_consumer, world.owner):
        with pytest.raises(NotAllowed):
            portal.request_view(s, stranger, lead.id)


def test_each_request_says_how_many_businesses_accepted_it(world: World, db_session: Session):
    from leadapp.components.requests import request_view

    s = db_session
    lead = factories.lead(s, world.consumer)
    mine = factories.match(s, lead, world.business)
    theirs = factories.match(s, lead, world.other_business)
    untouched = factories.lead(s, world.consumer)
    factories.match(s, untouched, world.business)
    s.commit()

    def accepted(actor: Any = world.consumer) -> dict[str, tuple[int, str, list[str]]]:
        rows = (
            portal.consumer_leads(s, world.consumer)
            if actor is world.consumer
            else [portal.request_view(s, actor, lead.id)]
        )
        return {
            r["lead"]["id"]: (r["accepted_count"], r["accepted_label"], [m["status"] for m in r["matches"]])
            for r in rows
        }

    assert accepted()[str(lead.id)] == (0, "", ["notified", "notified"])
    inbox.respond(s, world.other_owner, theirs.id, accept=False, message="Too far")  # a decline is not counted
    inbox.respond(s, world.owner, mine.id, accept=True)
    s.commit()
    assert accepted()[str(lead.id)] == (1, "Accepted by 1 business", ["accepted", "declined"])
    inbox.respond(s, world.other_owner, theirs.id, accept=True)  # it changed its mind
    s.commit()
    assert accepted()[str(lead.id)] == (2, "Accepted by 2 businesses", ["accepted", "accepted"])
    inbox.mark_converted(s, world.owner, mine.id, "$450")  # a business that did the job still accepted it
    s.commit()
    assert accepted()[str(lead.id)] == (2, "Accepted by 2 businesses", ["converted", "accepted"])
    assert accepted()[str(untouched.id)] == (0, "", ["notified"])
    # The tracking page (magic link) and an admin read the same count.
    assert accepted(MagicGrant(links.magic_token(lead.id)))[str(lead.id)][:2] == (2, "Accepted by 2 businesses")
    assert accepted(world.admin)[str(lead.id)][:2] == (2, "Accepted by 2 businesses")

    # The card shows it: the line and a badge on each business that accepted.
    card = request_view(portal.request_view(s, world.consumer, lead.id))
    assert (card.accepted_count, card.accepted_label) == (2, "Accepted by 2 businesses")
    assert [(m.name, m.status) for m in card.matches] == [
        ("Carmel Plumbing", "converted"),
        ("Quick Drains", "accepted"),
    ]


def test_a_converted_request_cannot_be_withdrawn(world: World, db_session: Session):
    lead = factories.lead(db_session, world.consumer, status=LeadStatus.CONVERTED.value)
    db_session.commit()
    with pytest.raises(UserError, match="done"):
        portal.withdraw_request(db_session, world.consumer, lead.id)


# --- delete my data and purge ---------------------------------------------------------------------


def test_delete_hides_every_request_at_once_from_portal_and_inbox_and_keeps_the_account(
    world: World, db_session: Session, published
):
    s = db_session
    mine = [factories.lead(s, world.consumer), factories.lead(s, world.consumer)]
    matches = [factories.match(s, lead, world.business) for lead in mine]
    theirs = factories.lead(s, world.other_consumer)
    factories.match(s, theirs, world.business)
    s.commit()
    token = links.magic_token(mine[0].id)
    rows, total = inbox.inbox(s, world.owner, world.business.id, inbox.InboxFilters())
    assert total == 3 and {r["lead_id"] for r in rows} == {str(mine[0].id), str(mine[1].id), str(theirs.id)}

    assert portal.delete_my_data(s, world.consumer) == 2
    s.commit()
    s.expire_all()

    assert portal.consumer_leads(s, world.consumer) == []
    rows, total = inbox.inbox(s, world.owner, world.business.id, inbox.InboxFilters())
    assert total == 1 and [r["lead_id"] for r in rows] == [str(theirs.id)]
    with pytest.raises(NotAllowed) as refused:  # the refusal of a lead that is not theirs (issue 11)
        inbox.lead_detail(s, world.owner, matches[0].id)
    assert refused.value.message == inbox.NOT_YOUR_LEAD
    assert portal.lead_status_for_submitter(s, mine[0].id) is None
    assert portal.lead_for_magic_token(s, token) is None
    with pytest.raises(NotFound):
        portal.withdraw_request(s, MagicGrant(token), mine[0].id)
    for lead in mine:
        lead = s.get(Lead, lead.id)
        assert lead.status == LeadStatus.DELETED.value
        assert lead.purge_after - lead.deleted_at == timedelta(days=30)
    assert len(portal.consumer_leads(s, world.other_consumer)) == 1
    assert s.get(User, world.consumer.id).is_active  # the account stays, only the data goes

    got = published()
    assert {"kind": "match", "business_id": world.business.id} in got
    assert {e["lead_id"] for e in got if e["kind"] == "lead"} == {mine[0].id, mine[1].id}


def test_purge_removes_deleted_requests_after_30_days_with_everything_personal(world: World, db_session: Session):
    s = db_session
    lead = factories.lead(s, world.consumer)
    match = factories.match(s, lead, world.business, MatchStatus.ACCEPTED.value)
    note = make_notification(s, lead, NotificationStatus.SENT.value)
    call = Call(
        lead_id=lead.id,
        business_id=world.business.id,
        status=CallStatus.COMPLETED.value,
        to_number_enc=lead.contact_phone_enc,
        to_number_hash=lead.contact_phone_hash,
        summary="Casey needs the water heater replaced at 12 Elm St",
        qualification={"address": "12 Elm St"},
        recording_ref="RE123",
        cost_total_cents=42.0,
        consent_lead_id=lead.id,
    )
    s.add(call)
    s.flush()
    s.add(TranscriptLine(call_id=call.id, seq=1, speaker="caller", text="I live at 12 Elm St"))
    s.add(InterviewSession(owner_token_hash="x" * 64, lead_id=lead.id, messages=[{"role": "user", "content": "hi"}]))
    kept = factories.lead(s, world.other_consumer)
    s.commit()
    lead_id, dedupe_key = lead.id, note.dedupe_key

    portal.delete_my_data(s, world.consumer)
    s.commit()
    deleted_at = s.get(Lead, lead_id).deleted_at

    assert portal.purge_deleted(s, deleted_at + timedelta(days=29, hours=23)) == 0
    s.commit()
    assert s.get(Lead, lead_id) is not None

    assert portal.purge_deleted(s, deleted_at + timedelta(days=30, seconds=1)) == 1
    s.commit()
    s.expunge_all()
    assert s.get(Lead, lead_id) is None
    assert s.get(Match, match.id) is None
    assert s.exec(select(TranscriptLine)).all() == []
    assert s.exec(select(InterviewSession)).all() == []
    note = s.get(Notification, note.id)
    assert (note.lead_id, note.recipient, note.subject, note.body_text, note.body_html) == (None, "", "", "", "")
    assert note.dedupe_key != dedupe_key
    call = s.get(Call, call.id)
    assert (call.lead_id, call.to_number_enc, call.to_number_hash, call.summary) == (None, "", "", "")
    # The recording is deleted at the provider after the commit (then its reference goes); no link opens it now.
    assert call.recording_ref == "RE123" and call.recording_purge_at is not None
    assert call.qualification is None and call.cost_total_cents == 42.0  # the cost stays in the totals
    assert s.get(Lead, kept.id) is not None
    # The freed dedupe key serves a later lead that reuses the id (SQLite may reuse it).
    fresh = notify.create_notification(
        s, kind="business_new_lead", channel="email", recipient="x@example.com", subject="s", text="t", html="h",
        dedupe_key=dedupe_key,
    )  # fmt: skip
    assert fresh.id != note.id
    assert portal.purge_deleted(s, deleted_at + timedelta(days=31)) == 0  # nothing twice


def test_the_daily_job_purges_and_is_scheduled(world: World, db_session: Session, app_env: dict[str, str]):
    from rq.cron import CronScheduler

    from worker import jobs, schedule

    s = db_session
    lead = factories.lead(s, world.consumer)
    s.commit()
    portal.delete_my_data(s, world.consumer)
    s.commit()
    assert jobs.purge_deleted_leads() == 0  # not yet 30 days
    s.get(Lead, lead.id).purge_after = utcnow() - timedelta(seconds=1)
    s.commit()
    assert jobs.purge_deleted_leads() == 1
    assert jobs.purge_deleted_leads() == 0

    connection = redis.Redis.from_url(app_env["REDIS_URL"])
    try:
        scheduled = schedule.register(CronScheduler(connection=connection)).get_jobs()
        assert "worker.jobs.purge_deleted_leads" in [job.func_name for job in scheduled]
    finally:
        connection.close()


# --- callbacks ------------------------------------------------------------------------------------


def test_callback_refused_without_consent_or_phone_or_on_the_do_not_call_list(world: World, db_session: Session):
    s = db_session
    no_consent = factories.lead(s, world.consumer, consent=False)
    no_phone = factories.lead(s, world.consumer, phone="")
    blocked = factories.lead(s, world.consumer, phone="+13175550142")
    s.add(DoNotCall(phone_hash=crypto.phone_hash("+13175550142")))
    s.commit()

    for lead, reason in [
        (no_consent, "did not agree to AI calls"),
        (no_phone, "no phone number"),
        (blocked, "do-not-call"),
    ]:
        with pytest.raises(UserError, match=reason):
            portal.request_callback(s, world.consumer, lead.id)
    s.rollback()
    assert s.exec(select(Call)).all() == []
    reasons = {r["lead"]["id"]: r["callback_reason"] for r in portal.consumer_leads(s, world.consumer)}
    assert "did not agree" in reasons[str(no_consent.id)] and "no phone" in reasons[str(no_phone.id)]


def test_callback_with_consent_records_a_call_relying_on_that_consent(world: World, db_session: Session, published):
    s = db_session
    lead = factories.lead(s, world.consumer)
    factories.match(s, lead, world.other_business, MatchStatus.NOTIFIED.value)
    accepted = factories.match(s, lead, world.business, MatchStatus.ACCEPTED.value)
    s.commit()
    assert portal.consumer_leads(s, world.consumer)[0]["callback_reason"] == ""

    call = portal.request_callback(s, world.consumer, lead.id)
    s.commit()

    call = s.get(Call, call.id)
    assert call.call_type == CallType.CONSUMER_CALLBACK.value
    # Inside the consumer's calling hours it is requested at once, outside them scheduled for the next window.
    assert call.status in (CallStatus.REQUESTED.value, CallStatus.SCHEDULED.value)
    assert call.consent_at == lead.consent_at and call.consent_at is not None
    assert call.consent_lead_id == lead.id and call.lead_id == lead.id
    assert call.requested_by_id == world.consumer.id
    assert call.business_id == accepted.business_id  # on behalf of the business that took the lead
    assert crypto.decrypt_phone(call.to_number_enc) == PHONE and call.to_number_hash == lead.contact_phone_hash
    got = published()
    assert {"kind": "match", "business_id": world.business.id, "match_id": accepted.id, "lead_id": lead.id} in got
    assert any(e["kind"] == "lead" and e["consumer_id"] == world.consumer.id for e in got)

    with pytest.raises(UserError, match="already requested"):
        portal.request_callback(s, world.consumer, lead.id)
    s.rollback()
    call.status = CallStatus.COMPLETED.value  # once that callback is over, another may be asked for
    s.add(call)
    s.commit()
    assert portal.request_callback(s, world.consumer, lead.id).id != call.id


# --- magic links ----------------------------------------------------------------------------------


def test_magic_link_opens_its_own_request_and_acts_on_it(world: World, db_session: Session, monkeypatch):
    s = db_session
    lead = factories.lead(s, None)  # submitted without an account
    other = factories.lead(s, world.other_consumer)
    factories.match(s, lead, world.business)
    s.commit()
    monkeypatch.setenv("APP_URL", "https://leads.example.test/")
    get_settings.cache_clear()

    link = links.magic_link(lead.id)
    prefix = "https://leads.example.test/portal/track/"
    assert link.startswith(prefix)
    token = link.removeprefix(prefix)
    assert portal.lead_for_magic_token(s, token).id == lead.id
    grant = MagicGrant(token)
    assert portal.request_view(s, grant, lead.id)["matches"][0]["name"] == "Carmel Plumbing"
    with pytest.raises(NotAllowed):  # a link opens its own request only
        portal.request_view(s, grant, other.id)
    with pytest.raises(NotAllowed):
        portal.withdraw_request(s, grant, other.id)

    call = portal.request_callback(s, grant, lead.id)
    assert call.requested_by_id is None and call.consent_at == lead.consent_at
    portal.withdraw_request(s, grant, lead.id)
    s.commit()
    assert s.get(Lead, lead.id).status == LeadStatus.WITHDRAWN.value
    assert s.get(Lead, other.id).status == LeadStatus.MATCHED.value


def test_forged_expired_or_foreign_tokens_open_nothing(world: World, db_session: Session, monkeypatch):
    s = db_session
    lead = factories.lead(s, world.consumer, created_at=utcnow() - timedelta(days=40))
    s.commit()
    good = links.magic_token(lead.id)
    assert portal.lead_for_magic_token(s, good).id == lead.id

    body, mac = good.split(".")
    forged_mac = body + "." + ("A" if mac[0] != "A" else "B") + mac[1:]
    other_body = crypto.sign("portal-lead", {"lead": lead.id + 1, "iat": int(time.time())}, 60).split(".")[0]
    swapped_body = other_body + "." + mac
    with monkeypatch.context() as m:
        m.setenv("SECRET_KEY", "another-secret")
        get_settings.cache_clear()
        other_secret = links.magic_token(lead.id)
    get_settings.cache_clear()
    issued = (utcnow() - timedelta(days=31)).timestamp()  # after the lead was created; expired yesterday
    with monkeypatch.context() as m:
        m.setattr(time, "time", lambda: issued)
        expired = links.magic_token(lead.id)
    other_purpose = crypto.sign("recording", {"lead": lead.id, "iat": int(time.time())}, 3600)

    for token in (forged_mac, swapped_body, other_secret, expired, other_purpose, "", "garbage", "a.b.c"):
        assert portal.lead_for_magic_token(s, token) is None, token
        with pytest.raises(NotAllowed):
            portal.withdraw_request(s, MagicGrant(token), lead.id)
    assert s.get(Lead, lead.id).status == LeadStatus.MATCHED.value


def test_a_token_older_than_its_lead_opens_nothing(world: World, db_session: Session):
    """SQLite can give a purged lead's id to a new lead: a link made before that lead existed is not for it."""
    s = db_session
    lead = factories.lead(s, world.consumer, created_at=utcnow() + timedelta(hours=1))
    s.commit()
    assert portal.lead_for_magic_token(s, links.magic_token(lead.id)) is None


def test_confirmation_messages_carry_a_working_tracking_link(world: World, db_session: Session, monkeypatch):
    s = db_session
    lead = factories.lead(s, None)
    match = factories.match(s, lead, world.business)
    s.commit()
    monkeypatch.setenv("APP_URL", "https://leads.example.test")
    get_settings.cache_clear()

    for message in (
        compose.compose_consumer_matched(lead, [(match, world.business)]),
        compose.compose_consumer_no_match(lead),
    ):
        (line,) = [line for line in message.text.splitlines() if "/portal/track/" in line]
        link = line.split(": ", 1)[1].strip()
        token = link.rsplit("/", 1)[1]
        assert portal.lead_for_magic_token(s, token).id == lead.id
        assert f'href="{link}"' in message.html  # the whole link is the anchor, not just its /portal prefix
        assert "https://leads.example.test/portal" in message.text


def test_the_reach_line_counts_the_businesses_a_request_went_to_and_those_that_saw_it():
    from leadapp.core.services.portal import reach_label

    assert reach_label([], more_coming=True) == ""
    assert reach_label(["notified", "viewed", "declined"], more_coming=False) == "Sent to 3 businesses · 2 have seen it"
    assert reach_label(["accepted"], more_coming=True) == (
        "Sent to 1 business · 1 has seen it · more businesses if none accepts soon"
    )
