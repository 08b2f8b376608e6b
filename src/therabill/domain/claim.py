"""The claim: what an encounter bills, line by line, after coding.

``build_claim`` turns an encounter and its units result into claim lines: zero-unit lines
are left off, each line's units are the biller's (when given) or the computed ones, and its
charge is ``unit_charge × units`` (or the fee schedule's fee when the document has none).
Writers (837P, CMS-1500, superbill) take a ``Claim``; they never recompute any of this.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from therabill.domain.encounter import Encounter
from therabill.domain.errors import Problem, TherabillError
from therabill.domain.money import ZERO, quantize
from therabill.domain.timing import UnitsResult

CLAIM_ID_MAX = 20
_SAFE_ID = re.compile(r"^[A-Za-z0-9.\-]+$")


class ClaimBuildError(TherabillError):
    """The encounter cannot become a claim (no billable line, no fee for a line, bad id)."""

    code = "claim-build"


@dataclass(frozen=True, slots=True)
class ClaimLine:
    """One billed line.

    Attributes:
        line_number: 1-based position on the claim (LX01, box 24 row).
        service_index: 0-based index of the encounter's service it bills.
        code: CPT/HCPCS code.
        modifiers: modifiers in order (the writers carry four at most).
        units: units billed.
        minutes: the service's minutes.
        unit_charge: fee per unit.
        charge: ``unit_charge × units``.
        diagnosis_pointers: 1-based positions into the claim's diagnoses.
        date_of_service: the line's date.
        place_of_service: the line's place of service.
        line_id: our line item control number (REF*6R), matched on the remittance.
    """

    line_number: int
    service_index: int
    code: str
    modifiers: tuple[str, ...]
    units: int
    minutes: int
    unit_charge: Decimal
    charge: Decimal
    diagnosis_pointers: tuple[int, ...]
    date_of_service: date
    place_of_service: str | None
    line_id: str


@dataclass(frozen=True, slots=True)
class Claim:
    """A claim built from one encounter.

    Attributes:
        claim_id: our claim id (CLM01, box 26), at most 20 characters.
        encounter: the encounter billed.
        lines: the billed lines (zero-unit lines left off).
        total_charge: the sum of the lines' charges (CLM02, box 28).
        units: the units result the lines came from.
    """

    claim_id: str
    encounter: Encounter
    lines: tuple[ClaimLine, ...]
    total_charge: Decimal
    units: UnitsResult


def build_claim(
    encounter: Encounter,
    units: UnitsResult,
    *,
    claim_id: str | None = None,
    fees: Mapping[str, Decimal] | None = None,
) -> Claim:
    """Build the claim of ``encounter`` from its units result.

    Args:
        encounter: the visit.
        units: its units result (same lines, same order).
        claim_id: our claim id; defaults to the encounter id.
        fees: the practice's fee per unit by code, for lines without ``unit_charge``.

    Raises:
        ClaimBuildError: with every problem found (no fee, bad id, nothing billable).
    """
    cid = claim_id if claim_id is not None else encounter.encounter_id
    problems: list[Problem] = []
    if not cid or len(cid) > CLAIM_ID_MAX or not _SAFE_ID.match(cid):
        problems.append(
            Problem(
                "claim-id-invalid",
                "encounter_id",
                f"claim id {cid!r} must be 1-{CLAIM_ID_MAX} letters, digits, '.' or '-'",
            )
        )
    if len(units.lines) != len(encounter.services):
        raise ValueError("the units result does not belong to this encounter")
    lines: list[ClaimLine] = []
    total = ZERO
    for i, (service, computed) in enumerate(zip(encounter.services, units.lines, strict=True)):
        n_units = service.units if service.units is not None else computed.units
        if n_units <= 0:
            continue
        fee = service.unit_charge
        if fee is None and fees is not None:
            fee = fees.get(service.code)
        if fee is None:
            problems.append(
                Problem(
                    "claim-fee-missing",
                    f"services[{i}].unit_charge",
                    f"no unit charge for {service.code} and no fee schedule amount",
                )
            )
            continue
        charge = quantize(fee * n_units)
        total += charge
        number = len(lines) + 1
        lines.append(
            ClaimLine(
                line_number=number,
                service_index=i,
                code=service.code,
                modifiers=service.modifiers,
                units=n_units,
                minutes=service.minutes,
                unit_charge=fee,
                charge=charge,
                diagnosis_pointers=service.diagnosis_pointers,
                date_of_service=encounter.date_of_service,
                place_of_service=encounter.place_of_service,
                line_id=f"{cid}-{number}",
            )
        )
    if not lines and not problems:
        problems.append(Problem("claim-no-lines", "services", "no service line has a billable unit"))
    if problems:
        raise ClaimBuildError("the encounter cannot become a claim", tuple(problems))
    return Claim(claim_id=cid, encounter=encounter, lines=tuple(lines), total_charge=total, units=units)
