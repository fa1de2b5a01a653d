"""Reading the stored audit reports (admins only)."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from leadapp.core.errors import NotFound
from leadapp.core.models import AuditReport, User
from leadapp.core.services import access


def list_reports(
    session: Session, actor: User | None, *, offset: int = 0, limit: int = 20
) -> tuple[list[AuditReport], int]:
    """(reports newest first, `limit` from `offset`, at most 100; the total number). Admins only."""
    access.require_admin(actor)
    total = session.exec(select(func.count()).select_from(AuditReport)).one()
    rows = session.exec(
        select(AuditReport)
        .order_by(col(AuditReport.created_at).desc(), col(AuditReport.id).desc())
        .offset(max(0, offset))
        .limit(max(1, min(limit, 100)))
    ).all()
    return list(rows), int(total)


def get_report(session: Session, actor: User | None, report_id: int) -> AuditReport:
    """One report; admins only; NotFound when there is no such report."""
    access.require_admin(actor)
    report = session.get(AuditReport, report_id)
    if report is None:
        raise NotFound("No such audit report.")
    return report
