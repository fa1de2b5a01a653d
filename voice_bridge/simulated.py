"""Simulated calls: the real bridge session between a scripted callee and a scripted realtime peer.

With no Twilio or OpenAI account, "AI call" still runs end to end: `run_simulated_call(call_id)` starts,
on loopback,

- a **realtime peer**: a websockets server at /v1/realtime speaking the OpenAI Realtime GA protocol
  (session.created/updated, a toy μ-law VAD that turns the caller's audio into speech_started /
  speech_stopped / committed and a scripted transcription, scripted replies streamed as audio and
  transcript deltas faster than real time, function calls that wait for their output, cancellation on
  barge-in, truncate with the real "already shorter than" error). Server events are built from the
  `openai` SDK's own models, so they are what the SDK would parse;
- a **media-stream socket** whose handler runs the very same `CallSession` as `/media`, dialling the peer
  through the `openai` SDK's realtime client;
- a **scripted callee**: a Media Streams client that sends `connected` and `start` (with the call id as a
  custom parameter), 20 ms μ-law frames in real time (silence, or speech-like bytes while it talks),
  plays our audio out at 8 bytes/ms, echoes marks once played, honours `clear`, and answers the
  script's turns when the assistant has finished speaking.

The session saves the transcript line by line (with live events), writes the summary and the outcome,
and the call is then ended through `calls.end_call` as a status callback would end a real one.
The peer and the caller are the loopback ones (`voice_bridge.loopback`), shared with `bench.bridge` and the
tests' fakes (`tests/fakes/openai_realtime.py`, `tests/fakes/twilio_media.py`, which add recording and fault
injection); this module holds the scripts and runs the call.
"""

from __future__ import annotations

import asyncio
import contextlib
from functools import partial
from xml.etree import ElementTree

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from leadapp.core import languages
from leadapp.core.languages import spanish
from leadapp.core.observability import get_logger
from leadapp.core.providers import recordings, telephony
from leadapp.core.services import calls, conversation
from leadapp.core.vocab import CATEGORY_LABELS, CallOutcome, CallStatus, Category, Language
from voice_bridge import scripted_calls, simulated_spanish
from voice_bridge.caller_facts import facts_for_lead
from voice_bridge.links import RealtimeLink
from voice_bridge.loopback.realtime_peer import RealtimePeer
from voice_bridge.loopback.script import Reply, Script, Turn
from voice_bridge.loopback.twilio_caller import MediaStreamCaller
from voice_bridge.scripted_calls import concierge_script, qualify_script
from voice_bridge.session import CallResult, CallSession

__all__ = [
    "Reply",
    "Script",
    "Turn",
    "concierge_script",
    "qualify_script",
    "run_simulated_call",
    "run_simulated_inbound_call",
    "simulate_call",
]

log = get_logger("voice_bridge.simulated")

MEDIA_PATH = "/media"
MAX_SIMULATED_SECONDS = 240


# --- scripts ----------------------------------------------------------------------------------------


# --- the simulated person ------------------------------------------------------------------------------


class ScriptedCallee(MediaStreamCaller):
    """The simulated person: listens to each reply, then says the script's next line (at the script's rate)."""

    async def converse(self, script: Script, *, quiet_ms: float = 500, turn_timeout: float = 60.0) -> None:
        for turn in script.turns:
            heard_before = len(self.heard)
            if self.closed.is_set() or not await self.wait_quiet(quiet_ms, heard_before, turn_timeout):
                return
            self.say(script.speech_ms(turn.caller))
        await asyncio.wait_for(self.closed.wait(), turn_timeout)


class WebsocketsMediaSocket:
    """A websockets server connection as the session's `MediaSocket`."""

    def __init__(self, connection: ServerConnection) -> None:
        self._connection = connection

    async def receive(self) -> str | None:
        try:
            message = await self._connection.recv()
        except ConnectionClosed:
            return None
        return message if isinstance(message, str) else message.decode("utf-8", errors="replace")

    async def send(self, text: str) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self._connection.send(text)

    async def close(self, code: int = 1000) -> None:
        await self._connection.close(code)


# --- running a simulated call -------------------------------------------------------------------------


async def dial_peer(base_url: str, model: str = "gpt-realtime") -> RealtimeLink:
    """The bridge's dialler for a local peer: the real SDK realtime client, pointed at loopback."""
    from openai import AsyncOpenAI  # lazy: the SDK costs start-up time; only a simulated call needs it here

    client = AsyncOpenAI(api_key="simulated-call", base_url=base_url, max_retries=0)
    return await client.realtime.connect(model=model).enter()


def script_for_call(call_id: int, ms_per_char: float | None = None) -> Script:
    """The scripted conversation for a call: the business's name (or LeadApp's concierge script for a call
    without a business), the consumer's first name, the service."""
    call, business, lead = conversation.call_parties(call_id)
    first = (lead.contact_name or "").split(" ")[0] if lead else ""
    service = "your request"
    if lead and lead.category in Category._value2member_map_:
        service = f"your {CATEGORY_LABELS[Category(lead.category)].lower()} request"
    in_spanish = lead is not None and languages.is_spanish(lead.language)  # a Spanish lead: the call speaks Spanish
    service_es = spanish.CATEGORIES.get(lead.category or "", "") if lead is not None else ""
    if call is not None and call.business_id is None:
        zip_code = (lead.location_zip or lead.zip or "46032") if lead else "46032"
        if in_spanish:
            script = simulated_spanish.concierge_script(first, service_es, zip_code)
        else:
            script = concierge_script(first, service, zip_code)
    elif in_spanish:
        name = business.name if business else "el negocio"
        script = simulated_spanish.qualify_script(name, first, service_es, simulated_spanish.spanish_facts(lead))
    else:
        script = qualify_script(business.name if business else "the business", first, service, facts_for_lead(lead))
    if ms_per_char:
        script.ms_per_char = ms_per_char
    return script


async def simulate_call(call_id: int, script: Script | None = None, *, ms_per_char: float | None = None) -> CallResult:
    """Run one call through the bridge's `CallSession` between a scripted callee and a scripted peer.

    Everything listens on 127.0.0.1 and is stopped before returning. The call record is handled exactly
    as for a real call (transcript lines with live events, qualification, outcome, summary, ended_at).
    """
    script = script or await asyncio.to_thread(script_for_call, call_id, ms_per_char)
    result: asyncio.Future[CallResult] = asyncio.get_running_loop().create_future()
    callee: ScriptedCallee | None = None

    async def hang_up(_call_sid: str, _say: str = "", _language: str = "") -> None:
        """What Twilio does after a REST hang-up: stop, close."""
        if callee is not None:
            await callee.hang_up()

    async with RealtimePeer(script) as peer:

        async def serve_media(connection: ServerConnection) -> None:
            socket = WebsocketsMediaSocket(connection)
            session = CallSession(socket, dial=partial(dial_peer, peer.base_url), hangup=hang_up, decides_outcome=True)
            try:
                outcome = await session.run()
            except Exception as exc:
                if not result.done():
                    result.set_exception(exc)
                raise
            if not result.done():
                result.set_result(outcome)

        async with serve(serve_media, "127.0.0.1", 0, max_size=None, compression=None) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            sid = await asyncio.to_thread(conversation.simulated_call_sid, call_id)
            callee = ScriptedCallee(f"ws://127.0.0.1:{port}{MEDIA_PATH}", call_id=None, call_sid=sid)
            callee.keep_audio = True  # the line's recording, as Twilio would record the call
            await callee.connect()
            # What Twilio would hand back in `start`: the <Parameter>s of the TwiML LeadApp makes for the call.
            await callee.start(stream_parameters(telephony.stream_twiml(calls.bridge_urls(call_id)[0], call_id)))
            try:
                await asyncio.wait_for(callee.converse(script), MAX_SIMULATED_SECONDS)
            except TimeoutError:
                log.warning("simulated_call_timeout", call_id=call_id)
            finally:
                await callee.hang_up()
            outcome = await asyncio.wait_for(result, 60)
    recording = await asyncio.to_thread(_save_recording, call_id, callee) if outcome.call_id is not None else None
    await asyncio.to_thread(_end_call, call_id, outcome, recording)
    return outcome


def _save_recording(call_id: int, callee: MediaStreamCaller) -> tuple[str, int] | None:
    """The simulated line's recording as a local WAV file: (reference, seconds), or None if nothing was said."""
    wav = callee.recording_wav()
    seconds = (len(wav) - 44) // (2 * 8000)
    if seconds <= 0:
        return None
    try:
        return recordings.save_local(call_id, wav), seconds
    except OSError as exc:  # a full or read-only disk loses the recording, not the call
        log.warning("simulated_recording_not_saved", call_id=call_id, error=repr(exc))
        return None


def stream_parameters(twiml: str) -> dict[str, str]:
    """The `<Parameter>`s of `<Connect><Stream>` in a TwiML document (Twilio's `start.customParameters`)."""
    stream = ElementTree.fromstring(twiml).find("./Connect/Stream")
    if stream is None:
        return {}
    return {str(p.get("name", "")): str(p.get("value", "")) for p in stream.findall("./Parameter")}


def _end_call(call_id: int, result: CallResult, recording: tuple[str, int] | None = None) -> None:
    """End the simulated call the way Twilio's `completed` status callback (and its recording) ends a real one."""
    if result.call_id is None:  # the bridge refused the stream: the call never started
        calls.end_call(call_id, CallStatus.FAILED.value, CallOutcome.ERROR.value, error="media stream refused")
        return
    outcome = result.outcome or CallOutcome.ERROR.value  # None only when closing the record itself failed
    calls.end_call(call_id, CallStatus.COMPLETED.value, outcome, error=result.ai_failure)
    # What Twilio's recording status callback does for a real call (an inbound call was already completed by
    # the bridge: its recording is kept all the same).
    if recording is not None and calls.record_local_recording(call_id, *recording) != "stored":
        recordings.delete(recording[0])  # the call is gone or its lead purged: keep no orphan file


def run_simulated_call(call_id: int, ms_per_char: float | None = None) -> str:
    """For the calls worker when `telephony.is_simulated()`: run the call to its end; returns the outcome.

    `ms_per_char` sets how fast both sides talk (tests speed the demo conversation up).
    """
    return asyncio.run(simulate_call(call_id, ms_per_char=ms_per_char)).outcome or ""


# --- a simulated call to a business's own number (inbound) -------------------------------------------

CALLER_NEEDS: dict[str, str] = {
    Category.PLUMBING.value: "my kitchen sink is leaking under the cabinet and the shutoff valve is stuck, "
    "so I need a plumber to come and fix it",
    Category.ELECTRICAL.value: "half of the outlets in my living room stopped working and the breaker keeps "
    "tripping, so I need an electrician to take a look",
    Category.HVAC.value: "my furnace is blowing cold air and the house is getting cold, so I need someone to "
    "repair the heating",
}


def receptionist_script(business_name: str, category: str, zip_code: str) -> Script:
    """A caller phoning the business: the receptionist greets with the disclosures, takes the job, ends the call."""
    label = CATEGORY_LABELS[Category(category)].lower() if category in Category._value2member_map_ else "repair"
    need = CALLER_NEEDS.get(category, f"I have a {label} job at my house and need someone to come out this week")
    return scripted_calls.receptionist_script(business_name, zip_code, need)


def receptionist_script_for_call(call_id: int, ms_per_char: float | None = None) -> Script:
    """The scripted caller of an inbound call: a job in the business's first category, in its own ZIP; in Spanish
    when the business serves Spanish only (the bridge then switches the call to Spanish)."""
    _call, business, _lead = conversation.call_parties(call_id)
    name = business.name if business else "the business"
    category = (business.categories or [""])[0] if business else ""
    if business is not None and list(business.languages or []) == [Language.SPANISH.value]:
        script = simulated_spanish.receptionist_script(name, business.zip)
    else:
        script = receptionist_script(name, category, business.zip if business else "")
    if ms_per_char:
        script.ms_per_char = ms_per_char
    return script


def run_simulated_inbound_call(call_id: int, ms_per_char: float | None = None) -> str:
    """For the calls worker: a simulated caller rings a business's local line; returns the call's outcome.

    The call row exists already (`inbound.start_simulated_call`); the same `simulate_call` as for outbound calls
    runs the real `CallSession` against the local realtime peer. When the session ends, `finish_call` turns the
    call into the business's own lead, as for a real call.
    """
    call, _business, _lead = conversation.call_parties(call_id)
    if call is None or call.status != CallStatus.IN_PROGRESS.value:  # gone, or served by an earlier run
        return (call.outcome or "") if call is not None else ""
    script = receptionist_script_for_call(call_id, ms_per_char)
    return asyncio.run(simulate_call(call_id, script)).outcome or ""
