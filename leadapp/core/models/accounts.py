"""Users, their sessions and password resets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from leadapp.core.models.base import created_at_field, encrypted_field, utcnow
from leadapp.core.vocab import Role


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True)
    password_hash: str = Field(max_length=255)
    role: str = Field(default=Role.CONSUMER.value, max_length=32, index=True)
    full_name: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=32)
    time_zone: str = Field(default="UTC", max_length=64, description="An admin's zone for reading times (IANA)")
    is_active: bool = Field(default=True)
    created_at: datetime = created_at_field()
    updated_at: datetime = Field(default_factory=utcnow)
    last_login_at: datetime | None = None
    disabled_at: datetime | None = None
    email_verified_at: datetime | None = Field(
        default=None, description="When the owner of `email` opened the verification link; None = not verified"
    )


class AuthSession(SQLModel, table=True):
    """A login: the browser holds a random token, the database only its SHA-256."""

    __tablename__ = "auth_sessions"
    __table_args__ = (Index("ix_auth_sessions_user_active", "user_id", "revoked_at"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = created_at_field()
    expires_at: datetime
    last_seen_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None
    user_agent: str = Field(default="", max_length=400)
    ip: str = Field(default="", max_length=64)


class PasswordReset(SQLModel, table=True):
    __tablename__ = "password_resets"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = created_at_field()
    expires_at: datetime
    used_at: datetime | None = None
    requested_by_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")


class EmailVerification(SQLModel, table=True):
    """A link proving that a user reads `email` (at sign-up, or the new address of a change of email).

    Only the token's SHA-256 is stored; the link works once, until `expires_at`."""

    __tablename__ = "email_verifications"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    email: str = Field(max_length=320)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = created_at_field()
    expires_at: datetime
    used_at: datetime | None = None


class ApiKey(SQLModel, table=True):
    """A partner's key for the public API: only the SHA-256 of the token is stored (the token is shown once)."""

    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    token_prefix: str = Field(default="", max_length=16, description="The token's first characters, to recognise it")
    per_minute: int = Field(default=60, description="Requests this key may make per minute")
    created_by_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
    revoked_at: datetime | None = None
    revoked_by_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    last_used_at: datetime | None = None
    webhook_url: str = Field(
        default="", max_length=2000, description="Where this partner's leads' status changes are POSTed; '' = none"
    )
    # The Standard Webhooks signing secret ("whsec_<base64>"), shown once; encrypted at rest (it must be read back
    # to sign, so it cannot be hashed).
    webhook_secret: str = encrypted_field("webhook")
