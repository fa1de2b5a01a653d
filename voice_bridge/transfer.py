"""Warm transfer: a caller who asks for a person (the `request_human` tool, key 0) or a call the owner takes over
is put through to the owner's phone, or gets a callback booked when the owner does not answer.

Part of `CallSession` (a mixin: it uses the session's link, playout, writer and transcript). With the business's
owner phone (`Business.notify_phone`) known and the call live:

1. The assistant tells the caller it is connecting them (a tool's reply follows the tool's own response; a key
   press or a take-over interrupts what is being said), and the transcript says the transfer started.
2. The owner's phone is rung (`telephony.dial_into_conference`) for TRANSFER_RING_SECONDS; answering, the owner
   hears a whisper (a short summary of the lead) and joins the call's conference room. Its status is polled
   over REST every `POLL_SECONDS`.
3. Answered: once the "connecting you" line has played, the caller's call is moved into the same conference
   (`calls(sid).update(twiml=<Dial><Conference>…)`, which ends this media stream), the outcome is `transferred`.
   Not answered (no-answer, busy, failed, or still ringing at the deadline): the ringing leg is cancelled, a
   human callback is flagged, the outcome is `callback_booked`, and the assistant (still on the line: the caller
   never waited in an empty conference) apologises and asks when to call back; its own end_call outcome then
   does not replace `callback_booked`.
On the simulated line (no Twilio) nothing is dialled: after `SIMULATED_RING_SECONDS` the simulated owner answers
or not (SIMULATED_OWNER_ANSWERS) and the outcome is recorded the same way; "put through" ends the simulated call.
Without an owner phone (or for a concierge call) the caller gets the goodbye and a callback flag, as before.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from leadapp.core import labels, languages
from leadapp.core.providers import telephony
from leadapp.core.services.conversation import SIMULATED_PROVIDER, flag_human_callback, record_outcome
from leadapp.core.settings import get_settings
from leadapp.core.vocab import CallOutcome
from voice_bridge import instructions as words
from voice_bridge import realtime_wire as rt

if TYPE_CHECKING:
    from leadapp.core.services.conversation import CallContext

POLL_SECONDS = 0.5
SIMULATED_RING_SECONDS = 1.0
PLAYOUT_WAIT_SECONDS = 8.0  # the "connecting you" line plays out before the caller is moved
TAKE_OVER = "take_over"


def owner_phone(ctx: CallContext | None) -> str:
    """The phone a transfer rings: the business owner's (their notification number); "" when there is none."""
    if ctx is None or ctx.business is None:
        return ""
    return (ctx.business.notify_phone or "").strip()


def whisper_text(ctx: CallContext) -> str:
    """What the owner hears before joining: who is calling, about what, where, how urgent."""
    lead = ctx.lead
    name = (lead.contact_name or "").split(" ")[0] if lead is not None else ""
    about = labels.word("category", lead.category) if lead is not None and lead.category else "a request"
    where = f" in {lead.zip}" if lead is not None and lead.zip else ""
    urgency = f", urgency {lead.urgency}" if lead is not None and lead.urgency else ""
    who = name or "A customer"
    return f"LeadApp call. {who} about {about}{where}{urgency}. They asked for you. Connecting you now."


def connecting_instructions(business_name: str, language: str = "en") -> str:
    """What the assistant says before the caller is put through (in the call's language)."""
    return languages.phrases(language).TRANSFER_CONNECTING.format(business=business_name)


def callback_instructions(business_name: str, language: str = "en") -> str:
    """What the assistant says when the owner did not pick up (in the call's language)."""
    return languages.phrases(language).TRANSFER_CALLBACK.format(business=business_name)


class TransferMixin:
    """The transfer steps of `CallSession` (see the module docstring)."""

    _transferring: bool = False
    _transfer_outcome: str = ""

    # provided by CallSession
    _ctx: CallContext | None
    _call_sid: str
    _ending: bool
    _human_requested: bool
    _active_response: str | None
    _needs_response: bool
    _tasks: list[asyncio.Task[Any]]
    language: str

    async def _request_human(self, source: str) -> None:
        """The caller asked for a person (the tool, key 0) or the owner took over: transfer when the owner has a
        phone, otherwise flag a human callback, say goodbye and hang up once it has played."""
        ctx: Any = self._ctx
        if ctx is None or self._human_requested or self._transferring:
            return
        self._human_requested = True
        self.log.info("human_requested", source=source)
        if source == "dtmf":
            self._add_system_line("The caller pressed 0 to ask for a person.")
        phone = owner_phone(ctx)
        if phone and self._call_sid:
            await self._start_transfer(source, phone)
            return
        if source == TAKE_OVER:
            self._add_system_line("The owner asked to take over, but no phone number is set.")
        self._write(lambda: flag_human_callback(ctx.call_id))
        await self._say_goodbye(source, words.goodbye_for_human_instructions(ctx.business, self.language))

    async def _take_over(self) -> None:
        """The owner pressed "Take over" on the live call panel."""
        await self._request_human(TAKE_OVER)

    async def _start_transfer(self, source: str, phone: str) -> None:
        ctx: Any = self._ctx
        self._transferring = True
        note = "The owner took over the call" if source == TAKE_OVER else "The caller asked for a person"
        self._add_system_line(f"{note}: transferring to the owner's phone.")
        instructions = connecting_instructions(ctx.business.name, self.language)
        if source == "tool":  # the tool's own response is still running: the line follows its response.done
            self._transfer_pending_line = instructions
            self._needs_response = False
        else:
            if self._active_response is not None:
                await self._interrupt()
                await self._to_ai(rt.response_cancel())
            await self._to_ai(rt.response_create(instructions))
        self._tasks.append(asyncio.create_task(self._ring_owner(phone)))

    def _transfer_function_output(self) -> dict[str, Any]:
        """The `request_human` tool's result the model sees."""
        if self._transferring:
            return {"ok": True, "next": "tell the caller you are connecting them now"}
        return {"ok": True, "next": "say goodbye"}

    async def _ring_owner(self, phone: str) -> None:
        ctx: Any = self._ctx
        settings = get_settings()
        ring = settings.transfer_ring_seconds
        room = f"leadapp-call-{ctx.call_id}"
        simulated = telephony.is_simulated() or ctx.provider == SIMULATED_PROVIDER
        leg = ""
        if simulated:
            await asyncio.sleep(min(ring, SIMULATED_RING_SECONDS))
            answered = settings.simulated_owner_answers
        else:
            try:
                leg = await asyncio.to_thread(
                    telephony.dial_into_conference, phone, settings.twilio_from_number, room, whisper_text(ctx), ring
                )
                answered = await self._owner_answered(leg, ring)
            except telephony.TelephonyError as exc:
                self.log.error("transfer_dial_failed", error=str(exc))
                answered = False
        if self._ending:
            return
        if answered:
            await self._put_through(room, simulated)
        else:
            await self._book_callback(leg, ring)

    async def _owner_answered(self, leg: str, ring_seconds: int) -> bool:
        deadline = time.monotonic() + ring_seconds + 2 * POLL_SECONDS
        while time.monotonic() < deadline and not self._ending:
            status = await asyncio.to_thread(telephony.call_status, leg)
            if status == telephony.ANSWERED:
                return True
            if status in telephony.NOT_ANSWERED:
                return False
            await asyncio.sleep(POLL_SECONDS)
        return False

    async def _put_through(self, room: str, simulated: bool) -> None:
        ctx: Any = self._ctx
        self._transfer_outcome = CallOutcome.TRANSFERRED.value
        self._write(lambda: record_outcome(ctx.call_id, CallOutcome.TRANSFERRED.value))
        self._add_system_line("The owner answered: the caller was put through.")
        deadline = time.monotonic() + PLAYOUT_WAIT_SECONDS
        while (self._playout.busy() or self._active_response) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        self.log.info("transfer_answered", simulated=simulated)
        if simulated:  # nobody to join: the simulated call ends as the handoff
            self._schedule_hangup(wait_for_playout=False)
            return
        try:
            await asyncio.to_thread(telephony.move_to_conference, self._call_sid, room)
        except telephony.TelephonyError as exc:
            self.log.error("transfer_move_failed", error=str(exc))

    async def _book_callback(self, leg: str, ring_seconds: int) -> None:
        ctx: Any = self._ctx
        if leg:
            try:
                await asyncio.to_thread(telephony.cancel_ringing, leg)
            except telephony.TelephonyError as exc:  # it stopped ringing by itself meanwhile
                self.log.info("transfer_cancel_failed", error=str(exc))
        self._transfer_outcome = CallOutcome.CALLBACK_BOOKED.value
        self._write(lambda: flag_human_callback(ctx.call_id))
        self._write(lambda: record_outcome(ctx.call_id, CallOutcome.CALLBACK_BOOKED.value))
        self._add_system_line(f"The owner did not answer within {ring_seconds} s: the assistant offered a callback.")
        self.log.info("transfer_not_answered")
        if self._active_response is not None:
            self._needs_response = False
            self._transfer_pending_line = callback_instructions(ctx.business.name, self.language)
            return
        await self._to_ai(rt.response_create(callback_instructions(ctx.business.name, self.language)))

    _transfer_pending_line: str = ""

    async def _transfer_after_response(self) -> bool:
        """At a response.done: say the transfer's pending line (if any); True when it was sent."""
        if not self._transfer_pending_line:
            return False
        line, self._transfer_pending_line = self._transfer_pending_line, ""
        await self._to_ai(rt.response_create(line))
        return True
