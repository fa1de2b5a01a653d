"""A protocol-faithful stand-in for Google's Places API (New) Text Search, on 127.0.0.1.

What it does as the real service does (https://developers.google.com/maps/documentation/places/web-service/text-search):
- `POST /v1/places:searchText` only; anything else is a 404 in Google's error shape
  `{"error": {"code", "message", "status"}}`.
- The API key comes from `X-Goog-Api-Key` (or `?key=`): missing → 403 PERMISSION_DENIED, wrong → 400
  INVALID_ARGUMENT with an `ErrorInfo` detail whose reason is API_KEY_INVALID.
- The field mask is required (`X-Goog-FieldMask` or `?fields=`): missing → 400; a path that names no
  field → 400; the response holds only the fields asked for (`*` means all), `nextPageToken` included
  only when asked for.
- The JSON body: unknown fields are refused, `textQuery` must not be empty, `pageSize` is 1–20 (larger
  values are lowered to 20; default 20), `pageToken` must be one this server issued for the same query.
- An answer without results is `{}`; places are in the real shape (`displayName.text`,
  `addressComponents[].types`, `currentOpeningHours.openNow`, ...).

The test says which places a query finds (`set_results`) and reads every request afterwards (`requests`).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse

from tests.fakes.loopback import ServedFake

SEARCH_PATH = "/v1/places:searchText"
MAX_PAGE_SIZE = 20

REQUEST_FIELDS = frozenset(
    {
        "textQuery",
        "languageCode",
        "regionCode",
        "rankPreference",
        "includedType",
        "openNow",
        "minRating",
        "maxResultCount",
        "pageSize",
        "pageToken",
        "priceLevels",
        "strictTypeFiltering",
        "locationBias",
        "locationRestriction",
        "evOptions",
        "routingParameters",
        "searchAlongRouteParameters",
        "includePureServiceAreaBusinesses",
        "includeFutureOpeningBusinesses",
    }
)
# Place fields (the ones a Text Search may return); sub-fields of these are accepted in masks.
PLACE_FIELDS = frozenset(
    {
        "name",
        "id",
        "displayName",
        "types",
        "primaryType",
        "primaryTypeDisplayName",
        "nationalPhoneNumber",
        "internationalPhoneNumber",
        "formattedAddress",
        "shortFormattedAddress",
        "addressComponents",
        "postalAddress",
        "plusCode",
        "location",
        "viewport",
        "rating",
        "googleMapsUri",
        "websiteUri",
        "reviews",
        "regularOpeningHours",
        "currentOpeningHours",
        "utcOffsetMinutes",
        "adrFormatAddress",
        "businessStatus",
        "priceLevel",
        "userRatingCount",
        "iconMaskBaseUri",
        "iconBackgroundColor",
        "photos",
        "editorialSummary",
    }
)
RESPONSE_FIELDS = frozenset({"places", "nextPageToken", "contextualContents", "searchUri", "routingSummaries"})


class GoogleError(Exception):
    def __init__(self, code: int, status: str, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.code, self.status, self.message, self.details = code, status, message, details


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    status: int = 0
    response: Any = None


@dataclass
class _Page:
    query: str
    offset: int
    page_size: int


def place(
    place_id: str,
    name: str,
    *,
    address: str,
    zip_code: str,
    phone: str | None = "(317) 555-0100",
    rating: float | None = 4.5,
    reviews: int | None = 25,
    status: str | None = "OPERATIONAL",
    open_now: bool | None = True,
    website: str | None = None,
) -> dict[str, Any]:
    """A Place as the API returns it with every field this project asks for (absent values are left out)."""
    raw: dict[str, Any] = {
        "name": f"places/{place_id}",
        "id": place_id,
        "displayName": {"text": name, "languageCode": "en"},
        "formattedAddress": address,
        "addressComponents": [
            {"longText": address.split(",")[0], "shortText": address.split(",")[0], "types": ["route"]},
            {"longText": "United States", "shortText": "US", "types": ["country", "political"], "languageCode": "en"},
            {"longText": zip_code, "shortText": zip_code, "types": ["postal_code"], "languageCode": "en-US"},
        ],
        "types": ["plumber", "point_of_interest", "establishment"],
    }
    if phone:
        digits = "".join(ch for ch in phone if ch.isdigit())[-10:]
        raw["nationalPhoneNumber"] = phone
        raw["internationalPhoneNumber"] = f"+1 {digits[:3]}-{digits[3:6]}-{digits[6:]}"
    if rating is not None:
        raw["rating"] = rating
    if reviews is not None:
        raw["userRatingCount"] = reviews
    if status is not None:
        raw["businessStatus"] = status
    if open_now is not None:
        raw["currentOpeningHours"] = {
            "openNow": open_now,
            "periods": [{"open": {"day": 1, "hour": 8, "minute": 0}, "close": {"day": 1, "hour": 17, "minute": 0}}],
            "weekdayDescriptions": ["Monday: 8:00 AM – 5:00 PM"],
        }
    if website:
        raw["websiteUri"] = website
    return raw


def _mask_paths(mask: str) -> list[list[str]]:
    """The field mask as paths; raises GoogleError for a path that names no field."""
    paths = []
    for item in (part.strip() for part in mask.split(",")):
        if not item:
            continue
        parts = item.split(".")
        if parts == ["*"]:
            paths.append(parts)
            continue
        top = parts[0]
        valid = (top in RESPONSE_FIELDS and (top != "places" or len(parts) == 1)) or (
            top == "places" and len(parts) > 1 and (parts[1] == "*" or parts[1] in PLACE_FIELDS)
        )
        if not valid:
            raise GoogleError(
                400,
                "INVALID_ARGUMENT",
                f"Error expanding 'fields' parameter. Cannot find matching fields for path '{item}'.",
            )
        paths.append(parts)
    if not paths:
        raise GoogleError(400, "INVALID_ARGUMENT", "FieldMask is a required parameter.")
    return paths


def _pick(value: Any, paths: list[list[str]]) -> Any:
    """`value` reduced to `paths` (an empty path keeps the whole value)."""
    if any(not p or p == ["*"] for p in paths):
        return value
    if isinstance(value, list):
        return [_pick(item, paths) for item in value]
    if not isinstance(value, dict):
        return value
    picked: dict[str, Any] = {}
    for name in dict.fromkeys(p[0] for p in paths):
        if name in value:
            picked[name] = _pick(value[name], [p[1:] for p in paths if p[0] == name])
    return picked


class FakePlacesAPI(ServedFake[RecordedRequest]):
    """Places Text Search on 127.0.0.1 (uvicorn in a background thread)."""

    served_name = "fake Places API"

    def __init__(self, *, api_key: str | None = None) -> None:
        super().__init__()
        self.api_key = api_key or "AIza" + secrets.token_urlsafe(26)
        self._results: dict[str, list[dict[str, Any]]] = {}
        self._pages: dict[str, _Page] = {}

    # test-facing API

    def set_results(self, text_query: str, places: list[dict[str, Any]]) -> None:
        """The places (in the API's shape, e.g. from `place()`) a search for `text_query` finds, in order."""
        with self._lock:
            self._results[text_query] = [dict(p) for p in places]

    def settings(self) -> dict[str, str]:
        return {"GOOGLE_PLACES_API_KEY": self.api_key, "GOOGLE_PLACES_BASE_URL": self.url}

    # HTTP

    async def _handle(self, request: Request) -> JSONResponse:
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = ValueError
        record = RecordedRequest(
            method=request.method,
            path=request.url.path,
            query=dict(request.query_params),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=None if body is ValueError else body,
        )
        with self._lock:
            self._requests.append(record)
        try:
            answer = self._answer(record, body)
        except GoogleError as exc:
            error: dict[str, Any] = {"code": exc.code, "message": exc.message, "status": exc.status}
            if exc.details:
                error["details"] = exc.details
            record.status, record.response = exc.code, {"error": error}
            return JSONResponse(record.response, status_code=exc.code)
        record.status, record.response = 200, answer
        return JSONResponse(answer)

    def _answer(self, record: RecordedRequest, body: Any) -> dict[str, Any]:
        if record.method != "POST" or record.path != SEARCH_PATH:
            raise GoogleError(404, "NOT_FOUND", f"Method not found: {record.method} {record.path}")
        key = record.headers.get("x-goog-api-key") or record.query.get("key", "")
        if not key:
            raise GoogleError(
                403,
                "PERMISSION_DENIED",
                "The request is missing a valid API key.",
            )
        if not secrets.compare_digest(key, self.api_key):
            raise GoogleError(
                400,
                "INVALID_ARGUMENT",
                "API key not valid. Please pass a valid API key.",
                [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                        "domain": "googleapis.com",
                        "metadata": {"service": "places.googleapis.com"},
                    }
                ],
            )
        mask = record.headers.get("x-goog-fieldmask") or record.query.get("fields", "")
        if not mask:
            raise GoogleError(
                400,
                "INVALID_ARGUMENT",
                "FieldMask is a required parameter. See https://cloud.google.com/apis/docs/system-parameters on "
                "how to provide it. As an example, you can set the header 'X-Goog-FieldMask' to value "
                "'places.displayName', 'places.id' to ask for the display name and the place id of a place.",
            )
        paths = _mask_paths(mask)
        if body is ValueError or not isinstance(body, dict):
            raise GoogleError(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        for name in body:
            if name not in REQUEST_FIELDS:
                raise GoogleError(
                    400, "INVALID_ARGUMENT", f'Invalid JSON payload received. Unknown name "{name}": Cannot find field.'
                )
        query = body.get("textQuery")
        if not isinstance(query, str) or not query.strip():
            raise GoogleError(400, "INVALID_ARGUMENT", "Empty text_query.")
        size = body.get("pageSize", body.get("maxResultCount", MAX_PAGE_SIZE))
        if not isinstance(size, int) or size < 0:
            raise GoogleError(400, "INVALID_ARGUMENT", "page_size must be non-negative.")
        size = min(size or MAX_PAGE_SIZE, MAX_PAGE_SIZE)
        offset = 0
        token = body.get("pageToken")
        if token:
            with self._lock:
                issued = self._pages.pop(token, None)
            if issued is None or issued.query != query or issued.page_size != size:
                raise GoogleError(400, "INVALID_ARGUMENT", "Invalid page token.")
            offset = issued.offset
        with self._lock:
            found = self._results.get(query, [])
        page = found[offset : offset + size]
        full: dict[str, Any] = {}
        if page:
            full["places"] = page
        if offset + size < len(found):
            next_token = secrets.token_urlsafe(24)
            with self._lock:
                self._pages[next_token] = _Page(query, offset + size, size)
            full["nextPageToken"] = next_token
        return _pick(full, paths)


@pytest.fixture
def fake_places() -> Iterator[FakePlacesAPI]:
    """A running fake Places API; GOOGLE_PLACES_API_KEY/GOOGLE_PLACES_BASE_URL point at it for the test."""
    fake = FakePlacesAPI()
    with fake.serving():
        yield fake
