"""Call recordings: kept from the provider's callback, played through signed expiring links, deleted at the
provider when their lead is purged."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rq import Retry
from sqlalchemy import update
from sqlmodel import Session, col, select

from leadapp.core import crypto
from leadapp.core.db import session_scope
from leadapp.core.errors import NotFound
from leadapp.core.events import run_after_commit
from leadapp.core.models import Call, User, utcnow
from leadapp.core.observability import get_logger
from leadapp.core.providers import recordings
from leadapp.core.services import access
from leadapp.core.services.calls.placement import bridge_urls
from leadapp.core.services.calls.rules import _may_act_on_call, call_for
from leadapp.core.services.calls.states import _publish_call
from leadapp.core.services.calls.sweeper import SWEEP_BATCH
from leadapp.core.services.calls.window import _aware
from leadapp.core.settings import get_settings
from leadapp.core.tasks import MAINTENANCE, enqueue

log = get_logger(__name__)

RECORDING_PURPOSE = "recording"
RECORDING_LINK_TTL_SECONDS = 600
RECORDING_EXPIRED_GRACE_SECONDS = 24 * 3600
"""An expired link is recognised as such (410) for this long after it expired; later it is just invalid (403)."""


RECORDING_PATH = "/api/v1/recordings/"
DELETE_RECORDING_JOB = "worker.jobs.delete_call_recording"


def record_recording(
    call_id: int, *, call_sid: str, recording_sid: str, status: str, duration_seconds: int | None = None
) -> str:
    """Apply Twilio's recording status callback; returns what it did.

    A `completed` recording of our call (the CallSid must be the stored one) is kept by its SID; a repeat
    changes nothing. A recording that arrives for a call whose lead was purged meanwhile is deleted at once.
    """
    if status != "completed":
        return "ignored"
    if not recordings.TWILIO_SID.match(recording_sid or ""):
        return "not_a_recording"
    with session_scope() as session:
        call = session.get(Call, call_id)
        if call is None:
            return "unknown_call"
        if not call_sid or call.provider_call_sid != call_sid:
            log.warning("recording_for_other_sid", call_id=call_id)
            return "other_call_sid"
        if call.recording_ref == recording_sid:
            return "duplicate"
        return _store_recording(session, call, recording_sid, duration_seconds)


def record_local_recording(call_id: int, ref: str, seconds: int | None) -> str:
    """Keep the local recording of a simulated call (what the recording callback does for a Twilio call).

    "stored"; "purge" when the lead was purged meanwhile (it is deleted); "taken" when the call already has one;
    "unknown_call".
    """
    with session_scope() as session:
        call = session.get(Call, call_id)
        if call is None:
            return "unknown_call"
        if call.recording_ref:
            return "taken"
        return _store_recording(session, call, ref, seconds)


def _store_recording(session: Session, call: Call, ref: str, seconds: int | None) -> str:
    call.recording_ref = ref[:500]
    call.recording_seconds = seconds
    call.updated_at = utcnow()
    session.add(call)
    if call.recording_purge_at is not None:
        run_after_commit(session, enqueue_recording_deletion, call.id)
        return "purge"
    _publish_call(session, call)
    return "stored"


def recording_callback_url(call_id: int) -> str:
    """Where Twilio posts a call's finished recording (signed like every webhook)."""
    return bridge_urls(call_id)[3]


def recording_link(session: Session, viewer: User | None, call_id: int, ttl: int | None = None) -> str:
    """A link to the call's recording, streamed by the app, for the business's owner, the lead's consumer or an
    admin (NotAllowed for anyone else, NotFound without a recording). Valid `ttl` seconds; by default long
    enough to play the whole recording (a player asks for more bytes while it plays)."""
    call = call_for(session, viewer, call_id, view=True)
    if not call.recording_ref or call.recording_purge_at is not None:
        raise NotFound("This call has no recording.")
    assert viewer is not None
    if ttl is None:
        ttl = max(RECORDING_LINK_TTL_SECONDS, 2 * (call.recording_seconds or 0) + RECORDING_LINK_TTL_SECONDS)
    expires = int(utcnow().timestamp()) + ttl
    token = crypto.sign(
        RECORDING_PURPOSE,
        {"call": call.id, "viewer": viewer.id, "exp": expires},
        max(ttl, 0) + RECORDING_EXPIRED_GRACE_SECONDS,
    )
    return f"{get_settings().app_url.rstrip('/')}{RECORDING_PATH}{token}"


@dataclass(frozen=True)
class RecordingAccess:
    """What opening a recording link gives: 200 with the recording's `ref`, or 403 / 404 / 410 with `reason`."""

    status: int
    ref: str = ""
    reason: str = ""


def open_recording(token: str, now: datetime | None = None) -> RecordingAccess:
    """Check a recording link: genuine, unexpired, and its viewer still allowed to hear this call (every request
    of a player is checked again: a viewer who lost access, or a purged lead, stops the stream)."""
    payload: Mapping[str, Any] | None = crypto.unsign(RECORDING_PURPOSE, token or "")
    if payload is None:
        return RecordingAccess(403, reason="This link is invalid.")
    call_id, viewer_id, expires = payload.get("call"), payload.get("viewer"), payload.get("exp")
    if not (isinstance(call_id, int) and isinstance(viewer_id, int) and isinstance(expires, int)):
        return RecordingAccess(403, reason="This link is invalid.")
    if expires < _aware(now or utcnow()).timestamp():
        return RecordingAccess(410, reason="This link has expired; open the call again for a new one.")
    with session_scope() as session:
        # The link stands for its viewer: the call is looked up as them (whatever context the server runs in).
        viewer = session.get(User, viewer_id)
        access.enter(session, viewer)
        call = session.get(Call, call_id)
        if call is None or not _may_act_on_call(session, viewer, call, view=True):
            return RecordingAccess(403, reason="You may not hear this recording.")
        if not call.recording_ref or call.recording_purge_at is not None:
            return RecordingAccess(410, reason="This recording is no longer available.")
        return RecordingAccess(200, ref=call.recording_ref)


def enqueue_recording_deletion(call_id: int) -> bool:
    """Enqueue the deletion of a purged call's recording at its provider (retried; the daily purge catches up)."""
    return enqueue(
        MAINTENANCE,
        DELETE_RECORDING_JOB,
        call_id,
        job_id=f"delete-recording-{call_id}",
        retry=Retry(3, [60, 600, 3600]),
    )


def delete_recording(call_id: int) -> str:
    """Delete the recording of a call whose lead was purged, at its provider, then forget its reference.

    Returns "deleted", "nothing" (no recording, or its lead was not purged) or raises on a transient provider
    error (the job is retried). A permanent refusal is logged and the reference kept, for an admin to see.
    Safe to run twice: the second run finds no reference.
    """
    with session_scope() as session:
        call = session.get(Call, call_id)
        if call is None or not call.recording_ref or call.recording_purge_at is None:
            return "nothing"
        ref = call.recording_ref
    try:
        recordings.delete(ref)
    except recordings.RecordingError as exc:
        if not exc.permanent:
            raise
        log.error("recording_not_deleted", call_id=call_id, error=str(exc))
        return "refused"
    with session_scope() as session:
        session.execute(
            update(Call)
            .where(col(Call.id) == call_id, Call.recording_ref == ref)
            .values(recording_ref="", recording_seconds=None, updated_at=utcnow())
        )
    log.info("recording_purged", call_id=call_id)
    return "deleted"


def purged_recording_call_ids(session: Session, limit: int = SWEEP_BATCH) -> list[int]:
    """Calls whose lead was purged and whose recording still waits to be deleted at the provider."""
    return list(
        session.exec(
            select(Call.id)
            .where(col(Call.recording_purge_at).is_not(None), Call.recording_ref != "")
            .order_by(col(Call.id))
            .limit(limit)
        ).all()
    )
