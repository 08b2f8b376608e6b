"""Records by the identifiers people use: a patient by chart number, a claim by claim number,
a payer by its electronic payer id, each beside the internal id.

Used inside an open unit of work by the noun modules (patients, coverages, visits, claims),
so every entry point accepts the same identifiers. Another practice's record is not found,
exactly like a missing one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from therabill.adapters.db.tables import claims, patients, payers
from therabill.domain.errors import NotFoundError, Problem
from therabill.service_layer.uow import UnitOfWork

__all__ = ["claim_row_in", "patient_in", "payer_in"]


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
