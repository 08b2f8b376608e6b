"""Authorizations: visits and units allowed, used and left, and which expire soon.

Use comes from the authorization's use and release events (a claim uses, a voided claim
releases), so the figures match ``therabill`` authorization status. An authorization is
*expiring soon* when it ends within ``SOON_DAYS`` of the as-of day, *nearly used* when at
most ``LOW_SHARE`` of its visits or units are left.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from sqlalchemy import Engine, case, func, select

from therabill.adapters.db.tables import authorization_events as ev
from therabill.adapters.db.tables import authorizations, coverages
from therabill.reports import charts
from therabill.reports.common import Progress, ReportQuery, Table, check_payer, load_names, read_connection

SOON_DAYS = 30
"""An authorization ending within this many days of the as-of day is expiring soon."""
LOW_SHARE = Decimal("0.2")
"""An authorization with at most this share of its visits or units left is nearly used."""


@dataclass(frozen=True, slots=True)
class AuthRow:
    """One authorization.

    Attributes:
        number: the authorization number.
        patient: the patient.
        payer: the payer.
        start_date: first day it covers.
        end_date: last day it covers.
        visits_allowed: visits allowed (``None``: no visit limit).
        visits_used: visits used (net of releases).
        units_allowed: units allowed (``None``: no unit limit).
        units_used: units used (net of releases).
        status: ``active``, ``expiring soon``, ``nearly used``, ``used up``, ``expired`` or ``not started``.
    """

    number: str
    patient: str
    payer: str
    start_date: date | None
    end_date: date | None
    visits_allowed: int | None
    visits_used: int
    units_allowed: int | None
    units_used: int
    status: str

    @property
    def visits_left(self) -> int | None:
        """Visits left, ``None`` without a limit."""
        return None if self.visits_allowed is None else self.visits_allowed - self.visits_used

    @property
    def units_left(self) -> int | None:
        """Units left, ``None`` without a limit."""
        return None if self.units_allowed is None else self.units_allowed - self.units_used


def status_of(row: AuthRow, as_of: date) -> str:
    """The status of an authorization on ``as_of``."""
    if row.end_date is not None and row.end_date < as_of:
        return "expired"
    if row.start_date is not None and row.start_date > as_of:
        return "not started"
    lefts = [(row.visits_left, row.visits_allowed), (row.units_left, row.units_allowed)]
    if any(left is not None and left <= 0 for left, _ in lefts):
        return "used up"
    if row.end_date is not None and (row.end_date - as_of).days <= SOON_DAYS:
        return "expiring soon"
    if any(left is not None and allowed and Decimal(left) <= LOW_SHARE * allowed for left, allowed in lefts):
        return "nearly used"
    return "active"


@dataclass(frozen=True, slots=True)
class AuthorizationsReport:
    """The authorizations report.

    Attributes:
        query: what it covers (authorizations overlapping the range; statuses on ``as_of``).
        practice: the practice's name.
        as_of: the day statuses are taken on.
        rows: one per authorization, soonest end first.
        notes: definitions.
    """

    query: ReportQuery
    practice: str
    as_of: date
    rows: tuple[AuthRow, ...]
    notes: tuple[str, ...]
    name: str = "authorizations"
    title: str = "Authorizations"

    def tables(self) -> list[Table]:
        """All authorizations, and those needing attention."""
        cols = (
            "Authorization",
            "Patient",
            "Payer",
            "From",
            "To",
            "Visits allowed",
            "Visits used",
            "Visits left",
            "Units allowed",
            "Units used",
            "Units left",
            "Status",
        )

        def line(r: AuthRow) -> tuple[object, ...]:
            return (
                r.number,
                r.patient,
                r.payer,
                r.start_date,
                r.end_date,
                r.visits_allowed,
                r.visits_used,
                r.visits_left,
                r.units_allowed,
                r.units_used,
                r.units_left,
                r.status,
            )

        attention = [r for r in self.rows if r.status in ("expiring soon", "nearly used", "used up")]
        return [
            Table("Needing attention", cols, tuple(line(r) for r in attention)),  # type: ignore[misc]
            Table("All authorizations", cols, tuple(line(r) for r in self.rows)),  # type: ignore[misc]
        ]

    def charts(self) -> list[str]:
        """Visits used and left per authorization."""
        rows = [r for r in self.rows if r.visits_allowed is not None][:20]
        return [
            charts.bar_chart(
                "Visits used and left per authorization",
                [f"{r.number} {r.patient.split(' (')[0]}" for r in rows],
                [
                    ("Used", [r.visits_used for r in rows]),
                    ("Left", [max(r.visits_left or 0, 0) for r in rows]),
                ],
                x_label="Authorization",
                y_label="Visits",
            )
        ]


def build(engine: Engine, q: ReportQuery, progress: Progress | None = None) -> AuthorizationsReport:
    """The authorizations report of ``q``."""
    step = progress or (lambda _s: None)
    as_of = q.day
    used = (
        select(
            ev.c.authorization_id,
            func.sum(case((ev.c.kind == "release", -ev.c.visits), else_=ev.c.visits)).label("visits"),
            func.sum(case((ev.c.kind == "release", -ev.c.units), else_=ev.c.units)).label("units"),
        )
        .where(ev.c.practice_id == q.practice_id)
        .group_by(ev.c.authorization_id)
        .subquery()
    )
    conds = [authorizations.c.practice_id == q.practice_id]
    if q.date_from:
        conds.append((authorizations.c.end_date.is_(None)) | (authorizations.c.end_date >= q.date_from))
    if q.date_to:
        conds.append((authorizations.c.start_date.is_(None)) | (authorizations.c.start_date <= q.date_to))
    if q.payer_id:
        conds.append(coverages.c.payer_id == q.payer_id)
    stmt = (
        select(
            authorizations,
            coverages.c.patient_id,
            coverages.c.payer_id.label("payer"),
            used.c.visits.label("v_used"),
            used.c.units.label("u_used"),
        )
        .select_from(
            authorizations.join(coverages, coverages.c.id == authorizations.c.coverage_id).outerjoin(
                used, used.c.authorization_id == authorizations.c.id
            )
        )
        .where(*conds)
    )
    with read_connection(engine) as conn:
        names = load_names(conn, q.practice_id, with_patients=True)
        check_payer(names, q.payer_id)
        step("authorizations")
        found = conn.execute(stmt).all()
    rows = []
    for r in found:
        row = AuthRow(
            r.number,
            names.patients.get(r.patient_id, r.patient_id),
            names.payer(r.payer),
            r.start_date,
            r.end_date,
            r.visits_allowed,
            int(r.v_used or 0),
            r.units_allowed,
            int(r.u_used or 0),
            "",
        )
        rows.append(replace(row, status=status_of(row, as_of)))
    rows.sort(key=lambda r: (r.end_date or date.max, r.number))
    notes = (
        f"Authorizations covering any day of {q.describe()}; statuses on {as_of.isoformat()}.",
        "Used = claims' use events minus releases (voided claims).",
        f"Expiring soon: ends within {SOON_DAYS} days; nearly used: at most {int(LOW_SHARE * 100)}% of visits or units left.",
    )
    return AuthorizationsReport(q, names.practice, as_of, tuple(rows), notes)
