"""API tokens: created with scopes within the user's role, listed, revoked, and read into a principal;
the practice's token lifetime policy."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from therabill.adapters.db.auth_tables import api_tokens, users
from therabill.adapters.db.tables import practices
from therabill.domain.errors import Problem
from therabill.security.permissions import parse_scopes, permissions_of
from therabill.security.tokens import API_TOKEN_PREFIX, digest, new_id, new_token
from therabill.service_layer.accounts import (
    PRINCIPAL_COLUMNS,
    TOUCH_EVERY,
    AccountError,
    Principal,
    SessionPolicy,
    audit_in,
    with_role,
)


def practice_token_policy(conn: Connection, practice_id: str, policy: SessionPolicy) -> SessionPolicy:
    """``policy`` with the token lifetimes the practice's owner set, never beyond the
    installation's maximum."""
    row = conn.execute(
        select(practices.c.token_default_days, practices.c.token_max_days).where(
            practices.c.id == practice_id
        )
    ).first()
    if row is None:
        return policy
    most = min(row.token_max_days or policy.token_max_days, policy.token_max_days)
    default = min(row.token_default_days or policy.token_default_days, most)
    return replace(policy, token_default_days=default, token_max_days=most)


def set_token_policy(
    conn: Connection,
    principal: Principal,
    *,
    default_days: int,
    max_days: int,
    now: datetime,
    policy: SessionPolicy,
) -> None:
    """The owner sets the lifetime of the practice's new API tokens: ``default_days`` for a
    token created without one, ``max_days`` at the most (both within the installation's
    maximum). Tokens already made keep their expiry. Audited.

    Raises:
        AccountError: a lifetime out of range (``token-policy-invalid``).
    """
    if not 1 <= max_days <= policy.token_max_days:
        message = f"the maximum must be 1 to {policy.token_max_days} days"
        raise AccountError(message, (Problem("token-policy-invalid", "token_max_days", message),))
    if not 1 <= default_days <= max_days:
        message = f"the default must be 1 to {max_days} days"
        raise AccountError(message, (Problem("token-policy-invalid", "token_default_days", message),))
    conn.execute(
        update(practices)
        .where(practices.c.id == principal.practice_id)
        .values(token_default_days=default_days, token_max_days=max_days)
    )
    audit_in(
        conn,
        principal.practice_id,
        f"user:{principal.user_id}",
        "token.policy",
        "practice",
        principal.practice_id,
        {"default_days": default_days, "max_days": max_days},
        now,
    )


def create_api_token(
    conn: Connection,
    principal: Principal,
    name: str,
    scopes: str,
    now: datetime,
    expires_in_days: int | None = None,
    policy: SessionPolicy | None = None,
) -> tuple[str, str]:
    """Create a token for the caller; returns ``(token id, token)``. The token is shown once.

    A token never holds more than its creator: every scope must be a permission of the
    caller's role and, when the caller is itself an API token, one of that token's scopes
    (``token-scope-exceeds``). Every token expires: ``expires_in_days`` (default
    ``policy.token_default_days``) may not exceed ``policy.token_max_days``
    (``token-expiry-too-long``). The creation is audited, with the scopes and the expiry.
    """
    policy = practice_token_policy(conn, principal.practice_id, policy or SessionPolicy())
    try:
        wanted = parse_scopes(scopes)
    except ValueError as exc:
        raise AccountError(str(exc), (Problem("token-scope-unknown", "scopes", str(exc)),)) from None
    if not wanted:
        raise AccountError(
            "no scope given", (Problem("token-scope-missing", "scopes", "give at least one scope"),)
        )
    held = {p.value for p in permissions_of(principal.role, principal.scopes)}
    beyond = sorted(wanted - held)
    if beyond:
        message = f"a token cannot hold more than its creator: {', '.join(beyond)}"
        raise AccountError(message, (Problem("token-scope-exceeds", "scopes", message),))
    days = policy.token_default_days if expires_in_days is None else expires_in_days
    if not 1 <= days <= policy.token_max_days:
        message = f"must be 1 to {policy.token_max_days} days"
        raise AccountError(
            "the expiry is refused", (Problem("token-expiry-too-long", "expires_in_days", message),)
        )
    token = API_TOKEN_PREFIX + new_token()
    token_id = new_id()
    expires_at = now + timedelta(days=days)
    audit_in(
        conn,
        principal.practice_id,
        f"user:{principal.user_id}",
        "token.create",
        "api_token",
        token_id,
        {
            "scopes": sorted(wanted),
            "expires_in_days": days,
            "by": "token" if principal.scopes is not None else "session",
        },
        now,
    )
    conn.execute(
        insert(api_tokens).values(
            id=token_id,
            user_id=principal.user_id,
            practice_id=principal.practice_id,
            name=name[:100] or "token",
            token_hash=digest(token),
            prefix=token[:10],
            scopes=" ".join(sorted(wanted)),
            created_at=now,
            expires_at=expires_at,
        )
    )
    return token_id, token


def list_api_tokens(conn: Connection, principal: Principal) -> list[dict[str, object]]:
    """The caller's tokens (never the secret)."""
    rows = conn.execute(
        select(api_tokens)
        .where(api_tokens.c.user_id == principal.user_id, api_tokens.c.practice_id == principal.practice_id)
        .order_by(api_tokens.c.created_at)
    )
    return [
        {
            "id": r.id,
            "name": r.name,
            "prefix": r.prefix,
            "scopes": r.scopes.split(),
            "created_at": r.created_at.isoformat(),
            "expires_at": r.expires_at.isoformat() if r.expires_at else None,
            "revoked": r.revoked_at is not None,
        }
        for r in rows
    ]


def revoke_api_token(conn: Connection, principal: Principal, token_id: str, now: datetime) -> bool:
    """Revoke one of the caller's tokens; False when there is no such token of theirs."""
    result = conn.execute(
        update(api_tokens)
        .where(
            api_tokens.c.id == token_id,
            api_tokens.c.user_id == principal.user_id,
            api_tokens.c.practice_id == principal.practice_id,
            api_tokens.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    if result.rowcount:
        audit_in(
            conn,
            principal.practice_id,
            f"user:{principal.user_id}",
            "token.revoke",
            "api_token",
            token_id,
            {},
            now,
        )
    return bool(result.rowcount)


def list_practice_tokens(conn: Connection, practice_id: str) -> list[dict[str, object]]:
    """Every API token of the practice's users, with the owner's username (never the secret)."""
    rows = conn.execute(
        select(api_tokens, users.c.username)
        .join(users, users.c.id == api_tokens.c.user_id)
        .where(api_tokens.c.practice_id == practice_id)
        .order_by(api_tokens.c.created_at)
    )
    return [
        {
            "id": r.id,
            "username": r.username,
            "name": r.name,
            "prefix": r.prefix,
            "scopes": r.scopes.split(),
            "created_at": r.created_at.isoformat(),
            "last_used_at": r.last_used_at.isoformat() if r.last_used_at else None,
            "expires_at": r.expires_at.isoformat() if r.expires_at else None,
            "revoked": r.revoked_at is not None,
        }
        for r in rows
    ]


def revoke_practice_token(
    conn: Connection, practice_id: str, actor: str, token_id: str, now: datetime
) -> bool:
    """Revoke any token of the practice (an owner's action); False when there is no such token."""
    result = conn.execute(
        update(api_tokens)
        .where(
            api_tokens.c.id == token_id,
            api_tokens.c.practice_id == practice_id,
            api_tokens.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    if result.rowcount:
        audit_in(conn, practice_id, actor, "token.revoke", "api_token", token_id, {}, now)
    return bool(result.rowcount)


def token_principal(conn: Connection, token: str, now: datetime, *, touch: bool = True) -> Principal | None:
    """The principal of a live API token (marked used, to within ``TOUCH_EVERY``), else None.

    One indexed query (token, user and role joined).
    """
    row = _live_token(conn, token, now)
    if row is None:
        return None
    if touch and (row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY):
        conn.execute(update(api_tokens).where(api_tokens.c.id == row.token_id).values(last_used_at=now))
        # Use is audited once per ``TOUCH_EVERY`` of use (each request is in the access log).
        audit_in(
            conn, row.practice_id, f"user:{row.user_id}", "token.use", "api_token", row.token_id, {}, now
        )
    return _token_principal(row)


_TOKEN_LOOKUP = (
    select(
        api_tokens.c.id.label("token_id"),
        api_tokens.c.scopes,
        api_tokens.c.expires_at,
        api_tokens.c.revoked_at,
        api_tokens.c.last_used_at,
        *PRINCIPAL_COLUMNS,
    )
    .select_from(with_role(api_tokens))
    .where(api_tokens.c.token_hash == bindparam("token_hash"))
)
"""Built once: it runs on every API call, and a statement object kept keeps its cache key."""


def token_lookup(conn: Connection, token: str, now: datetime) -> tuple[Principal | None, bool]:
    """The principal of a live API token (else None) and whether its use should be written
    again (``TOUCH_EVERY`` since the last), from one indexed query; it writes nothing."""
    row = _live_token(conn, token, now)
    if row is None:
        return None, False
    return _token_principal(row), row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY


def _live_token(conn: Connection, token: str, now: datetime) -> Any:
    if not token.startswith(API_TOKEN_PREFIX):
        return None
    row = conn.execute(_TOKEN_LOOKUP, {"token_hash": digest(token)}).first()
    if row is None or row.revoked_at is not None or row.expires_at is None or now >= row.expires_at:
        return None
    if not row.active:
        return None
    return row


def _token_principal(row: Any) -> Principal:
    return Principal(
        user_id=row.user_id,
        username=row.username,
        display_name=row.display_name,
        practice_id=row.practice_id,
        role=row.role,
        provider_id=row.provider_id,
        scopes=frozenset(row.scopes.split()),
    )
