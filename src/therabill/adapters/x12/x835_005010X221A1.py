# ruff: noqa: N999  (the module is named after the implementation guide it follows)
"""835 (005010X221A1) health care claim payment/advice: a streaming, tolerant reader.

``iter_835(source)`` yields, for each transaction, a ``RemittanceHeader``, then one
``ClaimPayment`` per CLP as soon as its loop ends, then a ``RemittanceEnd`` with the PLB
adjustments and the transaction's problems, so memory stays flat however many claims a
file holds. ``read_835(source)`` assembles the same events into one ``Remittance`` per
transaction (memory grows with the largest transaction).

Claims in the shapes payers commonly send are read straight from the text, a claim at a
time (``x835_fast``), the others segment by segment (``x835_claims``); both make the same
records. A value that cannot be read inside a claim (a bad amount, a bad date) becomes a
problem of that claim and the rest of the file is read; each claim is checked against the
service line and claim balancing rules, each transaction against the transaction rule.
Structural errors (no ISA, a broken envelope, a file that is not an 835) raise ``X12Error``.
"""

from __future__ import annotations

from collections.abc import Iterator

from therabill.adapters.x12.errors import X12Error
from therabill.adapters.x12.tokenizer import Delimiters, SegmentReader, Source
from therabill.adapters.x12.values import Envelope, amount, date8, el
from therabill.adapters.x12.x835_claims import (
    CACHE_LIMIT,
    CLAIM_ENDERS,
    ENVELOPE_IDS,
    BuiltClaim,
    ClaimSegments,
    OpenClaim,
    Values,
    claim_segment,
    open_claim,
    read_svc,
    record,
)
from therabill.adapters.x12.x835_fast import FastClaims
from therabill.adapters.x12.x835_fast import usable as fast_usable
from therabill.domain.errors import Problem
from therabill.domain.money import ZERO
from therabill.domain.remittance import (
    Adjustment,
    ClaimPayment,
    ProviderAdjustment,
    Remittance,
    RemittanceEnd,
    RemittanceHeader,
    transaction_balance_problems,
)

__all__ = ["RemittanceEvent", "iter_835", "read_835"]

RemittanceEvent = RemittanceHeader | ClaimPayment | RemittanceEnd
"""What ``iter_835`` yields."""


def iter_835(source: Source, *, fast: bool = True) -> Iterator[RemittanceEvent]:
    """Stream the remittance transactions of ``source`` event by event.

    Yields, per transaction: a ``RemittanceHeader``, each ``ClaimPayment`` (with its lines
    and problems), then a ``RemittanceEnd``. ``fast=False`` reads every claim segment by
    segment (the reference the claims read straight from the text are tested against).

    Raises:
        X12Error: input that is not a usable 835 (see module docs).
    """
    reader = SegmentReader(source)
    where = [0]
    try:
        yield from _events(reader, Envelope(), where, fast)
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


def _events(  # noqa: C901 - one loop, one dispatch
    reader: SegmentReader, env: Envelope, where: list[int], fast: bool
) -> Iterator[RemittanceEvent]:
    tx = _Transaction()
    claim: OpenClaim | None = None
    values = Values()
    segments = ClaimSegments(values)
    svc = read_svc
    amounts_get = values.amounts.get
    dates_get = values.dates.get
    # Adjustments are frozen records: one record per distinct (group, reason, amount) text
    # is shared by every claim that has it (bounded, like the value tables).
    adjustments = segments.adjustments
    adjustments_get = adjustments.get
    st_control = ""
    is_835 = False
    seen_835 = False
    n = 0
    envelope_ids = ENVELOPE_IDS
    claim_enders = CLAIM_ENDERS
    readers: dict[Delimiters, FastClaims | None] = {}
    fast_claims: FastClaims | None = None
    stop = None
    declined = accepted = 0

    def finish_claim(built_claim: OpenClaim) -> ClaimPayment:
        built = built_claim.build()
        tx.paid_total += built.paid
        tx.count += 1
        return built

    while (batch := reader.next_batch(stop)) is not None:
        first, segs = batch
        n = first - 1
        delims = reader.delimiters
        comp = delims.component
        if fast and segs[0][0] == "ISA":
            if delims not in readers:
                readers[delims] = FastClaims(delims, segments) if fast_usable(delims) else None
            fast_claims = readers[delims]
            stop = None if fast_claims is None else fast_claims.stop
        for seg in segs:
            n += 1
            sid = seg[0]
            if claim is not None:
                # The hot path: a segment of the current claim. The commonest shapes are
                # read inline (as ``ClaimSegments.read`` reads them); everything else goes
                # through ``claim_segment``.
                try:
                    if sid == "DTM":
                        line = claim.line
                        if len(seg) == 3 and (seg[1] == "472" if line is not None else seg[1] == "050"):
                            day = dates_get(seg[2])
                            if day is None:
                                day = values.date(seg, 2, n)
                            if line is not None:
                                line["service_date"] = day
                            else:
                                claim.fields["received_date"] = day
                        else:
                            claim_segment(seg, sid, n, claim, values, comp)
                        continue
                    if sid == "CAS":
                        if len(seg) == 4 and seg[1] and seg[2]:  # one reason, no quantity
                            key = (seg[1], seg[2], seg[3])
                            adj = adjustments_get(key)
                            if adj is None:
                                value = amounts_get(seg[3])
                                if value is None:
                                    value = values.amount(seg, 3, n)
                                adj = record(
                                    Adjustment,
                                    {"group": seg[1], "reason": seg[2], "amount": value, "quantity": None},
                                )
                                if len(adjustments) < CACHE_LIMIT:
                                    adjustments[key] = adj
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
                        continue
                    if sid == "SVC":
                        svc(seg, n, claim, values, comp)
                        continue
                    if sid == "NM1":
                        if claim.line is None and len(seg) == 10 and seg[1] == "QC":
                            fields = claim.fields
                            fields["patient_last_name"] = seg[3] or None
                            fields["patient_first_name"] = seg[4] or None
                            fields["member_id"] = seg[9] or fields.get("member_id")
                        else:
                            claim_segment(seg, sid, n, claim, values, comp)
                        continue
                    if sid == "REF":
                        line = claim.line
                        if line is not None and len(seg) > 2 and seg[1] == "6R":
                            line["line_id"] = seg[2] or None
                        continue
                    if sid == "AMT":
                        line = claim.line
                        if line is not None and len(seg) > 2 and seg[1] == "B6":
                            value = amounts_get(seg[2])
                            line["allowed_amount"] = values.amount(seg, 2, n) if value is None else value
                        continue
                    if sid not in claim_enders:
                        claim_segment(seg, sid, n, claim, values, comp)
                        continue
                except X12Error as exc:
                    claim.problems += exc.problems
                    continue
                except Exception:
                    where[0] = n
                    raise
            where[0] = n
            if sid == "CLP" and claim is not None and is_835 and tx.head is not None and env.in_transaction:
                # the next claim of the same transaction: what the general path below does
                built = finish_claim(claim)
                claim = open_claim(seg, n, values)
                yield built
                continue
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
                claim = open_claim(seg, n, values)
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
        if fast_claims is None or not (is_835 and tx.head is not None and env.in_transaction):
            continue
        # Claims read straight from the text (the general path above reads what this declines).
        text, pos, end = reader.window()
        common, read_claim = fast_claims.common, fast_claims.claim
        first = n
        done: ClaimPayment | None = None  # a claim read whole: what follows it finishes it
        while pos < end:
            try:
                got = common(text, pos, n)
            except Exception:  # a value to word as a problem: the longer way
                got = None
            if got is not None:  # the commonest case, in fewest steps
                whole, pos, last = got
                accepted += 1
                where[0] = n + 1  # the CLP
                n = last
                if done is not None:
                    previous = done
                elif claim is not None:
                    previous = claim.build()
                    claim = None
                else:
                    previous = None
                done = whole
                if previous is not None:
                    tx.paid_total += previous.paid  # finish_claim, inlined
                    tx.count += 1
                    yield previous
                continue
            opened: OpenClaim | None = None
            slow = read_claim(text, pos, n)
            if slow is None:
                after = fast_claims.after_claim(text, pos)
                if after < 0:
                    declined += fast_claims.at_claim(text, pos)  # not the end of a run
                    if declined > 16 and declined > accepted:
                        fast_claims = readers[delims] = None  # an unusual file: the general path
                        stop = None
                    break
                n += 1  # LX: ends the claim
                where[0] = n
                pos = after
            else:
                opened, pos, last = slow
                accepted += 1
                where[0] = n + 1  # the CLP
                n = last
            previous = done if done is not None else None if claim is None else claim.build()
            done, claim = None, opened
            if previous is not None:
                tx.paid_total += previous.paid  # finish_claim, inlined
                tx.count += 1
                yield previous
        if done is not None:
            claim = BuiltClaim(done)
        reader.advance(pos, n - first)
    where[0] = n
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
