"""The media stream: which stream may hold a call, and giving it back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col

from leadapp.core import crypto
from leadapp.core.models import Call, utcnow
from leadapp.core.services.calls.window import _aware
from leadapp.core.vocab import CallStatus

STREAMABLE_STATUSES = (CallStatus.DIALING.value, CallStatus.RINGING.value, CallStatus.IN_PROGRESS.value)
"""A media stream may start only for a call that is being placed or is live."""


@dataclass(frozen=True)
class StreamClaim:
    """The answer to a media stream's `start`: the call it now holds, or why it holds nothing."""

    call_id: int | None
    refusal: str = ""

    @property
    def granted(self) -> bool:
        return not self.refusal


def claim_media_stream(
    session: Session, raw_call_id: str, token: str, call_sid: str, stream_sid: str, now: datetime | None = None
) -> StreamClaim:
    """Let one media stream hold a call, or say why not (outbound and inbound calls alike, simulated ones too).

    Granted only when `token` is the call's unexpired media-stream token (`crypto.media_stream_token`, sent in
    the call's TwiML), the call is dialling, ringing or in progress, `call_sid` is the provider SID stored for
    it, and no other stream holds it. The hold is a compare-and-set on `calls.media_stream_sid`, so of two
    streams starting at once exactly one wins; `release_media_stream` gives it back at the end. A refusal
    writes nothing.
    """
    call_id = int(raw_call_id) if raw_call_id.isdigit() and len(raw_call_id) < 12 else None
    if call_id is None:
        return StreamClaim(None, "no call id")
    moment = _aware(now or utcnow()).timestamp()
    problem = crypto.media_stream_token_problem(call_id, token, now=moment)
    if problem:
        return StreamClaim(call_id, f"{problem} token")
    if not call_sid or not stream_sid:
        return StreamClaim(call_id, "no call or stream sid")
    changed = session.execute(
        update(Call)
        .where(
            col(Call.id) == call_id,
            col(Call.status).in_(STREAMABLE_STATUSES),
            col(Call.provider_call_sid) == call_sid,
            col(Call.media_stream_sid).is_(None),
        )
        .values(media_stream_sid=stream_sid[:64])
    )
    if changed.rowcount == 1:  # type: ignore[attr-defined]
        return StreamClaim(call_id)
    call = session.get(Call, call_id)
    if call is None:
        return StreamClaim(call_id, "unknown call")
    if call.status not in STREAMABLE_STATUSES:
        return StreamClaim(call_id, f"call is {call.status}")
    if call.provider_call_sid != call_sid:
        return StreamClaim(call_id, "call sid differs from the stored one")
    return StreamClaim(call_id, "another stream holds the call")


def release_media_stream(session: Session, call_id: int, stream_sid: str) -> bool:
    """Give the call back once its stream has ended (only the stream that holds it can); True if it held it."""
    changed = session.execute(
        update(Call)
        .where(col(Call.id) == call_id, col(Call.media_stream_sid) == stream_sid)
        .values(media_stream_sid=None)
    )
    return changed.rowcount == 1  # type: ignore[attr-defined]
