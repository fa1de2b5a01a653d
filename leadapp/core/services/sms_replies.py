"""A reply to our texts: a keyword (STOP, START, STOP CALLS) applied to the number, or any other words, which land in
the number's last open conversation (`messages.inbound.sms_reply`).

The voice bridge's SMS webhook (`voice_bridge.sms`) checks the signature and reads the keyword; this
applies it. Guarantees: committed before returning; STOP stops texts and withdraws consent to AI calls
(the number goes on the do-not-call list with the message's words), STOP CALLS withdraws consent to AI
calls only, START gives texts back (AI calls need fresh consent). A short code or alphanumeric sender is
never put on the do-not-call list.
"""

from __future__ import annotations

from typing import Literal

from leadapp.core.db import session_scope
from leadapp.core.services import notify, optouts
from leadapp.core.services.messages.inbound import InboundOutcome, sms_reply

OptAction = Literal["stop", "start", "stop_calls"]


def apply_opt_action(action: OptAction, phone: str, body: str = "") -> None:
    """Apply the reply for `phone`, committed before returning: STOP stops texts and AI calls, STOP CALLS the
    AI calls only (both recorded with the message's words), START gives texts back."""
    e164 = notify.normalize_phone(phone)
    with session_scope() as session:
        if action == "start":
            notify.clear_sms_opt_out(session, phone)
            return
        if action == "stop":
            notify.record_sms_opt_out(session, phone)
        if e164.startswith("+"):  # a number (not a short code or an alphanumeric sender)
            optouts.record_sms_opt_out(session, e164, body.strip()[:500] or action.upper())


def thread_reply(phone: str, body: str, message_sid: str) -> InboundOutcome:
    """Words that are no keyword: stored in the last open conversation of `phone`, once per `message_sid`, committed
    before returning; the outcome says whether they landed and why not."""
    return sms_reply(phone, body, message_sid)
