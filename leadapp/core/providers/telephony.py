"""Outbound phone calls: Twilio's Voice API through the official `twilio` SDK, or a simulated line.

- TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER set: `client.calls.create(...)` with inline
  TwiML that connects a bidirectional Media Stream to the bridge (`<Connect><Stream url="wss://…/media">`
  with the call id as a `<Parameter>`: the Stream url takes no query string), status callbacks for every
  event, asynchronous answering-machine detection and recording. TWILIO_API_BASE (tests, a stand-in) sends
  the SDK's requests there instead of https://api.twilio.com (the same rebasing client as SMS).
- Otherwise the provider is "simulated": dialling returns a "SIM…" id and does nothing else here; the
  bridge's simulated call (a local scripted callee) drives such a call. `hangup`, `play_voicemail_and_hangup`
  and `transfer_to_human` do nothing for a simulated call id.

A business's own number: `list_incoming_numbers`, `fetch_incoming_number` and `configure_incoming_number` read
the account's IncomingPhoneNumbers and point one number's voice url and status callback at the bridge
(and back). They need the account: without one they raise a permanent TelephonyError.

Failures raise `TelephonyError` (permanent for Twilio's 4xx answers, transient otherwise).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from twilio.twiml.voice_response import Connect, Dial, VoiceResponse

from leadapp.core.crypto import media_stream_token
from leadapp.core.observability import get_logger
from leadapp.core.providers import status as provider_status
from leadapp.core.providers.email import is_permanent_status
from leadapp.core.providers.sms import twilio_client, twilio_configured

__all__ = [
    "PROVIDER_SIMULATED",
    "PROVIDER_TWILIO",
    "STATUS_CALLBACK_EVENTS",
    "IncomingNumber",
    "TelephonyError",
    "call_status",
    "cancel_ringing",
    "conference_twiml",
    "configure_incoming_number",
    "dial_into_conference",
    "fetch_incoming_number",
    "hangup",
    "is_simulated",
    "list_incoming_numbers",
    "move_to_conference",
    "place_outbound_call",
    "play_voicemail_and_hangup",
    "provider_name",
    "start_recording",
    "stream_twiml",
    "transfer_to_human",
]

log = get_logger(__name__)

PROVIDER_TWILIO = "twilio"
PROVIDER_SIMULATED = "simulated"
SIMULATED_SID_PREFIX = "SIM"
STATUS_CALLBACK_EVENTS: tuple[str, ...] = ("initiated", "ringing", "answered", "completed")
CALL_ID_PARAMETER = "call_id"
TOKEN_PARAMETER = "token"
MACHINE_DETECTION = "DetectMessageEnd"
"""Wait for the greeting's end (the beep), so a voicemail message is recorded whole."""
CALL_TIME_LIMIT_SECONDS = 1800
"""Twilio ends any call after this long: a runaway call cannot run up minutes."""
MAX_TWIML_CHARS = 4000


class TelephonyError(Exception):
    """The provider did not take the request; `permanent` when trying again cannot help."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


def is_simulated() -> bool:
    """True when no Twilio account is configured: calls go to the local simulated line."""
    return not twilio_configured()


def provider_name() -> str:
    return PROVIDER_SIMULATED if is_simulated() else PROVIDER_TWILIO


def _is_simulated_sid(sid: str) -> bool:
    return sid.startswith(SIMULATED_SID_PREFIX)


def _checked(twiml: str) -> str:
    if len(twiml) > MAX_TWIML_CHARS:  # Twilio refuses longer inline TwiML
        raise TelephonyError(f"TwiML of {len(twiml)} characters exceeds {MAX_TWIML_CHARS}", permanent=True)
    return twiml


def stream_twiml(stream_url: str, call_id: int) -> str:
    """`<Connect><Stream url><Parameter name="call_id"/><Parameter name="token"/></Stream></Connect>`: the bridge
    gets both back in `start.customParameters` (the url itself must not carry a query string). The token
    (`crypto.media_stream_token`) is what lets a stream start for this call, and only for a while: the
    upgrade's signature covers the bare url, so it alone would open any call."""
    if "?" in stream_url:
        raise ValueError("a Media Stream url takes no query string; pass values as <Parameter>")
    response = VoiceResponse()
    connect = Connect()
    stream = connect.stream(url=stream_url)
    stream.parameter(name=CALL_ID_PARAMETER, value=str(call_id))
    stream.parameter(name=TOKEN_PARAMETER, value=media_stream_token(call_id))
    response.append(connect)
    return _checked(response.to_xml())


def voicemail_twiml(text: str, language: str = "") -> str:
    response = VoiceResponse()
    response.say(text, **({"language": language} if language else {}))
    response.hangup()
    return _checked(response.to_xml())


def transfer_twiml(number: str) -> str:
    response = VoiceResponse()
    response.dial(number)
    return _checked(response.to_xml())


def _rest_error(action: str, exc: Exception) -> TelephonyError:
    error = _telephony_error(action, exc)
    provider_status.record_failure(provider_status.TWILIO, str(error))
    return error


def _telephony_error(action: str, exc: Exception) -> TelephonyError:
    from twilio.base.exceptions import TwilioRestException  # lazy: the SDK loads only in a keyed deployment

    if isinstance(exc, TwilioRestException):
        code = f" (Twilio error {exc.code})" if exc.code else ""
        return TelephonyError(
            f"twilio {action}: HTTP {exc.status}{code}: {exc.msg}"[:1000], permanent=is_permanent_status(exc.status)
        )
    return TelephonyError(f"twilio {action}: {exc!r}"[:1000], permanent=False)  # connection refused, timeout ...


def place_outbound_call(
    call_id: int,
    to: str,
    from_: str,
    stream_url: str,
    status_callback: str,
    amd_callback: str,
    recording_callback: str = "",
) -> str:
    """Start an outbound call to `to` whose audio is streamed to `stream_url`; returns the provider call id.

    Twilio posts every status change (initiated, ringing, answered, completed) to `status_callback` and the
    answering-machine verdict to `amd_callback`; the call is recorded, and the recording's SID and URL are
    posted to `recording_callback` once it is available. Simulated: returns "SIM…" at once.
    """
    if is_simulated():
        return SIMULATED_SID_PREFIX + secrets.token_hex(16)
    twiml = stream_twiml(stream_url, call_id)
    recording: dict[str, Any] = {}
    if recording_callback:
        recording = {
            "recording_status_callback": recording_callback,
            "recording_status_callback_event": ["completed"],
            "recording_status_callback_method": "POST",
        }
    try:
        created = twilio_client().calls.create(
            to=to,
            from_=from_,
            twiml=twiml,  # no `url`: with both, Twilio ignores the TwiML
            status_callback=status_callback,
            status_callback_event=list(STATUS_CALLBACK_EVENTS),
            status_callback_method="POST",
            machine_detection=MACHINE_DETECTION,
            async_amd="true",
            async_amd_status_callback=amd_callback,
            async_amd_status_callback_method="POST",
            record=True,
            time_limit=CALL_TIME_LIMIT_SECONDS,
            **recording,
        )
    except Exception as exc:
        raise _rest_error("create call", exc) from exc
    sid = str(created.sid or "")
    if not sid:
        raise TelephonyError("twilio create call: no call sid in the answer", permanent=False)
    log.info("call_created", call_id=call_id, call_sid=sid)
    return sid


def _update(sid: str, action: str, **changes: Any) -> None:
    if _is_simulated_sid(sid):
        return
    try:
        twilio_client().calls(sid).update(**changes)
    except Exception as exc:
        raise _rest_error(action, exc) from exc


def call_price(sid: str) -> tuple[str | None, str | None]:
    """Twilio's `(price, price_unit)` of a call (price negative for a charge, None until Twilio has priced it)."""
    if _is_simulated_sid(sid):
        return None, None
    try:
        call = twilio_client().calls(sid).fetch()
    except Exception as exc:
        raise _rest_error("fetch call price", exc) from exc
    price = call.price
    return (None if price is None else str(price)), (None if call.price_unit is None else str(call.price_unit))


def start_recording(sid: str, recording_callback: str) -> str:
    """Record a live call from now on (an inbound call, whose greeting says it is recorded); returns the
    recording SID ("" for a simulated call). Twilio posts the finished recording to `recording_callback`."""
    if _is_simulated_sid(sid):
        return ""
    try:
        created = (
            twilio_client()
            .calls(sid)
            .recordings.create(
                recording_status_callback=recording_callback,
                recording_status_callback_event=["completed"],
                recording_status_callback_method="POST",
            )
        )
    except Exception as exc:
        raise _rest_error("start recording", exc) from exc
    return str(created.sid or "")


def hangup(sid: str) -> None:
    """End the call now (the media stream stops and the `completed` status callback follows)."""
    _update(sid, "hang up", status="completed")


def play_voicemail_and_hangup(sid: str, text: str, language: str = "") -> None:
    """Replace the call's TwiML with `<Say>text</Say><Hangup/>` (ends the media stream); `language` ("es-MX")
    is the `<Say>` language when the text is not English."""
    _update(sid, "voicemail", twiml=voicemail_twiml(text, language))


def transfer_to_human(sid: str, number: str) -> None:
    """Replace the call's TwiML with `<Dial>number</Dial>` (ends the media stream, connects the person)."""
    _update(sid, "transfer", twiml=transfer_twiml(number))


# --- warm transfer: the caller and the owner in one conference -----------------------------------------

ANSWERED = "in-progress"
NOT_ANSWERED = frozenset({"busy", "no-answer", "failed", "canceled", "completed"})


def conference_twiml(room: str, whisper: str = "") -> str:
    """`[<Say>whisper</Say>]<Dial><Conference>room</Conference></Dial>`: the owner's leg hears the whisper (a
    summary of the lead) before joining; the conference ends when either side leaves."""
    response = VoiceResponse()
    if whisper:
        response.say(whisper)
    dial = Dial()
    dial.conference(room, start_conference_on_enter=True, end_conference_on_exit=True, beep=False)
    response.append(dial)
    return _checked(response.to_xml())


def dial_into_conference(to: str, from_: str, room: str, whisper: str, ring_seconds: int) -> str:
    """Ring `to` (the owner's phone) for at most `ring_seconds`; once answered they hear `whisper`, then join
    `room`. Returns the new leg's call id ("SIM…" when simulated: nothing is dialled)."""
    if is_simulated():
        return SIMULATED_SID_PREFIX + secrets.token_hex(16)
    try:
        created = twilio_client().calls.create(
            to=to, from_=from_, twiml=conference_twiml(room, whisper), timeout=ring_seconds, time_limit=3600
        )
    except Exception as exc:
        raise _rest_error("dial owner", exc) from exc
    return str(created.sid or "")


def call_status(sid: str) -> str:
    """The call's status as Twilio reports it now (queued, ringing, in-progress, no-answer ...); "" simulated."""
    if _is_simulated_sid(sid):
        return ""
    try:
        return str(twilio_client().calls(sid).fetch().status or "")
    except Exception as exc:
        raise _rest_error("fetch call", exc) from exc


def move_to_conference(sid: str, room: str) -> None:
    """Replace the caller's TwiML with the conference (ends the media stream: the assistant leaves the call)."""
    _update(sid, "transfer", twiml=conference_twiml(room))


def cancel_ringing(sid: str) -> None:
    """Stop ringing a leg nobody answered."""
    _update(sid, "cancel", status="canceled")


# --- a business's own number (inbound calls) ----------------------------------------------------------

MAX_LISTED_NUMBERS = 500
"""At most this many of the account's numbers are listed (Twilio pages them 50 at a time)."""


@dataclass(frozen=True)
class IncomingNumber:
    """One of the Twilio account's phone numbers (an IncomingPhoneNumber resource), as far as calls go."""

    sid: str
    phone_number: str
    friendly_name: str
    voice_url: str
    voice_method: str
    status_callback: str
    status_callback_method: str
    voice_application_sid: str
    trunk_sid: str
    voice_capable: bool

    def voice_settings(self) -> dict[str, str]:
        """What decides where its calls go (kept when it is pointed at the bridge, restored when it is let go)."""
        return {
            "voice_url": self.voice_url,
            "voice_method": self.voice_method,
            "status_callback": self.status_callback,
            "status_callback_method": self.status_callback_method,
            "voice_application_sid": self.voice_application_sid,
        }


def _incoming_number(instance: Any) -> IncomingNumber:
    capabilities = instance.capabilities if isinstance(instance.capabilities, dict) else {}
    return IncomingNumber(
        sid=str(instance.sid or ""),
        phone_number=str(instance.phone_number or ""),
        friendly_name=str(instance.friendly_name or ""),
        voice_url=str(instance.voice_url or ""),
        voice_method=str(instance.voice_method or ""),
        status_callback=str(instance.status_callback or ""),
        status_callback_method=str(instance.status_callback_method or ""),
        voice_application_sid=str(instance.voice_application_sid or ""),
        trunk_sid=str(instance.trunk_sid or ""),
        voice_capable=bool(capabilities.get("voice", False)),
    )


def _require_account(action: str) -> None:
    if is_simulated():
        raise TelephonyError(f"twilio {action}: no Twilio account is configured", permanent=True)


def list_incoming_numbers() -> list[IncomingNumber]:
    """The account's phone numbers (`client.incoming_phone_numbers.list`), at most MAX_LISTED_NUMBERS."""
    _require_account("list numbers")
    try:
        found = twilio_client().incoming_phone_numbers.list(limit=MAX_LISTED_NUMBERS, page_size=50)
    except Exception as exc:
        raise _rest_error("list numbers", exc) from exc
    return [_incoming_number(instance) for instance in found]


def fetch_incoming_number(sid: str) -> IncomingNumber:
    """One of the account's numbers by its SID (a 404 from Twilio is a permanent TelephonyError)."""
    _require_account("fetch number")
    try:
        return _incoming_number(twilio_client().incoming_phone_numbers(sid).fetch())
    except Exception as exc:
        raise _rest_error("fetch number", exc) from exc


def configure_incoming_number(sid: str, settings: dict[str, str]) -> IncomingNumber:
    """Set where the number's calls and call statuses go (`incoming_phone_numbers(sid).update`); returns it after.

    `settings` holds the keys of `IncomingNumber.voice_settings`; an empty value clears that setting at Twilio
    (an empty `voice_application_sid` detaches an application, so the voice url is used).
    """
    _require_account("update number")
    try:
        updated = twilio_client().incoming_phone_numbers(sid).update(**settings)
    except Exception as exc:
        raise _rest_error("update number", exc) from exc
    log.info("incoming_number_configured", number_sid=sid, voice_url=settings.get("voice_url", ""))
    return _incoming_number(updated)
