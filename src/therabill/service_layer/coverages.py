"""Coverages of patients, their authorizations and eligibility checks, as callers read them.

Every function takes the caller's principal and stays within its practice: an id of another
practice is not found, exactly like a missing one. Patients are named by internal id or
chart number.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine, Row

from therabill.adapters.db.tables import authorizations, coverages, eligibility_checks, payers
from therabill.adapters.x12.x271_005010X279A1 import read_271
from therabill.clock import current_date
from therabill.domain.errors import NotFoundError, Problem
from therabill.service_layer.accounts import Principal
from therabill.service_layer.errors import RecordsError, refuse
from therabill.service_layer.patients import address_problems, patient_in
from therabill.service_layer.records import (
    CoverageInput,
    add_authorization,
    add_coverage,
    record_eligibility_check,
)
from therabill.service_layer.uow import UnitOfWork, one_transaction

__all__ = [
    "CoverageChange",
    "CoverageView",
    "Remaining",
    "add_coverage_authorization",
    "add_patient_coverage",
    "authorization_remaining",
    "coverage_view",
    "end_coverage",
    "extend_authorization",
    "replace_coverage",
    "subscriber_problems",
    "update_coverage",
    "authorization_record",
    "authorizations_of_coverage",
    "coverage_record",
    "coverages_of_patient",
    "eligibility_check_record",
    "eligibility_from_271",
    "eligibility_checks_of",
]


def _actor(principal: Principal) -> str:
    return f"user:{principal.user_id}"


def _reader(engine: Engine, principal: Principal) -> UnitOfWork:
    return UnitOfWork(engine, principal.practice_id, _actor(principal), read_only=True)


def coverages_of_patient(
    engine: Engine, principal: Principal, patient_key: str
) -> tuple[Row[Any], list[CoverageView]]:
    """The patient (by id or chart number) and their coverages with payer names, primary first.

    Raises:
        NotFoundError: no such patient in the caller's practice.
    """
    with _reader(engine, principal) as uow:
        patient = patient_in(uow, patient_key)
        names = {p.id: p.name for p in uow.records.rows(payers)}
        return patient, [
            CoverageView(c, names.get(c.payer_id, "")) for c in uow.records.coverages_of(patient.id)
        ]


def coverage_record(engine: Engine, principal: Principal, coverage_id: str) -> Row[Any]:
    """One coverage.

    Raises:
        NotFoundError: no such coverage in the caller's practice.
    """
    with _reader(engine, principal) as uow:
        return uow.records.get(coverages, coverage_id)


def authorizations_of_coverage(engine: Engine, principal: Principal, coverage_id: str) -> list[Row[Any]]:
    """A coverage's authorizations.

    Raises:
        NotFoundError: no such coverage in the caller's practice.
    """
    with _reader(engine, principal) as uow:
        uow.records.get(coverages, coverage_id)
        return list(uow.records.authorizations_of(coverage_id))


def authorization_record(engine: Engine, principal: Principal, authorization_id: str) -> Row[Any]:
    """One authorization with its used visits and units.

    Raises:
        NotFoundError: no such authorization in the caller's practice.
    """
    with _reader(engine, principal) as uow:
        return uow.records.get(authorizations, authorization_id)


def eligibility_checks_of(engine: Engine, principal: Principal, coverage_id: str) -> list[Row[Any]]:
    """A coverage's eligibility checks, newest first.

    Raises:
        NotFoundError: no such coverage in the caller's practice.
    """
    with _reader(engine, principal) as uow:
        uow.records.get(coverages, coverage_id)
        return uow.records.rows(
            eligibility_checks,
            eligibility_checks.c.coverage_id == coverage_id,
            order_by=[eligibility_checks.c.checked_at.desc()],
        )


def eligibility_check_record(engine: Engine, principal: Principal, check_id: str) -> Row[Any]:
    """One stored eligibility check.

    Raises:
        NotFoundError: no such check in the caller's practice.
    """
    with _reader(engine, principal) as uow:
        return uow.records.get(eligibility_checks, check_id)


def eligibility_from_271(
    engine: Engine, principal: Principal, coverage_id: str, data: bytes, service_date: date
) -> str:
    """Read a 271 answer and store its first answer as an eligibility check of the coverage.

    Raises:
        NotFoundError: no such coverage in the caller's practice.
        RecordsError: the 271 holds no answer (``eligibility-empty``).
    """
    coverage_record(engine, principal, coverage_id)
    answers = list(read_271(data.decode("latin-1")))
    if not answers:
        raise RecordsError(
            "the 271 holds no answer", (Problem("eligibility-empty", "body", "the 271 holds no answer"),)
        )
    summary = asdict(answers[0])
    summary["therapy_amounts_applied"] = [
        {"service_type": t, "amount": a} for t, a in answers[0].therapy_amounts_applied
    ]
    return record_eligibility_check(
        engine,
        principal.practice_id,
        _actor(principal),
        coverage_id=coverage_id,
        service_date=service_date,
        active=answers[0].active,
        source="271",
        result=json.loads(json.dumps(summary, default=str)),
    )


# --- coverages as the front desk sees and changes them -----------------------------------

SEQUENCES = ("primary", "secondary", "tertiary")
RELATIONSHIPS = ("self", "spouse", "child", "employee", "other")
COVERAGE_FIELDS = (
    "sequence",
    "member_id",
    "group_number",
    "plan_name",
    "relationship",
    "subscriber",
    "active_from",
    "active_to",
)


@dataclass(frozen=True, slots=True)
class CoverageView:
    """A coverage with its payer's name (what a person reads)."""

    row: Row[Any]
    payer_name: str


@dataclass(frozen=True, slots=True)
class Remaining:
    """What an authorization has left (``None``: no limit)."""

    visits: int | None
    units: int | None


def authorization_remaining(row: Any) -> Remaining:
    """Visits and units an authorization has left (never below zero)."""

    def left(allowed: int | None, used: int) -> int | None:
        return None if allowed is None else max(allowed - used, 0)

    return Remaining(left(row.visits_allowed, row.visits_used), left(row.units_allowed, row.units_used))


@dataclass(frozen=True, slots=True)
class CoverageChange:
    """A coverage to add, or what replaces one.

    Attributes:
        payer_id: the payer's internal id or its electronic payer id.
        subscriber: the insured (first_name, last_name, birth_date, sex, address) when the
            patient is not the insured; required unless ``relationship`` is ``self``.
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


def _payer_in(uow: UnitOfWork, key: str) -> Row[Any]:
    row = uow.records.find(payers, key)
    if row is None:
        found = uow.records.rows(payers, payers.c.payer_id == key)
        row = found[0] if len(found) == 1 else None
    if row is None:
        raise NotFoundError("no such payer", (Problem("payer-not-found", "payer_id", "no such payer"),))
    return row


def subscriber_problems(
    relationship: str, subscriber: Mapping[str, Any] | None, today: date
) -> list[Problem]:
    """What is wrong with a coverage's subscriber (needed unless the patient is the insured)."""
    out = []
    if relationship not in RELATIONSHIPS:
        out.append(
            Problem(
                "coverage-relationship-invalid", "relationship", f"must be one of {', '.join(RELATIONSHIPS)}"
            )
        )
    if relationship == "self":
        return out
    if not subscriber or not str(subscriber.get("last_name") or "").strip():
        out.append(
            Problem("coverage-subscriber-missing", "subscriber.last_name", "give the insured person's name")
        )
        return out
    if not str(subscriber.get("first_name") or "").strip():
        out.append(
            Problem(
                "coverage-subscriber-missing", "subscriber.first_name", "give the insured person's first name"
            )
        )
    born = subscriber.get("birth_date")
    if born:
        try:
            day = date.fromisoformat(str(born))
        except ValueError:
            out.append(
                Problem(
                    "coverage-subscriber-birth-date", "subscriber.birth_date", "must be a date (YYYY-MM-DD)"
                )
            )
        else:
            if day > today:
                out.append(
                    Problem(
                        "coverage-subscriber-birth-date", "subscriber.birth_date", "must not be in the future"
                    )
                )
    if subscriber.get("sex") not in (None, "", "F", "M", "U"):
        out.append(Problem("coverage-subscriber-sex", "subscriber.sex", "must be F, M or U"))
    out.extend(address_problems(subscriber.get("address"), "subscriber.address"))
    return out


def _coverage_problems(values: Mapping[str, Any], today: date) -> list[Problem]:
    out = []
    if "sequence" in values and values["sequence"] not in SEQUENCES:
        out.append(Problem("coverage-sequence-invalid", "sequence", "must be primary, secondary or tertiary"))
    if "relationship" in values or "subscriber" in values:
        out.extend(subscriber_problems(values.get("relationship", "self"), values.get("subscriber"), today))
    start, end = values.get("active_from"), values.get("active_to")
    if start and end and end < start:
        out.append(Problem("coverage-dates-reversed", "active_to", "must not be before active_from"))
    return out


def _clean_subscriber(relationship: str, subscriber: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if relationship == "self" or not subscriber:
        return None
    out = {k: v for k, v in subscriber.items() if v not in (None, "")}
    out["entity_type"] = "person"
    return out


def _sequence_taken(
    uow: UnitOfWork, patient_id: str, sequence: str, on: date, but: str | None = None
) -> bool:
    for cov in uow.records.coverages_of(patient_id):
        if cov.id != but and cov.sequence == sequence and (cov.active_to is None or cov.active_to >= on):
            return True
    return False


def add_patient_coverage(engine: Engine, principal: Principal, patient_key: str, cov: CoverageChange) -> str:
    """Add a coverage to a patient (by id or chart number), with its subscriber.

    Refused (each problem with its field): an order (primary...) an active coverage already
    has, a subscriber missing when the patient is not the insured, reversed dates.
    """
    values = {k: getattr(cov, k) for k in COVERAGE_FIELDS}
    problems = _coverage_problems(values, current_date())
    if problems:
        raise RecordsError("the coverage was not added", tuple(problems))
    with UnitOfWork(engine, principal.practice_id, _actor(principal), read_only=True) as uow:
        patient = patient_in(uow, patient_key)
        payer = _payer_in(uow, cov.payer_id)
        if _sequence_taken(uow, patient.id, cov.sequence, cov.active_from or current_date()):
            raise refuse(
                "coverage-sequence-taken",
                "sequence",
                f"the patient already has an active {cov.sequence} coverage: end or replace it first",
            )
    return add_coverage(
        engine,
        principal.practice_id,
        _actor(principal),
        patient.id,
        CoverageInput(
            payer_id=payer.id,
            sequence=cov.sequence,
            member_id=cov.member_id,
            group_number=cov.group_number,
            plan_name=cov.plan_name,
            relationship=cov.relationship,
            subscriber=_clean_subscriber(cov.relationship, cov.subscriber),
            active_from=cov.active_from,
            active_to=cov.active_to,
        ),
    )


def coverage_view(engine: Engine, principal: Principal, coverage_id: str) -> CoverageView:
    """One coverage with its payer's name.

    Raises:
        NotFoundError: no such coverage in the caller's practice.
    """
    with _reader(engine, principal) as uow:
        row = uow.records.get(coverages, coverage_id)
        return CoverageView(row, uow.records.get(payers, row.payer_id).name)


def update_coverage(
    engine: Engine, principal: Principal, coverage_id: str, changes: Mapping[str, Any]
) -> list[str]:
    """Change a coverage's fields; returns the names of those that changed (audited by name).

    Raises:
        NotFoundError: no such coverage.
        RecordsError: a change is not valid; nothing is written.
    """
    unknown = sorted(set(changes) - set(COVERAGE_FIELDS))
    if unknown:
        raise refuse("coverage-field-unknown", unknown[0], "is not a coverage field")
    with UnitOfWork(engine, principal.practice_id, _actor(principal)) as uow:
        old = uow.records.get(coverages, coverage_id)
        merged = {k: getattr(old, k) for k in COVERAGE_FIELDS} | dict(changes)
        if "subscriber" not in changes and merged["relationship"] == "self":
            merged["subscriber"] = None
        problems = _coverage_problems(merged, uow.now().date())
        if problems:
            raise RecordsError("the coverage was not changed", tuple(problems))
        if "sequence" in changes and _sequence_taken(
            uow, old.patient_id, merged["sequence"], uow.now().date(), but=coverage_id
        ):
            raise refuse(
                "coverage-sequence-taken", "sequence", f"another active coverage is {merged['sequence']}"
            )
        merged["subscriber"] = _clean_subscriber(merged["relationship"], merged["subscriber"])
        changed = sorted(k for k in COVERAGE_FIELDS if getattr(old, k) != merged[k])
        if changed:
            uow.records.update(coverages, coverage_id, **{k: merged[k] for k in changed})
            uow.record("coverage.update", "coverage", coverage_id, {"fields": changed})
    return changed


def end_coverage(engine: Engine, principal: Principal, coverage_id: str, last_day: date) -> None:
    """End a coverage on ``last_day`` (it stays on file for the claims made under it).

    Raises:
        NotFoundError: no such coverage.
        RecordsError: the last day is before the coverage began.
    """
    with UnitOfWork(engine, principal.practice_id, _actor(principal)) as uow:
        old = uow.records.get(coverages, coverage_id)
        if old.active_from and last_day < old.active_from:
            raise refuse("coverage-dates-reversed", "active_to", "must not be before the coverage began")
        uow.records.update(coverages, coverage_id, active_to=last_day)
        uow.record("coverage.end", "coverage", coverage_id, {"active_to": last_day.isoformat()})


def replace_coverage(engine: Engine, principal: Principal, coverage_id: str, new: CoverageChange) -> str:
    """Replace a coverage with a new one (a new card): the old one ends the day before the new
    one starts (today when no start is given), the new one takes its order. One transaction.

    Returns:
        the new coverage's id.
    """
    starts = new.active_from or current_date()
    values = {k: getattr(new, k) for k in COVERAGE_FIELDS} | {"active_from": starts}
    problems = _coverage_problems(values, current_date())
    if problems:
        raise RecordsError("the coverage was not replaced", tuple(problems))
    with one_transaction(engine):
        with UnitOfWork(engine, principal.practice_id, _actor(principal)) as uow:
            old = uow.records.get(coverages, coverage_id)
            payer = _payer_in(uow, new.payer_id)
            last_day = starts - timedelta(days=1)
            if old.active_from and last_day < old.active_from:
                raise refuse("coverage-dates-reversed", "active_from", "must be after the old coverage began")
            uow.records.update(coverages, coverage_id, active_to=last_day)
            uow.record(
                "coverage.end", "coverage", coverage_id, {"active_to": last_day.isoformat(), "replaced": True}
            )
            patient_id = old.patient_id
        return add_coverage(
            engine,
            principal.practice_id,
            _actor(principal),
            patient_id,
            CoverageInput(
                payer_id=payer.id,
                sequence=new.sequence,
                member_id=new.member_id,
                group_number=new.group_number,
                plan_name=new.plan_name,
                relationship=new.relationship,
                subscriber=_clean_subscriber(new.relationship, new.subscriber),
                active_from=starts,
                active_to=new.active_to,
            ),
        )


def add_coverage_authorization(
    engine: Engine,
    principal: Principal,
    coverage_id: str,
    *,
    number: str,
    start_date: date | None,
    end_date: date | None,
    codes: Sequence[str] = (),
    units_pooled: bool = True,
    visits_allowed: int | None = None,
    units_allowed: int | None = None,
) -> str:
    """Record a prior authorization on a coverage (the records use case, for the caller)."""
    return add_authorization(
        engine,
        principal.practice_id,
        _actor(principal),
        coverage_id=coverage_id,
        number=number,
        start_date=start_date,
        end_date=end_date,
        codes=codes,
        units_pooled=units_pooled,
        visits_allowed=visits_allowed,
        units_allowed=units_allowed,
    )


def extend_authorization(
    engine: Engine,
    principal: Principal,
    authorization_id: str,
    *,
    end_date: date | None = None,
    add_visits: int = 0,
    add_units: int = 0,
) -> None:
    """Grant more visits or units, or a later end date, on an authorization (audited with
    what was granted). Used counts are never touched.

    Raises:
        NotFoundError: no such authorization.
        RecordsError: nothing to extend, an end date earlier than the current one, more
            visits or units on an authorization that has no such limit.
    """
    if add_visits < 0 or add_units < 0:
        raise refuse("authorization-extend-negative", "add_visits", "must not be negative")
    with UnitOfWork(engine, principal.practice_id, _actor(principal)) as uow:
        old = uow.records.get(authorizations, authorization_id)
        values: dict[str, Any] = {}
        if end_date is not None:
            if old.end_date is not None and end_date < old.end_date:
                raise refuse(
                    "authorization-extend-earlier", "end_date", "must not be before the current end date"
                )
            if old.start_date is not None and end_date < old.start_date:
                raise refuse("authorization-dates-reversed", "end_date", "must not be before start_date")
            values["end_date"] = end_date
        if add_visits:
            if old.visits_allowed is None:
                raise refuse(
                    "authorization-no-visit-limit", "add_visits", "this authorization has no visit limit"
                )
            values["visits_allowed"] = old.visits_allowed + add_visits
        if add_units:
            if old.units_allowed is None:
                raise refuse(
                    "authorization-no-unit-limit", "add_units", "this authorization has no unit limit"
                )
            values["units_allowed"] = old.units_allowed + add_units
        if not values:
            raise refuse("authorization-extend-empty", "end_date", "give a later end date, visits or units")
        uow.records.update(authorizations, authorization_id, **values)
        uow.record(
            "authorization.extend",
            "authorization",
            authorization_id,
            {
                "end_date": end_date.isoformat() if end_date else None,
                "visits": add_visits,
                "units": add_units,
            },
        )
