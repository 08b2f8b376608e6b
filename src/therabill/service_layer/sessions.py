"""Log-in and sessions: password check, throttling, two-step log-in, the session and its principal."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, and_, bindparam, func, insert, or_, select, update

from therabill.adapters.db.auth_tables import login_attempts, sessions, user_practice_roles, users
from therabill.adapters.db.engine import one_read_statement
from therabill.adapters.db.tables import practices
from therabill.security import passwords, totp
from therabill.security.permissions import MFA_REQUIRED_ROLES
from therabill.security.tokens import digest, new_token
from therabill.service_layer import api_tokens
from therabill.service_layer.accounts import (
    PRINCIPAL_COLUMNS,
    TOUCH_EVERY,
    PendingSession,
    Principal,
    SessionPolicy,
    audit_in,
    with_role,
)

_log = logging.getLogger("therabill.auth")


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
        audit_in(conn, member.practice_id, "anonymous", f"auth.{step}", "user", row.id, details, now)
        return
    details["username_sha256"] = digest(username)[:16]
    only = conn.execute(select(practices.c.id).limit(2)).scalars().all()
    if len(only) == 1:
        audit_in(conn, only[0], "anonymous", f"auth.{step}", "user", None, details, now)
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


def session_principal(
    conn: Connection, token: str, now: datetime, policy: SessionPolicy, *, touch: bool = True
) -> Principal | None:
    """The principal of a fully logged-in, live session, else None.

    One indexed query (session, user and role joined). With ``touch`` the session is marked
    used when its last use is ``TOUCH_EVERY`` old or more (so the idle timeout counts from
    the last request, to within that step, without a write on every request).
    """
    principal, stale = session_lookup(conn, token, now, policy)
    if touch and stale and principal is not None:
        conn.execute(
            update(sessions).where(sessions.c.token_hash == principal.session_hash).values(last_seen_at=now)
        )
    return principal


def caller(
    engine: Engine, token: str, now: datetime, policy: SessionPolicy, *, bearer: bool
) -> Principal | None:
    """The caller of a request: the principal of a live browser session, or of a live API
    token when ``bearer``; None when there is none.

    Most requests only read, with one statement (on SQLite without a ``BEGIN``/``COMMIT``
    around it: ``one_read_statement``); the last use is written, in a short write
    transaction of its own, only when it is ``TOUCH_EVERY`` old (SQLite has one writer at a
    time).
    """
    with one_read_statement(engine) as conn:
        if bearer:
            principal, stale = api_tokens.token_lookup(conn, token, now)
        else:
            principal, stale = session_lookup(conn, token, now, policy)
    if stale:
        with engine.begin() as conn:
            if bearer:
                principal = api_tokens.token_principal(conn, token, now, touch=True)
            else:
                principal = session_principal(conn, token, now, policy, touch=True)
    return principal


_SESSION_LOOKUP = (
    select(
        sessions.c.token_hash,
        sessions.c.stage,
        sessions.c.csrf_token,
        sessions.c.last_seen_at,
        sessions.c.expires_at,
        sessions.c.revoked_at,
        *PRINCIPAL_COLUMNS,
    )
    .select_from(with_role(sessions))
    .where(sessions.c.token_hash == bindparam("token_hash"))
)
"""Built once: it runs on every request of a browser, and a statement object kept keeps its
cache key (building and keying it again cost more than running it)."""


def session_lookup(
    conn: Connection, token: str, now: datetime, policy: SessionPolicy
) -> tuple[Principal | None, bool]:
    """The principal of a live session (else None) and whether its last use should be written
    again (``TOUCH_EVERY`` old or more), from one indexed query; it writes nothing."""
    row = conn.execute(_SESSION_LOOKUP, {"token_hash": digest(token)}).first()
    if row is None or row.stage != "full" or row.revoked_at is not None or now >= row.expires_at:
        return None, False
    if now - row.last_seen_at > timedelta(minutes=policy.idle_minutes) or not row.active:
        return None, False
    principal = Principal(
        user_id=row.user_id,
        username=row.username,
        display_name=row.display_name,
        practice_id=row.practice_id,
        role=row.role,
        provider_id=row.provider_id,
        csrf_token=row.csrf_token,
        session_hash=row.token_hash,
    )
    return principal, now - row.last_seen_at >= TOUCH_EVERY


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
