"""The ledger's derived tables, kept as entries are posted and rebuilt on demand: the monthly
totals (``ledger_month_totals``), the open balances (``ledger_balances``) and the denials
report's line, day and reason tables (``denial_totals``).

The revenue report reads whole months from these totals instead of grouping every entry of
the range (on 100,000 visits: about 12,000 rows instead of 740,000 entries joined to their
lines, claims and visits). Each row adds up the entries of one practice, UTC month of
posting, entry class and attribution; see ``ledger_tables.ledger_month_totals``.

The aging report reads the open balances per insurance claim and per patient item
(``ledger_balances``) instead of grouping every entry of the practice; ``balances_complete_before``
tells it when that table answers an as-of day exactly (nothing posted after it).

``add_posted`` runs in the transaction that inserts the entries, so the totals and the ledger
commit or roll back together. Keys are written in sorted order, so two transactions posting
at once lock the rows they share in the same order (PostgreSQL) and cannot deadlock on them.
``rebuild`` recomputes a practice's totals from its entries with one grouped query (the same
query the migration ran); ``differences`` compares the kept totals with that recomputation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    String,
    case,
    delete,
    func,
    insert,
    literal,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement

from therabill.adapters.db import (
    aging_totals,
    bulk,
    denial_totals,
    revenue_totals,
    trend_totals,
    visits_to_bill,
)
from therabill.adapters.db.ledger_tables import ledger_balances as balances
from therabill.adapters.db.ledger_tables import ledger_entries as le
from therabill.adapters.db.ledger_tables import ledger_month_totals as totals

__all__ = [
    "BALANCE_KEY",
    "KEY_COLUMNS",
    "REDUCING",
    "balance_differences",
    "balances_complete_before",
    "grouped_balances",
    "signed_amount",
    "NONE",
    "add_posted",
    "differences",
    "grouped_entries",
    "month_of",
    "month_of_timestamp",
    "rebuild",
]

NONE = ""
"""What a key column holds for "none" (no payer, not on a line, no detail...)."""

KEY_COLUMNS: tuple[str, ...] = tuple(c.name for c in totals.primary_key.columns)
"""The key of a totals row, in the primary key's order: practice, month, entry class, attribution."""

Key = tuple[str, str, str, str, str, str, str, str, bool, str, str, str]

REDUCING = ("insurance-payment", "patient-payment", "redemption", "adjustment", "write-off")
"""Entry kinds that reduce what is owed: counted negative in a balance."""

BALANCE_KEY: tuple[str, ...] = tuple(c.name for c in balances.primary_key.columns)
"""The key of a balance row: practice, bucket, payer, claim, patient, item."""

BALANCE_BUCKETS = ("insurance", "patient")


def month_of(posted_at: datetime) -> str:
    """``YYYY-MM`` of a posting time, in UTC (a naive time is taken as UTC, as stored)."""
    moment = posted_at.astimezone(UTC) if posted_at.tzinfo else posted_at
    return f"{moment.year:04d}-{moment.month:02d}"


def month_of_timestamp(col: Any, dialect: str) -> ColumnElement[str]:
    """``YYYY-MM`` of a UTC timestamp column, in SQL (what ``month_of`` gives in Python)."""
    if dialect == "sqlite":
        return func.substr(col, 1, 7, type_=String)
    return func.to_char(func.timezone("UTC", col), literal_column("'YYYY-MM'"), type_=String)


def grouped_entries(dialect: str, *where: ColumnElement[bool]) -> Any:
    """The entries matching ``where`` grouped as the totals are, one row per key with
    ``amount_cents`` and ``entries``: what ``rebuild`` stores and the report reads for the
    days a whole month does not cover."""
    return revenue_totals.grouped_by(month_of_timestamp(le.c.posted_at, dialect).label("month"), *where)


def _keys(rows: Sequence[Mapping[str, Any]], attributed: revenue_totals.Attribution) -> dict[Key, list[int]]:
    sums: dict[Key, list[int]] = {}
    for r in rows:
        key: Key = (r["practice_id"], month_of(r["posted_at"]), *revenue_totals.entry_class(r, attributed))
        acc = sums.setdefault(key, [0, 0])
        acc[0] += int(r["amount_cents"])
        acc[1] += 1
    return sums


def add_posted(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Add the ledger rows just inserted (the dicts given to the insert) to the monthly totals."""
    if not rows:
        return
    attributed = revenue_totals.attribution(conn, rows)  # read once for the month and day totals
    sums = _keys(rows, attributed)
    values = [
        {**dict(zip(KEY_COLUMNS, key, strict=True)), "amount_cents": cents, "entries": n}
        for key, (cents, n) in sorted(sums.items())
    ]
    bulk.upsert(
        conn,
        totals,
        values,
        KEY_COLUMNS,
        lambda given: {
            "amount_cents": totals.c.amount_cents + given.amount_cents,
            "entries": totals.c.entries + given.entries,
        },
    )
    _add_balances(conn, rows)
    denial_totals.add_posted(conn, rows)
    revenue_totals.add_posted(conn, rows, attributed)
    aging_totals.add_posted(conn, rows)  # after the balances: it reads them


def signed_amount(kind: Any, amount: Any) -> Any:
    """The amount as a balance counts it (SQL): the reducing kinds negative."""
    return case((kind.in_(REDUCING), -amount), else_=amount)


def _balance_key(r: Mapping[str, Any]) -> tuple[str, ...] | None:
    if r["bucket"] == "insurance":
        return (
            r["practice_id"],
            "insurance",
            r.get("payer_id") or NONE,
            r.get("claim_id") or NONE,
            NONE,
            NONE,
        )
    if r["bucket"] == "patient":
        return (
            r["practice_id"],
            "patient",
            NONE,
            NONE,
            r.get("patient_id") or NONE,
            r.get("item_id") or NONE,
        )
    return None


def _add_balances(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    acc: dict[tuple[str, ...], dict[str, Any]] = {}
    for r in rows:
        key = _balance_key(r)
        if key is None:
            continue
        amount = int(r["amount_cents"])
        signed = -amount if r["kind"] in REDUCING else amount
        at = r["posted_at"]
        row = acc.get(key)
        if row is None:
            ref = r.get("claim_id") if r["bucket"] == "patient" else None
            acc[key] = {"balance_cents": signed, "entries": 1, "first": at, "last": at, "ref": ref}
        else:
            row["balance_cents"] += signed
            row["entries"] += 1
            row["first"], row["last"] = min(row["first"], at), max(row["last"], at)
            if row["ref"] is None and r["bucket"] == "patient":
                row["ref"] = r.get("claim_id")
    if not acc:
        return
    values = [
        {
            **dict(zip(BALANCE_KEY, key, strict=True)),
            "balance_cents": v["balance_cents"],
            "entries": v["entries"],
            "first_posted_at": v["first"],
            "last_posted_at": v["last"],
            "claim_ref": v["ref"],
        }
        for key, v in sorted(acc.items())
    ]
    least, greatest = (
        (func.least, func.greatest) if conn.dialect.name == "postgresql" else (func.min, func.max)
    )
    bulk.upsert(
        conn,
        balances,
        values,
        BALANCE_KEY,
        lambda given: {
            "balance_cents": balances.c.balance_cents + given.balance_cents,
            "entries": balances.c.entries + given.entries,
            "first_posted_at": least(balances.c.first_posted_at, given.first_posted_at),
            "last_posted_at": greatest(balances.c.last_posted_at, given.last_posted_at),
            "claim_ref": func.coalesce(balances.c.claim_ref, given.claim_ref),
        },
    )


def grouped_balances(*where: ColumnElement[bool]) -> Any:
    """The entries matching ``where`` summed as ``ledger_balances`` keeps them (both buckets),
    columns named as the table's (``BALANCE_COLUMNS``)."""
    signed = func.sum(signed_amount(le.c.kind, le.c.amount_cents))
    payer = func.coalesce(le.c.payer_id, literal(NONE))
    claim = func.coalesce(le.c.claim_id, literal(NONE))
    patient = func.coalesce(le.c.patient_id, literal(NONE))
    item = func.coalesce(le.c.item_id, literal(NONE))
    common = (
        signed.label("balance_cents"),
        func.count().label("entries"),
        func.min(le.c.posted_at).label("first_posted_at"),
        func.max(le.c.posted_at).label("last_posted_at"),
    )
    ins = (
        select(
            le.c.practice_id.label("practice_id"),
            literal("insurance").label("bucket"),
            payer.label("payer_id"),
            claim.label("claim_id"),
            literal(NONE).label("patient_id"),
            literal(NONE).label("item_id"),
            *common,
            null().label("claim_ref"),
        )
        .where(*where, le.c.bucket == "insurance")
        .group_by(le.c.practice_id, payer, claim)
    )
    pat = (
        select(
            le.c.practice_id.label("practice_id"),
            literal("patient").label("bucket"),
            literal(NONE).label("payer_id"),
            literal(NONE).label("claim_id"),
            patient.label("patient_id"),
            item.label("item_id"),
            *common,
            func.max(le.c.claim_id).label("claim_ref"),
        )
        .where(*where, le.c.bucket == "patient")
        .group_by(le.c.practice_id, patient, item)
    )
    return union_all(ins, pat)


BALANCE_COLUMNS = [*BALANCE_KEY, "balance_cents", "entries", "first_posted_at", "last_posted_at", "claim_ref"]


def rebuild(conn: Connection, practice_ids: Iterable[str]) -> int:
    """Recompute the totals and balances of the practices from their entries; returns the
    totals rows written."""
    written = 0
    for practice_id in practice_ids:
        conn.execute(delete(totals).where(totals.c.practice_id == practice_id))
        query = grouped_entries(conn.dialect.name, le.c.practice_id == practice_id)
        result = conn.execute(insert(totals).from_select([*KEY_COLUMNS, "amount_cents", "entries"], query))
        written += max(result.rowcount or 0, 0)
        conn.execute(delete(balances).where(balances.c.practice_id == practice_id))
        conn.execute(
            insert(balances).from_select(BALANCE_COLUMNS, grouped_balances(le.c.practice_id == practice_id))
        )
        denial_totals.rebuild(conn, practice_id)
        visits_to_bill.rebuild(conn, practice_id)
        revenue_totals.rebuild(conn, practice_id)
        aging_totals.rebuild(conn, practice_id)  # from the balances rebuilt above
        trend_totals.rebuild(conn, practice_id)
    return written


def balances_complete_before(conn: Connection, practice_id: str, end: datetime) -> bool:
    """True when ``ledger_balances`` holds exactly the practice's entries posted before ``end``
    (nothing of the practice was posted at or after it)."""
    last = conn.execute(
        select(func.max(balances.c.last_posted_at)).where(balances.c.practice_id == practice_id)
    ).scalar()
    if last is None:
        return True
    if isinstance(last, str):  # SQLite hands a MAX() of timestamps back as text
        last = datetime.fromisoformat(last)
    if last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    return bool(last < (end if end.tzinfo else end.replace(tzinfo=UTC)))


def balance_differences(conn: Connection, practice_id: str) -> list[dict[str, Any]]:
    """The balance rows where the kept table differs from the entries (empty when they agree)."""

    def moment(v: Any) -> str:
        return str(v)[:19].replace("T", " ")

    def rows_of(result: Any) -> dict[tuple[Any, ...], tuple[Any, ...]]:
        out = {}
        for r in result:
            m = r._mapping
            key = tuple(m[k] for k in BALANCE_KEY)
            out[key] = (
                int(m["balance_cents"]),
                int(m["entries"]),
                moment(m["first_posted_at"]),
                moment(m["last_posted_at"]),
            )
        return out

    expected = rows_of(conn.execute(grouped_balances(le.c.practice_id == practice_id)))
    kept = rows_of(conn.execute(select(balances).where(balances.c.practice_id == practice_id)))
    return [
        {**dict(zip(BALANCE_KEY, key, strict=True)), "expected": expected.get(key), "kept": kept.get(key)}
        for key in sorted(set(expected) | set(kept), key=repr)
        if expected.get(key) != kept.get(key)
    ]


def differences(conn: Connection, practice_id: str) -> list[dict[str, Any]]:
    """The keys where the kept totals or balances differ from the entries (empty when they agree)."""

    def key_of(row: Any) -> tuple[Any, ...]:
        return tuple(bool(row.on_line) if name == "on_line" else row._mapping[name] for name in KEY_COLUMNS)

    expected = {
        key_of(r): (int(r.amount_cents), int(r.entries))
        for r in conn.execute(grouped_entries(conn.dialect.name, le.c.practice_id == practice_id))
    }
    kept = {
        key_of(r): (int(r.amount_cents), int(r.entries))
        for r in conn.execute(select(totals).where(totals.c.practice_id == practice_id))
    }
    month_rows = [
        {**dict(zip(KEY_COLUMNS, key, strict=True)), "expected": expected.get(key), "kept": kept.get(key)}
        for key in sorted(set(expected) | set(kept), key=repr)
        if expected.get(key) != kept.get(key)
    ]
    return (
        month_rows
        + balance_differences(conn, practice_id)
        + denial_totals.differences(conn, practice_id)
        + visits_to_bill.differences(conn, practice_id)
        + revenue_totals.differences(conn, practice_id)
        + aging_totals.differences(conn, practice_id)
        + trend_totals.differences(conn, practice_id)
    )
