"""Account use cases: users and roles, log-in with throttling, TOTP, sessions and API tokens.

Every function takes an open SQLAlchemy ``Connection`` (the caller owns the transaction) and
the current time ``now`` (naive UTC), so that timeouts are testable with an injected clock.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Join, Table, and_, func, insert, select, update
from sqlalchemy.orm import Session

from therabill.adapters.db.auth_tables import api_tokens, sessions, user_practice_roles, users
from therabill.adapters.db.tables import practices, providers
from therabill.domain.errors import Problem, TherabillError
from therabill.security import passwords
from therabill.security.permissions import ROLES
from therabill.security.tokens import new_id
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


COMMAND_LINE = "os:"
"""How the audit actor of a command-line caller starts (the operating-system user)."""


def command_line_principal(practice_id: str, os_actor: str) -> Principal:
    """The caller of a ``therabill`` command: the operating-system user (``os:<name>``) acting
    as the practice's owner (whoever can run the command can open the database)."""
    return Principal(os_actor, os_actor, "command line", practice_id, "owner")


def actor_of(principal: Principal) -> str:
    """The audit actor of a caller: ``user:<id>`` for a user, ``os:<name>`` on the command line."""
    if principal.user_id.startswith(COMMAND_LINE):
        return principal.user_id
    return f"user:{principal.user_id}"


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
    audit_in(conn, practice_id, actor, "user.enable" if active else "user.disable", "user", user_id, {}, now)


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
    audit_in(conn, practice_id, actor, "user.create", "user", user_id, {"role": role}, now)
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
    audit_in(conn, practice_id, actor, "user.role", "user", user_id, {"from": member.role, "to": role}, now)


def reset_mfa(conn: Connection, practice_id: str, actor: str, user_id: str, now: datetime) -> None:
    """Forget a user's TOTP secret (a lost phone); they enroll again at their next log-in."""
    _member(conn, practice_id, user_id)
    conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(totp_secret=None, totp_enrolled_at=None, totp_last_counter=None)
    )
    _end_sessions(conn, user_id)
    audit_in(conn, practice_id, actor, "user.mfa_reset", "user", user_id, {}, now)


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


def audit_in(
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


PRINCIPAL_COLUMNS = (
    users.c.id.label("user_id"),
    users.c.username,
    users.c.display_name,
    users.c.active,
    user_practice_roles.c.practice_id,
    user_practice_roles.c.role,
    user_practice_roles.c.provider_id,
)

"""The columns a principal is made of: the user and their role in the credential's practice."""


def with_role(credential: Table) -> Join:
    """A session or token joined to its user and to the user's role in the credential's practice."""
    return credential.join(users, users.c.id == credential.c.user_id).join(
        user_practice_roles,
        and_(
            user_practice_roles.c.user_id == credential.c.user_id,
            user_practice_roles.c.practice_id == credential.c.practice_id,
        ),
    )
