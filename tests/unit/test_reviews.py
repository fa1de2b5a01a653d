"""Verified reviews (`services.reviews`), on SQLite and PostgreSQL: a conversion (marked by the business, or a quote
accepted by the consumer) emails the consumer a signed review link; the link's holder or the consumer's account
reviews once; the business answers once; an admin hides one with a reason; the business's stored rating follows.
And the attacks, written as attacks: no converted job, a second review, a used, forged, expired or another purpose's
link, another consumer's job, another business replying, a second reply, a non-admin hiding — each refused with
nothing stored."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from sqlmodel import Session, select

from leadapp.core import crypto, links
from leadapp.core.errors import FieldErrors, NotAllowed, UserError
from leadapp.core.models import AuditEvent, Conversion, Match, Notification, Review, User
from leadapp.core.services import inbox, portal, quotes, reviews
from leadapp.core.services.access import NotLoggedIn
from leadapp.core.services.reviews import ReviewLink
from leadapp.core.vocab import LeadStatus, MatchStatus, NotificationKind
from tests import factories

World = factories.TwoBusinesses


@pytest.fixture
def world(db_session: Session) -> World:
    """One request (consumer Casey) accepted by two businesses; nothing converted yet."""
    return factories.two_businesses(db_session, accepted=True)


def _converted(s: Session, w: World) -> Conversion:
    conversion = inbox.mark_converted(s, w.owner, w.match.id, "450")
    s.commit()
    return conversion


def _emailed_token(s: Session) -> str:
    s.expire_all()
    [invite] = s.exec(select(Notification).where(Notification.kind == NotificationKind.REVIEW_INVITE.value)).all()
    found = re.search(r"/review/([A-Za-z0-9_\-.]+)", invite.body_text)
    assert found, invite.body_text
    return found.group(1)


def _reviews(s: Session) -> list[Review]:
    s.expire_all()
    return list(s.exec(select(Review).order_by(Review.id)).all())  # type: ignore[arg-type]


GOOD = {"stars": "5", "text": "Fixed the leak in an hour and cleaned up after."}


# --- the invitation and the review ---------------------------------------------------------------


def test_marking_converted_emails_a_review_link_that_reviews_once(db_session: Session, world: World):
    s, w = db_session, world
    conversion = _converted(s, w)
    s.expire_all()
    [invite] = s.exec(select(Notification).where(Notification.kind == NotificationKind.REVIEW_INVITE.value)).all()
    assert (invite.recipient, invite.channel, invite.lead_id) == ("casey@example.com", "email", w.lead.id)
    token = _emailed_token(s)

    page = reviews.review_page(s, ReviewLink(token))
    assert (page["business_name"], page["reviewed"]) == ("Carmel Plumbing", "")
    review = reviews.submit_review(s, ReviewLink(token), GOOD)
    s.commit()

    [stored] = _reviews(s)
    assert (stored.id, stored.conversion_id, stored.stars) == (review.id, conversion.id, 5)
    assert (stored.business_id, stored.consumer_id, stored.text) == (w.business.id, w.consumer.id, GOOD["text"])
    s.refresh(w.business)
    assert (w.business.verified_review_count, w.business.verified_stars_total) == (1, 5)
    assert reviews.review_page(s, ReviewLink(token))["reviewed"] == "yes"
    assert s.exec(select(AuditEvent).where(AuditEvent.action == "review.create")).first() is not None

    # The used link: refused, nothing more stored, the rating unchanged.
    with pytest.raises(UserError, match="already been reviewed"):
        reviews.submit_review(s, ReviewLink(token), {"stars": "1", "text": "Changed my mind"})
    s.rollback()
    assert [(r.stars, r.text) for r in _reviews(s)] == [(5, GOOD["text"])]


def test_converting_again_sends_no_second_invitation(db_session: Session, world: World):
    s, w = db_session, world
    _converted(s, w)
    inbox.mark_converted(s, w.owner, w.match.id, "500")
    s.commit()
    kinds = s.exec(select(Notification.kind).where(Notification.kind == NotificationKind.REVIEW_INVITE.value)).all()
    assert len(kinds) == 1


def test_an_accepted_quote_is_a_conversion_that_invites_a_review_too(db_session: Session, world: World):
    s, w = db_session, world
    quote = factories.quote(s, w.match)
    s.commit()
    quotes.accept_quote(s, w.consumer, quote.id)
    s.commit()
    token = _emailed_token(s)
    reviews.submit_review(s, ReviewLink(token), {"stars": "4", "text": ""})
    s.commit()
    [stored] = _reviews(s)
    assert (stored.business_id, stored.stars, stored.text) == (w.business.id, 4, "")


def test_the_consumer_reviews_from_the_portal_with_their_account(db_session: Session, world: World):
    s, w = db_session, world
    conversion = _converted(s, w)
    [card] = portal.consumer_leads(s, w.consumer)
    assert card["review"]["conversion_id"] == str(conversion.id) and card["review"]["reviewed"] == ""
    reviews.submit_review(s, w.consumer, {"stars": "3", "text": "Fine"}, conversion_id=conversion.id)
    s.commit()
    [card] = portal.consumer_leads(s, w.consumer)
    assert (card["review"]["reviewed"], card["review"]["stars"], card["review"]["text"]) == ("yes", "3", "Fine")
    with pytest.raises(UserError, match="already been reviewed"):
        reviews.submit_review(s, w.consumer, GOOD, conversion_id=conversion.id)
    s.rollback()
    assert len(_reviews(s)) == 1


@pytest.mark.parametrize(
    ("form", "errors"),
    [
        ({"stars": "", "text": "ok"}, {"stars": "Choose from 1 to 5 stars."}),
        ({"stars": "0", "text": "ok"}, {"stars": "Stars go from 1 to 5."}),
        ({"stars": "6", "text": "ok"}, {"stars": "Stars go from 1 to 5."}),
        ({"stars": "five", "text": "ok"}, {"stars": "Stars go from 1 to 5."}),
        ({"stars": "4", "text": "x" * 2001}, {"text": "Keep it to 2,000 characters (this is 2,001)."}),
        ({"stars": "9", "text": "x" * 2001}, {"stars": "Stars go from 1 to 5.", "text": "Keep it to 2,000"}),
    ],
)
def test_bad_input_names_each_field_and_stores_nothing(db_session: Session, world: World, form, errors):
    s, w = db_session, world
    _converted(s, w)
    token = _emailed_token(s)
    with pytest.raises(FieldErrors) as caught:
        reviews.submit_review(s, ReviewLink(token), form)
    s.rollback()
    assert list(caught.value.errors) == list(errors)
    for name, message in errors.items():
        assert caught.value.errors[name].startswith(message)
    assert _reviews(s) == []
    assert reviews.review_page(s, ReviewLink(token))["reviewed"] == ""  # the link still works


def test_exactly_2000_characters_and_each_star_count_are_accepted(db_session: Session, world: World):
    assert reviews.read_review({"stars": "1", "text": "x" * 2000}) == (1, "x" * 2000)
    assert reviews.read_review({"stars": " 5 ", "text": "  good  "}) == (5, "good")


# --- the attacks ----------------------------------------------------------------------------------


def test_no_converted_job_no_review(db_session: Session, world: World):
    """An accepted (not converted) job has no conversion: no link is minted, and a link forged for a made-up
    conversion id, or the consumer naming the job's ids from the portal, is refused."""
    s, w = db_session, world
    assert s.exec(select(Notification).where(Notification.kind == NotificationKind.REVIEW_INVITE.value)).all() == []
    with pytest.raises(NotAllowed, match="did a job for you"):
        reviews.submit_review(s, w.consumer, GOOD, conversion_id=999)
    s.rollback()
    with pytest.raises(NotAllowed, match="invalid or has expired"):
        reviews.submit_review(s, ReviewLink(links.review_token(999, w.lead.id)), GOOD)
    s.rollback()
    assert _reviews(s) == []


def test_a_conversion_of_a_match_no_longer_converted_takes_no_review(db_session: Session, world: World):
    s, w = db_session, world
    _converted(s, w)
    token = _emailed_token(s)
    match = s.get(Match, w.match.id)
    match.status = MatchStatus.ACCEPTED.value  # e.g. an admin undid the conversion
    s.add(match)
    s.commit()
    with pytest.raises(NotAllowed):
        reviews.submit_review(s, ReviewLink(token), GOOD)
    s.rollback()
    assert _reviews(s) == []


@pytest.mark.parametrize("how", ["forged", "tampered", "expired", "other purpose", "other lead", "empty"])
def test_a_bad_link_is_refused_and_stores_nothing(db_session: Session, world: World, how: str):
    s, w = db_session, world
    conversion = _converted(s, w)
    genuine = _emailed_token(s)
    body, mac = genuine.split(".", 1)
    token = {
        "forged": f"{body}.{'A' * len(mac)}",
        "tampered": crypto.sign("someone-else", {"conversion": conversion.id, "lead": w.lead.id, "iat": 1}, 60),
        "expired": crypto.sign(
            links.REVIEW_PURPOSE, {"conversion": conversion.id, "lead": w.lead.id, "iat": int(time.time())}, -10
        ),
        "other purpose": links.magic_token(w.lead.id),
        "other lead": links.review_token(conversion.id, w.lead.id + 1000),
        "empty": "",
    }[how]
    with pytest.raises(NotAllowed, match="invalid or has expired"):
        reviews.review_page(s, ReviewLink(token))
    with pytest.raises(NotAllowed, match="invalid or has expired"):
        reviews.submit_review(s, ReviewLink(token), GOOD)
    s.rollback()
    assert _reviews(s) == []


@pytest.mark.parametrize("who", ["other_consumer", "owner", "other_owner", "admin", "anonymous"])
def test_only_the_jobs_consumer_reviews_from_an_account(db_session: Session, world: World, who: str):
    s, w = db_session, world
    conversion = _converted(s, w)
    user = None if who == "anonymous" else getattr(w, who)
    with pytest.raises(NotAllowed if user is not None else NotLoggedIn):
        reviews.submit_review(s, user, GOOD, conversion_id=conversion.id)
    s.rollback()
    assert _reviews(s) == []
    if user is not None and user.role == "consumer":
        assert portal.consumer_leads(s, user) == []


# --- the reply and the hide -------------------------------------------------------------------------


def _reviewed(s: Session, w: World, stars: str = "5") -> Review:
    _converted(s, w)
    review = reviews.submit_review(s, ReviewLink(_emailed_token(s)), {"stars": stars, "text": "Great work"})
    s.commit()
    return review


def test_the_business_replies_once_and_the_consumer_reads_it(db_session: Session, world: World):
    s, w = db_session, world
    review = _reviewed(s, w)
    [mine] = reviews.own_reviews(s, w.owner)
    assert (mine["id"], mine["can_reply"], mine["business_name"]) == (str(review.id), "yes", "Carmel Plumbing")
    assert reviews.review_for_match(s, w.owner, w.match.id)["text"] == "Great work"  # type: ignore[index]
    reviews.reply_to_review(s, w.owner, review.id, "Thank you, Casey!")
    s.commit()
    [card] = portal.consumer_leads(s, w.consumer)
    assert card["review"]["reply"] == "Thank you, Casey!"
    with pytest.raises(UserError, match="already answered"):
        reviews.reply_to_review(s, w.owner, review.id, "And again")
    s.rollback()
    assert [r.reply for r in _reviews(s)] == ["Thank you, Casey!"]
    assert s.exec(select(AuditEvent).where(AuditEvent.action == "review.reply")).first() is not None


def _refused(s: Session, w: World, who: str, act: Callable[[User | None, int], object]) -> User | None:
    """`who` (one of the world's people, or "anonymous") tries `act` on a new review and is refused (rolled back);
    the user who tried."""
    review = _reviewed(s, w)
    user = None if who == "anonymous" else getattr(w, who)
    with pytest.raises(NotAllowed):
        act(user, review.id)  # type: ignore[arg-type]
    s.rollback()
    return user


@pytest.mark.parametrize("who", ["other_owner", "consumer", "other_consumer", "admin", "anonymous"])
def test_nobody_but_the_reviewed_business_replies(db_session: Session, world: World, who: str):
    s, w = db_session, world
    user = _refused(s, w, who, lambda u, review_id: reviews.reply_to_review(s, u, review_id, "Not mine to answer"))
    assert [r.reply for r in _reviews(s)] == [""]
    if who == "other_owner":
        assert reviews.own_reviews(s, user) == []
        with pytest.raises(NotAllowed):
            reviews.review_for_match(s, user, w.match.id)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("", "Write your reply first."),
        ("   ", "Write your reply first."),
        ("x" * 2001, "Keep it to 2,000 characters (this is 2,001)."),
    ],
)
def test_an_empty_or_long_reply_is_refused(db_session: Session, world: World, text: str, said: str):
    s, w = db_session, world
    review = _reviewed(s, w)
    with pytest.raises(UserError) as caught:
        reviews.reply_to_review(s, w.owner, review.id, text)
    assert (caught.value.field, caught.value.message) == ("reply", said)
    s.rollback()
    assert [r.replied_at for r in _reviews(s)] == [None]


def test_an_admin_hides_a_review_with_a_reason_and_it_leaves_every_view_and_the_rating(
    db_session: Session, world: World
):
    s, w = db_session, world
    review = _reviewed(s, w, stars="1")
    s.refresh(w.business)
    assert (w.business.verified_review_count, w.business.verified_stars_total) == (1, 1)
    with pytest.raises(UserError, match="Say why"):
        reviews.hide_review(s, w.admin, review.id, "  ")
    s.rollback()
    with pytest.raises(UserError, match=r"^Keep the reason to 500 characters\.$"):
        reviews.hide_review(s, w.admin, review.id, "x" * 501)
    s.rollback()
    reviews.hide_review(s, w.admin, review.id, "Abusive language")
    s.commit()
    [stored] = _reviews(s)
    assert (stored.hidden_reason, stored.hidden_by_id) == ("Abusive language", w.admin.id)
    s.refresh(w.business)
    assert (w.business.verified_review_count, w.business.verified_stars_total) == (0, 0)
    assert reviews.business_reviews(s, w.business.id) == []
    [event] = s.exec(select(AuditEvent).where(AuditEvent.action == "review.hide")).all()
    assert event.actor_id == w.admin.id and "Abusive language" in str(event.after)
    [card] = portal.consumer_leads(s, w.consumer)
    assert card["review"]["hidden"] == "yes" and card["review"]["text"] == ""
    with pytest.raises(UserError, match="hidden"):
        reviews.reply_to_review(s, w.owner, review.id, "Please reconsider")
    s.rollback()


@pytest.mark.parametrize("who", ["owner", "other_owner", "consumer", "anonymous"])
def test_nobody_but_an_admin_hides_a_review(db_session: Session, world: World, who: str):
    s, w = db_session, world
    _refused(s, w, who, lambda u, review_id: reviews.hide_review(s, u, review_id, "I do not like it"))
    assert [r.hidden_at for r in _reviews(s)] == [None]
    assert [v["text"] for v in reviews.business_reviews(s, w.business.id)] == ["Great work"]


# --- the rating -------------------------------------------------------------------------------------


def test_the_stored_rating_follows_the_visible_reviews_and_the_portal_shows_it(db_session: Session, world: World):
    s, w = db_session, world
    _reviewed(s, w, stars="5")
    [card] = portal.consumer_leads(s, w.consumer)
    shown = {m["name"]: m for m in card["matches"]}
    assert shown["Carmel Plumbing"]["rating_label"] == "★ 4.2 (1 verified review)"  # (5 × 4 + 5) / 6
    assert shown["Quick Drains"]["rating_label"] == "No verified reviews yet"


def test_the_bayesian_average(db_session: Session):
    rules = {"reviews": {"prior_rating": 4.0, "prior_weight": 5}}
    assert reviews.verified_rating(0, 0, rules) == 4.0
    assert reviews.verified_rating(5, 25, rules) == pytest.approx(4.5)
    assert reviews.verified_rating(95, 95, rules) == pytest.approx((20 + 95) / 100)
    assert reviews.verified_rating(3, 15, {"reviews": {"prior_rating": 3, "prior_weight": 0}}) == 5.0


def test_many_verified_five_stars_outrank_a_typed_five_in_matching(db_session: Session, world: World):
    """Ten verified five-star reviews (each of a job converted and reviewed through the service) lift Carmel
    Plumbing above a rival that typed a 5 from 500 reviews and has no verified one: the new lead's matches, scored
    by the one candidate query, rank them so, and the rival is rated at the prior."""
    from leadapp.core.services import match as matching
    from leadapp.core.services import rules

    s, w = db_session, world
    rival_owner = factories.owner(s, "rival@example.com")
    rival = factories.business(s, rival_owner, "Typed Five Plumbing", rating=5.0, review_count=500)
    for _ in range(10):
        job = factories.lead(s, w.consumer, status=LeadStatus.ACCEPTED.value)
        won = factories.match(s, job, w.business, status=MatchStatus.ACCEPTED.value)
        conversion = inbox.mark_converted(s, w.owner, won.id, "300")
        s.flush()
        reviews.submit_review(s, w.consumer, {"stars": "5", "text": ""}, conversion_id=conversion.id)
    s.commit()
    s.refresh(w.business)
    assert (w.business.verified_review_count, w.business.verified_stars_total) == (10, 50)

    fresh = factories.lead(s, w.consumer, status=LeadStatus.CLASSIFIED.value)
    s.commit()
    found = {m.business_id: m for m in matching.create_matches(s, fresh, rules.current_rules(s))}
    assert found[w.business.id].score > found[rival.id].score
    rated = {m.business_id: m.reasons for m in found.values()}
    assert "Verified rating 4.7 (10 reviews)" in rated[w.business.id]
    assert "No verified reviews yet (rated 4.0 until there are)" in rated[rival.id]


@pytest.mark.parametrize(
    ("rating", "weight", "errors"),
    [
        ("6", "5", {"review_prior_rating": "Enter a number from 1 to 5."}),
        ("0.5", "5", {"review_prior_rating": "Enter a number from 1 to 5."}),
        ("4", "-1", {"review_prior_weight": "Enter a whole number from 0 to 100."}),
        ("4", "2.5", {"review_prior_weight": "Enter a whole number from 0 to 100."}),
        ("x", "101", {"review_prior_rating": "Enter a number", "review_prior_weight": "Enter a whole number"}),
    ],
)
def test_the_reviews_prior_on_the_rules_form_is_validated(rating: str, weight: str, errors: dict[str, str]):
    from leadapp.core.services import rules

    form = {**rules.rules_to_form(rules.DEFAULT_RULES), "review_prior_rating": rating, "review_prior_weight": weight}
    with pytest.raises(FieldErrors) as caught:
        rules.rules_from_form(form, rules.DEFAULT_RULES)
    assert list(caught.value.errors) == list(errors)
    for name, message in errors.items():
        assert caught.value.errors[name].startswith(message)


def test_the_reviews_prior_round_trips_through_the_rules_form():
    from leadapp.core.services import rules

    form = rules.rules_to_form(rules.DEFAULT_RULES)
    assert (form["review_prior_rating"], form["review_prior_weight"]) == ("4", "5")
    saved = rules.rules_from_form({**form, "review_prior_rating": "3.5", "review_prior_weight": "10"}, {})
    assert saved["reviews"] == {"prior_rating": 3.5, "prior_weight": 10}
    assert reviews.verified_rating(10, 50, saved) == pytest.approx((35 + 50) / 20)
