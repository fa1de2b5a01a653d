"""Places: prospective businesses for a ZIP + category, from Google Places or the local directory.

- GOOGLE_PLACES_API_KEY set: Google's Places API (New) Text Search over HTTP (httpx):
  `POST {GOOGLE_PLACES_BASE_URL}/v1/places:searchText` with `X-Goog-Api-Key` and `X-Goog-FieldMask`
  headers and `{"textQuery": "<category> near <zip>"}`; up to `MAX_PAGES` pages of `PAGE_SIZE` places
  (following `nextPageToken`). The field mask asks for the fields parsed here and nothing else: Google
  bills by the fields requested.
- Otherwise: the local directory, `LOCAL_DIRECTORY` (fictional businesses around Carmel IN 46032 and
  New York 10001, some failing each qualification rule), so discovery works offline and in demos.

A failure of Google's API raises `PlacesError` (never a half-empty list presented as an answer).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from leadapp.core.observability import get_logger
from leadapp.core.providers import status as provider_status
from leadapp.core.settings import get_settings
from leadapp.core.vocab import CATEGORY_LABELS, Category

log = get_logger(__name__)

SEARCH_PATH = "/v1/places:searchText"
PAGE_SIZE = 20
"""Places per page (the API's maximum)."""
MAX_PAGES = 3
"""Text Search returns at most 60 places: three pages of 20."""
REQUEST_TIMEOUT_SECONDS = 15
FIELD_MASK = ",".join(
    [
        "places.id",
        "places.displayName",
        "places.formattedAddress",
        "places.addressComponents",
        "places.nationalPhoneNumber",
        "places.internationalPhoneNumber",
        "places.rating",
        "places.userRatingCount",
        "places.businessStatus",
        "places.currentOpeningHours.openNow",
        "places.websiteUri",
        "nextPageToken",
    ]
)

OPERATIONAL = "OPERATIONAL"
CLOSED_TEMPORARILY = "CLOSED_TEMPORARILY"
CLOSED_PERMANENTLY = "CLOSED_PERMANENTLY"

_ZIP_IN_ADDRESS = re.compile(r"\b(\d{5})(?:-\d{4})?\b")


class PlacesError(Exception):
    """The places provider failed (HTTP error, unreadable answer); the message says how."""


@dataclass(frozen=True)
class Place:
    """One business as a places provider describes it.

    `business_status` is Google's OPERATIONAL / CLOSED_TEMPORARILY / CLOSED_PERMANENTLY ("" when not
    given); `open_now` is whether its opening hours say it is open at this moment (None when unknown).
    """

    place_id: str
    name: str
    source: str
    phone: str = ""
    email: str = ""
    website: str = ""
    address: str = ""
    zip: str = ""
    rating: float | None = None
    review_count: int = 0
    business_status: str = ""
    open_now: bool | None = None

    @property
    def in_business(self) -> bool | None:
        """Trading (True), closed (False) or unknown (None): the business status, else the opening hours."""
        if self.business_status:
            return self.business_status == OPERATIONAL
        return self.open_now


def find_places(zip_code: str, category: str) -> list[Place]:
    """Businesses of `category` near `zip_code`: Google Places when keyed, the local directory otherwise.

    Raises PlacesError when Google's API fails.
    """
    settings = get_settings()
    if settings.google_places_api_key:
        try:
            return google_text_search(
                text_query(zip_code, category),
                api_key=settings.google_places_api_key,
                base_url=settings.google_places_base_url,
            )
        except PlacesError as exc:
            provider_status.record_failure(provider_status.GOOGLE_PLACES, str(exc))
            raise
    return local_places(zip_code, category)


def text_query(zip_code: str, category: str) -> str:
    """What Text Search is asked: "<category label> near <zip>", e.g. "plumbing near 46032"."""
    try:
        label = CATEGORY_LABELS[Category(category)]
    except ValueError:
        label = category.replace("_", " ")
    return f"{label.lower()} near {zip_code}"


# --- Google Places API (New) ----------------------------------------------------------------------


def _error_text(response: httpx.Response) -> str:
    """Google's error message (`{"error": {"code", "message", "status"}}`), or the start of the body."""
    try:
        error = response.json().get("error") or {}
        return f"{error.get('status', '')}: {error.get('message', '')}".strip(": ")
    except (ValueError, AttributeError):
        return response.text[:200]


def _zip_of(raw: dict[str, Any]) -> str:
    for component in raw.get("addressComponents") or []:
        if "postal_code" in (component.get("types") or []):
            return str(component.get("shortText") or component.get("longText") or "")[:10]
    found = _ZIP_IN_ADDRESS.findall(str(raw.get("formattedAddress") or ""))
    return found[-1] if found else ""


def parse_place(raw: dict[str, Any]) -> Place | None:
    """A Place from one entry of the response's `places` (None without an id or a name)."""
    place_id = str(raw.get("id") or "")
    name = str((raw.get("displayName") or {}).get("text") or "")
    if not place_id or not name:
        return None
    rating = raw.get("rating")
    hours = raw.get("currentOpeningHours") or {}
    open_now = hours.get("openNow")
    return Place(
        place_id=place_id,
        name=name[:200],
        source="google",
        phone=str(raw.get("internationalPhoneNumber") or raw.get("nationalPhoneNumber") or "")[:32],
        website=str(raw.get("websiteUri") or "")[:500],
        address=str(raw.get("formattedAddress") or "")[:300],
        zip=_zip_of(raw),
        rating=float(rating) if isinstance(rating, int | float) else None,
        review_count=int(raw.get("userRatingCount") or 0),
        business_status=str(raw.get("businessStatus") or ""),
        open_now=open_now if isinstance(open_now, bool) else None,
    )


def google_text_search(query: str, *, api_key: str, base_url: str) -> list[Place]:
    """Every place Text Search (New) returns for `query` (up to MAX_PAGES pages); raises PlacesError."""
    url = base_url.rstrip("/") + SEARCH_PATH
    headers = {"X-Goog-Api-Key": api_key, "X-Goog-FieldMask": FIELD_MASK, "Content-Type": "application/json"}
    places: list[Place] = []
    page_token = ""
    with httpx.Client(timeout=REQUEST_TIMEOUT_SECONDS) as client:
        for _ in range(MAX_PAGES):
            body: dict[str, Any] = {"textQuery": query, "pageSize": PAGE_SIZE}
            if page_token:
                body["pageToken"] = page_token
            try:
                response = client.post(url, headers=headers, json=body)
            except httpx.HTTPError as exc:
                raise PlacesError(f"Google Places could not be reached: {exc!r}") from exc
            if response.status_code != 200:
                raise PlacesError(f"Google Places answered {response.status_code}: {_error_text(response)}")
            try:
                data = response.json()
            except ValueError as exc:
                raise PlacesError("Google Places answered something that is not JSON") from exc
            if not isinstance(data, dict):
                raise PlacesError("Google Places answered an unexpected shape")
            places += [p for p in (parse_place(raw) for raw in data.get("places") or []) if p is not None]
            page_token = str(data.get("nextPageToken") or "")
            if not page_token:
                break
    log.info("places_searched", provider="google", query=query, found=len(places))
    return places


# --- the local directory --------------------------------------------------------------------------


def local_places(zip_code: str, category: str) -> list[Place]:
    """Directory entries of `category` in the same 3-digit ZIP area (a USPS sectional center) as `zip_code`.

    Those in `zip_code` itself come first, then by rating.
    """
    area = zip_code.strip()[:3]
    found = [p for p, c in LOCAL_DIRECTORY if c == category and len(area) == 3 and p.zip.startswith(area)]
    found.sort(key=lambda p: (p.zip != zip_code.strip(), -(p.rating or 0), p.name))
    return found


def _local(
    key: str,
    category: Category,
    name: str,
    zip_code: str,
    address: str,
    phone: str,
    rating: float | None,
    reviews: int,
    *,
    status: str = OPERATIONAL,
    open_now: bool | None = True,
    email: str = "",
    website: str = "",
) -> tuple[Place, str]:
    place = Place(
        place_id=f"local:{key}",
        name=name,
        source="local",
        phone=phone,
        email=email,
        website=website,
        address=address,
        zip=zip_code,
        rating=rating,
        review_count=reviews,
        business_status=status,
        open_now=open_now,
    )
    return place, category.value


_C = Category
# Fictional businesses. Phone numbers are in the 555-01xx range the NANP reserves for fiction; web and email
# addresses are under example.com. Each qualification rule has businesses that fail it (comments).
LOCAL_DIRECTORY: tuple[tuple[Place, str], ...] = (
    # Carmel, IN and around (460xx)
    _local(
        "carmel-rooter",
        _C.PLUMBING,
        "Carmel Rooter Pros",
        "46032",
        "210 W Main St, Carmel, IN 46032",
        "(317) 555-0101",
        4.7,
        184,
        email="office@carmel-rooter.example.com",
        website="https://carmel-rooter.example.com",
    ),
    _local(
        "monon-plumbing",
        _C.PLUMBING,
        "Monon Trail Plumbing",
        "46032",
        "1 Monon Blvd, Carmel, IN 46032",
        "(317) 555-0102",
        4.4,
        61,
        open_now=False,  # closed at this hour, still in business: qualifies
        website="https://monon-plumbing.example.com",
    ),
    _local(
        "drip-fix",
        _C.PLUMBING,
        "Drip Fix Carmel",
        "46032",
        "530 E Carmel Dr, Carmel, IN 46032",
        "(317) 555-0103",
        3.1,
        42,  # rating below 3.5
    ),
    _local(
        "brand-new-pipes",
        _C.PLUMBING,
        "Brand New Pipes LLC",
        "46033",
        "14 Rangeline Rd, Carmel, IN 46033",
        "(317) 555-0104",
        5.0,
        3,  # too few reviews
        email="hello@brand-new-pipes.example.com",
    ),
    _local(
        "nophone-plumbing",
        _C.PLUMBING,
        "Hamilton County Plumbing",
        "46033",
        "9 Gray Rd, Carmel, IN 46033",
        "",  # no phone
        4.6,
        37,
    ),
    _local(
        "old-mill-plumbing",
        _C.PLUMBING,
        "Old Mill Plumbing & Heating",
        "46077",
        "88 E Oak St, Zionsville, IN 46077",
        "(317) 555-0105",
        4.5,
        120,
        status=CLOSED_PERMANENTLY,  # closed for good
        open_now=None,
    ),
    _local(
        "westfield-plumbing",
        _C.PLUMBING,
        "Westfield Family Plumbing",
        "46074",
        "120 Park St, Westfield, IN 46074",
        "(317) 555-0106",
        4.9,
        88,
        email="team@westfield-plumbing.example.com",
    ),
    _local(
        "bright-spark",
        _C.ELECTRICAL,
        "Bright Spark Electric",
        "46032",
        "45 City Center Dr, Carmel, IN 46032",
        "(317) 555-0111",
        4.8,
        143,
        email="jobs@bright-spark.example.com",
        website="https://bright-spark.example.com",
    ),
    _local(
        "circuit-masters",
        _C.ELECTRICAL,
        "Circuit Masters",
        "46033",
        "700 Hazel Dell Pkwy, Carmel, IN 46033",
        "(317) 555-0112",
        3.9,
        19,
    ),
    _local(
        "volt-vagabond",
        _C.ELECTRICAL,
        "Volt Vagabond",
        "46032",
        "12 Old Meridian St, Carmel, IN 46032",
        "(317) 555-0113",
        None,
        0,  # no rating, no reviews
    ),
    _local(
        "meridian-electric",
        _C.ELECTRICAL,
        "Meridian Electric Co",
        "46037",
        "9800 E 116th St, Fishers, IN 46037",
        "(317) 555-0114",
        4.2,
        54,
        status=CLOSED_TEMPORARILY,  # temporarily closed
        open_now=False,
    ),
    _local(
        "cool-carmel",
        _C.HVAC,
        "Cool Carmel Heating & Air",
        "46032",
        "300 S Rangeline Rd, Carmel, IN 46032",
        "(317) 555-0121",
        4.6,
        97,
        email="service@cool-carmel.example.com",
    ),
    _local(
        "furnace-friends",
        _C.HVAC,
        "Furnace Friends",
        "46033",
        "55 E 116th St, Carmel, IN 46033",
        "(317) 555-0122",
        3.4,
        210,  # rating just below 3.5
    ),
    _local(
        "carmel-roofing",
        _C.ROOFING,
        "Carmel Roofing & Gutters",
        "46032",
        "77 W Carmel Dr, Carmel, IN 46032",
        "(317) 555-0131",
        4.3,
        46,
    ),
    _local(
        "green-acres",
        _C.LANDSCAPING,
        "Green Acres Lawn & Garden",
        "46032",
        "4 Brookshire Pkwy, Carmel, IN 46032",
        "(317) 555-0141",
        4.5,
        73,
    ),
    _local(
        "sparkle-maids",
        _C.CLEANING,
        "Sparkle Maids Carmel",
        "46033",
        "15 Keystone Way, Carmel, IN 46033",
        "(317) 555-0151",
        4.1,
        5,  # exactly 5 reviews: qualifies
    ),
    _local(
        "handy-hank",
        _C.HANDYMAN,
        "Handy Hank's Home Repair",
        "46032",
        "600 Gradle Dr, Carmel, IN 46032",
        "(317) 555-0161",
        3.5,
        12,  # exactly 3.5: qualifies
    ),
    # New York, NY and around (100xx)
    _local(
        "chelsea-plumbing",
        _C.PLUMBING,
        "Chelsea Plumbing & Drain",
        "10001",
        "250 W 26th St, New York, NY 10001",
        "(212) 555-0171",
        4.6,
        312,
        email="dispatch@chelsea-plumbing.example.com",
        website="https://chelsea-plumbing.example.com",
    ),
    _local(
        "penn-pipes",
        _C.PLUMBING,
        "Penn Station Pipes",
        "10001",
        "400 8th Ave, New York, NY 10001",
        "(212) 555-0172",
        4.0,
        28,
    ),
    _local(
        "hudson-yards-plumbing",
        _C.PLUMBING,
        "Hudson Yards Plumbing",
        "10001",
        "500 W 33rd St, New York, NY 10001",
        "(646) 555-0173",
        2.9,
        77,  # low rating
    ),
    _local(
        "garment-plumbing",
        _C.PLUMBING,
        "Garment District Plumbing",
        "10018",
        "1 W 39th St, New York, NY 10018",
        "",  # no phone
        4.4,
        40,
    ),
    _local(
        "village-plumbers",
        _C.PLUMBING,
        "Village Plumbers",
        "10011",
        "80 W 15th St, New York, NY 10011",
        "(212) 555-0174",
        4.8,
        2,  # too few reviews
    ),
    _local(
        "empire-electric",
        _C.ELECTRICAL,
        "Empire Electric NYC",
        "10001",
        "350 W 31st St, New York, NY 10001",
        "(212) 555-0181",
        4.7,
        205,
        email="info@empire-electric.example.com",
    ),
    _local(
        "k-town-wiring",
        _C.ELECTRICAL,
        "K-Town Wiring",
        "10001",
        "32 W 32nd St, New York, NY 10001",
        "(646) 555-0182",
        4.3,
        33,
    ),
    _local(
        "flatiron-electric",
        _C.ELECTRICAL,
        "Flatiron Electric",
        "10010",
        "20 W 22nd St, New York, NY 10010",
        "(212) 555-0183",
        4.5,
        90,
        status=CLOSED_PERMANENTLY,  # closed for good
        open_now=None,
    ),
    _local(
        "midtown-hvac",
        _C.HVAC,
        "Midtown Heating & Cooling",
        "10001",
        "145 W 30th St, New York, NY 10001",
        "(212) 555-0191",
        4.4,
        58,
        email="service@midtown-hvac.example.com",
    ),
    _local(
        "chelsea-air",
        _C.HVAC,
        "Chelsea Air Systems",
        "10011",
        "210 W 19th St, New York, NY 10011",
        "(212) 555-0192",
        3.8,
        4,  # too few reviews
    ),
    _local(
        "highline-roofing",
        _C.ROOFING,
        "Highline Roofing",
        "10011",
        "500 W 23rd St, New York, NY 10011",
        "(212) 555-0193",
        4.1,
        22,
    ),
    _local(
        "spotless-nyc",
        _C.CLEANING,
        "Spotless NYC",
        "10001",
        "7 Penn Plaza, New York, NY 10001",
        "(646) 555-0194",
        4.9,
        401,
        email="book@spotless-nyc.example.com",
    ),
    _local(
        "bright-clean",
        _C.CLEANING,
        "Bright & Clean Co",
        "10018",
        "1400 Broadway, New York, NY 10018",
        "(212) 555-0195",
        4.2,
        17,
        status=CLOSED_TEMPORARILY,  # temporarily closed
        open_now=False,
    ),
    _local(
        "manhattan-handyman",
        _C.HANDYMAN,
        "Manhattan Handyman Services",
        "10001",
        "225 W 28th St, New York, NY 10001",
        "(212) 555-0196",
        4.6,
        64,
    ),
    _local(
        "gotham-locks",
        _C.LOCKSMITH,
        "Gotham Locksmiths",
        "10001",
        "360 7th Ave, New York, NY 10001",
        "(212) 555-0197",
        4.3,
        150,
        status="",
        open_now=None,  # neither business status nor hours known: kept (unknown is not closed)
    ),
    _local(
        "bryant-gardens",
        _C.LANDSCAPING,
        "Bryant Park Gardeners",
        "10018",
        "41 W 40th St, New York, NY 10018",
        "(212) 555-0198",
        4.4,
        31,
        status="",
        open_now=False,  # no business status and not open: fails "open"
    ),
)
