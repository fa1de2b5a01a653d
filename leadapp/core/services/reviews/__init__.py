"""Verified reviews (issue 15, item 3): after a conversion the consumer gets a signed, single-use review link; they
rate the business once per job (1-5 stars and a few words), the business answers once, an admin may hide a review
with a reason; matching uses the Bayesian average of the visible verified reviews (`rating`), never a typed rating.

Modules: `service` (reviewing, replying, hiding, the stored rating, views), `rating` (the Bayesian average, pure),
`notices` (the consumer's review invitation).
"""

from __future__ import annotations

from leadapp.core.services.reviews.rating import prior, rating_label, verified_rating
from leadapp.core.services.reviews.service import (
    ALREADY_REVIEWED,
    BAD_LINK,
    FIELDS,
    NOT_YOUR_JOB,
    NOT_YOUR_REVIEW,
    ReviewLink,
    business_reviews,
    hide_review,
    invite_after_conversion,
    own_reviews,
    rating_for,
    read_review,
    refresh_business_rating,
    reply_to_review,
    review_for_match,
    review_page,
    review_view,
    reviews_by_lead,
    reviews_of_lead,
    submit_review,
)

__all__ = [
    "ALREADY_REVIEWED",
    "BAD_LINK",
    "FIELDS",
    "NOT_YOUR_JOB",
    "NOT_YOUR_REVIEW",
    "ReviewLink",
    "business_reviews",
    "hide_review",
    "invite_after_conversion",
    "own_reviews",
    "prior",
    "rating_for",
    "rating_label",
    "read_review",
    "refresh_business_rating",
    "reply_to_review",
    "review_for_match",
    "review_page",
    "review_view",
    "reviews_by_lead",
    "reviews_of_lead",
    "submit_review",
    "verified_rating",
]
