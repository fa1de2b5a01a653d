"""Call recordings, wherever they live: Twilio (a recording SID, "RE…") or a local WAV file of a simulated call.

- Reading (`open_media`): the bytes are fetched by the server and streamed on, never a redirect to the provider.
  Twilio's media URL (`/2010-04-01/Accounts/{AC}/Recordings/{RE}.mp3`) is fetched with the account's
  credentials (HTTP basic auth, as Twilio requires when media URLs are protected) through `httpx`, passing
  the browser's `Range` header on. When the provider ignores the range and sends the whole file, the range
  is cut out here, so the browser always gets 206 with `Content-Range` for a range it asked for.
  TWILIO_API_BASE (tests, a stand-in) is used instead of https://api.twilio.com.
- A local recording is `local:<file name>` under RECORDINGS_DIR; only plain file names made by
  `save_local` are accepted (no path can be smuggled in through a stored reference).
- Deleting (`delete`): Twilio's `recordings(sid).delete()` through the official SDK (a recording that is
  already gone counts as deleted); a local file is removed.

Failures raise `RecordingError` (`permanent` when trying again cannot help).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from leadapp.core.observability import get_logger
from leadapp.core.providers.email import is_permanent_status
from leadapp.core.providers.sms import TWILIO_API, RebasedTwilioHttpClient
from leadapp.core.settings import get_settings

log = get_logger(__name__)

LOCAL_PREFIX = "local:"
TWILIO_SID = re.compile(r"^RE[0-9a-fA-F]{32}$")
LOCAL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}\.wav$")
FETCH_TIMEOUT_SECONDS = 20.0
CHUNK_BYTES = 64 * 1024
MEDIA_TYPE_MP3 = "audio/mpeg"
MEDIA_TYPE_WAV = "audio/wav"
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RecordingError(Exception):
    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


def is_local(ref: str) -> bool:
    return ref.startswith(LOCAL_PREFIX)


def twilio_sid(ref: str) -> str | None:
    """The recording SID of a Twilio reference: the SID itself, or the RE… at the end of a recording URL."""
    candidate = ref.rstrip("/").rsplit("/", 1)[-1].removesuffix(".json").removesuffix(".mp3").removesuffix(".wav")
    return candidate if TWILIO_SID.match(candidate) else None


def local_path(ref: str) -> Path | None:
    """The file of a local recording reference, or None when the reference is not a plain local file name."""
    if not is_local(ref):
        return None
    name = ref[len(LOCAL_PREFIX) :]
    if not LOCAL_NAME.match(name):
        return None
    return get_settings().recordings_path / name


def save_local(call_id: int, wav: bytes) -> str:
    """Store a simulated call's recording under RECORDINGS_DIR; returns its reference ("local:<file>")."""
    folder = get_settings().recordings_path
    folder.mkdir(parents=True, exist_ok=True)
    name = f"call-{int(call_id)}-{secrets.token_hex(8)}.wav"  # unguessable, though links are what protects it
    (folder / name).write_bytes(wav)
    return LOCAL_PREFIX + name


# --- Range -----------------------------------------------------------------------------------------------


def parse_range(header: str | None, size: int | None) -> tuple[int, int] | str | None:
    """The one byte range `header` asks for within `size` bytes, as (first, last) inclusive.

    None: no usable range (absent, several ranges, or not bytes): the whole file. "unsatisfiable": a range
    that starts past the end (answer 416). With `size` unknown, only "bytes=N-" and "bytes=N-M" resolve.
    """
    if not header:
        return None
    match = _RANGE.match(header.strip().replace(" ", ""))
    if match is None:
        return None
    first_text, last_text = match.groups()
    if not first_text and not last_text:
        return None
    if not first_text:  # the last N bytes
        if size is None:
            return None
        length = int(last_text)
        if length == 0:
            return "unsatisfiable"
        return max(0, size - length), size - 1
    first = int(first_text)
    last = int(last_text) if last_text else (size - 1 if size is not None else -1)
    if size is not None:
        if first >= size:
            return "unsatisfiable"
        last = min(last, size - 1) if last >= 0 else size - 1
    if last != -1 and last < first:
        return None
    return first, last


# --- reading ---------------------------------------------------------------------------------------------


@dataclass
class Media:
    """What to send the browser: status, headers and the body as a stream of chunks (`close` when done)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: AsyncIterator[bytes] | None = None
    close: Callable[[], Awaitable[None]] | None = None


def _media_url(sid: str) -> str:
    settings = get_settings()
    base = (settings.twilio_api_base or TWILIO_API).rstrip("/")
    return f"{base}/2010-04-01/Accounts/{settings.twilio_account_sid}/Recordings/{sid}.mp3"


async def _skip_and_take(chunks: AsyncIterator[bytes], first: int, last: int) -> AsyncIterator[bytes]:
    """Bytes `first`..`last` of a stream that starts at byte 0 (a provider that ignored the Range header)."""
    position = 0
    async for chunk in chunks:
        start, end = position, position + len(chunk)
        position = end
        if end <= first:
            continue
        if start > last:
            break
        yield chunk[max(0, first - start) : min(len(chunk), last - start + 1)]
        if end > last:
            break


async def open_twilio(sid: str, range_header: str | None) -> Media:
    """Fetch a Twilio recording with the account's credentials and hand it on, honouring `range_header`."""
    settings = get_settings()
    if not (settings.twilio_account_sid and settings.twilio_auth_token):
        return Media(404)
    client = httpx.AsyncClient(
        auth=(settings.twilio_account_sid, settings.twilio_auth_token),
        timeout=FETCH_TIMEOUT_SECONDS,
        follow_redirects=True,  # httpx drops the credentials when a redirect leaves the origin
    )
    # A single byte range goes on as the browser wrote it (the provider resolves "bytes=-N" itself).
    single = bool(range_header and _RANGE.match(range_header.strip().replace(" ", "")))
    upstream_headers = {"Range": range_header.strip()} if single and range_header else {}
    try:
        response = await client.send(
            client.build_request("GET", _media_url(sid), headers=upstream_headers), stream=True
        )
    except httpx.HTTPError as exc:
        await client.aclose()
        log.warning("recording_fetch_failed", recording_sid=sid, error=repr(exc))
        return Media(502)

    async def close() -> None:
        await response.aclose()
        await client.aclose()

    status = response.status_code
    if status == 404:
        await close()
        return Media(404)
    if status == 416:
        await close()
        return Media(416, {"Content-Range": response.headers.get("content-range", "bytes */*")})
    if status not in (200, 206):
        await close()
        log.warning("recording_fetch_refused", recording_sid=sid, status=status)
        return Media(502)
    headers = {"Content-Type": response.headers.get("content-type", MEDIA_TYPE_MP3), "Accept-Ranges": "bytes"}
    length = response.headers.get("content-length")
    size = int(length) if length and length.isdigit() else None
    if status == 206:
        headers["Content-Range"] = response.headers.get("content-range", "")
        if size is not None:
            headers["Content-Length"] = str(size)
        return Media(206, headers, response.aiter_bytes(CHUNK_BYTES), close)
    wanted = parse_range(range_header, size)
    if wanted == "unsatisfiable":
        await close()
        return Media(416, {"Content-Range": f"bytes */{size}"})
    if isinstance(wanted, tuple) and size is not None:  # the provider sent it all: cut the range out here
        first, last = wanted
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
        headers["Content-Length"] = str(last - first + 1)
        return Media(206, headers, _skip_and_take(response.aiter_bytes(CHUNK_BYTES), first, last), close)
    if size is not None:
        headers["Content-Length"] = str(size)
    return Media(200, headers, response.aiter_bytes(CHUNK_BYTES), close)


# --- deleting --------------------------------------------------------------------------------------------


def _twilio_client() -> object:
    # Lazy: the Twilio SDK takes a noticeable share of start-up; only a keyed deployment loads it.
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    settings = get_settings()
    http_client: TwilioHttpClient = (
        RebasedTwilioHttpClient(settings.twilio_api_base)
        if settings.twilio_api_base
        else TwilioHttpClient(timeout=FETCH_TIMEOUT_SECONDS)
    )
    return Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=http_client)


def delete(ref: str) -> bool:
    """Delete a recording at its provider; True when it is gone (also when it already was). RecordingError else."""
    if is_local(ref):
        path = local_path(ref)
        if path is not None:
            path.unlink(missing_ok=True)
        return True
    sid = twilio_sid(ref)
    if sid is None:
        raise RecordingError(f"not a recording reference: {ref[:80]!r}", permanent=True)
    from twilio.base.exceptions import TwilioRestException  # lazy: as above, only when keyed

    try:
        _twilio_client().recordings(sid).delete()  # type: ignore[attr-defined]
    except TwilioRestException as exc:
        if exc.status == 404:
            return True
        message = f"twilio delete recording: HTTP {exc.status}: {exc.msg}"
        raise RecordingError(message, permanent=is_permanent_status(exc.status)) from exc
    except Exception as exc:  # connection refused, timeout ...
        raise RecordingError(f"twilio delete recording: {exc!r}", permanent=False) from exc
    log.info("recording_deleted", recording_sid=sid)
    return True
