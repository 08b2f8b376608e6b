"""Tables of people who log in: users, their roles per practice, sessions, API tokens, log-in attempts.

Secrets are never stored in the clear: passwords as argon2 hashes, session and API tokens as
SHA-256 digests of random values (the value itself only ever lives in the browser cookie or
the API client). Times are naive UTC ``DateTime`` values.

``practice_id`` is the opaque id of a row of the records layer's ``practices`` table, and a
therapist's ``provider_id`` (their own patients' notes) one of ``providers``.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from therabill.adapters.db.base import metadata

ROLES = ("owner", "biller", "therapist", "front_desk")

users = Table(
    "users",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("username", String(150), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("password_changed_at", DateTime, nullable=False),
    Column("totp_secret", String(64), nullable=True),
    Column("totp_enrolled_at", DateTime, nullable=True),
    Column("totp_last_counter", Integer, nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime, nullable=False),
)

user_practice_roles = Table(
    "user_practice_roles",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("practice_id", String(32), ForeignKey("practices.id"), nullable=False),
    Column("role", String(20), nullable=False),
    Column("provider_id", String(32), ForeignKey("providers.id"), nullable=True),
    UniqueConstraint("user_id", "practice_id", name="uq_user_practice_roles_user_practice"),
    CheckConstraint("role IN ('owner', 'biller', 'therapist', 'front_desk')", name="role_known"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("practice_id", String(32), ForeignKey("practices.id"), nullable=True),
    Column("stage", String(10), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("last_seen_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("revoked_at", DateTime, nullable=True),
    Column("enroll_secret", String(64), nullable=True),
    CheckConstraint("stage IN ('mfa', 'enroll', 'full')", name="stage_known"),
    Index("ix_sessions_user", "user_id"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("practice_id", String(32), ForeignKey("practices.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(12), nullable=False),
    Column("scopes", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("last_used_at", DateTime, nullable=True),
    Column("expires_at", DateTime, nullable=True),
    Column("revoked_at", DateTime, nullable=True),
)

login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(150), nullable=False),
    Column("ip", String(64), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("success", Boolean, nullable=False),
    Index("ix_login_attempts_username_at", "username", "at"),
    Index("ix_login_attempts_ip_at", "ip", "at"),
)

AUTH_TABLES = (users, user_practice_roles, sessions, api_tokens, login_attempts)
