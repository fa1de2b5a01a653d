"""Where a ZIP code is, and how far apart two places are (the `zipcodes` package)."""

from __future__ import annotations

from functools import lru_cache

import zipcodes


@lru_cache(maxsize=65536)
def zip_centroid(zip_code: str) -> tuple[float, float] | None:
    """(latitude, longitude) of a US ZIP code's centroid from the `zipcodes` package.

    Accepts "12345" and "12345-6789" (surrounding spaces ignored); returns None for anything
    malformed, unknown or without coordinates — never raises.
    """
    if not isinstance(zip_code, str) or not zip_code.strip():
        return None
    try:
        found = zipcodes.matching(zip_code.strip())
    except (TypeError, ValueError):
        return None
    for entry in found:
        try:
            return float(entry["lat"]), float(entry["long"])
        except (KeyError, TypeError, ValueError):
            continue
    return None


def haversine_miles(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in miles between two (latitude, longitude) points.

    Uses `zipcodes.haversine` (Earth radius 3 956 mi), the same package that gives the centroids.
    """
    return zipcodes.haversine(a[1], a[0], b[1], b[0])
