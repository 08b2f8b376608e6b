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
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, case, delete, func, insert, or_, select

from therabill.adapters.db import bulk
from therabill.adapters.db.ledger_tables import ledger_balances as lb
from therabill.adapters.db.summary_tables import ledger_claim_ages as claim_ages
from therabill.adapters.db.summary_tables import ledger_claim_open as claim_open
from therabill.adapters.db.summary_tables import ledger_patient_open as open_
from therabill.adapters.db.tables import claim_status_events

__all__ = [
    "VALUES",
    "add_posted",
    "claim_part",
    "differences",
    "first_submissions",
    "part",
    "per_patient",
    "rebuild",
    "utc_day",
]

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
    """Add the rows just posted (the dicts given to the ledger insert) to the totals."""
    _add_claims(conn, rows)
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
    dialect = conn.dialect.name
    now: dict[tuple[str, str, str], int] = {}
    for practice_id in practices:
        found = conn.execute(
            select(lb.c.patient_id, lb.c.item_id, lb.c.balance_cents).where(
                lb.c.practice_id == practice_id,
                lb.c.bucket == "patient",
                lb.c.payer_id == NONE,
                lb.c.claim_id == NONE,
                bulk.among(
                    lb.c.patient_id, sorted({k[1] for k in added if k[0] == practice_id}), "patients", dialect
                ),
                bulk.among(
                    lb.c.item_id, sorted({k[2] for k in added if k[0] == practice_id}), "items", dialect
                ),
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
    bulk.upsert(
        conn,
        open_,
        values,
        ("practice_id", "patient_id"),
        lambda given: {name: open_.c[name] + given[name] for name in VALUES},
    )


def rebuild(conn: Connection, practice_id: str) -> None:
    """Recompute the practice's totals from its (rebuilt) balances and its status events."""
    _rebuild_claims(conn, practice_id)
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


# --- insurance: per payer and day of first submission -------------------------------------

CLAIM_KEY = ("practice_id", "payer_id", "claim_id")
AGE_KEY = ("practice_id", "payer_id", "start_day")
AGE_VALUES = ("aged_cents", "aged_claims", "credit_cents", "credit_rows")


def claim_part(balance: int) -> tuple[int, int, int, int]:
    """What one insurance balance adds to its payer and day (the ``AGE_VALUES``)."""
    if balance == 0:
        return (0, 0, 0, 0)
    return (0, 0, balance, 1) if balance < 0 else (balance, 1, 0, 0)


def utc_day(moment: Any) -> date:
    """The UTC day of a timestamp (SQLite hands a naive one, or text, back: taken as UTC)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    day: date = (moment.astimezone(UTC) if moment.tzinfo else moment).date()
    return day


def first_submissions(conn: Connection, practice_id: str, claim_ids: Sequence[str]) -> dict[str, Any]:
    """Claim id → the time of its first ``submitted`` status event (claims never submitted: absent)."""
    if not claim_ids:
        return {}
    ev = claim_status_events
    found = conn.execute(
        select(ev.c.claim_id, func.min(ev.c.at))
        .where(
            ev.c.practice_id == practice_id,
            ev.c.status == "submitted",
            bulk.among(ev.c.claim_id, claim_ids, "claim_ids", conn.dialect.name),
        )
        .group_by(ev.c.claim_id)
    )
    return {claim_id: datetime.fromisoformat(at) if isinstance(at, str) else at for claim_id, at in found}


def _add_claims(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    added: dict[tuple[str, str, str], int] = {}
    for r in rows:
        if r["bucket"] != "insurance":
            continue
        key = (r["practice_id"], r.get("payer_id") or NONE, r.get("claim_id") or NONE)
        amount = int(r["amount_cents"])
        added[key] = added.get(key, 0) + (-amount if r["kind"] in REDUCING else amount)
    if not added:
        return
    submitted: dict[tuple[str, str], Any] = {}
    for practice_id in sorted({k[0] for k in added}):
        ids = sorted({k[2] for k in added if k[0] == practice_id and k[2]})
        for claim_id, at in first_submissions(conn, practice_id, ids).items():
            submitted[(practice_id, claim_id)] = at
    # Lock each row as it is (an empty one when new) and read it back, then write it anew.
    keys = sorted(added)
    empty = [{**dict(zip(CLAIM_KEY, k, strict=True)), "balance_cents": 0, "submitted_at": None} for k in keys]
    locked = bulk.lock_rows(
        conn,
        claim_open,
        empty,
        CLAIM_KEY,
        returning=[
            *(claim_open.c[k] for k in CLAIM_KEY),
            claim_open.c.balance_cents,
            claim_open.c.submitted_at,
        ],
    )
    before = {(r[0], r[1], r[2]): (int(r[3]), r[4]) for r in locked}
    change: dict[tuple[str, str, date], list[int]] = {}
    updates = []
    for key in keys:
        old_balance, old_at = before[key]
        new_balance, new_at = old_balance + added[key], submitted.get((key[0], key[2]))
        for balance, at, sign in ((old_balance, old_at, -1), (new_balance, new_at, 1)):
            if at is None:
                continue
            acc = change.setdefault((key[0], key[1], utc_day(at)), [0, 0, 0, 0])
            for i, v in enumerate(claim_part(balance)):
                acc[i] += sign * v
        updates.append(
            {**dict(zip(CLAIM_KEY, key, strict=True)), "balance_cents": new_balance, "submitted_at": new_at}
        )
    bulk.update_rows(conn, claim_open, updates, CLAIM_KEY)
    values = [
        {**dict(zip(AGE_KEY, k, strict=True)), **dict(zip(AGE_VALUES, v, strict=True))}
        for k, v in sorted(change.items())
        if any(v)
    ]
    bulk.upsert(
        conn,
        claim_ages,
        values,
        AGE_KEY,
        lambda given: {name: claim_ages.c[name] + given[name] for name in AGE_VALUES},
    )


def expected_claims(conn: Connection, practice_id: str) -> dict[tuple[str, str], tuple[int, Any]]:
    """(payer, claim) → (balance, first submission) of the practice's open insurance balances, as
    ``ledger_claim_open`` should hold them (from ``ledger_balances`` and the status events)."""
    open_rows = conn.execute(
        select(lb.c.payer_id, lb.c.claim_id, lb.c.balance_cents).where(
            lb.c.practice_id == practice_id, lb.c.bucket == "insurance", lb.c.balance_cents != 0
        )
    ).all()
    ids = sorted({r.claim_id for r in open_rows if r.claim_id})
    firsts: dict[str, Any] = {}
    for i in range(0, len(ids), 500):
        firsts.update(first_submissions(conn, practice_id, ids[i : i + 500]))
    return {(r.payer_id, r.claim_id): (int(r.balance_cents), firsts.get(r.claim_id)) for r in open_rows}


def _ages_of(claims_: dict[tuple[str, str], tuple[int, Any]]) -> dict[tuple[str, date], tuple[int, ...]]:
    out: dict[tuple[str, date], list[int]] = {}
    for (payer, _claim), (balance, at) in claims_.items():
        if at is None:
            continue
        acc = out.setdefault((payer, utc_day(at)), [0, 0, 0, 0])
        for i, v in enumerate(claim_part(balance)):
            acc[i] += v
    return {k: tuple(v) for k, v in out.items() if any(v)}


def _rebuild_claims(conn: Connection, practice_id: str) -> None:
    conn.execute(delete(claim_ages).where(claim_ages.c.practice_id == practice_id))
    conn.execute(delete(claim_open).where(claim_open.c.practice_id == practice_id))
    want = expected_claims(conn, practice_id)
    if want:
        conn.execute(
            insert(claim_open),
            [
                {
                    "practice_id": practice_id,
                    "payer_id": p,
                    "claim_id": c,
                    "balance_cents": b,
                    "submitted_at": at,
                }
                for (p, c), (b, at) in sorted(want.items())
            ],
        )
    ages = _ages_of(want)
    if ages:
        conn.execute(
            insert(claim_ages),
            [
                {
                    "practice_id": practice_id,
                    "payer_id": p,
                    "start_day": d,
                    **dict(zip(AGE_VALUES, v, strict=True)),
                }
                for (p, d), v in sorted(ages.items())
            ],
        )


def _claim_differences(conn: Connection, practice_id: str) -> list[dict[str, Any]]:
    def moment(v: Any) -> str | None:
        if v is None:
            return None
        if isinstance(v, str):
            v = datetime.fromisoformat(v)
        text: str = (v.astimezone(UTC) if v.tzinfo else v).strftime("%Y-%m-%d %H:%M:%S")
        return text

    expected = expected_claims(conn, practice_id)
    want = {k: (b, moment(at)) for k, (b, at) in expected.items()}
    have = {
        (r.payer_id, r.claim_id): (int(r.balance_cents), moment(r.submitted_at))
        for r in conn.execute(
            select(claim_open).where(claim_open.c.practice_id == practice_id, claim_open.c.balance_cents != 0)
        )
    }
    out: list[dict[str, Any]] = [
        {
            "table": "ledger_claim_open",
            "practice_id": practice_id,
            "key": k,
            "expected": want.get(k),
            "kept": have.get(k),
        }
        for k in sorted(set(want) | set(have))
        if want.get(k) != have.get(k)
    ]
    ages_want = _ages_of(expected)
    ages_have: dict[tuple[str, date], tuple[int, ...]] = {}
    for r in conn.execute(select(claim_ages).where(claim_ages.c.practice_id == practice_id)):
        v = tuple(int(r._mapping[n]) for n in AGE_VALUES)
        if any(v):
            ages_have[(r.payer_id, r.start_day)] = v
    out += [
        {
            "table": "ledger_claim_ages",
            "practice_id": practice_id,
            "key": k,
            "expected": ages_want.get(k),
            "kept": ages_have.get(k),
        }
        for k in sorted(set(ages_want) | set(ages_have))
        if ages_want.get(k) != ages_have.get(k)
    ]
    return out
