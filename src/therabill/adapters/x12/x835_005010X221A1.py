# ruff: noqa: N999  (the module is named after the implementation guide it follows)
"""835 (005010X221A1) health care claim payment/advice: a streaming, tolerant reader.

``iter_835(source)`` yields, for each transaction, a ``RemittanceHeader``, then one
``ClaimPayment`` per CLP as soon as its loop ends, then a ``RemittanceEnd`` with the PLB
adjustments and the transaction's problems, so memory stays flat however many claims a
file holds. ``read_835(source)`` assembles the same events into one ``Remittance`` per
transaction (memory grows with the largest transaction).

A value that cannot be read inside a claim (a bad amount, a bad date) becomes a problem of
that claim and the rest of the file is read; each claim is checked against the service
line and claim balancing rules, each transaction against the transaction rule. Structural
errors (no ISA, a broken envelope, a file that is not an 835) raise ``X12Error``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

from therabill.adapters.x12.errors import X12Error, location
from therabill.adapters.x12.tokenizer import SegmentReader, Source
from therabill.adapters.x12.values import Envelope, amount, date8, el, quantity
from therabill.domain.errors import Problem
from therabill.domain.money import ZERO
from therabill.domain.remittance import (
    REVERSAL_STATUS,
    Adjustment,
    ClaimPayment,
    ProviderAdjustment,
    Remittance,
    RemittanceEnd,
    RemittanceHeader,
    ServicePayment,
    claim_balance_problems,
    transaction_balance_problems,
)

__all__ = ["RemittanceEvent", "iter_835", "read_835"]

RemittanceEvent = RemittanceHeader | ClaimPayment | RemittanceEnd
"""What ``iter_835`` yields."""

_ONE = Decimal(1)
_MAX_CAS_TRIPLES = 6
_CACHE_LIMIT = 4096
"""Distinct element texts remembered per conversion (bounded: memory stays flat)."""

_ENVELOPE_IDS = frozenset(("ISA", "GS", "ST", "SE", "GE", "IEA"))
_CLAIM_ENDERS = _ENVELOPE_IDS | {"CLP", "LX", "PLB"}
"""Segments that end a claim loop (or belong to the envelope)."""


class _Values:
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
            if len(self.amounts) < _CACHE_LIMIT:
                self.amounts[text] = value
        return value

    def quantity(self, seg: list[str], i: int, n: int) -> Decimal:
        text = seg[i] if i < len(seg) else ""
        value = self.quantities.get(text)
        if value is None:
            value = quantity(seg, i, n)
            if len(self.quantities) < _CACHE_LIMIT:
                self.quantities[text] = value
        return value

    def date(self, seg: list[str], i: int, n: int) -> date:
        text = seg[i] if i < len(seg) else ""
        value = self.dates.get(text)
        if value is None:
            value = date8(seg, i, n)
            if len(self.dates) < _CACHE_LIMIT:
                self.dates[text] = value
        return value


class _Line:
    __slots__ = (
        "adj_total",
        "adjustments",
        "allowed",
        "charge",
        "code",
        "date_end",
        "date_start",
        "line_id",
        "modifiers",
        "n",
        "orig_code",
        "orig_mods",
        "orig_units",
        "paid",
        "qualifier",
        "remarks",
        "units",
    )

    def __init__(self, n: int) -> None:
        self.n = n
        self.code = ""
        self.qualifier = ""
        self.modifiers: tuple[str, ...] = ()
        self.charge = ZERO
        self.paid = ZERO
        self.units = _ONE
        self.orig_code: str | None = None
        self.orig_mods: tuple[str, ...] = ()
        self.orig_units: Decimal | None = None
        self.date_start: date | None = None
        self.date_end: date | None = None
        self.line_id: str | None = None
        self.allowed: Decimal | None = None
        self.adjustments: list[Adjustment] = []
        self.adj_total = ZERO
        self.remarks: list[str] = []

    def build(self) -> ServicePayment:
        return ServicePayment(
            self.code,
            self.qualifier,
            self.modifiers,
            self.charge,
            self.paid,
            self.units,
            self.orig_code,
            self.orig_mods,
            self.orig_units,
            self.date_start,
            self.date_end,
            self.line_id,
            self.allowed,
            tuple(self.adjustments),
            tuple(self.remarks),
            self.n,
        )


class _Claim:
    __slots__ = (
        "adj_total",
        "adjustments",
        "charge",
        "claim_id",
        "crossover",
        "facility",
        "filing",
        "first",
        "frequency",
        "last",
        "line_adj_total",
        "line_charges",
        "lines",
        "line",
        "lines_balanced",
        "member",
        "n",
        "paid",
        "pcn",
        "problems",
        "received",
        "remarks",
        "rendering",
        "resp",
        "stmt_from",
        "stmt_to",
        "status",
    )

    def __init__(self, n: int) -> None:
        self.n = n
        self.claim_id = ""
        self.status = ""
        self.charge = ZERO
        self.paid = ZERO
        self.resp = ZERO
        self.filing: str | None = None
        self.pcn: str | None = None
        self.facility: str | None = None
        self.frequency: str | None = None
        self.last: str | None = None
        self.first: str | None = None
        self.member: str | None = None
        self.crossover: str | None = None
        self.rendering: str | None = None
        self.stmt_from: date | None = None
        self.stmt_to: date | None = None
        self.received: date | None = None
        self.adjustments: list[Adjustment] = []
        self.adj_total = ZERO
        self.line_adj_total = ZERO
        self.line_charges = ZERO
        self.lines_balanced = True
        self.line: _Line | None = None
        self.lines: list[ServicePayment] = []
        self.remarks: list[str] = []
        self.problems: list[Problem] = []

    def add_line(self, line: _Line) -> None:
        self.lines.append(line.build())
        self.line_adj_total += line.adj_total
        self.line_charges += line.charge
        if line.charge - line.adj_total != line.paid:
            self.lines_balanced = False

    def build(self) -> ClaimPayment:
        claim = ClaimPayment(
            self.claim_id,
            self.status,
            self.charge,
            self.paid,
            self.resp,
            self.filing,
            self.pcn,
            self.facility,
            self.frequency,
            self.last,
            self.first,
            self.member,
            self.crossover,
            self.rendering,
            self.stmt_from,
            self.stmt_to,
            self.received,
            tuple(self.adjustments),
            tuple(self.lines),
            tuple(self.remarks),
            self.n,
        )
        # The running sums give the three balancing rules without a second pass; when one
        # fails (or a value could not be read), the domain rules word the problems.
        if (
            not self.problems
            and self.lines_balanced
            and self.charge - (self.adj_total + self.line_adj_total) == self.paid
            and (not self.lines or self.status == REVERSAL_STATUS or self.line_charges == self.charge)
        ):
            return claim
        problems = self.problems + claim_balance_problems(claim)
        if problems:
            return dataclasses.replace(claim, problems=tuple(problems))
        return claim


def _adjustments(seg: list[str], n: int, values: _Values) -> list[Adjustment]:
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
        out.append(Adjustment(group, reason, values.amount(seg, i + 1, n), qty))
    if not out:
        raise X12Error(
            "CAS has no adjustment", code="x12-element-missing", segment_number=n, segment_id="CAS", element=2
        )
    return out


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


def iter_835(source: Source) -> Iterator[RemittanceEvent]:
    """Stream the remittance transactions of ``source`` event by event.

    Yields, per transaction: a ``RemittanceHeader``, each ``ClaimPayment`` (with its lines
    and problems), then a ``RemittanceEnd``.

    Raises:
        X12Error: input that is not a usable 835 (see module docs).
    """
    reader = SegmentReader(source)
    where = [0]
    try:
        yield from _events(reader, Envelope(), where)
    except X12Error:
        raise
    except Exception as exc:  # a defect here must still not escape as a traceback
        raise X12Error(
            f"unreadable segment ({type(exc).__name__}: {exc})",
            code="x12-internal",
            segment_number=where[0],
        ) from exc


class _Transaction:
    """The state of the 835 transaction being read."""

    __slots__ = ("count", "head", "header", "paid_total", "party", "plbs", "problems")

    def __init__(self) -> None:
        self.header: dict[str, object] | None = None
        self.head: RemittanceHeader | None = None
        self.plbs: list[ProviderAdjustment] = []
        self.problems: list[Problem] = []
        self.paid_total = ZERO
        self.count = 0
        self.party = ""  # the last N1 entity (PR or PE)

    def make_head(self) -> RemittanceHeader:
        header = self.header
        assert header is not None
        if not header.get("payer_id"):
            header["payer_id"] = header.get("trace_originator")
        self.head = RemittanceHeader(**header)  # type: ignore[arg-type]
        return self.head


def _bpr(seg: list[str], n: int, tx: _Transaction, env: Envelope, st_control: str) -> None:
    try:
        pay_date = date8(seg, 16, n) if el(seg, 16) else None
    except X12Error as exc:
        tx.problems.extend(exc.problems)
        pay_date = None
    try:
        pay_amount = amount(seg, 2, n)
    except X12Error as exc:
        tx.problems.extend(exc.problems)
        pay_amount = ZERO
    tx.header = {
        "handling_code": el(seg, 1),
        "payment_amount": pay_amount,
        "credit_debit": el(seg, 3) or None,
        "payment_method": el(seg, 4) or None,
        "payment_date": pay_date,
        "trace_number": None,
        "control_number": st_control,
        "interchange_control_number": env.interchange_control_number,
        "group_control_number": env.group_control_number,
        "segment_number": n,
    }


def _header_segment(seg: list[str], n: int, tx: _Transaction) -> None:
    """1000A/1000B and header references, before the first claim."""
    header = tx.header
    assert header is not None
    sid = seg[0]
    if sid == "TRN":
        header["trace_number"] = el(seg, 2) or None
        header["trace_originator"] = el(seg, 3) or None
    elif sid == "DTM" and el(seg, 1) == "405":
        try:
            header["production_date"] = date8(seg, 2, n)
        except X12Error as exc:
            tx.problems.extend(exc.problems)
    elif sid == "N1":
        tx.party = el(seg, 1)
        if tx.party == "PR":
            header["payer_name"] = el(seg, 2) or None
            if el(seg, 4) and not header.get("payer_id"):
                header["payer_id"] = el(seg, 4)
        elif tx.party == "PE":
            header["payee_name"] = el(seg, 2) or None
            header["payee_id_qualifier"] = el(seg, 3) or None
            header["payee_id"] = el(seg, 4) or None
    elif sid == "REF" and tx.party == "PR" and el(seg, 1) == "2U":
        header["payer_id"] = el(seg, 2) or None


def _claim_segment(  # noqa: C901 - one dispatch over the 2100/2110 segments
    seg: list[str], sid: str, n: int, claim: _Claim, values: _Values, comp: str
) -> None:
    """Read one segment of a claim loop (anything but CLP) into ``claim``."""
    size = len(seg)
    line = claim.line
    if sid == "SVC":
        if line is not None:
            claim.add_line(line)
        claim.line = line = _Line(n)
        line.qualifier, line.code, line.modifiers = _procedure(seg, 1, n, comp)
        line.charge = values.amount(seg, 2, n)
        line.paid = values.amount(seg, 3, n)
        if size > 5 and seg[5]:
            line.units = values.quantity(seg, 5, n)
        if size > 6 and seg[6]:
            _, line.orig_code, line.orig_mods = _procedure(seg, 6, n, comp)
        if size > 7 and seg[7]:
            line.orig_units = values.quantity(seg, 7, n)
    elif sid == "DTM":
        q = seg[1] if size > 1 else ""
        if line is not None:
            if q == "472" or q == "150":
                line.date_start = values.date(seg, 2, n)
            elif q == "151":
                line.date_end = values.date(seg, 2, n)
        elif q == "232":
            claim.stmt_from = values.date(seg, 2, n)
        elif q == "233":
            claim.stmt_to = values.date(seg, 2, n)
        elif q == "050":
            claim.received = values.date(seg, 2, n)
    elif sid == "CAS":
        adjustments = _adjustments(seg, n, values)
        total = ZERO
        for adj in adjustments:
            total += adj.amount
        if line is not None:
            line.adjustments.extend(adjustments)
            line.adj_total += total
        else:
            claim.adjustments.extend(adjustments)
            claim.adj_total += total
    elif sid == "REF":
        if line is not None and size > 1 and seg[1] == "6R":
            line.line_id = (seg[2] if size > 2 else "") or None
    elif sid == "AMT":
        if line is not None and size > 1 and seg[1] == "B6":
            line.allowed = values.amount(seg, 2, n)
    elif sid == "LQ":
        if line is not None and el(seg, 2):
            line.remarks.append(seg[2])
    elif sid == "NM1":
        if line is None:
            q = el(seg, 1)
            if q == "QC":
                claim.last, claim.first = el(seg, 3) or None, el(seg, 4) or None
                claim.member = el(seg, 9) or claim.member
            elif q == "IL" and claim.member is None:
                claim.member = el(seg, 9) or None
            elif q == "TT":
                claim.crossover = el(seg, 3) or el(seg, 9) or "unnamed payer"
            elif q == "82":
                claim.rendering = el(seg, 9) or None
    elif sid in ("MOA", "MIA") and line is None:
        idx = (3, 4, 5, 6, 7) if sid == "MOA" else (5, 20, 21, 22, 23)
        claim.remarks.extend(el(seg, i) for i in idx if el(seg, i))


def _events(  # noqa: C901 - one loop, one dispatch
    reader: SegmentReader, env: Envelope, where: list[int]
) -> Iterator[RemittanceEvent]:
    tx = _Transaction()
    claim: _Claim | None = None
    values = _Values()
    st_control = ""
    is_835 = False
    seen_835 = False
    n = 0
    envelope_ids = _ENVELOPE_IDS
    claim_enders = _CLAIM_ENDERS
    claim_segment = _claim_segment
    amounts_get = values.amounts.get
    dates_get = values.dates.get

    def finish_claim(built_claim: _Claim) -> ClaimPayment:
        if built_claim.line is not None:
            built_claim.add_line(built_claim.line)
            built_claim.line = None
        built = built_claim.build()
        tx.paid_total += built.paid
        tx.count += 1
        return built

    for first, segs in reader.batches():
        n = first - 1
        comp = reader.delimiters.component
        for seg in segs:
            n += 1
            sid = seg[0]
            if claim is not None:
                # The hot path: a segment of the current claim. The commonest shapes are
                # read inline; everything else goes through ``_claim_segment``.
                try:
                    if sid == "DTM":
                        line = claim.line
                        if line is not None and len(seg) == 3 and seg[1] == "472":
                            day = dates_get(seg[2])
                            line.date_start = values.date(seg, 2, n) if day is None else day
                        else:
                            claim_segment(seg, sid, n, claim, values, comp)
                        continue
                    if sid == "CAS":
                        if len(seg) == 4 and seg[1] and seg[2]:  # one reason, no quantity
                            value = amounts_get(seg[3])
                            if value is None:
                                value = values.amount(seg, 3, n)
                            adj = Adjustment(seg[1], seg[2], value, None)
                            line = claim.line
                            if line is not None:
                                line.adjustments.append(adj)
                                line.adj_total += value
                            else:
                                claim.adjustments.append(adj)
                                claim.adj_total += value
                        else:
                            claim_segment(seg, sid, n, claim, values, comp)
                        continue
                    if sid == "REF":
                        line = claim.line
                        if line is not None and len(seg) > 2 and seg[1] == "6R":
                            line.line_id = seg[2] or None
                        continue
                    if sid == "AMT":
                        line = claim.line
                        if line is not None and len(seg) > 2 and seg[1] == "B6":
                            value = amounts_get(seg[2])
                            line.allowed = values.amount(seg, 2, n) if value is None else value
                        continue
                    if sid not in claim_enders:
                        claim_segment(seg, sid, n, claim, values, comp)
                        continue
                except X12Error as exc:
                    claim.problems.extend(exc.problems)
                    continue
                except Exception:
                    where[0] = n
                    raise
            where[0] = n
            if sid in envelope_ids:
                if sid == "ST":
                    env.st(seg, n)
                    is_835 = el(seg, 1) == "835"
                    st_control = el(seg, 2)
                    if is_835:
                        seen_835 = True
                        tx = _Transaction()
                        claim = None
                    continue
                if sid == "SE" and is_835:
                    if claim is not None:
                        built = finish_claim(claim)
                        claim = None
                        yield built
                    head = tx.head
                    if head is None:
                        if tx.header is None:
                            raise X12Error(
                                "the transaction has no BPR",
                                code="x12-segment-missing",
                                segment_number=n,
                                segment_id="BPR",
                            )
                        head = tx.make_head()
                        yield head
                    problems = tx.problems + env.se(seg, n)
                    problems += transaction_balance_problems(head, tx.paid_total, tx.plbs)
                    yield RemittanceEnd(head, tuple(tx.plbs), tx.count, tx.paid_total, tuple(problems))
                    is_835 = False
                    continue
                env.handle(seg, n)
                continue
            if not env.in_transaction:
                raise X12Error(
                    f"{sid} outside a transaction set (before ST or after SE)",
                    code="x12-envelope",
                    segment_number=n,
                    segment_id=sid,
                )
            if not is_835:
                continue
            if tx.header is None:
                if sid != "BPR":
                    raise X12Error(
                        f"the 835 must begin with BPR, found {sid}",
                        code="x12-segment-order",
                        segment_number=n,
                        segment_id=sid,
                    )
                _bpr(seg, n, tx, env, st_control)
                continue
            if tx.head is None and (sid == "LX" or sid == "CLP" or sid == "PLB"):
                yield tx.make_head()
            if sid == "CLP":
                if claim is not None:
                    yield finish_claim(claim)
                claim = _clp(seg, n, values)
                continue
            if claim is not None and (sid == "LX" or sid == "PLB"):
                built = finish_claim(claim)
                claim = None
                yield built
            if sid == "PLB":
                try:
                    tx.plbs.extend(_plb(seg, n, comp))
                except X12Error as exc:
                    tx.problems.extend(exc.problems)
                continue
            if tx.head is None:
                _header_segment(seg, n, tx)
    where[0] = n
    env.end(n)
    if not seen_835:
        raise X12Error("the file holds no 835 transaction", code="x12-wrong-transaction", segment_number=n)


def _clp(seg: list[str], n: int, values: _Values) -> _Claim:
    claim = _Claim(n)
    size = len(seg)
    claim.claim_id = seg[1] if size > 1 else ""
    claim.status = seg[2] if size > 2 else ""
    if not claim.claim_id:
        claim.problems.append(
            Problem("x12-element-missing", location(n, "CLP", 1), "claim id (CLP01) is missing")
        )
    try:
        claim.charge = values.amount(seg, 3, n)
    except X12Error as exc:
        claim.problems.extend(exc.problems)
    try:
        claim.paid = values.amount(seg, 4, n)
    except X12Error as exc:
        claim.problems.extend(exc.problems)
    try:
        claim.resp = values.amount(seg, 5, n) if size > 5 and seg[5] else ZERO
    except X12Error as exc:
        claim.problems.extend(exc.problems)
    claim.filing = (seg[6] if size > 6 else "") or None
    claim.pcn = (seg[7] if size > 7 else "") or None
    claim.facility = (seg[8] if size > 8 else "") or None
    claim.frequency = (seg[9] if size > 9 else "") or None
    return claim


def _plb(seg: list[str], n: int, comp: str) -> list[ProviderAdjustment]:
    provider = el(seg, 1)
    when = date8(seg, 2, n) if el(seg, 2) else None
    out: list[ProviderAdjustment] = []
    for k in range(6):
        i = 3 + 2 * k
        if not el(seg, i):
            continue
        reason, _, reference = el(seg, i).partition(comp)
        out.append(ProviderAdjustment(provider, when, reason, reference or None, amount(seg, i + 1, n), n))
    if not out:
        raise X12Error(
            "PLB has no adjustment", code="x12-element-missing", segment_number=n, segment_id="PLB", element=3
        )
    return out


def read_835(source: Source) -> Iterator[Remittance]:
    """Read ``source`` into one ``Remittance`` per 835 transaction.

    The payer id falls back to TRN03 (the originating company id) when neither REF*2U nor
    N1*PR N104 gives it.

    Raises:
        X12Error: input that is not a usable 835.
    """
    claims: list[ClaimPayment] = []
    for event in iter_835(source):
        if isinstance(event, RemittanceHeader):
            claims = []
        elif isinstance(event, ClaimPayment):
            claims.append(event)
        else:
            yield Remittance(event.header, tuple(claims), event.provider_adjustments, event.problems)
            claims = []
