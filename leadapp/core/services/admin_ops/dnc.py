"""The do-not-call list: add, remove, import a CSV, list (numbers kept as a keyed hash and a mask)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from leadapp.core import labels, phones
from leadapp.core.crypto import mask_phone, phone_hash
from leadapp.core.errors import NotFound, UserError
from leadapp.core.models import DoNotCall, User
from leadapp.core.observability import get_logger
from leadapp.core.services import access, audit
from leadapp.core.services.admin_ops.common import (
    DNC_IMPORT_MAX_CHARS,
    DNC_IMPORT_MAX_ROWS,
    Page,
    _paged,
    _when,
)
from leadapp.core.vocab import DNC_SOURCE_LABELS

log = get_logger(__name__)

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
    entries, total, page = _paged(
        session,
        select(DoNotCall, User.email)
        .join(User, col(User.id) == col(DoNotCall.created_by_id), isouter=True)
        .where(*conditions)
        .order_by(col(DoNotCall.created_at).desc(), col(DoNotCall.id).desc()),
        select(func.count()).select_from(DoNotCall).where(*conditions),
        page,
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
        for entry, email in entries
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
