"""A stand-in for an S3-compatible object store on loopback, for the real `boto3` SDK to talk to.

Path-style object requests, as S3 (and MinIO, R2, ...) answer them: `PUT /<bucket>/<key>` stores the body with
its Content-Type (200, an `ETag`), `GET` gives it back (200 with Content-Type, Content-Length, ETag), `HEAD` the
same headers without the body, `DELETE` removes it (204, also when there was nothing). Like S3, each request must
be signed: an `Authorization: AWS4-HMAC-SHA256 Credential=<key id>/<date>/<region>/s3/aws4_request, ...` header
with the configured key id, and `x-amz-date` and `x-amz-content-sha256` headers (the latter, unless
UNSIGNED-PAYLOAD, the SHA-256 of the body); otherwise 403. Errors are S3's XML bodies (`<Error><Code>…`):
NoSuchKey 404, NoSuchBucket 404, AccessDenied / InvalidAccessKeyId / SignatureDoesNotMatch 403, NotImplemented 501
for anything else (listing, multipart, ...), InternalError 500 or ServiceUnavailable 503 when a test injects a
failure (`fail_next(count, status)`).

Use in a test module: `from tests.fakes.s3 import fake_s3  # noqa: F401`, then point the app at it with
`fake.env()` (ATTACHMENTS_S3_BUCKET, _ENDPOINT_URL, _REGION, _ACCESS_KEY_ID, _SECRET_ACCESS_KEY).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import unquote
from xml.sax.saxutils import escape

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.fakes.loopback import ProviderFake, http_server

_CREDENTIAL = re.compile(r"^AWS4-HMAC-SHA256 Credential=([^/,\s]+)/(\d{8})/([^/]+)/s3/aws4_request,")
_ERROR_STATUS = {500: "InternalError", 503: "ServiceUnavailable"}
UNSIGNED = "UNSIGNED-PAYLOAD"


@dataclass(frozen=True)
class StoredObject:
    data: bytes
    content_type: str

    @property
    def etag(self) -> str:
        return '"' + hashlib.md5(self.data, usedforsecurity=False).hexdigest() + '"'


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    key_id: str
    """The key id of the request's Credential ("" when it had none)."""


def s3_error(status: int, code: str, message: str, resource: str = "") -> Response:
    request_id = secrets.token_hex(8).upper()
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>"
        f"<Resource>{escape(resource)}</Resource><RequestId>{request_id}</RequestId></Error>"
    )
    return Response(body, status=status, content_type="application/xml", headers={"x-amz-request-id": request_id})


class FakeS3(ProviderFake):
    """The fake's state: its one bucket's objects, every request it saw, and the failures it injects."""

    bucket = "leadapp-photos"
    region = "us-east-1"
    access_key_id = "AKIAFAKEPHOTOS000001"
    secret_access_key = "fake-secret-access-key-for-photos-0123456789"

    def __init__(self, server: HTTPServer) -> None:
        super().__init__(server)
        self.objects: dict[str, StoredObject] = {}
        self.requests: list[SeenRequest] = []

    def env(self) -> dict[str, str]:
        """The app's settings that point its attachments store at this fake."""
        return {
            "ATTACHMENTS_S3_BUCKET": self.bucket,
            "ATTACHMENTS_S3_ENDPOINT_URL": self.url,
            "ATTACHMENTS_S3_REGION": self.region,
            "ATTACHMENTS_S3_ACCESS_KEY_ID": self.access_key_id,
            "ATTACHMENTS_S3_SECRET_ACCESS_KEY": self.secret_access_key,
        }

    def keys(self) -> list[str]:
        with self._lock:
            return sorted(self.objects)

    def handle(self, request: Request) -> Response:
        if self._outage():
            return s3_error(503, "ServiceUnavailable", "Please reduce your request rate (injected by the fake).")
        path = unquote(request.path)
        bucket, _, key = path.lstrip("/").partition("/")
        body = request.get_data()
        credential = _CREDENTIAL.match(request.headers.get("Authorization", ""))
        with self._lock:
            self.requests.append(SeenRequest(request.method, path, credential.group(1) if credential else ""))
            if credential is None or not request.headers.get("x-amz-date"):
                return s3_error(403, "AccessDenied", "Access Denied", path)
            if credential.group(1) != self.access_key_id:
                return s3_error(
                    403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.", path
                )
            declared = request.headers.get("x-amz-content-sha256", "")
            if declared != UNSIGNED and declared != hashlib.sha256(body).hexdigest():
                return s3_error(
                    400 if declared else 403,
                    "XAmzContentSHA256Mismatch" if declared else "SignatureDoesNotMatch",
                    "The provided 'x-amz-content-sha256' header does not match what was computed.",
                    path,
                )
            if self._fails_now():
                status = self.fail_status
                return s3_error(status, _ERROR_STATUS.get(status, "InternalError"), "Injected by the fake.", path)
            if bucket != self.bucket:
                return s3_error(404, "NoSuchBucket", "The specified bucket does not exist", path)
            if not key or request.args:  # listing, multipart uploads, ACLs, tagging ...: not what the app uses
                return s3_error(501, "NotImplemented", "This fake serves single-object requests only.", path)
            return self._object(request.method, key, body, request.headers.get("Content-Type", ""), path)

    def _object(self, method: str, key: str, body: bytes, content_type: str, path: str) -> Response:
        """One object request, authenticated. Hold `_lock`."""
        if method == "PUT":
            stored = StoredObject(body, content_type or "binary/octet-stream")
            self.objects[key] = stored
            return Response("", status=200, headers={"ETag": stored.etag})
        if method == "DELETE":
            self.objects.pop(key, None)
            return Response("", status=204)
        if method in ("GET", "HEAD"):
            found = self.objects.get(key)
            if found is None:
                if method == "HEAD":
                    return Response("", status=404)
                return s3_error(404, "NoSuchKey", "The specified key does not exist.", path)
            headers = {"ETag": found.etag, "Content-Length": str(len(found.data))}
            return Response(found.data, status=200, content_type=found.content_type, headers=headers)
        return s3_error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.", path)


@pytest.fixture
def fake_s3() -> Iterator[FakeS3]:
    """A fake S3-compatible store on 127.0.0.1 (ephemeral port) with one empty bucket, stopped after the test."""
    with http_server() as server:
        fake = FakeS3(server)
        server.expect_request(re.compile(r"^/.*")).respond_with_handler(fake.handle)
        yield fake
