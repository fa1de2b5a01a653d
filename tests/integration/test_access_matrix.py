"""Tenant isolation, enumerated: every page's server-side guard, and every data-reading or data-changing
service the pages, API routes and jobs call, tried by anonymous, consumer A, consumer B, business X,
business Y and an admin on seeded data. Each sees and changes exactly what it should.

Each test runs three times: on SQLite (the access layer's filters only), on PostgreSQL as the application role
(the filters, then row-level security), and on PostgreSQL with the access layer's row checks switched off
(row-level security alone). Before each call the session acts for the caller, as a page's handler does."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
import redis
from sqlmodel import Session, select

from leadapp.core import links, rls
from leadapp.core.errors import NotAllowed, NotFound, UserError
from leadapp.core.models import (
    Business,
    Call,
    Conversion,
    Lead,
    Notification,
    Quote,
    ThreadMessage,
    User,
    utcnow,
)
from leadapp.core.services import access, accounts, calls, contact, inbox, messages, portal, quotes
from leadapp.core.services.access import Area
from tests import factories
from tests.conftest import clear_app_caches, deployment_env, use_env

ROLES = ("anonymous", "consumer_a", "consumer_b", "business_x", "business_y", "admin")


@dataclass
class World:
    session: Session
    users: dict[str, User | None]
    business_x: int
    business_y: int
    lead_a: int
    match_x: int
    consent_at: datetime | None

    def as_(self, role: str) -> User | None:
        """The session acts for `role` from now on (what `AuthState._load_user` does); returns its user."""
        user = self.users[role]
        access.enter(self.session, user)
        return user


@pytest.fixture(params=["sqlite", "postgres", "rls-alone"])
def matrix_db(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, private_redis_url: str) -> Iterator[str]:
    """The database of one run: SQLite, walled PostgreSQL, or walled PostgreSQL with the row checks off."""
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "walled_db")
    url = url if isinstance(url, str) else url.app_url
    env = deployment_env(private_redis_url, ACCESS_ROW_CHECKS_OFF="true" if request.param == "rls-alone" else "false")
    prefix = env["REDIS_PREFIX"]
    use_env(monkeypatch, env)
    yield url
    client = redis.Redis.from_url(private_redis_url, socket_connect_timeout=2, socket_timeout=5)
    try:
        stale = list(client.scan_iter(match=f"*{prefix}*"))
        if stale:
            client.delete(*stale)
    finally:
        client.close()
    clear_app_caches()


@pytest.fixture
def world(matrix_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    from leadapp.core.db import get_engine

    monkeypatch.setattr("leadapp.core.services.notify.send_batch", lambda ids: {})  # no sending needed here
    with Session(get_engine(), expire_on_commit=False) as s:
        with rls.system_context("test: seed the service matrix"):
            world = _seed(s)
            s.commit()
        yield world


def _seed(s: Session) -> World:
    users: dict[str, User | None] = {"anonymous": None}
    for role, kind in [
        ("consumer_a", "consumer"),
        ("consumer_b", "consumer"),
        ("business_x", "business_owner"),
        ("business_y", "business_owner"),
    ]:
        users[role] = accounts.register(s, f"{role}@example.com", "a long enough password", kind)
    users["admin"] = accounts.ensure_admin(s, "admin@example.com", "a long enough password")
    places = {"x": ("46032", 39.97, -86.12, 30), "y": ("10001", 40.75, -73.99, 10)}
    x, y = (
        factories.business_in(
            s,
            users[f"business_{key}"],
            f"{key.upper()} Plumbing",
            zip_code,
            lat,
            lng,
            radius_miles=radius,
            monthly_lead_cap=100,
            notify_email=f"{key}@example.com",
        )
        for key, (zip_code, lat, lng, radius) in places.items()
    )
    s.commit()
    [match] = factories.matched_lead(
        s,
        factories.consented_submission(
            "My water heater is leaking all over the garage floor, need someone today, budget around $500",
            "46032",
            "(317) 846-2200",
            "a@example.com",
            consumer_id=users["consumer_a"].id,
        ),
    )
    lead = s.get(Lead, match.lead_id)
    assert match.business_id == x.id
    return World(s, users, x.id, y.id, lead.id, match.id, lead.consent_at)


def outcome(fn: Callable[[], object]) -> str:
    try:
        fn()
    except (NotAllowed, NotFound):
        return "refused"
    except UserError:
        return "refused"
    return "ok"


def test_inbox_lists_a_lead_only_for_its_business(world: World):
    s = world.session
    expected = {
        "anonymous": "refused",
        "consumer_a": "refused",
        "consumer_b": "refused",
        "business_x": "ok",
        "business_y": "refused",
        "admin": "ok",
    }
    for role in ROLES:
        user = world.as_(role)
        got = outcome(lambda: inbox.inbox(s, user, world.business_x, inbox.InboxFilters()))
        assert got == expected[role], role
    rows_y, _ = inbox.inbox(s, world.as_("business_y"), world.business_y, inbox.InboxFilters())
    assert rows_y == []


@pytest.mark.parametrize(
    ("action", "allowed"),
    [
        ("lead_detail", {"business_x", "admin"}),
        ("accept", {"business_x", "admin"}),
        ("decline", {"business_x", "admin"}),
    ],
)
def test_lead_detail_and_responses(world: World, action: str, allowed: set[str]):
    s = world.session
    for role in ROLES:
        user = world.as_(role)
        if action == "lead_detail":
            fn = lambda: inbox.lead_detail(s, user, world.match_x)  # noqa: E731
        else:
            fn = lambda: inbox.respond(s, user, world.match_x, accept=action == "accept")  # noqa: E731
        got = outcome(fn)
        s.rollback()
        assert got == ("ok" if role in allowed else "refused"), (action, role)


def test_contact_is_hidden_until_accepted(world: World):
    s = world.session
    owner = world.as_("business_x")
    before = inbox.lead_detail(s, owner, world.match_x)
    assert before["contact_email"] == "" and before["contact_phone"] == "" and not before["contact_visible"]
    inbox.respond(s, owner, world.match_x, accept=True)
    after = inbox.lead_detail(s, owner, world.match_x)
    assert after["contact_email"] == "a@example.com" and after["contact_phone"] == "+13178462200"


def test_ai_call_request_only_by_the_matched_business_and_only_after_acceptance(world: World):
    s = world.session
    owner = world.as_("business_x")
    with pytest.raises(UserError, match="Accept the lead first"):
        calls.request_call(s, owner, world.match_x)
    inbox.respond(s, owner, world.match_x, accept=True)
    s.commit()
    for role in ("anonymous", "consumer_a", "consumer_b", "business_y"):
        user = world.as_(role)
        assert outcome(lambda: calls.request_call(s, user, world.match_x)) == "refused"
        s.rollback()
    owner = world.as_("business_x")
    call = calls.request_call(s, owner, world.match_x, objective="confirm the leak")
    assert call.consent_at == world.consent_at and call.status in ("requested", "scheduled")
    with pytest.raises(UserError, match="already requested"):
        calls.request_call(s, owner, world.match_x)
    world.as_("admin")
    assert len(s.exec(select(Call)).all()) == 1


def test_quotes_are_sent_read_and_accepted_only_by_their_owners(world: World):
    """Only business X (whose match is accepted) quotes; only consumer A accepts; each wall alone stops the rest,
    and the consumer's accept writes the conversion, the decline notices and the statuses through its own walls."""
    s = world.session
    inbox.respond(s, world.as_("business_x"), world.match_x, accept=True)
    s.commit()
    day = (utcnow() + timedelta(days=7)).date().isoformat()
    form = {"amount_min": "400", "amount_max": "600", "included": "Parts and labour", "valid_until": day}
    for role in ROLES:
        if role == "business_x":
            continue
        user = world.as_(role)
        assert outcome(lambda: quotes.send_quote(s, user, world.match_x, form)) == "refused", role
        s.rollback()
    quote_id = quotes.send_quote(s, world.as_("business_x"), world.match_x, form).id
    s.commit()
    for role in ("anonymous", "consumer_b", "business_y"):
        user = world.as_(role)
        assert outcome(lambda: quotes.quotes_for_match(s, user, world.match_x)) == "refused", role
    assert portal.consumer_leads(s, world.as_("consumer_b")) == []
    [card] = portal.consumer_leads(s, world.as_("consumer_a"))
    assert [q["amount"] for q in card["quotes"]] == ["$400–$600"]
    for role in ("anonymous", "consumer_b", "business_x", "business_y", "admin"):
        user = world.as_(role)
        assert outcome(lambda: quotes.accept_quote(s, user, quote_id)) == "refused", role
        s.rollback()
    # Another request's tracking link, whoever holds it (logged in or not), accepts nothing here; nor a forged one.
    world.as_("admin")
    with access.as_system(s, "test: consumer B's other request"):
        other = Lead(raw_text="Another request: the roof leaks", zip="10001", consumer_id=world.users["consumer_b"].id)
        s.add(other)
        s.flush()
        other_id = other.id
    s.commit()
    for token in (links.magic_token(other_id), links.magic_token(world.lead_a)[:-2] + "xx"):  # type: ignore[arg-type]
        for role in ROLES:
            world.as_(role)
            assert outcome(lambda: quotes.accept_quote(s, access.MagicGrant(token), quote_id)) == "refused", role
            s.rollback()
    quotes.accept_quote(s, world.as_("consumer_a"), quote_id)
    s.commit()
    world.as_("admin")
    s.expire_all()
    assert s.get(Quote, quote_id).status == "accepted"  # type: ignore[union-attr]
    assert [c.job_value_cents for c in s.exec(select(Conversion)).all()] == [60_000]
    assert s.exec(select(Notification).where(Notification.kind == "quote_accepted")).first() is not None
    assert s.get(Lead, world.lead_a).status == "converted"  # type: ignore[union-attr]


def test_threads_are_read_and_written_only_by_their_two_sides(world: World):
    """Before business X accepts there is no thread for anyone; after, only consumer A and business X write in it
    and read it, an admin reads it; business Y, consumer B and an anonymous visitor are refused reading and
    writing, with each wall alone (the access layer's checks, or row-level security) and nothing stored."""
    s = world.session
    for role in ROLES:
        user = world.as_(role)
        assert outcome(lambda: messages.post_message(s, user, world.match_x, "Hello")) == "refused", role
        s.rollback()
    inbox.respond(s, world.as_("business_x"), world.match_x, accept=True)
    s.commit()
    for role in ("anonymous", "consumer_b", "business_y", "admin"):
        user = world.as_(role)
        assert outcome(lambda: messages.post_message(s, user, world.match_x, "Give me the number")) == "refused", role
        s.rollback()
    messages.post_message(s, world.as_("consumer_a"), world.match_x, "Can you come Tuesday?")
    s.commit()
    messages.post_message(s, world.as_("business_x"), world.match_x, "Yes, 9am.")
    s.commit()
    for role in ("anonymous", "consumer_b", "business_y"):
        user = world.as_(role)
        assert outcome(lambda: messages.thread(s, user, world.match_x)) == "refused", role
        s.rollback()
    assert portal.consumer_leads(s, world.as_("consumer_b")) == []
    for role in ("consumer_a", "business_x", "admin"):
        view = messages.thread(s, world.as_(role), world.match_x)
        assert [m["body"] for m in view["messages"]] == ["Can you come Tuesday?", "Yes, 9am."], role  # type: ignore[union-attr]
    [card] = portal.consumer_leads(s, world.as_("consumer_a"))
    assert [len(t["messages"]) for t in card["threads"]] == [2]
    if s.get_bind().dialect.name == "postgresql":  # row-level security: Y and B read no row of X's thread
        for role in ("business_y", "consumer_b", "anonymous"):
            world.as_(role)
            assert s.exec(select(ThreadMessage)).all() == [], role
    world.as_("admin")
    assert [m.side for m in s.exec(select(ThreadMessage).order_by(ThreadMessage.id)).all()] == ["consumer", "business"]
    told = s.exec(select(Notification).where(Notification.kind == "thread_message")).all()
    assert {n.user_id for n in told} == {world.users["business_x"].id, world.users["consumer_a"].id}  # type: ignore[union-attr]


def test_consumer_sees_only_their_own_requests(world: World):
    s = world.session
    assert [r["lead"]["id"] for r in portal.consumer_leads(s, world.as_("consumer_a"))] == [str(world.lead_a)]
    assert portal.consumer_leads(s, world.as_("consumer_b")) == []
    for role in ("anonymous", "business_x", "business_y"):
        user = world.as_(role)
        assert outcome(lambda: portal.consumer_leads(s, user)) == "refused", role
    matched = portal.consumer_leads(s, world.as_("consumer_a"))[0]["matches"]
    assert matched and all("email" not in m and "phone" not in m for m in matched)


def test_admin_only_reads(world: World):
    s = world.session
    for role in ROLES:
        user = world.as_(role)
        got = outcome(lambda: contact.list_messages(s, user))
        assert got == ("ok" if role == "admin" else "refused"), role


def test_every_protected_page_has_a_server_side_guard():
    """Walk the app's pages: each one outside the public set runs AuthState.guard(<area>) on load."""
    from leadapp import routes
    from leadapp.leadapp import app

    public = {
        routes.HOME,
        routes.FOR_BUSINESSES,
        routes.PRICING,
        routes.ABOUT,
        routes.CONTACT,
        routes.LOGIN,
        routes.REGISTER,
        routes.REQUEST,
        routes.INTERVIEW,
        routes.PORTAL_TRACK,
        routes.RESET_PASSWORD,
        routes.FORGOT_PASSWORD,
        routes.VERIFY_EMAIL,
        routes.UNSUBSCRIBE,
        routes.REVIEW,
        routes.PRO,
    }
    expected_area = {"/portal": Area.CONSUMER, "/dashboard": Area.BUSINESS, "/admin": Area.ADMIN}
    seen = []
    for route, unevaluated in app._unevaluated_pages.items():
        path = "/" + route.strip("/") if route != "index" else "/"
        path = "/" if path in ("/index", "/") else path
        on_load = unevaluated.on_load
        events = on_load if isinstance(on_load, list) else [on_load] if on_load is not None else []
        guards = [
            e
            for e in events
            if getattr(getattr(e, "handler", None), "fn", None) is not None and e.handler.fn.__name__ == "guard"
        ]
        if path in public:
            continue
        seen.append(path)
        assert guards, f"{path} has no server-side guard"
        area = str(guards[0].args[0][1]).strip('"')
        prefix = next(p for p in expected_area if path.startswith(p))
        assert area == expected_area[prefix].value, (path, area)
    assert {"/portal", "/dashboard", "/admin", "/admin/health"} <= set(seen)


def test_reviews_are_written_replied_and_hidden_only_by_their_owners(world: World):
    """Only the holder of the job's review link (or consumer A's account) reviews; only business X replies; only an
    admin hides. Each wall alone stops the rest, and the link's holder writes the review and the business's rating
    through its own walls (an anonymous visitor holding only the link)."""
    from leadapp.core.models import Review
    from leadapp.core.services import reviews

    s = world.session
    inbox.respond(s, world.as_("business_x"), world.match_x, accept=True)
    s.commit()
    inbox.mark_converted(s, world.as_("business_x"), world.match_x, "450")
    s.commit()
    world.as_("admin")
    conversion_id = s.exec(select(Conversion.id)).one()
    form = {"stars": "5", "text": "Great"}
    for role in ("anonymous", "consumer_b", "business_x", "business_y", "admin"):
        user = world.as_(role)
        assert outcome(lambda: reviews.submit_review(s, user, form, conversion_id=conversion_id)) == "refused", role
        s.rollback()
    world.as_("anonymous")
    forged = reviews.ReviewLink(links.review_token(conversion_id, world.lead_a)[:-4] + "AAAA")
    assert outcome(lambda: reviews.submit_review(s, forged, form)) == "refused"
    s.rollback()
    world.as_("anonymous")
    review_id = reviews.submit_review(s, reviews.ReviewLink(links.review_token(conversion_id, world.lead_a)), form).id
    s.commit()
    world.as_("anonymous")
    used = reviews.ReviewLink(links.review_token(conversion_id, world.lead_a))
    assert outcome(lambda: reviews.submit_review(s, used, form)) == "refused"
    s.rollback()
    for role in ("anonymous", "consumer_a", "consumer_b", "business_y", "admin"):
        user = world.as_(role)
        assert outcome(lambda: reviews.reply_to_review(s, user, review_id, "Thanks")) == "refused", role
        s.rollback()
    reviews.reply_to_review(s, world.as_("business_x"), review_id, "Thanks")
    s.commit()
    for role in ("anonymous", "consumer_a", "consumer_b", "business_x", "business_y"):
        user = world.as_(role)
        assert outcome(lambda: reviews.hide_review(s, user, review_id, "Spam")) == "refused", role
        s.rollback()
    [card] = portal.consumer_leads(s, world.as_("consumer_a"))
    assert (card["review"]["stars"], card["review"]["reply"]) == ("5", "Thanks")
    assert [m["rating_label"] for m in card["matches"]] == ["★ 4.2 (1 verified review)"]
    reviews.hide_review(s, world.as_("admin"), review_id, "Spam")
    s.commit()
    world.as_("admin")
    s.expire_all()
    review = s.get(Review, review_id)
    assert review is not None and review.hidden_reason == "Spam" and review.reply == "Thanks"
    business = s.get(Business, world.business_x)
    assert business is not None and business.verified_review_count == 0
    assert reviews.business_reviews(s, world.business_x) == []
