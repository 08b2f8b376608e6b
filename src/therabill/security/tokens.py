"""Random tokens (sessions, API tokens, CSRF) and their stored digests."""

from __future__ import annotations

import hashlib
import hmac
import secrets

API_TOKEN_PREFIX = "tb_"


def new_token() -> str:
    """A URL-safe random token of 256 bits (ASVS 7.2.3: at least 128)."""
    return secrets.token_urlsafe(32)


def new_id() -> str:
    """An opaque random id for URLs (128 bits, hex)."""
    return secrets.token_hex(16)


def digest(token: str) -> str:
    """The SHA-256 hex digest stored in place of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time comparison of two strings."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
