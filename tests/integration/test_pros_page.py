"""A business's public page (`pros.public_profile`, `/pros/<id>-<name>`), read by an anonymous visitor on SQLite and
on walled PostgreSQL: its public profile, the verified rating of its visible reviews, each with the business's reply
and the reviewer's first name and initial; a hidden review, the reviewers' contact details and the business's own
contact details never; an unverified, disabled or missing business has no page."""

from __future__ import annotations

from sqlmodel import select

from leadapp import routes
from leadapp.core import rls
from leadapp.core.db import session_scope
from leadapp.core.models import Business, Conversion, Review
from leadapp.core.services import access, inbox, pros, reviews
from tests import factories
from tests.integration import test_quote_notices
from tests.integration.test_quote_notices import World

# The same scenario as the quote notices, on both databases, under the name this module's tests ask for.
world = test_quote_notices.world

HIDDEN = "HIDDENQ9 rude words about the plumber"
SHOWN = "SHOWNQ9 fixed the valve in an hour"


def _convert_and_review(w: World, lead_id: int, match_id: int, stars: str, text: str) -> int:
    """The plumber marks the job done, the consumer reviews it from the portal; returns the review's id."""
    with session_scope() as s:
        access.enter(s, w.owner)
        inbox.mark_converted(s, w.owner, match_id, "450")
    with session_scope() as s:
        access.enter(s, w.consumer)
        conversion = s.exec(select(Conversion).where(Conversion.match_id == match_id)).one()
        assert conversion.lead_id == lead_id
        return reviews.submit_review(s, w.consumer, {"stars": stars, "text": text}, conversion.id).id  # type: ignore[return-value]


def _reviewed(w: World) -> tuple[int, int]:
    """Two of Casey's jobs done by Carmel Plumbing and reviewed: five stars answered by the owner, and one star
    that an admin hid. Returns (the shown review's id, the hidden one's)."""
    shown = _convert_and_review(w, w.lead.id, w.match.id, "5", SHOWN)  # type: ignore[arg-type]
    with rls.system_context("test: seed"), session_scope() as s:
        second = factories.lead(s, w.consumer, status="accepted")
        match = factories.match(s, second, w.business, status="accepted")
        second_lead, second_match = second.id, match.id
    hidden = _convert_and_review(w, second_lead, second_match, "1", HIDDEN)  # type: ignore[arg-type]
    with session_scope() as s:
        access.enter(s, w.owner)
        reviews.reply_to_review(s, w.owner, shown, "Thank you, Casey! REPLYQ9")
    with session_scope() as s:
        access.enter(s, w.admin)
        reviews.hide_review(s, w.admin, hidden, "Abusive language")
    return shown, hidden


def _public(business_id: int) -> dict | None:
    with session_scope(rls.ANONYMOUS_CONTEXT) as s:
        return pros.public_profile(s, business_id)


def test_an_anonymous_visitor_reads_the_profile_rating_and_visible_reviews_with_replies(world: World):
    w = world
    with rls.system_context("test: profile"), session_scope() as s:
        business = s.get(Business, w.business.id)
        assert business is not None
        business.city, business.state, business.radius_miles = "Carmel", "IN", 20
        business.description, business.licensed = "Family plumbers since 1990.", True
        business.notify_email, business.notify_phone, business.address = (
            "private@carmel.example",
            "+13175550000",
            "1 Main St",
        )
        s.add(business)
    shown, hidden = _reviewed(w)

    page = _public(w.business.id)  # type: ignore[arg-type]

    assert page is not None
    assert (page["name"], page["categories"], page["service_area"]) == (
        "Carmel Plumbing",
        ["Plumbing"],
        "Within 20 miles of Carmel, IN 46032",
    )
    assert (page["description"], page["licensed"], page["insured"]) == ("Family plumbers since 1990.", "yes", "")
    # The Bayesian rating of the one visible review (prior 4.0 weighing 5): (5 × 4 + 5) / 6.
    assert (page["rating"], page["review_count"], page["rating_label"]) == ("4.2", "1", "★ 4.2 (1 verified review)")
    assert [(r["id"], r["stars"], r["text"], r["reply"], r["reviewer"]) for r in page["reviews"]] == [
        (str(shown), "5", SHOWN, "Thank you, Casey! REPLYQ9", "Casey C.")
    ]
    # Never the hidden review, its reason, or anyone's contact details.
    everything = repr(page)
    for private in (
        HIDDEN,
        "Abusive language",
        "casey@example.com",
        "Casey Consumer",
        "plumber@example.com",
        "private@carmel.example",
        "+13175550000",
        "1 Main St",
        factories.PHONE,
    ):
        assert private not in everything, private
    # The review is still the consumer's and the business's to see, hidden or not (the page did not touch it).
    with rls.system_context("test: look"), session_scope() as s:
        assert s.get(Review, hidden).hidden_at is not None  # type: ignore[union-attr]


def test_a_business_without_reviews_reads_the_prior_as_no_reviews_yet(world: World):
    page = _public(world.other_business.id)  # type: ignore[arg-type]
    assert page is not None
    assert (page["review_count"], page["rating_label"], page["reviews"]) == ("0", "No verified reviews yet", [])


def test_an_unverified_disabled_or_missing_business_has_no_page(world: World):
    w = world
    with rls.system_context("test: unlist"), session_scope() as s:
        unverified = factories.business(s, w.owner, "Not Yet Plumbing", verified_at=None)
        disabled = factories.business(s, w.owner, "Closed Plumbing", is_active=False)
        ids = (unverified.id, disabled.id)
    for business_id in (*ids, 10**9, 0, -1):
        assert _public(business_id) is None, business_id  # type: ignore[arg-type]


def test_the_address_names_the_business_by_its_id_and_the_words_only_read_well():
    assert routes.pro(12, "Carmel Plumbing & Sons") == "/pros/12-carmel-plumbing-sons"
    assert routes.pro(12, "") == "/pros/12"
    for path, business_id in {
        "/pros/12-carmel-plumbing-sons": 12,
        "/pros/12-any-other-words": 12,
        "/pros/12": 12,
        "/pros/12/": 12,
        "/pros/carmel-12": 0,
        "/pros/-12": 0,
        "/pros/1e3-x": 0,
        "/pros/" + "9" * 30: 0,
    }.items():
        assert routes.pro_id_from_path(path) == business_id, path


def test_a_reviewer_is_named_by_first_name_and_initial_at_most():
    assert pros.reviewer_name("Casey Consumer") == "Casey C."
    assert pros.reviewer_name("mary ann o'neil") == "Mary O."
    assert pros.reviewer_name("Cher") == "Cher"
    for not_a_name in ("", "   ", "casey@example.com", "317 555 0123", "+13175550123 Casey"):
        assert pros.reviewer_name(not_a_name) == pros.ANONYMOUS_REVIEWER, not_a_name
    assert pros.reviewer_name("Casey casey@example.com") == "Casey"
