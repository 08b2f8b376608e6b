"""The denials report's derived tables, kept as entries are posted and rebuilt on demand.

* ``ledger_line_denials``: per claim line and payer, the insurance payments and adjustments on
  it (counted), its denial adjustments that are not reversals (counted), what the denial
  adjustments hold net of reversals, and what was paid;
* ``ledger_denial_days``: those lines summed per date of service, payer and code (adjudicated
  lines, denied lines, money at stake, lines fixed and paid), what the report groups;
* ``ledger_denial_reasons``: per claim line, payer and reason, the denial adjustments summed.

``add_posted`` runs in the transaction that inserts the entries (from
``report_totals.add_posted``). The line rows are added to with one upsert that returns the
row as it is after the addition; the row before is that minus what was added, so the change
of each line's flags (adjudicated, denied, fixed and paid) goes to its day row exactly, also
when two transactions post on the same line at once (the upsert locks the line's row until
the first commits, and the second then adds to what the first left). Keys are written in
sorted order, so concurrent postings lock shared rows in the same order.

``rebuild`` recomputes a practice's rows from its entries; ``differences`` compares the kept
rows with that recomputation (``therabill db check``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

from sqlalchemy import Connection, and_, case, delete, func, insert, literal, select
from sqlalchemy.sql.elements import ColumnElement

from therabill.adapters.db import bulk
from therabill.adapters.db.ledger_tables import ledger_denial_days as days
from therabill.adapters.db.ledger_tables import ledger_denial_reasons as reasons
from therabill.adapters.db.ledger_tables import ledger_entries as le
from therabill.adapters.db.ledger_tables import ledger_line_denials as lines
from therabill.adapters.db.tables import claim_lines

__all__ = [
    "DENIAL_GROUPS",
    "add_posted",
    "differences",
    "is_denial",
    "rebuild",
    "routine_reasons",
]

DENIAL_GROUPS = ("CO", "OA", "PI")
"""Adjustment groups that can be a denial (with a reason that is not routine)."""

NONE = ""

LINE_KEY = ("practice_id", "claim_line_id", "payer_id")
DAY_KEY = ("practice_id", "date_of_service", "payer_id", "code")
REASON_KEY = ("practice_id", "claim_line_id", "payer_id", "group_code", "reason_code")
ADDED = ("entries", "denials", "stake_cents", "paid_cents")


@lru_cache(maxsize=1)
def routine_reasons() -> frozenset[str]:
    """The CARCs of routine contractual adjustments (``reports/data/contractual.toml``, the file
    the revenue report reads): an adjustment with one of them is not a denial."""
    source = resources.files("therabill.reports").joinpath("data", "contractual.toml")
    return frozenset(tomllib.loads(source.read_text("utf-8"))["reasons"])


def is_denial(kind: Any, group_code: Any, reason_code: Any) -> bool:
    """Whether an entry of these values is a denial adjustment (Python)."""
    return (
        kind == "adjustment"
        and group_code in DENIAL_GROUPS
        and reason_code is not None
        and reason_code not in routine_reasons()
    )


def denial_condition() -> ColumnElement[bool]:
    """Whether an entry is a denial adjustment (SQL; what ``is_denial`` says in Python)."""
    return and_(
        le.c.kind == "adjustment",
        le.c.group_code.in_(DENIAL_GROUPS),
        le.c.reason_code.not_in(sorted(routine_reasons())),
    )


def _counted(r: Mapping[str, Any]) -> bool:
    return bool(
        r.get("claim_line_id")
        and r["bucket"] == "insurance"
        and r["kind"] in ("insurance-payment", "adjustment")
    )


def _flags(entries: int, denials: int, stake: int, paid: int) -> tuple[int, int, int]:
    """(adjudicated, denied, fixed and paid) of a line row."""
    denied = 1 if denials > 0 else 0
    return (1 if entries > 0 else 0, denied, 1 if denied and stake == 0 and paid > 0 else 0)


def add_posted(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Add the ledger rows just inserted (the dicts given to the insert) to the denial tables."""
    wanted = [r for r in rows if _counted(r)]
    if not wanted:
        return
    line_ids = sorted({r["claim_line_id"] for r in wanted})
    of_line = {
        r.id: (r.date_of_service, r.code)
        for r in conn.execute(
            select(claim_lines.c.id, claim_lines.c.date_of_service, claim_lines.c.code).where(
                bulk.among(claim_lines.c.id, line_ids, "line_ids", conn.dialect.name)
            )
        )
    }
    add: dict[tuple[str, str, str], list[int]] = {}
    add_reason: dict[tuple[str, str, str, str, str], list[int]] = {}
    for r in wanted:
        key = (r["practice_id"], r["claim_line_id"], r.get("payer_id") or NONE)
        acc = add.setdefault(key, [0, 0, 0, 0])  # entries, denials, stake, paid
        amount = int(r["amount_cents"])
        acc[0] += 1
        if is_denial(r["kind"], r.get("group_code"), r.get("reason_code")):
            acc[1] += 0 if r.get("reverses_entry_id") else 1
            acc[2] += amount
            rkey = (*key, r["group_code"], r["reason_code"])
            racc = add_reason.setdefault(rkey, [0, 0])
            racc[0] += 1
            racc[1] += amount
        if r["kind"] == "insurance-payment":
            acc[3] += amount
    values = [
        {
            **dict(zip(LINE_KEY, key, strict=True)),
            "date_of_service": of_line[key[1]][0],
            "code": of_line[key[1]][1],
            "entries": a[0],
            "denials": a[1],
            "stake_cents": a[2],
            "paid_cents": a[3],
        }
        for key, a in sorted(add.items())
    ]
    of_value = {tuple(v[k] for k in LINE_KEY): v for v in values}
    day_add: dict[tuple[str, Any, str, str], list[int]] = {}
    # The returned rows are the line rows after this addition (one statement for them all).
    added = bulk.upsert(
        conn,
        lines,
        values,
        LINE_KEY,
        lambda given: {name: lines.c[name] + given[name] for name in ADDED},
        returning=[*(lines.c[k] for k in LINE_KEY), *(lines.c[k] for k in ADDED)],
    )
    for after in added:
        key = (after.practice_id, after.claim_line_id, after.payer_id)
        a, v = add[key], of_value[key]
        new = _flags(after.entries, after.denials, after.stake_cents, after.paid_cents)
        old = _flags(
            after.entries - a[0], after.denials - a[1], after.stake_cents - a[2], after.paid_cents - a[3]
        )
        day = (v["practice_id"], v["date_of_service"], v["payer_id"], v["code"])
        dacc = day_add.setdefault(day, [0, 0, 0, 0])
        dacc[0] += new[0] - old[0]
        dacc[1] += new[1] - old[1]
        dacc[2] += a[2]
        dacc[3] += new[2] - old[2]
    day_values = [
        {
            **dict(zip(DAY_KEY, key, strict=True)),
            "lines": d[0],
            "denied": d[1],
            "stake_cents": d[2],
            "fixed": d[3],
        }
        for key, d in sorted(day_add.items(), key=lambda kv: (kv[0][0], kv[0][1].isoformat(), *kv[0][2:]))
    ]
    bulk.upsert(
        conn,
        days,
        day_values,
        DAY_KEY,
        lambda given: {
            name: days.c[name] + given[name] for name in ("lines", "denied", "stake_cents", "fixed")
        },
    )
    bulk.upsert(
        conn,
        reasons,
        [
            {
                **dict(zip(REASON_KEY, key, strict=True)),
                "date_of_service": of_line[key[1]][0],
                "entries": a[0],
                "cents": a[1],
            }
            for key, a in sorted(add_reason.items())
        ],
        REASON_KEY,
        lambda given: {"entries": reasons.c.entries + given.entries, "cents": reasons.c.cents + given.cents},
    )


# --- from the entries -----------------------------------------------------------------------


def _entry_conditions(practice_id: str) -> list[ColumnElement[bool]]:
    return [
        le.c.practice_id == practice_id,
        le.c.bucket == "insurance",
        le.c.kind.in_(("insurance-payment", "adjustment")),
        le.c.claim_line_id.is_not(None),
    ]


def grouped_lines(practice_id: str) -> Any:
    """The practice's entries as ``ledger_line_denials`` keeps them."""
    denial = denial_condition()
    payer = func.coalesce(le.c.payer_id, literal(NONE))
    return (
        select(
            le.c.practice_id.label("practice_id"),
            le.c.claim_line_id.label("claim_line_id"),
            payer.label("payer_id"),
            claim_lines.c.date_of_service.label("date_of_service"),
            claim_lines.c.code.label("code"),
            func.count().label("entries"),
            func.sum(case((and_(denial, le.c.reverses_entry_id.is_(None)), 1), else_=0)).label("denials"),
            func.sum(case((denial, le.c.amount_cents), else_=0)).label("stake_cents"),
            func.sum(case((le.c.kind == "insurance-payment", le.c.amount_cents), else_=0)).label(
                "paid_cents"
            ),
        )
        .select_from(le.join(claim_lines, claim_lines.c.id == le.c.claim_line_id))
        .where(*_entry_conditions(practice_id))
        .group_by(
            le.c.practice_id, le.c.claim_line_id, payer, claim_lines.c.date_of_service, claim_lines.c.code
        )
    )


def _days_from_lines(practice_id: str) -> Any:
    lr = lines
    fixed = case(
        (and_(lr.c.denials > 0, lr.c.stake_cents == 0, lr.c.paid_cents > 0), 1),
        else_=0,
    )
    return (
        select(
            lr.c.practice_id,
            lr.c.date_of_service,
            lr.c.payer_id,
            lr.c.code,
            func.count().label("lines"),
            func.sum(case((lr.c.denials > 0, 1), else_=0)).label("denied"),
            func.sum(lr.c.stake_cents).label("stake_cents"),
            func.sum(fixed).label("fixed"),
        )
        .where(lr.c.practice_id == practice_id)
        .group_by(lr.c.practice_id, lr.c.date_of_service, lr.c.payer_id, lr.c.code)
    )


def grouped_reasons(practice_id: str) -> Any:
    """The practice's denial adjustments as ``ledger_denial_reasons`` keeps them."""
    payer = func.coalesce(le.c.payer_id, literal(NONE))
    return (
        select(
            le.c.practice_id.label("practice_id"),
            le.c.claim_line_id.label("claim_line_id"),
            payer.label("payer_id"),
            le.c.group_code.label("group_code"),
            le.c.reason_code.label("reason_code"),
            claim_lines.c.date_of_service.label("date_of_service"),
            func.count().label("entries"),
            func.sum(le.c.amount_cents).label("cents"),
        )
        .select_from(le.join(claim_lines, claim_lines.c.id == le.c.claim_line_id))
        .where(*_entry_conditions(practice_id), denial_condition())
        .group_by(
            le.c.practice_id,
            le.c.claim_line_id,
            payer,
            le.c.group_code,
            le.c.reason_code,
            claim_lines.c.date_of_service,
        )
    )


LINE_COLUMNS = [*LINE_KEY, "date_of_service", "code", "entries", "denials", "stake_cents", "paid_cents"]
DAY_COLUMNS = [*DAY_KEY, "lines", "denied", "stake_cents", "fixed"]
REASON_COLUMNS = [*REASON_KEY, "date_of_service", "entries", "cents"]


def rebuild(conn: Connection, practice_id: str) -> int:
    """Recompute the practice's denial tables from its entries; returns the line rows written."""
    for table in (days, reasons, lines):
        conn.execute(delete(table).where(table.c.practice_id == practice_id))
    result = conn.execute(insert(lines).from_select(LINE_COLUMNS, grouped_lines(practice_id)))
    conn.execute(insert(days).from_select(DAY_COLUMNS, _days_from_lines(practice_id)))
    conn.execute(insert(reasons).from_select(REASON_COLUMNS, grouped_reasons(practice_id)))
    return max(result.rowcount or 0, 0)


def _rows(result: Any, key: Sequence[str], values: Sequence[str]) -> dict[tuple[Any, ...], tuple[int, ...]]:
    out: dict[tuple[Any, ...], tuple[int, ...]] = {}
    for r in result:
        m = r._mapping
        k = tuple(str(m[c]) for c in key)
        v = tuple(int(m[c] or 0) for c in values)
        if any(v):  # a row of zeros says nothing (a line whose changes cancelled out)
            out[k] = v
    return out


def differences(conn: Connection, practice_id: str) -> list[dict[str, Any]]:
    """The rows where the kept denial tables differ from the entries (empty when they agree)."""
    out: list[dict[str, Any]] = []
    line_values = ("entries", "denials", "stake_cents", "paid_cents")
    line_key = (*LINE_KEY, "date_of_service", "code")
    expected_lines = _rows(conn.execute(grouped_lines(practice_id)), line_key, line_values)
    kept_lines = _rows(
        conn.execute(select(lines).where(lines.c.practice_id == practice_id)), line_key, line_values
    )
    day_values = ("lines", "denied", "stake_cents", "fixed")
    expected_days: dict[tuple[Any, ...], list[int]] = {}
    for k, (entries, denials, stake, paid) in expected_lines.items():
        flags = _flags(entries, denials, stake, paid)
        acc = expected_days.setdefault((k[0], k[3], k[2], k[4]), [0, 0, 0, 0])
        acc[0] += flags[0]
        acc[1] += flags[1]
        acc[2] += stake
        acc[3] += flags[2]
    expected_day_rows = {k: tuple(v) for k, v in expected_days.items() if any(v)}
    kept_days = _rows(
        conn.execute(select(days).where(days.c.practice_id == practice_id)), DAY_KEY, day_values
    )
    reason_key = (*REASON_KEY, "date_of_service")
    expected_reasons = _rows(conn.execute(grouped_reasons(practice_id)), reason_key, ("entries", "cents"))
    kept_reasons = _rows(
        conn.execute(select(reasons).where(reasons.c.practice_id == practice_id)),
        reason_key,
        ("entries", "cents"),
    )
    for table, expected, kept in (
        ("ledger_line_denials", expected_lines, kept_lines),
        ("ledger_denial_days", expected_day_rows, kept_days),
        ("ledger_denial_reasons", expected_reasons, kept_reasons),
    ):
        out.extend(
            {"table": table, "key": k, "expected": expected.get(k), "kept": kept.get(k)}
            for k in sorted(set(expected) | set(kept))
            if expected.get(k) != kept.get(k)
        )
    return out
