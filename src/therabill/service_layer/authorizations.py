"""Authorizations as the front desk reads and changes them: what each has used and has left
(the burn-down), new authorizations and extensions (more visits or units, a later end).

Used counts move only when claims are coded or voided (``coverages.use_authorization_in``,
``release_authorization_in``); an extension never touches them. Every change is audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine, Row

from therabill.adapters.db.tables import authorizations, coverages, payers
from therabill.service_layer.accounts import Principal, actor_of
from therabill.service_layer.coverages import CoverageView, add_authorization
from therabill.service_layer.errors import refuse
from therabill.service_layer.lookup import authorization_in, patient_in
from therabill.service_layer.uow import UnitOfWork

__all__ = [
    "Remaining",
    "add_coverage_authorization",
    "authorization_record",
    "authorization_remaining",
    "authorizations_of_coverage",
    "extend_authorization",
    "find_authorization",
    "patient_authorizations",
]


def _actor(principal: Principal) -> str:
    return actor_of(principal)


def _reader(engine: Engine, principal: Principal) -> UnitOfWork:
    return UnitOfWork(engine, principal.practice_id, _actor(principal), read_only=True)


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


def find_authorization(
    engine: Engine, principal: Principal, key: str, patient_key: str | None = None
) -> Row[Any]:
    """An authorization by internal id or by its number; with ``patient_key`` (id or chart
    number) only that patient's.

    Raises:
        NotFoundError: no such authorization (or patient).
        RecordsError: the number is on file for more than one patient and none was named.
    """
    with _reader(engine, principal) as uow:
        patient_id = patient_in(uow, patient_key).id if patient_key else None
        return authorization_in(uow, key, patient_id)


def patient_authorizations(
    engine: Engine, principal: Principal, patient_key: str
) -> tuple[Row[Any], list[tuple[CoverageView, Row[Any]]]]:
    """The patient (by id or chart number) and every authorization of their coverages, each
    with its coverage (primary first, then by start date).

    Raises:
        NotFoundError: no such patient in the caller's practice.
    """
    with _reader(engine, principal) as uow:
        patient = patient_in(uow, patient_key)
        names = {p.id: p.name for p in uow.records.rows(payers)}
        found = [
            (CoverageView(cov, names.get(cov.payer_id, "")), auth)
            for cov in uow.records.coverages_of(patient.id)
            for auth in sorted(uow.records.authorizations_of(cov.id), key=lambda a: a.start_date or date.min)
        ]
    return patient, found


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
