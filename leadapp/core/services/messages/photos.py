"""Photos sent in a conversation: checked, kept under ATTACHMENTS_DIR, served only to the thread's two sides.

Guarantees:
- A photo is a JPEG, PNG, WebP or GIF by its bytes (the name and the browser's type are not trusted), 1 byte to
  PHOTO_MAX_BYTES; anything else is a UserError on the field `photo` and nothing is stored.
- It is kept under a random name (the uploaded name is never used on disk), written whole before the message row
  refers to it.
- It is shown through a signed link for one viewer and one message, expiring (`photo_link`); opening the link
  checks again that this viewer may read that thread (`access.thread_match`), so a link passed on, or kept after
  the viewer lost access, shows nothing.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leadapp.core import crypto
from leadapp.core.db import session_scope
from leadapp.core.errors import UserError
from leadapp.core.models import ThreadMessage, User
from leadapp.core.services import access
from leadapp.core.settings import get_settings

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


def store_photo(data: bytes) -> StoredPhoto:
    """Check `data` and keep it under a random name; returns where. UserError(field="photo") when it is no photo
    or too large."""
    if not data:
        raise UserError("The photo is empty.", field="photo")
    if len(data) > PHOTO_MAX_BYTES:
        raise UserError(f"A photo may be {PHOTO_MAX_BYTES // (1024 * 1024)} MB at most.", field="photo")
    kind = photo_kind(data)
    if kind is None:
        raise UserError("Send a photo as JPEG, PNG, WebP or GIF.", field="photo")
    content_type, suffix = kind
    folder = get_settings().attachments_path
    folder.mkdir(parents=True, exist_ok=True)
    ref = secrets.token_hex(16) + suffix
    partial = folder / f".{ref}.part"
    partial.write_bytes(data)
    os.replace(partial, folder / ref)  # whole or not at all
    return StoredPhoto(ref, content_type, len(data))


def photo_file(ref: str) -> Path | None:
    """The file of a stored photo, or None (a ref that is not one of ours, or a file gone)."""
    if not ref or "/" in ref or "\\" in ref or ref.startswith("."):
        return None
    path = get_settings().attachments_path / ref
    return path if path.is_file() else None


def photo_link(message: ThreadMessage, viewer: User | None) -> str:
    """A link to the message's photo for `viewer` ("" without a photo or a viewer), valid an hour."""
    if not message.photo_ref or viewer is None or viewer.id is None or message.id is None:
        return ""
    token = crypto.sign(PHOTO_PURPOSE, {"message": message.id, "viewer": viewer.id}, PHOTO_LINK_TTL_SECONDS)
    return f"{PHOTO_PATH}{token}"


@dataclass(frozen=True)
class PhotoAccess:
    """What opening a photo link gives: 200 with the file and its type, or 403 / 410 with `reason`."""

    status: int
    path: Path | None = None
    content_type: str = ""
    reason: str = ""


def open_photo(token: str) -> PhotoAccess:
    """Check a photo link: genuine, unexpired, and its viewer still allowed to read the thread."""
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
        path = photo_file(message.photo_ref)
        if path is None:
            return PhotoAccess(410, reason="This photo is no longer available.")
        return PhotoAccess(200, path=path, content_type=message.photo_type)


def delete_photos(refs: list[str]) -> int:
    """Remove these photos' files (a request purged for good); returns how many were there. Safe twice."""
    removed = 0
    for ref in refs:
        path = photo_file(ref)
        if path is not None:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
