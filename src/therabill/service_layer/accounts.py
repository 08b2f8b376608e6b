"""Account use cases: users and roles, log-in with throttling, TOTP, sessions and API tokens.

Every function takes an open SQLAlchemy ``Connection`` (the caller owns the transaction) and
the current time ``now`` (naive UTC), so that timeouts are testable with an injected clock.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import Connection, Join, Table, and_, func, insert, or_, select, update
from sqlalchemy.orm import Session

from therabill.adapters.db.auth_tables import api_tokens, login_attempts, sessions, user_practice_roles, users
from therabill.adapters.db.tables import practices, providers
from therabill.domain.errors import Problem, TherabillError
from therabill.security import passwords, totp
from therabill.security.permissions import MFA_REQUIRED_ROLES, ROLES, parse_scopes, permissions_of
from therabill.security.tokens import API_TOKEN_PREFIX, digest, new_id, new_token
from therabill.service_layer import audit as audit_log

_log = logging.getLogger("therabill.auth")


class AccountError(TherabillError):
    """A refused account operation (bad password policy, unknown role, duplicate username)."""

    code = "account-invalid"


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """Session and log-in limits.

    Attributes:
        idle_minutes: a session unused this long ends (automatic logoff).
        absolute_hours: a session ends this long after log-in whatever happens.
        pending_minutes: how long a half-done log-in (waiting for the TOTP code) lasts.
        max_failures_per_user: failed log-ins per username per window before refusing.
        max_failures_per_ip: failed log-ins per address per window before refusing.
        window_minutes: the throttling window.
        mfa_for_all: require TOTP of every role, not only owner and biller.
        token_default_days: the lifetime of an API token created without one.
        token_max_days: the longest lifetime an API token may be given (no token lives forever).
    """

    idle_minutes: int = 15
    absolute_hours: int = 12
    pending_minutes: int = 5
    max_failures_per_user: int = 10
    max_failures_per_ip: int = 100
    window_minutes: int = 15
    mfa_for_all: bool = False
    token_default_days: int = 90
    token_max_days: int = 365


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, in which practice, with which role.

    Attributes:
        user_id: the user's opaque id.
        username: the log-in name.
        display_name: the name shown on pages.
        practice_id: the practice the session or token works in.
        role: owner, biller, therapist or front_desk.
        provider_id: the rendering provider a therapist is, if linked.
        scopes: an API token's scopes (None for a browser session).
        csrf_token: the session's CSRF token (empty for API tokens).
        session_hash: the digest of the session token (empty for API tokens).
    """

    user_id: str
    username: str
    display_name: str
    practice_id: str
    role: str
    provider_id: str | None = None
    scopes: frozenset[str] | None = None
    csrf_token: str = ""
    session_hash: str = ""


@dataclass(frozen=True, slots=True)
class PendingSession:
    """A session that is not fully logged in (waiting for a TOTP code or enrollment).

    Attributes:
        user_id: the user.
        username: the log-in name.
        stage: ``mfa`` or ``enroll``.
        csrf_token: the session's CSRF token.
        enroll_secret: the secret being enrolled (stage ``enroll``).
    """

    user_id: str
    username: str
    stage: str
    csrf_token: str
    enroll_secret: str | None


TOUCH_EVERY = timedelta(seconds=60)
"""How stale a session's last-use time may get before a request writes it again."""


# --- users -----------------------------------------------------------------------------


def create_user(
    conn: Connection,
    *,
    username: str,
    display_name: str,
    password: str,
    practice_id: str,
    role: str,
    now: datetime,
    provider_id: str | None = None,
    totp_secret: str | None = None,
) -> str:
    """Create a user with one practice role; returns the new user's id."""
    username = username.strip().lower()
    problems = [
        Problem("account-password-policy", "password", p)
        for p in passwords.policy_problems(password, username)
    ]
    if role not in ROLES:
        problems.append(Problem("account-role-unknown", "role", f"must be one of {', '.join(ROLES)}"))
    if not username or len(username) > 150:
        problems.append(Problem("account-username-invalid", "username", "must be 1-150 characters"))
    elif conn.execute(select(users.c.id).where(users.c.username == username)).first():
        problems.append(Problem("account-username-taken", "username", "is already taken"))
    if problems:
        raise AccountError("the account cannot be created", tuple(problems))
    user_id = new_id()
    conn.execute(
        insert(users).values(
            id=user_id,
            username=username,
            display_name=display_name,
            password_hash=passwords.hash_password(password),
            password_changed_at=now,
            totp_secret=totp_secret,
            totp_enrolled_at=now if totp_secret else None,
            active=True,
            created_at=now,
        )
    )
    conn.execute(
        insert(user_practice_roles).values(
            id=new_id(), user_id=user_id, practice_id=practice_id, role=role, provider_id=provider_id
        )
    )
    return user_id


def user_exists(conn: Connection, username: str) -> bool:
    """Whether a username is taken."""
    return (
        conn.execute(select(users.c.id).where(users.c.username == username.strip().lower())).first()
        is not None
    )


def list_users(conn: Connection, practice_id: str) -> list[dict[str, object]]:
    """The users of a practice with their roles (no secrets)."""
    rows = conn.execute(
        select(
            users.c.id,
            users.c.username,
            users.c.display_name,
            users.c.active,
            users.c.totp_enrolled_at,
            user_practice_roles.c.role,
        )
        .join(user_practice_roles, user_practice_roles.c.user_id == users.c.id)
        .where(user_practice_roles.c.practice_id == practice_id)
        .order_by(users.c.username)
    )
    return [
        {
            "id": r.id,
            "username": r.username,
            "display_name": r.display_name,
            "active": bool(r.active),
            "mfa_enrolled": r.totp_enrolled_at is not None,
            "role": r.role,
        }
        for r in rows
    ]


def _member(conn: Connection, practice_id: str, user_id: str):  # type: ignore[no-untyped-def]
    """The user's role row in this practice; ``not-found`` for a user of another practice."""
    row = conn.execute(
        select(user_practice_roles).where(
            user_practice_roles.c.user_id == user_id, user_practice_roles.c.practice_id == practice_id
        )
    ).first()
    if row is None:
        raise AccountError("no such user", (Problem("not-found", "user", "no such user"),))
    return row


def _active_owners(conn: Connection, practice_id: str) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(user_practice_roles)
            .join(users, users.c.id == user_practice_roles.c.user_id)
            .where(
                user_practice_roles.c.practice_id == practice_id,
                user_practice_roles.c.role == "owner",
                users.c.active.is_(True),
            )
        ).scalar_one()
    )


def _lock_practice(conn: Connection, practice_id: str) -> None:
    """Take the practice row's lock (PostgreSQL; SQLite has one writer at a time).

    Changes that count the practice's owners take it first, so two owners disabling or
    demoting each other at the same moment run one after the other, and the second sees
    the first's change and is refused (``account-last-owner``).
    """
    if conn.dialect.name == "postgresql":
        conn.execute(select(practices.c.id).where(practices.c.id == practice_id).with_for_update())


def _keep_an_owner(conn: Connection, practice_id: str, member: object) -> None:
    """Refuse a change that would leave the practice without an active owner."""
    if getattr(member, "role", None) == "owner" and _active_owners(conn, practice_id) <= 1:
        raise AccountError(
            "the practice needs an owner",
            (Problem("account-last-owner", "user", "the last active owner cannot be removed"),),
        )


def _end_sessions(conn: Connection, user_id: str) -> None:
    conn.execute(sessions.delete().where(sessions.c.user_id == user_id))


def set_active(
    conn: Connection, practice_id: str, user_id: str, active: bool, now: datetime, actor: str = "system"
) -> None:
    """Enable or disable a user of the practice; disabling ends their sessions and tokens.

    The last active owner cannot be disabled (``account-last-owner``).
    """
    _lock_practice(conn, practice_id)
    member = _member(conn, practice_id, user_id)
    if not active:
        was_active = conn.execute(select(users.c.active).where(users.c.id == user_id)).scalar_one()
        if was_active:
            _keep_an_owner(conn, practice_id, member)
    conn.execute(update(users).where(users.c.id == user_id).values(active=active))
    if not active:
        _end_sessions(conn, user_id)
        conn.execute(
            update(api_tokens)
            .where(api_tokens.c.user_id == user_id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    _audit(conn, practice_id, actor, "user.enable" if active else "user.disable", "user", user_id, {}, now)


def _own_provider(conn: Connection, practice_id: str, provider_id: str) -> None:
    """Refuse a provider id that is not one of this practice's providers (``not-found``)."""
    found = conn.execute(
        select(providers.c.id).where(providers.c.id == provider_id, providers.c.practice_id == practice_id)
    ).first()
    if found is None:
        raise AccountError("no such provider", (Problem("not-found", "provider_id", "no such provider"),))


def invite_user(
    conn: Connection,
    practice_id: str,
    actor: str,
    *,
    username: str,
    display_name: str,
    role: str,
    now: datetime,
    provider_id: str | None = None,
) -> tuple[str, str]:
    """Create a user of the practice with a random first password; returns ``(id, password)``.

    The password is shown once to the owner, who hands it over; the user changes it on the
    Account page (owner and biller also enroll TOTP at their first log-in).
    """
    if provider_id:
        _own_provider(conn, practice_id, provider_id)
    password = secrets.token_urlsafe(12)
    user_id = create_user(
        conn,
        username=username,
        display_name=display_name.strip()[:200] or username,
        password=password,
        practice_id=practice_id,
        role=role,
        now=now,
        provider_id=provider_id or None,
    )
    _audit(conn, practice_id, actor, "user.create", "user", user_id, {"role": role}, now)
    return user_id, password


def change_role(
    conn: Connection,
    practice_id: str,
    actor: str,
    user_id: str,
    role: str,
    now: datetime,
    provider_id: str | None = None,
) -> None:
    """Give a user of the practice another role; their sessions end (they log in again).

    The last active owner keeps the owner role (``account-last-owner``).
    """
    if role not in ROLES:
        raise AccountError(
            "unknown role", (Problem("account-role-unknown", "role", f"must be one of {', '.join(ROLES)}"),)
        )
    _lock_practice(conn, practice_id)
    if role == "therapist" and provider_id:
        _own_provider(conn, practice_id, provider_id)
    member = _member(conn, practice_id, user_id)
    if role != member.role:
        _keep_an_owner(conn, practice_id, member)
    conn.execute(
        update(user_practice_roles)
        .where(user_practice_roles.c.id == member.id)
        .values(role=role, provider_id=provider_id if role == "therapist" else None)
    )
    _end_sessions(conn, user_id)
    _audit(conn, practice_id, actor, "user.role", "user", user_id, {"from": member.role, "to": role}, now)


def reset_mfa(conn: Connection, practice_id: str, actor: str, user_id: str, now: datetime) -> None:
    """Forget a user's TOTP secret (a lost phone); they enroll again at their next log-in."""
    _member(conn, practice_id, user_id)
    conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(totp_secret=None, totp_enrolled_at=None, totp_last_counter=None)
    )
    _end_sessions(conn, user_id)
    _audit(conn, practice_id, actor, "user.mfa_reset", "user", user_id, {}, now)


def change_password(
    conn: Connection, user_id: str, current: str, new: str, now: datetime, keep_session: str = ""
) -> None:
    """Change a password after checking the current one; every other session of the user ends.

    ``keep_session`` is the digest of the session that made the change (it stays logged in);
    all the user's other sessions, full or half-done, are deleted (ASVS 7.4.3).
    """
    row = conn.execute(select(users.c.password_hash, users.c.username).where(users.c.id == user_id)).one()
    if not passwords.verify_password(row.password_hash, current):
        raise AccountError(
            "the current password is wrong", (Problem("account-password-wrong", "current", "is wrong"),)
        )
    problems = passwords.policy_problems(new, row.username)
    if problems:
        raise AccountError(
            "the new password is refused",
            tuple(Problem("account-password-policy", "new", p) for p in problems),
        )
    conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(password_hash=passwords.hash_password(new), password_changed_at=now)
    )
    conn.execute(
        sessions.delete().where(sessions.c.user_id == user_id, sessions.c.token_hash != keep_session)
    )


# --- log-in ----------------------------------------------------------------------------


def _membership(conn: Connection, user_id: str):  # type: ignore[no-untyped-def]
    return conn.execute(
        select(user_practice_roles)
        .where(user_practice_roles.c.user_id == user_id)
        .order_by(user_practice_roles.c.practice_id)
    ).first()


KNOWN_ADDRESS_DAYS = 30
"""An address a user logged in from successfully this recently is "known" for that user."""


def throttle_reason(
    conn: Connection, username: str, ip: str, now: datetime, policy: SessionPolicy
) -> str | None:
    """Why a log-in attempt must be refused now, or None (ASVS 6.3.1, without lock-out DoS).

    Three sliding windows of ``policy.window_minutes``, counting password or code guesses
    (refused attempts are not guesses and are not counted, so the windows always end):

    * ``pair``: ``max_failures_per_user`` failures for this username from this address;
    * ``address``: ``max_failures_per_ip`` failures from this address, any username;
    * ``account``: ``max_failures_per_user`` failures for this username from all addresses,
      applied only to addresses the user has NOT logged in from in the last
      ``KNOWN_ADDRESS_DAYS`` days. Someone guessing from elsewhere therefore cannot lock
      the user out of their usual address, and cannot guess faster than the cap overall.
    """
    since = now - timedelta(minutes=policy.window_minutes)
    failed = and_(login_attempts.c.success.is_(False), login_attempts.c.at >= since)
    count = select(func.count()).select_from(login_attempts)
    mine = login_attempts.c.username == username
    by_pair = conn.execute(count.where(failed, mine, login_attempts.c.ip == ip)).scalar_one()
    if by_pair >= policy.max_failures_per_user:
        return "pair"
    by_ip = conn.execute(count.where(failed, login_attempts.c.ip == ip)).scalar_one()
    if by_ip >= policy.max_failures_per_ip:
        return "address"
    by_user = conn.execute(count.where(failed, mine)).scalar_one()
    if by_user >= policy.max_failures_per_user and not known_address(conn, username, ip, now):
        return "account"
    return None


def known_address(conn: Connection, username: str, ip: str, now: datetime) -> bool:
    """Whether the user logged in successfully from ``ip`` in the last ``KNOWN_ADDRESS_DAYS``."""
    since = now - timedelta(days=KNOWN_ADDRESS_DAYS)
    found = conn.execute(
        select(login_attempts.c.id)
        .where(
            login_attempts.c.username == username,
            login_attempts.c.ip == ip,
            login_attempts.c.success.is_(True),
            login_attempts.c.at >= since,
        )
        .limit(1)
    ).first()
    return found is not None


def throttled(conn: Connection, username: str, ip: str, now: datetime, policy: SessionPolicy) -> bool:
    """Whether a log-in attempt for this username from this address must be refused now."""
    return throttle_reason(conn, username.strip().lower()[:150], ip, now, policy) is not None


def record_attempt(conn: Connection, username: str, ip: str, now: datetime, success: bool) -> None:
    """Record a log-in attempt (the throttle counts failures)."""
    conn.execute(insert(login_attempts).values(username=username[:150], ip=ip[:64], at=now, success=success))


def display_names(conn: Connection, practice_id: str) -> dict[str, str]:
    """Audit actors (``user:<id>``) of a practice with their display names."""
    query = (
        select(users.c.id, users.c.display_name)
        .join(user_practice_roles, user_practice_roles.c.user_id == users.c.id)
        .where(user_practice_roles.c.practice_id == practice_id)
    )
    return {f"user:{row.id}": row.display_name for row in conn.execute(query)}


def practice_of_user(conn: Connection, user_id: str) -> str | None:
    """The practice a user belongs to (for events before the user has a principal)."""
    found = conn.execute(
        select(user_practice_roles.c.practice_id).where(user_practice_roles.c.user_id == user_id)
    ).first()
    return str(found.practice_id) if found is not None else None


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
    _audit(
        conn,
        principal.practice_id,
        f"user:{principal.user_id}",
        "token.policy",
        "practice",
        principal.practice_id,
        {"default_days": default_days, "max_days": max_days},
        now,
    )


def _audit(
    conn: Connection,
    practice_id: str,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | None,
    details: dict[str, object],
    now: datetime,
) -> None:
    """Append one event to the practice's hash-chained audit log, in ``conn``'s transaction."""
    session = Session(bind=conn)
    try:
        audit_log.append(
            session, practice_id, actor, [audit_log.AuditEvent(action, object_type, object_id, details)], now
        )
    finally:
        session.close()


def audit_login_failure(
    conn: Connection, username: str, ip: str, now: datetime, outcome: str, reason: str, step: str = "password"
) -> None:
    """Write a failed or throttled log-in to the audit log (never the password, never PHI).

    A known username's event goes to its practice's chain (object: the user). An unknown
    username goes to the chain of the installation's only practice, if there is exactly one,
    with a digest prefix of the name (people type passwords into the username field), and
    to the application log otherwise.
    """
    username = username.strip().lower()[:150]
    details: dict[str, object] = {"outcome": outcome, "reason": reason, "step": step, "ip": ip[:64]}
    row = conn.execute(select(users.c.id).where(users.c.username == username)).first()
    member = _membership(conn, row.id) if row is not None else None
    if row is not None and member is not None:
        _audit(conn, member.practice_id, "anonymous", f"auth.{step}", "user", row.id, details, now)
        return
    details["username_sha256"] = digest(username)[:16]
    only = conn.execute(select(practices.c.id).limit(2)).scalars().all()
    if len(only) == 1:
        _audit(conn, only[0], "anonymous", f"auth.{step}", "user", None, details, now)
    else:
        _log.warning("log-in %s (%s) from %s for an unknown username", outcome, reason, ip[:64])


def check_password(
    conn: Connection, username: str, password: str, ip: str, now: datetime, policy: SessionPolicy
) -> tuple[str | None, str]:
    """First log-in step. Returns ``(user_id, "ok")`` or ``(None, reason)``.

    Reasons: ``throttled`` (too many failures lately; nothing is checked, nothing counted),
    ``invalid`` (wrong username or password, or a disabled account; one message for all, in
    constant-ish time). Failures and refusals are written to the audit log.
    """
    username = username.strip().lower()[:150]
    why = throttle_reason(conn, username, ip, now, policy)
    if why is not None:
        audit_login_failure(conn, username, ip, now, "throttled", why)
        return None, "throttled"
    row = conn.execute(select(users).where(users.c.username == username)).first()
    ok = passwords.verify_password(row.password_hash if row else passwords.DUMMY_HASH, password)
    if row is None or not ok or not row.active or _membership(conn, row.id) is None:
        record_attempt(conn, username, ip, now, False)
        reason = (
            "unknown-user" if row is None else ("disabled" if not row.active and ok else "wrong-password")
        )
        audit_login_failure(conn, username, ip, now, "failed", reason)
        return None, "invalid"
    if passwords.needs_rehash(row.password_hash):
        conn.execute(
            update(users).where(users.c.id == row.id).values(password_hash=passwords.hash_password(password))
        )
    record_attempt(conn, username, ip, now, True)
    return row.id, "ok"


def next_stage(conn: Connection, user_id: str, policy: SessionPolicy) -> str:
    """After the password: ``mfa`` (enter a code), ``enroll`` (MFA required, not set up) or ``full``."""
    row = conn.execute(select(users.c.totp_secret).where(users.c.id == user_id)).one()
    if row.totp_secret:
        return "mfa"
    member = _membership(conn, user_id)
    if policy.mfa_for_all or (member is not None and member.role in MFA_REQUIRED_ROLES):
        return "enroll"
    return "full"


def start_session(conn: Connection, user_id: str, stage: str, now: datetime, policy: SessionPolicy) -> str:
    """Open a session at the given stage; returns the token for the cookie (stored hashed)."""
    token = new_token()
    member = _membership(conn, user_id)
    lifetime = (
        timedelta(hours=policy.absolute_hours)
        if stage == "full"
        else timedelta(minutes=policy.pending_minutes)
    )
    conn.execute(
        insert(sessions).values(
            token_hash=digest(token),
            user_id=user_id,
            practice_id=member.practice_id if member else None,
            stage=stage,
            csrf_token=new_token(),
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetime,
            enroll_secret=totp.new_secret() if stage == "enroll" else None,
        )
    )
    return token


def end_session(conn: Connection, token: str) -> None:
    """Log out: the session row is deleted, so the token never works again."""
    conn.execute(sessions.delete().where(sessions.c.token_hash == digest(token)))


def _live_session(conn: Connection, token: str, now: datetime, policy: SessionPolicy):  # type: ignore[no-untyped-def]
    row = conn.execute(select(sessions).where(sessions.c.token_hash == digest(token))).first()
    if row is None or row.revoked_at is not None or now >= row.expires_at:
        return None
    if row.stage == "full" and now - row.last_seen_at > timedelta(minutes=policy.idle_minutes):
        return None
    return row


def needs_touch(conn: Connection, token: str, now: datetime, *, api: bool = False) -> bool:
    """Whether the session's (or API token's) last use is old enough to be written again."""
    if api:
        used = conn.execute(
            select(api_tokens.c.last_used_at).where(api_tokens.c.token_hash == digest(token))
        ).first()
        return used is not None and (used[0] is None or now - used[0] >= TOUCH_EVERY)
    seen = conn.execute(
        select(sessions.c.last_seen_at).where(sessions.c.token_hash == digest(token))
    ).scalar()
    return seen is not None and now - seen >= TOUCH_EVERY


_WHO = (
    users.c.id.label("user_id"),
    users.c.username,
    users.c.display_name,
    users.c.active,
    user_practice_roles.c.practice_id,
    user_practice_roles.c.role,
    user_practice_roles.c.provider_id,
)
"""The columns a principal is made of: the user and their role in the credential's practice."""


def _with_role(credential: Table) -> Join:
    """A session or token joined to its user and to the user's role in the credential's practice."""
    return credential.join(users, users.c.id == credential.c.user_id).join(
        user_practice_roles,
        and_(
            user_practice_roles.c.user_id == credential.c.user_id,
            user_practice_roles.c.practice_id == credential.c.practice_id,
        ),
    )


def session_principal(
    conn: Connection, token: str, now: datetime, policy: SessionPolicy, *, touch: bool = True
) -> Principal | None:
    """The principal of a fully logged-in, live session, else None.

    One indexed query (session, user and role joined). With ``touch`` the session is marked
    used when its last use is ``TOUCH_EVERY`` old or more (so the idle timeout counts from
    the last request, to within that step, without a write on every request).
    """
    row = conn.execute(
        select(
            sessions.c.token_hash,
            sessions.c.stage,
            sessions.c.csrf_token,
            sessions.c.last_seen_at,
            sessions.c.expires_at,
            sessions.c.revoked_at,
            *_WHO,
        )
        .select_from(_with_role(sessions))
        .where(sessions.c.token_hash == digest(token))
    ).first()
    if row is None or row.stage != "full" or row.revoked_at is not None or now >= row.expires_at:
        return None
    if now - row.last_seen_at > timedelta(minutes=policy.idle_minutes) or not row.active:
        return None
    if touch and now - row.last_seen_at >= TOUCH_EVERY:
        conn.execute(update(sessions).where(sessions.c.token_hash == row.token_hash).values(last_seen_at=now))
    return Principal(
        user_id=row.user_id,
        username=row.username,
        display_name=row.display_name,
        practice_id=row.practice_id,
        role=row.role,
        provider_id=row.provider_id,
        csrf_token=row.csrf_token,
        session_hash=row.token_hash,
    )


def pending_session(
    conn: Connection, token: str, now: datetime, policy: SessionPolicy
) -> PendingSession | None:
    """A half-done log-in (stage ``mfa`` or ``enroll``), else None."""
    row = _live_session(conn, token, now, policy)
    if row is None or row.stage == "full":
        return None
    user = conn.execute(select(users.c.username).where(users.c.id == row.user_id)).one()
    return PendingSession(row.user_id, user.username, row.stage, row.csrf_token, row.enroll_secret)


def complete_mfa(
    conn: Connection, token: str, code: str, now: datetime, policy: SessionPolicy, ip: str = "unknown"
) -> str | None:
    """Second step: check the TOTP code (or confirm enrollment). Returns a NEW full session token.

    The pending session ends either way on success; a wrong code leaves it for another try.
    """
    pending = pending_session(conn, token, now, policy)
    if pending is None:
        return None
    user = conn.execute(select(users).where(users.c.id == pending.user_id)).one()
    secret = pending.enroll_secret if pending.stage == "enroll" else user.totp_secret
    if not secret:
        return None
    counter = totp.verify(secret, code, now, user.totp_last_counter)
    if counter is None:
        record_attempt(conn, user.username, ip, now, False)
        return None
    values: dict[str, object] = {"totp_last_counter": counter}
    if pending.stage == "enroll":
        values.update(totp_secret=secret, totp_enrolled_at=now)
    # Single use, atomically (ASVS 6.5.1): the code's counter is claimed by a conditional
    # update; of concurrent log-ins with the same code only one changes the row (the others
    # wait for its row lock, re-check the condition and change nothing), and the pending
    # session is consumed the same way.
    claimed = conn.execute(
        update(users)
        .where(
            users.c.id == user.id,
            or_(users.c.totp_last_counter.is_(None), users.c.totp_last_counter < counter),
        )
        .values(**values)
    ).rowcount
    consumed = conn.execute(sessions.delete().where(sessions.c.token_hash == digest(token))).rowcount
    if not claimed or not consumed:
        record_attempt(conn, user.username, ip, now, False)
        return None
    return start_session(conn, user.id, "full", now, policy)


# --- API tokens ------------------------------------------------------------------------


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
    _audit(
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
        _audit(
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
        _audit(conn, practice_id, actor, "token.revoke", "api_token", token_id, {}, now)
    return bool(result.rowcount)


def token_principal(conn: Connection, token: str, now: datetime, *, touch: bool = True) -> Principal | None:
    """The principal of a live API token (marked used, to within ``TOUCH_EVERY``), else None.

    One indexed query (token, user and role joined).
    """
    if not token.startswith(API_TOKEN_PREFIX):
        return None
    row = conn.execute(
        select(
            api_tokens.c.id.label("token_id"),
            api_tokens.c.scopes,
            api_tokens.c.expires_at,
            api_tokens.c.revoked_at,
            api_tokens.c.last_used_at,
            *_WHO,
        )
        .select_from(_with_role(api_tokens))
        .where(api_tokens.c.token_hash == digest(token))
    ).first()
    if row is None or row.revoked_at is not None or row.expires_at is None or now >= row.expires_at:
        return None
    if not row.active:
        return None
    if touch and (row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY):
        conn.execute(update(api_tokens).where(api_tokens.c.id == row.token_id).values(last_used_at=now))
        # Use is audited once per ``TOUCH_EVERY`` of use (each request is in the access log).
        _audit(conn, row.practice_id, f"user:{row.user_id}", "token.use", "api_token", row.token_id, {}, now)
    return Principal(
        user_id=row.user_id,
        username=row.username,
        display_name=row.display_name,
        practice_id=row.practice_id,
        role=row.role,
        provider_id=row.provider_id,
        scopes=frozenset(row.scopes.split()),
    )


# --- demo logins -----------------------------------------------------------------------

DEMO_LOGINS = (
    ("owner", "owner", "Olivia Owner", "owner-demo-2026"),
    ("biller", "biller", "Ben Biller", "biller-demo-2026"),
    ("therapist", "therapist", "Tess Therapist", "therapist-demo-2026"),
    ("frontdesk", "front_desk", "Frank Frontdesk", "frontdesk-demo-2026"),
)
"""The demo practice's logins: (username, role, name, password). Owner and biller enroll TOTP
at their first log-in. For the demo only: never use these on a real practice."""


def ensure_demo_logins(
    conn: Connection, practice_id: str, now: datetime, therapist_provider_id: str | None
) -> list[tuple[str, str, str]]:
    """Create the demo logins that do not exist yet; returns every ``(username, role, password)``."""
    out = []
    for username, role, name, password in DEMO_LOGINS:
        if not user_exists(conn, username):
            create_user(
                conn,
                username=username,
                display_name=name,
                password=password,
                practice_id=practice_id,
                role=role,
                now=now,
                provider_id=therapist_provider_id if role == "therapist" else None,
            )
        out.append((username, role, password))
    return out
