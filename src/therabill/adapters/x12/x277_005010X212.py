# ruff: noqa: N999  (the module is named after the implementation guide it follows)
"""277 (005010X212) claim status response reader: the answer to a 276.

``read_277(source)`` yields one ``ClaimStatusAnswer`` per claim (2200D/2200E), with the
trace we sent (TRN02 = our CLM01), the payer's claim number (REF*1K), each STC status
(category, code, entity) with the category in words, the amounts charged and paid, and the
payment details when the claim is finalized. 277CA acknowledgments (005010X214) are read by
``acknowledgments.read_acknowledgments``, not here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from therabill.adapters.x12.errors import X12Error
from therabill.adapters.x12.tokenizer import SegmentReader, Source
from therabill.adapters.x12.values import amount, date8, el
from therabill.refdata.codes import describe

__all__ = ["CATEGORY_WORDS", "ClaimStatusAnswer", "StatusInfo", "category_words", "read_277"]

VERSION = "005010X212"

CATEGORY_WORDS = {
    "A0": "acknowledged: forwarded to another entity",
    "A1": "acknowledged: received",
    "A2": "acknowledged: accepted into adjudication",
    "A3": "acknowledged: returned as unprocessable",
    "A4": "acknowledged: not found",
    "A6": "acknowledged: rejected for missing information",
    "A7": "acknowledged: rejected for invalid information",
    "A8": "acknowledged: rejected for relational field in error",
    "D0": "data search unsuccessful",
    "E0": "response not possible: error on submitted request data",
    "E1": "response not possible: system status",
    "E2": "information holder is not responding",
    "E3": "correction required: relational fields in error",
    "E4": "trading partner agreement specific requirement not met",
    "F0": "finalized",
    "F1": "finalized: payment",
    "F2": "finalized: denial",
    "F3": "finalized: revised",
    "F3F": "finalized: forwarded",
    "F3N": "finalized: not forwarded",
    "F4": "finalized: adjudication complete, no payment forthcoming",
    "P0": "pending: adjudication or details",
    "P1": "pending: in process",
    "P2": "pending: payer review",
    "P3": "pending: provider requested information",
    "P4": "pending: patient requested information",
    "P5": "pending: payer administrative or system hold",
    "R0": "requests for additional information: general",
    "R1": "requests for additional information: entity requests",
    "R3": "requests for additional information: claim or line",
    "R4": "requests for additional information: documentation",
    "R5": "requests for additional information: more specific detail",
}
"""Claim status category codes (STC01-1) in short words (code list 507, as publicly summarised)."""


def category_words(category: str) -> str:
    """A status category in words: the short words above, else the code list's description.

    The code list is ``refdata/data/x12codes/claim_status_category_codes.csv`` (dated, with its
    source); a category in neither is given as ``category XX``.
    """
    short = CATEGORY_WORDS.get(category)
    if short is not None:
        return short
    return describe("claim_status_category", category) or f"category {category}"


@dataclass(frozen=True, slots=True)
class StatusInfo:
    """One STC status.

    Attributes:
        category: STC01-1 (``F1``, ``P1``, ``A7``...).
        code: STC01-2, the claim status code (code list 508).
        entity: STC01-3, the entity the status refers to, if any.
        words: the category in words.
    """

    category: str
    code: str
    entity: str | None
    words: str


@dataclass(frozen=True, slots=True)
class ClaimStatusAnswer:
    """The payer's answer about one claim.

    Attributes:
        claim_id: our claim id (TRN02 of 2200D/E, echoing the 276).
        payer_name: NM103 of 2100A.
        payer_id: NM109 of 2100A.
        payer_claim_control_number: REF*1K, if assigned.
        statuses: every STC status of the claim (line-level ones included).
        status_date: STC02, if given.
        charge: STC04 total claim charge.
        paid: STC05 amount paid.
        adjudication_date: STC06 (finalized claims).
        check_number: STC09 (finalized paid claims).
        segment_number: the TRN segment's position in the file.
    """

    claim_id: str
    payer_name: str | None
    payer_id: str | None
    payer_claim_control_number: str | None
    statuses: tuple[StatusInfo, ...]
    status_date: date | None = None
    charge: Decimal | None = None
    paid: Decimal | None = None
    adjudication_date: date | None = None
    check_number: str | None = None
    segment_number: int = 0

    @property
    def category(self) -> str:
        """The claim-level category (the first STC's); ``""`` when none was given."""
        return self.statuses[0].category if self.statuses else ""

    @property
    def rejected(self) -> bool:
        """True for categories that mean the claim did not get in (A3, A4, A6-A8, E*, D0)."""
        cat = self.category
        return cat in {"A3", "A4", "A6", "A7", "A8", "D0"} or cat.startswith("E")


@dataclass
class _Open:
    claim_id: str
    n: int
    statuses: list[StatusInfo] = field(default_factory=list)
    pccn: str | None = None
    status_date: date | None = None
    charge: Decimal | None = None
    paid: Decimal | None = None
    adjudicated: date | None = None
    check: str | None = None


def read_277(source: Source) -> Iterator[ClaimStatusAnswer]:
    """Read every claim answer of a 277 (X212) file.

    Raises:
        X12Error: input that is not usable X12, or a transaction that is not a 277.
    """
    reader = SegmentReader(source)
    try:
        yield from _read(reader)
    except X12Error:
        raise
    except Exception as exc:  # a defect here must still not escape as a traceback
        raise X12Error(
            f"unreadable segment ({type(exc).__name__}: {exc})",
            code="x12-internal",
            segment_number=reader.number,
        ) from exc


def _read(reader: SegmentReader) -> Iterator[ClaimStatusAnswer]:  # noqa: C901 - one loop, one dispatch
    payer_name: str | None = None
    payer_id: str | None = None
    hl_level = ""
    current: _Open | None = None
    seen = False

    def close() -> ClaimStatusAnswer | None:
        nonlocal current
        if current is None:
            return None
        c = current
        current = None
        return ClaimStatusAnswer(
            claim_id=c.claim_id,
            payer_name=payer_name,
            payer_id=payer_id,
            payer_claim_control_number=c.pccn,
            statuses=tuple(c.statuses),
            status_date=c.status_date,
            charge=c.charge,
            paid=c.paid,
            adjudication_date=c.adjudicated,
            check_number=c.check,
            segment_number=c.n,
        )

    for seg in reader:
        n = reader.number
        sid = seg[0]
        comp = reader.delimiters.component
        if sid == "ST":
            if el(seg, 1) != "277":
                raise X12Error(
                    f"transaction {el(seg, 1)!r} is not a 277",
                    code="x12-277-wrong-transaction",
                    segment_number=n,
                    segment_id="ST",
                )
            seen = True
        elif sid == "HL":
            done = close()
            if done is not None:
                yield done
            hl_level = el(seg, 3)
        elif sid == "NM1" and hl_level == "20" and el(seg, 1) == "PR":
            payer_name = el(seg, 3) or None
            payer_id = el(seg, 9) or None
        elif sid == "TRN" and hl_level in ("22", "23") and el(seg, 1) == "2":
            done = close()
            if done is not None:
                yield done
            if not el(seg, 2):
                raise X12Error(
                    "TRN02 (the claim's trace) is missing",
                    code="x12-element-missing",
                    segment_number=n,
                    segment_id="TRN",
                    element=2,
                )
            current = _Open(el(seg, 2), n)
        elif sid == "STC" and current is not None:
            parts = el(seg, 1).split(comp)
            category = parts[0] if parts else ""
            if not category:
                raise X12Error(
                    "STC01-1 (status category) is missing",
                    code="x12-element-missing",
                    segment_number=n,
                    segment_id="STC",
                    element=1,
                )
            current.statuses.append(
                StatusInfo(
                    category=category,
                    code=parts[1] if len(parts) > 1 else "",
                    entity=(parts[2] or None) if len(parts) > 2 else None,
                    words=category_words(category),
                )
            )
            if len(current.statuses) == 1:
                current.status_date = date8(seg, 2, n) if el(seg, 2) else None
                current.charge = amount(seg, 4, n) if el(seg, 4) else None
                current.paid = amount(seg, 5, n) if el(seg, 5) else None
                current.adjudicated = date8(seg, 6, n) if el(seg, 6) else None
                current.check = el(seg, 9) or None
        elif sid == "REF" and current is not None and el(seg, 1) == "1K":
            current.pccn = el(seg, 2) or None
        elif sid == "SE":
            done = close()
            if done is not None:
                yield done
            hl_level = ""
    if not seen:
        raise X12Error("the file holds no 277 transaction", code="x12-277-missing")
