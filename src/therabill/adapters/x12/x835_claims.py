"""The claims of an 835: one claim loop (CLP and its 2100/2110 segments) read into a record.

Both ways of reading an 835 claim use this module: the general one, segment by segment
(``ClaimSegments.read`` for every segment of an open claim), and the one that reads a
common claim straight from the text (``therabill.adapters.x12.x835_fast``), which hands
whatever it does not read inline to the same ``ClaimSegments.read``. So a claim comes out
the same, field for field and problem for problem, whichever way it was read.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from typing import TypeVar

from therabill.adapters.x12.errors import X12Error, location
from therabill.adapters.x12.values import amount, date8, el, quantity
from therabill.domain.errors import Problem
from therabill.domain.money import ZERO
from therabill.domain.remittance import (
    REVERSAL_STATUS,
    Adjustment,
    ClaimPayment,
    ServicePayment,
    claim_balance_problems,
)

__all__ = [
    "CLAIM_ENDERS",
    "ENVELOPE_IDS",
    "BuiltClaim",
    "ClaimSegments",
    "OpenClaim",
    "Values",
    "CACHE_LIMIT",
    "adjustments_of",
    "claim_segment",
    "finish",
    "open_claim",
    "read_svc",
    "record",
]

_MAX_CAS_TRIPLES = 6
CACHE_LIMIT = 4096
"""Distinct element texts remembered per conversion (bounded: memory stays flat)."""

_R = TypeVar("_R")

ENVELOPE_IDS = frozenset(("ISA", "GS", "ST", "SE", "GE", "IEA"))
CLAIM_ENDERS = ENVELOPE_IDS | {"CLP", "LX", "PLB"}
"""Segments that end a claim loop (or belong to the envelope)."""


class Values:
    """Amount, quantity and date conversions of one read, with bounded memo tables.

    The same amounts and dates come back claim after claim in a remittance; converting each
    distinct text once (and checking it once) keeps the hot loop to dictionary look-ups.
    Errors are never remembered: a bad value raises every time it is met.
    """

    __slots__ = ("amounts", "dates", "quantities")

    def __init__(self) -> None:
        self.amounts: dict[str, Decimal] = {}
        self.quantities: dict[str, Decimal] = {}
        self.dates: dict[str, date] = {}

    def amount(self, seg: list[str], i: int, n: int) -> Decimal:
        text = seg[i] if i < len(seg) else ""
        value = self.amounts.get(text)
        if value is None:
            value = amount(seg, i, n)
            if len(self.amounts) < CACHE_LIMIT:
                self.amounts[text] = value
        return value

    def quantity(self, seg: list[str], i: int, n: int) -> Decimal:
        text = seg[i] if i < len(seg) else ""
        value = self.quantities.get(text)
        if value is None:
            value = quantity(seg, i, n)
            if len(self.quantities) < CACHE_LIMIT:
                self.quantities[text] = value
        return value

    def date(self, seg: list[str], i: int, n: int) -> date:
        text = seg[i] if i < len(seg) else ""
        value = self.dates.get(text)
        if value is None:
            value = date8(seg, i, n)
            if len(self.dates) < CACHE_LIMIT:
                self.dates[text] = value
        return value


_new = object.__new__
_set = object.__setattr__


def record(cls: type[_R], fields: dict[str, object]) -> _R:
    """An instance of the frozen record ``cls`` whose ``__dict__`` is ``fields``.

    Equivalent to ``cls(**fields)`` for these records (fields left out read as their
    declared defaults), without the generated ``__init__``'s call per field.
    """
    obj = _new(cls)
    _set(obj, "__dict__", fields)
    return obj


def _line_fields(n: int) -> dict[str, object]:
    """The fields of a service line before its SVC is read (what a broken SVC leaves)."""
    return {"code": "", "qualifier": "", "modifiers": (), "charge": ZERO, "paid": ZERO, "segment_number": n}


class OpenClaim:
    """A claim being read: the ``ClaimPayment`` fields, the open line, running sums."""

    __slots__ = (
        "adj_total",
        "fields",
        "line",
        "line_adj",
        "line_adj_total",
        "line_charges",
        "lines",
        "lines_balanced",
        "problems",
    )

    def __init__(self, fields: dict[str, object]) -> None:
        self.fields = fields
        self.line: dict[str, object] | None = None  # the open service line's fields
        self.line_adj = ZERO  # the open line's adjustment total
        self.lines: list[ServicePayment] = []
        self.adj_total = ZERO
        self.line_adj_total = ZERO
        self.line_charges = ZERO
        self.lines_balanced = True
        self.problems: tuple[Problem, ...] = ()

    def add_line(self, line: dict[str, object]) -> None:
        built: ServicePayment = _new(ServicePayment)  # _record, inlined: once per line
        _set(built, "__dict__", line)
        self.lines.append(built)
        adj = self.line_adj
        self.line_adj_total += adj
        self.line_charges += built.charge
        if built.charge - adj != built.paid:
            self.lines_balanced = False
        self.line = None
        self.line_adj = ZERO

    def add_adjustments(self, adjustments: tuple[Adjustment, ...], total: Decimal) -> None:
        target = self.fields if self.line is None else self.line
        target["adjustments"] = target.get("adjustments", ()) + adjustments  # type: ignore[operator]
        if self.line is None:
            self.adj_total += total
        else:
            self.line_adj += total

    def build(self) -> ClaimPayment:
        if self.line is not None:
            self.add_line(self.line)
        fields = self.fields
        fields["lines"] = tuple(self.lines)
        return finish(
            fields,
            self.adj_total + self.line_adj_total,
            self.line_charges,
            lines_balanced=self.lines_balanced,
            problems=self.problems,
        )


class BuiltClaim(OpenClaim):
    """A claim read whole (by ``x835_fast``): ``build`` gives it back."""

    __slots__ = ("built",)

    def __init__(self, built: ClaimPayment) -> None:  # noqa: D107 - no open line, no sums
        self.built = built

    def build(self) -> ClaimPayment:
        return self.built


def finish(
    fields: dict[str, object],
    adjusted: Decimal,
    line_charges: Decimal,
    *,
    lines_balanced: bool,
    problems: tuple[Problem, ...] = (),
) -> ClaimPayment:
    """The ``ClaimPayment`` of ``fields`` (``lines`` included), with its problems.

    ``adjusted`` is the sum of the claim's and its lines' adjustments, ``line_charges`` of
    its lines' charges, ``lines_balanced`` whether every line balances: these running sums
    give the three balancing rules without a second pass; when one fails (or a value could
    not be read), the domain rules word the problems.
    """
    claim: ClaimPayment = _new(ClaimPayment)  # record, inlined: once per claim
    _set(claim, "__dict__", fields)
    if (
        not problems
        and lines_balanced
        and claim.charge - adjusted == claim.paid
        and (not claim.lines or claim.status == REVERSAL_STATUS or line_charges == claim.charge)
    ):
        return claim
    problems = (*problems, *claim_balance_problems(claim))
    if problems:
        return dataclasses.replace(claim, problems=problems)
    return claim


def adjustments_of(seg: list[str], n: int, values: Values) -> tuple[tuple[Adjustment, ...], Decimal]:
    """The adjustments of a CAS segment and their total."""
    group = seg[1] if len(seg) > 1 else ""
    if not group:
        raise X12Error(
            "adjustment group code is missing",
            code="x12-element-missing",
            segment_number=n,
            segment_id="CAS",
            element=1,
        )
    out: list[Adjustment] = []
    total = ZERO
    size = len(seg)
    for k in range(_MAX_CAS_TRIPLES):
        i = 2 + 3 * k
        if i >= size:
            break
        reason = seg[i]
        if not reason:
            if el(seg, i + 1):
                raise X12Error(
                    "adjustment amount without a reason code",
                    code="x12-element-missing",
                    segment_number=n,
                    segment_id="CAS",
                    element=i,
                )
            continue
        qty = values.quantity(seg, i + 2, n) if i + 2 < size and seg[i + 2] else None
        value = values.amount(seg, i + 1, n)
        total += value
        out.append(record(Adjustment, {"group": group, "reason": reason, "amount": value, "quantity": qty}))
    if not out:
        raise X12Error(
            "CAS has no adjustment", code="x12-element-missing", segment_number=n, segment_id="CAS", element=2
        )
    return tuple(out), total


def _procedure(seg: list[str], i: int, n: int, comp: str) -> tuple[str, str, tuple[str, ...]]:
    parts = el(seg, i).split(comp)
    if len(parts) < 2 or not parts[1]:
        raise X12Error(
            "procedure composite needs a qualifier and a code",
            code="x12-element-missing",
            segment_number=n,
            segment_id=seg[0],
            element=i,
            component=2,
        )
    if len(parts) == 2:
        return parts[0], parts[1], ()
    return parts[0], parts[1], tuple(m for m in parts[2:6] if m)


def read_svc(seg: list[str], n: int, claim: OpenClaim, values: Values, comp: str) -> None:
    """SVC: close the open line, open a new one."""
    if claim.line is not None:
        claim.add_line(claim.line)
    size = len(seg)
    proc = seg[1].split(comp) if size > 1 else []
    charge = paid = None
    parts = len(proc)
    if size > 3 and parts >= 2 and proc[1]:
        # The common shape with amounts met before: one dictionary, no conversions.
        amounts = values.amounts
        charge = amounts.get(seg[2])
        paid = amounts.get(seg[3])
    if charge is not None and paid is not None:
        claim.line = line = {
            "code": proc[1],
            "qualifier": proc[0],
            "modifiers": () if parts == 2 else tuple(filter(None, proc[2:6])),
            "charge": charge,
            "paid": paid,
            "segment_number": n,
        }
    else:
        claim.line = line = _line_fields(n)
        if len(proc) == 2 and proc[1]:
            line["qualifier"], line["code"] = proc
        else:
            line["qualifier"], line["code"], line["modifiers"] = _procedure(seg, 1, n, comp)
        line["charge"] = values.amount(seg, 2, n)
        line["paid"] = values.amount(seg, 3, n)
    if size > 5:
        if seg[5]:
            units = values.quantities.get(seg[5])
            line["units"] = values.quantity(seg, 5, n) if units is None else units
        if size > 6:
            if seg[6]:
                _, line["original_code"], line["original_modifiers"] = _procedure(seg, 6, n, comp)
            if size > 7 and seg[7]:
                line["original_units"] = values.quantity(seg, 7, n)


def claim_segment(  # noqa: C901 - one dispatch over the 2100/2110 segments
    seg: list[str], sid: str, n: int, claim: OpenClaim, values: Values, comp: str
) -> None:
    """Read one segment of a claim loop (anything but CLP) into ``claim``."""
    size = len(seg)
    line = claim.line
    fields = claim.fields
    if sid == "SVC":
        read_svc(seg, n, claim, values, comp)
    elif sid == "DTM":
        q = seg[1] if size > 1 else ""
        if line is not None:
            if q == "472" or q == "150":
                line["service_date"] = values.date(seg, 2, n)
            elif q == "151":
                line["service_date_end"] = values.date(seg, 2, n)
        elif q == "232":
            fields["statement_from"] = values.date(seg, 2, n)
        elif q == "233":
            fields["statement_to"] = values.date(seg, 2, n)
        elif q == "050":
            fields["received_date"] = values.date(seg, 2, n)
    elif sid == "CAS":
        claim.add_adjustments(*adjustments_of(seg, n, values))
    elif sid == "REF":
        if line is not None and size > 1 and seg[1] == "6R":
            line["line_id"] = (seg[2] if size > 2 else "") or None
    elif sid == "AMT":
        if line is not None and size > 1 and seg[1] == "B6":
            line["allowed_amount"] = values.amount(seg, 2, n)
    elif sid == "LQ":
        if line is not None and el(seg, 2):
            line["remarks"] = line.get("remarks", ()) + (seg[2],)  # type: ignore[operator]
    elif sid == "NM1":
        if line is None:
            q = el(seg, 1)
            if q == "QC":
                fields["patient_last_name"] = el(seg, 3) or None
                fields["patient_first_name"] = el(seg, 4) or None
                fields["member_id"] = el(seg, 9) or fields.get("member_id")
            elif q == "IL" and fields.get("member_id") is None:
                fields["member_id"] = el(seg, 9) or None
            elif q == "TT":
                fields["crossover_payer"] = el(seg, 3) or el(seg, 9) or "unnamed payer"
            elif q == "82":
                fields["rendering_npi"] = el(seg, 9) or None
    elif sid in ("MOA", "MIA") and line is None:
        idx = (3, 4, 5, 6, 7) if sid == "MOA" else (5, 20, 21, 22, 23)
        fields["remarks"] = fields.get("remarks", ()) + tuple(  # type: ignore[operator]
            el(seg, i) for i in idx if el(seg, i)
        )


def open_claim(seg: list[str], n: int, values: Values) -> OpenClaim:
    """The claim a CLP segment opens (a value that cannot be read is a problem of it)."""
    size = len(seg)
    claim_id = seg[1] if size > 1 else ""
    fields: dict[str, object] = {
        "claim_id": claim_id,
        "status": seg[2] if size > 2 else "",
        "charge": ZERO,
        "paid": ZERO,
        "segment_number": n,
    }
    claim = OpenClaim(fields)
    if not claim_id:
        claim.problems += (
            Problem("x12-element-missing", location(n, "CLP", 1), "claim id (CLP01) is missing"),
        )
    amounts = values.amounts
    value = amounts.get(seg[3]) if size > 4 else None
    if value is not None:
        fields["charge"] = value
    else:
        try:
            fields["charge"] = values.amount(seg, 3, n)
        except X12Error as exc:
            claim.problems += exc.problems
    value = amounts.get(seg[4]) if size > 4 else None
    if value is not None:
        fields["paid"] = value
    else:
        try:
            fields["paid"] = values.amount(seg, 4, n)
        except X12Error as exc:
            claim.problems += exc.problems
    if size > 5 and seg[5]:
        try:
            value = amounts.get(seg[5])
            fields["patient_responsibility"] = values.amount(seg, 5, n) if value is None else value
        except X12Error as exc:
            claim.problems += exc.problems
    if size > 6:
        if seg[6]:
            fields["filing_indicator"] = seg[6]
        if size > 7 and seg[7]:
            fields["payer_claim_control_number"] = seg[7]
        if size > 8 and seg[8]:
            fields["facility_code"] = seg[8]
        if size > 9 and seg[9]:
            fields["frequency"] = seg[9]
    return claim


class ClaimSegments:
    """Reads the segments of an open claim (anything but the segments that end it).

    One per read: it holds the value tables and the shared adjustment records.
    """

    __slots__ = ("adjustments", "values")

    def __init__(self, values: Values) -> None:
        self.values = values
        # Adjustments are frozen records: one record per distinct (group, reason, amount)
        # text is shared by every claim that has it (bounded, like the value tables).
        self.adjustments: dict[tuple[str, str, str], Adjustment] = {}

    def read(  # noqa: C901 - the commonest shapes inline, the rest in claim_segment
        self, seg: list[str], sid: str, n: int, claim: OpenClaim, comp: str
    ) -> None:
        """Read ``seg`` (number ``n``, id ``sid``, not one of ``CLAIM_ENDERS``) into ``claim``.

        Raises:
            X12Error: a value that cannot be read (a problem of the claim).
        """
        values = self.values
        if sid == "DTM":
            line = claim.line
            if len(seg) == 3 and (seg[1] == "472" if line is not None else seg[1] == "050"):
                day = values.dates.get(seg[2])
                if day is None:
                    day = values.date(seg, 2, n)
                if line is not None:
                    line["service_date"] = day
                else:
                    claim.fields["received_date"] = day
            else:
                claim_segment(seg, sid, n, claim, values, comp)
        elif sid == "CAS":
            if len(seg) == 4 and seg[1] and seg[2]:  # one reason, no quantity
                key = (seg[1], seg[2], seg[3])
                adj = self.adjustments.get(key)
                if adj is None:
                    value = values.amounts.get(seg[3])
                    if value is None:
                        value = values.amount(seg, 3, n)
                    adj = record(
                        Adjustment, {"group": seg[1], "reason": seg[2], "amount": value, "quantity": None}
                    )
                    if len(self.adjustments) < CACHE_LIMIT:
                        self.adjustments[key] = adj
                else:
                    value = adj.amount
                line = claim.line
                if line is not None:
                    line["adjustments"] = line.get("adjustments", ()) + (adj,)  # type: ignore[operator]
                    claim.line_adj += value
                else:
                    fields = claim.fields
                    fields["adjustments"] = fields.get("adjustments", ()) + (adj,)  # type: ignore[operator]
                    claim.adj_total += value
            else:
                claim_segment(seg, sid, n, claim, values, comp)
        elif sid == "SVC":
            read_svc(seg, n, claim, values, comp)
        elif sid == "NM1":
            if claim.line is None and len(seg) == 10 and seg[1] == "QC":
                fields = claim.fields
                fields["patient_last_name"] = seg[3] or None
                fields["patient_first_name"] = seg[4] or None
                fields["member_id"] = seg[9] or fields.get("member_id")
            else:
                claim_segment(seg, sid, n, claim, values, comp)
        elif sid == "REF":
            line = claim.line
            if line is not None and len(seg) > 2 and seg[1] == "6R":
                line["line_id"] = seg[2] or None
        elif sid == "AMT":
            line = claim.line
            if line is not None and len(seg) > 2 and seg[1] == "B6":
                value = values.amounts.get(seg[2])
                line["allowed_amount"] = values.amount(seg, 2, n) if value is None else value
        else:
            claim_segment(seg, sid, n, claim, values, comp)
