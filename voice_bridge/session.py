"""One phone call: a Twilio Media Stream joined to an OpenAI Realtime session.

The session moves frames and events and nothing else: the wire formats are `twilio_wire` and `realtime_wire`,
the words `instructions`, and the database work is the core's (`core.services.conversation`, each step owning
its transaction), run on a writer task (in a thread) so neither audio direction ever waits for the database.
Transcript lines go to the process's batched writer (`transcripts.LineWriter`: all calls' lines, every ~200 ms).

Tasks: the Twilio reader (caller audio → `input_audio_buffer.append`, marks, DTMF, stop), the OpenAI reader
(assistant audio → Twilio `media` + `mark`, transcripts, tools, barge-in), the writer (qualification, outcome,
summary; in order, each after the transcript lines queued before it) and the hints relay.

The stream must earn its call first: on `start`, `conversation.load_call` (`calls.claim_media_stream`)
checks the call's media-stream token (from the TwiML), its status, the stored CallSid and that no other
stream holds it (compare-and-set), for outbound and inbound calls alike. Only then is OpenAI dialled
(Twilio sends `start` right after `connected`, so VOICE.md rule 7's early connect gains almost nothing,
and dialling before the check would let any replayed upgrade open a model session); a refused or silent
socket is closed with nothing written and nobody hung up. The session is configured once the link is up, and
the greeting is requested only after `start` and `session.updated` (rule 4). The stream ends the hold.

Guarantees:
- μ-law passes through untouched both ways (rule 1); every chunk sent to Twilio is followed by a mark
  naming `(counter, item, cumulative bytes)` (rule 2).
- Barge-in: on `speech_started`, Twilio's buffer is cleared first, then each assistant item with unplayed
  audio is truncated at what the caller heard (rule 3), computed from the echoed marks and Twilio's
  real-time playout since the last one, clamped to the bytes sent. Audio of an interrupted item that
  arrives afterwards is dropped.
- Transcript lines are saved as they complete (caller: transcription completed; assistant: transcript done,
  or the partial text when a reply is cut off), ordered by where their item sits in the conversation, each
  followed by a "transcript" live event; they are written with the lines of the other calls within ~200 ms,
  at once when the call ends, and before the call's outcome and summary. A line cut off by the caller stores
  `heard_ms`. Nothing saved is ever removed, whatever ends the call.
- Tools: record_qualification merges into the call's (and the lead's) qualification; request_human (or the
  caller pressing 0) transfers to the owner's phone (`transfer`), or flags a callback, says goodbye, hangs up;
  do_not_call puts the number on the do-not-call list with the caller's words (outcome declined), has the
  assistant confirm it, and hangs up once that has played; end_call(outcome) stores the outcome and hangs up
  once the goodbye has played.
- A call without a business is LeadApp's concierge call (a callback asked for before any business accepted):
  LeadApp's instructions and voice; when it ends, what the consumer confirmed is written onto the lead and
  the lead is matched again (`concierge.complete_request`). An inbound call is recorded from its start.
- The owner's hints (`hints.relay`) reach the model as system messages and the transcript as "hint" lines.
- The SDK's automatic reconnect is not used: it would land in a new session without the conversation,
  so a lost realtime connection ends the call instead (with what was said kept).
- Ends: Twilio `stop` or a dropped socket; OpenAI closing (1011 and other failures → outcome error unless
  one was already recorded; the call is hung up); `error` events are logged and the call goes on; the
  60-minute session expiry ends the call the same way. At the end the summary (Claude when keyed, local
  otherwise), the outcome when none was recorded, `ended_at` and an inbound call's lead are written.
- Language (`call_language`): the lead's, or an inbound caller's first words; every word the assistant is told
  to say, the transcription, the summary and the follow-ups are in it.
- Quality (`quality.QualityMeter`): counted as the call goes (O(1) a frame, no database), written once with its
  ending (`finish_call(quality=…)`), which also prices the AI from the realtime usage.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from websockets.exceptions import ConnectionClosed

from leadapp.core.observability import get_logger
from leadapp.core.providers import status as provider_status
from leadapp.core.providers import telephony
from leadapp.core.services.conversation import (
    SIMULATED_PROVIDER,
    CallContext,
    finish_call,
    load_call,
    merge_qualification,
    record_do_not_call,
    record_outcome,
    release_stream,
    start_inbound_recording,
)
from leadapp.core.settings import get_settings
from leadapp.core.vocab import CallDirection, Speaker
from voice_bridge import alive, hints, loop_stats
from voice_bridge import instructions as words
from voice_bridge import realtime_wire as rt
from voice_bridge import twilio_wire as tw
from voice_bridge.call_language import LanguageMixin
from voice_bridge.call_records import AssistantItem, CallResult
from voice_bridge.links import MediaSocket, RealtimeDialer, RealtimeLink, dial_openai
from voice_bridge.playout import Playout
from voice_bridge.quality import QualityMeter
from voice_bridge.transcripts import LineWrite, line_writer
from voice_bridge.transfer import TransferMixin

log = get_logger("voice_bridge.session")

EARLY_AUDIO_FRAMES = 500  # caller audio kept while OpenAI is still connecting (10 s)
PLAYOUT_MARGIN_MS = 2000  # how long past the expected end of playout a hang-up waits for the last mark
MAX_PLAYOUT_WAIT_MS = 30_000
STOP_WAIT_SECONDS = 5.0  # after a hang-up, how long Twilio gets to send `stop` before we close the socket
EXPIRY_CLOSE_CODE = 1001
START_TIMEOUT_S = 10.0  # a socket that has not started a stream by then is closed
REFUSED_CLOSE_CODE = 1008  # policy violation: the stream may not hold this call


def now_ms() -> float:
    return time.monotonic() * 1000.0


# --- hanging up ---------------------------------------------------------------------------------------


Hangup = Callable[[str, str, str], Awaitable[None]]
"""Hang up the call with this provider call id, first saying the given words ('' for none) in the given `<Say>`
language ('' for English, "es-MX")."""


def hangup_call(call_sid: str, say: str = "", say_language: str = "") -> None:
    """Hang up a live call through the telephony provider's REST API (Twilio then stops the stream); with
    `say`, the provider speaks those words first (`<Say>…</Say><Hangup/>`), in `say_language`."""
    if say:
        telephony.play_voicemail_and_hangup(call_sid, say, say_language)
    else:
        telephony.hangup(call_sid)


async def hangup_via_provider(call_sid: str, say: str = "", say_language: str = "") -> None:
    """The default hang-up: the provider's REST call, in a thread (looked up at call time, so tests can swap it)."""
    await asyncio.to_thread(hangup_call, call_sid, say, say_language)


# --- the session ------------------------------------------------------------------------------------


class CallSession(TransferMixin, LanguageMixin):
    """Joins one Twilio media socket to one OpenAI Realtime connection for the length of a call."""

    def __init__(
        self,
        twilio: MediaSocket,
        *,
        dial: RealtimeDialer = dial_openai,
        hangup: Hangup = hangup_via_provider,
        model: str | None = None,
        decides_outcome: bool = False,
    ) -> None:
        self._twilio = twilio
        self._decides_outcome = decides_outcome
        self._dial_realtime = dial
        self._hangup_fn = hangup
        self._model = model or get_settings().openai_realtime_model
        self._link: RealtimeLink | None = None
        self._link_dead = False
        self._ctx: CallContext | None = None
        self._stream_sid = ""
        self._call_sid = ""
        self._playout = Playout()
        self._quality = QualityMeter()
        self._early_audio: deque[str] = deque(maxlen=EARLY_AUDIO_FRAMES)
        self._configuring = False
        self._configured = False
        self._session_updated = False
        self._started = False
        self._start_seen = False
        self._greeted = False
        self._ending = False
        self._caller_gone = False
        self._ai_failure = ""
        self._order: dict[str, int] = {}
        self._next_order = 0
        self._assistant: dict[str, AssistantItem] = {}
        self._interrupted: set[str] = set()
        self._active_response: str | None = None
        self._needs_response = False
        self._goodbye_pending = False
        self._goodbye_instructions = ""
        self._goodbye_sent = False
        self._goodbye_response: str | None = None
        self._hangup_after_response: str | None = None
        self._human_requested = False
        self._writes: asyncio.Queue[tuple[Callable[[], Any], asyncio.Future[None] | None] | None] = asyncio.Queue()
        self._last_line: asyncio.Future[None] | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._twilio_done = asyncio.Event()
        self._hangup_task: asyncio.Task[None] | None = None
        self._hung_up = False
        self._parting_words = ""
        self._reader: asyncio.Task[None] | None = None
        self._gone_at: float | None = None
        self._outcome: str | None = None
        self.lines_saved = 0
        self.log = log

    # -- lifecycle --

    async def run(self) -> CallResult:
        """Serve the call until the media stream ends; then save what remains and close the record."""
        writer = asyncio.create_task(self._write_loop())
        # OpenAI is dialled only once `start` has proved the stream may hold its call (`_on_start`).
        self._tasks.append(asyncio.create_task(self._close_unless_started()))
        reader = self._reader = asyncio.create_task(self._twilio_loop())
        try:
            await asyncio.wait({reader})
        finally:
            if not reader.done():
                reader.cancel()
            self._twilio_done.set()
            await self._shutdown(writer)
        return CallResult(
            call_id=self._ctx.call_id if self._ctx else None,
            outcome=self._outcome,
            lines_saved=self.lines_saved,
            ai_failure=self._ai_failure,
            human_requested=self._human_requested,
            hung_up=self._hung_up,
        )

    async def _dial(self) -> None:
        try:
            link = await self._dial_realtime()
        except Exception as exc:  # the SDK raises several kinds; any of them means no assistant
            await self._ai_lost(f"could not connect to the realtime service: {exc!r}", unreachable=True)
            return
        if self._ending:
            await self._close_link(link)
            return
        self._link = link
        self._tasks.append(asyncio.create_task(self._openai_loop(link)))
        await self._maybe_configure()

    async def _shutdown(self, writer: asyncio.Task[Any]) -> None:
        self._ending = True
        if self._hangup_task is not None and not self._hangup_task.done():
            self._hangup_task.cancel()
        for task in self._tasks:
            if not task.done():
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._link is not None:
            await self._close_link(self._link)
        at = self._gone_at or now_ms()
        for item_id, played, sent in self._playout.positions(at):
            if played < sent:  # the caller hung up (or the call ended) in the middle of this reply
                self._heard(item_id, rt.audio_end_ms(played, sent))
        for item_id, item in self._assistant.items():
            if not item.saved and "".join(item.parts).strip():
                self._save_assistant(item_id, "".join(item.parts))
        if self._ctx is not None:
            ctx, failure, decides, stream = self._ctx, self._ai_failure, self._decides_outcome, self._stream_sid
            measured, spoken = self._quality.result(), self.language
            finish = partial(
                finish_call, ctx.call_id, failure, decides_outcome=decides, quality=measured, language=spoken
            )
            self._write(lambda: self._set_outcome_result(finish()))
            self._write(lambda: release_stream(ctx.call_id, stream))
        self._writes.put_nowait(None)
        await writer
        await self._twilio.close()

    def _set_outcome_result(self, outcome: str | None) -> None:
        self._outcome = outcome

    async def _close_link(self, link: RealtimeLink) -> None:
        try:
            await link.close()
        except Exception as exc:  # closing a dead socket
            self.log.debug("realtime_close_failed", error=repr(exc))

    # -- writer --

    def _write(self, operation: Callable[[], Any]) -> None:
        """Queue database work of this call; it runs after the transcript lines queued before it are written."""
        self._writes.put_nowait((operation, self._last_line))

    def _write_line(self, write: LineWrite) -> None:
        """Hand a transcript write to the process's batched writer (at once when the call is ending)."""
        self._last_line = line_writer().submit(write, now=self._ending)

    async def _write_loop(self) -> None:
        while True:
            queued = await self._writes.get()
            if queued is None:
                if self._last_line is not None:  # the call's last lines are written before `run` returns
                    await asyncio.shield(self._last_line)
                return
            operation, lines_before = queued
            if lines_before is not None and not lines_before.done():
                await asyncio.shield(lines_before)
            try:
                await asyncio.to_thread(operation)
            except Exception as exc:  # one failed write must not lose the ones after it
                self.log.error("call_write_failed", call_id=self._ctx and self._ctx.call_id, error=repr(exc))

    # -- Twilio side --

    async def _twilio_loop(self) -> None:
        twilio = self._twilio
        try:
            while True:
                text = await twilio.receive()
                if text is None:
                    break
                # The two messages of every moment of a call (caller audio, echoed marks) skip the full parse.
                payload = tw.media_payload(text)
                if payload is not None:
                    if self._configured:
                        await self._to_ai(rt.audio_append(payload))
                    else:
                        self._early_audio.append(payload)
                    continue
                echoed = tw.mark_echo(text)
                if echoed is not None:
                    self._playout.echoed(echoed, now_ms())
                    continue
                try:
                    event = tw.parse(text)
                except tw.WireError as exc:
                    self.log.warning("twilio_bad_message", error=str(exc))
                    continue
                if type(event) is tw.Media:
                    if self._configured:
                        await self._to_ai(rt.audio_append(event.payload))
                    else:
                        self._early_audio.append(event.payload)
                elif type(event) is tw.Mark:
                    self._playout.echoed(event.name, now_ms())
                elif type(event) is tw.Start:
                    await self._on_start(event)
                elif type(event) is tw.Dtmf:
                    if event.digit == "0":
                        await self._request_human("dtmf")
                elif type(event) is tw.Stop:
                    self.log.info("twilio_stop", call_sid=event.call_sid)
                    break
        finally:
            self._caller_gone = True
            self._gone_at = now_ms()
            self._twilio_done.set()

    async def _to_ai(self, text: str) -> None:
        """Send one event to OpenAI; a dead link is left to the OpenAI reader, which ends the call."""
        link = self._link
        if link is None or self._link_dead:
            return
        if loop_stats.stats is not None:
            loop_stats.stats.wrote()
        try:
            await link.send_raw(text)
        except Exception as exc:  # closed socket (any of the SDK's or websockets' errors)
            self._link_dead = True
            self.log.warning("realtime_send_failed", error=repr(exc))

    async def _on_start(self, start: tw.Start) -> None:
        if self._start_seen:  # one stream, one call: a second `start` cannot move the socket to another call
            self.log.warning("media_stream_second_start", call_sid=start.call_sid)
            return
        self._start_seen = True
        raw_id = start.custom_parameters.get("call_id", "")
        token = start.custom_parameters.get("token", "")
        ctx = await asyncio.to_thread(load_call, raw_id, token, start.call_sid, start.stream_sid)
        if isinstance(ctx, str):
            # Not this stream's call: close before OpenAI is dialled, write nothing, and never hang up a call
            # through the provider on the strength of a CallSid this socket merely claimed.
            self.log.warning("media_stream_refused", reason=ctx, call_id=raw_id[:20], call_sid=start.call_sid[:64])
            await self._twilio.close(REFUSED_CLOSE_CODE)
            return
        self._stream_sid = start.stream_sid
        self._call_sid = start.call_sid
        self._ctx = ctx
        self._language = ctx.language
        self._started = True
        self._quality.started(now_ms())
        self.log = log.bind(call_id=ctx.call_id, call_sid=start.call_sid)
        self.log.info("call_media_started", stream_sid=start.stream_sid, direction=ctx.direction)
        self._tasks.append(asyncio.create_task(self._dial()))
        self._tasks.append(asyncio.create_task(alive.keep_alive(ctx.call_id)))  # with the process's other calls
        relay = hints.relay(ctx.call_id, lambda: self._configured, self._to_ai, self._hint, self._take_over)
        self._tasks.append(asyncio.create_task(relay))
        if (
            ctx.direction == CallDirection.INBOUND.value
            and ctx.provider != SIMULATED_PROVIDER
            and not telephony.is_simulated()
        ):
            self._tasks.append(
                asyncio.create_task(asyncio.to_thread(start_inbound_recording, ctx.call_id, start.call_sid))
            )

    async def _close_unless_started(self) -> None:
        """A socket that never starts a stream (or whose `start` is still being checked) does not stay open."""
        await asyncio.sleep(START_TIMEOUT_S)
        if not self._start_seen:
            self.log.warning("media_stream_no_start", waited_seconds=START_TIMEOUT_S)
            await self._twilio.close(REFUSED_CLOSE_CODE)

    async def _maybe_configure(self) -> None:
        link, ctx = self._link, self._ctx
        if self._configuring or link is None or ctx is None:
            return
        self._configuring = True
        await self._to_ai(self._session_update())
        # Caller audio keeps arriving during these awaits; it queues behind the configuration, in order.
        while self._early_audio:
            await self._to_ai(rt.audio_append(self._early_audio.popleft()))
        self._configured = True

    # -- OpenAI side --

    async def _openai_loop(self, link: RealtimeLink) -> None:
        try:
            while True:
                raw = await link.recv_bytes()
                received = now_ms()  # for the bridge's own latency (audio delta in → media frame out)
                await self._on_event(rt.parse_event(raw), received)
        except ConnectionClosed as exc:
            if self._ending:
                return
            code = exc.rcvd.code if exc.rcvd is not None else 1006
            reason = exc.rcvd.reason if exc.rcvd is not None else ""
            if code == EXPIRY_CLOSE_CODE:
                await self._ai_lost(f"realtime session ended (close {code} {reason})".strip(), expired=True)
            else:
                await self._ai_lost(f"realtime connection closed (close {code} {reason})".strip())
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug of ours or the SDK's: end the call cleanly, keep what was said
            self.log.exception("realtime_loop_failed")
            await self._ai_lost(f"realtime loop failed: {exc!r}")

    async def _on_event(self, event: rt.ServerEvent, received: float) -> None:
        match event:
            case rt.AudioDelta():
                await self._on_audio(event, received)
            case rt.TranscriptDelta():
                item = self._assistant.get(event.item_id)
                if item is not None:
                    item.parts.append(event.delta)
            case rt.SpeechStarted():
                self._position(event.item_id)
                self._quality.speech_started(received, event.audio_start_ms)
                await self._interrupt(barge_in=True)
            case rt.SpeechStopped():
                self._quality.speech_stopped(received, event.audio_end_ms)
            case rt.Committed():
                self._position(event.item_id)
            case rt.InputTranscriptCompleted():
                self._on_caller_line(event)
                await self._caller_spoke(event.transcript)
            case rt.OutputItemAdded():
                if event.item_type == "message":
                    self._position(event.item_id)
                    self._assistant[event.item_id] = AssistantItem(event.response_id)
            case rt.TranscriptDone():
                self._on_assistant_done(event)
            case rt.ResponseCreated():
                self._active_response = event.response_id
                if self._goodbye_sent and self._goodbye_response is None:
                    self._goodbye_response = event.response_id
            case rt.ResponseDone():
                await self._on_response_done(event)
            case rt.FunctionCall():
                await self._on_function_call(event)
            case rt.SessionUpdated():
                if self._configuring:  # the answer to our session.update, not an earlier default
                    self._session_updated = True
                    await self._maybe_greet()
            case rt.Error():
                self._on_error(event)
            case rt.InputTranscriptFailed():
                self.log.warning("caller_transcription_failed", item_id=event.item_id, error=event.message)

    async def _maybe_greet(self) -> None:
        ctx, link = self._ctx, self._link
        if self._greeted or not self._started or not self._session_updated or ctx is None or link is None:
            return
        self._greeted = True
        greeting = words.greeting_instructions(ctx.business, ctx.lead, ctx.call_type, self.language)
        await self._to_ai(rt.response_create(greeting))

    async def _on_audio(self, event: rt.AudioDelta, received: float) -> None:
        if event.item_id in self._interrupted or self._caller_gone:
            return
        n_bytes = tw.b64_len_to_bytes(event.delta)
        if n_bytes <= 0:
            return
        name = self._playout.sent(event.item_id, n_bytes, now_ms())
        await self._twilio.send(tw.media(self._stream_sid, event.delta))
        await self._twilio.send(tw.mark(self._stream_sid, name))
        self._quality.audio_sent(received, now_ms(), n_bytes)

    async def _interrupt(self, barge_in: bool = False) -> None:
        """The caller spoke over the assistant (or pressed a key): clear Twilio's buffer first, then truncate what
        was not heard; a barge-in counts as an interruption when it cut audio off."""
        if not self._playout.busy():
            return
        at = now_ms()
        positions = self._playout.positions(at)
        await self._twilio.send(tw.clear(self._stream_sid))
        self._playout.clear()
        link = self._link
        self._quality.cleared(at, sum(sent - played for _, played, sent in positions if played < sent), barge_in)
        for item_id, played, sent in positions:
            if played >= sent:
                continue  # heard in full; only its last mark was still on its way
            heard = rt.audio_end_ms(played, sent)
            self._interrupted.add(item_id)
            if link is not None:
                await self._to_ai(rt.truncate(item_id, heard))
            self._heard(item_id, heard)
            self.log.info("barge_in", item_id=item_id, heard_ms=heard, sent_ms=sent // tw.MULAW_BYTES_PER_MS)

    # -- transcript --

    def _position(self, item_id: str) -> int:
        """The item's place in the conversation (first seen, first placed)."""
        order = self._order.get(item_id)
        if order is None:
            self._next_order += 1
            order = self._order[item_id] = self._next_order
        return order

    def _queue_line(self, speaker: str, item_id: str | None, text: str, heard_ms: int | None) -> None:
        ctx = self._ctx
        if ctx is None:
            return
        seq = self._position(item_id) if item_id else self._position(f"system-{self._next_order + 1}")
        self.lines_saved += 1
        self._write_line(LineWrite(ctx.call_id, ctx.business_id, item_id, seq, speaker, text, heard_ms))

    def _on_caller_line(self, event: rt.InputTranscriptCompleted) -> None:
        text = event.transcript.strip()
        if text:
            self._queue_line(Speaker.CALLER.value, event.item_id, text, None)

    def _on_assistant_done(self, event: rt.TranscriptDone) -> None:
        item = self._assistant.setdefault(event.item_id, AssistantItem(event.response_id))
        self._position(event.item_id)
        text = event.transcript.strip() or "".join(item.parts).strip()
        if text and not item.saved:
            self._save_assistant(event.item_id, text)

    def _save_assistant(self, item_id: str, text: str) -> None:
        item = self._assistant[item_id]
        item.saved = True
        self._queue_line(Speaker.ASSISTANT.value, item_id, text.strip(), item.heard_ms)

    def _heard(self, item_id: str, heard_ms: int) -> None:
        item = self._assistant.setdefault(item_id, AssistantItem(""))
        item.heard_ms = heard_ms
        ctx = self._ctx
        if item.saved and ctx is not None:
            self._write_line(LineWrite(ctx.call_id, ctx.business_id, item_id, None, heard_ms=heard_ms))

    def _add_system_line(self, text: str) -> None:
        self._queue_line(Speaker.SYSTEM.value, None, text, None)

    def _hint(self, text: str) -> None:
        self._queue_line(Speaker.HINT.value, None, text, None)

    # -- responses and tools --

    async def _on_response_done(self, event: rt.ResponseDone) -> None:
        self._quality.response_usage(event.usage)
        if self._active_response == event.response_id:
            self._active_response = None
        for item_id, item in self._assistant.items():
            if item.response_id == event.response_id and not item.saved and "".join(item.parts).strip():
                self._save_assistant(item_id, "".join(item.parts))
        link = self._link
        if link is None:
            return
        if event.response_id and event.response_id in (self._hangup_after_response, self._goodbye_response):
            self._schedule_hangup(wait_for_playout=True)
        elif await self._transfer_after_response():
            return
        elif self._goodbye_pending and not self._goodbye_sent:
            await self._send_goodbye()
        elif self._needs_response and self._hangup_after_response is None and not self._goodbye_pending:
            self._needs_response = False
            await self._to_ai(rt.response_create())

    async def _on_function_call(self, event: rt.FunctionCall) -> None:
        link, ctx = self._link, self._ctx
        if link is None or ctx is None:
            return
        arguments = rt.parse_arguments(event.arguments)
        self.log.info("tool_call", tool=event.name, arguments=arguments)
        if event.name == rt.RECORD_QUALIFICATION:
            fields = rt.clean_qualification(arguments)
            self._write(lambda: merge_qualification(ctx.call_id, fields))
            await self._to_ai(rt.function_call_output(event.call_id, {"saved": sorted(fields)}))
            self._needs_response = True
        elif event.name in rt.KIND_TOOL_FIELDS and rt.KIND_TOOLS.get(ctx.call_type) == event.name:
            fields = rt.clean_kind_fields(event.name, arguments)
            self._write(lambda: merge_qualification(ctx.call_id, fields))
            await self._to_ai(rt.function_call_output(event.call_id, {"saved": sorted(fields)}))
            self._needs_response = True
        elif event.name == rt.REQUEST_HUMAN:  # a warm transfer when the owner has a phone (`transfer`)
            await self._request_human("tool")
            await self._to_ai(rt.function_call_output(event.call_id, self._transfer_function_output()))
        elif event.name == rt.DO_NOT_CALL:
            words_said = str(arguments.get("caller_words") or "").strip()[:500]
            self._write(lambda: record_do_not_call(ctx.call_id, words_said))
            await self._to_ai(rt.function_call_output(event.call_id, {"ok": True, "next": "confirm and say goodbye"}))
            goodbye = words.goodbye_for_do_not_call_instructions(ctx.business, self.language)
            await self._say_goodbye("do_not_call", goodbye)
        elif event.name == rt.END_CALL:
            outcome = str(arguments.get("outcome") or "")
            if outcome in rt.MODEL_OUTCOMES and not self._transfer_outcome:
                self._write(lambda: record_outcome(ctx.call_id, outcome))
            await self._to_ai(rt.function_call_output(event.call_id, {"ok": True}))
            self._hangup_after_response = event.response_id or "?"
        else:
            await self._to_ai(rt.function_call_output(event.call_id, {"error": f"unknown tool {event.name}"}))
            self._needs_response = True

    async def _say_goodbye(self, source: str, instructions: str) -> None:
        """Say one last thing (`instructions`), then hang up once it has played.

        A tool's own response is still running when its call arrives: the goodbye follows its response.done.
        A key press interrupts whatever is being said.
        """
        if self._goodbye_pending:
            return
        self._goodbye_pending = True
        self._goodbye_instructions = instructions
        if self._link is None:
            self._schedule_hangup(wait_for_playout=False)
            return
        if self._active_response is not None:
            if source != "dtmf":
                return
            await self._interrupt()
            await self._to_ai(rt.response_cancel())
        await self._send_goodbye()

    async def _send_goodbye(self) -> None:
        if self._ctx is None or self._goodbye_sent:
            return
        self._goodbye_sent = True
        await self._to_ai(rt.response_create(self._goodbye_instructions))

    def _on_error(self, event: rt.Error) -> None:
        self.log.warning("realtime_error", code=event.code, message=event.message, error_type=event.error_type)
        if event.code == "session_expired":
            self._ai_failure = self._ai_failure or f"realtime session expired: {event.message}"

    # -- ending --

    async def _ai_lost(self, reason: str, expired: bool = False, unreachable: bool = False) -> None:
        """The assistant is gone (connect failure, close, expiry): keep what was said and end the call."""
        if self._ending:
            return
        self.log.warning("realtime_lost", reason=reason)
        self._ai_failure = self._ai_failure or reason
        # For the admin health page; in a worker thread, not awaited: a slow Redis must not hold up this call's
        # ending or the audio of other calls (record_failure never raises).
        asyncio.get_running_loop().run_in_executor(
            None, provider_status.record_failure, provider_status.OPENAI_REALTIME, reason
        )
        if self._started:
            note = "The AI session expired" if expired else "The AI assistant was disconnected"
            if unreachable:
                note = "The AI assistant could not be reached"
            self._add_system_line(f"{note}; the call was ended.")
            # The assistant cannot say goodbye any more: the provider says a short apology, then hangs up.
            self._parting_words = words.apology_after_ai_lost(self._ctx.business if self._ctx else None, self.language)
            self._schedule_hangup(wait_for_playout=False)

    def _schedule_hangup(self, *, wait_for_playout: bool) -> None:
        if self._hangup_task is None and not self._ending:
            self._hangup_task = asyncio.create_task(self._hangup_when_ready(wait_for_playout))

    async def _hangup_when_ready(self, wait_for_playout: bool) -> None:
        if wait_for_playout:
            deadline = now_ms() + min(MAX_PLAYOUT_WAIT_MS, self._playout.pending_ms() + PLAYOUT_MARGIN_MS)
            while self._playout.busy() and now_ms() < deadline and not self._caller_gone:
                await asyncio.sleep(0.02)
        if self._caller_gone:
            return
        if self._call_sid:
            self._hung_up = True
            self.log.info("call_hangup", call_sid=self._call_sid)
            try:
                await self._hangup_fn(self._call_sid, self._parting_words, words.say_language(self.language))
            except Exception as exc:  # the provider refused: closing the stream below still ends our side
                self.log.error("call_hangup_failed", error=repr(exc))
        try:
            await asyncio.wait_for(self._twilio_done.wait(), STOP_WAIT_SECONDS)
        except TimeoutError:
            self.log.warning("twilio_stop_missing", waited_seconds=STOP_WAIT_SECONDS)
            await self._twilio.close()
            await asyncio.sleep(1.0)
            if self._reader is not None and not self._reader.done():
                self._reader.cancel()
