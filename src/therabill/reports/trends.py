"""Billing trends: visits, units per visit and claims per status by month of service;
days from visit to claim (first submission) and from claim to payment (first insurance payment).

Read from the day totals that database triggers keep (``trend_tables.claim_day_totals`` and
``visit_day_totals``: a row per day, payer and status or services), a few thousand rows however
many claims the practice has; ``build(..., from_records=True)`` computes the same from the
claims, lines, status events and entries (what the tests compare with)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Connection, Engine, String, cast, func, select
from sqlalchemy.sql.elements import ColumnElement

from therabill.adapters.db.ledger_tables import ledger_entries as le
from therabill.adapters.db.tables import claim_lines, claim_status_events, claims, visits
from therabill.adapters.db.trend_tables import claim_day_totals, visit_day_totals
from therabill.reports import charts
from therabill.reports.common import (
    Progress,
    ReportQuery,
    Table,
    check_payer,
    date_range,
    days_between,
    load_names,
    month_of_date,
    read_connection,
)

CLOSED = ("voided", "replaced")


@dataclass(frozen=True, slots=True)
class MonthTrend:
    """One month of service.

    Attributes:
        month: ``YYYY-MM``.
        visits: visits with a date of service in the month.
        claims: claims (not voided or replaced) of those visits.
        units: units on those claims.
        days_to_claim: average days from the visit to the claim's first submission.
        days_to_payment: average days from first submission to the first insurance payment.
    """

    month: str
    visits: int
    claims: int
    units: int
    days_to_claim: Decimal | None
    days_to_payment: Decimal | None

    @property
    def units_per_visit(self) -> Decimal | None:
        """Billed units per billed claim (one claim per visit)."""
        return (Decimal(self.units) / self.claims).quantize(Decimal("0.01")) if self.claims else None


@dataclass(frozen=True, slots=True)
class TrendsReport:
    """The billing trends report.

    Attributes:
        query: what it covers (by date of service).
        practice: the practice's name.
        months: one entry per month with visits.
        statuses: month → claim status → count (current status of each claim).
        notes: definitions.
    """

    query: ReportQuery
    practice: str
    months: tuple[MonthTrend, ...]
    statuses: dict[str, dict[str, int]]
    notes: tuple[str, ...]
    name: str = "trends"
    title: str = "Billing trends"

    def tables(self) -> list[Table]:
        """Month by month, and claims per status."""
        all_status = sorted({s for m in self.statuses.values() for s in m})
        return [
            Table(
                "By month of service",
                (
                    "Month",
                    "Visits",
                    "Claims",
                    "Units",
                    "Units per visit",
                    "Days visit → claim",
                    "Days claim → payment",
                ),
                tuple(
                    (
                        m.month,
                        m.visits,
                        m.claims,
                        m.units,
                        m.units_per_visit,
                        m.days_to_claim,
                        m.days_to_payment,
                    )
                    for m in self.months
                ),
            ),
            Table(
                "Claims per current status, by month of service",
                ("Month", *all_status),
                tuple((m, *(self.statuses[m].get(s, 0) for s in all_status)) for m in sorted(self.statuses)),
            ),
        ]

    def charts(self) -> list[str]:
        """Visits and units per visit; days to claim and to payment; claims per status."""
        labels = [m.month for m in self.months]
        status_names = sorted({s for m in self.statuses.values() for s in m})
        months = sorted(self.statuses)
        return [
            charts.bar_chart(
                "Visits per month",
                labels,
                [("Visits", [m.visits for m in self.months]), ("Claims", [m.claims for m in self.months])],
                x_label="Month of service",
                y_label="Count",
            ),
            charts.line_chart(
                "Units per visit",
                labels,
                [("Units per visit", [m.units_per_visit for m in self.months])],
                x_label="Month of service",
                y_label="Units per visit",
            ),
            charts.line_chart(
                "Days from visit to claim and from claim to payment",
                labels,
                [
                    ("Visit → first submission", [m.days_to_claim for m in self.months]),
                    ("Submission → first payment", [m.days_to_payment for m in self.months]),
                ],
                x_label="Month of service",
                y_label="Average days",
                unit="days",
            ),
            charts.bar_chart(
                "Claims per current status",
                months,
                [(s, [self.statuses[m].get(s, 0) for m in months]) for s in status_names],
                x_label="Month of service",
                y_label="Claims",
            ),
        ]


Figures = tuple[
    dict[str, int], dict[str, tuple[int, int, Decimal | None, Decimal | None]], dict[str, dict[str, int]]
]
"""Visits per month; per month the live claims, their units and the average days to claim and to
payment; per month and status the claims."""


def build(
    engine: Engine, q: ReportQuery, progress: Progress | None = None, *, from_records: bool = False
) -> TrendsReport:
    """The trends report of ``q`` (by date of service): from the kept day totals
    (``trend_tables``), or with ``from_records`` from the claims, lines, events and entries."""
    step = progress or (lambda _s: None)
    with read_connection(engine) as conn:
        names = load_names(conn, q.practice_id)
        check_payer(names, q.payer_id)
        figures = _from_records(conn, q, step) if from_records else _from_totals(conn, q, step)
    visit_counts, claim_rows, statuses = figures
    months = []
    for m in sorted(set(visit_counts) | set(claim_rows)):
        claims_n, units_n, to_claim, to_pay = claim_rows.get(m, (0, 0, None, None))
        months.append(MonthTrend(m, int(visit_counts.get(m, 0)), claims_n, units_n, to_claim, to_pay))
    notes = (
        f"Range {q.describe()}, by date of service.",
        "Claims: claims that are not voided or replaced; units per visit = their units / their count.",
        "Days visit → claim: to the claim's first submission; days claim → payment: from the first "
        "submission to the first insurance payment posted (averages over the claims that have them).",
        "Claims per status: each claim's current status.",
    )
    return TrendsReport(q, names.practice, tuple(months), dict(statuses), notes)


def _from_totals(conn: Connection, q: ReportQuery, step: Progress) -> Figures:
    """The figures from ``visit_day_totals`` and ``claim_day_totals`` (a row per day, payer, status)."""
    dialect = conn.dialect.name
    vt, ct = visit_day_totals, claim_day_totals
    step("visits")
    if q.payer_id:  # visits with a claim of the payer: not kept, counted from the records
        visit_counts = _visits_from_records(conn, q)
    else:
        vmonth = month_of_date(vt.c.date_of_service, dialect).label("month")
        visit_counts = {
            m: int(n)
            for m, n in conn.execute(
                select(vmonth, func.sum(vt.c.visits))
                .where(vt.c.practice_id == q.practice_id, *date_range(vt.c.date_of_service, q))
                .group_by(vmonth)
            )
            if n
        }
    step("claims")
    cmonth = month_of_date(ct.c.date_of_service, dialect).label("month")
    conds = [ct.c.practice_id == q.practice_id, *date_range(ct.c.date_of_service, q)]
    if q.payer_id:
        conds.append(ct.c.payer_id == q.payer_id)
    sums = (ct.c.claims, ct.c.units, ct.c.claim_days, ct.c.claimed, ct.c.payment_days, ct.c.paid)
    stmt = select(cmonth, ct.c.status, *(func.sum(c).label(c.name) for c in sums)).where(*conds)
    acc: dict[str, list[int]] = defaultdict(lambda: [0] * len(sums))
    statuses: dict[str, dict[str, int]] = defaultdict(dict)
    for r in conn.execute(stmt.group_by(cmonth, ct.c.status)):
        if not r.claims:
            continue
        statuses[r.month][r.status] = int(r.claims)
        if r.status not in CLOSED:
            a = acc[r.month]
            for i, c in enumerate(sums):
                a[i] += int(getattr(r, c.name) or 0)
    claim_rows = {m: (a[0], a[1], _ratio(a[2], a[3]), _ratio(a[4], a[5])) for m, a in acc.items() if a[0]}
    return visit_counts, claim_rows, statuses


def _ratio(total: int, count: int) -> Decimal | None:
    return (Decimal(total) / Decimal(count)).quantize(Decimal("0.1")) if count else None


def _visit_conds(q: ReportQuery) -> list[ColumnElement[bool]]:
    visit_conds = [visits.c.practice_id == q.practice_id, *date_range(visits.c.date_of_service, q)]
    if q.payer_id:
        claim_conds = [
            claims.c.practice_id == q.practice_id,
            *date_range(claims.c.date_of_service, q),
            claims.c.payer_id == q.payer_id,
        ]
        visit_conds.append(visits.c.id.in_(select(claims.c.visit_id).where(*claim_conds)))
    return visit_conds


def _visits_from_records(conn: Connection, q: ReportQuery) -> dict[str, int]:
    vmonth = month_of_date(visits.c.date_of_service, conn.dialect.name).label("month")
    found = conn.execute(select(vmonth, func.count()).where(*_visit_conds(q)).group_by(vmonth))
    return {m: int(n) for m, n in found}


def _from_records(conn: Connection, q: ReportQuery, step: Progress) -> Figures:
    """The figures from the records themselves (what the kept totals must equal)."""
    dialect = conn.dialect.name
    cmonth = month_of_date(claims.c.date_of_service, dialect).label("month")
    claim_conds = [claims.c.practice_id == q.practice_id, *date_range(claims.c.date_of_service, q)]
    if q.payer_id:
        claim_conds.append(claims.c.payer_id == q.payer_id)
    first_sub = (
        select(claim_status_events.c.claim_id, func.min(claim_status_events.c.at).label("at"))
        .where(
            claim_status_events.c.practice_id == q.practice_id, claim_status_events.c.status == "submitted"
        )
        .group_by(claim_status_events.c.claim_id)
        .subquery()
    )
    # Grouped on an expression of claim_id (the same value), so the planner reads the covering
    # index of entry kinds instead of the claim_id index, which would visit every table row.
    pay_claim = cast(func.coalesce(le.c.claim_id, le.c.claim_id), String)  # a text, joinable on an index
    first_pay = (
        select(pay_claim.label("claim_id"), func.min(le.c.posted_at).label("at"))
        .where(le.c.practice_id == q.practice_id, le.c.kind == "insurance-payment", le.c.amount_cents > 0)
        .group_by(pay_claim)
        .subquery()
    )
    units = (
        select(claim_lines.c.claim_id, func.sum(claim_lines.c.units).label("units"))
        .where(claim_lines.c.practice_id == q.practice_id)
        .group_by(claim_lines.c.claim_id)
        .subquery()
    )
    live = claims.c.status.not_in(CLOSED)
    to_claim = days_between(first_sub.c.at, claims.c.date_of_service, dialect)
    to_pay = days_between(first_pay.c.at, claims.c.date_of_service, dialect) - to_claim
    claim_stmt = (
        select(
            cmonth,
            func.count().label("claims"),
            func.sum(units.c.units).label("units"),
            func.avg(to_claim).label("to_claim"),
            func.avg(to_pay).label("to_pay"),
        )
        .select_from(
            claims.outerjoin(units, units.c.claim_id == claims.c.id)
            .outerjoin(first_sub, first_sub.c.claim_id == claims.c.id)
            .outerjoin(first_pay, first_pay.c.claim_id == claims.c.id)
        )
        .where(*claim_conds, live)
        .group_by(cmonth)
    )
    status_stmt = (
        select(cmonth, claims.c.status, func.count().label("n"))
        .where(*claim_conds)
        .group_by(cmonth, claims.c.status)
    )
    step("visits")
    visit_counts = _visits_from_records(conn, q)
    step("claims")
    claim_rows = {
        r.month: (int(r.claims), int(r.units or 0), _avg(r.to_claim), _avg(r.to_pay))
        for r in conn.execute(claim_stmt)
    }
    step("statuses")
    statuses: dict[str, dict[str, int]] = defaultdict(dict)
    for r in conn.execute(status_stmt):
        statuses[r.month][r.status] = int(r.n)
    return visit_counts, claim_rows, statuses


def _avg(value: object) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal("0.1"))
