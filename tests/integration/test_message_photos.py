"""Photos in a conversation (`messages.photos`), on SQLite and PostgreSQL, through the app's route: a photo sent
with a message is checked by its bytes and kept under a random name; the route serves it to the thread's two sides
and an admin through their own signed links, and to nobody else: another business, another consumer, a link of
someone who lost access, a forged or altered link; a photo whose file is gone is a 404. A file that is no photo, or
too large, stores nothing. (The same flows against an S3-compatible bucket: test_message_photos_s3.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from leadapp.core.errors import UserError
from leadapp.core.models import Match, ThreadMessage, utcnow
from leadapp.core.services import messages, portal
from leadapp.core.services.messages import photos
from leadapp.core.settings import get_settings
from tests import factories

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 32


def photos_world(s: Session, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str) -> factories.TwoBusinesses:
    """`factories.two_businesses`, accepted, with photos kept under `tmp_path` (`env`: settings of another store)."""
    for name, value in {"ATTACHMENTS_DIR": str(tmp_path / "attachments"), **env}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return factories.two_businesses(s, accepted=True)


@pytest.fixture
def world(
    db_session: Session, redis_env: redis.Redis, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> factories.TwoBusinesses:
    return photos_world(db_session, monkeypatch, tmp_path)


@pytest.fixture
def web(world: factories.TwoBusinesses) -> Iterator[TestClient]:
    from leadapp.api.app import api

    with TestClient(api) as client:
        yield client


def _kept(tmp: Path) -> list[str]:
    folder = get_settings().attachments_path
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_photo_is_served_to_both_sides_and_an_admin_only(
    db_session: Session, world: factories.TwoBusinesses, web: TestClient, tmp_path: Path
):
    s, w = db_session, world
    sent = messages.post_message(s, w.consumer, w.match.id, "  ", photo=PNG)
    s.commit()
    assert (sent.body, sent.photo_type, sent.photo_bytes) == ("", "image/png", len(PNG))
    assert _kept(tmp_path) == [sent.photo_ref] and sent.photo_ref.endswith(".png")

    for reader in (w.consumer, w.owner, w.admin):
        view = messages.thread(s, reader, w.match.id)
        [message] = view["messages"]  # type: ignore[misc]
        url = message["photo_url"]
        got = web.get(url)
        assert (got.status_code, got.headers["content-type"], got.content) == (200, "image/png", PNG), reader.email
        assert got.headers["x-content-type-options"] == "nosniff"
    [card] = portal.consumer_leads(s, w.consumer)
    portal_url = next(t for t in card["threads"] if t["match_id"] == str(w.match.id))["messages"][0]["photo_url"]
    assert web.get(portal_url).status_code == 200

    # the other business and the other consumer get no link, and a link made for them shows nothing
    for outsider in (w.other_owner, w.other_consumer):
        with pytest.raises(UserError):
            messages.thread(s, outsider, w.match.id)
        s.rollback()
        stolen = photos.photo_link(sent, outsider)
        assert web.get(stolen).status_code == 403
    owner_link = messages.thread(s, w.owner, w.match.id)["messages"][0]["photo_url"]  # type: ignore[index]
    assert web.get(owner_link[:-3] + ("AAA" if not owner_link.endswith("AAA") else "BBB")).status_code == 403
    # the business that loses the lead loses the photo too, even with a link it got before
    match = s.get(Match, w.match.id)
    assert match is not None
    match.status = "declined"
    s.add(match)
    s.commit()
    assert web.get(owner_link).status_code == 403
    assert web.get(portal_url).status_code == 403  # no more thread with that business for the consumer either


def test_a_photo_file_gone_is_a_404(db_session: Session, world: factories.TwoBusinesses, web: TestClient):
    s, w = db_session, world
    sent = messages.post_message(s, w.owner, w.match.id, "", photo=JPEG)
    s.commit()
    link = photos.photo_link(sent, w.consumer)
    assert web.get(link).content == JPEG
    (get_settings().attachments_path / sent.photo_ref).unlink()
    gone = web.get(link)
    assert (gone.status_code, gone.json()["error"]) == (404, "not_found")


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "JPEG, PNG, WebP or GIF"),
        (b"%PDF-1.7 not a photo", "JPEG, PNG, WebP or GIF"),
        (JPEG + b"\x00" * photos.PHOTO_MAX_BYTES, "5 MB"),
    ],
)
def test_what_is_no_photo_or_too_large_stores_nothing(
    db_session: Session, world: factories.TwoBusinesses, tmp_path: Path, data: bytes, words: str
):
    s, w = db_session, world
    with pytest.raises(UserError, match=words) as refused:
        messages.post_message(s, w.owner, w.match.id, "see attached", photo=data)
    assert refused.value.field == "photo"
    s.rollback()
    assert s.exec(select(ThreadMessage)).all() == [] and _kept(tmp_path) == []


def test_someone_elses_thread_takes_no_photo(db_session: Session, world: factories.TwoBusinesses, tmp_path: Path):
    s, w = db_session, world
    for user in (w.other_owner, w.other_consumer, w.admin, None):
        with pytest.raises(UserError):
            messages.post_message(s, user, w.match.id, "", photo=JPEG)
        s.rollback()
    assert _kept(tmp_path) == []
    for data, kind in ((JPEG, "image/jpeg"), (WEBP, "image/webp")):
        assert photos.photo_kind(data) == (kind, ".jpg" if kind == "image/jpeg" else ".webp")


def test_a_purged_request_takes_its_conversation_and_photos_with_it(
    db_session: Session, world: factories.TwoBusinesses, tmp_path: Path
):
    s, w = db_session, world
    messages.post_message(s, w.consumer, w.match.id, "here is the leak", photo=JPEG)
    s.commit()
    messages.post_message(s, w.owner, w.match.id, "thanks", photo=PNG)
    s.commit()
    assert len(_kept(tmp_path)) == 2
    portal.delete_my_data(s, w.consumer)
    s.commit()
    assert portal.purge_deleted(s, now=utcnow() + timedelta(days=31)) == 1
    s.commit()
    assert s.exec(select(ThreadMessage)).all() == [] and _kept(tmp_path) == []
    assert portal.purge_deleted(s, now=utcnow() + timedelta(days=31)) == 0  # nothing twice
