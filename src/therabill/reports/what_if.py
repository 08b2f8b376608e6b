"""Payer-method what-if: the units and expected revenue of stored visits under the CMS
total-time method and under the per-code method, so a practice sees what a payer's rule
costs it.

Each visit's services (code and minutes, from the stored visit) go through
``therabill.domain.timing.compute_units`` twice; units are priced with the practice's fee
schedule (the practice's fees, else the imported fee schedule's practice fee on the as-of
day). A visit belongs to the payer of its claim, else of its coverage, else of the
patient's primary coverage, else to self-pay. Visits are chosen by date of service.

The visits are counted per payer and services text from the day totals database triggers keep
(``trend_tables.visit_day_totals``); ``build(..., from_records=True)`` groups the visits
themselves.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select

from therabill.adapters.db.tables import claims, coverages, payers, practices, visits
from therabill.adapters.db.trend_tables import visit_day_totals
from therabill.domain.money import ZERO, D
from therabill.domain.timing import UnitMethod, compute_units
from therabill.refdata.catalog import default_catalog
from therabill.refdata.fees import default_fees
from therabill.refdata.profiles import load_profile
from therabill.reports import charts
from therabill.reports.common import (
    Progress,
    ReportQuery,
    Table,
    check_payer,
    date_range,
    load_names,
    read_connection,
)

CHUNK = 20_000
"""Visits read per step (the CLI shows progress per chunk)."""


@dataclass(frozen=True, slots=True)
class _Line:
    code: str
    minutes: int
    units: int | None = None


@dataclass(frozen=True, slots=True)
class MethodFigures:
    """Units and expected revenue of one payer's visits under both methods.

    Attributes:
        payer: the payer's name (or self-pay).
        payer_method: the method the payer's profile uses (``None`` for self-pay).
        visits: visits counted.
        visits_differing: visits whose units differ between the methods.
        units_cms: units under the CMS total-time method.
        units_per_code: units under the per-code method.
        revenue_cms: expected revenue under CMS.
        revenue_per_code: expected revenue under per-code.
    """

    payer: str
    payer_method: str | None
    visits: int
    visits_differing: int
    units_cms: int
    units_per_code: int
    revenue_cms: Decimal
    revenue_per_code: Decimal

    @property
    def difference(self) -> Decimal:
        """Per-code minus CMS revenue."""
        return self.revenue_per_code - self.revenue_cms

    @property
    def cost_of_rule(self) -> Decimal:
        """What the payer's method costs against the better of the two (0 when it is the better)."""
        best = max(self.revenue_cms, self.revenue_per_code)
        if self.payer_method == UnitMethod.CMS.value:
            return best - self.revenue_cms
        if self.payer_method == UnitMethod.PER_CODE.value:
            return best - self.revenue_per_code
        return ZERO


@dataclass(frozen=True, slots=True)
class WhatIfReport:
    """The what-if report.

    Attributes:
        query: what it covers (by date of service).
        practice: the practice's name.
        payers: figures per payer.
        total: figures over all payers.
        unpriced: codes without a fee (their units count, their revenue is 0).
        notes: definitions.
    """

    query: ReportQuery
    practice: str
    payers: tuple[MethodFigures, ...]
    total: MethodFigures
    unpriced: tuple[str, ...]
    notes: tuple[str, ...]
    name: str = "what-if"
    title: str = "Payer-method what-if"

    def tables(self) -> list[Table]:
        """Per payer, with a total."""
        rows = [
            (
                f.payer,
                f.payer_method or "—",
                f.visits,
                f.visits_differing,
                f.units_cms,
                f.units_per_code,
                f.revenue_cms,
                f.revenue_per_code,
                f.difference,
                f.cost_of_rule,
            )
            for f in (*self.payers, self.total)
        ]
        rows[-1] = ("Total", "—", *rows[-1][2:-1], sum((f.cost_of_rule for f in self.payers), ZERO))
        return [
            Table(
                "Units and expected revenue by method",
                (
                    "Payer",
                    "Payer's method",
                    "Visits",
                    "Visits that differ",
                    "Units (CMS)",
                    "Units (per-code)",
                    "Revenue CMS ($)",
                    "Revenue per-code ($)",
                    "Per-code − CMS ($)",
                    "Cost of payer's rule ($)",
                ),
                tuple(rows),
                total_row=True,
            )
        ]

    def charts(self) -> list[str]:
        """Expected revenue under each method, per payer."""
        return [
            charts.bar_chart(
                "Expected revenue: CMS total-time vs per-code method",
                [f.payer for f in self.payers],
                [
                    ("CMS total-time", [f.revenue_cms for f in self.payers]),
                    ("Per-code", [f.revenue_per_code for f in self.payers]),
                ],
                x_label="Payer",
                y_label="Expected revenue",
                unit="$",
            )
        ]


def _parse(text: str | None) -> Any:
    """The services of a visit from their JSON text (``None`` when there are none)."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:  # a bare string: no services
        return text


def _lines(services: Any) -> tuple[_Line, ...]:
    out = []
    for s in services or ():
        if isinstance(s, dict) and s.get("code"):
            try:
                out.append(_Line(str(s["code"]), int(s.get("minutes") or 0)))
            except (TypeError, ValueError):
                continue
    return tuple(out)


def _groups_from_records(q: ReportQuery) -> Any:
    """Visits counted per payer and services text, from the visits, claims and coverages."""
    live_claim = (
        select(claims.c.visit_id, func.max(claims.c.payer_id).label("payer"))
        .where(claims.c.practice_id == q.practice_id, claims.c.status.not_in(("voided", "replaced")))
        .group_by(claims.c.visit_id)
        .subquery()
    )
    primary = (
        select(coverages.c.patient_id, func.min(coverages.c.payer_id).label("payer"))
        .where(coverages.c.practice_id == q.practice_id, coverages.c.sequence == "primary")
        .group_by(coverages.c.patient_id)
        .subquery()
    )
    visit_cov = coverages.alias("visit_cov")
    payer = func.coalesce(live_claim.c.payer, visit_cov.c.payer_id, primary.c.payer).label("payer")
    # One row per payer and distinct services text: visits of the same shape are computed once.
    services_text = visits.c.encounter_json["services"].as_string().label("services")
    stmt = (
        select(payer, services_text, func.count().label("n"))
        .select_from(
            visits.outerjoin(live_claim, live_claim.c.visit_id == visits.c.id)
            .outerjoin(visit_cov, visit_cov.c.id == visits.c.coverage_id)
            .outerjoin(primary, primary.c.patient_id == visits.c.patient_id)
        )
        .where(visits.c.practice_id == q.practice_id, *date_range(visits.c.date_of_service, q))
    )
    if q.payer_id:
        stmt = stmt.where(payer == q.payer_id)
    return stmt.group_by(payer, services_text)


def _groups_from_totals(q: ReportQuery) -> Any:
    """The same from the kept day totals (``visit_day_totals``; ``''`` is self-pay)."""
    vt = visit_day_totals
    payer = func.nullif(vt.c.payer_id, "").label("payer")
    stmt = select(payer, func.max(vt.c.services).label("services"), func.sum(vt.c.visits).label("n")).where(
        vt.c.practice_id == q.practice_id, *date_range(vt.c.date_of_service, q)
    )
    if q.payer_id:
        stmt = stmt.where(vt.c.payer_id == q.payer_id)
    return stmt.group_by(vt.c.payer_id, vt.c.services_key)


def build(
    engine: Engine, q: ReportQuery, progress: Progress | None = None, *, from_records: bool = False
) -> WhatIfReport:
    """The what-if report of ``q``: visits grouped from the kept day totals (``trend_tables``), or
    with ``from_records`` from the visits, claims and coverages."""
    step = progress or (lambda _s: None)
    stmt = _groups_from_records(q) if from_records else _groups_from_totals(q)
    catalog = default_catalog().units
    cache: dict[tuple[_Line, ...], tuple[dict[str, int], dict[str, int]]] = {}
    acc: dict[str | None, list[Any]] = defaultdict(lambda: [0, 0, defaultdict(int), defaultdict(int)])
    with read_connection(engine) as conn:
        names = load_names(conn, q.practice_id)
        check_payer(names, q.payer_id)
        profiles = dict(
            conn.execute(
                select(payers.c.id, payers.c.profile).where(payers.c.practice_id == q.practice_id)
            ).all()
        )
        fees_raw = conn.execute(select(practices.c.fees).where(practices.c.id == q.practice_id)).scalar()
        step("visits by payer and services")
        for payer_id, text, count in conn.execute(stmt):
            if not count:
                continue  # a day total taken back to zero
            key = _lines(_parse(text))
            units = cache.get(key)
            if units is None:
                units = _units_by_code(key, catalog)
                cache[key] = units
            n = int(count)
            a = acc[payer_id]
            a[0] += n
            cms, per_code = units
            if sum(cms.values()) != sum(per_code.values()) or cms != per_code:
                a[1] += n
            for code, u in cms.items():
                a[2][code] += u * n
            for code, u in per_code.items():
                a[3][code] += u * n
    fees = {c: D(str(v)) for c, v in (fees_raw or {}).items()}
    schedule = default_fees()
    unpriced: set[str] = set()

    def fee(code: str) -> Decimal:
        if code in fees:
            return fees[code]
        found = schedule.practice_fee(code, q.day) if schedule else None
        if found is None:
            unpriced.add(code)
            return ZERO
        return found

    def method_of(payer_id: str | None) -> str | None:
        profile = profiles.get(payer_id) if payer_id else None
        if not payer_id:
            return None
        try:
            return load_profile(profile).unit_method.value if profile else UnitMethod.CMS.value
        except Exception:  # noqa: BLE001 - an unknown profile falls back to the default method
            return UnitMethod.CMS.value

    out = []
    totals: list[Any] = [0, 0, 0, 0, ZERO, ZERO]
    for payer_id, (n_visits, n_diff, cms_units, pc_units) in acc.items():
        rev_cms = sum((fee(c) * u for c, u in cms_units.items()), ZERO)
        rev_pc = sum((fee(c) * u for c, u in pc_units.items()), ZERO)
        f = MethodFigures(
            names.payer(payer_id),
            method_of(payer_id),
            n_visits,
            n_diff,
            sum(cms_units.values()),
            sum(pc_units.values()),
            rev_cms,
            rev_pc,
        )
        out.append(f)
        for i, v in enumerate((f.visits, f.visits_differing, f.units_cms, f.units_per_code, rev_cms, rev_pc)):
            totals[i] += v
    out.sort(key=lambda f: f.payer)
    total = MethodFigures("Total", None, *totals)
    notes = (
        f"Visits of {q.describe()} by date of service; units recomputed from each visit's minutes.",
        "CMS total-time: the visit's timed minutes are pooled (8-minute rule over the total); per-code: each "
        "timed code counts on its own minutes.",
        "Expected revenue = units × the practice's fee per unit; cost of payer's rule = the better method's "
        "revenue minus the revenue under the payer's method.",
    )
    return WhatIfReport(q, names.practice, tuple(out), total, tuple(sorted(unpriced)), notes)


def _units_by_code(lines: tuple[_Line, ...], catalog: Any) -> tuple[dict[str, int], dict[str, int]]:
    out = []
    for method in (UnitMethod.CMS, UnitMethod.PER_CODE):
        result = compute_units(lines, method, catalog)
        by_code: dict[str, int] = defaultdict(int)
        for ln in result.lines:
            if ln.units:
                by_code[ln.code] += ln.units
        out.append(dict(by_code))
    return out[0], out[1]
