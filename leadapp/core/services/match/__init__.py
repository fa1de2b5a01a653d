"""The Business Matcher: which businesses get a lead, with a score out of 100 and the reasons behind it.

The pure half (``zip_centroid`` … ``rank_matches``) works on plain frozen dataclasses and needs no
database; the database half (``lead_features`` … ``refresh_all_response_rates``) turns rows into those
dataclasses, finds the candidates in one query and stores the matches with each factor's points.

A lead from a phone call to a business's own number (``lead.business_id``) is that business's lead: it
gets one *direct* match (`create_direct_match`, scored by the same bands but never disqualified) and no
marketplace matches until the business releases it; then `create_matches` runs as for any lead.

Modules: `features` (the matcher's frozen dataclasses), `geography` (ZIP centroids, distances), `scoring`
(the pure scoring bands, documented there), `candidates` (rows into features, the one candidate query), `store`
(storing the matches), `routing` (broadcast or in waves, fastest first) and `response_rates` (the businesses'
response rates).
"""

from __future__ import annotations

from leadapp.core.services.match.candidates import (
    OPEN_MATCH_STATUSES,
    UNLOCATED_SEARCH_MILES,
    business_features,
    candidate_businesses,
    lead_features,
)
from leadapp.core.services.match.features import (
    BusinessFeatures,
    FactorPoints,
    LeadFeatures,
    MatchResult,
)
from leadapp.core.services.match.geography import (
    haversine_miles,
    zip_centroid,
)
from leadapp.core.services.match.response_rates import (
    RESPONSE_RATE_BATCH,
    RESPONSE_WINDOW,
    refresh_all_response_rates,
    refresh_response_rate,
)
from leadapp.core.services.match.scoring import (
    CAPPED,
    FACTOR_LABELS,
    FACTORS,
    SEASONAL,
    budget_tier,
    points_shown,
    rank_matches,
    score_direct,
    score_match,
    seasonal_boost,
)
from leadapp.core.services.match.store import (
    CALLED_YOU,
    add_matches,
    create_direct_match,
    create_matches,
    offer_next_wave,
)

__all__ = [
    "CALLED_YOU",
    "CAPPED",
    "FACTORS",
    "FACTOR_LABELS",
    "OPEN_MATCH_STATUSES",
    "RESPONSE_RATE_BATCH",
    "RESPONSE_WINDOW",
    "SEASONAL",
    "UNLOCATED_SEARCH_MILES",
    "BusinessFeatures",
    "FactorPoints",
    "LeadFeatures",
    "MatchResult",
    "add_matches",
    "budget_tier",
    "business_features",
    "candidate_businesses",
    "create_direct_match",
    "create_matches",
    "haversine_miles",
    "lead_features",
    "offer_next_wave",
    "points_shown",
    "rank_matches",
    "refresh_all_response_rates",
    "refresh_response_rate",
    "score_direct",
    "score_match",
    "seasonal_boost",
    "zip_centroid",
]
