"""Coverages, authorizations and eligibility checks of a patient.

An authorization's used counts grow when a claim is coded (``use_authorization_in``) and
shrink when it is voided (``release_authorization_in``), each with an event in its history.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine

from therabill.adapters.db.tables import (
    authorization_events,
    authorizations,
    coverages,
    eligibility_checks,
    patients,
    payers,
)
from therabill.clock import Clock, current_time
from therabill.domain.claim import Claim
from therabill.service_layer.encounters import (
    _active_on,
)
from therabill.service_layer.errors import refuse
from therabill.service_layer.uow import UnitOfWork

_PROCEDURE_CODE = re.compile(r"[A-Z0-9]{5}")


@dataclass(frozen=True, slots=True)
class CoverageInput:
    """A coverage to register.

    Attributes:
        payer_id: the payer's internal id.
        sequence: ``primary``, ``secondary`` or ``tertiary``.
        member_id: the id on the card.
        group_number: group number.
        plan_name: plan name.
        relationship: patient's relationship to the subscriber.
        subscriber: the subscriber as an encounter-document ``subscriber`` object.
        active_from: first active date.
        active_to: last active date.
        details: further encounter-document coverage fields (``therapy_amounts_used``...).
    """

    payer_id: str
    sequence: str = "primary"
    member_id: str | None = None
    group_number: str | None = None
    plan_name: str | None = None
    relationship: str = "self"
    subscriber: Mapping[str, Any] | None = None
    active_from: date | None = None
    active_to: date | None = None
    details: Mapping[str, Any] | None = None


def insert_coverage_in(uow: UnitOfWork, patient_id: str, cov: CoverageInput) -> str:
    uow.records.get(payers, cov.payer_id)
    if cov.sequence not in ("primary", "secondary", "tertiary"):
        raise refuse("coverage-sequence-invalid", "sequence", f"{cov.sequence!r} is not a coverage sequence")
    return uow.records.insert(
        coverages,
        patient_id=patient_id,
        payer_id=cov.payer_id,
        sequence=cov.sequence,
        member_id=cov.member_id,
        group_number=cov.group_number,
        plan_name=cov.plan_name,
        relationship=cov.relationship,
        subscriber=dict(cov.subscriber) if cov.subscriber else None,
        active_from=cov.active_from,
        active_to=cov.active_to,
        details=dict(cov.details) if cov.details else None,
        created_at=uow.now(),
    )


def add_coverage(engine: Engine, practice_id: str, actor: str, patient_id: str, cov: CoverageInput) -> str:
    """Add a coverage to a patient."""
    with UnitOfWork(engine, practice_id, actor) as uow:
        uow.records.get(patients, patient_id)
        new = insert_coverage_in(uow, patient_id, cov)
        uow.record("coverage.add", "coverage", new, {"sequence": cov.sequence})
    return new


def add_authorization(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    coverage_id: str,
    number: str,
    start_date: date | None,
    end_date: date | None,
    codes: Sequence[str] = (),
    units_pooled: bool = True,
    visits_allowed: int | None = None,
    units_allowed: int | None = None,
    clock: Clock = current_time,
) -> str:
    """Record a prior authorization on a coverage (used counts start at zero).

    Validated before anything is stored: a non-blank number, every procedure code a CPT/HCPCS
    code (five letters or digits; an empty code would block every claim of the coverage),
    no code twice, and a start no later than the end.
    """
    number = number.strip()
    if not number:
        raise refuse("authorization-number-missing", "number", "give the authorization number")
    clean: list[str] = []
    for i, raw in enumerate(codes):
        code = str(raw).strip().upper()
        if not _PROCEDURE_CODE.fullmatch(code):
            raise refuse(
                "authorization-code-invalid",
                f"codes[{i}]",
                "must be a CPT/HCPCS procedure code of five letters or digits, such as 97124",
            )
        if code in clean:
            raise refuse("authorization-code-duplicate", f"codes[{i}]", f"{code} is listed twice")
        clean.append(code)
    if start_date is not None and end_date is not None and end_date < start_date:
        raise refuse("authorization-dates-reversed", "end_date", "must not be before start_date")
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        uow.records.get(coverages, coverage_id)
        new = uow.records.insert(
            authorizations,
            coverage_id=coverage_id,
            number=number,
            start_date=start_date,
            end_date=end_date,
            codes=clean,
            units_pooled=units_pooled,
            visits_allowed=visits_allowed,
            units_allowed=units_allowed,
            visits_used=0,
            units_used=0,
            created_at=uow.now(),
        )
        uow.record("authorization.add", "authorization", new)
    return new


def record_eligibility_check(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    coverage_id: str,
    service_date: date | None,
    active: bool | None,
    source: str,
    result: Mapping[str, Any] | None = None,
    clock: Clock = current_time,
) -> str:
    """Store an eligibility check (a 271 response or a phone call) and stamp the coverage."""
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        uow.records.get(coverages, coverage_id)
        new = uow.records.insert(
            eligibility_checks,
            coverage_id=coverage_id,
            checked_at=uow.now(),
            service_date=service_date,
            active=active,
            source=source,
            result=dict(result) if result else None,
        )
        if active:
            uow.records.update(coverages, coverage_id, eligibility_verified_on=uow.now().date())
        uow.record("eligibility.record", "coverage", coverage_id, {"active": active, "source": source})
    return new


def authorization_status(
    engine: Engine, practice_id: str, actor: str, authorization_id: str
) -> dict[str, Any]:
    """An authorization's allowed and used counts with its history of use and release."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        auth = uow.records.get(authorizations, authorization_id)
        events = uow.records.rows(
            authorization_events,
            authorization_events.c.authorization_id == authorization_id,
            order_by=[authorization_events.c.at],
        )
        return {
            "number": auth.number,
            "visits_allowed": auth.visits_allowed,
            "visits_used": auth.visits_used,
            "units_allowed": auth.units_allowed,
            "units_used": auth.units_used,
            "history": [
                {"kind": e.kind, "claim_id": e.claim_id, "visits": e.visits, "units": e.units, "at": e.at}
                for e in events
            ],
        }


def use_authorization_in(uow: UnitOfWork, claim_id: str, coverage_id: str | None, claim: Claim) -> None:
    if (
        coverage_id is None
        or claim.encounter.coverage is None
        or claim.encounter.coverage.authorization is None
    ):
        return
    number = claim.encounter.coverage.authorization.number
    dos = claim.encounter.date_of_service
    for auth in uow.records.authorizations_of(coverage_id):
        if auth.number != number or not _active_on(auth, dos, "start_date", "end_date"):
            continue
        codes = set(auth.codes)
        units = sum(line.units for line in claim.lines if not codes or line.code in codes)
        locked = uow.records.get(authorizations, auth.id, for_update=True)
        uow.records.update(
            authorizations, auth.id, visits_used=locked.visits_used + 1, units_used=locked.units_used + units
        )
        uow.records.insert(
            authorization_events,
            authorization_id=auth.id,
            claim_id=claim_id,
            kind="use",
            visits=1,
            units=units,
            at=uow.now(),
            actor=uow.actor,
        )
        return


def release_authorization_in(uow: UnitOfWork, claim_id: str) -> None:
    events = uow.records.rows(authorization_events, authorization_events.c.claim_id == claim_id)
    net: dict[str, list[int]] = {}
    for ev in events:
        sign = 1 if ev.kind == "use" else -1
        acc = net.setdefault(ev.authorization_id, [0, 0])
        acc[0] += sign * ev.visits
        acc[1] += sign * ev.units
    for auth_id, (n_visits, n_units) in net.items():
        if n_visits <= 0 and n_units <= 0:
            continue
        locked = uow.records.get(authorizations, auth_id, for_update=True)
        uow.records.update(
            authorizations,
            auth_id,
            visits_used=locked.visits_used - n_visits,
            units_used=locked.units_used - n_units,
        )
        uow.records.insert(
            authorization_events,
            authorization_id=auth_id,
            claim_id=claim_id,
            kind="release",
            visits=n_visits,
            units=n_units,
            at=uow.now(),
            actor=uow.actor,
        )
