"""The aging report's per-patient totals (``ledger_patient_open``), kept as entries are posted.

Each patient's open items (a positive balance on an item of ``ledger_balances``) are summed with
their count, and apart its credits (a negative balance, or a balance on no item). The aging
report reads the items that started recently from ``ledger_balances`` (by the day they started)
and takes the oldest bucket as these totals less them, instead of reading every open item.

``add_posted`` runs in the posting's transaction after ``ledger_balances`` was added to (from
``report_totals.add_posted``): the balance rows it touched are locked by this transaction until
it commits, so each row's balance before the posting is exactly its balance now less what this
posting added, and the patient's totals change by the row's part after less its part before.
``rebuild`` recomputes a practice's rows from ``ledger_balances``; ``differences`` compares (the
balances themselves are compared with the entries by ``report_totals.balance_differences``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, case, delete, func, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from therabill.adapters.db.ledger_tables import ledger_balances as lb
from therabill.adapters.db.summary_tables import ledger_patient_open as open_

__all__ = ["VALUES", "add_posted", "differences", "part", "per_patient", "rebuild"]

NONE = ""
REDUCING = ("insurance-payment", "patient-payment", "redemption", "adjustment", "write-off")
VALUES = ("aged_cents", "aged_items", "credit_cents", "credit_rows")


def part(balance: int, item_id: str) -> tuple[int, int, int, int]:
    """What one patient balance row adds to its patient's totals (the ``VALUES``)."""
    if balance == 0:
        return (0, 0, 0, 0)
    if balance < 0 or item_id == NONE:
        return (0, 0, balance, 1)
    return (balance, 1, 0, 0)


def per_patient(*where: Any) -> Any:
    """The open patient rows of ``ledger_balances`` matching ``where`` summed per patient."""
    credit = or_(lb.c.balance_cents < 0, lb.c.item_id == NONE)
    return (
        select(
            lb.c.practice_id,
            lb.c.patient_id,
            func.sum(case((credit, 0), else_=lb.c.balance_cents)).label("aged_cents"),
            func.sum(case((credit, 0), else_=1)).label("aged_items"),
            func.sum(case((credit, lb.c.balance_cents), else_=0)).label("credit_cents"),
            func.sum(case((credit, 1), else_=0)).label("credit_rows"),
        )
        .where(*where, lb.c.bucket == "patient", lb.c.balance_cents != 0)
        .group_by(lb.c.practice_id, lb.c.patient_id)
    )


def add_posted(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Add the patient rows just posted (the dicts given to the ledger insert) to the totals."""
    added: dict[tuple[str, str, str], int] = {}
    for r in rows:
        if r["bucket"] != "patient":
            continue
        key = (r["practice_id"], r.get("patient_id") or NONE, r.get("item_id") or NONE)
        amount = int(r["amount_cents"])
        added[key] = added.get(key, 0) + (-amount if r["kind"] in REDUCING else amount)
    if not added:
        return
    practices = sorted({k[0] for k in added})
    now: dict[tuple[str, str, str], int] = {}
    for practice_id in practices:
        found = conn.execute(
            select(lb.c.patient_id, lb.c.item_id, lb.c.balance_cents).where(
                lb.c.practice_id == practice_id,
                lb.c.bucket == "patient",
                lb.c.payer_id == NONE,
                lb.c.claim_id == NONE,
                lb.c.patient_id.in_(sorted({k[1] for k in added if k[0] == practice_id})),
                lb.c.item_id.in_(sorted({k[2] for k in added if k[0] == practice_id})),
            )
        )
        for patient_id, item_id, balance in found:
            now[(practice_id, patient_id, item_id)] = int(balance)
    change: dict[tuple[str, str], list[int]] = {}
    for key, delta in added.items():
        after = now.get(key, delta)
        new, old = part(after, key[2]), part(after - delta, key[2])
        acc = change.setdefault((key[0], key[1]), [0, 0, 0, 0])
        for i in range(4):
            acc[i] += new[i] - old[i]
    values = [
        {"practice_id": k[0], "patient_id": k[1], **dict(zip(VALUES, v, strict=True))}
        for k, v in sorted(change.items())
        if any(v)
    ]
    if not values:
        return
    stmt: Any = postgresql.insert(open_) if conn.dialect.name == "postgresql" else sqlite.insert(open_)
    stmt = stmt.on_conflict_do_update(
        index_elements=["practice_id", "patient_id"],
        set_={name: open_.c[name] + stmt.excluded[name] for name in VALUES},
    )
    conn.execute(stmt, values)


def rebuild(conn: Connection, practice_id: str) -> None:
    """Recompute the practice's per-patient totals from its (rebuilt) balances."""
    conn.execute(delete(open_).where(open_.c.practice_id == practice_id))
    conn.execute(
        insert(open_).from_select(
            ["practice_id", "patient_id", *VALUES], per_patient(lb.c.practice_id == practice_id)
        )
    )


def differences(conn: Connection, practice_id: str) -> list[dict[str, Any]]:
    """The patients whose kept totals differ from their balances (empty when they agree)."""

    def rows_of(result: Any) -> dict[str, tuple[int, ...]]:
        out = {}
        for r in result:
            v = tuple(int(r._mapping[name]) for name in VALUES)
            if any(v):
                out[r.patient_id] = v
        return out

    want = rows_of(conn.execute(per_patient(lb.c.practice_id == practice_id)))
    have = rows_of(conn.execute(select(open_).where(open_.c.practice_id == practice_id)))
    return [
        {
            "table": "ledger_patient_open",
            "practice_id": practice_id,
            "patient_id": p,
            "expected": want.get(p),
            "kept": have.get(p),
        }
        for p in sorted(set(want) | set(have))
        if want.get(p) != have.get(p)
    ]
