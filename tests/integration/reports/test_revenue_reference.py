"""Revenue's fast queries give what one plain grouped query over every entry gives.

The report sums entries per kind and month, per claim line and apart for entries without a
line; the reference here joins every entry to its line, claim and visit in one grouping and
classifies each group in Python with ``figure_of``. Both must agree to the cent, for every
breakdown, over ranges and payer filters, on both engines.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests.integration.reports.conftest import AS_OF, Practice
from therabill.adapters.db import report_totals
from therabill.adapters.db.ledger_tables import ledger_entries as le
from therabill.adapters.db.ledger_tables import ledger_month_totals
from therabill.adapters.db.report_totals import month_of_timestamp
from therabill.adapters.db.tables import claim_lines, claims, visits
from therabill.domain.money import ZERO
from therabill.reports import ReportQuery, revenue
from therabill.reports.common import load_names, money, timestamp_range


def _reference(practice: Practice, q: ReportQuery) -> dict[str, dict[str, dict[str, Decimal]]]:
    engine = practice.engine
    payer = func.coalesce(le.c.payer_id, claims.c.payer_id).label("payer")
    cols = (
        month_of_timestamp(le.c.posted_at, engine.dialect.name).label("month"),
        le.c.kind,
        le.c.bucket,
        le.c.detail,
        le.c.group_code,
        le.c.reason_code,
        payer,
        claim_lines.c.code,
        claim_lines.c.place_of_service,
        visits.c.provider_id,
    )
    conds = [le.c.practice_id == q.practice_id, *timestamp_range(le.c.posted_at, q)]
    if q.payer_id:
        conds.append(payer == q.payer_id)
    stmt = (
        select(*cols, func.sum(le.c.amount_cents).label("cents"))
        .select_from(
            le.outerjoin(claim_lines, claim_lines.c.id == le.c.claim_line_id)
            .outerjoin(claims, claims.c.id == le.c.claim_id)
            .outerjoin(visits, visits.c.id == claims.c.visit_id)
        )
        .where(*conds)
        .group_by(*cols)
    )
    out: dict[str, dict[str, dict[str, Decimal]]] = {
        d: defaultdict(lambda: defaultdict(lambda: ZERO))
        for d in ("month", "payer", "code", "provider", "location")
    }
    with engine.connect() as conn:
        names = load_names(conn, q.practice_id)
        rows = conn.execute(stmt).all()
    for r in rows:
        figure = revenue.figure_of(r.kind, r.bucket, r.detail, r.group_code, r.reason_code)
        if figure is None:
            continue
        amount = money(r.cents) * (-1 if r.kind == "refund" and figure.endswith("_payments") else 1)
        keys = {
            "month": r.month,
            "payer": names.payer(r.payer),
            "code": r.code or (r.detail if r.kind == "charge" else "(no claim line)"),
            "provider": names.providers.get(r.provider_id, "(no visit)") if r.provider_id else "(no visit)",
            "location": f"POS {r.place_of_service}" if r.place_of_service else "(not on a claim)",
        }
        for d, key in keys.items():
            out[d][key][figure] += amount
    return out


def _figures(groups: dict[str, revenue.Figures]) -> dict[str, dict[str, Decimal]]:
    return {k: {f: getattr(v, f) for f in revenue.FIGURES if getattr(v, f)} for k, v in groups.items()}


@pytest.mark.parametrize(
    ("start", "end", "payer"),
    [
        (None, None, None),
        (date(2026, 9, 1), date(2026, 10, 31), None),
        (None, None, "aetna"),
        (date(2026, 9, 10), AS_OF, "blue"),
        (date(2026, 9, 1), date(2026, 9, 30), None),  # one whole month, no days apart
        (date(2026, 9, 5), date(2026, 9, 20), None),  # inside one month: days only
        (date(2026, 8, 20), date(2026, 9, 10), None),  # two part months, no whole one
        (None, date(2026, 10, 15), None),  # open start, a part month at the end
        (date(2026, 8, 15), None, "aetna"),  # a part month at the start, open end
    ],
)
def test_revenue_breakdowns_equal_one_plain_grouping(
    practice: Practice, start: date | None, end: date | None, payer: str | None
) -> None:
    q = ReportQuery(practice.practice_id, start, end, practice.payers[payer] if payer else None, AS_OF)
    report = revenue.build(practice.engine, q)
    ref = _reference(practice, q)
    for dim, groups in (
        ("month", report.by_month),
        ("payer", report.by_payer),
        ("code", report.by_code),
        ("provider", report.by_provider),
        ("location", report.by_location),
    ):
        expected = {k: {f: v for f, v in figs.items() if v} for k, figs in ref[dim].items()}
        assert _figures(groups) == expected, dim
    assert report.by_month, "the range holds entries"


def test_kept_monthly_totals_equal_the_entries(practice: Practice) -> None:
    with practice.engine.connect() as conn:
        assert report_totals.differences(conn, practice.practice_id) == []
        kept = conn.execute(
            select(
                func.sum(ledger_month_totals.c.amount_cents), func.sum(ledger_month_totals.c.entries)
            ).where(ledger_month_totals.c.practice_id == practice.practice_id)
        ).one()
        posted = conn.execute(
            select(func.sum(le.c.amount_cents), func.count()).where(le.c.practice_id == practice.practice_id)
        ).one()
    assert tuple(kept) == tuple(posted)
    assert posted[1] > 0
