"""Emailed client links: the booking page's and the portal's use of ``links``.

The tokens are ``service_layer.links`` tokens (signed with the practice's key, expiring,
single-use, ids only): ``portal-login`` opens the client portal for a client,
``booking-confirm`` confirms a booking request made on the public page. This module names
those two purposes, their lifetimes, and speaks the booking page's errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import Engine

from therabill.domain.booking import BookingError, refuse
from therabill.service_layer import links
from therabill.service_layer.uow import UnitOfWork

__all__ = ["Grant", "LinkPurpose", "issue_in", "redeem"]


class LinkPurpose(StrEnum):
    """What a link opens (the signed purpose of its token)."""

    LOGIN = "portal-login"
    BOOKING = "booking-confirm"


LIFETIME = {LinkPurpose.LOGIN: timedelta(minutes=30), LinkPurpose.BOOKING: timedelta(hours=2)}
"""How long a link of each purpose works after it is sent."""

_TOKEN_MAX = 200

_MESSAGES = {
    "link-invalid": "this link is not valid; ask for a new one",
    "link-expired": "this link has expired; ask for a new one",
    "link-used": "this link was used already; ask for a new one",
}


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
    """Inside a unit of work: a new link token for the client or the booking request."""
    subject = patient_id if purpose is LinkPurpose.LOGIN else request_id
    if not subject:
        raise ValueError(
            f"a {purpose} link names its {'client' if purpose is LinkPurpose.LOGIN else 'request'}"
        )
    return links.issue_link_in(uow, purpose.value, subject, expires=LIFETIME[purpose])


def redeem(engine: Engine, token: str, purpose: LinkPurpose) -> Grant:
    """Use a link once.

    Raises:
        BookingError: ``link-invalid`` (unknown, altered, another purpose), ``link-expired``
            or ``link-used``.
    """
    if not token or len(token) > _TOKEN_MAX:
        raise refuse("link-invalid", "token", _MESSAGES["link-invalid"])
    try:
        link = links.redeem_link(engine, token, purpose.value)
    except links.LinkError as exc:
        code = exc.problems[0].code if exc.problems else "link-invalid"
        raise refuse(code, "token", _MESSAGES.get(code, _MESSAGES["link-invalid"])) from None
    except (ValueError, BookingError):
        raise refuse("link-invalid", "token", _MESSAGES["link-invalid"]) from None
    if purpose is LinkPurpose.LOGIN:
        return Grant(link.practice_id, purpose, link.subject_id, None)
    return Grant(link.practice_id, purpose, None, link.subject_id)
