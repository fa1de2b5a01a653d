"""Photos sent in a conversation: checked, kept in the attachments store, served only to the thread's two sides.

Guarantees:
- A photo is a JPEG, PNG, WebP or GIF by its bytes (the name and the browser's type are not trusted), 1 byte to
  PHOTO_MAX_BYTES; anything else is a UserError on the field `photo` and nothing is stored.
- It is kept under a random name (the uploaded name is never used as a key) in the attachments store
  (`providers.object_store`: ATTACHMENTS_DIR, or the S3-compatible bucket when configured), whole before the
  message row refers to it. When the store fails, the photo is refused (`Unavailable` on the field `photo`, the
  failure logged and shown on the health page) before any row is written.
- It is shown through a signed link for one viewer and one message, expiring (`photo_link`); opening the link
  checks again that this viewer may read that thread (`access.thread_match`), so a link passed on, or kept after
  the viewer lost access, shows nothing. The bytes always come through the app: never a bucket URL, public or
  presigned. A photo missing from the store is a 404, a store that fails a 503.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from leadapp.core import crypto, languages
from leadapp.core.db import session_scope
from leadapp.core.errors import Unavailable, UserError
from leadapp.core.models import ThreadMessage, User
from leadapp.core.observability import get_logger
from leadapp.core.providers import status as provider_status
from leadapp.core.providers.object_store import StoreError, attachments_store, is_key
from leadapp.core.services import access

log = get_logger(__name__)

PHOTO_MAX_BYTES = 5 * 1024 * 1024
PHOTO_PURPOSE = "thread-photo"
PHOTO_LINK_TTL_SECONDS = 3600
PHOTO_PATH = "/api/v1/photos/"
_KINDS: tuple[tuple[bytes, int, str, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png", ".png"),
    (b"GIF87a", 0, "image/gif", ".gif"),
    (b"GIF89a", 0, "image/gif", ".gif"),
    (b"WEBP", 8, "image/webp", ".webp"),
)


def photo_kind(data: bytes) -> tuple[str, str] | None:
    """(content type, file suffix) of a photo by its first bytes, or None for anything else."""
    for magic, offset, content_type, suffix in _KINDS:
        if data[offset : offset + len(magic)] == magic and (offset == 0 or data[:4] == b"RIFF"):
            return content_type, suffix
    return None


@dataclass(frozen=True)
class StoredPhoto:
    ref: str
    content_type: str
    size: int


def store_photo(data: bytes, language: str | None = None) -> StoredPhoto:
    """Check `data` and keep it in the attachments store under a random name; returns where. UserError(field="photo")
    when it is no photo or too large; Unavailable(field="photo") when the store fails (nothing kept); each refusal in
    `language` (English by default)."""
    w = languages.phrases(language)
    if not data:
        raise UserError(w.PHOTO_EMPTY, field="photo")
    if len(data) > PHOTO_MAX_BYTES:
        raise UserError(w.PHOTO_TOO_BIG.format(mb=PHOTO_MAX_BYTES // (1024 * 1024)), field="photo")
    kind = photo_kind(data)
    if kind is None:
        raise UserError(w.PHOTO_KIND, field="photo")
    content_type, suffix = kind
    ref = secrets.token_hex(16) + suffix
    try:
        attachments_store().put(ref, data, content_type)
    except StoreError as exc:
        _store_failed("put", exc)
        raise Unavailable(w.PHOTO_UNSAVED, field="photo") from exc
    return StoredPhoto(ref, content_type, len(data))


def _store_failed(operation: str, exc: StoreError) -> None:
    """Log a failure of the attachments store and show it on the health page (the message names no secret)."""
    log.warning("attachments_store_failed", operation=operation, error=str(exc))
    provider_status.record_failure(provider_status.PHOTO_STORAGE, f"{operation}: {exc}")


def photo_bytes(ref: str) -> bytes | None:
    """The bytes of a stored photo, or None (a ref that is not one of ours, or a photo gone). StoreError when the
    store fails."""
    return attachments_store().get(ref) if is_key(ref) else None


def photo_link(message: ThreadMessage, viewer: User | None) -> str:
    """A link to the message's photo for `viewer` ("" without a photo or a viewer), valid an hour."""
    if not message.photo_ref or viewer is None or viewer.id is None or message.id is None:
        return ""
    token = crypto.sign(PHOTO_PURPOSE, {"message": message.id, "viewer": viewer.id}, PHOTO_LINK_TTL_SECONDS)
    return f"{PHOTO_PATH}{token}"


@dataclass(frozen=True)
class PhotoAccess:
    """What opening a photo link gives: 200 with the bytes and their type, or 403 / 404 / 503 with `reason`."""

    status: int
    data: bytes | None = None
    content_type: str = ""
    reason: str = ""


def open_photo(token: str) -> PhotoAccess:
    """Check a photo link: genuine, unexpired, and its viewer still allowed to read the thread; then read the
    photo from the store (404 when it is not there, 503 when the store fails)."""
    payload: Mapping[str, Any] | None = crypto.unsign(PHOTO_PURPOSE, token or "")
    if payload is None:
        return PhotoAccess(403, reason="This link is invalid or has expired.")
    message_id, viewer_id = payload.get("message"), payload.get("viewer")
    if not (isinstance(message_id, int) and isinstance(viewer_id, int)):
        return PhotoAccess(403, reason="This link is invalid.")
    with session_scope() as session:
        # The link stands for its viewer: the message is looked up as them.
        viewer = session.get(User, viewer_id)
        access.enter(session, viewer)
        message = session.get(ThreadMessage, message_id)
        try:
            if message is None:
                raise UserError("gone")
            access.thread_match(session, viewer, message.match_id, post=False)
        except UserError:
            return PhotoAccess(403, reason="You may not see this photo.")
        ref, content_type = message.photo_ref, message.photo_type
    # Read outside the transaction: no database connection is held while the store answers.
    try:
        data = photo_bytes(ref)
    except StoreError as exc:
        _store_failed("get", exc)
        return PhotoAccess(503, reason="The photo cannot be loaded just now; try again in a moment.")
    if data is None:
        return PhotoAccess(404, reason="This photo is no longer available.")
    return PhotoAccess(200, data=data, content_type=content_type)


def delete_photos(refs: Iterable[str]) -> int:
    """Remove these photos from the store (a request purged for good); returns how many refs were ours to delete.
    Safe twice (a photo already gone is fine). StoreError when the store fails: the caller keeps the refs (its
    transaction rolls back) and tries again later."""
    removed = 0
    store = attachments_store()
    for ref in refs:
        if is_key(ref):
            try:
                store.delete(ref)
            except StoreError as exc:
                _store_failed("delete", exc)
                raise
            removed += 1
    return removed
