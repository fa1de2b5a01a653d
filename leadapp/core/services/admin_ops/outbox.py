"""The notification outbox as admins read it: the list, one message, its HTML shown safely."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from leadapp.core import crypto, labels, localtime
from leadapp.core.errors import NotFound, UserError
from leadapp.core.models import Notification, User
from leadapp.core.observability import get_logger
from leadapp.core.services import access
from leadapp.core.services.admin_ops.common import Page, _paged, _when
from leadapp.core.vocab import Channel, NotificationKind, NotificationStatus

log = get_logger(__name__)

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
    rows, total, page = _paged(
        session,
        select(Notification)
        .where(*conditions)
        .order_by(col(Notification.created_at).desc(), col(Notification.id).desc()),
        select(func.count()).select_from(Notification).where(*conditions),
        page,
    )
    zone = localtime.viewer_zone(session, actor)
    return Page([_notification_row(r, zone) for r in rows], total, page)


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
