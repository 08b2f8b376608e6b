"""What every report shares: the query, the output shape and dialect-neutral SQL helpers.

A report is a read-only view of the ledger and the records. Each module builds a frozen
dataclass from a few aggregate SQL queries (SQLAlchemy Core, the same statements on SQLite
and PostgreSQL) and exposes it as ``Table`` objects (for the CSV, HTML and terminal
outputs) and SVG charts. Money is ``Decimal`` (the database keeps integer cents).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, String, func, literal_column, select
from sqlalchemy.sql.elements import ColumnElement

from therabill.adapters.db.engine import READ_ONLY
from therabill.adapters.db.tables import patients, payers, practices, providers
from therabill.clock import current_date
from therabill.domain.errors import Problem, TherabillError
from therabill.domain.money import from_cents

Cell = str | int | Decimal | date | None
Progress = Callable[[str], None]
"""Called with the name of each step a report starts (the CLI shows it)."""


class ReportError(TherabillError):
    """A report cannot be made from these inputs (a bad range, an unknown payer)."""

    code = "report-invalid"


@dataclass(frozen=True, slots=True)
class ReportQuery:
    """What a report covers.

    Attributes:
        practice_id: the practice (every query filters on it).
        date_from: first day of the range (inclusive), or ``None`` for no lower bound.
        date_to: last day of the range (inclusive), or ``None`` for no upper bound.
        payer_id: only this payer (the ``payers.id``), or ``None`` for all.
        as_of: the day balances and ages are taken on (aging, authorizations).
        patient_id: one patient (outcomes), or ``None``.
    """

    practice_id: str
    date_from: date | None = None
    date_to: date | None = None
    payer_id: str | None = None
    as_of: date | None = None
    patient_id: str | None = None

    def __post_init__(self) -> None:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ReportError(
                "the range ends before it starts",
                (Problem("report-range-invalid", "--from", f"{self.date_from} is after {self.date_to}"),),
            )

    @property
    def day(self) -> date:
        """The as-of day: ``as_of``, else the end of the range, else today (UTC, by the installed clock)."""
        return self.as_of or self.date_to or current_date()

    def describe(self) -> str:
        """The range in words."""
        start = self.date_from.isoformat() if self.date_from else "the beginning"
        end = self.date_to.isoformat() if self.date_to else "today"
        return f"{start} to {end}"

    def span_days(self) -> int:
        """Length of the range in days (0 when open at either end)."""
        if self.date_from and self.date_to:
            return (self.date_to - self.date_from).days + 1
        return 0


@dataclass(frozen=True, slots=True)
class Table:
    """One table of a report.

    Attributes:
        title: what the table shows.
        columns: column headings (money columns end in ``($)``).
        rows: the rows; the last row may be a total (``total_row``).
        total_row: True when the last row is a total line.
    """

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    total_row: bool = False


class Report(Protocol):
    """What every report dataclass offers to the outputs."""

    name: str
    title: str
    query: ReportQuery
    notes: tuple[str, ...]

    def tables(self) -> list[Table]: ...  # noqa: D102

    def charts(self) -> list[str]: ...  # noqa: D102


@dataclass(frozen=True, slots=True)
class Names:
    """Display names of the practice's payers, providers and patients.

    Attributes:
        practice: the practice's name.
        payers: payer id → name.
        providers: provider id → "First Last, CRED".
        patients: patient id → "Last, First (chart)".
    """

    practice: str
    payers: dict[str, str] = field(default_factory=dict)
    providers: dict[str, str] = field(default_factory=dict)
    patients: dict[str, str] = field(default_factory=dict)

    def payer(self, payer_id: str | None) -> str:
        """A payer's name; ``None`` is self-pay."""
        if payer_id is None:
            return "Self-pay / patient"
        return self.payers.get(payer_id, payer_id)


def load_names(conn: Any, practice_id: str, *, with_patients: bool = False) -> Names:
    """The names a report prints (one query per table)."""
    practice = conn.execute(select(practices.c.name).where(practices.c.id == practice_id)).scalar()
    if practice is None:
        raise ReportError("no such practice", (Problem("practice-not-found", "practice", practice_id),))
    payer_names = dict(
        conn.execute(select(payers.c.id, payers.c.name).where(payers.c.practice_id == practice_id)).all()
    )
    provider_names = {
        r.id: f"{r.first_name} {r.last_name}" + (f", {r.credential}" if r.credential else "")
        for r in conn.execute(select(providers).where(providers.c.practice_id == practice_id))
    }
    patient_names: dict[str, str] = {}
    if with_patients:
        patient_names = {
            r.id: f"{r.last_name}, {r.first_name} ({r.chart_number})"
            for r in conn.execute(
                select(
                    patients.c.id, patients.c.first_name, patients.c.last_name, patients.c.chart_number
                ).where(patients.c.practice_id == practice_id)
            )
        }
    return Names(practice, payer_names, provider_names, patient_names)


def check_payer(names: Names, payer_id: str | None) -> None:
    """Refuse a payer filter that names no payer of the practice."""
    if payer_id is not None and payer_id not in names.payers:
        raise ReportError("no such payer", (Problem("report-payer-unknown", "--payer", payer_id),))


def resolve_payer(engine: Engine, practice_id: str, key: str | None) -> str | None:
    """A payer's id from its id, its payer identifier or its exact name (case-insensitive)."""
    if key is None:
        return None
    with engine.connect() as conn:
        rows = conn.execute(
            select(payers.c.id, payers.c.payer_id, payers.c.name).where(payers.c.practice_id == practice_id)
        ).all()
    for r in rows:
        if key in (r.id, r.payer_id) or key.lower() == r.name.lower():
            return str(r.id)
    raise ReportError("no such payer", (Problem("report-payer-unknown", "--payer", key),))


# --- dialect-neutral SQL helpers ------------------------------------------------------------


def start_of(day: date) -> datetime:
    """Midnight UTC at the start of ``day`` (bounds of timestamp ranges)."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def timestamp_range(col: Any, q: ReportQuery) -> list[ColumnElement[bool]]:
    """Conditions keeping timestamps inside the query's days (UTC)."""
    out: list[ColumnElement[bool]] = []
    if q.date_from:
        out.append(col >= start_of(q.date_from))
    if q.date_to:
        out.append(col < start_of(q.date_to + timedelta(days=1)))
    return out


def date_range(col: Any, q: ReportQuery) -> list[ColumnElement[bool]]:
    """Conditions keeping a ``Date`` column inside the query's days."""
    out: list[ColumnElement[bool]] = []
    if q.date_from:
        out.append(col >= q.date_from)
    if q.date_to:
        out.append(col <= q.date_to)
    return out


def day_of_timestamp(col: Any, dialect: str) -> ColumnElement[str]:
    """``YYYY-MM-DD`` of a UTC timestamp column."""
    if dialect == "sqlite":
        return func.substr(col, 1, 10, type_=String)
    return func.to_char(func.timezone("UTC", col), literal_column("'YYYY-MM-DD'"), type_=String)


def month_of_date(col: Any, dialect: str) -> ColumnElement[str]:
    """``YYYY-MM`` of a ``Date`` column."""
    if dialect == "sqlite":
        return func.substr(col, 1, 7, type_=String)
    return func.to_char(col, literal_column("'YYYY-MM'"), type_=String)


def days_between(later_ts: Any, earlier_date: Any, dialect: str) -> ColumnElement[Any]:
    """Whole days from a ``Date`` column to a UTC timestamp column (day granularity)."""
    if dialect == "sqlite":
        return func.julianday(func.substr(later_ts, 1, 10)) - func.julianday(earlier_date)
    diff: ColumnElement[Any] = func.date(func.timezone("UTC", later_ts)) - earlier_date
    return diff


def parse_day(text: str) -> date:
    """A ``YYYY-MM-DD`` or ``YYYY-MM`` text as a date (the first of the month)."""
    return date.fromisoformat(text if len(text) == 10 else f"{text}-01")


def money(cents: Any) -> Decimal:
    """Integer cents (``None`` as 0) as ``Decimal``."""
    return from_cents(int(cents or 0))


def months_between(first: date, last: date) -> list[str]:
    """Every ``YYYY-MM`` from ``first`` to ``last`` inclusive."""
    out, y, m = [], first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    """``numerator / denominator`` as a percentage with one decimal, ``None`` for 0."""
    if denominator == 0:
        return None
    return (Decimal(100) * numerator / denominator).quantize(Decimal("0.1"))


def pct(value: Decimal | None) -> str:
    """A percentage for display (``—`` when not defined)."""
    return "—" if value is None else f"{value}%"


def sort_rows(rows: Sequence[tuple[Cell, ...]]) -> tuple[tuple[Cell, ...], ...]:
    """Rows sorted by their first column as text."""
    return tuple(sorted(rows, key=lambda r: str(r[0])))


# --- connections --------------------------------------------------------------------------

SQLITE_READ_PRAGMAS = {"cache_size": -262_144, "mmap_size": 1 << 30}
"""Page cache (256 MiB) and memory map (1 GiB) of a SQLite connection while a report reads:
reports visit most of the ledger's index pages, which the default 2 MiB cache cannot hold."""


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """A connection for one report; on SQLite with a larger page cache and a memory map for
    the duration (the connection's own settings are put back before it returns to the pool)."""
    with engine.connect() as plain:
        conn = plain.execution_options(**{READ_ONLY: True})  # a deferred (read) transaction
        if engine.dialect.name == "postgresql":
            # A larger sort and hash memory for this transaction, so that grouping a large
            # practice's open balances (400,000 rows) is not spilled to disk. (The engine turns
            # PostgreSQL's JIT compilation off: see ``adapters.db.engine``.)
            conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")
        if engine.dialect.name != "sqlite":
            yield conn
            return
        before = {k: conn.exec_driver_sql(f"PRAGMA {k}").scalar() for k in SQLITE_READ_PRAGMAS}
        for k, value in SQLITE_READ_PRAGMAS.items():
            conn.exec_driver_sql(f"PRAGMA {k} = {int(value)}")
        try:
            yield conn
        finally:
            for k, old in before.items():
                conn.exec_driver_sql(f"PRAGMA {k} = {int(old or 0)}")
