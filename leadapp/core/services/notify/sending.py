"""Sending: claiming a row (its lease, then a compare-and-set), calling the provider, recording the outcome;
and an admin's retry of a failed notification."""

from __future__ import annotations

import time
from collections.abc import Iterable
from contextlib import nullcontext
from typing import Any

from rq import get_current_job
from sqlalchemy import bindparam, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import object_session
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from leadapp.core import links, phones
from leadapp.core.db import get_engine, session_scope
from leadapp.core.errors import NotFound, UserError
from leadapp.core.models import Invitation, Notification, User, utcnow
from leadapp.core.observability import get_logger, report_exception
from leadapp.core.providers import email as email_provider
from leadapp.core.providers import sms as sms_provider
from leadapp.core.providers.email import SendError, SendResult
from leadapp.core.services import access, daily_caps
from leadapp.core.services.notify.enqueueing import _FAILED, _PENDING, _SENDING, _SENT, _SUPPRESSED, enqueue_sends
from leadapp.core.services.notify.leases import _Leases
from leadapp.core.services.notify.rows import thread_reply_to
from leadapp.core.services.notify.sms_opt_outs import is_opted_out
from leadapp.core.services.requeue import requeue
from leadapp.core.vocab import Channel, NotificationKind, NotificationStatus

log = get_logger(__name__)

OPTED_OUT_ERROR = "recipient opted out (STOP)"
DONE: frozenset[str] = frozenset({NotificationStatus.SENT.value, NotificationStatus.SUPPRESSED.value})


def _set(session: Session, notification_id: int, from_statuses: Iterable[str], **values: Any) -> int:
    """UPDATE the row only while its status is one of `from_statuses`; returns the number of rows changed."""
    result = session.exec(
        update(Notification)
        .where(col(Notification.id) == notification_id, col(Notification.status).in_(list(from_statuses)))
        .values(**values)
    )
    return int(result.rowcount)


def _retries_left() -> int:
    """Retries RQ still has for the running job (0 outside RQ or when the job has no Retry)."""
    job = get_current_job()
    return int(job.retries_left or 0) if job is not None else 0


def _extra_headers(row: Notification) -> dict[str, str] | None:
    """One-click unsubscribe headers for an invitation email (its dedupe key is `invitation:<id>:…`); the thread's
    reply address as Reply-To for a message email."""
    if row.kind == NotificationKind.THREAD_MESSAGE:
        reply_to = thread_reply_to(row.dedupe_key)
        return {"Reply-To": reply_to} if reply_to else None
    if row.kind not in (NotificationKind.INVITATION, NotificationKind.INVITATION_FOLLOWUP):
        return None
    _, _, rest = (row.dedupe_key or "").partition(":")
    invitation_id = rest.partition(":")[0]
    if not invitation_id.isdigit():
        return None
    with session_scope() as session:
        invitation = session.get(Invitation, int(invitation_id))
        if invitation is None:
            return None
        return links.list_unsubscribe_headers(links.invitation_token(invitation))


def _deliver(row: Notification) -> SendResult:
    if row.channel == Channel.EMAIL:
        headers = _extra_headers(row)
        return email_provider.send_email(row.recipient, row.subject, row.body_text, row.body_html, headers)
    if row.channel == Channel.SMS:
        return sms_provider.send_sms(row.recipient, row.body_text)
    raise SendError(f"unknown channel {row.channel!r}", permanent=True)


def send_batch(notifications: Iterable[int | Notification]) -> dict[int, str]:
    """First attempt for a batch of committed notifications (one RQ job for a lead's whole batch).

    Each is sent exactly as `send_notification` sends it, with the batch's database and Redis work done in
    a few round trips; one whose provider fails transiently goes back to 'pending' and gets its own send
    job with RQ's exponential-backoff Retry. Returns id → status.
    Each is an id, or the caller's own copy of a row it has just made (not read again: its claim is still the
    compare-and-set on the status in the database). Rows the caller made in a transaction still open are claimed
    in it, and commit with their claim: one transaction fewer per lead; their leases are taken first, as always.
    """
    items = list(notifications)
    known = [n for n in items if isinstance(n, Notification)]
    ids = [n.id if isinstance(n, Notification) else n for n in items]
    statuses, transient = _send([i for i in ids if i is not None], final_on_failure=False, known=known)
    if transient:
        enqueue_sends(transient)
    return statuses


def send_notification(notification_id: int, *, final_on_failure: bool | None = None) -> str:
    """Send one notification (the RQ job body); returns its status afterwards.

    `final_on_failure=False` (batch first attempts) treats a transient failure as not final whatever RQ
    says; by default a failure is final when RQ has no retries left for the running job.

    - Already sent or suppressed, or claimed by another live run: returns at once, sends nothing.
    - SMS to a number that replied STOP: 'suppressed', nothing sent.
    - Provider accepted: 'sent' with provider, provider id and time.
    - Provider failed permanently, or RQ has no retries left (always the case outside RQ): 'failed'
      with the error. Otherwise the row goes back to 'pending' and the `SendError` is re-raised so that
      RQ's Retry schedules the next attempt.
    """
    statuses, transient = _send([notification_id], final_on_failure=final_on_failure)
    if notification_id in transient:
        raise transient[notification_id]
    return statuses[notification_id]


def _send(
    notification_ids: list[int], *, final_on_failure: bool | None, known: Iterable[Notification] = ()
) -> tuple[dict[int, str], dict[int, SendError]]:
    """Claim, send and record each notification (see "Claims" above); returns the statuses afterwards and
    the errors of those put back to 'pending' for another attempt. `known`: rows the caller holds (not read)."""
    ids = list(dict.fromkeys(notification_ids))
    statuses: dict[int, str] = {}
    known = list(known)
    open_session = _open_session(known)
    with nullcontext(open_session) if open_session else Session(get_engine(), expire_on_commit=False) as session:
        rows = {row.id: row for row in known if row.id in ids}
        unknown = [i for i in ids if i not in rows]
        if unknown:
            read = session.exec(select(Notification).where(col(Notification.id).in_(unknown)))
            rows.update((row.id, row) for row in read)
        live: list[Notification] = []
        for notification_id in ids:
            row = rows.get(notification_id)
            if row is None:
                log.warning("notification_missing", notification_id=notification_id)
                statuses[notification_id] = "missing"
            elif row.status in DONE:
                statuses[notification_id] = row.status
            else:
                live.append(row)
        if not live:
            return statuses, {}
        leases = _Leases([row.id for row in live if row.id is not None])
        try:
            for row in live:
                if row.id in leases.busy:
                    log.info("notification_claimed_elsewhere", notification_id=row.id, status=row.status)
                    statuses[row.id] = row.status  # type: ignore[index]
            live = [row for row in live if row.id not in leases.busy]
            return statuses, _claim_and_send(session, live, leases, statuses, final_on_failure)
        finally:
            leases.release()


def _open_session(rows: list[Notification]) -> Session | None:
    """The session the caller made `rows` in, while its transaction is still open (else None)."""
    session = object_session(rows[0]) if rows else None
    return session if isinstance(session, Session) and session.in_transaction() else None


# The statements of every send, built once (the same objects each time: SQLAlchemy neither builds nor keys them again).
_table = Notification.__table__  # type: ignore[attr-defined]
_CLAIM = (
    update(_table)
    .where(
        _table.c.id.in_(bindparam("ids", expanding=True)),
        _table.c.status.in_(bindparam("statuses", expanding=True)),
    )
    .values(status=_SENDING, attempts=_table.c.attempts + 1)
    .returning(_table.c.id)
)
"""Claim rows still in one of `statuses` for sending (compare-and-set); returns the ids claimed."""
_RECORD_SENT = (
    update(_table)
    .where(_table.c.id == bindparam("nid"), _table.c.status == _SENDING)
    .values(
        status=_SENT,
        provider=bindparam("provider"),
        provider_id=bindparam("provider_id"),
        sent_at=bindparam("sent_at"),
        last_error="",
    )
)
_RECORD_FAILED = (
    update(_table)
    .where(_table.c.id == bindparam("nid"), _table.c.status == _SENDING)
    .values(status=bindparam("new_status"), last_error=bindparam("error"))
)

OUTCOME_RETRY_SECONDS = 60.0
"""How long the providers' answers are retried against a database that dropped the connection."""
OUTCOME_RETRY_PAUSE = 0.5


def _record_outcomes(session: Session, sent: list[dict[str, Any]], failed: list[dict[str, Any]]) -> None:
    """Write what the providers answered (rows still 'sending' only). A database connection lost on the way (a
    restart, a failover) is retried for up to OUTCOME_RETRY_SECONDS: the messages are already with their
    providers, and an outcome left unwritten would have them sent a second time once the claim's lease expired."""
    deadline = time.monotonic() + OUTCOME_RETRY_SECONDS
    while True:
        try:
            if sent:
                session.execute(_RECORD_SENT, sent)
            if failed:
                session.execute(_RECORD_FAILED, failed)
            session.commit()
            return
        except OperationalError as exc:  # the connection, not the statements: they are valid and idempotent
            session.rollback()
            if time.monotonic() >= deadline:
                raise
            ids = [r["nid"] for r in sent + failed]
            log.warning("notification_outcome_retry", notification_ids=ids, error=repr(exc))
            time.sleep(OUTCOME_RETRY_PAUSE)


def _claimable(notification_id: int, leases: _Leases) -> list[str]:
    """Statuses a run may claim from: a 'sending' row too while this run holds its lease (its claimer died)."""
    return [_PENDING, _FAILED, *([_SENDING] if notification_id in leases.held else [])]


def _claim_and_send(
    session: Session,
    rows: list[Notification],
    leases: _Leases,
    statuses: dict[int, str],
    final_on_failure: bool | None,
) -> dict[int, SendError]:
    by_id = {row.id: row for row in rows if row.id is not None}
    texts = [row for row in rows if row.channel == Channel.SMS and row.id is not None]
    budget = daily_caps.SmsBudget(session, [row.business_id for row in texts]) if texts else None
    for row in texts:  # SMS to a number that replied STOP: suppressed, never claimed
        assert row.id is not None and budget is not None
        if is_opted_out(session, row.recipient):
            _set(session, row.id, _claimable(row.id, leases), status=_SUPPRESSED, last_error=OPTED_OUT_ERROR)
            del by_id[row.id]
            statuses[row.id] = _SUPPRESSED
            log.info("notification_suppressed", notification_id=row.id)
            continue
        # Outside the supported countries, or over a daily cap: failed with the reason (an admin may retry it).
        refusal = "" if phones.is_supported(row.recipient) else phones.unsupported_message()
        refusal = refusal or budget.spend(row.business_id)
        if refusal:
            _set(session, row.id, _claimable(row.id, leases), status=_FAILED, last_error=refusal)
            del by_id[row.id]
            statuses[row.id] = _FAILED
            log.warning("notification_refused", notification_id=row.id, reason=refusal)
    claimed: set[int] = set()
    groups: dict[bool, list[int]] = {}  # by whether this run holds the lease (a claim may differ between them)
    for notification_id in by_id:
        groups.setdefault(notification_id in leases.held, []).append(notification_id)
    for group in groups.values():
        claimed.update(session.execute(_CLAIM, {"ids": group, "statuses": _claimable(group[0], leases)}).scalars())
    leases.keep |= claimed  # until the outcome is committed, a crash leaves the claim to its lease's expiry
    session.commit()  # hold no transaction open while the providers are called
    not_claimed = [i for i in by_id if i not in claimed]
    if not_claimed:
        now = dict(
            session.execute(
                select(Notification.id, Notification.status).where(col(Notification.id).in_(not_claimed))
            ).all()
        )
        session.commit()
        for notification_id in not_claimed:
            statuses[notification_id] = now.get(notification_id, "missing")
            log.info("notification_not_claimable", notification_id=notification_id, status=statuses[notification_id])

    sent: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    transient: dict[int, SendError] = {}
    for notification_id in [i for i in by_id if i in claimed]:  # in the caller's order
        row = by_id[notification_id]
        attempts = row.attempts + 1
        set_committed_value(row, "status", _SENDING)
        set_committed_value(row, "attempts", attempts)
        try:
            result = _deliver(row)
        except SendError as exc:
            error = exc
        except Exception as exc:  # a bug of ours: record it, report it, let RQ retry
            report_exception(exc, notification_id=notification_id)
            error = SendError(f"unexpected error: {exc!r}", permanent=False)
        else:
            sent.append(
                {
                    "nid": notification_id,
                    "provider": result.provider[:16],
                    "provider_id": result.provider_id[:200],
                    "sent_at": utcnow(),
                }
            )
            statuses[notification_id] = _SENT
            log.info("notification_sent", notification_id=notification_id, provider=result.provider, attempts=attempts)
            continue
        final = error.permanent or (_retries_left() <= 0 if final_on_failure is None else final_on_failure)
        statuses[notification_id] = _FAILED if final else _PENDING
        failed.append({"nid": notification_id, "new_status": statuses[notification_id], "error": error.message[:2000]})
        if not final:
            transient[notification_id] = error
        log.warning(
            "notification_send_failed",
            notification_id=notification_id,
            attempts=attempts,
            permanent=error.permanent,
            final=final,
            error=error.message,
        )
    _record_outcomes(session, sent, failed)
    leases.keep -= claimed
    return transient


def retry_notification(session: Session, actor: User | None, notification_id: int) -> Notification:
    """Admins only: put a failed notification back to pending, audit it, commit and enqueue its send.

    Commits (the job must find the row pending); if Redis is down the row stays pending for the sweeper.
    Raises NotAllowed for anyone but an admin, NotFound for an unknown id, UserError unless it failed.
    """
    admin = access.require_admin(actor)
    row = session.get(Notification, notification_id)
    if row is None:
        raise NotFound("No such notification.")
    if row.status != _FAILED:
        raise UserError("Only a failed notification can be retried.")
    return requeue(
        session,
        admin_id=admin.id,
        row=row,
        move=lambda: _set(session, notification_id, [_FAILED], status=_PENDING),
        refused="This notification changed meanwhile; reload and try again.",
        action="notification.retry",
        pending=_PENDING,
        enqueue=lambda: enqueue_sends([notification_id]),
    )
