"""Revenue: charges, payments, adjustments and net collections, by month, payer, code,
provider and place of service; cash services, packages and tips apart; paid per unit.

Money is taken from the ledger by *posting date* (the day an entry was posted), so the
report's totals equal the sums of the entries posted in the range. Reversals carry the
kind of the entry they reverse with the opposite sign, so every figure is net of them.

* Charges: charge entries (sales tax apart: it is owed but never revenue).
* Insurance payments: insurance payments net of insurance refunds.
* Patient payments: patient payments net of patient refunds; package and gift-certificate
  redemptions are shown apart (the money came in when the package was sold).
* Contractual adjustments: CO/PI adjustments with the CARCs of ``data/contractual.toml``;
  other adjustments (denials, reductions) and write-offs are shown apart.
* Net collection rate = (insurance + patient payments + redemptions)
  / (charges − contractual adjustments).
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Any

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.sql.elements import ColumnElement

from therabill.adapters.db.ledger_tables import ledger_month_totals as totals
from therabill.adapters.db.summary_tables import ledger_day_totals as day_totals
from therabill.domain.money import ZERO
from therabill.reports import charts
from therabill.reports.common import (
    Progress,
    ReportQuery,
    Table,
    check_payer,
    load_names,
    money,
    month_of_date,
    pct,
    ratio,
    read_connection,
    start_of,
)
from therabill.reports.revenue_units import PER_UNIT_CODES, PerUnit, kept_rows, per_unit

__all__ = ["PER_UNIT_CODES", "Figures", "PerUnit", "RevenueReport", "build", "figure_of", "split_range"]

FIGURES = (
    "charges",
    "insurance_payments",
    "patient_payments",
    "redemptions",
    "contractual",
    "other_adjustments",
    "write_offs",
    "sales_tax",
    "tips",
    "prepaid_sales",
    "prepaid_refunds",
)


@lru_cache(maxsize=1)
def contractual_codes() -> tuple[frozenset[str], frozenset[str]]:
    """The (groups, reasons) of routine contractual adjustments (``data/contractual.toml``)."""
    text = resources.files("therabill.reports").joinpath("data", "contractual.toml").read_text("utf-8")
    data = tomllib.loads(text)
    return frozenset(data["groups"]), frozenset(data["reasons"])


def figure_of(
    kind: str, bucket: str, detail: str | None, group: str | None, reason: str | None
) -> str | None:
    """Which revenue figure an entry counts in (``None``: transfers, which move, not earn)."""
    groups, reasons = contractual_codes()
    if kind == "charge":
        return "sales_tax" if detail == "sales-tax" else "charges"
    if kind == "insurance-payment":
        return "insurance_payments"
    if kind == "patient-payment":
        return "patient_payments"
    if kind == "redemption":
        return "redemptions"
    if kind == "adjustment":
        return "contractual" if group in groups and reason in reasons else "other_adjustments"
    if kind == "write-off":
        return "write_offs"
    if kind == "tip":
        return "tips"
    if kind == "prepaid-sale":
        return "prepaid_sales"
    if kind == "refund":
        return {"insurance": "insurance_payments", "patient": "patient_payments"}.get(
            bucket, "prepaid_refunds"
        )
    return None


def _signed(figure: str, kind: str, amount: Decimal) -> Decimal:
    """Refunds lower the payments they count in."""
    if kind == "refund" and figure in ("insurance_payments", "patient_payments"):
        return -amount
    return amount


@dataclass(frozen=True, slots=True)
class Figures:
    """The revenue figures of one group (a month, a payer, a code...).

    Attributes:
        charges: charges (sales tax apart).
        insurance_payments: insurance payments net of insurance refunds.
        patient_payments: patient payments net of patient refunds.
        redemptions: package and gift-certificate value applied to charges.
        contractual: routine contractual adjustments.
        other_adjustments: other payer adjustments (denials, reductions).
        write_offs: the practice's write-offs.
        sales_tax: sales tax charged on retail sales.
        tips: tips (held for therapists; never revenue).
        prepaid_sales: packages and gift certificates sold.
        prepaid_refunds: prepaid money refunded.
    """

    charges: Decimal = ZERO
    insurance_payments: Decimal = ZERO
    patient_payments: Decimal = ZERO
    redemptions: Decimal = ZERO
    contractual: Decimal = ZERO
    other_adjustments: Decimal = ZERO
    write_offs: Decimal = ZERO
    sales_tax: Decimal = ZERO
    tips: Decimal = ZERO
    prepaid_sales: Decimal = ZERO
    prepaid_refunds: Decimal = ZERO

    @property
    def payments(self) -> Decimal:
        """Insurance and patient payments and redemptions: money collected against charges."""
        return self.insurance_payments + self.patient_payments + self.redemptions

    @property
    def net_collection_rate(self) -> Decimal | None:
        """Payments / (charges − contractual adjustments), in percent."""
        return ratio(self.payments, self.charges - self.contractual)

    @property
    def adjustments(self) -> Decimal:
        """All adjustments and write-offs."""
        return self.contractual + self.other_adjustments + self.write_offs


def _add(acc: dict[str, Decimal], figure: str, amount: Decimal) -> None:
    acc[figure] = acc.get(figure, ZERO) + amount


def _freeze(acc: dict[str, Decimal]) -> Figures:
    return Figures(**{k: acc.get(k, ZERO) for k in FIGURES})


@dataclass(frozen=True, slots=True)
class RevenueReport:
    """The revenue report.

    Attributes:
        query: what it covers.
        practice: the practice's name.
        total: figures over the whole range.
        by_month: ``YYYY-MM`` → figures.
        by_payer: payer name → figures (money of a claim goes to the payer that paid or
            adjusted it, else to the claim's payer; money without a claim to self-pay).
        by_code: procedure code (or charge type for charges not on a claim) → figures.
        by_provider: rendering provider → figures.
        by_location: place of service → figures.
        cash_services: charge type of charges not billed to insurance → amount.
        per_unit: average paid per unit of 97124 and 97140 by payer.
        notes: definitions stated on the report.
    """

    query: ReportQuery
    practice: str
    total: Figures
    by_month: dict[str, Figures]
    by_payer: dict[str, Figures]
    by_code: dict[str, Figures]
    by_provider: dict[str, Figures]
    by_location: dict[str, Figures]
    cash_services: dict[str, Decimal]
    per_unit: tuple[PerUnit, ...]
    notes: tuple[str, ...]
    name: str = "revenue"
    title: str = "Revenue"

    def tables(self) -> list[Table]:
        """Summary, the breakdowns, cash services and paid per unit."""
        out = [
            Table(
                "Summary",
                ("Figure", "Amount ($)"),
                (
                    ("Charges", self.total.charges),
                    ("Insurance payments", self.total.insurance_payments),
                    ("Patient payments", self.total.patient_payments),
                    ("Package / gift certificate redemptions", self.total.redemptions),
                    ("Contractual adjustments", self.total.contractual),
                    ("Other payer adjustments (denials, reductions)", self.total.other_adjustments),
                    ("Write-offs", self.total.write_offs),
                    ("Net collection rate", pct(self.total.net_collection_rate)),
                    ("Packages and gift certificates sold", self.total.prepaid_sales),
                    ("Prepaid money refunded", self.total.prepaid_refunds),
                    ("Tips (held for therapists, not revenue)", self.total.tips),
                    ("Sales tax charged (not revenue)", self.total.sales_tax),
                ),
            )
        ]
        for title, groups in (
            ("By month (posting date)", self.by_month),
            ("By payer", self.by_payer),
            ("By code", self.by_code),
            ("By provider", self.by_provider),
            ("By place of service", self.by_location),
        ):
            out.append(_breakdown(title, groups, self.total))
        out.append(
            Table(
                "Cash services (charges not billed to insurance)",
                ("Charge type", "Amount ($)"),
                tuple(sorted(self.cash_services.items())),
            )
        )
        out.append(
            Table(
                "Average paid per unit, beside the fee schedule",
                (
                    "Payer",
                    "Code",
                    "Paid lines",
                    "Units",
                    "Paid ($)",
                    "Paid per unit ($)",
                    "Practice fee per unit ($)",
                    "Medicare amount per unit ($)",
                ),
                tuple(
                    (p.payer, p.code, p.lines, p.units, p.paid, p.average, p.practice_fee, p.medicare_amount)
                    for p in self.per_unit
                ),
            )
        )
        return out

    def charts(self) -> list[str]:
        """Charges and payments by month; net collection rate by payer."""
        months = sorted(self.by_month)
        out = [
            charts.bar_chart(
                "Charges and payments by month",
                months,
                [
                    ("Charges", [self.by_month[m].charges for m in months]),
                    ("Payments", [self.by_month[m].payments for m in months]),
                    ("Adjustments", [self.by_month[m].adjustments for m in months]),
                ],
                x_label="Month posted",
                y_label="Amount",
                unit="$",
            )
        ]
        payers = sorted(self.by_payer)
        out.append(
            charts.bar_chart(
                "Net collection rate by payer",
                payers,
                [("Net collection rate", [self.by_payer[p].net_collection_rate or ZERO for p in payers])],
                x_label="Payer",
                y_label="Net collection rate",
                unit="%",
            )
        )
        return out


def _breakdown(title: str, groups: dict[str, Figures], total: Figures) -> Table:
    rows = [
        (
            k,
            f.charges,
            f.insurance_payments,
            f.patient_payments + f.redemptions,
            f.contractual,
            f.other_adjustments + f.write_offs,
            pct(f.net_collection_rate),
        )
        for k, f in sorted(groups.items())
    ]
    rows.append(
        (
            "Total",
            total.charges,
            total.insurance_payments,
            total.patient_payments + total.redemptions,
            total.contractual,
            total.other_adjustments + total.write_offs,
            pct(total.net_collection_rate),
        )
    )
    return Table(
        title,
        (
            title.removeprefix("By ").split(" (")[0].capitalize(),
            "Charges ($)",
            "Insurance paid ($)",
            "Patient paid ($)",
            "Contractual adj. ($)",
            "Other adj. and write-offs ($)",
            "Net collection rate",
        ),
        tuple(rows),
        total_row=True,
    )


COUNTED_KINDS = (
    "charge",
    "insurance-payment",
    "patient-payment",
    "redemption",
    "adjustment",
    "write-off",
    "tip",
    "prepaid-sale",
    "refund",
)
"""The kinds ``figure_of`` counts (transfers move money between buckets and count nowhere)."""


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


@dataclass(frozen=True, slots=True)
class Split:
    """How a range is read: whole months from the monthly totals, the other days from the entries.

    Attributes:
        months: whether any whole month is read from the totals.
        first_month: the first whole month (``YYYY-MM``), ``None`` for an open start.
        end_month: the month after the last whole month, ``None`` for an open end.
        days: ``[start, end)`` timestamp ranges read from the entries themselves.
    """

    months: bool
    first_month: str | None
    end_month: str | None
    days: tuple[tuple[datetime, datetime], ...]


def split_range(date_from: date | None, date_to: date | None) -> Split:
    """Split the days ``date_from``..``date_to`` (inclusive, either open) into whole months
    and the days before the first and after the last of them."""
    first = None if date_from is None else (date_from if date_from.day == 1 else _next_month(date_from))
    end = None
    if date_to is not None:
        after = date_to + timedelta(days=1)
        end = after if after.day == 1 else date_to.replace(day=1)
    if (
        date_from is not None
        and date_to is not None
        and first is not None
        and end is not None
        and first >= end
    ):
        return Split(False, None, None, ((start_of(date_from), start_of(date_to + timedelta(days=1))),))
    days = []
    if date_from is not None and first is not None and date_from < first:
        days.append((start_of(date_from), start_of(first)))
    if date_to is not None and end is not None and end <= date_to:
        days.append((start_of(end), start_of(date_to + timedelta(days=1))))
    return Split(
        True,
        None if first is None else first.isoformat()[:7],
        None if end is None else end.isoformat()[:7],
        tuple(days),
    )


_DIMS = (totals.c.payer_id, totals.c.on_line, totals.c.code, totals.c.place_of_service, totals.c.provider_id)
_CLASS = (totals.c.kind, totals.c.bucket, totals.c.detail, totals.c.group_code, totals.c.reason_code)


def _month_rows(conn: Connection, q: ReportQuery, split: Split) -> tuple[list[Any], list[Any]]:
    """From the monthly totals: (class, month) sums and (class, attribution) sums."""
    conds: list[ColumnElement[bool]] = [
        totals.c.practice_id == q.practice_id,
        totals.c.kind.in_(COUNTED_KINDS),
    ]
    if split.first_month:
        conds.append(totals.c.month >= split.first_month)
    if split.end_month:
        conds.append(totals.c.month < split.end_month)
    if q.payer_id:
        conds.append(totals.c.payer_id == q.payer_id)
    cents = func.sum(totals.c.amount_cents).label("amount_cents")
    by_month = conn.execute(
        select(*_CLASS, totals.c.month, cents).where(*conds).group_by(*_CLASS, totals.c.month)
    ).all()
    by_dims = conn.execute(select(*_CLASS, *_DIMS, cents).where(*conds).group_by(*_CLASS, *_DIMS)).all()
    return list(by_month), list(by_dims)


def _day_rows(conn: Connection, q: ReportQuery, start: datetime, end: datetime) -> list[Any]:
    """The days ``[start, end)`` from the daily totals, grouped as the monthly totals are."""
    conds: list[ColumnElement[bool]] = [
        day_totals.c.practice_id == q.practice_id,
        day_totals.c.kind.in_(COUNTED_KINDS),
        day_totals.c.day >= start.date(),
        day_totals.c.day < end.date(),
    ]
    if q.payer_id:
        conds.append(day_totals.c.payer_id == q.payer_id)
    month = month_of_date(day_totals.c.day, conn.dialect.name).label("month")
    cols = (
        day_totals.c.kind,
        day_totals.c.bucket,
        day_totals.c.detail,
        day_totals.c.group_code,
        day_totals.c.reason_code,
        month,
        day_totals.c.payer_id,
        day_totals.c.on_line,
        day_totals.c.code,
        day_totals.c.place_of_service,
        day_totals.c.provider_id,
    )
    stmt = (
        select(*cols, func.sum(day_totals.c.amount_cents).label("amount_cents")).where(*conds).group_by(*cols)
    )
    return list(conn.execute(stmt).all())


def build(engine: Engine, q: ReportQuery, progress: Progress | None = None) -> RevenueReport:
    """The revenue report of ``q``.

    Whole months of the range come from the ledger's monthly totals (kept as entries are
    posted); the days before the first and after the last whole month from its daily totals,
    grouped the same way; paid per unit from the kept line payments (``revenue_units``).
    """
    step = progress or (lambda _s: None)
    split = split_range(q.date_from, q.date_to)
    month_rows: list[Any] = []
    dim_rows: list[Any] = []
    with read_connection(engine) as conn:
        names = load_names(conn, q.practice_id)
        check_payer(names, q.payer_id)
        if split.months:
            step("monthly totals")
            month_rows, dim_rows = _month_rows(conn, q, split)
        for start, end in split.days:
            step(f"entries posted {start.date()} to {(end - timedelta(days=1)).date()}")
            rows = _day_rows(conn, q, start, end)
            month_rows += rows
            dim_rows += rows
        step("paid per unit")
        paid_per_unit = per_unit(conn, q, names, kept_rows(conn, q))
    total: dict[str, Decimal] = {}
    dims: dict[str, dict[str, dict[str, Decimal]]] = {
        d: defaultdict(dict) for d in ("month", "payer", "code", "provider", "location")
    }
    cash: dict[str, Decimal] = defaultdict(lambda: ZERO)

    def counted(rows: list[Any]) -> Iterator[tuple[Any, str, Decimal]]:
        """Each row with its figure and signed amount (transfers count nowhere; the queries
        leave them out)."""
        for r in rows:
            figure = figure_of(
                r.kind, r.bucket, r.detail or None, r.group_code or None, r.reason_code or None
            )
            if figure is not None:
                yield r, figure, _signed(figure, r.kind, money(r.amount_cents))

    for r, figure, amount in counted(month_rows):
        _add(total, figure, amount)
        _add(dims["month"][r.month], figure, amount)
        if r.kind == "charge" and r.bucket == "patient":
            cash[r.detail or "other"] += amount

    def provider_name(provider_id: str) -> str:
        return names.providers.get(provider_id, "(no visit)") if provider_id else "(no visit)"

    for r, figure, amount in counted(dim_rows):
        if r.on_line:
            code = r.code
            location = f"POS {r.place_of_service}" if r.place_of_service else "(not on a claim)"
        else:
            code = (r.detail or None) if r.kind == "charge" else "(no claim line)"
            location = "(not on a claim)"
        keys = {
            "payer": names.payer(r.payer_id or None),
            "code": code,
            "provider": provider_name(r.provider_id),
            "location": location,
        }
        for d, key in keys.items():
            _add(dims[d][key], figure, amount)
    notes = (
        f"Range {q.describe()}, by the date each ledger entry was posted; reversals are netted out.",
        "Net collection rate = (insurance + patient payments + redemptions) / (charges − contractual adjustments).",
        "Contractual adjustments: CO/PI adjustments with CARC "
        + ", ".join(sorted(contractual_codes()[1]))
        + "; other payer adjustments (denials, reductions) are shown apart.",
        "Tips, packages and gift certificates sold, and sales tax are shown apart and are not charges.",
        "Paid per unit: insurance payments on lines of the code that the payer paid, over their units.",
    )
    return RevenueReport(
        query=q,
        practice=names.practice,
        total=_freeze(total),
        by_month={k: _freeze(v) for k, v in dims["month"].items()},
        by_payer={k: _freeze(v) for k, v in dims["payer"].items()},
        by_code={k: _freeze(v) for k, v in dims["code"].items()},
        by_provider={k: _freeze(v) for k, v in dims["provider"].items()},
        by_location={k: _freeze(v) for k, v in dims["location"].items()},
        cash_services=dict(cash),
        per_unit=paid_per_unit,
        notes=notes,
    )
