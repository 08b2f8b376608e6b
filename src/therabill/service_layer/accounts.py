"""Account use cases: users and roles, log-in with throttling, TOTP, sessions and API tokens.

Every function takes an open SQLAlchemy ``Connection`` (the caller owns the transaction) and
the current time ``now`` (naive UTC), so that timeouts are testable with an injected clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, func, insert, select, update

from therabill.adapters.db.auth_tables import api_tokens, login_attempts, sessions, user_practice_roles, users
from therabill.domain.errors import Problem, TherabillError
from therabill.security import passwords, totp
from therabill.security.permissions import MFA_REQUIRED_ROLES, ROLES, parse_scopes
from therabill.security.tokens import API_TOKEN_PREFIX, digest, new_id, new_token


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
    """

    idle_minutes: int = 15
    absolute_hours: int = 12
    pending_minutes: int = 5
    max_failures_per_user: int = 10
    max_failures_per_ip: int = 100
    window_minutes: int = 15
    mfa_for_all: bool = False


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


def set_active(conn: Connection, practice_id: str, user_id: str, active: bool, now: datetime) -> None:
    """Enable or disable a user of the practice; disabling ends their sessions and tokens."""
    member = conn.execute(
        select(user_practice_roles.c.id).where(
            user_practice_roles.c.user_id == user_id, user_practice_roles.c.practice_id == practice_id
        )
    ).first()
    if member is None:
        raise AccountError("no such user", (Problem("not-found", "user", "no such user"),))
    conn.execute(update(users).where(users.c.id == user_id).values(active=active))
    if not active:
        conn.execute(sessions.delete().where(sessions.c.user_id == user_id))
        conn.execute(
            update(api_tokens)
            .where(api_tokens.c.user_id == user_id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )


def change_password(conn: Connection, user_id: str, current: str, new: str, now: datetime) -> None:
    """Change a password after checking the current one; other sessions of the user end."""
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


# --- log-in ----------------------------------------------------------------------------


def _membership(conn: Connection, user_id: str):  # type: ignore[no-untyped-def]
    return conn.execute(
        select(user_practice_roles)
        .where(user_practice_roles.c.user_id == user_id)
        .order_by(user_practice_roles.c.practice_id)
    ).first()


def throttled(conn: Connection, username: str, ip: str, now: datetime, policy: SessionPolicy) -> bool:
    """Whether too many failed log-ins came for this username or from this address lately."""
    since = now - timedelta(minutes=policy.window_minutes)
    failed = and_(login_attempts.c.success.is_(False), login_attempts.c.at >= since)
    by_user = conn.execute(
        select(func.count()).select_from(login_attempts).where(failed, login_attempts.c.username == username)
    ).scalar_one()
    if by_user >= policy.max_failures_per_user:
        return True
    by_ip = conn.execute(
        select(func.count()).select_from(login_attempts).where(failed, login_attempts.c.ip == ip)
    ).scalar_one()
    return bool(by_ip >= policy.max_failures_per_ip)


def record_attempt(conn: Connection, username: str, ip: str, now: datetime, success: bool) -> None:
    """Record a log-in attempt (the throttle counts failures)."""
    conn.execute(insert(login_attempts).values(username=username[:150], ip=ip[:64], at=now, success=success))


def check_password(
    conn: Connection, username: str, password: str, ip: str, now: datetime, policy: SessionPolicy
) -> tuple[str | None, str]:
    """First log-in step. Returns ``(user_id, "ok")`` or ``(None, reason)``.

    Reasons: ``throttled`` (too many failures lately; nothing is checked), ``invalid`` (wrong
    username or password, or a disabled account; one message for all, in constant-ish time).
    """
    username = username.strip().lower()[:150]
    if throttled(conn, username, ip, now, policy):
        record_attempt(conn, username, ip, now, False)
        return None, "throttled"
    row = conn.execute(select(users).where(users.c.username == username)).first()
    ok = passwords.verify_password(row.password_hash if row else passwords.DUMMY_HASH, password)
    if row is None or not ok or not row.active or _membership(conn, row.id) is None:
        record_attempt(conn, username, ip, now, False)
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


def session_principal(
    conn: Connection, token: str, now: datetime, policy: SessionPolicy, *, touch: bool = True
) -> Principal | None:
    """The principal of a fully logged-in, live session, else None.

    With ``touch`` the session is marked used when its last use is ``TOUCH_EVERY`` old or more
    (so the idle timeout counts from the last request, to within that step, without a write
    on every request).
    """
    row = _live_session(conn, token, now, policy)
    if row is None or row.stage != "full":
        return None
    user = conn.execute(select(users).where(users.c.id == row.user_id)).first()
    member = conn.execute(
        select(user_practice_roles).where(
            user_practice_roles.c.user_id == row.user_id,
            user_practice_roles.c.practice_id == row.practice_id,
        )
    ).first()
    if user is None or not user.active or member is None:
        return None
    if touch and now - row.last_seen_at >= TOUCH_EVERY:
        conn.execute(update(sessions).where(sessions.c.token_hash == row.token_hash).values(last_seen_at=now))
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        practice_id=member.practice_id,
        role=member.role,
        provider_id=member.provider_id,
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


def complete_mfa(conn: Connection, token: str, code: str, now: datetime, policy: SessionPolicy) -> str | None:
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
        record_attempt(conn, user.username, "mfa", now, False)
        return None
    values: dict[str, object] = {"totp_last_counter": counter}
    if pending.stage == "enroll":
        values.update(totp_secret=secret, totp_enrolled_at=now)
    conn.execute(update(users).where(users.c.id == user.id).values(**values))
    end_session(conn, token)
    return start_session(conn, user.id, "full", now, policy)


# --- API tokens ------------------------------------------------------------------------


def create_api_token(
    conn: Connection,
    principal: Principal,
    name: str,
    scopes: str,
    now: datetime,
    expires_in_days: int | None = 90,
) -> tuple[str, str]:
    """Create a token for the caller; returns ``(token id, token)``. The token is shown once."""
    try:
        wanted = parse_scopes(scopes)
    except ValueError as exc:
        raise AccountError(str(exc), (Problem("token-scope-unknown", "scopes", str(exc)),)) from None
    if not wanted:
        raise AccountError(
            "no scope given", (Problem("token-scope-missing", "scopes", "give at least one scope"),)
        )
    token = API_TOKEN_PREFIX + new_token()
    token_id = new_id()
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
            expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
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
    return bool(result.rowcount)


def token_principal(conn: Connection, token: str, now: datetime, *, touch: bool = True) -> Principal | None:
    """The principal of a live API token (marked used, to within ``TOUCH_EVERY``), else None."""
    if not token.startswith(API_TOKEN_PREFIX):
        return None
    row = conn.execute(select(api_tokens).where(api_tokens.c.token_hash == digest(token))).first()
    if row is None or row.revoked_at is not None or (row.expires_at is not None and now >= row.expires_at):
        return None
    user = conn.execute(select(users).where(users.c.id == row.user_id)).first()
    member = conn.execute(
        select(user_practice_roles).where(
            user_practice_roles.c.user_id == row.user_id,
            user_practice_roles.c.practice_id == row.practice_id,
        )
    ).first()
    if user is None or not user.active or member is None:
        return None
    if touch and (row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY):
        conn.execute(update(api_tokens).where(api_tokens.c.id == row.id).values(last_used_at=now))
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        practice_id=member.practice_id,
        role=member.role,
        provider_id=member.provider_id,
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
