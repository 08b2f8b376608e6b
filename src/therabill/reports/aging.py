"""A/R aging: what payers and patients still owe, in 0-30, 31-60, 61-90, 91-120, 121+ days.

Insurance and patient balances are kept apart and age from different days:

* an insurance balance (per claim and payer) ages from the claim's **first submission**
  (its first ``submitted`` status event); a claim never submitted ages from its creation;
* a patient balance (per item: a claim line or a charge not billed to insurance) ages from
  the **first statement** that could show it: therabill prints statements on demand and does
  not log them yet, so the day the balance first became the patient's (the charge, or the
  payer's patient-responsibility transfer) stands in for the first statement date.

Balances are the ledger's, as of the end of the ``as_of`` day. Credits (negative balances:
overpayments, unapplied patient payments) are not aged; they are listed apart, so
``aged total + credits`` equals the ledger's balance.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, and_, case, func, or_, select

from therabill.adapters.db.ledger_tables import ledger_balances as lb
from therabill.adapters.db.ledger_tables import ledger_entries as le
from therabill.adapters.db.report_totals import NONE, balances_complete_before, signed_amount
from therabill.adapters.db.summary_tables import ledger_claim_ages as claim_ages
from therabill.adapters.db.summary_tables import ledger_claim_open as claim_open
from therabill.adapters.db.summary_tables import ledger_patient_open as patient_open
from therabill.adapters.db.tables import claim_status_events, claims, patients
from therabill.domain.money import ZERO
from therabill.reports import charts
from therabill.reports.common import (
    Cell,
    Progress,
    ReportQuery,
    Table,
    check_payer,
    day_of_timestamp,
    load_names,
    money,
    read_connection,
    start_of,
)

BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-30", 0, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("91-120", 91, 120),
    ("121+", 121, None),
)
LABELS = tuple(b[0] for b in BUCKETS)

INSURANCE_START = (
    "Insurance balances age from the claim's first submission (a claim never submitted: from its creation)."
)
PATIENT_START = (
    "Patient balances age from the first statement date; statements are not logged yet, so the day the "
    "balance first became the patient's (the charge or the payer's patient-responsibility transfer) stands in."
)


def bucket_of(age_days: int) -> str:
    """The aging bucket of an age in days (negative ages count as 0)."""
    age = max(age_days, 0)
    for label, lo, hi in BUCKETS:
        if age >= lo and (hi is None or age <= hi):
            return label
    return LABELS[-1]  # pragma: no cover - the last bucket is open


@dataclass(frozen=True, slots=True)
class AgingRow:
    """Balances of one payer or patient by bucket.

    Attributes:
        name: payer or patient.
        buckets: bucket label → amount owed.
        items: how many claims (insurance) or items (patient) are open.
    """

    name: str
    buckets: dict[str, Decimal]
    items: int

    @property
    def total(self) -> Decimal:
        """Sum of the buckets."""
        return sum(self.buckets.values(), ZERO)


@dataclass(frozen=True, slots=True)
class AgingReport:
    """The aging report.

    Attributes:
        query: what it covers (``as_of`` is the day ages are taken on).
        practice: the practice's name.
        as_of: the aging day.
        insurance: one row per payer.
        patients: one row per patient.
        insurance_credits: negative insurance balances (payer overpayments), not aged.
        patient_credits: negative patient balances and unapplied payments, not aged.
        notes: the aging rules stated on the report.
    """

    query: ReportQuery
    practice: str
    as_of: date
    insurance: tuple[AgingRow, ...]
    patients: tuple[AgingRow, ...]
    insurance_credits: Decimal
    patient_credits: Decimal
    notes: tuple[str, ...]
    name: str = "aging"
    title: str = "A/R aging"

    def totals(self, rows: tuple[AgingRow, ...]) -> dict[str, Decimal]:
        """Bucket totals of ``rows``."""
        return {b: sum((r.buckets.get(b, ZERO) for r in rows), ZERO) for b in LABELS}

    @property
    def insurance_total(self) -> Decimal:
        """All aged insurance balances."""
        return sum(self.totals(self.insurance).values(), ZERO)

    @property
    def patient_total(self) -> Decimal:
        """All aged patient balances."""
        return sum(self.totals(self.patients).values(), ZERO)

    def _table(self, title: str, first: str, rows: tuple[AgingRow, ...], credits: Decimal) -> Table:
        body: list[tuple[Cell, ...]] = [
            (r.name, *(r.buckets.get(b, ZERO) for b in LABELS), r.total, r.items) for r in rows
        ]
        totals = self.totals(rows)
        body.append(("Total", *totals.values(), sum(totals.values(), ZERO), sum(r.items for r in rows)))
        body.append(("Credits (not aged)", *([None] * len(LABELS)), credits, None))
        return Table(
            title,
            (first, *(f"{b} days ($)" for b in LABELS), "Total ($)", "Open claims/items"),
            tuple(body),
            total_row=True,
        )

    def tables(self) -> list[Table]:
        """Insurance aging by payer, patient aging by patient."""
        return [
            self._table("Insurance balances by payer", "Payer", self.insurance, self.insurance_credits),
            self._table("Patient balances by patient", "Patient", self.patients, self.patient_credits),
        ]

    def charts(self) -> list[str]:
        """Insurance and patient balances by bucket."""
        ins, pat = self.totals(self.insurance), self.totals(self.patients)
        return [
            charts.bar_chart(
                f"Accounts receivable by age on {self.as_of.isoformat()}",
                [f"{b} days" for b in LABELS],
                [("Insurance", list(ins.values())), ("Patient", list(pat.values()))],
                x_label="Days since first submission (insurance) / first statement (patient)",
                y_label="Balance",
                unit="$",
            )
        ]


def _signed() -> object:
    return signed_amount(le.c.kind, le.c.amount_cents)


def _from_balances(q: ReportQuery, dialect: str) -> tuple[Any, Any]:
    """The insurance and patient statements on ``ledger_balances`` (its open rows only): the
    same rows as the statements on the ledger, when nothing was posted after the as-of day."""
    base = [lb.c.practice_id == q.practice_id, lb.c.balance_cents != 0]
    payer_col = func.nullif(lb.c.payer_id, NONE)
    claim_col = func.nullif(lb.c.claim_id, NONE)
    ins = (
        select(payer_col.label("payer_id"), claim_col.label("claim_id"), lb.c.balance_cents.label("cents"))
        .where(*base, lb.c.bucket == "insurance", *([lb.c.payer_id == q.payer_id] if q.payer_id else []))
        .subquery()
    )
    pat_stmt = select(
        func.nullif(lb.c.patient_id, NONE).label("patient_id"),
        func.nullif(lb.c.item_id, NONE).label("item_id"),
        lb.c.balance_cents.label("cents"),
        day_of_timestamp(lb.c.first_posted_at, dialect).label("start"),
    ).where(*base, lb.c.bucket == "patient")
    if q.payer_id:
        payer_claims = select(claims.c.id).where(
            claims.c.practice_id == q.practice_id, claims.c.payer_id == q.payer_id
        )
        pat_stmt = pat_stmt.where(lb.c.claim_ref.in_(payer_claims))
    return ins, pat_stmt


def _insurance_statement(ins: Any, q: ReportQuery, dialect: str) -> Any:
    """Each open insurance balance of ``ins`` (payer_id, claim_id, cents) with its start day."""
    # Looked up for the open balances only (one index seek each), not grouped for every claim.
    first_sub = (
        select(func.min(claim_status_events.c.at))
        .where(
            claim_status_events.c.practice_id == q.practice_id,
            claim_status_events.c.status == "submitted",
            claim_status_events.c.claim_id == ins.c.claim_id,
        )
        .scalar_subquery()
    )
    return select(
        ins.c.payer_id,
        ins.c.cents,
        day_of_timestamp(func.coalesce(first_sub, claims.c.created_at), dialect).label("start"),
    ).select_from(ins.outerjoin(claims, claims.c.id == ins.c.claim_id))


def _by_bucket(rows: Any, key: str, as_of: date, *, by_day_first: bool = False) -> Any:
    """The balances of ``rows`` (``key``, cents, start day as ``YYYY-MM-DD`` text, and for
    patients ``item_id``) summed per ``key`` and aging bucket in the database: (key, bucket,
    aged cents, aged items, credit cents, credit rows). A credit is a negative balance (and on
    the patient side a payment applied to no item); it is not aged. The bucket compares the
    start day with the buckets' first days as text (ISO days sort as text on both engines).

    ``by_day_first``: sum per ``key`` and start day first, then per bucket, so that a start day
    that is costly to find (an insurance claim's first submission) is computed once per row and
    not once per bucket boundary.
    """
    credit = rows.c.cents < 0
    if "item_id" in rows.c:
        credit = or_(credit, rows.c.item_id.is_(None))
    sums: tuple[Any, ...] = (
        func.sum(case((credit, 0), else_=rows.c.cents)).label("cents"),
        func.sum(case((credit, 0), else_=1)).label("items"),
        func.sum(case((credit, rows.c.cents), else_=0)).label("credit"),
        func.sum(case((credit, 1), else_=0)).label("credits"),
    )
    if by_day_first:
        rows = select(rows.c[key], rows.c.start, *sums).group_by(rows.c[key], rows.c.start).subquery()
        sums = tuple(func.sum(rows.c[name]).label(name) for name in ("cents", "items", "credit", "credits"))
    start = rows.c.start
    whens = [
        (start >= (as_of - timedelta(days=hi)).isoformat(), label)
        for label, _lo, hi in BUCKETS
        if hi is not None
    ]
    bucket = case(*whens, else_=LABELS[-1])
    return select(rows.c[key], bucket.label("bucket"), *sums).group_by(rows.c[key], bucket)


def _insurance_rows(conn: Any, q: ReportQuery, as_of: date, dialect: str) -> list[tuple[Any, ...]]:
    """The insurance rows ``_by_bucket`` gives on the kept balances, read in two parts: the
    balances of claims submitted when they last changed, summed per payer and day of first
    submission (``ledger_claim_ages``), bucketed here; and the few balances of claims not
    submitted then (``ledger_claim_open``), whose start is looked up now as on the ledger."""
    sums: dict[tuple[Any, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    ages = select(
        claim_ages.c.payer_id,
        claim_ages.c.start_day,
        claim_ages.c.aged_cents,
        claim_ages.c.aged_claims,
        claim_ages.c.credit_cents,
        claim_ages.c.credit_rows,
    ).where(
        claim_ages.c.practice_id == q.practice_id,
        *([claim_ages.c.payer_id == q.payer_id] if q.payer_id else []),
    )
    for payer_id, start_day, *values in conn.execute(ages):
        start = start_day if isinstance(start_day, date) else date.fromisoformat(str(start_day)[:10])
        acc = sums[(payer_id or None, bucket_of((as_of - start).days))]
        for i, v in enumerate(values):
            acc[i] += int(v)
    unsubmitted = (
        select(
            func.nullif(claim_open.c.payer_id, NONE).label("payer_id"),
            func.nullif(claim_open.c.claim_id, NONE).label("claim_id"),
            claim_open.c.balance_cents.label("cents"),
        )
        .where(
            claim_open.c.practice_id == q.practice_id,
            claim_open.c.submitted_at.is_(None),
            claim_open.c.balance_cents != 0,
            *([claim_open.c.payer_id == q.payer_id] if q.payer_id else []),
        )
        .subquery()
    )
    stmt = _by_bucket(
        _insurance_statement(unsubmitted, q, dialect).subquery(), "payer_id", as_of, by_day_first=True
    )
    for payer_id, label, *values in conn.execute(stmt):
        acc = sums[(payer_id, label)]
        for i, v in enumerate(values):
            acc[i] += int(v or 0)
    return [(payer_id, label, *v) for (payer_id, label), v in sums.items()]


def _owing_patient_names(conn: Any, practice_id: str) -> dict[str, str]:
    """The names (as ``load_names`` gives them) of the patients with an item owed (``ledger_patient_open``)."""
    rows = conn.execute(
        select(patients.c.id, patients.c.first_name, patients.c.last_name, patients.c.chart_number)
        .join(
            patient_open,
            and_(patient_open.c.practice_id == practice_id, patient_open.c.patient_id == patients.c.id),
        )
        .where(patients.c.practice_id == practice_id, patient_open.c.aged_items > 0)
    ).all()
    return {r.id: f"{r.last_name}, {r.first_name} ({r.chart_number})" for r in rows}


def _patient_rows(conn: Any, practice_id: str, as_of: date) -> list[tuple[Any, ...]]:
    """The patient rows ``_by_bucket`` gives on the kept balances, read in two parts: the items
    that started in the last 120 days from ``ledger_balances`` (by the time they started), and
    per patient the oldest bucket as the patient's kept totals (``ledger_patient_open``) less
    those items. Credits are not aged: they come summed in one row from the totals."""
    recent_hi = max(hi for _l, _lo, hi in BUCKETS if hi is not None)
    whens = [
        (lb.c.first_posted_at >= start_of(as_of - timedelta(days=hi)), label)
        for label, _lo, hi in BUCKETS
        if hi is not None
    ]
    bucket = case(*whens, else_=LABELS[-1])
    credit = or_(lb.c.balance_cents < 0, lb.c.item_id == NONE)
    recent = (
        select(
            lb.c.patient_id,
            bucket.label("bucket"),
            func.sum(case((credit, 0), else_=lb.c.balance_cents)),
            func.sum(case((credit, 0), else_=1)),
        )
        .where(
            lb.c.practice_id == practice_id,
            lb.c.bucket == "patient",
            lb.c.balance_cents != 0,
            lb.c.first_posted_at >= start_of(as_of - timedelta(days=recent_hi)),
        )
        .group_by(lb.c.patient_id, bucket)
    )
    out: list[tuple[Any, ...]] = []
    recent_sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for patient_id, label, cents, items in conn.execute(recent).all():
        out.append((patient_id, label, int(cents), int(items), 0, 0))
        recent_sums[patient_id][0] += int(cents)
        recent_sums[patient_id][1] += int(items)
    credit_cents = credit_rows = 0
    totals = select(
        patient_open.c.patient_id,
        patient_open.c.aged_cents,
        patient_open.c.aged_items,
        patient_open.c.credit_cents,
        patient_open.c.credit_rows,
    ).where(patient_open.c.practice_id == practice_id)
    for patient_id, cents, items, credit_c, credit_n in conn.execute(totals).all():
        seen = recent_sums.get(patient_id, (0, 0))
        out.append((patient_id, LABELS[-1], int(cents) - seen[0], int(items) - seen[1], 0, 0))
        credit_cents += int(credit_c)
        credit_rows += int(credit_n)
    out.append((None, LABELS[-1], 0, 0, credit_cents, credit_rows))
    return out


def build(engine: Engine, q: ReportQuery, progress: Progress | None = None) -> AgingReport:
    """The aging report as of ``q.day`` (the range's start is ignored: balances are cumulative)."""
    step = progress or (lambda _s: None)
    as_of = q.day
    dialect = engine.dialect.name
    end = start_of(as_of + timedelta(days=1))
    signed = func.sum(_signed())
    base = [le.c.practice_id == q.practice_id, le.c.posted_at < end]
    # Grouped in the order of the covering bucket index (practice, bucket, claim, payer), so
    # PostgreSQL aggregates the index as it reads it instead of sorting every entry.
    ins = (
        select(le.c.payer_id, le.c.claim_id, signed.label("cents"))
        .where(*base, le.c.bucket == "insurance", *([le.c.payer_id == q.payer_id] if q.payer_id else []))
        .group_by(le.c.claim_id, le.c.payer_id)
        .having(signed != 0)
        .subquery()
    )
    ins_stmt = _insurance_statement(ins, q, dialect)
    # Grouped on an expression of patient_id (the same value), so the planner reads the covering
    # bucket index instead of the patient_id index, which would visit every table row.
    pat_key = func.coalesce(le.c.patient_id, le.c.patient_id)
    pat_stmt = (
        select(
            pat_key.label("patient_id"),
            le.c.item_id,
            signed.label("cents"),
            day_of_timestamp(func.min(le.c.posted_at), dialect).label("start"),
        )
        .where(*base, le.c.bucket == "patient")
        .group_by(pat_key, le.c.item_id)
        .having(signed != 0)
    )
    if q.payer_id:
        payer_claims = select(claims.c.id).where(
            claims.c.practice_id == q.practice_id, claims.c.payer_id == q.payer_id
        )
        pat_stmt = pat_stmt.where(le.c.claim_id.in_(payer_claims))
    with read_connection(engine) as conn:
        kept = balances_complete_before(conn, q.practice_id, end)
        names = load_names(conn, q.practice_id, with_patients=not (kept and not q.payer_id))
        check_payer(names, q.payer_id)
        if kept and not q.payer_id:  # the names of the patients who owe something, not of all
            names.patients.update(_owing_patient_names(conn, q.practice_id))
        if kept:
            ins_sub, pat_stmt = _from_balances(q, dialect)  # nothing posted after the day: the kept balances
            ins_stmt = _insurance_statement(ins_sub, q, dialect)
        step("insurance balances")
        ins_rows: Sequence[Any]
        if kept:
            ins_rows = _insurance_rows(conn, q, as_of, dialect)
        else:
            ins_rows = conn.execute(
                _by_bucket(ins_stmt.subquery(), "payer_id", as_of, by_day_first=True)
            ).all()
        step("patient balances")
        pat_rows: Sequence[Any]
        if kept and not q.payer_id:
            pat_rows = _patient_rows(conn, q.practice_id, as_of)
        else:
            pat_rows = conn.execute(_by_bucket(pat_stmt.subquery(), "patient_id", as_of)).all()

    # The balances come summed per payer (patient) and bucket; cents are summed as integers and
    # turned into money once per cell.
    ins_credit_cents: list[int] = []
    ins_cents: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    ins_items: dict[str, int] = defaultdict(int)
    for payer_id, label, cents, items, credit, credits in ins_rows:
        if credits:
            ins_credit_cents.append(int(credit))
        if not items:
            continue
        name = names.payer(payer_id)
        ins_cents[name][label] += int(cents)
        ins_items[name] += int(items)
    pat_credit_cents: list[int] = []
    pat_cents: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    pat_items: dict[str, int] = defaultdict(int)
    for patient_id, label, cents, items, credit, credits in pat_rows:
        if credits:
            pat_credit_cents.append(int(credit))
        if not items:
            continue
        name = names.patients.get(patient_id, patient_id)
        pat_cents[name][label] += int(cents)
        pat_items[name] += int(items)
    by_payer = {n: {b: ZERO + money(c) for b, c in cells.items()} for n, cells in ins_cents.items()}
    by_patient = {n: {b: ZERO + money(c) for b, c in cells.items()} for n, cells in pat_cents.items()}
    ins_credit = ZERO + money(sum(ins_credit_cents)) if ins_credit_cents else ZERO
    pat_credit = ZERO + money(sum(pat_credit_cents)) if pat_credit_cents else ZERO
    notes = (
        f"Balances as of the end of {as_of.isoformat()} (UTC), from the ledger.",
        INSURANCE_START,
        PATIENT_START,
        "Credits (overpayments, unapplied patient payments) are not aged; aged total + credits = ledger balance.",
    )
    return AgingReport(
        query=q,
        practice=names.practice,
        as_of=as_of,
        insurance=tuple(AgingRow(n, dict(b), ins_items[n]) for n, b in sorted(by_payer.items())),
        patients=tuple(AgingRow(n, dict(b), pat_items[n]) for n, b in sorted(by_patient.items())),
        insurance_credits=ins_credit,
        patient_credits=pat_credit,
        notes=notes,
    )
