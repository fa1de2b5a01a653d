"""The matcher's view of a lead and a business, and what scoring them gives: plain frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LeadFeatures:
    """What the matcher needs to know about a lead."""

    category: str | None
    urgency: str | None
    budget_min: int | None
    budget_max: int | None
    location: tuple[float, float] | None  # (latitude, longitude)
    key_requirements: tuple[str, ...]
    month: int  # 1-12, selects the seasonal boost
    language: str = "en"  # the lead's language: only businesses serving it may take the lead


@dataclass(frozen=True)
class BusinessFeatures:
    """What the matcher needs to know about a business.

    ``response_rate`` is the stored share of matches answered (0–1), or None for a business with no
    response history yet (scored as the "new business" band).
    """

    id: int
    name: str
    categories: tuple[str, ...]
    location: tuple[float, float] | None  # (latitude, longitude)
    radius_miles: float
    rating: float
    review_count: int
    response_rate: float | None
    price_tier: str
    emergency_service: bool
    licensed: bool
    insured: bool
    tags: tuple[str, ...]
    avg_response_minutes: float | None
    verified_review_count: int = 0
    verified_stars_total: int = 0
    languages: tuple[str, ...] = ("en",)  # the languages the owner serves


@dataclass(frozen=True)
class FactorPoints:
    """One factor's part of a match score, on the 0–100 scale of the score.

    ``max`` is what the factor could have earned (its weight scaled so the weights add up to 100); None for
    the lines that are not factors: the seasonal boost and the cut that keeps a boosted score at 100.
    """

    factor: str
    points: float
    max: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"factor": self.factor, "points": self.points, "max": self.max}


@dataclass(frozen=True)
class MatchResult:
    """A business that qualifies for a lead: its score (0–100, one decimal), distance, reasons and points.

    ``points`` are unrounded and add up to ``score`` before its rounding to one decimal.
    """

    business_id: int
    score: float
    distance_miles: float | None
    reasons: tuple[str, ...]
    points: tuple[FactorPoints, ...] = ()
