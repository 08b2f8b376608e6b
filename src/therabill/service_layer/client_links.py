"""Emailed client links: expiring, single-use, bound to one practice, purpose and client.

A link carries a random 256-bit token; only its SHA-256 digest is stored
(``portal_links``), with the practice, the purpose (``login``: the client portal;
``booking``: confirm a booking made on the public page), the client or the booking request
it opens, when it expires and when it was used. A token that was changed in any character
matches no digest; an expired one or one used before is refused; using it is one
conditional ``UPDATE ... WHERE used_at IS NULL``, so two clicks at once redeem it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import Engine, select, update

from therabill.adapters.db.portal_tables import portal_links
from therabill.clock import current_time, naive_utc
from therabill.domain.booking import BookingError, refuse
from therabill.security.tokens import digest, new_token
from therabill.service_layer.uow import UnitOfWork

__all__ = ["Grant", "LinkPurpose", "issue_in", "redeem"]


class LinkPurpose(StrEnum):
    """What a link opens."""

    LOGIN = "login"
    BOOKING = "booking"


LIFETIME = {LinkPurpose.LOGIN: timedelta(minutes=30), LinkPurpose.BOOKING: timedelta(hours=2)}
"""How long a link of each purpose works after it is sent."""

_TOKEN_MAX = 100


@dataclass(frozen=True, slots=True)
class Grant:
    """What a redeemed link opens.

    Attributes:
        practice_id: the practice.
        purpose: the link's purpose.
        patient_id: the client (log-in links).
        request_id: the booking request (booking links).
    """

    practice_id: str
    purpose: LinkPurpose
    patient_id: str | None
    request_id: str | None


def issue_in(
    uow: UnitOfWork,
    purpose: LinkPurpose,
    *,
    patient_id: str | None = None,
    request_id: str | None = None,
) -> str:
    """Inside a unit of work: a new link token (only its digest is stored)."""
    token = new_token()
    now = naive_utc(uow.now())
    uow.records.insert(
        portal_links,
        digest=digest(token),
        purpose=purpose.value,
        patient_id=patient_id,
        request_id=request_id,
        expires_at=now + LIFETIME[purpose],
        used_at=None,
        created_at=now,
    )
    return token


def _invalid() -> BookingError:
    return refuse("link-invalid", "token", "this link is not valid; ask for a new one")


def redeem(engine: Engine, token: str, purpose: LinkPurpose) -> Grant:
    """Use a link once.

    Raises:
        BookingError: ``link-invalid`` (unknown or altered), ``link-expired`` or ``link-used``.
    """
    if not token or len(token) > _TOKEN_MAX:
        raise _invalid()
    hashed = digest(token)
    with engine.connect() as conn:
        row = conn.execute(
            select(portal_links).where(
                portal_links.c.digest == hashed, portal_links.c.purpose == purpose.value
            )
        ).first()
    if row is None:
        raise _invalid()
    actor = f"client:{row.patient_id}" if row.patient_id else "public:booking"
    with UnitOfWork(engine, row.practice_id, actor) as uow:
        now = naive_utc(current_time())
        if row.used_at is not None:
            raise refuse("link-used", "token", "this link was used already; ask for a new one")
        if row.expires_at <= now:
            raise refuse("link-expired", "token", "this link has expired; ask for a new one")
        done = uow.session.execute(
            update(portal_links)
            .where(portal_links.c.id == row.id, portal_links.c.used_at.is_(None))
            .values(used_at=now)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise refuse("link-used", "token", "this link was used already; ask for a new one")
        uow.record("portal.link.use", "portal_link", row.id, {"purpose": purpose.value})
    return Grant(row.practice_id, purpose, row.patient_id, row.request_id)
