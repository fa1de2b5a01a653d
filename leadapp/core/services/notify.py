"""Notify: every email and SMS is a `Notification` row first, and sending it is an RQ job with retries.

Life of a notification::

    pending ──claim──▶ sending ──provider accepted──▶ sent
       ▲                  │ transient error, retries left → pending (RQ's Retry runs the job again)
       │                  │ permanent error, or no retries left → failed ──admin retry──▶ pending
       │                  └ SMS to a number that replied STOP → suppressed
       └── the sweeper re-enqueues pending rows (Redis was down, worker lost) and abandoned claims

Guarantees:
- One row per purpose: `dedupe_key` is unique and `create_notification` returns the existing row,
  also when a concurrent transaction inserts the same key first.
- Rows are committed before their jobs are enqueued (callers commit, then `enqueue_sends`); when
  Redis is down they stay pending and the sweeper enqueues them later, so none is lost.
- A job run twice (RQ retry, sweeper, a duplicate enqueue) sends once: see "Claims" below.

Claims (the schema is fixed: no claim-time column). A run sends only after two things succeed:
1. a lease in Redis, `<prefix>:notification:<id>:claim`, taken with SET NX and a
   `CLAIM_LEASE_SECONDS` expiry (redis-py's `Lock`), which says "a live run is on it";
2. a compare-and-set UPDATE in the database: `status = 'sending', attempts = attempts + 1 WHERE
   id = ? AND status IN ('pending', 'failed')`, the atomic, durable claim.
A run that finds the lease taken returns at once without sending. A row left in 'sending' by a run
that died has no lease any more once it expires (5 minutes, longer than the job timeout and any
provider call), so the run that next takes the lease may claim it back (`status IN ('pending',
'failed', 'sending')`). When Redis cannot be reached a run still claims pending/failed rows through
the database but never takes back a 'sending' one: it errs towards not sending twice.
The lease is released when the run ends, except after a claim whose outcome could not be recorded
(the provider may have accepted the message): then it is kept until it expires, so no re-run sends
it again at once; the sweeper picks the row up after that (at least once: had the provider taken it,
that message goes out twice, the one case where the database cannot know).
`attempts` counts claims, i.e. provider calls started, so a crash mid-send still counts.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from functools import cache, partial
from typing import Any

from redis.exceptions import RedisError
from rq import Retry, get_current_job
from sqlalchemy import bindparam, delete, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from leadapp.core import links, phones
from leadapp.core.broker import get_redis, key
from leadapp.core.crypto import decrypt_phone, phone_hash
from leadapp.core.db import get_engine, insert_new, session_scope
from leadapp.core.errors import NotFound, UserError
from leadapp.core.models import Business, Invitation, Lead, Match, Notification, SmsOptOut, User, utcnow
from leadapp.core.observability import get_logger, report_exception
from leadapp.core.providers import email as email_provider
from leadapp.core.providers import sms as sms_provider
from leadapp.core.providers.email import SendError, SendResult
from leadapp.core.services import access, audit, daily_caps
from leadapp.core.services.compose import (
    ComposedMessage,
    compose_business_message,
    compose_consumer_matched,
    compose_consumer_no_match,
)
from leadapp.core.tasks import NOTIFICATIONS, enqueue
from leadapp.core.vocab import Channel, ContactPreference, NotificationKind, NotificationStatus

log = get_logger(__name__)

SEND_JOB = "worker.jobs.send_notification"
BATCH_JOB = "worker.jobs.send_notifications"
RETRY_INTERVALS: list[int] = [2, 10, 30, 120]
"""Seconds between attempts (exponential backoff); one retry per interval. Tests may shorten them."""
CLAIM_LEASE_SECONDS = 300
"""How long a run's claim stays live without being released (longer than the RQ job timeout)."""
SWEEP_AFTER_SECONDS = 60
"""A row pending this long without a queued job is re-enqueued by the sweeper."""
SWEEP_BATCH = 500
OPTED_OUT_ERROR = "recipient opted out (STOP)"
DONE: frozenset[str] = frozenset({NotificationStatus.SENT.value, NotificationStatus.SUPPRESSED.value})

_PENDING = NotificationStatus.PENDING.value
_SENDING = NotificationStatus.SENDING.value
_SENT = NotificationStatus.SENT.value
_FAILED = NotificationStatus.FAILED.value
_SUPPRESSED = NotificationStatus.SUPPRESSED.value


def retry_policy() -> Retry:
    """RQ's Retry for a send job: one retry per entry of `RETRY_INTERVALS`."""
    return Retry(max=len(RETRY_INTERVALS), interval=list(RETRY_INTERVALS))


def max_attempts() -> int:
    """Provider calls a notification gets from one enqueue: the first run plus every retry."""
    return 1 + len(RETRY_INTERVALS)


# --- creating rows --------------------------------------------------------------------------------


_Wanted = list[tuple[str, Callable[[], dict[str, Any]]]]
"""(dedupe key, factory of the row's values) for each notification a caller wants to exist."""


def _values(
    *,
    kind: str,
    channel: str,
    recipient: str,
    subject: str,
    text: str,
    html: str,
    dedupe_key: str,
    **links: int | None,
) -> dict[str, Any]:
    """A new pending row's column values (the model's defaults included), cut to the columns' sizes.

    `links`: lead_id, match_id, business_id, user_id."""
    row = Notification(
        kind=str(kind),
        channel=str(channel),
        recipient=recipient[:320],
        subject=subject[:300],
        body_text=text[:10000],
        body_html=html[:40000],
        dedupe_key=dedupe_key,
        **links,
    )
    return row.model_dump(exclude={"id"})


def _existing(session: Session, keys: Iterable[str]) -> dict[str, Notification]:
    rows = session.exec(select(Notification).where(col(Notification.dedupe_key).in_(list(keys)))).all()
    return {row.dedupe_key: row for row in rows}


def _store(session: Session, wanted: _Wanted) -> list[Notification]:
    """The row for each (dedupe key, values factory), in order: existing rows as they are, the rest inserted.

    Three statements whatever the count: look the keys up, insert the missing rows in one INSERT … ON
    CONFLICT DO NOTHING (a concurrent transaction that inserted a key first wins; nothing fails), read
    them back. A factory runs only for a key that has no row yet. Does not commit.
    """
    keys = list(dict.fromkeys(k for k, _ in wanted))
    if not keys:
        return []
    found = _existing(session, keys)
    new_rows = {k: make() for k, make in wanted if k not in found}
    if new_rows:
        insert_new(session, Notification, list(new_rows.values()), ["dedupe_key"])
        found.update(_existing(session, new_rows))
    return [found[k] for k, _ in wanted]


def create_notification(
    session: Session,
    *,
    kind: str,
    channel: str,
    recipient: str,
    subject: str,
    text: str,
    html: str,
    dedupe_key: str,
    **links: int | None,
) -> Notification:
    """The pending notification for `dedupe_key`: created once, returned as it is on every later call.

    Safe against a concurrent insert of the same key (ON CONFLICT DO NOTHING; the loser gets the
    winner's row). `links`: lead_id, match_id, business_id, user_id. Does not commit; the row has an id
    when this returns.
    """
    key_ = dedupe_key[:200]
    values = partial(
        _values,
        kind=kind,
        channel=channel,
        recipient=recipient,
        subject=subject,
        text=text,
        html=html,
        dedupe_key=key_,
        **links,
    )
    return _store(session, [(key_, values)])[0]


def normalize_phone(phone: str) -> str:
    """A phone number in E.164 when it parses (US by default), else the trimmed input ("" stays "")."""
    return phones.normalize(phone)


def business_targets(session: Session, business: Business) -> list[tuple[str, str]]:
    """(channel, recipient) for each channel the business chose and has an address for."""
    targets: list[tuple[str, str]] = []
    for channel in dict.fromkeys(business.notify_channels or [Channel.EMAIL.value]):
        if channel == Channel.EMAIL:
            recipient = business.notify_email.strip()
            if not recipient:
                owner = session.get(User, business.owner_id)
                recipient = owner.email if owner is not None else ""
        elif channel == Channel.SMS:
            recipient = normalize_phone(business.notify_phone)
        else:
            log.warning("unknown_notify_channel", business_id=business.id, channel=channel)
            continue
        if recipient:
            targets.append((str(channel), recipient))
        else:
            log.info("notify_channel_without_address", business_id=business.id, channel=channel)
    return targets


def _per_target(
    targets: Sequence[tuple[str, str]], keys: dict[str, str], compose: Callable[[], ComposedMessage], **fields: Any
) -> _Wanted:
    """(dedupe key, values factory) per target of one message; the message is composed at most once, and
    only when some target has no row yet."""
    message = cache(compose)

    def values(channel: str, recipient: str) -> dict[str, Any]:
        composed, is_sms = message(), channel == Channel.SMS
        return _values(
            channel=channel,
            recipient=recipient,
            subject="" if is_sms else composed.subject,
            text=composed.sms if is_sms else composed.text,
            html="" if is_sms else composed.html,
            dedupe_key=keys[channel],
            **fields,
        )

    return [(keys[channel], partial(values, channel, recipient)) for channel, recipient in targets]


def business_dedupe_key(lead_id: int | None, business_id: int | None, channel: str) -> str:
    return f"lead:{lead_id}:biz:{business_id}:{channel}"


def _businesses_wanted(session: Session, lead: Lead, matches: Sequence[Match]) -> _Wanted:
    wanted: _Wanted = []
    ids = list(dict.fromkeys(m.business_id for m in matches))
    businesses = {b.id: b for b in session.exec(select(Business).where(col(Business.id).in_(ids))).all()} if ids else {}
    for match in matches:
        business = businesses.get(match.business_id)
        if business is None:
            continue
        targets = business_targets(session, business)
        if not targets:
            log.warning("business_has_no_notification_address", business_id=business.id, lead_id=lead.id)
            continue
        keys = {channel: business_dedupe_key(lead.id, business.id, channel) for channel, _ in targets}
        wanted += _per_target(
            targets,
            keys,
            partial(compose_business_message, lead, business, match),
            kind=NotificationKind.BUSINESS_NEW_LEAD.value,
            lead_id=lead.id,
            match_id=match.id,
            business_id=business.id,
            user_id=business.owner_id,
        )
    return wanted


def _consumer_wanted(session: Session, lead: Lead, matches: Sequence[Match]) -> _Wanted:
    kind = NotificationKind.CONSUMER_MATCHED if matches else NotificationKind.CONSUMER_NO_MATCH
    targets: list[tuple[str, str]] = []
    if lead.contact_email:
        targets.append((Channel.EMAIL.value, lead.contact_email))
    if lead.preferred_contact in (ContactPreference.SMS, ContactPreference.PHONE):
        phone = normalize_phone(decrypt_phone(lead.contact_phone_enc))
        if phone:
            targets.append((Channel.SMS.value, phone))

    def compose() -> ComposedMessage:
        if not matches:
            return compose_consumer_no_match(lead)
        pairs = [(m, session.get(Business, m.business_id)) for m in sorted(matches, key=lambda m: -m.score)]
        return compose_consumer_matched(lead, [(m, b) for m, b in pairs if b is not None])

    keys = {channel: f"lead:{lead.id}:{kind.value}:{channel}" for channel, _ in targets}
    return _per_target(targets, keys, compose, kind=kind.value, lead_id=lead.id, user_id=lead.consumer_id)


def notify_businesses(session: Session, lead: Lead, matches: Sequence[Match]) -> list[Notification]:
    """A new-lead notification per match and per channel the business chose (email, SMS).

    Email goes to the business's notification email, else its owner's account email; SMS to its
    notification phone when set. Idempotent (one row per lead, business and channel); creates rows only
    (the caller commits, then calls `enqueue_sends`).
    """
    return _store(session, _businesses_wanted(session, lead, matches))


def notify_consumer_result(session: Session, lead: Lead, matches: Sequence[Match]) -> list[Notification]:
    """Tell the consumer the outcome of matching: matched (with whom) or not matched yet.

    By email when the lead has one; by SMS when they prefer SMS or phone and their number is known.
    Idempotent per lead, outcome and channel; creates rows only (the caller commits, then enqueues).
    """
    return _store(session, _consumer_wanted(session, lead, matches))


def notify_matched_lead(session: Session, lead: Lead, matches: Sequence[Match]) -> list[Notification]:
    """`notify_businesses` and then `notify_consumer_result` for a lead just matched, in one round of statements."""
    return _store(session, _businesses_wanted(session, lead, matches) + _consumer_wanted(session, lead, matches))


# --- enqueueing and the sweeper -------------------------------------------------------------------


def enqueue_sends(notification_ids: Iterable[int]) -> int:
    """Enqueue a send job (with `retry_policy()`, job id `notify-<id>`) per id; returns how many are queued.

    Call after committing the rows. Stops at the first Redis failure (the rest would fail the same
    way); rows not enqueued stay pending and the sweeper enqueues them later.
    """
    count = 0
    for notification_id in notification_ids:
        if not enqueue(
            NOTIFICATIONS, SEND_JOB, notification_id, job_id=f"notify-{notification_id}", retry=retry_policy()
        ):
            log.warning("notification_enqueue_failed", notification_id=notification_id)
            break
        count += 1
    return count


def pending_notification_ids(session: Session, older_than_seconds: float) -> list[int]:
    """Ids of rows still pending that were created more than `older_than_seconds` ago, oldest first."""
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    query = (
        select(Notification.id)
        .where(Notification.status == _PENDING, Notification.created_at < cutoff)
        .order_by(col(Notification.id))
        .limit(SWEEP_BATCH)
    )
    return [i for i in session.exec(query).all() if i is not None]


def abandoned_notification_ids(session: Session) -> list[int]:
    """Ids of rows left in 'sending' whose claim lease has expired (the run that claimed them died).

    Empty when Redis cannot be reached: without the lease nobody can tell a live claim from a dead one.
    """
    query = select(Notification.id).where(Notification.status == _SENDING).order_by(col(Notification.id))
    ids = [i for i in session.exec(query.limit(SWEEP_BATCH)).all() if i is not None]
    if not ids:
        return []
    try:
        client = get_redis()
        return [i for i in ids if not client.exists(_lease_key(i))]
    except RedisError as exc:
        log.warning("abandoned_claims_unknown", error=repr(exc))
        return []


def sweep_notifications(older_than_seconds: float = SWEEP_AFTER_SECONDS) -> int:
    """Re-enqueue what waits too long (pending rows, abandoned claims); returns how many were enqueued.

    Safe to run any time and often: a row whose job is still queued or scheduled is not enqueued twice,
    and a run of a job whose row is already handled sends nothing.
    """
    with session_scope() as session:
        ids = pending_notification_ids(session, older_than_seconds) + abandoned_notification_ids(session)
    if not ids:
        return 0
    count = enqueue_sends(ids)
    log.info("notifications_swept", found=len(ids), enqueued=count)
    return count


# --- sending --------------------------------------------------------------------------------------


def _lease_key(notification_id: int) -> str:
    return key("notification", notification_id, "claim")


_RELEASE_LEASES = """
local released = 0
for i, name in ipairs(KEYS) do
  if redis.call('get', name) == ARGV[1] then released = released + redis.call('del', name) end
end
return released
"""


class _Leases:
    """This run's leases on a batch of notifications, taken and released in one Redis round trip each.

    A lease is `SET <prefix>:notification:<id>:claim <token> NX EX CLAIM_LEASE_SECONDS`, the same key a
    redis-py `Lock` would use; it is released only while it still holds this run's token.
    """

    def __init__(self, ids: Sequence[int]) -> None:
        self.token = uuid.uuid4().hex
        self.held: set[int] = set()
        self.busy: set[int] = set()
        self.keep: set[int] = set()
        """Claimed ids whose outcome is not committed yet: their leases outlive this run."""
        try:
            pipe = get_redis().pipeline(transaction=False)
            for notification_id in ids:
                pipe.set(_lease_key(notification_id), self.token, nx=True, ex=CLAIM_LEASE_SECONDS)
            for notification_id, taken in zip(ids, pipe.execute(), strict=True):
                (self.held if taken else self.busy).add(notification_id)
        except RedisError as exc:
            log.warning("notification_lease_unavailable", notification_ids=list(ids), error=repr(exc))
            self.held, self.busy = set(), set()

    def release(self) -> None:
        names = [_lease_key(i) for i in sorted(self.held - self.keep)]
        if not names:
            return
        try:
            get_redis().register_script(_RELEASE_LEASES)(keys=names, args=[self.token])
        except RedisError as exc:  # Redis went away: the leases expire anyway
            log.warning("notification_lease_release_failed", leases=names, error=repr(exc))


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
    """One-click unsubscribe headers for an invitation email (its dedupe key is `invitation:<id>:…`)."""
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


def send_batch(notification_ids: Iterable[int]) -> dict[int, str]:
    """First attempt for a batch of committed notifications (one RQ job for a lead's whole batch).

    Each is sent exactly as `send_notification` sends it, with the batch's database and Redis work done in
    a few round trips; one whose provider fails transiently goes back to 'pending' and gets its own send
    job with RQ's exponential-backoff Retry. Returns id → status.
    """
    statuses, transient = _send(list(notification_ids), final_on_failure=False)
    if transient:
        enqueue_sends(transient)
    return statuses


def enqueue_batch(lead_id: int, notification_ids: list[int]) -> bool:
    """Enqueue one `send_batch` job for a lead's new notifications (call after committing them).

    False when Redis is down: the rows stay pending and the sweeper enqueues them one by one.
    """
    if not notification_ids:
        return True
    ok = enqueue(NOTIFICATIONS, BATCH_JOB, notification_ids, job_id=f"notify-lead-{lead_id}-{notification_ids[0]}")
    if not ok:
        log.warning("notification_batch_enqueue_failed", lead_id=lead_id, notification_ids=notification_ids)
    return ok


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


def _send(notification_ids: list[int], *, final_on_failure: bool | None) -> tuple[dict[int, str], dict[int, SendError]]:
    """Claim, send and record each notification (see "Claims" above); returns the statuses afterwards and
    the errors of those put back to 'pending' for another attempt."""
    ids = list(dict.fromkeys(notification_ids))
    statuses: dict[int, str] = {}
    with Session(get_engine(), expire_on_commit=False) as session:
        rows = {row.id: row for row in session.exec(select(Notification).where(col(Notification.id).in_(ids)))}
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
        claim = (
            update(Notification)
            .where(col(Notification.id).in_(group), col(Notification.status).in_(_claimable(group[0], leases)))
            .values(status=_SENDING, attempts=col(Notification.attempts) + 1)
            .returning(col(Notification.id))
            .execution_options(synchronize_session=False)
        )
        claimed.update(session.execute(claim).scalars())
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
    table = Notification.__table__  # type: ignore[attr-defined]
    if sent:
        session.execute(
            update(table)
            .where(table.c.id == bindparam("nid"), table.c.status == _SENDING)
            .values(
                status=_SENT,
                provider=bindparam("provider"),
                provider_id=bindparam("provider_id"),
                sent_at=bindparam("sent_at"),
                last_error="",
            ),
            sent,
        )
    if failed:
        session.execute(
            update(table)
            .where(table.c.id == bindparam("nid"), table.c.status == _SENDING)
            .values(status=bindparam("new_status"), last_error=bindparam("error")),
            failed,
        )
    session.commit()
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
    before = {"status": row.status, "attempts": row.attempts, "last_error": row.last_error}
    if _set(session, notification_id, [_FAILED], status=_PENDING) != 1:
        session.rollback()
        raise UserError("This notification changed meanwhile; reload and try again.")
    audit.record(
        session,
        actor_id=admin.id,
        action="notification.retry",
        target=row,
        target_id=notification_id,
        before=before,
        after={"status": _PENDING},
    )
    session.commit()
    session.refresh(row)
    enqueue_sends([notification_id])
    return row


# --- SMS opt-outs ---------------------------------------------------------------------------------


def _opt_out_lookup(phone_e164: str) -> Any:
    return select(SmsOptOut).where(SmsOptOut.phone_hash == phone_hash(normalize_phone(phone_e164)))


def record_sms_opt_out(session: Session, phone_e164: str) -> SmsOptOut | None:
    """Remember that this number replied STOP (idempotent; only a keyed hash is stored). Does not commit."""
    digest = phone_hash(normalize_phone(phone_e164))
    if not digest:
        return None
    lookup = _opt_out_lookup(phone_e164)
    found = session.exec(lookup).first()
    if found is None:
        insert_new(session, SmsOptOut, [SmsOptOut(phone_hash=digest).model_dump(exclude={"id"})], ["phone_hash"])
        found = session.exec(lookup).one()
    return found


def clear_sms_opt_out(session: Session, phone_e164: str) -> bool:
    """Forget a STOP after START; True when there was one. Does not commit."""
    digest = phone_hash(normalize_phone(phone_e164))
    if not digest:
        return False
    result = session.exec(delete(SmsOptOut).where(col(SmsOptOut.phone_hash) == digest))
    return int(result.rowcount) > 0


def is_opted_out(session: Session, phone_e164: str) -> bool:
    """True when this number replied STOP and has not sent START since."""
    if not normalize_phone(phone_e164):
        return False
    return session.exec(_opt_out_lookup(phone_e164)).first() is not None
