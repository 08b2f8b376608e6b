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


class _Line:
    __slots__ = (
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
        self.remarks: list[str] = []

    def build(self) -> ServicePayment:
        return ServicePayment(
            code=self.code,
            qualifier=self.qualifier,
            modifiers=self.modifiers,
            charge=self.charge,
            paid=self.paid,
            units=self.units,
            original_code=self.orig_code,
            original_modifiers=self.orig_mods,
            original_units=self.orig_units,
            service_date=self.date_start,
            service_date_end=self.date_end,
            line_id=self.line_id,
            allowed_amount=self.allowed,
            adjustments=tuple(self.adjustments),
            remarks=tuple(self.remarks),
            segment_number=self.n,
        )


class _Claim:
    __slots__ = (
        "adjustments",
        "charge",
        "claim_id",
        "crossover",
        "facility",
        "filing",
        "first",
        "frequency",
        "last",
        "lines",
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
        self.lines: list[ServicePayment] = []
        self.remarks: list[str] = []
        self.problems: list[Problem] = []

    def build(self) -> ClaimPayment:
        claim = ClaimPayment(
            claim_id=self.claim_id,
            status=self.status,
            charge=self.charge,
            paid=self.paid,
            patient_responsibility=self.resp,
            filing_indicator=self.filing,
            payer_claim_control_number=self.pcn,
            facility_code=self.facility,
            frequency=self.frequency,
            patient_last_name=self.last,
            patient_first_name=self.first,
            member_id=self.member,
            crossover_payer=self.crossover,
            rendering_npi=self.rendering,
            statement_from=self.stmt_from,
            statement_to=self.stmt_to,
            received_date=self.received,
            adjustments=tuple(self.adjustments),
            lines=tuple(self.lines),
            remarks=tuple(self.remarks),
            segment_number=self.n,
        )
        problems = self.problems + claim_balance_problems(claim)
        if problems:
            return dataclasses.replace(claim, problems=tuple(problems))
        return claim


def _adjustments(seg: list[str], n: int, comp: str) -> list[Adjustment]:
    del comp
    group = el(seg, 1)
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
        qty = quantity(seg, i + 2, n) if el(seg, i + 2) else None
        out.append(Adjustment(group, reason, amount(seg, i + 1, n), qty))
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
    return parts[0], parts[1], tuple(m for m in parts[2:6] if m)


def iter_835(source: Source) -> Iterator[RemittanceEvent]:
    """Stream the remittance transactions of ``source`` event by event.

    Yields, per transaction: a ``RemittanceHeader``, each ``ClaimPayment`` (with its lines
    and problems), then a ``RemittanceEnd``.

    Raises:
        X12Error: input that is not a usable 835 (see module docs).
    """
    reader = SegmentReader(source)
    try:
        yield from _events(reader, Envelope())
    except X12Error:
        raise
    except Exception as exc:  # a defect here must still not escape as a traceback
        raise X12Error(
            f"unreadable segment ({type(exc).__name__}: {exc})",
            code="x12-internal",
            segment_number=reader.number,
        ) from exc


def _events(reader: SegmentReader, env: Envelope) -> Iterator[RemittanceEvent]:  # noqa: C901 - one loop, one dispatch
    header: dict[str, object] | None = None
    head: RemittanceHeader | None = None
    claim: _Claim | None = None
    line: _Line | None = None
    plbs: list[ProviderAdjustment] = []
    tx_problems: list[Problem] = []
    paid_total = ZERO
    count = 0
    party = ""  # the last N1 entity (PR or PE)
    st_control = ""
    is_835 = False
    seen_835 = False
    n = 0

    def finish_line() -> None:
        nonlocal line
        if line is not None and claim is not None:
            claim.lines.append(line.build())
        line = None

    def make_head() -> RemittanceHeader:
        assert header is not None
        if not header.get("payer_id"):
            header["payer_id"] = header.get("trace_originator")
        return RemittanceHeader(**header)  # type: ignore[arg-type]

    for seg in reader:
        n = reader.number
        sid = seg[0]
        if sid in ("ISA", "GS", "ST", "SE", "GE", "IEA"):
            if sid == "ST":
                env.st(seg, n)
                is_835 = el(seg, 1) == "835"
                st_control = el(seg, 2)
                if is_835:
                    seen_835 = True
                    header = None
                    head = None
                    claim = None
                    line = None
                    plbs = []
                    tx_problems = []
                    paid_total = ZERO
                    count = 0
                    party = ""
                continue
            if sid == "SE" and is_835:
                if claim is not None:
                    finish_line()
                    built = claim.build()
                    paid_total += built.paid
                    count += 1
                    claim = None
                    yield built
                if head is None:
                    if header is None:
                        raise X12Error(
                            "the transaction has no BPR",
                            code="x12-segment-missing",
                            segment_number=n,
                            segment_id="BPR",
                        )
                    head = make_head()
                    yield head
                se_problems = env.se(seg, n)
                problems = tx_problems + se_problems
                problems += transaction_balance_problems(head, paid_total, plbs)
                yield RemittanceEnd(head, tuple(plbs), count, paid_total, tuple(problems))
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
        if header is None:
            if sid != "BPR":
                raise X12Error(
                    f"the 835 must begin with BPR, found {sid}",
                    code="x12-segment-order",
                    segment_number=n,
                    segment_id=sid,
                )
            try:
                pay_date = date8(seg, 16, n) if el(seg, 16) else None
            except X12Error as exc:
                tx_problems.extend(exc.problems)
                pay_date = None
            try:
                pay_amount = amount(seg, 2, n)
            except X12Error as exc:
                tx_problems.extend(exc.problems)
                pay_amount = ZERO
            header = {
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
            continue
        if head is None and sid in ("LX", "CLP", "PLB"):
            head = make_head()
            yield head
        if claim is not None:
            try:
                if sid == "SVC":
                    finish_line()
                    comp = reader.delimiters.component
                    line = _Line(n)
                    line.qualifier, line.code, line.modifiers = _procedure(seg, 1, n, comp)
                    line.charge = amount(seg, 2, n)
                    line.paid = amount(seg, 3, n)
                    line.units = quantity(seg, 5, n, default=_ONE)
                    if el(seg, 6):
                        _, line.orig_code, line.orig_mods = _procedure(seg, 6, n, comp)
                    if el(seg, 7):
                        line.orig_units = quantity(seg, 7, n)
                    continue
                if sid == "CAS":
                    adj = _adjustments(seg, n, reader.delimiters.component)
                    (line.adjustments if line is not None else claim.adjustments).extend(adj)
                    continue
                if sid == "DTM":
                    q = el(seg, 1)
                    if line is not None:
                        if q in ("472", "150"):
                            line.date_start = date8(seg, 2, n)
                        elif q == "151":
                            line.date_end = date8(seg, 2, n)
                    elif q == "232":
                        claim.stmt_from = date8(seg, 2, n)
                    elif q == "233":
                        claim.stmt_to = date8(seg, 2, n)
                    elif q == "050":
                        claim.received = date8(seg, 2, n)
                    continue
                if sid == "REF":
                    if line is not None and el(seg, 1) == "6R":
                        line.line_id = el(seg, 2) or None
                    continue
                if sid == "AMT":
                    if line is not None and el(seg, 1) == "B6":
                        line.allowed = amount(seg, 2, n)
                    continue
                if sid == "LQ":
                    if line is not None and el(seg, 2):
                        line.remarks.append(el(seg, 2))
                    continue
                if sid == "NM1" and line is None:
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
                    continue
                if sid in ("MOA", "MIA") and line is None:
                    idx = (3, 4, 5, 6, 7) if sid == "MOA" else (5, 20, 21, 22, 23)
                    claim.remarks.extend(el(seg, i) for i in idx if el(seg, i))
                    continue
            except X12Error as exc:
                claim.problems.extend(exc.problems)
                continue
        if sid == "CLP":
            if claim is not None:
                finish_line()
                built = claim.build()
                paid_total += built.paid
                count += 1
                yield built
            claim = _Claim(n)
            line = None
            claim.claim_id = el(seg, 1)
            claim.status = el(seg, 2)
            if not claim.claim_id:
                claim.problems.append(
                    Problem("x12-element-missing", location(n, "CLP", 1), "claim id (CLP01) is missing")
                )
            for i, attr in ((3, "charge"), (4, "paid")):
                try:
                    setattr(claim, attr, amount(seg, i, n))
                except X12Error as exc:
                    claim.problems.extend(exc.problems)
            try:
                claim.resp = amount(seg, 5, n, default=ZERO)
            except X12Error as exc:
                claim.problems.extend(exc.problems)
            claim.filing = el(seg, 6) or None
            claim.pcn = el(seg, 7) or None
            claim.facility = el(seg, 8) or None
            claim.frequency = el(seg, 9) or None
            continue
        if sid in ("LX", "PLB") and claim is not None:
            finish_line()
            built = claim.build()
            paid_total += built.paid
            count += 1
            claim = None
            yield built
        if sid == "PLB":
            try:
                plbs.extend(_plb(seg, n, reader.delimiters.component))
            except X12Error as exc:
                tx_problems.extend(exc.problems)
            continue
        if head is None and header is not None:
            # 1000A/1000B and header references, before the first claim.
            if sid == "TRN":
                header["trace_number"] = el(seg, 2) or None
                header["trace_originator"] = el(seg, 3) or None
            elif sid == "DTM" and el(seg, 1) == "405":
                try:
                    header["production_date"] = date8(seg, 2, n)
                except X12Error as exc:
                    tx_problems.extend(exc.problems)
            elif sid == "N1":
                party = el(seg, 1)
                if party == "PR":
                    header["payer_name"] = el(seg, 2) or None
                    if el(seg, 4) and not header.get("payer_id"):
                        header["payer_id"] = el(seg, 4)
                elif party == "PE":
                    header["payee_name"] = el(seg, 2) or None
                    header["payee_id_qualifier"] = el(seg, 3) or None
                    header["payee_id"] = el(seg, 4) or None
            elif sid == "REF" and party == "PR" and el(seg, 1) == "2U":
                header["payer_id"] = el(seg, 2) or None
            continue
    env.end(n)
    if not seen_835:
        raise X12Error("the file holds no 835 transaction", code="x12-wrong-transaction", segment_number=n)


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
