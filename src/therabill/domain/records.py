"""Stored practice records beyond the encounter: statuses, their allowed transitions, records.

Claims and appointments move through statuses; the allowed moves live here as data
(``CLAIM_TRANSITIONS``; appointments: ``domain/schedule.py``) and ``check_claim_transition`` refuses
anything else with a stable error code. The records are frozen snapshots of stored rows;
changes produce new records.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from therabill.domain.errors import Problem, TherabillError


class ClaimStatus(StrEnum):
    """Where a claim is in its life."""

    DRAFT = "draft"
    SCRUBBED = "scrubbed"
    READY = "ready"
    SUBMITTED = "submitted"
    BATCH_ACCEPTED = "batch_accepted"
    BATCH_REJECTED = "batch_rejected"
    CLEARINGHOUSE_ACCEPTED = "clearinghouse_accepted"
    CLEARINGHOUSE_REJECTED = "clearinghouse_rejected"
    PAYER_ACCEPTED = "payer_accepted"
    PAYER_REJECTED = "payer_rejected"
    PENDING = "pending"
    PAID = "paid"
    PARTLY_PAID = "partly_paid"
    DENIED = "denied"
    APPEALED = "appealed"
    REPLACED = "replaced"
    VOIDED = "voided"
    CROSSED_OVER = "crossed_over"
    TRANSFERRED_TO_SECONDARY = "transferred_to_secondary"


_S = ClaimStatus
_ADJUDICATED = frozenset({_S.PAID, _S.PARTLY_PAID, _S.DENIED})
_ANSWERS = _ADJUDICATED | {_S.CROSSED_OVER}
"""What a remittance may say about a claim in flight (a crossover is processed and forwarded)."""
_IN_FLIGHT = frozenset(
    {_S.PAYER_ACCEPTED, _S.PAYER_REJECTED, _S.PENDING, _S.CLEARINGHOUSE_ACCEPTED, _S.CLEARINGHOUSE_REJECTED}
)
_REWORK = frozenset({_S.SCRUBBED, _S.READY, _S.VOIDED})
_REOPEN = frozenset({_S.PENDING})
"""A payer's reversal (CLP02 = 22) reopens an adjudicated claim: it waits for reprocessing."""

_SUPERSEDED = frozenset({_S.REPLACED, _S.VOIDED})
"""A claim version gives way to a newer one (edit, correction, re-bill) or is voided."""

CLAIM_TRANSITIONS: dict[ClaimStatus, frozenset[ClaimStatus]] = {
    _S.DRAFT: frozenset({_S.SCRUBBED}) | _SUPERSEDED,
    _S.SCRUBBED: frozenset({_S.SCRUBBED, _S.READY, _S.DRAFT}) | _SUPERSEDED,
    _S.READY: frozenset({_S.SUBMITTED, _S.SCRUBBED}) | _SUPERSEDED,
    _S.SUBMITTED: frozenset({_S.BATCH_ACCEPTED, _S.BATCH_REJECTED} | _IN_FLIGHT | _ANSWERS) | _SUPERSEDED,
    _S.BATCH_ACCEPTED: _IN_FLIGHT | _ANSWERS | _SUPERSEDED,
    _S.BATCH_REJECTED: _REWORK | _SUPERSEDED,
    _S.CLEARINGHOUSE_ACCEPTED: frozenset({_S.PAYER_ACCEPTED, _S.PAYER_REJECTED, _S.PENDING})
    | _ANSWERS
    | _SUPERSEDED,
    _S.CLEARINGHOUSE_REJECTED: _REWORK | _SUPERSEDED,
    _S.PAYER_ACCEPTED: frozenset({_S.PENDING}) | _ANSWERS | _SUPERSEDED,
    _S.PAYER_REJECTED: _REWORK | _SUPERSEDED,
    _S.PENDING: frozenset({_S.PENDING}) | _ANSWERS | _SUPERSEDED,
    _S.PAID: frozenset({_S.REPLACED, _S.VOIDED, _S.CROSSED_OVER, _S.TRANSFERRED_TO_SECONDARY, _S.APPEALED})
    | _REOPEN,
    _S.PARTLY_PAID: frozenset(
        {_S.PAID, _S.APPEALED, _S.REPLACED, _S.VOIDED, _S.CROSSED_OVER, _S.TRANSFERRED_TO_SECONDARY}
    )
    | _REOPEN,
    _S.DENIED: frozenset(
        {_S.PAID, _S.PARTLY_PAID, _S.APPEALED, _S.REPLACED, _S.VOIDED, _S.TRANSFERRED_TO_SECONDARY}
    )
    | _REOPEN,
    _S.APPEALED: frozenset({_S.PENDING}) | _ANSWERS | _SUPERSEDED,
    _S.REPLACED: frozenset(),
    _S.VOIDED: frozenset(),
    _S.CROSSED_OVER: _ADJUDICATED | _REOPEN | _SUPERSEDED,
    _S.TRANSFERRED_TO_SECONDARY: _ADJUDICATED,
}
"""For each claim status, the statuses it may move to."""


class TransitionError(TherabillError):
    """A status change that the life cycle does not allow."""

    code = "status-transition-invalid"


def check_claim_transition(current: str, new: str) -> ClaimStatus:
    """The new claim status, or ``TransitionError`` when ``current`` cannot move to it."""
    try:
        cur, nxt = ClaimStatus(current), ClaimStatus(new)
    except ValueError:
        raise TransitionError(
            f"unknown claim status {new!r}",
            (Problem("claim-status-unknown", "status", f"{new!r} is not a claim status"),),
        ) from None
    if nxt not in CLAIM_TRANSITIONS[cur]:
        raise TransitionError(
            f"a {cur.value} claim cannot become {nxt.value}",
            (Problem("claim-status-transition", "status", f"{cur.value} -> {nxt.value} is not allowed"),),
        )
    return nxt


@dataclass(frozen=True, slots=True)
class PatientRecord:
    """A stored patient of one practice.

    Attributes:
        id: opaque internal id (never shown to payers, safe in URLs).
        practice_id: the practice the patient belongs to.
        chart_number: the practice's chart number (data, never a key).
        first_name: first name.
        last_name: last name.
        birth_date: date of birth.
        sex: ``F``, ``M`` or ``U``.
        middle_name: middle name.
        address_json: the address as a JSON object text, if any.
        phone: phone number, digits.
        email: e-mail address.
    """

    id: str
    practice_id: str
    chart_number: str
    first_name: str
    last_name: str
    birth_date: date | None
    sex: str | None
    middle_name: str | None = None
    address_json: str | None = None
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class ClaimSummary:
    """One claim as lists show it.

    Attributes:
        id: opaque internal id.
        claim_number: CLM01.
        patient_id: the patient's internal id.
        payer_id: the payer's internal id, if billed to insurance.
        status: current status.
        total_charge_cents: total charge in cents.
        date_of_service: the visit date.
        updated_at: when the status last changed.
    """

    id: str
    claim_number: str
    patient_id: str
    payer_id: str | None
    status: str
    total_charge_cents: int
    date_of_service: date
    updated_at: datetime


RUNNING_OUT_VISITS = 2
RUNNING_OUT_UNITS = 10
RUNNING_OUT_DAYS = 7


def authorization_running_out(
    *,
    day: date,
    end_date: date | None,
    visits_allowed: int | None,
    visits_used: int,
    units_allowed: int | None,
    units_used: int,
) -> bool:
    """Whether an authorization still in force on ``day`` is about to run out: at most
    ``RUNNING_OUT_VISITS`` visits or ``RUNNING_OUT_UNITS`` units left, or it ends within
    ``RUNNING_OUT_DAYS`` days (the one definition the dashboard and reports use)."""
    if end_date is not None and end_date < day:
        return False
    return (
        (visits_allowed is not None and visits_allowed - visits_used <= RUNNING_OUT_VISITS)
        or (units_allowed is not None and units_allowed - units_used <= RUNNING_OUT_UNITS)
        or (end_date is not None and end_date <= day + timedelta(days=RUNNING_OUT_DAYS))
    )


_STATE_CODE = re.compile(r"^[A-Z]{2}$")
_ZIP_CODE = re.compile(r"^\d{5}(\d{4})?$")


def address_problems(address: Mapping[str, Any] | None, loc: str = "address") -> list[Problem]:
    """What is wrong with a postal address (empty when none is given or it is complete)."""
    if not address:
        return []
    out = []
    if not str(address.get("line1") or "").strip():
        out.append(Problem("address-line1-missing", f"{loc}.line1", "give the street address"))
    if not str(address.get("city") or "").strip():
        out.append(Problem("address-city-missing", f"{loc}.city", "give the city"))
    if not _STATE_CODE.match(str(address.get("state") or "")):
        out.append(Problem("address-state-invalid", f"{loc}.state", "must be a two-letter state code"))
    if not _ZIP_CODE.match(str(address.get("zip") or "")):
        out.append(Problem("address-zip-invalid", f"{loc}.zip", "must be 5 or 9 digits"))
    return out


def _positive(value: Any) -> bool:
    return isinstance(value, int | Decimal) and not isinstance(value, bool) and value > 0


def has_treatment(document: Mapping[str, Any] | None) -> bool:
    """True when the visit document bills something: a service with minutes or units above
    zero (a visit whose services all have none is documented but has nothing to claim)."""
    services = (document or {}).get("services") or []
    if not isinstance(services, list):
        return False
    return any(
        isinstance(s, Mapping) and (_positive(s.get("minutes")) or _positive(s.get("units")))
        for s in services
    )
