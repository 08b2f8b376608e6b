"""The denial explainer: an adjustment or remark code in plain words, with the likely fix.

The words and fixes are data (``refdata/data/x12codes/denials.toml``), loaded by
``therabill.refdata.codes.denial_table()``; this module only combines them with the
official code descriptions and the remittance records into worklist items.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal

from therabill.domain.remittance import ClaimPayment

__all__ = ["DenialAdvice", "DenialTable", "WorklistItem", "denial_worklist", "explain"]

GROUP_WORDS = {
    "CO": "contractual (the provider writes it off)",
    "PR": "patient responsibility",
    "OA": "other adjustment",
    "PI": "payer-initiated reduction",
    "CR": "correction or reversal",
}


@dataclass(frozen=True, slots=True)
class DenialAdvice:
    """Plain words and the likely fix for one code.

    Attributes:
        words: what happened, for a person.
        fix: what the biller most likely has to do.
    """

    words: str
    fix: str


@dataclass(frozen=True, slots=True)
class DenialTable:
    """The explainer's data.

    Attributes:
        carc: advice per claim adjustment reason code.
        rarc: advice per remittance advice remark code.
        carc_descriptions: official CARC descriptions.
        rarc_descriptions: official RARC descriptions.
    """

    carc: Mapping[str, DenialAdvice]
    rarc: Mapping[str, DenialAdvice]
    carc_descriptions: Mapping[str, str]
    rarc_descriptions: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class WorklistItem:
    """One denied or reduced line (or claim) for a person to work.

    Attributes:
        claim_id: our claim id (CLP01).
        payer_claim_control_number: the payer's claim number (CLP07).
        line_id: our line id (REF*6R), ``None`` for a claim-level item.
        code: the procedure code, ``None`` for a claim-level item.
        group: the adjustment group.
        reason: the CARC.
        amount: the adjusted amount.
        remarks: remark codes on the line or claim.
        words: the reason in plain words (official description when no advice exists).
        fix: the likely fix.
    """

    claim_id: str
    payer_claim_control_number: str | None
    line_id: str | None
    code: str | None
    group: str
    reason: str
    amount: Decimal
    remarks: tuple[str, ...]
    words: str
    fix: str


def explain(group: str, reason: str, table: DenialTable) -> DenialAdvice:
    """Plain words and fix for an adjustment ``group``/``reason`` (CARC)."""
    advice = table.carc.get(reason)
    if advice is not None:
        return advice
    desc = table.carc_descriptions.get(reason)
    words = desc or f"Adjustment reason {reason} (not in the code list)"
    return DenialAdvice(
        f"{words} ({GROUP_WORDS.get(group, group)})", "Read the payer's remittance and the remark codes."
    )


def explain_remark(code: str, table: DenialTable) -> DenialAdvice:
    """Plain words and fix for a remark code (RARC)."""
    advice = table.rarc.get(code)
    if advice is not None:
        return advice
    return DenialAdvice(table.rarc_descriptions.get(code, f"Remark {code} (not in the code list)"), "")


_WORKABLE_GROUPS = frozenset({"CO", "OA", "PI"})
_ROUTINE = frozenset({"45"})  # contractual write-off: expected, not a denial


def denial_worklist(claims: Iterable[ClaimPayment], table: DenialTable) -> Iterator[WorklistItem]:
    """Each denied or partly paid line (and claim-level denial) with the reason in words.

    A line is on the worklist when a CO/OA/PI adjustment other than the routine
    contractual write-off (CARC 45) reduced it; a denied claim without lines is listed
    by its claim-level adjustments. Patient responsibility (PR) is not a denial.
    """
    for claim in claims:
        if claim.is_reversal:
            continue
        sources: list[tuple[str | None, str | None, tuple[str, ...], Iterable[tuple[str, str, Decimal]]]] = []
        sources.append(
            (None, None, claim.remarks, ((a.group, a.reason, a.amount) for a in claim.adjustments))
        )
        for line in claim.lines:
            sources.append(  # noqa: PERF401 - clearer as a loop
                (
                    line.line_id,
                    line.code,
                    line.remarks,
                    ((a.group, a.reason, a.amount) for a in line.adjustments),
                )
            )
        for line_id, code, remarks, adjustments in sources:
            for group, reason, amt in adjustments:
                if group not in _WORKABLE_GROUPS or reason in _ROUTINE or amt <= 0:
                    continue
                advice = explain(group, reason, table)
                fix = advice.fix
                extra = [explain_remark(r, table) for r in remarks]
                words = advice.words + "".join(f" {x.words}" for x in extra if x.words)
                yield WorklistItem(
                    claim.claim_id,
                    claim.payer_claim_control_number,
                    line_id,
                    code,
                    group,
                    reason,
                    amt,
                    remarks,
                    words,
                    fix,
                )
