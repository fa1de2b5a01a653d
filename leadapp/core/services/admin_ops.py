"""Running the platform: the notification outbox, RQ queue health, the calls log and its costs, the
do-not-call list and the audit trail.

Guarantees:
- Every function is for admins only: anyone else gets NotAllowed (NotLoggedIn when anonymous) before
  anything is read or changed.
- Every change is audited (`audit.record`) in the same database transaction as the change itself. DNC
  changes do not commit (the caller does, or rolls back the change and its audit event together). Retrying
  or deleting a failed RQ job cannot be rolled back, so those record the audit event first, act on Redis,
  then commit; if Redis fails, nothing is committed.
- Lists are paged on the server (`PAGE_SIZE` rows a page) and their rows are plain strings, ready to show.
- Queue inspection never uses the shared Redis client (`broker.get_redis()`): RQ code that builds a Worker
  raises its client's socket timeout in place, and the web app's rate limits and events must keep theirs.
  Each call opens a client of its own and closes it.
- Numbers on the do-not-call list are stored only as a keyed hash plus a masked display form, the same
  hash as a lead's `contact_phone_hash`, so the calls work finds them.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import redis
from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import (
    DeferredJobRegistry,
    FailedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)
from rq.results import Result
from sqlalchemy import func
from sqlalchemy.exc import CompileError, IntegrityError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import String
from sqlmodel import Session, col, select

from leadapp.core import crypto, labels, localtime, phones
from leadapp.core.crypto import decrypt_phone, mask_phone, phone_hash
from leadapp.core.errors import NotFound, UserError
from leadapp.core.models import AuditEvent, Business, Call, DoNotCall, Notification, User
from leadapp.core.observability import get_logger
from leadapp.core.providers import telephony
from leadapp.core.services import access, audit
from leadapp.core.settings import get_settings
from leadapp.core.tasks import ALL_QUEUES
from leadapp.core.vocab import DNC_SOURCE_LABELS, Channel, NotificationKind, NotificationStatus

log = get_logger(__name__)

PAGE_SIZE = 50
FAILED_JOBS_LIMIT = 100
COST_MONTHS = 12
DNC_IMPORT_MAX_ROWS = 5000
DNC_IMPORT_MAX_CHARS = 500_000
REDIS_TIMEOUT_SECONDS = 5


# --- shared shapes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """One page of a list: its rows (strings, ready to show), how many rows match in all, which page."""

    rows: list[dict[str, str]]
    total: int
    page: int
    page_size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def _page_number(page: int, total: int) -> int:
    """`page` clamped to 1..last page."""
    last = max(1, -(-total // PAGE_SIZE))
    return max(1, min(int(page or 1), last))


def _when(moment: datetime | None, zone: ZoneInfo | None = None) -> str:
    """ "YYYY-MM-DD HH:MM UTC" ("" for None); a naive time is taken to be UTC (as RQ and SQLite give them).
    With `zone` (the admin's own, `localtime.viewer_zone`): the exact time there, "Dec 6, 2026, 9:05 EST"."""
    if moment is None:
        return ""
    if zone is not None:
        return localtime.exact(moment, zone)
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _dollars(cents: float | None) -> str:
    """Cents as dollars, half a cent rounded up (175.5 → "$1.76"; binary floats would round it down)."""
    amount = (Decimal(str(cents or 0)) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"${amount:,.2f}"


# --- notification outbox --------------------------------------------------------------------------

NOTIFICATION_STATUSES: tuple[str, ...] = tuple(s.value for s in NotificationStatus)
CHANNELS: tuple[str, ...] = tuple(c.value for c in Channel)

# The rendered e-mail is shown in a sandboxed iframe (no scripts, no forms, no same-origin); this policy
# also stops it from loading anything remote (tracking pixels, fonts) when an admin opens it.
VIEWER_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def viewer_document(html: str) -> str:
    """A complete HTML document for a sandboxed iframe's `srcdoc`, showing an e-mail's HTML body inertly."""
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{VIEWER_POLICY}">'
        "<style>body{font-family:system-ui,sans-serif;margin:12px;word-wrap:break-word}</style>"
        f"</head><body>{html}</body></html>"
    )


_CODE = re.compile(r"\b[0-9]{6}\b")


def _shown_text(row: Notification) -> str:
    """The body an admin may read: links' tokens hidden, and a phone verification code too (it would let the admin
    verify the consumer's number)."""
    text = crypto.redact_links(row.body_text)
    return _CODE.sub(crypto.REDACTED, text) if row.kind == NotificationKind.PHONE_CODE else text


def _notification_row(row: Notification, zone: ZoneInfo | None = None) -> dict[str, str]:
    # Links are shown with their tokens hidden: a reset or tracking link would let the admin act as its recipient.
    preview = row.subject or _shown_text(row)[:80]
    return {
        "id": str(row.id),
        "created_at": _when(row.created_at, zone),
        "kind": row.kind,
        "kind_label": labels.notification_kind(row.kind),
        "channel": row.channel,
        "channel_label": labels.channel(row.channel),
        "recipient": row.recipient,
        "subject": preview,
        "status": row.status,
        "status_label": labels.notification_status(row.status),
        "attempts": str(row.attempts),
        "attempts_label": labels.count(row.attempts, "attempt"),
        "last_error": row.last_error[:300],
        "provider": row.provider,
        "provider_id": row.provider_id,
        "sent_at": _when(row.sent_at, zone),
        "retryable": "yes" if row.status == NotificationStatus.FAILED else "",
    }


def list_notifications(
    session: Session, actor: User | None, status: str = "", channel: str = "", page: int = 1
) -> Page:
    """Every notification, newest first, optionally only one status and/or channel (admins only).

    Raises UserError for an unknown status or channel.
    """
    access.require_admin(actor)
    if status and status not in NOTIFICATION_STATUSES:
        raise UserError(f"Unknown status {status!r}.", field="status")
    if channel and channel not in CHANNELS:
        raise UserError(f"Unknown channel {channel!r}.", field="channel")
    conditions = []
    if status:
        conditions.append(col(Notification.status) == status)
    if channel:
        conditions.append(col(Notification.channel) == channel)
    total = int(session.exec(select(func.count()).select_from(Notification).where(*conditions)).one())
    page = _page_number(page, total)
    query = (
        select(Notification)
        .where(*conditions)
        .order_by(col(Notification.created_at).desc(), col(Notification.id).desc())
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    )
    zone = localtime.viewer_zone(session, actor)
    return Page([_notification_row(r, zone) for r in session.exec(query).all()], total, page)


def notification_detail(session: Session, actor: User | None, notification_id: int) -> dict[str, str]:
    """One notification as it was rendered: subject, text and HTML body, plus its delivery record.

    `html` is the stored body (show it as text or inside `html_document`); `html_document` wraps it for a
    sandboxed iframe (see `viewer_document`). Every link's token is hidden (`crypto.redact_links`): a password
    reset or tracking link is its recipient's key, which an admin must not hold (only the sender sends it).
    Raises NotFound for an unknown id.
    """
    access.require_admin(actor)
    row = session.get(Notification, notification_id)
    if row is None:
        raise NotFound("No such notification.")
    detail = _notification_row(row, localtime.viewer_zone(session, actor))
    text, html = _shown_text(row), crypto.redact_links(row.body_html)
    detail.update(
        subject=row.subject,
        text=text,
        html=html,
        html_document=viewer_document(html) if html else "",
        last_error=row.last_error,
        dedupe_key=row.dedupe_key,
        lead_id=str(row.lead_id or ""),
        business_id=str(row.business_id or ""),
    )
    return detail


# --- RQ queues ------------------------------------------------------------------------------------


class QueuesUnavailable(UserError):
    status_code = 503


@dataclass(frozen=True)
class QueueCounts:
    name: str
    queued: int
    started: int
    failed: int
    scheduled: int
    deferred: int


@dataclass(frozen=True)
class FailedJob:
    id: str
    queue: str
    func: str
    args: str
    enqueued_at: str
    ended_at: str
    error: str
    """The full traceback RQ stored (exc_info)."""

    @property
    def error_summary(self) -> str:
        """The last line of the traceback, e.g. "RuntimeError: provider down"."""
        lines = [line for line in self.error.strip().splitlines() if line.strip()]
        return lines[-1].strip()[:300] if lines else ""


@contextmanager
def _inspection_redis() -> Iterator[redis.Redis]:
    """A Redis client of its own for RQ inspection (never the shared one), closed afterwards."""
    client = redis.Redis.from_url(
        get_settings().redis_url,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
    )
    try:
        yield client
    except RedisError as exc:
        log.warning("queue_inspection_failed", error=repr(exc))
        raise QueuesUnavailable(f"Redis cannot be reached: {exc}") from exc
    finally:
        client.close()


def _check_queue(name: str) -> str:
    if name not in ALL_QUEUES:
        raise UserError(f"Unknown queue {name!r}.", field="queue")
    return name


def queue_overview(actor: User | None) -> list[QueueCounts]:
    """Per RQ queue: jobs waiting, running, failed, scheduled (e.g. a retry's backoff) and deferred.

    Read-only: registries are counted without RQ's clean-up (which would move abandoned jobs about).
    Raises QueuesUnavailable when Redis cannot be reached.
    """
    access.require_admin(actor)
    counts = []
    with _inspection_redis() as client:
        for name in ALL_QUEUES:
            q = Queue(name, connection=client)
            counts.append(
                QueueCounts(
                    name=name,
                    queued=q.count,
                    started=StartedJobRegistry(queue=q).get_job_count(cleanup=False),
                    failed=FailedJobRegistry(queue=q).get_job_count(cleanup=False),
                    scheduled=ScheduledJobRegistry(queue=q).get_job_count(cleanup=False),
                    deferred=DeferredJobRegistry(queue=q).get_job_count(cleanup=False),
                )
            )
    return counts


def _error_of(job: Job) -> str:
    result = job.latest_result()
    if result is not None and result.type == Result.Type.FAILED and result.exc_string:
        return result.exc_string
    return job._exc_info or ""  # RQ's stored exc_info when no result is kept


def _failed_job(job_id: str, queue_name: str, job: Job | None) -> FailedJob:
    if job is None:
        return FailedJob(job_id, queue_name, "", "", "", "", "The job's data has expired.")
    try:
        func_name, args = job.func_name or "", repr(job.args)[:300]
    except Exception as exc:  # arguments that no longer unpickle: still listed, so it can be deleted
        func_name, args = "(unreadable)", repr(exc)[:300]
    return FailedJob(
        id=job_id,
        queue=queue_name,
        func=func_name,
        args=args,
        enqueued_at=_when(job.enqueued_at),
        ended_at=_when(job.ended_at),
        error=_error_of(job),
    )


def failed_jobs(actor: User | None, queue: str, limit: int = FAILED_JOBS_LIMIT) -> list[FailedJob]:
    """The queue's failed jobs, most recently failed first (at most `limit`, ≤ 100), with their errors."""
    access.require_admin(actor)
    _check_queue(queue)
    limit = max(1, min(int(limit), FAILED_JOBS_LIMIT))
    with _inspection_redis() as client:
        registry = FailedJobRegistry(queue=Queue(queue, connection=client))
        job_ids = registry.get_job_ids(0, limit - 1, desc=True, cleanup=False)
        jobs = Job.fetch_many(job_ids, connection=client)
        return [_failed_job(job_id, queue, job) for job_id, job in zip(job_ids, jobs, strict=True)]


def _audit_job(session: Session, actor: User, action: str, queue: str, job_id: str, failed: FailedJob) -> None:
    audit.record(
        session,
        actor_id=actor.id,
        action=action,
        target_type="rq_job",
        target_id=job_id[:64],
        before={"queue": queue, "status": "failed", "func": failed.func, "error": failed.error_summary},
        after={"status": "queued" if action == "job.retry" else "deleted"},
    )
    session.flush()


def _failed_registry_job(client: redis.Redis, queue: str, job_id: str) -> tuple[FailedJobRegistry, FailedJob]:
    registry = FailedJobRegistry(queue=Queue(queue, connection=client))
    if job_id not in registry:
        raise NotFound("This job is not in the failed list any more.")
    try:
        job: Job | None = Job.fetch(job_id, connection=client)
    except NoSuchJobError:
        job = None
    return registry, _failed_job(job_id, queue, job)


def retry_failed_job(session: Session, actor: User | None, queue: str, job_id: str) -> None:
    """Put a failed job back on its queue (admins only), audited as `job.retry`; commits.

    Raises NotFound when the job is not in the queue's failed list (any more), UserError when its data
    has expired (it cannot run again), QueuesUnavailable without Redis (nothing is committed then).
    """
    admin = access.require_admin(actor)
    _check_queue(queue)
    try:
        with _inspection_redis() as client:
            registry, failed = _failed_registry_job(client, queue, job_id)
            if not failed.func:
                raise UserError("This job's data has expired; it can only be deleted.")
            _audit_job(session, admin, "job.retry", queue, job_id, failed)
            try:
                registry.requeue(job_id)
            except (InvalidJobOperation, NoSuchJobError) as exc:
                raise NotFound("This job is not in the failed list any more.") from exc
    except BaseException:
        session.rollback()
        raise
    session.commit()
    log.info("failed_job_retried", queue=queue, job_id=job_id, actor_id=admin.id)


def delete_failed_job(session: Session, actor: User | None, queue: str, job_id: str) -> None:
    """Drop a failed job for good (admins only), audited as `job.delete`; commits.

    Raises NotFound when it is not in the queue's failed list, QueuesUnavailable without Redis.
    """
    admin = access.require_admin(actor)
    _check_queue(queue)
    try:
        with _inspection_redis() as client:
            registry, failed = _failed_registry_job(client, queue, job_id)
            _audit_job(session, admin, "job.delete", queue, job_id, failed)
            try:
                Job.fetch(job_id, connection=client).delete()
            except NoSuchJobError:
                registry.remove(job_id)
    except BaseException:
        session.rollback()
        raise
    session.commit()
    log.info("failed_job_deleted", queue=queue, job_id=job_id, actor_id=admin.id)


# --- calls log and costs --------------------------------------------------------------------------


class utc_month(FunctionElement):  # noqa: N801 — a SQL function, named like one
    """The UTC month of a timestamp column as text "YYYY-MM".

    SQLite stores our timestamps as UTC text, so `strftime('%Y-%m', x)` reads the month off it;
    PostgreSQL's `timestamptz` is read in UTC whatever the session's TimeZone. Neither renders a bound
    parameter, so the expression can be repeated in GROUP BY.
    """

    type = String()
    name = "utc_month"
    inherit_cache = True


@compiles(utc_month, "sqlite")
def _utc_month_sqlite(element: utc_month, compiler: Any, **kw: Any) -> str:
    return f"strftime('%Y-%m', {compiler.process(element.clauses, **kw)})"


@compiles(utc_month, "postgresql")
def _utc_month_postgresql(element: utc_month, compiler: Any, **kw: Any) -> str:
    return f"to_char(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC', 'YYYY-MM')"


@compiles(utc_month)
def _utc_month_other(element: utc_month, compiler: Any, **kw: Any) -> str:
    raise CompileError(f"utc_month is written for SQLite and PostgreSQL, not {compiler.dialect.name}")


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """ "YYYY-MM" → [first instant of the month, first instant of the next) in UTC; UserError otherwise."""
    try:
        start = datetime.strptime(month.strip(), "%Y-%m").replace(tzinfo=UTC)
    except ValueError as exc:
        raise UserError("Write the month as YYYY-MM, e.g. 2026-03.", field="month") from exc
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start, end


def _call_row(call: Call, business_name: str | None, zone: ZoneInfo | None = None) -> dict[str, str]:
    number = decrypt_phone(call.to_number_enc)
    return {
        "id": str(call.id),
        "created_at": _when(call.created_at, zone),
        "business_id": str(call.business_id or ""),
        "business": business_name
        or ("LeadApp concierge" if call.business_id is None and call.call_type == "consumer_callback" else "—"),
        "lead_id": str(call.lead_id or ""),
        "call_type": call.call_type,
        "type_label": labels.call_type(call.call_type)
        + (" (simulated)" if call.provider == telephony.PROVIDER_SIMULATED else ""),
        "direction": call.direction,
        "number": mask_phone(number) if number else "",
        "status": call.status,
        "status_label": labels.call_status(call.status),
        "outcome": call.outcome or "",
        "outcome_label": labels.call_outcome(call.outcome),
        "duration": f"{call.duration_seconds // 60}:{call.duration_seconds % 60:02d}" if call.duration_seconds else "",
        "cost": _dollars(call.cost_total_cents),
        "human_callback": "yes" if call.human_callback_requested else "",
        "error": call.error[:200],
    }


def calls_log(
    session: Session, actor: User | None, business_id: int | None = None, month: str | None = None, page: int = 1
) -> Page:
    """Every call, newest first, with outcome and cost; optionally one business and/or one UTC month
    ("YYYY-MM"). Admins only; raises UserError for a malformed month."""
    access.require_admin(actor)
    conditions = []
    if business_id:
        conditions.append(col(Call.business_id) == business_id)
    if month:
        start, end = month_bounds(month)
        conditions += [col(Call.created_at) >= start, col(Call.created_at) < end]
    total = int(session.exec(select(func.count()).select_from(Call).where(*conditions)).one())
    page = _page_number(page, total)
    query = (
        select(Call, Business.name)
        .join(Business, col(Business.id) == col(Call.business_id), isouter=True)
        .where(*conditions)
        .order_by(col(Call.created_at).desc(), col(Call.id).desc())
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    )
    zone = localtime.viewer_zone(session, actor)
    return Page([_call_row(call, name, zone) for call, name in session.exec(query).all()], total, page)


def call_businesses(session: Session, actor: User | None) -> list[tuple[int, str]]:
    """(id, name) of every business that has calls, by name (the calls log's business filter). Admins only."""
    access.require_admin(actor)
    query = (
        select(Business.id, Business.name)
        .where(col(Business.id).in_(select(Call.business_id).where(col(Call.business_id).is_not(None))))
        .order_by(Business.name, col(Business.id))
    )
    return [(int(i), name) for i, name in session.exec(query).all() if i is not None]


@dataclass(frozen=True)
class CostTotal:
    """Calls and their cost (in cents) for one month, and one business or (business_id None) all of them."""

    month: str
    business_id: int | None
    business_name: str
    calls: int
    carrier_cents: float
    realtime_cents: float
    summary_cents: float
    total_cents: float


@dataclass(frozen=True)
class CallCosts:
    per_business: list[CostTotal] = field(default_factory=list)
    """Newest month first, then the costliest business first."""
    per_month: list[CostTotal] = field(default_factory=list)
    """Every business together, newest month first."""


def _cost_sums() -> list[Any]:
    return [
        func.count(col(Call.id)),
        func.coalesce(func.sum(Call.cost_carrier_cents), 0.0),
        func.coalesce(func.sum(Call.cost_realtime_cents), 0.0),
        func.coalesce(func.sum(Call.cost_summary_cents), 0.0),
        func.coalesce(func.sum(Call.cost_total_cents), 0.0),
    ]


def call_costs(session: Session, actor: User | None, months: int = COST_MONTHS) -> CallCosts:
    """Call counts and costs per business and UTC month, and per month, over the last `months` months
    (the current one included), summed by the database. Admins only."""
    access.require_admin(actor)
    months = max(1, min(int(months), 120))
    now = datetime.now(UTC)
    index = now.year * 12 + now.month - 1 - (months - 1)
    since = datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)
    month = utc_month(col(Call.created_at))
    per_business = session.exec(
        select(month, col(Call.business_id), Business.name, *_cost_sums())
        .join(Business, col(Business.id) == col(Call.business_id), isouter=True)
        .where(col(Call.created_at) >= since)
        .group_by(month, col(Call.business_id), Business.name)
        .order_by(month.desc(), func.sum(Call.cost_total_cents).desc(), Business.name)
    ).all()
    per_month = session.exec(
        select(month, *_cost_sums()).where(col(Call.created_at) >= since).group_by(month).order_by(month.desc())
    ).all()
    return CallCosts(
        per_business=[
            CostTotal(m, b, name or "—", int(n), float(c), float(r), float(s), float(t))
            for m, b, name, n, c, r, s, t in per_business
        ],
        per_month=[
            CostTotal(m, None, "All businesses", int(n), float(c), float(r), float(s), float(t))
            for m, n, c, r, s, t in per_month
        ],
    )


def cost_row(total: CostTotal) -> dict[str, str]:
    """A cost total formatted for a table."""
    return {
        "month": total.month,
        "business_id": str(total.business_id or ""),
        "business": total.business_name,
        "calls": str(total.calls),
        "carrier": _dollars(total.carrier_cents),
        "realtime": _dollars(total.realtime_cents),
        "summary": _dollars(total.summary_cents),
        "total": _dollars(total.total_cents),
    }


# --- do-not-call list -----------------------------------------------------------------------------


def dnc_number(phone: str) -> str:
    """A phone number as E.164 (US by default), exactly as intake stores a lead's; UserError otherwise."""
    phone = (phone or "").strip()
    if not phone:
        raise UserError("Enter a phone number.", field="phone")
    try:  # any country: listing a number only protects it
        return phones.parse_any_country(phone)
    except phones.PhoneRefused as exc:
        raise UserError("Not a valid phone number.", field="phone") from exc


def _dnc_lookup(digest: str) -> Any:
    return select(DoNotCall).where(col(DoNotCall.phone_hash) == digest)


def _already_listed(entry: DoNotCall) -> UserError:
    return UserError(
        f"{entry.phone_display} is already on the do-not-call list (since {_when(entry.created_at)}).", field="phone"
    )


def add_dnc(session: Session, actor: User | None, phone: str, reason: str = "", source: str = "admin") -> DoNotCall:
    """Put a number on the do-not-call list (admins only), audited as `dnc.add`; does not commit.

    Stores only the keyed hash and a masked display form. Raises UserError (field "phone") for a number
    that does not parse or is already listed, also when a concurrent transaction listed it first.
    """
    admin = access.require_admin(actor)
    e164 = dnc_number(phone)
    digest = phone_hash(e164)
    found = session.exec(_dnc_lookup(digest)).first()
    if found is not None:
        raise _already_listed(found)
    entry = DoNotCall(
        phone_hash=digest,
        phone_display=mask_phone(e164),
        reason=(reason or "").strip()[:500],
        source=(source or "admin")[:32],
        created_by_id=admin.id,
    )
    try:
        with session.begin_nested():
            session.add(entry)
    except IntegrityError as exc:  # the SAVEPOINT's rollback already dropped `entry` from the session
        winner = session.exec(_dnc_lookup(digest)).first()
        if winner is None:
            raise
        raise _already_listed(winner) from exc
    audit.record(
        session,
        actor_id=admin.id,
        action="dnc.add",
        target=entry,
        after={"phone": entry.phone_display, "reason": entry.reason, "source": entry.source},
    )
    return entry


def remove_dnc(session: Session, actor: User | None, dnc_id: int) -> None:
    """Take a number off the do-not-call list (admins only), audited as `dnc.remove`; does not commit."""
    admin = access.require_admin(actor)
    entry = session.get(DoNotCall, dnc_id)
    if entry is None:
        raise NotFound("That number is not on the do-not-call list.")
    audit.record(
        session,
        actor_id=admin.id,
        action="dnc.remove",
        target=entry,
        before={
            "phone": entry.phone_display,
            "reason": entry.reason,
            "source": entry.source,
            "added_at": _when(entry.created_at),
        },
    )
    session.delete(entry)
    session.flush()


@dataclass(frozen=True)
class DncImport:
    """What an import found, by line number (1 = the file's first line)."""

    new_lines: list[int]
    """Lines with a valid number not listed yet (added, when `applied`)."""
    duplicate_lines: list[int]
    """Lines whose number was already listed, or appeared on an earlier line of the file."""
    invalid_lines: list[tuple[int, str]]
    """(line, why) for each line without a valid number."""
    applied: bool
    """False when any line was invalid: then nothing was written."""

    @property
    def added(self) -> int:
        return len(self.new_lines) if self.applied else 0

    @property
    def duplicates(self) -> int:
        return len(self.duplicate_lines)

    @property
    def invalid(self) -> int:
        return len(self.invalid_lines)

    def summary(self) -> str:
        if not self.applied:
            lines = "; ".join(f"line {n}: {why}" for n, why in self.invalid_lines[:20])
            more = f" (and {self.invalid - 20} more)" if self.invalid > 20 else ""
            invalid = labels.count(self.invalid, "invalid line")
            return f"Nothing imported: {invalid} — {lines}{more}. Fix them and import again."
        text = f"Added {labels.count(self.added, 'number')}."
        if self.duplicate_lines:
            shown = ", ".join(map(str, self.duplicate_lines[:20])) + (" …" if self.duplicates > 20 else "")
            text += f" {self.duplicates} already listed ({'line' if self.duplicates == 1 else 'lines'} {shown})."
        return text


def _csv_rows(csv_text: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(csv_text.lstrip("\ufeff")))
    try:
        for row in reader:
            yield reader.line_num, [cell.strip() for cell in row]
    except csv.Error as exc:
        raise UserError(f"Line {reader.line_num}: this is not a readable CSV file ({exc}).", field="csv") from exc


def import_dnc_csv(session: Session, actor: User | None, csv_text: str, reason: str = "") -> DncImport:
    """Add many numbers at once (admins only), audited as one `dnc.import` event; does not commit.

    One number per row in the first column, an optional reason in the second (else `reason`); blank rows
    are skipped, and so is a first row without digits (a header). All or nothing: every line is checked
    first and, if any is invalid, nothing is written and the result names the bad lines; the inserts then
    run inside a SAVEPOINT, so a number listed meanwhile by someone else also leaves nothing behind.
    Raises UserError for an empty or oversized file.
    """
    admin = access.require_admin(actor)
    if len(csv_text or "") > DNC_IMPORT_MAX_CHARS:
        raise UserError(f"The file is too large (at most {DNC_IMPORT_MAX_CHARS // 1000} kB).", field="csv")
    parsed: list[tuple[int, str, str]] = []  # (line, e164, reason)
    invalid: list[tuple[int, str]] = []
    first = True
    for line, cells in _csv_rows(csv_text or ""):
        if not any(cells):
            continue
        if first and not any(ch.isdigit() for ch in cells[0]):
            first = False
            continue  # a header row
        first = False
        if len(parsed) + len(invalid) >= DNC_IMPORT_MAX_ROWS:
            raise UserError(f"Import at most {DNC_IMPORT_MAX_ROWS} numbers at a time.", field="csv")
        try:
            e164 = dnc_number(cells[0])
        except UserError as exc:
            invalid.append((line, f"{exc.message} ({cells[0][:40]!r})"))
            continue
        row_reason = cells[1] if len(cells) > 1 and cells[1] else reason
        parsed.append((line, e164, row_reason.strip()[:500]))
    if not parsed and not invalid:
        raise UserError("The file has no phone numbers.", field="csv")

    digests = {e164: phone_hash(e164) for _, e164, _ in parsed}
    listed = set(
        session.exec(select(DoNotCall.phone_hash).where(col(DoNotCall.phone_hash).in_(list(digests.values())))).all()
    )
    new: list[tuple[int, str, str]] = []
    duplicates: list[int] = []
    seen: set[str] = set()
    for line, e164, row_reason in parsed:
        digest = digests[e164]
        if digest in listed or digest in seen:
            duplicates.append(line)
            continue
        seen.add(digest)
        new.append((line, e164, row_reason))
    result = DncImport([n for n, _, _ in new], duplicates, invalid, applied=not invalid)
    if invalid or not new:
        return result

    entries = [
        DoNotCall(
            phone_hash=digests[e164],
            phone_display=mask_phone(e164),
            reason=row_reason,
            source="import",
            created_by_id=admin.id,
        )
        for _, e164, row_reason in new
    ]
    try:
        with session.begin_nested():
            session.add_all(entries)
    except IntegrityError as exc:  # the SAVEPOINT rolled back every insert of this import
        raise UserError(
            "Some of these numbers were added by someone else meanwhile; nothing was imported. Import again.",
            field="csv",
        ) from exc
    audit.record(
        session,
        actor_id=admin.id,
        action="dnc.import",
        target_type=DoNotCall.__tablename__,
        after={"added": result.added, "duplicates": result.duplicates, "ids": [e.id for e in entries]},
    )
    return result


def list_dnc(session: Session, actor: User | None, phone: str = "", page: int = 1) -> Page:
    """The do-not-call list, newest first; with `phone`, only that number (admins only)."""
    access.require_admin(actor)
    conditions = []
    if phone.strip():
        conditions.append(col(DoNotCall.phone_hash) == phone_hash(dnc_number(phone)))
    total = int(session.exec(select(func.count()).select_from(DoNotCall).where(*conditions)).one())
    page = _page_number(page, total)
    query = (
        select(DoNotCall, User.email)
        .join(User, col(User.id) == col(DoNotCall.created_by_id), isouter=True)
        .where(*conditions)
        .order_by(col(DoNotCall.created_at).desc(), col(DoNotCall.id).desc())
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    )
    rows = [
        {
            "id": str(entry.id),
            "phone": entry.phone_display,
            "reason": entry.reason,
            "source": entry.source,
            "source_label": DNC_SOURCE_LABELS.get(entry.source, entry.source),
            "wording": entry.wording,
            "where": _dnc_where(entry),
            "added_by": email or "",
            "created_at": _when(entry.created_at),
        }
        for entry, email in session.exec(query).all()
    ]
    return Page(rows, total, page)


def _dnc_where(entry: DoNotCall) -> str:
    """Where a withdrawal happened, e.g. "call #12 · request #5" ("" when it was not on a call or a request)."""
    parts = []
    if entry.call_id is not None:
        parts.append(f"call #{entry.call_id}")
    if entry.lead_id is not None:
        parts.append(f"request #{entry.lead_id}")
    return " · ".join(parts)


# --- audit trail ----------------------------------------------------------------------------------


def _since(since: date | datetime | str | None) -> datetime | None:
    if since is None or since == "":
        return None
    if isinstance(since, str):
        try:
            since = date.fromisoformat(since.strip())
        except ValueError as exc:
            raise UserError("Write the date as YYYY-MM-DD.", field="since") from exc
    if isinstance(since, datetime):
        return since if since.tzinfo is not None else since.replace(tzinfo=UTC)
    return datetime(since.year, since.month, since.day, tzinfo=UTC)


def _json(value: dict[str, Any] | None) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str) if value else ""


def audit_trail(
    session: Session,
    actor: User | None,
    action: str = "",
    actor_email: str = "",
    target_type: str = "",
    since: date | datetime | str | None = None,
    page: int = 1,
) -> Page:
    """Audit events, newest first (admins only). Filters combine:

    - `action`: that action, or every action under it ("dnc" matches "dnc.add" and "dnc.remove");
    - `actor_email`: actors whose e-mail contains it (any case);
    - `target_type`: that table, e.g. "notifications";
    - `since`: events at or after that UTC day (a date, "YYYY-MM-DD") or instant.
    Rows carry before/after as indented JSON. Raises UserError for a malformed date.
    """
    access.require_admin(actor)
    conditions = []
    action = action.strip()
    if action:
        conditions.append(
            (col(AuditEvent.action) == action)
            | col(AuditEvent.action).startswith(action.rstrip(".") + ".", autoescape=True)
        )
    if actor_email.strip():
        conditions.append(func.lower(col(User.email)).contains(actor_email.strip().lower(), autoescape=True))
    if target_type.strip():
        conditions.append(col(AuditEvent.target_type) == target_type.strip())
    start = _since(since)
    if start is not None:
        conditions.append(col(AuditEvent.created_at) >= start)

    base = select(AuditEvent, User.email).join(User, col(User.id) == col(AuditEvent.actor_id), isouter=True)
    total = int(session.exec(select(func.count()).select_from(base.where(*conditions).subquery())).one())
    page = _page_number(page, total)
    query = (
        base.where(*conditions)
        .order_by(col(AuditEvent.created_at).desc(), col(AuditEvent.id).desc())
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    )
    rows = [
        {
            "id": str(event.id),
            "created_at": _when(event.created_at),
            "actor": email or ("(deleted user)" if event.actor_id else "system"),
            "action": event.action,
            "target_type": event.target_type,
            "target_id": event.target_id,
            "before": _json(event.before),
            "after": _json(event.after),
            "ip": event.ip,
        }
        for event, email in session.exec(query).all()
    ]
    return Page(rows, total, page)


def audit_actions(session: Session, actor: User | None) -> list[str]:
    """The distinct actions recorded so far (for the filter's choices), sorted. Admins only."""
    access.require_admin(actor)
    return sorted(a for a in session.exec(select(AuditEvent.action).distinct()).all() if a)
