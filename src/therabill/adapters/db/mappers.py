"""Explicit mapping between table rows and frozen domain records (no ORM instrumentation).

``*_to_domain`` reads a row (a SQLAlchemy ``Row`` or mapping) into a frozen record;
``*_to_row`` writes a record into the column dict of its table. Money crosses here: the
domain's ``Decimal`` becomes integer cents and back, never float.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from therabill.domain.claim import ClaimLine
from therabill.domain.money import from_cents, to_cents
from therabill.domain.records import ClaimSummary, PatientRecord


def _get(row: Any, name: str) -> Any:
    return row[name] if isinstance(row, Mapping) else getattr(row, name)


def patient_to_domain(row: Any) -> PatientRecord:
    """A ``patients`` row as a ``PatientRecord``."""
    address = _get(row, "address")
    return PatientRecord(
        id=_get(row, "id"),
        practice_id=_get(row, "practice_id"),
        chart_number=_get(row, "chart_number"),
        first_name=_get(row, "first_name"),
        last_name=_get(row, "last_name"),
        birth_date=_get(row, "birth_date"),
        sex=_get(row, "sex"),
        middle_name=_get(row, "middle_name"),
        address_json=None if address is None else json.dumps(address, sort_keys=True),
        phone=_get(row, "phone"),
        email=_get(row, "email"),
    )


def patient_to_row(record: PatientRecord) -> dict[str, Any]:
    """The ``patients`` columns of a ``PatientRecord`` (without ``created_at``)."""
    return {
        "id": record.id,
        "practice_id": record.practice_id,
        "chart_number": record.chart_number,
        "first_name": record.first_name,
        "middle_name": record.middle_name,
        "last_name": record.last_name,
        "birth_date": record.birth_date,
        "sex": record.sex,
        "address": None if record.address_json is None else json.loads(record.address_json),
        "phone": record.phone,
        "email": record.email,
    }


def claim_summary_to_domain(row: Any) -> ClaimSummary:
    """A ``claims`` row as a ``ClaimSummary``."""
    return ClaimSummary(
        id=_get(row, "id"),
        claim_number=_get(row, "claim_number"),
        patient_id=_get(row, "patient_id"),
        payer_id=_get(row, "payer_id"),
        status=_get(row, "status"),
        total_charge_cents=int(_get(row, "total_charge_cents")),
        date_of_service=_get(row, "date_of_service"),
        updated_at=_get(row, "updated_at"),
    )


def claim_line_to_row(
    line: ClaimLine, *, line_row_id: str, claim_id: str, practice_id: str
) -> dict[str, Any]:
    """The ``claim_lines`` columns of a domain ``ClaimLine`` (money in cents)."""
    return {
        "id": line_row_id,
        "practice_id": practice_id,
        "claim_id": claim_id,
        "line_number": line.line_number,
        "service_index": line.service_index,
        "code": line.code,
        "modifiers": list(line.modifiers),
        "units": line.units,
        "minutes": line.minutes,
        "unit_charge_cents": to_cents(line.unit_charge),
        "charge_cents": to_cents(line.charge),
        "diagnosis_pointers": list(line.diagnosis_pointers),
        "line_id": line.line_id,
        "date_of_service": line.date_of_service,
        "place_of_service": line.place_of_service,
    }


def claim_line_to_domain(row: Any) -> ClaimLine:
    """A ``claim_lines`` row as a domain ``ClaimLine`` (cents back to ``Decimal``)."""
    dos: date = _get(row, "date_of_service")
    unit_charge: Decimal = from_cents(int(_get(row, "unit_charge_cents")))
    return ClaimLine(
        line_number=_get(row, "line_number"),
        service_index=_get(row, "service_index"),
        code=_get(row, "code"),
        modifiers=tuple(_get(row, "modifiers")),
        units=_get(row, "units"),
        minutes=_get(row, "minutes"),
        unit_charge=unit_charge,
        charge=from_cents(int(_get(row, "charge_cents"))),
        diagnosis_pointers=tuple(_get(row, "diagnosis_pointers")),
        date_of_service=dos,
        place_of_service=_get(row, "place_of_service"),
        line_id=_get(row, "line_id"),
    )
