"""Photos in a conversation kept in an S3-compatible bucket (ATTACHMENTS_S3_*), through the real `boto3` SDK and the
fake S3 on loopback, on SQLite and PostgreSQL: a photo sent goes to the bucket (nothing on disk), signed with the
configured key; the app's route serves it from the bucket to the thread's two sides and an admin only (never a
bucket URL); a purge deletes the objects; a bucket that fails on upload refuses the photo with a clear message and
nothing is stored, neither row nor object; an object gone from the bucket is a 404 and a failing bucket on read a
503, never a 500."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import redis
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from leadapp.core import links
from leadapp.core.errors import Unavailable, UserError
from leadapp.core.models import ThreadMessage, utcnow
from leadapp.core.providers import object_store
from leadapp.core.providers import status as provider_status
from leadapp.core.providers.object_store import StoreError
from leadapp.core.services import messages, portal
from leadapp.core.services.messages import photos
from leadapp.core.settings import get_settings
from tests import factories
from tests.fakes.s3 import FakeS3, fake_s3  # noqa: F401
from tests.integration.test_message_photos import JPEG, PNG, photos_world
from tests.integration.test_message_photos import web as photos_web

PARSE_SECRET = "parse-secret-for-the-s3-photos-test"
web = photos_web  # the photos module's fixture, under the name these tests ask for


@pytest.fixture
def world(
    db_session: Session,
    redis_env: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    fake_s3: FakeS3,  # noqa: F811
) -> factories.TwoBusinesses:
    return photos_world(db_session, monkeypatch, tmp_path, **fake_s3.env())


def _on_disk() -> list[str]:
    folder = get_settings().attachments_path
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


def _rows(s: Session) -> list[ThreadMessage]:
    s.expire_all()
    return list(s.exec(select(ThreadMessage)).all())


def test_a_photo_goes_to_the_bucket_and_is_served_through_the_app_to_the_thread_only(
    db_session: Session,
    world: factories.TwoBusinesses,
    web: TestClient,
    fake_s3: FakeS3,  # noqa: F811
):
    s, w = db_session, world
    sent = messages.post_message(s, w.consumer, w.match.id, "the leak", photo=PNG)
    s.commit()
    assert fake_s3.keys() == [sent.photo_ref] and _on_disk() == []
    kept = fake_s3.objects[sent.photo_ref]
    assert (kept.data, kept.content_type) == (PNG, "image/png")
    # every request to the bucket was signed with the configured key (SigV4), path-style, and carried no secret
    assert fake_s3.requests and all(r.key_id == fake_s3.access_key_id for r in fake_s3.requests)
    assert all(r.path == f"/{fake_s3.bucket}/{sent.photo_ref}" for r in fake_s3.requests)

    for reader in (w.consumer, w.owner, w.admin):
        [message] = messages.thread(s, reader, w.match.id)["messages"]  # type: ignore[misc]
        url = message["photo_url"]
        assert url.startswith(photos.PHOTO_PATH) and fake_s3.url not in url and fake_s3.bucket not in url
        got = web.get(url, follow_redirects=False)
        assert (got.status_code, got.headers["content-type"], got.content) == (200, "image/png", PNG), reader.email
        assert got.headers["cache-control"] == "private, no-store"
    gets = [r for r in fake_s3.requests if r.method == "GET"]
    assert len(gets) == 3  # each view read the bytes from the bucket

    for outsider in (w.other_owner, w.other_consumer):
        with pytest.raises(UserError):
            messages.thread(s, outsider, w.match.id)
        s.rollback()
        got = web.get(photos.photo_link(sent, outsider))
        assert got.status_code == 403 and got.content != PNG
    assert len([r for r in fake_s3.requests if r.method == "GET"]) == 3  # refused before the bucket is asked


def test_a_photo_gone_from_the_bucket_is_a_404_and_a_failing_bucket_a_503(
    db_session: Session,
    world: factories.TwoBusinesses,
    web: TestClient,
    fake_s3: FakeS3,  # noqa: F811
):
    s, w = db_session, world
    sent = messages.post_message(s, w.owner, w.match.id, "", photo=JPEG)
    s.commit()
    link = photos.photo_link(sent, w.consumer)
    fake_s3.fail_next(object_store.S3_ATTEMPTS, 503)
    down = web.get(link)
    assert (down.status_code, down.json()["error"]) == (503, "unavailable")
    assert "try again" in down.json()["message"]
    assert "ServiceUnavailable" in _health_error()
    assert web.get(link).content == JPEG  # back once the bucket is
    fake_s3.objects.clear()  # removed behind the app's back
    gone = web.get(link)
    assert (gone.status_code, gone.json()["error"]) == (404, "not_found")


def _health_error() -> str:
    found = provider_status.last_failure(provider_status.PHOTO_STORAGE)
    assert found is not None
    assert FakeS3.secret_access_key not in found.error
    return found.error


@pytest.mark.parametrize("status", [500, 503])
def test_a_bucket_that_fails_on_upload_refuses_the_photo_and_stores_nothing(
    db_session: Session,
    world: factories.TwoBusinesses,
    fake_s3: FakeS3,  # noqa: F811
    status: int,
):
    s, w = db_session, world
    fake_s3.fail_next(object_store.S3_ATTEMPTS, status)  # the first try and the SDK's retry
    with pytest.raises(Unavailable, match="could not be saved") as refused:
        messages.post_message(s, w.consumer, w.match.id, "see attached", photo=JPEG)
    assert (refused.value.field, refused.value.status_code) == ("photo", 503)
    s.rollback()
    assert _rows(s) == [] and fake_s3.keys() == [] and _on_disk() == []
    assert {"500": "InternalError", "503": "ServiceUnavailable"}[str(status)] in _health_error()
    # one failure is retried by the SDK: the photo is stored
    fake_s3.fail_next(1, status)
    sent = messages.post_message(s, w.consumer, w.match.id, "again", photo=JPEG)
    s.commit()
    assert fake_s3.keys() == [sent.photo_ref] and len(_rows(s)) == 1


def test_a_wrong_key_is_refused_by_the_bucket_and_the_photo_too(
    db_session: Session,
    world: factories.TwoBusinesses,
    fake_s3: FakeS3,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
):
    s, w = db_session, world
    monkeypatch.setenv("ATTACHMENTS_S3_ACCESS_KEY_ID", "AKIANOTTHEBUCKETSKEY")
    get_settings.cache_clear()
    with pytest.raises(Unavailable):
        messages.post_message(s, w.owner, w.match.id, "", photo=PNG)
    s.rollback()
    assert _rows(s) == [] and fake_s3.keys() == []
    assert "InvalidAccessKeyId" in _health_error()


def test_an_emailed_photo_waits_for_the_bucket(
    db_session: Session,
    world: factories.TwoBusinesses,
    web: TestClient,
    fake_s3: FakeS3,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
):
    """SendGrid posts the reply again on a 5xx: while the bucket fails, nothing of it is stored."""
    s, w = db_session, world
    monkeypatch.setenv("INBOUND_EMAIL_DOMAIN", "in.leads.example.test")
    monkeypatch.setenv("INBOUND_EMAIL_SECRET", PARSE_SECRET)
    get_settings.cache_clear()
    address = links.reply_address(w.match.id, "consumer")
    fields = {"to": address, "from": "Casey <casey@example.com>", "text": "photo attached"}
    files = {"attachment1": ("leak.png", PNG, "image/png")}
    fake_s3.fail_next(object_store.S3_ATTEMPTS, 503)
    refused = web.post(f"/api/inbound/email/{PARSE_SECRET}", data=fields, files=files)
    assert (refused.status_code, refused.json()["error"]) == (503, "unavailable")
    assert _rows(s) == [] and fake_s3.keys() == []
    again = web.post(f"/api/inbound/email/{PARSE_SECRET}", data=fields, files=files)
    assert again.status_code == 200, again.text
    [stored] = _rows(s)
    assert fake_s3.keys() == [stored.photo_ref] and stored.body == "photo attached"


def test_a_purged_request_takes_its_photos_out_of_the_bucket(
    db_session: Session,
    world: factories.TwoBusinesses,
    fake_s3: FakeS3,  # noqa: F811
):
    s, w = db_session, world
    messages.post_message(s, w.consumer, w.match.id, "here is the leak", photo=JPEG)
    s.commit()
    messages.post_message(s, w.owner, w.match.id, "thanks", photo=PNG)
    s.commit()
    assert len(fake_s3.keys()) == 2
    portal.delete_my_data(s, w.consumer)
    s.commit()
    later = utcnow() + timedelta(days=31)

    # the bucket fails: nothing is purged, the refs stay for the next run
    fake_s3.fail_next(object_store.S3_ATTEMPTS, 503)
    with pytest.raises(StoreError):
        portal.purge_deleted(s, now=later)
    s.rollback()
    assert len(_rows(s)) == 2

    assert portal.purge_deleted(s, now=later) == 1
    s.commit()
    assert _rows(s) == [] and fake_s3.keys() == []
    assert {r.method for r in fake_s3.requests} >= {"DELETE"}
    assert portal.purge_deleted(s, now=later) == 0  # nothing twice


def test_the_fake_answers_like_s3(fake_s3: FakeS3):  # noqa: F811
    """What the SDK's requests are checked against: an unsigned or foreign request is refused with S3's XML."""
    unsigned = httpx.get(f"{fake_s3.url}/{fake_s3.bucket}/a.png")
    assert unsigned.status_code == 403 and "<Code>AccessDenied</Code>" in unsigned.text
    store = object_store.S3Bucket(
        object_store._s3_client(fake_s3.url, fake_s3.region, fake_s3.access_key_id, fake_s3.secret_access_key, 5.0),
        fake_s3.bucket,
    )
    assert store.get("a.png") is None
    store.put("a.png", PNG, "image/png")
    assert store.client.head_object(Bucket=fake_s3.bucket, Key="a.png")["ContentLength"] == len(PNG)
    store.delete("a.png")
    store.delete("a.png")  # twice is fine
    with pytest.raises(ValueError):
        store.put("../escape.png", PNG, "image/png")
    missing = httpx.get(f"{fake_s3.url}/{fake_s3.bucket}/a.png", headers=_signed_headers(fake_s3))
    assert missing.status_code == 404 and "<Code>NoSuchKey</Code>" in missing.text
    other = object_store.S3Bucket(store.client, "someone-elses-bucket")
    with pytest.raises(StoreError, match="NoSuchBucket"):
        other.put("a.png", PNG, "image/png")


def _signed_headers(fake: FakeS3) -> dict[str, str]:
    """Headers shaped like SigV4's (the fake checks the key id and the payload hash, not the signature)."""
    return {
        "Authorization": f"AWS4-HMAC-SHA256 Credential={fake.access_key_id}/20260101/{fake.region}/s3/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=0",
        "x-amz-date": "20260101T000000Z",
        "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
    }
