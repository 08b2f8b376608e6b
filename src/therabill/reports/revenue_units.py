"""The revenue report's average paid per unit (97124 and 97140 by payer), beside the fee schedule.

A claim line counts for a payer when what the payer paid on it in the range (insurance payments
posted in the range, net) is positive; the lines' units and payments are summed per payer and
code. The lines paid wholly inside the range (first and last payment day within it) come summed
from ``ledger_unit_totals``; only the lines paid on both sides of one of the range's bounds are
read from the entries themselves. ``reference_rows`` is the plain query over every entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from therabill.adapters.db.ledger_tables import ledger_entries as le
from therabill.adapters.db.summary_tables import ledger_line_payments as lines
from therabill.adapters.db.summary_tables import ledger_unit_totals as units
from therabill.adapters.db.tables import claim_lines, practices
from therabill.domain.money import D
from therabill.refdata.fees import default_fees
from therabill.reports.common import Names, ReportQuery, money, timestamp_range

PER_UNIT_CODES = ("97124", "97140")
"""Codes whose average paid per unit is shown beside the fee schedule."""

Sums = dict[tuple[str | None, str], tuple[int, int, int]]
"""(payer id or ``None``, code) → (lines, units, paid cents)."""


@dataclass(frozen=True, slots=True)
class PerUnit:
    """Average insurance payment per unit of a code from one payer.

    Attributes:
        payer: the payer's name.
        code: the procedure code.
        lines: claim lines of the code with a payment from the payer.
        units: their units.
        paid: what the payer paid on them.
        average: paid / units.
        practice_fee: the practice's fee for one unit.
        medicare_amount: the Medicare amount of the imported fee schedule, if any.
    """

    payer: str
    code: str
    lines: int
    units: int
    paid: Decimal
    average: Decimal | None
    practice_fee: Decimal | None
    medicare_amount: Decimal | None


def _add(out: Sums, payer: Any, code: str, n: Any, u: Any, paid: Any) -> None:
    if not n:  # kept rows whose lines were all taken back out
        return
    key = (payer or None, code)
    a = out.get(key, (0, 0, 0))
    out[key] = (a[0] + int(n or 0), a[1] + int(u or 0), a[2] + int(paid or 0))


def reference_rows(conn: Connection, q: ReportQuery) -> Sums:
    """Paid per unit from every insurance payment of the range (one grouping of the entries)."""
    paid = func.sum(le.c.amount_cents)
    inner = (
        select(
            le.c.payer_id.label("payer"),
            claim_lines.c.code.label("code"),
            claim_lines.c.units.label("units"),
            paid.label("paid"),
        )
        .select_from(le.join(claim_lines, claim_lines.c.id == le.c.claim_line_id))
        .where(
            le.c.practice_id == q.practice_id,
            le.c.kind == "insurance-payment",
            claim_lines.c.code.in_(PER_UNIT_CODES),
            *timestamp_range(le.c.posted_at, q),
            *([le.c.payer_id == q.payer_id] if q.payer_id else []),
        )
        .group_by(le.c.payer_id, claim_lines.c.code, claim_lines.c.id, claim_lines.c.units)
        .having(paid > 0)
        .subquery()
    )
    stmt = select(
        inner.c.payer, inner.c.code, func.count(), func.sum(inner.c.units), func.sum(inner.c.paid)
    ).group_by(inner.c.payer, inner.c.code)
    out: Sums = {}
    for payer, code, n, u, cents in conn.execute(stmt):
        _add(out, payer, code, n, u, cents)
    return out


def kept_rows(conn: Connection, q: ReportQuery) -> Sums:
    """Paid per unit from the kept line payments (the same figures as ``reference_rows``)."""
    first, last = q.date_from, q.date_to
    inside = [units.c.practice_id == q.practice_id, units.c.code.in_(PER_UNIT_CODES)]
    if first:
        inside.append(units.c.first_day >= first)
    if last:
        inside.append(units.c.last_day <= last)
    if q.payer_id:
        inside.append(units.c.payer_id == q.payer_id)
    out: Sums = {}
    whole = (
        select(
            units.c.payer_id,
            units.c.code,
            func.sum(units.c.lines),
            func.sum(units.c.units),
            func.sum(units.c.paid_cents),
        )
        .where(*inside)
        .group_by(units.c.payer_id, units.c.code)
    )
    for payer, code, n, u, cents in conn.execute(whole):
        _add(out, payer, code, n, u, cents)
    for payer, code, n, u, cents in conn.execute(_straddling(q, first, last)) if (first or last) else ():
        _add(out, payer, code, n, u, cents)
    return out


def _straddling(q: ReportQuery, first: date | None, last: date | None) -> Any:
    """The lines paid both before and inside the range, or inside and after it, summed from
    their entries in the range (per payer and code, the lines whose net payment is positive)."""
    bounds = []
    if first:
        bounds.append(and_(lines.c.first_day < first, lines.c.last_day >= first))
    if last:
        bounds.append(and_(lines.c.first_day <= last, lines.c.last_day > last))
    spread = (
        select(lines.c.payer_id, lines.c.claim_line_id, lines.c.code, lines.c.units)
        .where(
            lines.c.practice_id == q.practice_id,
            lines.c.first_day != lines.c.last_day,
            lines.c.code.in_(PER_UNIT_CODES),
            or_(*bounds),
            *([lines.c.payer_id == q.payer_id] if q.payer_id else []),
        )
        .subquery()
    )
    paid = func.sum(le.c.amount_cents)
    per_line = (
        select(spread.c.payer_id, spread.c.code, spread.c.units, paid.label("paid"))
        .select_from(
            spread.join(
                le,
                and_(
                    le.c.practice_id == q.practice_id,
                    le.c.claim_line_id == spread.c.claim_line_id,
                    func.coalesce(le.c.payer_id, "") == spread.c.payer_id,
                ),
            )
        )
        .where(le.c.kind == "insurance-payment", *timestamp_range(le.c.posted_at, q))
        .group_by(spread.c.payer_id, spread.c.claim_line_id, spread.c.code, spread.c.units)
        .having(paid > 0)
        .subquery()
    )
    return select(
        per_line.c.payer_id,
        per_line.c.code,
        func.count(),
        func.sum(per_line.c.units),
        func.sum(per_line.c.paid),
    ).group_by(per_line.c.payer_id, per_line.c.code)


def per_unit(conn: Connection, q: ReportQuery, names: Names, sums: Sums) -> tuple[PerUnit, ...]:
    """The paid-per-unit rows of ``sums``, with the practice's fee and the Medicare amount."""
    fees_raw = conn.execute(select(practices.c.fees).where(practices.c.id == q.practice_id)).scalar()
    practice_fees = {c: D(str(v)) for c, v in (fees_raw or {}).items()}
    schedule = default_fees()
    day: date = q.day
    out = []
    for (payer, code), (n, u, cents) in sorted(
        sums.items(), key=lambda kv: (names.payer(kv[0][0]), kv[0][1])
    ):
        total = money(cents)
        average = (total / u).quantize(Decimal("0.01")) if u else None
        out.append(
            PerUnit(
                names.payer(payer),
                code,
                n,
                u,
                total,
                average,
                practice_fees.get(code) or (schedule.practice_fee(code, day) if schedule else None),
                schedule.medicare_amount(code, day) if schedule else None,
            )
        )
    return tuple(out)
