"""Therapist pay: commissions on services by rate, tips and package redemptions per pay period.

A therapist's commission is a rate in basis points (``commission_rates``: per service code,
or ``*`` for the therapist's default) applied to the fee charged for each service line of
the therapist's visits in the period (date of service inside it; lines of voided claims
left out), rounded half-up to the cent per line. Tips are the tip entries kept for the
therapist (``ledger_entries.provider_id``) posted in the period, net of reversals; package
redemptions are the package and gift-certificate value applied to the therapist's services
in the period (shown apart: already part of the fees). Pay = commissions + tips.

One report feeds the web page, the CSV, the PDF and the CLI.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Engine, select

from therabill.adapters.db.ledger_tables import ledger_entries
from therabill.adapters.db.money_tables import commission_rates
from therabill.adapters.db.tables import claim_lines, claims, patients, practices, providers, visits
from therabill.adapters.pdf.compensation import ReportSection, render_compensation
from therabill.domain.errors import Problem, TherabillError
from therabill.domain.ledger import EntryKind, new_id
from therabill.domain.money import CENT, ZERO, from_cents, usd_text
from therabill.service_layer.statements import party_from_json
from therabill.service_layer.uow import UnitOfWork

__all__ = [
    "CompensationReport",
    "ServiceLine",
    "TherapistPay",
    "compensation_csv",
    "compensation_pdf",
    "compensation_report",
    "set_commission_rate",
]


@dataclass(frozen=True, slots=True)
class ServiceLine:
    """One service a therapist gave, with its commission."""

    service_date: date
    patient: str
    code: str
    units: int
    fee: Decimal
    rate_percent: Decimal
    commission: Decimal


@dataclass(slots=True)
class TherapistPay:
    """One therapist's pay for the period."""

    provider_id: str
    name: str
    services: list[ServiceLine] = field(default_factory=list)
    tips: Decimal = ZERO
    tip_count: int = 0
    redemptions: Decimal = ZERO
    redemption_count: int = 0
    rate_missing: bool = False

    @property
    def fees(self) -> Decimal:
        """Fees charged for the therapist's services."""
        return sum((s.fee for s in self.services), ZERO)

    @property
    def commission(self) -> Decimal:
        """Commission earned."""
        return sum((s.commission for s in self.services), ZERO)

    @property
    def pay(self) -> Decimal:
        """Commission plus tips."""
        return self.commission + self.tips

    def by_rate(self) -> list[tuple[Decimal, int, Decimal, Decimal]]:
        """(rate %, services, fees, commission) per rate, highest rate first."""
        groups: dict[Decimal, list[ServiceLine]] = defaultdict(list)
        for s in self.services:
            groups[s.rate_percent].append(s)
        return [
            (rate, len(lines), sum((x.fee for x in lines), ZERO), sum((x.commission for x in lines), ZERO))
            for rate, lines in sorted(groups.items(), reverse=True)
        ]


@dataclass(slots=True)
class CompensationReport:
    """Therapist pay for one period."""

    start: date
    end: date
    therapists: list[TherapistPay]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data (money as strings)."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "therapists": [
                {
                    "provider_id": t.provider_id,
                    "name": t.name,
                    "services": len(t.services),
                    "fees": str(t.fees),
                    "commission": str(t.commission),
                    "by_rate": [
                        {"rate_percent": str(r), "services": n, "fees": str(f), "commission": str(c)}
                        for r, n, f, c in t.by_rate()
                    ],
                    "tips": str(t.tips),
                    "package_redemptions": str(t.redemptions),
                    "package_redemption_count": t.redemption_count,
                    "pay": str(t.pay),
                    "rate_missing": t.rate_missing,
                }
                for t in self.therapists
            ],
        }


def set_commission_rate(
    engine: Engine, practice_id: str, actor: str, *, provider_id: str, percent: Decimal, code: str = "*"
) -> None:
    """Set a therapist's commission rate (``code`` ``*``: the default for every service)."""
    if not (ZERO <= percent <= Decimal(100)) or percent != percent.quantize(CENT):
        raise TherabillError(
            "a rate is 0 to 100 percent", (Problem("commission-rate-invalid", "percent", str(percent)),)
        )
    code = code.strip().upper() or "*"
    with UnitOfWork(engine, practice_id, actor) as uow:
        uow.records.get(providers, provider_id)
        found = uow.records.rows(
            commission_rates, commission_rates.c.provider_id == provider_id, commission_rates.c.code == code
        )
        bp = int(percent * 100)
        if found:
            uow.records.update(commission_rates, found[0].id, basis_points=bp, updated_at=uow.now())
        else:
            uow.records.insert(
                commission_rates,
                id=new_id(),
                provider_id=provider_id,
                code=code,
                basis_points=bp,
                updated_at=uow.now(),
            )
        uow.record("commission.rate", "provider", provider_id, {"code": code, "percent": str(percent)})


def compensation_report(
    engine: Engine, practice_id: str, actor: str, *, start: date, end: date, provider_id: str | None = None
) -> CompensationReport:
    """Each therapist's services, commissions by rate, tips and package redemptions in [start, end]."""
    if start > end:
        raise TherabillError(
            "the period is reversed", (Problem("pay-period-invalid", "start", f"{start} is after {end}"),)
        )
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        provs = uow.records.rows(providers, *([providers.c.id == provider_id] if provider_id else []))
        if provider_id and not provs:
            uow.records.get(providers, provider_id)
        rates: dict[tuple[str, str], int] = {
            (r.provider_id, r.code): r.basis_points for r in uow.records.rows(commission_rates)
        }
        vrows = uow.records.rows(visits, visits.c.date_of_service >= start, visits.c.date_of_service <= end)
        vmap = {v.id: v for v in vrows}
        crow = (
            uow.records.rows(claims, claims.c.visit_id.in_(list(vmap)), claims.c.status != "voided")
            if vmap
            else []
        )
        cmap = {c.id: c for c in crow}
        lines = uow.records.rows(claim_lines, claim_lines.c.claim_id.in_(list(cmap))) if cmap else []
        pats = {p.id: p for p in uow.records.rows(patients)}
        le = ledger_entries.c
        tips = uow.records.rows(ledger_entries, le.kind == str(EntryKind.TIP), le.provider_id.is_not(None))
        line_ids = [ln.id for ln in lines]
        redemptions = (
            uow.records.rows(ledger_entries, le.kind == str(EntryKind.REDEMPTION), le.item_id.in_(line_ids))
            if line_ids
            else []
        )
    out = {
        p.id: TherapistPay(p.id, " ".join(x for x in (p.first_name, p.last_name, p.credential) if x))
        for p in provs
    }
    line_owner: dict[str, str] = {}
    for ln in sorted(lines, key=lambda x: (x.date_of_service, x.claim_id, x.line_number)):
        visit = vmap[cmap[ln.claim_id].visit_id]
        pay = out.get(visit.provider_id)
        if pay is None:
            continue
        line_owner[ln.id] = visit.provider_id
        bp = rates.get((visit.provider_id, ln.code), rates.get((visit.provider_id, "*")))
        if bp is None:
            pay.rate_missing = True
            bp = 0
        fee = from_cents(ln.charge_cents)
        commission = (fee * bp / Decimal(10000)).quantize(CENT, rounding=ROUND_HALF_UP)
        pat = pats.get(visit.patient_id)
        who = f"{pat.first_name} {pat.last_name[:1]}. ({pat.chart_number})" if pat else ""
        pay.services.append(
            ServiceLine(ln.date_of_service, who, ln.code, ln.units, fee, Decimal(bp) / 100, commission)
        )
    for t in tips:
        pay = out.get(t.provider_id)
        if pay is None or not (start <= t.posted_at.date() <= end):
            continue
        pay.tips += from_cents(t.amount_cents)
        pay.tip_count += -1 if t.reverses_entry_id else 1
    for r in redemptions:
        pay = out.get(line_owner.get(r.item_id, ""))
        if pay is None:
            continue
        pay.redemptions += from_cents(r.amount_cents)
        pay.redemption_count += -1 if r.reverses_entry_id else 1
    kept = [t for t in out.values() if t.services or t.tips or provider_id]
    return CompensationReport(start, end, sorted(kept, key=lambda t: t.name))


def compensation_csv(report: CompensationReport) -> str:
    """The report as CSV: one row per service, then each therapist's totals."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        ["therapist", "date_of_service", "client", "code", "units", "fee", "rate_percent", "commission"]
    )
    for t in report.therapists:
        for s in t.services:
            w.writerow(
                [
                    t.name,
                    s.service_date.isoformat(),
                    s.patient,
                    s.code,
                    s.units,
                    s.fee,
                    s.rate_percent,
                    s.commission,
                ]
            )
    w.writerow([])
    w.writerow(["therapist", "services", "fees", "commission", "tips", "package_redemptions", "pay"])
    for t in report.therapists:
        w.writerow([t.name, len(t.services), t.fees, t.commission, t.tips, t.redemptions, t.pay])
    return buf.getvalue()


def compensation_pdf(engine: Engine, practice_id: str, actor: str, report: CompensationReport) -> bytes:
    """The report as PDF: per therapist, the services with their commission and the totals."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        prac = uow.session.execute(select(practices).where(practices.c.id == practice_id)).one()
    sections = []
    for t in report.therapists:
        rows = [["Date", "Client", "Code", "Units", "Fee", "Rate", "Commission"]]
        rows += [
            [
                s.service_date.strftime("%m/%d/%Y"),
                s.patient,
                s.code,
                str(s.units),
                usd_text(s.fee),
                f"{s.rate_percent}%",
                usd_text(s.commission),
            ]
            for s in t.services
        ]
        totals = [
            (f"Commission at {r}% ({n} services, fees {usd_text(f)})", usd_text(c))
            for r, n, f, c in t.by_rate()
        ]
        totals += [
            ("Tips", f"{usd_text(t.tips)} ({t.tip_count})"),
            ("Package redemptions (in the fees)", f"{usd_text(t.redemptions)} ({t.redemption_count})"),
            ("Pay: commission + tips", usd_text(t.pay)),
        ]
        if t.rate_missing:
            totals.append(("Note", "no commission rate set for some services (counted at 0%)"))
        sections.append(
            ReportSection(
                t.name, rows, totals, widths=(0.8, 2.2, 0.7, 0.6, 0.9, 0.7, 1.0), right_cols=(3, 4, 5, 6)
            )
        )
    return render_compensation(
        title="Therapist pay",
        practice=party_from_json(prac.name, prac.address, prac.phone),
        document_id=f"PAY-{report.start:%Y%m%d}-{report.end:%Y%m%d}",
        subtitle=f"{report.start:%m/%d/%Y} to {report.end:%m/%d/%Y}",
        sections=sections,
    )
