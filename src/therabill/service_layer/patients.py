"""Patients: registration, search and the patient's chart as the people who care for them see it.

Who may see what is decided here (``visibility.record_view``), with the caller's principal:
a therapist sees the notes and measures of their own visits only, the front desk no
clinical records at all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine, Row

from therabill.adapters.db.repositories import new_id
from therabill.adapters.db.tables import (
    objective_measures,
    patients,
    visits,
)
from therabill.clock import Clock, current_time
from therabill.domain.records import (
    PatientRecord,
)
from therabill.service_layer.accounts import Principal
from therabill.service_layer.coverages import CoverageInput, insert_coverage_in
from therabill.service_layer.errors import refuse
from therabill.service_layer.uow import UnitOfWork
from therabill.service_layer.visibility import record_view

__all__ = ["PatientChart", "patient_chart", "search"]


def _actor(principal: Principal) -> str:
    return f"user:{principal.user_id}"


def search(engine: Engine, principal: Principal, query: str, *, limit: int = 50) -> list[Any]:
    """Patients whose name contains ``query`` (either order) or whose chart number is it."""
    q = query.strip().lower()
    with UnitOfWork(engine, principal.practice_id, _actor(principal), read_only=True) as uow:
        everyone = uow.records.patients()
    return [
        p
        for p in everyone
        if not q
        or q in f"{p.first_name} {p.last_name}".lower()
        or q in f"{p.last_name}, {p.first_name}".lower()
        or q == p.chart_number.lower()
    ][:limit]


@dataclass(frozen=True, slots=True)
class PatientChart:
    """What the patient page shows the caller.

    Attributes:
        patient: the patient.
        coverages: the patient's coverages.
        authorizations: coverage id → its authorizations.
        visits: the visits the caller may see (newest first; empty without clinical access).
        measures: objective measures of those visits (oldest first).
        clinical: whether the caller sees clinical records at all.
    """

    patient: Any
    coverages: list[Any]
    authorizations: dict[str, list[Any]]
    visits: list[Any]
    measures: list[Any]
    clinical: bool


def patient_chart(engine: Engine, principal: Principal, patient_id: str) -> PatientChart:
    """The patient's chart as the caller may see it.

    Raises:
        NotFoundError: no such patient in the caller's practice.
    """
    with UnitOfWork(engine, principal.practice_id, _actor(principal), read_only=True) as uow:
        patient = uow.records.get(patients, patient_id)
        covs = list(uow.records.coverages_of(patient_id))
        auths = {c.id: list(uow.records.authorizations_of(c.id)) for c in covs}
        measures = uow.records.rows(
            objective_measures,
            objective_measures.c.patient_id == patient_id,
            order_by=[objective_measures.c.measured_on],
        )
        pvisits = uow.records.rows(
            visits, visits.c.patient_id == patient_id, order_by=[visits.c.date_of_service.desc()]
        )
    view = record_view(principal)
    if not view.clinical:
        return PatientChart(patient, covs, auths, [], [], False)
    mine = [v for v in pvisits if view.sees(v.provider_id)]
    shown = {v.id for v in mine}
    return PatientChart(patient, covs, auths, mine, [m for m in measures if m.visit_id in shown], True)


def register_patient(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    chart_number: str,
    first_name: str,
    last_name: str,
    birth_date: date | None = None,
    sex: str | None = None,
    middle_name: str | None = None,
    address: Mapping[str, Any] | None = None,
    phone: str | None = None,
    email: str | None = None,
    coverages_in: Sequence[CoverageInput] = (),
    clock: Clock = current_time,
) -> str:
    """Register a patient and their coverages; returns the patient's opaque id."""
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        taken = uow.session.execute(
            uow.records.scoped(patients).where(patients.c.chart_number == chart_number)
        ).first()
        if taken:
            raise refuse("patient-chart-number-taken", "chart_number", "that chart number is already in use")
        record = PatientRecord(
            id=new_id(),
            practice_id=practice_id,
            chart_number=chart_number,
            first_name=first_name,
            last_name=last_name,
            birth_date=birth_date,
            sex=sex,
            middle_name=middle_name,
            address_json=json.dumps(dict(address)) if address else None,
            phone=phone,
            email=email,
        )
        patient_id = uow.records.add_patient(record, uow.now())
        for cov in coverages_in:
            insert_coverage_in(uow, patient_id, cov)
        uow.record("patient.register", "patient", patient_id, {"coverages": len(coverages_in)})
    return patient_id


def patient(engine: Engine, practice_id: str, actor: str, patient_id: str) -> Row[Any]:
    """One patient of the practice.

    Raises:
        NotFoundError: no such patient in the practice.
    """
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return uow.records.get(patients, patient_id)


def list_patients(engine: Engine, practice_id: str, actor: str) -> list[PatientRecord]:
    """The practice's patients."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return uow.records.patients()
