"""Owner hints ("whisper"): words the business's owner types while watching a call, for its assistant only.

The web side (`send_hint`) checks who asks and that the call is in progress, then appends the hint to the
call's list in Redis; the voice bridge serving the call (or the simulated line, which runs the same session)
takes what is there every `POLL_SECONDS` (`take_hints`), hands each hint to the realtime session as a system
message and writes it into the transcript as a "hint" line, which the live transcript then shows. Nothing
reaches the caller directly: the assistant uses the hint in what it says next.

Guarantees:
- Only the owner of the call's business and admins may send one (`access.require_call_whisper`); a consumer,
  another owner and an anonymous visitor are refused, and nothing is queued.
- Only for a call in progress (once it ends, a hint is refused with the reason); 1..`MAX_HINT_CHARS`
  characters after trimming, one line (line breaks become spaces).
- "Take over" (`request_take_over`) is refused the same way, and when the business has no phone to ring; the
  bridge then warm-transfers the call to that phone (`voice_bridge.transfer`).
- A hint is taken once (the list is read and emptied in one transaction), in the order sent; a list nobody
  takes (the bridge died) expires after `HINT_TTL_SECONDS`.
- A call with something waiting is listed in one set (`calls_with_signals`), so a bridge asks once a round for
  all its calls (one command) and takes only theirs, instead of a transaction per call every round.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.exceptions import RedisError
from sqlmodel import Session

from leadapp.core.broker import get_redis, key
from leadapp.core.errors import FieldErrors, NotFound, UserError
from leadapp.core.models import Business, Call, User
from leadapp.core.observability import get_logger
from leadapp.core.services import access, audit
from leadapp.core.vocab import CallStatus, Role

log = get_logger("core.calls.hints")

MAX_HINT_CHARS = 300
HINT_TTL_SECONDS = 3600
POLL_SECONDS = 1.0
TAKE_OVER_TTL_SECONDS = 60
MAX_QUEUED = 20  # hints waiting for one call at most (a flood is refused, not queued)


def _hints_key(call_id: int) -> str:
    return key("call", "hints", call_id)


def _take_over_key(call_id: int) -> str:
    return key("call", "take_over", call_id)


def _waiting_key() -> str:
    """The set of calls with a hint or a take-over waiting to be taken."""
    return key("call", "signals_waiting")


def clean_hint(text: str) -> str:
    """The hint as it is sent: one line, trimmed; FieldErrors when empty or too long."""
    cleaned = " ".join(str(text or "").split())
    if not cleaned:
        raise FieldErrors({"hint": "Type a hint for the assistant."})
    if len(cleaned) > MAX_HINT_CHARS:
        raise FieldErrors({"hint": f"A hint is at most {MAX_HINT_CHARS} characters."})
    return cleaned


def _steerable_call(session: Session, actor: User | None, call_id: int) -> tuple[Call, Business | None]:
    """The call when `actor` may steer it (see `send_hint`), else the refusal."""
    access.require_area(actor, access.Area.BUSINESS)
    call = session.get(Call, call_id)
    business = session.get(Business, call.business_id) if call is not None and call.business_id else None
    if call is None and access.role_of(actor) == Role.ADMIN:
        raise NotFound("No such call.")
    access.require_call_whisper(actor, business)
    assert call is not None
    return call, business


def _in_progress(call: Call, what: str) -> None:
    if call.status != CallStatus.IN_PROGRESS.value:
        raise UserError(f"This call is not in progress: {what} only while the call is going on.", "hint")


def request_take_over(session: Session, actor: User | None, call_id: int) -> None:
    """The owner's "Take over" on a call in progress: its bridge warm-transfers the caller to the owner's phone
    (`voice_bridge.transfer`). Refused like `send_hint`, and when the business has no phone number to ring."""
    call, business = _steerable_call(session, actor, call_id)
    assert actor is not None
    _in_progress(call, "you can take over")
    if business is None or not (business.notify_phone or "").strip():
        raise UserError("Add your phone number in Settings (notifications) to take over calls.", "hint")
    try:
        pipe = get_redis().pipeline(transaction=True)
        pipe.set(_take_over_key(call_id), 1, ex=TAKE_OVER_TTL_SECONDS)
        _note_waiting(pipe, call_id)
        pipe.execute()
    except RedisError as exc:
        log.warning("call_take_over_not_queued", call_id=call_id, error=repr(exc))
        raise UserError("The call could not be reached right now; try again in a moment.", "hint") from exc
    audit.record(session, actor_id=actor.id, action="call.take_over", target=call)


def send_hint(session: Session, actor: User | None, call_id: int, text: str) -> str:
    """Queue a hint for the assistant of call `call_id`, in progress; returns the hint as it will be sent.

    NotLoggedIn / NotAllowed for anyone but the owner of the call's business and admins (a missing call is
    NotFound only to an admin, NotAllowed to everyone else: ids reveal nothing); UserError for a call not in
    progress or when the hint cannot be queued; FieldErrors for an empty or too long hint.
    """
    call, _business = _steerable_call(session, actor, call_id)
    assert actor is not None
    hint = clean_hint(text)
    _in_progress(call, "a hint can be sent")
    try:
        pipe = get_redis().pipeline(transaction=True)
        pipe.rpush(_hints_key(call_id), hint)
        pipe.expire(_hints_key(call_id), HINT_TTL_SECONDS)
        _note_waiting(pipe, call_id)
        queued = int(pipe.execute()[0])
    except RedisError as exc:
        log.warning("call_hint_not_queued", call_id=call_id, error=repr(exc))
        raise UserError("The hint could not be sent right now; try again in a moment.", "hint") from exc
    if queued > MAX_QUEUED:
        get_redis().rpop(_hints_key(call_id))
        raise UserError("Too many hints are waiting for this call; wait for the assistant to take them.", "hint")
    audit.record(session, actor_id=actor.id, action="call.hint", target=call, after={"chars": len(hint)})
    return hint


def take_signals(call_id: int) -> tuple[list[str], bool]:
    """What the owner sent for this call since the last take (the bridge, every `POLL_SECONDS`), removed as it is
    taken: the hints, oldest first, and whether they asked to take over."""
    pipe = get_redis().pipeline(transaction=True)
    pipe.lrange(_hints_key(call_id), 0, -1)
    pipe.delete(_hints_key(call_id))
    pipe.get(_take_over_key(call_id))
    pipe.delete(_take_over_key(call_id))
    pipe.srem(_waiting_key(), call_id)
    raw, _deleted, take_over, _gone, _listed = pipe.execute()
    return [item.decode() if isinstance(item, bytes) else str(item) for item in raw], take_over is not None


def _note_waiting(pipe: Any, call_id: int) -> None:
    """List the call among those with something waiting (in the same transaction as what waits)."""
    pipe.sadd(_waiting_key(), call_id)
    pipe.expire(_waiting_key(), HINT_TTL_SECONDS)


def calls_with_signals(call_ids: Sequence[int]) -> set[int]:
    """Which of these calls have a hint or a take-over waiting (one command for all of them)."""
    if not call_ids:
        return set()
    listed = get_redis().smismember(_waiting_key(), list(call_ids))
    return {call_id for call_id, waiting in zip(call_ids, listed, strict=True) if waiting}
