"""Outcomes: per patient, pain, range of motion and strength over visits against goals; per
practice, the share of goals met.

Measures are the ``objective_measures`` kept from each visit note: pain (0-10), range of
motion (degrees, per joint and motion) and strength (manual muscle test grades such as
``4/5`` or ``4+``: read as the number, ``+`` adds 0.5 and ``-`` takes 0.5 off). A goal is
the same description for the same patient across visits; it is *met* when its latest row
has the status ``met``.

The report reads the measures' kept days (``trend_tables.measure_days``, a row per patient,
measure and day, and ``measure_visit_days``, the visits measured per patient and day), which
database triggers keep as measures are written: per measure the days counted and the first and
latest point of the range in one grouped query. Every measure is read only for the patients the
charts draw and for patients with a text that is not plainly a number. On a day with several
texts of one measure, the greatest text counts.
"""

from __future__ import annotations

import gc
import re
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from therabill.adapters.db.outcome_totals import KINDS
from therabill.adapters.db.tables import goals, objective_measures, patients
from therabill.adapters.db.trend_tables import measure_days, measure_visit_days
from therabill.reports import charts
from therabill.reports.common import (
    Cell,
    Progress,
    ReportQuery,
    Table,
    date_range,
    load_names,
    ratio,
    read_connection,
)

CHARTED = 6
"""The patients (the first in the report's order) whose measures are charted point by point."""

_GRADE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([+-]?)")


def measure_value(kind: str, text: str) -> Decimal | None:
    """The number a measure's stored text stands for (``None`` when it is not a number)."""
    if kind == "strength":
        m = _GRADE.match(text)
        if not m:
            return None
        base = Decimal(m.group(1))
        return base + {"+": Decimal("0.5"), "-": Decimal("-0.5")}.get(m.group(2), Decimal(0))
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        return None


@dataclass(frozen=True, slots=True)
class Series:
    """One measure of one patient over visits.

    Attributes:
        kind: ``pain``, ``rom`` or ``strength``.
        name: what was measured (``pain_scale``, ``cervical rotation right``...).
        unit: the unit (``0-10``, ``deg``...).
        points: (day, value) in date order: every point for the patients the charts draw (the
            first ``CHARTED`` of the report), else the first and the latest.
        days: the days measured (every point's count).
    """

    kind: str
    name: str
    unit: str | None
    points: tuple[tuple[date, Decimal], ...]
    days: int

    @property
    def first(self) -> Decimal:
        """The first value."""
        return self.points[0][1]

    @property
    def last(self) -> Decimal:
        """The latest value."""
        return self.points[-1][1]

    @property
    def improved(self) -> bool:
        """Pain went down, range of motion or strength went up."""
        return self.last < self.first if self.kind == "pain" else self.last > self.first


@dataclass(frozen=True, slots=True)
class PatientOutcome:
    """One patient's progress.

    Attributes:
        patient: the patient.
        visits: visits with measures.
        series: each measure over time.
        goals: (description, target, met) of the patient's goals.
    """

    patient: str
    visits: int
    series: tuple[Series, ...]
    goals: tuple[tuple[str, str | None, bool], ...]


@dataclass(frozen=True, slots=True)
class OutcomesReport:
    """The outcomes report.

    Attributes:
        query: what it covers (measures by the day measured).
        practice: the practice's name.
        patients: per patient.
        goals_total: goals of the patients in the report.
        goals_met: of which met.
        notes: definitions.
    """

    query: ReportQuery
    practice: str
    patients: tuple[PatientOutcome, ...]
    goals_total: int
    goals_met: int
    notes: tuple[str, ...]
    name: str = "outcomes"
    title: str = "Patient outcomes"

    @property
    def share_met(self) -> Decimal | None:
        """Goals met / goals, in percent."""
        return ratio(Decimal(self.goals_met), Decimal(self.goals_total))

    def tables(self) -> list[Table]:
        """Practice summary and per-patient measures."""
        rows: list[tuple[Cell, ...]] = [
            (
                p.patient,
                s.kind,
                s.name,
                s.unit,
                s.days,
                s.first,
                s.last,
                s.last - s.first,
                "improved" if s.improved else "not improved",
            )
            for p in self.patients
            for s in p.series
        ]
        goal_rows = [
            (p.patient, d, t, "met" if met else "open") for p in self.patients for d, t, met in p.goals
        ]
        return [
            Table(
                "Practice",
                ("Figure", "Value"),
                (
                    ("Patients with measures", len(self.patients)),
                    ("Goals", self.goals_total),
                    ("Goals met", self.goals_met),
                    ("Share of goals met", "—" if self.share_met is None else f"{self.share_met}%"),
                ),
            ),
            Table(
                "Measures per patient",
                ("Patient", "Kind", "Measure", "Unit", "Visits", "First", "Latest", "Change", "Trend"),
                tuple(rows),
            ),
            Table("Goals", ("Patient", "Goal", "Target", "Status"), tuple(goal_rows)),
        ]

    def charts(self) -> list[str]:
        """Per patient (first ``CHARTED``): pain and range of motion over visits."""
        out = []
        for p in self.patients[:CHARTED]:
            days = sorted({d for s in p.series if s.kind in ("pain", "rom") for d, _ in s.points})
            labels = [d.isoformat() for d in days]
            pain = [s for s in p.series if s.kind == "pain"]
            rom = [s for s in p.series if s.kind == "rom"]
            if pain:
                out.append(
                    charts.line_chart(
                        f"Pain over visits: {p.patient}",
                        labels,
                        [(s.name, [dict(s.points).get(d) for d in days]) for s in pain],
                        x_label="Visit date",
                        y_label="Pain (0-10)",
                    )
                )
            if rom:
                out.append(
                    charts.line_chart(
                        f"Range of motion over visits: {p.patient}",
                        labels,
                        [(s.name, [dict(s.points).get(d) for d in days]) for s in rom[:4]],
                        x_label="Visit date",
                        y_label="Range of motion",
                        unit="degrees",
                    )
                )
        return out


Points = dict[str, dict[tuple[str, str, str | None], dict[date, Decimal]]]
"""Patient → (kind, name, unit) → day → value."""
Kept = dict[tuple[str, str, str | None], tuple[int, tuple[date, Decimal], tuple[date, Decimal]]]
"""(kind, name, unit) → (days measured, first point, latest point)."""


def build(
    engine: Engine, q: ReportQuery, progress: Progress | None = None, *, from_records: bool = False
) -> OutcomesReport:
    """The outcomes report of ``q`` (one patient with ``q.patient_id``): from the kept measure
    days (``trend_tables.measure_days``), or with ``from_records`` from every measure."""
    with _cycles_uncollected():
        return _build(engine, q, progress, from_records=from_records)


@contextmanager
def _cycles_uncollected() -> Iterator[None]:
    """The cyclic garbage collector paused while the report is built: its rows are tens of
    thousands of small objects, none in a cycle (reference counting frees them all), which
    otherwise set off full collections of the whole process, a third of the report's Python time
    at 20,000 patients. Put back as it was (another thread's report may have paused it first)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _build(
    engine: Engine, q: ReportQuery, progress: Progress | None, *, from_records: bool
) -> OutcomesReport:
    step = progress or (lambda _s: None)
    gconds = [goals.c.practice_id == q.practice_id]
    if q.patient_id:
        gconds.append(goals.c.patient_id == q.patient_id)
    gstmt = select(
        goals.c.patient_id,
        goals.c.description,
        goals.c.target,
        goals.c.status,
        goals.c.created_at,
        goals.c.id,
    ).where(*gconds)
    # Rows are unpacked, never read by attribute: at 20,000 patients a row's attributes cost more
    # than the rest of the report's Python.
    with read_connection(engine) as conn:
        names = load_names(conn, q.practice_id)
        patient_names = _patient_names(conn, q)
        step("measures")
        kept: dict[str, Kept] = {}
        kept_visits: dict[str, int] = {}
        if from_records:
            points, visit_ids = _measures(conn, q, None)
        else:
            kept, kept_visits, odd = _kept(conn, q)
            points, visit_ids = _measures(conn, q, sorted(odd))  # patients with a text not plainly a number
        step("goals")
        goal_rows = conn.execute(gstmt).all()
        # a goal's latest row (by time written, then id) says what it is: the greatest, not a sort
        latest: dict[tuple[str, str], tuple[Any, str, str | None, str]] = {}
        for pid, description, target, status, at, gid in goal_rows:
            seen = latest.get((pid, description))
            if seen is None or (at, gid) > (seen[0], seen[1]):
                latest[(pid, description)] = (at, gid, target, status)
        patient_goals: dict[str, list[tuple[str, str | None, bool]]] = defaultdict(list)
        for pid, description in sorted(latest):
            _at, _gid, target, status = latest[(pid, description)]
            patient_goals[pid].append((description, target, status == "met"))
        order = sorted(set(points) | set(kept) | set(patient_goals), key=lambda p: patient_names.get(p, p))
        charted = [p for p in order[:CHARTED] if p in kept]
        if charted:  # every point of the charted patients
            more, more_visits = _measures(conn, q, charted)
            for pid in charted:
                del kept[pid]
                points[pid], visit_ids[pid] = more.get(pid, {}), more_visits.get(pid, set())
    patients = []
    no_goals: tuple[tuple[str, str | None, bool], ...] = ()
    for i, pid in enumerate(order):
        figures = kept.get(pid)
        if figures is not None:
            n_visits = kept_visits.get(pid, 0)
        else:
            figures = {k: (len(v), min(v.items()), max(v.items())) for k, v in points.get(pid, {}).items()}
            n_visits = len(visit_ids.get(pid, ()))
        keys = sorted(figures, key=_series_order) if len(figures) > 1 else list(figures)
        every_of = points[pid] if i < CHARTED and pid in points else None
        series = []
        for key in keys:
            days, first, last = figures[key]
            every = every_of.get(key) if every_of is not None else None
            if every is not None:
                shown = tuple(sorted(every.items()))
            else:
                shown = (first,) if first == last else (first, last)
            series.append(Series(key[0], key[1], key[2], shown, days))
        found = patient_goals.get(pid)
        patients.append(
            PatientOutcome(
                patient_names.get(pid, pid), n_visits, tuple(series), tuple(found) if found else no_goals
            )
        )
    total = sum(len(p.goals) for p in patients)
    met = sum(1 for p in patients for _, _, ok in p.goals if ok)
    notes = (
        f"Measures taken {q.describe()}; goals of the same patient with the same description count once.",
        "Improved: pain lower, range of motion or strength higher at the latest visit than at the first.",
        "Strength grades are read as numbers (4+ = 4.5, 4- = 3.5).",
    )
    return OutcomesReport(q, names.practice, tuple(patients), total, met, notes)


_KIND_ORDER = {"pain": 0, "rom": 1, "strength": 2}


def _series_order(key: tuple[str, str, str | None]) -> tuple[int, str]:
    return _KIND_ORDER[key[0]], key[1]


def _patient_names(conn: Connection, q: ReportQuery) -> dict[str, str]:
    """Patient id → ``Last, First (chart)`` (as ``common.load_names`` writes them)."""
    conds = [patients.c.practice_id == q.practice_id]
    if q.patient_id:
        conds.append(patients.c.id == q.patient_id)
    stmt = select(patients.c.id, patients.c.last_name, patients.c.first_name, patients.c.chart_number)
    return {
        pid: f"{last}, {first} ({chart})"
        for pid, last, first, chart in conn.execute(stmt.where(*conds)).all()
    }


def _measures(
    conn: Connection, q: ReportQuery, patients: list[str] | None
) -> tuple[Points, dict[str, set[str]]]:
    """Every point and the measured visits, from the measures (of ``patients`` when given)."""
    m = objective_measures
    conds = [m.c.practice_id == q.practice_id, *date_range(m.c.measured_on, q)]
    if q.patient_id:
        conds.append(m.c.patient_id == q.patient_id)
    stmt = select(
        m.c.patient_id, m.c.visit_id, m.c.measured_on, m.c.kind, m.c.name, m.c.value, m.c.unit
    ).where(*conds, m.c.kind.in_(KINDS))
    stmt = stmt.order_by(m.c.value)  # a day with several texts of a measure: the greatest counts
    if patients is None:
        rows = list(conn.execute(stmt).all())
    else:
        rows = []
        for at in range(0, len(patients), 500):
            rows.extend(conn.execute(stmt.where(m.c.patient_id.in_(patients[at : at + 500]))))
    points: Points = defaultdict(lambda: defaultdict(dict))
    visit_ids: dict[str, set[str]] = defaultdict(set)
    values: dict[tuple[str, str], Decimal | None] = {}  # measures repeat a few texts many times
    for patient_id, visit_id, measured_on, kind, name, text, unit in rows:
        key = (kind, text)
        if key not in values:
            values[key] = measure_value(kind, text)
        value = values[key]
        if value is None:
            continue
        points[patient_id][(kind, name, unit)][measured_on] = value
        visit_ids[patient_id].add(visit_id)
    return points, visit_ids


@lru_cache(maxsize=1 << 16)
def _point(kind: str, day_and_text: str) -> tuple[date, Decimal]:
    """A kept point (``YYYY-MM-DD`` and a plain text) as its day and value: the same few days and
    texts come back for every patient, so each is read once."""
    value = measure_value(kind, day_and_text[10:])
    assert value is not None  # a plain text (no odd measure in the range)
    return date.fromisoformat(day_and_text[:10]), value


def _kept(conn: Connection, q: ReportQuery) -> tuple[dict[str, Kept], dict[str, int], set[str]]:
    """Per patient the kept figures of each measure and the visits measured, and the patients
    with an odd text in the range (whose measures must be read)."""
    md, mv = measure_days, measure_visit_days
    vconds = [mv.c.practice_id == q.practice_id, *date_range(mv.c.measured_on, q)]
    dconds = [md.c.practice_id == q.practice_id, *date_range(md.c.measured_on, q), md.c.measures > 0]
    if q.patient_id:
        vconds.append(mv.c.patient_id == q.patient_id)
        dconds.append(md.c.patient_id == q.patient_id)
    visits: dict[str, int] = {}
    odd: set[str] = set()
    vstmt = select(mv.c.patient_id, func.sum(mv.c.visits), func.sum(mv.c.odd)).where(*vconds)
    for pid, n, n_odd in conn.execute(vstmt.group_by(mv.c.patient_id)).all():
        if n_odd:
            odd.add(pid)
        visits[pid] = int(n or 0)
    series_key = (md.c.patient_id, md.c.kind, md.c.name, md.c.unit_key)
    stmt = (  # a point is ``YYYY-MM-DD`` and the day's text: the least is the first, the greatest the latest
        select(*series_key, func.count(), func.min(md.c.point), func.max(md.c.point))
        .where(*dconds)
        .group_by(*series_key)
    )
    found: dict[str, dict[tuple[str, str, str | None], Any]] = {}
    for pid, kind, name, unit_key, days, first, last in conn.execute(stmt).all():
        if pid in odd:
            continue
        series = found.get(pid)
        if series is None:
            series = found[pid] = {}
        series[(kind, name, unit_key or None)] = (int(days), _point(kind, first), _point(kind, last))
    return found, {p: n for p, n in visits.items() if p in found}, odd
