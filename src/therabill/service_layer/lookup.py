"""Records by the identifiers people use: a patient by chart number, a claim by claim number,
a payer by its electronic payer id, each beside the internal id.

Used inside an open unit of work by the noun modules (patients, coverages, visits, claims),
so every entry point accepts the same identifiers. Another practice's record is not found,
exactly like a missing one.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Row

from therabill.adapters.db.tables import authorizations, claims, coverages, patients, payers
from therabill.domain.errors import NotFoundError, Problem
from therabill.service_layer.errors import refuse
from therabill.service_layer.uow import UnitOfWork

__all__ = ["authorization_in", "claim_row_in", "coverage_of_patient_in", "patient_in", "payer_in"]

SEQUENCES = ("primary", "secondary", "tertiary")


def patient_in(uow: UnitOfWork, key: str) -> Row[Any]:
    """The patient whose internal id or chart number is ``key``.

    Raises:
        NotFoundError: no such patient in the unit's practice.
    """
    key = key.strip()
    row = uow.records.find(patients, key)
    if row is None:
        row = next(iter(uow.records.rows(patients, patients.c.chart_number == key)), None)
    if row is None:
        raise NotFoundError("no such patient", (Problem("patient-not-found", "patient", "no such patient"),))
    return row


def claim_row_in(uow: UnitOfWork, key: str) -> Row[Any]:
    """The claim whose internal id or claim number (CLM01) is ``key``.

    Raises:
        NotFoundError: no such claim in the unit's practice.
    """
    key = key.strip()
    row = uow.records.find(claims, key) or uow.records.claim_by_number(key)
    if row is None:
        raise NotFoundError("no such claim", (Problem("claim-not-found", "claim", "no such claim"),))
    return row


def payer_in(uow: UnitOfWork, key: str) -> Row[Any]:
    """The payer whose internal id, or (when only one payer has it) electronic payer id, is ``key``.

    Raises:
        NotFoundError: no such payer in the unit's practice.
    """
    row = uow.records.find(payers, key)
    if row is None:
        found = uow.records.rows(payers, payers.c.payer_id == key)
        row = found[0] if len(found) == 1 else None
    if row is None:
        raise NotFoundError("no such payer", (Problem("payer-not-found", "payer_id", "no such payer"),))
    return row


def coverage_of_patient_in(uow: UnitOfWork, patient_id: str, key: str) -> Row[Any]:
    """The patient's coverage whose internal id is ``key``, or the coverage of that order
    (``primary``, ``secondary``, ``tertiary``) in force today (else the latest one of that order).

    Raises:
        NotFoundError: no such coverage of this patient.
    """
    key = key.strip()
    row = uow.records.find(coverages, key)
    if row is not None and row.patient_id == patient_id:
        return row
    if key.lower() in SEQUENCES:
        today = uow.now().date()
        of_order = [c for c in uow.records.coverages_of(patient_id) if c.sequence == key.lower()]
        current = [c for c in of_order if c.active_to is None or c.active_to >= today]
        ranked = sorted(current or of_order, key=lambda c: c.active_from or date.min)
        if ranked:
            return ranked[-1]
    raise NotFoundError(
        "no such coverage", (Problem("coverage-not-found", "coverage", "no such coverage of this patient"),)
    )


def authorization_in(uow: UnitOfWork, key: str, patient_id: str | None = None) -> Row[Any]:
    """The authorization whose internal id or number (as the payer wrote it) is ``key``;
    with ``patient_id``, only that patient's.

    Raises:
        NotFoundError: no such authorization.
        RecordsError: the number is on file for more than one patient (name the patient).
    """
    key = key.strip()
    row = uow.records.find(authorizations, key)
    found = (
        [row]
        if row is not None
        else list(
            uow.session.execute(
                uow.records.scoped(authorizations).where(authorizations.c.number == key)
            ).all()
        )
    )
    if patient_id is not None:
        own = {c.id for c in uow.records.coverages_of(patient_id)}
        found = [a for a in found if a.coverage_id in own]
    if not found:
        raise NotFoundError(
            "no such authorization",
            (Problem("authorization-not-found", "authorization", "no such authorization"),),
        )
    if len(found) > 1:
        raise refuse(
            "authorization-ambiguous",
            "authorization",
            "this number is on file more than once: name the patient",
        )
    return found[0]
