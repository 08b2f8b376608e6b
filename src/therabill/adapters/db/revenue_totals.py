"""The revenue report's derived tables at practice scale, kept as entries are posted.

* ``ledger_day_totals``: the entries summed as ``ledger_month_totals`` sums them, by UTC day of
  posting: the report reads the days before a range's first and after its last whole month
  from here (a few hundred rows a day) instead of joining each entry to its line, claim, visit;
* ``ledger_line_payments``: per claim line and payer, the insurance payments summed, with the
  first and last UTC day one was posted; ``ledger_unit_totals``: its rows with a positive
  payment summed per payer, code, first and last day. Paid per unit of a range reads the lines
  paid wholly inside the range from the second, and from the entries only the lines paid on
  both sides of one of the range's bounds (found through a partial index of the first).

``add_posted`` runs in the posting's transaction (from ``report_totals.add_posted``). A line's
row is first locked as it is (an upsert that changes nothing and returns the row, or inserts an
empty one), so its contribution to ``ledger_unit_totals`` before and after the posting is known
exactly, also when two transactions post on the same line at once: the second waits for the
first to commit and then reads what it left. Keys are written in sorted order.

``rebuild`` recomputes a practice's rows from its entries; ``differences`` compares.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Date, delete, func, insert, literal, select
from sqlalchemy.sql.elements import ColumnElement

from therabill.adapters.db import bulk
from therabill.adapters.db.ledger_tables import ledger_entries as le
from therabill.adapters.db.summary_tables import ledger_day_totals as days
from therabill.adapters.db.summary_tables import ledger_line_payments as lines
from therabill.adapters.db.summary_tables import ledger_unit_totals as units
from therabill.adapters.db.tables import claim_lines, claims, visits

__all__ = [
    "DAY_KEY",
    "add_posted",
    "day_of_timestamp",
    "differences",
    "grouped_by",
    "grouped_days",
    "rebuild",
]

NONE = ""
DAY_KEY: tuple[str, ...] = tuple(c.name for c in days.primary_key.columns)
LINE_KEY = ("practice_id", "payer_id", "claim_line_id")
UNIT_KEY = ("practice_id", "payer_id", "code", "first_day", "last_day")


def day_of(posted_at: datetime) -> date:
    """The UTC day of a posting time (a naive time is taken as UTC, as stored)."""
    return (posted_at.astimezone(UTC) if posted_at.tzinfo else posted_at).date()


def day_of_timestamp(col: Any, dialect: str) -> ColumnElement[date]:
    """The UTC day of a timestamp column, as a ``Date`` (SQL)."""
    if dialect == "sqlite":
        return func.substr(col, 1, 10, type_=Date)
    return func.date(func.timezone("UTC", col), type_=Date)


def grouped_by(period: ColumnElement[Any], *where: ColumnElement[bool]) -> Any:
    """The entries matching ``where`` grouped as the kept totals are, by ``period`` (a labelled
    month or day of posting) and what the reports group on: one row per key with
    ``amount_cents`` and ``entries`` (the monthly totals and the day totals alike)."""
    none = literal(NONE)
    cols = (
        le.c.practice_id.label("practice_id"),
        period,
        le.c.kind.label("kind"),
        le.c.bucket.label("bucket"),
        func.coalesce(le.c.detail, none).label("detail"),
        func.coalesce(le.c.group_code, none).label("group_code"),
        func.coalesce(le.c.reason_code, none).label("reason_code"),
        func.coalesce(le.c.payer_id, claims.c.payer_id, none).label("payer_id"),
        le.c.claim_line_id.is_not(None).label("on_line"),
        func.coalesce(claim_lines.c.code, none).label("code"),
        func.coalesce(claim_lines.c.place_of_service, none).label("place_of_service"),
        func.coalesce(visits.c.provider_id, none).label("provider_id"),
    )
    return (
        select(*cols, func.sum(le.c.amount_cents).label("amount_cents"), func.count().label("entries"))
        .select_from(
            le.outerjoin(claim_lines, claim_lines.c.id == le.c.claim_line_id)
            .outerjoin(claims, claims.c.id == le.c.claim_id)
            .outerjoin(visits, visits.c.id == claims.c.visit_id)
        )
        .where(*where)
        .group_by(*cols)
    )


def grouped_days(dialect: str, *where: ColumnElement[bool]) -> Any:
    """The entries matching ``where`` grouped as ``ledger_day_totals`` keeps them."""
    return grouped_by(day_of_timestamp(le.c.posted_at, dialect).label("day"), *where)


def _lines_query(dialect: str, *where: ColumnElement[bool]) -> Any:
    day = day_of_timestamp(le.c.posted_at, dialect)
    payer = func.coalesce(le.c.payer_id, literal(NONE))
    return (
        select(
            le.c.practice_id.label("practice_id"),
            payer.label("payer_id"),
            le.c.claim_line_id.label("claim_line_id"),
            claim_lines.c.code.label("code"),
            claim_lines.c.units.label("units"),
            func.sum(le.c.amount_cents).label("paid_cents"),
            func.count().label("entries"),
            func.min(day).label("first_day"),
            func.max(day).label("last_day"),
        )
        .select_from(le.join(claim_lines, claim_lines.c.id == le.c.claim_line_id))
        .where(*where, le.c.kind == "insurance-payment")
        .group_by(le.c.practice_id, payer, le.c.claim_line_id, claim_lines.c.code, claim_lines.c.units)
    )


def _units_query(source: Any, *where: ColumnElement[bool]) -> Any:
    """``source`` (the line payments, or their recomputation) summed as ``ledger_unit_totals``."""
    c = source.c
    return (
        select(
            c.practice_id,
            c.payer_id,
            c.code,
            c.first_day,
            c.last_day,
            func.count().label("lines"),
            func.sum(c.units).label("units"),
            func.sum(c.paid_cents).label("paid_cents"),
        )
        .where(*where, c.paid_cents > 0)
        .group_by(c.practice_id, c.payer_id, c.code, c.first_day, c.last_day)
    )


Attribution = tuple[dict[str, tuple[str, str]], dict[str, tuple[str, str, int]]]
"""(claim id → (payer, provider), line id → (code, place of service, units)) of posted rows."""


def attribution(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> Attribution:
    """(claim id → (payer, provider), line id → (code, place of service, units)) of the rows:
    read once per posting for every kept total that attributes entries."""
    claim_ids = sorted({r["claim_id"] for r in rows if r.get("claim_id")})
    line_ids = sorted({r["claim_line_id"] for r in rows if r.get("claim_line_id")})
    of_claim: dict[str, tuple[str, str]] = {}
    of_line: dict[str, tuple[str, str, int]] = {}
    if claim_ids:
        found = conn.execute(
            select(claims.c.id, claims.c.payer_id, visits.c.provider_id)
            .select_from(claims.outerjoin(visits, visits.c.id == claims.c.visit_id))
            .where(bulk.among(claims.c.id, claim_ids, "claim_ids", conn.dialect.name))
        )
        of_claim = {r.id: (r.payer_id or NONE, r.provider_id or NONE) for r in found}
    if line_ids:
        found = conn.execute(
            select(
                claim_lines.c.id, claim_lines.c.code, claim_lines.c.place_of_service, claim_lines.c.units
            ).where(bulk.among(claim_lines.c.id, line_ids, "line_ids", conn.dialect.name))
        )
        of_line = {r.id: (r.code, r.place_of_service or NONE, int(r.units or 0)) for r in found}
    return of_claim, of_line


def entry_class(r: Mapping[str, Any], attributed: Attribution) -> tuple[Any, ...]:
    """A posted row's class and attribution, as the kept totals key them after the practice and
    the period: kind, bucket, detail, group and reason code, payer (the entry's, else its
    claim's), whether it is on a line, the line's code and place of service, the provider."""
    of_claim, of_line = attributed
    claim_payer, provider = of_claim.get(r.get("claim_id") or "", (NONE, NONE))
    line = r.get("claim_line_id")
    code, place, _units = of_line.get(line, (NONE, NONE, 0)) if line else (NONE, NONE, 0)
    return (
        r["kind"],
        r["bucket"],
        r.get("detail") or NONE,
        r.get("group_code") or NONE,
        r.get("reason_code") or NONE,
        r.get("payer_id") or claim_payer,
        bool(line),
        code,
        place,
        provider,
    )


def add_posted(
    conn: Connection, rows: Sequence[Mapping[str, Any]], attributed: Attribution | None = None
) -> None:
    """Add the ledger rows just inserted (the dicts given to the insert) to the day totals and
    the line payments (``attributed``: the rows' ``attribution`` when the caller has read it)."""
    if not rows:
        return
    attributed = attributed or attribution(conn, rows)
    of_line = attributed[1]
    sums: dict[tuple[Any, ...], list[int]] = {}
    paid: dict[tuple[str, str, str], list[Any]] = {}
    for r in rows:
        line = r.get("claim_line_id")
        code, _place, line_units = of_line.get(line, (NONE, NONE, 0)) if line else (NONE, NONE, 0)
        day = day_of(r["posted_at"])
        key = (r["practice_id"], day, *entry_class(r, attributed))
        acc = sums.setdefault(key, [0, 0])
        acc[0] += int(r["amount_cents"])
        acc[1] += 1
        if line and r["kind"] == "insurance-payment":
            lkey = (r["practice_id"], r.get("payer_id") or NONE, line)
            p = paid.setdefault(lkey, [0, 0, day, day, code, line_units])
            p[0] += int(r["amount_cents"])
            p[1] += 1
            p[2], p[3] = min(p[2], day), max(p[3], day)
    bulk.upsert(
        conn,
        days,
        [
            {**dict(zip(DAY_KEY, key, strict=True)), "amount_cents": c, "entries": n}
            for key, (c, n) in sorted(sums.items(), key=lambda kv: repr(kv[0]))
        ],
        DAY_KEY,
        lambda given: {
            "amount_cents": days.c.amount_cents + given.amount_cents,
            "entries": days.c.entries + given.entries,
        },
    )
    if paid:
        _add_line_payments(conn, paid)


def _add_line_payments(conn: Connection, paid: dict[tuple[str, str, str], list[Any]]) -> None:
    # Lock each line's row as it is (an empty row when new) and read it back.
    placeholders = [
        {
            **dict(zip(LINE_KEY, key, strict=True)),
            "code": p[4],
            "units": p[5],
            "paid_cents": 0,
            "entries": 0,
            "first_day": p[2],
            "last_day": p[3],
        }
        for key, p in sorted(paid.items())
    ]
    locked = bulk.lock_rows(
        conn,
        lines,
        placeholders,
        LINE_KEY,
        returning=[
            *(lines.c[k] for k in LINE_KEY),
            lines.c.paid_cents,
            lines.c.entries,
            lines.c.first_day,
            lines.c.last_day,
        ],
    )
    before = {(r.practice_id, r.payer_id, r.claim_line_id): r for r in locked}
    unit_add: dict[tuple[Any, ...], list[int]] = {}
    updates = []
    for key, p in sorted(paid.items()):
        old = before[key]
        code, line_units = p[4], p[5]
        if old.entries:
            old_first, old_last = _as_date(old.first_day), _as_date(old.last_day)
            if old.paid_cents > 0:
                acc = unit_add.setdefault((key[0], key[1], code, old_first, old_last), [0, 0, 0])
                acc[0] -= 1
                acc[1] -= line_units
                acc[2] -= int(old.paid_cents)
            first, last = min(old_first, p[2]), max(old_last, p[3])
        else:
            first, last = p[2], p[3]
        new_paid, new_entries = int(old.paid_cents) + p[0], int(old.entries) + p[1]
        if new_paid > 0:
            acc = unit_add.setdefault((key[0], key[1], code, first, last), [0, 0, 0])
            acc[0] += 1
            acc[1] += line_units
            acc[2] += new_paid
        updates.append(
            {
                **dict(zip(LINE_KEY, key, strict=True)),
                "paid_cents": new_paid,
                "entries": new_entries,
                "first_day": first,
                "last_day": last,
            }
        )
    bulk.update_rows(conn, lines, updates, LINE_KEY)
    values = [
        {**dict(zip(UNIT_KEY, key, strict=True)), "lines": a[0], "units": a[1], "paid_cents": a[2]}
        for key, a in sorted(unit_add.items())
        if any(a)
    ]
    bulk.upsert(
        conn,
        units,
        values,
        UNIT_KEY,
        lambda given: {name: units.c[name] + given[name] for name in ("lines", "units", "paid_cents")},
    )


def _as_date(value: Any) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def rebuild(conn: Connection, practice_id: str) -> None:
    """Recompute the practice's day totals, line payments and unit totals from its entries."""
    dialect = conn.dialect.name
    conn.execute(delete(days).where(days.c.practice_id == practice_id))
    conn.execute(
        insert(days).from_select(
            [*DAY_KEY, "amount_cents", "entries"], grouped_days(dialect, le.c.practice_id == practice_id)
        )
    )
    conn.execute(delete(units).where(units.c.practice_id == practice_id))
    conn.execute(delete(lines).where(lines.c.practice_id == practice_id))
    line_cols = [*LINE_KEY, "code", "units", "paid_cents", "entries", "first_day", "last_day"]
    conn.execute(insert(lines).from_select(line_cols, _lines_query(dialect, le.c.practice_id == practice_id)))
    conn.execute(
        insert(units).from_select(
            [*UNIT_KEY, "lines", "units", "paid_cents"],
            _units_query(lines, lines.c.practice_id == practice_id),
        )
    )


def differences(conn: Connection, practice_id: str) -> list[dict[str, Any]]:
    """The rows where the kept tables differ from the entries (empty when they agree)."""
    dialect = conn.dialect.name
    out: list[dict[str, Any]] = []

    def compare(table: str, key: tuple[str, ...], values: tuple[str, ...], expected: Any, kept: Any) -> None:
        def rows_of(result: Any) -> dict[tuple[Any, ...], tuple[int, ...]]:
            found = {}
            for r in result:
                m = r._mapping
                k = tuple(
                    _as_date(m[c]) if c.endswith("day") else (bool(m[c]) if c == "on_line" else m[c])
                    for c in key
                )
                v = tuple(int(m[c]) for c in values)
                if any(v):
                    found[k] = v
            return found

        want, have = rows_of(conn.execute(expected)), rows_of(conn.execute(kept))
        out.extend(
            {"table": table, **dict(zip(key, k, strict=True)), "expected": want.get(k), "kept": have.get(k)}
            for k in sorted(set(want) | set(have), key=repr)
            if want.get(k) != have.get(k)
        )

    compare(
        "ledger_day_totals",
        DAY_KEY,
        ("amount_cents", "entries"),
        grouped_days(dialect, le.c.practice_id == practice_id),
        select(days).where(days.c.practice_id == practice_id),
    )
    line_values = ("units", "paid_cents", "entries")
    compare(
        "ledger_line_payments",
        (*LINE_KEY, "code", "first_day", "last_day"),
        line_values,
        _lines_query(dialect, le.c.practice_id == practice_id),
        select(lines).where(lines.c.practice_id == practice_id),
    )
    compare(
        "ledger_unit_totals",
        UNIT_KEY,
        ("lines", "units", "paid_cents"),
        _units_query(_lines_query(dialect, le.c.practice_id == practice_id).subquery()),
        select(units).where(units.c.practice_id == practice_id),
    )
    return out
