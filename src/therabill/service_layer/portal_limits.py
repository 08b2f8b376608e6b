"""Rate limits of the public booking page and the portal's log-in links.

Every request that may send an email counts in ``portal_attempts`` (digests of the network
address and of the email, never the values): at most ``PER_ADDRESS`` requests from one
address and ``PER_EMAIL`` links for one email per practice within ``WINDOW``. An unknown
email counts exactly like a known one, so the limits tell nothing about who is a client. The
count is in the database, so every worker process shares it.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import func, select

from therabill.adapters.db.portal_tables import portal_attempts
from therabill.clock import naive_utc
from therabill.domain.booking import BookingError
from therabill.domain.errors import Problem
from therabill.security.tokens import digest
from therabill.service_layer.uow import UnitOfWork

__all__ = ["PER_ADDRESS", "PER_EMAIL", "WINDOW", "RateLimitedError", "throttle_in"]

WINDOW = timedelta(minutes=15)
PER_ADDRESS = 20
"""Requests (bookings and log-in links) one network address may make per ``WINDOW``."""
PER_EMAIL = 3
"""Links one email address may be sent per practice per ``WINDOW``."""


class RateLimitedError(BookingError):
    """Too many requests from one address or for one email (answered 429)."""

    code = "rate-limited"


def throttle_in(uow: UnitOfWork, kind: str, ip: str, email: str) -> None:
    """Count one request of ``kind`` from ``ip`` for ``email``; refuse past the limits.

    Raises:
        RateLimitedError: more than ``PER_ADDRESS`` requests from the address, or ``PER_EMAIL``
            links for the email in this practice, within ``WINDOW`` (unknown addresses and
            emails count the same as known ones).
    """
    now = naive_utc(uow.now())
    since = now - WINDOW
    ip_key, email_key = digest(f"ip:{ip}"), digest(f"email:{email}")
    a = portal_attempts.c
    from_ip = uow.session.execute(
        select(func.count()).select_from(portal_attempts).where(a.ip_digest == ip_key, a.at > since)
    ).scalar_one()
    for_email = uow.session.execute(
        select(func.count())
        .select_from(portal_attempts)
        .where(a.practice_id == uow.practice_id, a.email_digest == email_key, a.at > since)
    ).scalar_one()
    if from_ip >= PER_ADDRESS or for_email >= PER_EMAIL:
        raise RateLimitedError(
            "too many requests; wait a few minutes and try again",
            (Problem("rate-limited", "email", "too many requests; wait a few minutes and try again"),),
        )
    uow.session.execute(
        portal_attempts.insert().values(
            id=secrets.token_hex(16),
            practice_id=uow.practice_id,
            kind=kind,
            ip_digest=ip_key,
            email_digest=email_key,
            at=now,
        )
    )
