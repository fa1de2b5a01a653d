"""Where the bytes of conversation photos are kept: a local directory, or an S3-compatible bucket when configured.

One small interface (`ObjectStore`: `put`, `get`, `delete` by key) and two implementations:
- `LocalDirectory`: a file per key under ATTACHMENTS_DIR, written to a hidden temporary name and renamed, so a
  reader never sees half a file.
- `S3Bucket`: AWS S3 or any S3-compatible store (MinIO, Cloudflare R2, ...) through the official `boto3` SDK,
  signed with SigV4; with ATTACHMENTS_S3_ENDPOINT_URL the requests are path-style (`<endpoint>/<bucket>/<key>`),
  which every S3-compatible store accepts. The bucket stays private: nothing here makes a public or presigned
  URL; the app reads the bytes and serves them through its own checked links.

`attachments_store()` picks the bucket when ATTACHMENTS_S3_BUCKET is set, else the directory.

Keys are plain names (letters, digits, `.`, `_`, `-`; no leading dot), so no path can be smuggled into the
directory through a key. A key that is no such name: `put`/`delete` raise ValueError, `get` finds nothing.

Failures of the store itself (unreachable, 5xx after the SDK's retries, refused credentials, a full disk) raise
`StoreError` with a message that names the S3 error code or the OS error, never a credential. A missing object is
not a failure: `get` answers None and `delete` succeeds (deleting twice is safe).
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from leadapp.core.settings import get_settings

KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
S3_ATTEMPTS = 2
"""Requests the SDK makes for one operation (the first and one retry of a 5xx, a throttle or a lost connection)."""
S3_CONNECT_TIMEOUT_SECONDS = 5.0
DEFAULT_REGION = "us-east-1"
_MISSING = {"NoSuchKey", "404", "NotFound"}


class StoreError(Exception):
    """The store could not do what was asked just now; trying again later may work."""


class ObjectStore(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Keep `data` under `key` (replacing what was there), whole or not at all; StoreError when it fails."""
        ...

    def get(self, key: str) -> bytes | None:
        """The bytes under `key`, or None when there are none; StoreError when the store fails."""
        ...

    def delete(self, key: str) -> None:
        """Remove what is under `key` (nothing there is fine); StoreError when the store fails."""
        ...


def is_key(key: str) -> bool:
    return bool(KEY.match(key or ""))


def _checked(key: str) -> str:
    if not is_key(key):
        raise ValueError("not an object key")
    return key


class LocalDirectory:
    """Objects as files in one directory (created on the first `put`)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self.folder / _checked(key)
        partial = self.folder / f".{key}.part"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(data)
            os.replace(partial, path)  # whole or not at all
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise StoreError(f"could not write the file: {exc.strerror or type(exc).__name__}") from exc

    def get(self, key: str) -> bytes | None:
        if not is_key(key):
            return None
        try:
            return (self.folder / key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        except OSError as exc:
            raise StoreError(f"could not read the file: {exc.strerror or type(exc).__name__}") from exc

    def delete(self, key: str) -> None:
        try:
            (self.folder / _checked(key)).unlink(missing_ok=True)
        except OSError as exc:
            raise StoreError(f"could not remove the file: {exc.strerror or type(exc).__name__}") from exc


def _describe(exc: Exception) -> str:
    """What went wrong, for logs and the health page: the S3 error code and HTTP status, or the SDK's error class
    (whose messages name the endpoint at most, never the credentials)."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "")
        return f"S3 {error.get('Code', 'error')} ({status})"
    return f"S3 unreachable ({type(exc).__name__})"


@lru_cache(maxsize=4)
def _s3_client(endpoint_url: str, region: str, key_id: str, secret: str, timeout: float) -> Any:
    """One client per configuration (boto3 clients are thread-safe; making one takes a while)."""
    config = Config(
        signature_version="s3v4",
        region_name=region,
        # Path-style for S3-compatible stores (MinIO and others do not serve bucket subdomains); AWS picks itself.
        s3={"addressing_style": "path" if endpoint_url else "auto"},
        retries={"total_max_attempts": S3_ATTEMPTS, "mode": "standard"},
        connect_timeout=S3_CONNECT_TIMEOUT_SECONDS,
        read_timeout=timeout,
        # Checksums only where the API requires them: several S3-compatible stores refuse the newer default ones.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url or None,
        aws_access_key_id=key_id or None,
        aws_secret_access_key=secret or None,
        config=config,
    )


class S3Bucket:
    """Objects in one bucket of an S3-compatible store."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client, self.bucket = client, bucket

    def put(self, key: str, data: bytes, content_type: str) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=_checked(key), Body=data, ContentType=content_type)
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(_describe(exc)) from exc

    def get(self, key: str) -> bytes | None:
        if not is_key(key):
            return None
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
            with answer["Body"] as body:
                return body.read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise StoreError(_describe(exc)) from exc
        except BotoCoreError as exc:
            raise StoreError(_describe(exc)) from exc

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=_checked(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in _MISSING:  # S3 says 204; some stores say 404
                raise StoreError(_describe(exc)) from exc
        except BotoCoreError as exc:
            raise StoreError(_describe(exc)) from exc


def attachments_store() -> ObjectStore:
    """The store of conversation photos: the S3 bucket when ATTACHMENTS_S3_BUCKET is set, else ATTACHMENTS_DIR."""
    settings = get_settings()
    if not settings.attachments_s3_bucket:
        return LocalDirectory(settings.attachments_path)
    client = _s3_client(
        settings.attachments_s3_endpoint_url,
        settings.attachments_s3_region or DEFAULT_REGION,
        settings.attachments_s3_access_key_id,
        settings.attachments_s3_secret_access_key,
        settings.provider_timeout_seconds,
    )
    return S3Bucket(client, settings.attachments_s3_bucket)
