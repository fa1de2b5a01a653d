"""Business discovery and invitations on SQLite and PostgreSQL: qualification rules, upserts, the local
directory and Google Places (through a protocol-faithful fake), invitations with working signed links
and scheduled follow-ups, what stops follow-ups, the funnel, and that only admins may do any of it."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from html import escape

import httpx
import pytest
from rq.job import Job
from rq.registry import ScheduledJobRegistry
from sqlmodel import Session, func, select

from leadapp.core import links
from leadapp.core.broker import get_redis
from leadapp.core.errors import FieldErrors, NotAllowed, NotFound, UserError
from leadapp.core.models import AuditEvent, Invitation, Notification, Prospect, User, utcnow
from leadapp.core.providers import places
from leadapp.core.providers.places import Place
from leadapp.core.services import accounts, discovery
from leadapp.core.settings import get_settings
from leadapp.core.tasks import NOTIFICATIONS, queue
from leadapp.core.vocab import Category
from tests.fakes.places_api import FakePlacesAPI, place
from tests.fakes.places_api import fake_places as fake_places  # the fixture

PASSWORD = "a long enough password"
LINK = re.compile(r"https?://\S+")


@pytest.fixture
def admin(db_session: Session, _remove_my_jobs: None) -> User:
    user = accounts.ensure_admin(db_session, "admin@example.com", PASSWORD)
    db_session.commit()
    return user


@pytest.fixture
def others(db_session: Session) -> dict[str, User | None]:
    users: dict[str, User | None] = {"anonymous": None}
    users["consumer"] = accounts.register(db_session, "casey@example.com", PASSWORD, "consumer")
    users["business_owner"] = accounts.register(db_session, "owner@example.com", PASSWORD, "business_owner")
    disabled = accounts.ensure_admin(db_session, "former-admin@example.com", PASSWORD)
    disabled.is_active = False
    users["disabled_admin"] = disabled
    db_session.commit()
    return users


@pytest.fixture
def _remove_my_jobs(db_session: Session) -> Iterator[None]:
    """Delete the RQ jobs a test schedules or enqueues (RQ keys are not under the test's key prefix)."""
    yield
    db_session.rollback()
    ids = [f"notify-{n}" for n in db_session.exec(select(Notification.id)).all()]
    for invitation_id in db_session.exec(select(Invitation.id)).all():
        ids += [f"invitation-{invitation_id}-followup-{n}" for n in discovery.FOLLOWUP_DAYS]
    for job in Job.fetch_many(ids, connection=get_redis()):
        if job is not None:
            job.delete()


def count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def by_name(prospects: list[Prospect]) -> dict[str, Prospect]:
    return {p.name: p for p in prospects}


def invited(session: Session, admin: User, name: str = "Carmel Rooter Pros", email: str = "pat@rooter.example.com"):
    """Discover Carmel plumbers (local directory) and invite one; returns (prospect, invitation)."""
    prospect = by_name(discovery.discover(session, admin, "46032", "plumbing"))[name]
    session.commit()
    invitation = discovery.invite(session, admin, prospect.id, email)
    return prospect, invitation


def invitation_email(session: Session, invitation: Invitation, suffix: str = "initial") -> Notification | None:
    key = f"invitation:{invitation.id}:{suffix}"
    return session.exec(select(Notification).where(Notification.dedupe_key == key)).first()


# --- qualification ----------------------------------------------------------------------------------

GOOD = Place(
    place_id="p1",
    name="Good Plumbing",
    source="google",
    phone="(317) 555-0100",
    rating=4.2,
    review_count=12,
    business_status="OPERATIONAL",
    open_now=True,
)


@pytest.mark.parametrize(
    ("changes", "reasons"),
    [
        ({}, []),
        ({"rating": 3.5, "review_count": 5}, []),  # both limits are inclusive
        ({"open_now": False}, []),  # operational but closed at this hour: still in business
        ({"business_status": "", "open_now": None}, []),  # nothing known: not counted against it
        ({"rating": 3.4}, ["rating 3.4 is below 3.5"]),
        ({"rating": None}, ["no rating"]),
        ({"review_count": 4}, ["4 reviews (at least 5 needed)"]),
        ({"review_count": 1}, ["1 review (at least 5 needed)"]),
        ({"phone": ""}, ["no phone number"]),
        ({"phone": "call us"}, ["phone number not usable"]),
        ({"business_status": "CLOSED_PERMANENTLY"}, ["closed permanently"]),
        ({"business_status": "CLOSED_TEMPORARILY"}, ["closed temporarily"]),
        ({"business_status": "", "open_now": False}, ["not open"]),
        (
            {"rating": 2.0, "review_count": 0, "phone": "", "business_status": "CLOSED_PERMANENTLY"},
            ["rating 2.0 is below 3.5", "0 reviews (at least 5 needed)", "no phone number", "closed permanently"],
        ),
    ],
)
def test_qualification_rules(changes: dict, reasons: list[str]) -> None:
    assert discovery.disqualify_reasons(replace(GOOD, **changes)) == reasons


# --- the local directory --------------------------------------------------------------------------


def test_local_directory_answers_by_zip_area_with_the_zip_itself_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_PLACES_API_KEY", raising=False)
    get_settings.cache_clear()
    assert not get_settings().google_places_api_key
    carmel = places.find_places("46032", "plumbing")
    assert {p.zip[:3] for p in carmel} == {"460"}
    assert all(p.source == "local" for p in carmel)
    assert [p.zip for p in carmel][:3] == ["46032"] * 3
    assert carmel[0].name == "Carmel Rooter Pros"  # best rated in 46032 first
    assert {p.name for p in places.find_places("10001", "electrical")} == {
        "Empire Electric NYC",
        "K-Town Wiring",
        "Flatiron Electric",
    }
    assert places.find_places("90210", "plumbing") == []
    assert places.find_places("46032", "pool_spa") == []


def test_local_directory_is_well_formed_and_has_businesses_failing_each_rule() -> None:
    entries = places.LOCAL_DIRECTORY
    assert 20 <= len(entries) <= 40
    assert len({p.place_id for p, _ in entries}) == len(entries)
    assert {c for _, c in entries} <= {c.value for c in Category}
    reasons = [discovery.disqualify_reasons(p) for p, _ in entries]
    flat = " | ".join(r for rs in reasons for r in rs)
    for rule in ("below 3.5", "no rating", "needed", "no phone number", "closed permanently", "closed temporarily"):
        assert rule in flat, rule
    assert "not open" in flat
    assert sum(1 for rs in reasons if not rs) >= 12


# --- discovery ------------------------------------------------------------------------------------


def test_discover_stores_every_place_qualified_or_with_its_reasons(db_session: Session, admin: User) -> None:
    found = discovery.discover(db_session, admin, "46032", "plumbing")
    db_session.commit()

    assert len(found) == 7 == count(db_session, Prospect)
    rows = by_name(found)
    good = rows["Carmel Rooter Pros"]
    assert (good.status, good.disqualify_reason) == ("found", "")
    assert (good.phone, good.zip, good.category, good.source) == ("+13175550101", "46032", "plumbing", "local")
    assert (good.rating, good.review_count, good.open_now) == (4.7, 184, True)
    assert good.email == "office@carmel-rooter.example.com"
    assert rows["Monon Trail Plumbing"].status == "found"  # closed at this hour, still trading
    expected = {
        "Drip Fix Carmel": "rating 3.1 is below 3.5",
        "Brand New Pipes LLC": "3 reviews (at least 5 needed)",
        "Hamilton County Plumbing": "no phone number",
        "Old Mill Plumbing & Heating": "closed permanently",
    }
    for name, reason in expected.items():
        assert (rows[name].status, rows[name].disqualify_reason) == ("disqualified", reason), name
    assert rows["Old Mill Plumbing & Heating"].open_now is False
    event = db_session.exec(select(AuditEvent).where(AuditEvent.action == "prospects.discover")).one()
    assert event.actor_id == admin.id and event.target_id == "46032/plumbing"
    assert event.after == {"source": "local", "found": 7, "qualified": 3, "disqualified": 4}


def test_discover_upserts_by_place_id(db_session: Session, admin: User, monkeypatch: pytest.MonkeyPatch) -> None:
    first = discovery.discover(db_session, admin, "46032", "plumbing")
    db_session.commit()
    again = discovery.discover(db_session, admin, "46032", "plumbing")
    db_session.commit()
    assert [p.id for p in again] == [p.id for p in first]
    assert count(db_session, Prospect) == 7

    # The listing changes: the low-rated plumber improved, a good one closed, another found under a new
    # category keeps the ZIP and category it was first found under.
    listing = {p.place_id: p for p, _ in places.LOCAL_DIRECTORY}
    changed = [
        replace(listing["local:drip-fix"], rating=4.0),
        replace(listing["local:carmel-rooter"], business_status="CLOSED_TEMPORARILY"),
        replace(listing["local:monon-plumbing"], zip="46033", review_count=70),
    ]
    monkeypatch.setattr(places, "find_places", lambda zip_code, category: changed)
    discovery.discover(db_session, admin, "46033", "handyman")
    db_session.commit()
    rows = {p.place_id: p for p in db_session.exec(select(Prospect)).all()}
    assert count(db_session, Prospect) == 7
    assert (rows["local:drip-fix"].status, rows["local:drip-fix"].disqualify_reason) == ("found", "")
    assert rows["local:carmel-rooter"].status == "disqualified"
    assert rows["local:carmel-rooter"].disqualify_reason == "closed temporarily"
    monon = rows["local:monon-plumbing"]
    assert (monon.zip, monon.category, monon.review_count) == ("46032", "plumbing", 70)


def test_rediscovery_disqualifies_an_invited_prospect_but_never_undoes_activation(
    db_session: Session, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    prospect, invitation = invited(db_session, admin)
    other = by_name(discovery.discover(db_session, admin, "46032", "plumbing"))["Westfield Family Plumbing"]
    db_session.commit()
    other_invitation = discovery.invite(db_session, admin, other.id, "w@westfield.example.com")
    user = accounts.register(db_session, "w@westfield.example.com", PASSWORD, "business_owner")
    discovery.activate_invitation(db_session, links.invitation_token(other_invitation), user)
    db_session.commit()

    listing = {p.place_id: p for p, _ in places.LOCAL_DIRECTORY}
    closed = [
        replace(listing[prospect.place_id], business_status="CLOSED_PERMANENTLY"),
        replace(listing[other.place_id], business_status="CLOSED_PERMANENTLY"),
    ]
    monkeypatch.setattr(places, "find_places", lambda zip_code, category: closed)
    discovery.discover(db_session, admin, "46032", "plumbing")
    db_session.commit()
    db_session.refresh(prospect)
    db_session.refresh(other)
    assert (prospect.status, prospect.disqualify_reason) == ("disqualified", "closed permanently")
    assert other.status == "activated"
    assert discovery.invitation_followup(invitation.id, 1) == "stopped:disqualified"

    # Open again: back to invited (its invitation exists), but its stopped follow-ups stay stopped.
    monkeypatch.setattr(places, "find_places", lambda zip_code, category: [listing[prospect.place_id]])
    discovery.discover(db_session, admin, "46032", "plumbing")
    db_session.commit()
    db_session.refresh(prospect)
    assert prospect.status == "invited"
    assert discovery.invitation_followup(invitation.id, 1) == "stopped:disqualified"


@pytest.mark.parametrize(
    ("zip_code", "category", "fields"),
    [
        ("4603", "plumbing", {"zip"}),
        ("00000", "plumbing", {"zip"}),
        ("46032", "magic", {"category"}),
        ("", "", {"zip", "category"}),
    ],
)
def test_discover_names_a_bad_zip_or_category(
    db_session: Session, admin: User, zip_code: str, category: str, fields: set[str]
) -> None:
    with pytest.raises(FieldErrors) as caught:
        discovery.discover(db_session, admin, zip_code, category)
    assert set(caught.value.errors) == fields
    assert count(db_session, Prospect) == 0


# --- Google Places through the fake ---------------------------------------------------------------


def test_google_places_text_search_through_the_fake(
    db_session: Session, admin: User, fake_places: FakePlacesAPI
) -> None:
    page_one = [
        place(
            f"ChIJgood{i:02d}",
            f"Plumber {i:02d}",
            address=f"{i} Main St, Carmel, IN 46032, USA",
            zip_code="46032",
            phone=f"(317) 555-01{i:02d}",
            website=f"https://p{i}.example.com",
        )
        for i in range(20)
    ]
    page_two = [
        place("ChIJlow", "Low Rated Plumbing", address="1 A St, Carmel, IN 46033, USA", zip_code="46033", rating=3.0),
        place(
            "ChIJnophone", "No Phone Plumbing", address="2 B St, Carmel, IN 46032, USA", zip_code="46032", phone=None
        ),
        place(
            "ChIJclosed",
            "Closed Plumbing",
            address="3 C St, Carmel, IN 46032, USA",
            zip_code="46032",
            status="CLOSED_PERMANENTLY",
            open_now=None,
        ),
        place("ChIJfew", "New Plumbing", address="4 D St, Carmel, IN 46032, USA", zip_code="46032", reviews=None),
    ]
    fake_places.set_results("plumbing near 46032", page_one + page_two)

    found = discovery.discover(db_session, admin, "46032", "plumbing")
    db_session.commit()

    assert len(found) == 24 and all(p.source == "google" for p in found)
    requests = fake_places.requests
    assert [r.status for r in requests] == [200, 200]  # two pages, following nextPageToken
    first, second = requests
    assert first.path == "/v1/places:searchText" and first.method == "POST"
    assert first.headers["x-goog-api-key"] == fake_places.api_key
    mask = set(first.headers["x-goog-fieldmask"].split(","))
    assert {"places.id", "places.displayName", "places.rating", "places.userRatingCount", "nextPageToken"} <= mask
    assert first.body == {"textQuery": "plumbing near 46032", "pageSize": 20}
    assert second.body["pageToken"] == first.response["nextPageToken"]
    rows = by_name(found)
    good = rows["Plumber 07"]
    assert (good.place_id, good.phone, good.zip, good.website) == (
        "ChIJgood07",
        "+13175550107",
        "46032",
        "https://p7.example.com",
    )
    assert (good.rating, good.review_count, good.open_now, good.status) == (4.5, 25, True, "found")
    assert good.address == "7 Main St, Carmel, IN 46032, USA"
    assert rows["Low Rated Plumbing"].disqualify_reason == "rating 3.0 is below 3.5"
    assert rows["Low Rated Plumbing"].zip == "46033"
    assert rows["No Phone Plumbing"].disqualify_reason == "no phone number"
    assert rows["Closed Plumbing"].disqualify_reason == "closed permanently"
    assert rows["New Plumbing"].disqualify_reason == "0 reviews (at least 5 needed)"


def test_google_places_failures_are_a_clear_message_and_store_nothing(
    db_session: Session, admin: User, fake_places: FakePlacesAPI
) -> None:
    fake_places.api_key = "AIza-another-projects-key"  # the key LeadApp sends is no longer valid
    with pytest.raises(UserError) as caught:
        discovery.discover(db_session, admin, "46032", "plumbing")
    assert "API key not valid" in caught.value.message
    assert fake_places.requests[-1].status == 400
    assert count(db_session, Prospect) == 0


def test_the_fake_refuses_what_google_refuses(fake_places: FakePlacesAPI) -> None:
    url = fake_places.url + "/v1/places:searchText"
    key = {"X-Goog-Api-Key": fake_places.api_key}
    mask = {"X-Goog-FieldMask": "places.id"}
    assert httpx.post(url, json={"textQuery": "x"}, headers=mask).status_code == 403
    no_mask = httpx.post(url, json={"textQuery": "x"}, headers=key)
    assert no_mask.status_code == 400 and "FieldMask" in no_mask.json()["error"]["message"]
    assert (
        httpx.post(url, json={"textQuery": "x"}, headers={**key, "X-Goog-FieldMask": "places.nope"}).status_code == 400
    )
    assert httpx.post(url, json={"query": "x"}, headers={**key, **mask}).status_code == 400
    assert httpx.post(url, json={"textQuery": ""}, headers={**key, **mask}).status_code == 400
    assert httpx.post(url, json={"textQuery": "x"}, headers={**key, **mask}).json() == {}


def test_places_parse_prefers_the_business_status_and_reads_the_zip() -> None:
    raw = place("id1", "A", address="5 E St, New York, NY 10001, USA", zip_code="10001", status="", open_now=False)
    del raw["businessStatus"]
    parsed = places.parse_place(raw)
    assert parsed is not None and (parsed.zip, parsed.in_business) == ("10001", False)
    del raw["addressComponents"]
    assert places.parse_place(raw).zip == "10001"  # from the formatted address
    assert places.parse_place({"id": "x"}) is None


# --- invitations ----------------------------------------------------------------------------------


def test_invite_sends_an_email_with_working_signed_links_and_schedules_follow_ups(
    db_session: Session, admin: User
) -> None:
    prospect, invitation = invited(db_session, admin)
    db_session.refresh(prospect)

    token = links.invitation_token(invitation)
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()  # only the hash is stored
    assert (prospect.status, prospect.email, invitation.email) == ("invited", "pat@rooter.example.com", prospect.email)
    assert invitation.created_by_id == admin.id
    assert invitation.next_followup_at == invitation.sent_at + timedelta(days=3)

    email = invitation_email(db_session, invitation)
    assert email is not None
    assert (email.kind, email.channel, email.recipient, email.status) == (
        "invitation",
        "email",
        "pat@rooter.example.com",
        "pending",
    )
    app_url = get_settings().app_url.rstrip("/")
    found = LINK.findall(email.body_text)
    signup = f"{app_url}/register?role=business_owner&invite={token}"
    leave = f"{app_url}/unsubscribe/{token}"
    assert found == [signup, leave]
    assert f'href="{escape(signup)}"' in email.body_html and f'href="{leave}"' in email.body_html
    assert "Carmel Rooter Pros" in email.subject

    # The links work: the token from the email finds the invitation; a forged one does not.
    token_in_email = found[0].rsplit("invite=", 1)[1]
    assert discovery.click(db_session, token_in_email).id == invitation.id
    db_session.commit()
    db_session.refresh(prospect)
    db_session.refresh(invitation)
    assert prospect.status == "clicked" and invitation.clicked_at is not None
    forged = f"{invitation.id}.{'A' * 32}"
    assert discovery.click(db_session, forged) is None
    assert discovery.unsubscribe(db_session, forged) is None
    assert discovery.invitation_for_token(db_session, "") is None

    # The send job is queued, and the three follow-ups scheduled at day 3, 7 and 14.
    q = queue(NOTIFICATIONS)
    assert email.id is not None and q.fetch_job(f"notify-{email.id}").get_status() == "queued"
    registry = ScheduledJobRegistry(queue=q)
    for number, days in discovery.FOLLOWUP_DAYS.items():
        job = q.fetch_job(f"invitation-{invitation.id}-followup-{number}")
        assert job is not None and job.func_name == "worker.jobs.invitation_followup"
        assert job.args == (invitation.id, number)
        when = registry.get_scheduled_time(job)
        assert abs((when - (invitation.sent_at + timedelta(days=days))).total_seconds()) < 1

    event = db_session.exec(select(AuditEvent).where(AuditEvent.action == "invitation.send")).one()
    assert event.actor_id == admin.id and event.target_type == "invitations"
    assert event.after["email"] == "pat@rooter.example.com"


def test_invite_is_idempotent_per_prospect_and_address(db_session: Session, admin: User) -> None:
    prospect, invitation = invited(db_session, admin)
    again = discovery.invite(db_session, admin, prospect.id, " PAT@rooter.example.com ")
    assert again.id == invitation.id
    assert count(db_session, Invitation) == 1 and count(db_session, Notification) == 1
    assert len(ScheduledJobRegistry(queue=queue(NOTIFICATIONS)).get_job_ids()) == 3
    with pytest.raises(UserError) as caught:
        discovery.invite(db_session, admin, prospect.id, "someone-else@rooter.example.com")
    assert caught.value.field == "email" and "already invited" in caught.value.message


def test_invite_refusals(db_session: Session, admin: User) -> None:
    rows = by_name(discovery.discover(db_session, admin, "46032", "plumbing"))
    db_session.commit()
    with pytest.raises(UserError, match=r"does not qualify: rating 3\.1"):
        discovery.invite(db_session, admin, rows["Drip Fix Carmel"].id, "a@drip.example.com")
    with pytest.raises(NotFound):
        discovery.invite(db_session, admin, 999_999, "a@example.com")
    with pytest.raises(UserError) as caught:
        discovery.invite(db_session, admin, rows["Carmel Rooter Pros"].id, "not an email")
    assert caught.value.field == "email"

    # An address that unsubscribed is never invited again, whatever the business.
    _, invitation = invited(db_session, admin, email="owner@rooter.example.com")
    discovery.unsubscribe(db_session, links.invitation_token(invitation))
    db_session.commit()
    with pytest.raises(UserError, match="unsubscribed") as caught:
        discovery.invite(db_session, admin, rows["Westfield Family Plumbing"].id, "owner@rooter.example.com")
    assert caught.value.field == "email"
    assert count(db_session, Invitation) == 1


# --- follow-ups and what stops them ----------------------------------------------------------------


def test_follow_up_is_sent_once_and_unsubscribe_stops_the_rest(db_session: Session, admin: User) -> None:
    _, invitation = invited(db_session, admin)
    assert discovery.invitation_followup(invitation.id, 1) == "sent"
    assert discovery.invitation_followup(invitation.id, 1) == "already_sent"
    db_session.refresh(invitation)
    assert invitation.followups_sent == 1
    assert invitation.next_followup_at == invitation.sent_at + timedelta(days=7)
    followup = invitation_email(db_session, invitation, "followup:1")
    assert followup is not None and followup.kind == "invitation_followup"
    assert LINK.findall(followup.body_text) == LINK.findall(invitation_email(db_session, invitation).body_text)

    token = links.invitation_token(invitation)
    assert discovery.unsubscribe(db_session, token).id == invitation.id
    assert discovery.unsubscribe(db_session, token).id == invitation.id  # twice is fine
    db_session.commit()
    db_session.refresh(invitation)
    prospect = db_session.get(Prospect, invitation.prospect_id)
    assert prospect.status == "unsubscribed"
    assert (invitation.stopped_reason, invitation.next_followup_at) == ("unsubscribed", None)
    assert invitation.unsubscribed_at is not None
    assert discovery.invitation_followup(invitation.id, 2) == "stopped:unsubscribed"
    assert invitation_email(db_session, invitation, "followup:2") is None
    event = db_session.exec(select(AuditEvent).where(AuditEvent.action == "invitation.unsubscribe")).one()
    assert event.actor_id is None and event.after == {"prospect_status": "unsubscribed"}


def test_activation_through_the_link_stops_follow_ups(db_session: Session, admin: User) -> None:
    prospect, invitation = invited(db_session, admin)
    user = accounts.register(db_session, "pat.new@rooter.example.com", PASSWORD, "business_owner")
    token = links.invitation_token(invitation)
    assert discovery.activate_invitation(db_session, token, user).id == invitation.id
    assert discovery.activate_invitation(db_session, token, user).id == invitation.id
    assert discovery.activate_invitation(db_session, "nonsense", user) is None
    db_session.commit()
    db_session.refresh(invitation)
    db_session.refresh(prospect)
    assert prospect.status == "activated"
    assert invitation.activated_at is not None and invitation.clicked_at is not None
    assert invitation.stopped_reason == "activated"
    assert discovery.invitation_followup(invitation.id, 1) == "stopped:activated"
    assert invitation_email(db_session, invitation, "followup:1") is None
    events = db_session.exec(select(AuditEvent).where(AuditEvent.action == "invitation.activate")).all()
    assert [e.actor_id for e in events] == [user.id]
    # Unsubscribing later keeps the business activated.
    discovery.unsubscribe(db_session, token)
    db_session.commit()
    db_session.refresh(prospect)
    assert prospect.status == "activated"


def test_signing_up_without_the_link_also_stops_follow_ups(db_session: Session, admin: User) -> None:
    _, invitation = invited(db_session, admin)
    accounts.register(db_session, "pat@rooter.example.com", PASSWORD, "business_owner")
    db_session.commit()
    assert discovery.invitation_followup(invitation.id, 1) == "stopped:signed_up"
    db_session.refresh(invitation)
    assert (invitation.stopped_reason, invitation.followups_sent) == ("signed_up", 0)


def test_a_changed_secret_key_stops_follow_ups_rather_than_send_dead_links(
    db_session: Session, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, invitation = invited(db_session, admin)
    monkeypatch.setenv("SECRET_KEY", "a-brand-new-secret")
    get_settings.cache_clear()
    assert discovery.invitation_followup(invitation.id, 1) == "stopped:link_key_changed"
    assert invitation_email(db_session, invitation, "followup:1") is None


def test_the_sweeper_enqueues_only_the_latest_overdue_follow_up(db_session: Session, admin: User) -> None:
    _, invitation = invited(db_session, admin)
    for job_id in ScheduledJobRegistry(queue=queue(NOTIFICATIONS)).get_job_ids():
        Job.fetch(job_id, connection=get_redis()).delete()  # the scheduled jobs were lost (Redis flushed)
    assert discovery.sweep_followups() == 0  # nothing overdue yet

    row = db_session.get(Invitation, invitation.id)
    row.sent_at = utcnow() - timedelta(days=8)
    row.next_followup_at = row.sent_at + timedelta(days=3)
    db_session.add(row)
    db_session.commit()
    assert discovery.sweep_followups() == 1
    job = queue(NOTIFICATIONS).fetch_job(f"invitation-{invitation.id}-followup-2")
    assert job is not None and job.get_status() == "queued" and job.args == (invitation.id, 2)
    assert discovery.sweep_followups() == 1  # already waiting: not enqueued twice
    assert queue(NOTIFICATIONS).job_ids.count(job.id) == 1


# --- the funnel -----------------------------------------------------------------------------------


def test_funnel_counts_per_zip_and_category(db_session: Session, admin: User) -> None:
    carmel = by_name(discovery.discover(db_session, admin, "46032", "plumbing"))
    ny = by_name(discovery.discover(db_session, admin, "10001", "electrical"))
    db_session.commit()
    invitations = {
        name: discovery.invite(db_session, admin, prospects[name].id, f"{i}@biz.example.com")
        for i, (name, prospects) in enumerate(
            [
                ("Carmel Rooter Pros", carmel),
                ("Monon Trail Plumbing", carmel),
                ("Westfield Family Plumbing", carmel),
                ("Empire Electric NYC", ny),
            ]
        )
    }
    owner = accounts.register(db_session, "new-owner@biz.example.com", PASSWORD, "business_owner")
    discovery.click(db_session, links.invitation_token(invitations["Monon Trail Plumbing"]))
    discovery.activate_invitation(db_session, links.invitation_token(invitations["Carmel Rooter Pros"]), owner)
    discovery.unsubscribe(db_session, links.invitation_token(invitations["Westfield Family Plumbing"]))
    discovery.click(db_session, links.invitation_token(invitations["Empire Electric NYC"]))
    db_session.commit()

    rows = {(r.zip, r.category): r for r in discovery.funnel(db_session, admin)}
    assert rows[("46032", "plumbing")] == discovery.FunnelRow("46032", "plumbing", 3, 2, 2, 2, 1, 0)
    assert rows[("46074", "plumbing")] == discovery.FunnelRow("46074", "plumbing", 1, 1, 1, 0, 0, 1)
    assert rows[("46033", "plumbing")].found == 2 and rows[("46033", "plumbing")].invited == 0
    assert rows[("10001", "electrical")] == discovery.FunnelRow("10001", "electrical", 2, 2, 1, 1, 0, 0)
    assert sum(r.found for r in rows.values()) == 7 + 3

    only = discovery.funnel(db_session, admin, zip_code="10001")
    assert [(r.zip, r.category) for r in only] == [("10001", "electrical")]
    assert discovery.funnel(db_session, admin, category="hvac") == []
    total = discovery.funnel_total(db_session, admin)
    assert (total.found, total.qualified, total.invited, total.clicked, total.activated, total.unsubscribed) == (
        10,
        5,
        4,
        3,
        1,
        1,
    )
    plumbing = discovery.funnel_total(db_session, admin, category="plumbing")
    assert (plumbing.found, plumbing.invited, plumbing.clicked) == (7, 3, 2)


# --- access ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["anonymous", "consumer", "business_owner", "disabled_admin"])
def test_non_admins_are_refused_everything(
    db_session: Session, admin: User, others: dict[str, User | None], who: str
) -> None:
    prospect, _ = invited(db_session, admin)
    user = others[who]
    calls = [
        lambda: discovery.discover(db_session, user, "46032", "plumbing"),
        lambda: discovery.invite(db_session, user, prospect.id, "x@example.com"),
        lambda: discovery.funnel(db_session, user),
        lambda: discovery.funnel_total(db_session, user),
        lambda: discovery.get_prospects(db_session, user, [prospect.id]),
        lambda: discovery.invitations_for(db_session, user, [prospect.id]),
    ]
    for call in calls:
        with pytest.raises(NotAllowed):
            call()
    db_session.rollback()
    assert count(db_session, Invitation) == 1
    actions = db_session.exec(select(AuditEvent.action).where(AuditEvent.action != "user.register")).all()
    assert sorted(a for a in actions if a != "user.make_admin") == ["invitation.send", "prospects.discover"]
