"""Copy every row of one therabill database into another (SQLite → PostgreSQL and back).

``copy_database`` reads the source table by table, parents first, and writes the target in
ONE transaction: either every row arrives and every check holds, or the target is left as it
was (the copy is atomic, so running it again after a failure starts afresh; there is nothing
half written to resume from). Before the commit, inside that transaction, it verifies:

- every table's row count in the target grew by exactly the source's count;
- per practice, the count and the sum of ``amount_cents`` of ``ledger_entries`` and
  ``practice_ledger_entries``, and the monthly totals (``ledger_month_totals``), are equal;
- per practice, the audit chain head (last sequence number and its hash) is equal.

Both databases must be at the same, newest schema revision; the target must not hold any of
the source's practices already. Timestamps are written in UTC (the target session's time zone
is set to UTC for the copy) and integer keys of the auto-numbered tables are carried over, the
PostgreSQL sequences moved past them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, Integer, Table, and_, func, select, text

from therabill.adapters.db import (  # noqa: F401 - every table module registers its tables on metadata
    auth_tables,
    intake_tables,
    interop_tables,
    ledger_tables,
    migrations,
    report_indexes,
    tables,
)
from therabill.adapters.db.base import metadata
from therabill.adapters.db.engine import READ_ONLY
from therabill.domain.errors import Problem, TherabillError

BATCH_ROWS = 5_000
"""Rows read and written per round trip."""

MONEY_TABLES = ("ledger_entries", "practice_ledger_entries")
"""Tables whose ``amount_cents`` must sum to the same per practice on both sides."""


class TransferError(TherabillError):
    """A copy between databases was refused or failed its checks (the target is unchanged)."""

    code = "db-transfer-failed"


def _fail(code: str, message: str) -> TransferError:
    return TransferError(message, (Problem(code, "database", message),))


@dataclass(frozen=True, slots=True)
class Facts:
    """What the copy compares, per table and per practice.

    Attributes:
        rows: table name → row count.
        money: (table, practice id) → (entries, sum of ``amount_cents``).
        month_totals: practice id → (rows, then the sum of each numeric column) of
            ``ledger_month_totals``.
        audit_heads: practice id → (last sequence number, its hash).
    """

    rows: dict[str, int]
    money: dict[tuple[str, str], tuple[int, int]]
    month_totals: dict[str, tuple[int, ...]]
    audit_heads: dict[str, tuple[int, str]]


@dataclass(frozen=True, slots=True)
class Transfer:
    """The result of a verified copy.

    Attributes:
        revision: the schema revision of both databases.
        practices: the practices copied.
        rows: table name → rows copied.
        facts: the verified facts of the copied practices (equal on both sides).
    """

    revision: str
    practices: tuple[str, ...]
    rows: dict[str, int]
    facts: Facts = field(repr=False)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def copied_tables() -> list[Table]:
    """Every therabill table, parents before children."""
    return list(metadata.sorted_tables)


def _numeric_total_columns(table: Table) -> list[Any]:
    return [
        c
        for c in table.c
        if isinstance(c.type, Integer) and not c.primary_key and c.name not in {"practice_id", "seq"}
    ]


def facts(conn: Connection, practice_ids: Iterable[str] | None = None) -> Facts:
    """Counts, money sums, monthly totals and audit heads of ``practice_ids`` (default: all)."""
    ids = None if practice_ids is None else sorted(practice_ids)
    rows = {
        t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one()) for t in copied_tables()
    }
    money: dict[tuple[str, str], tuple[int, int]] = {}
    for name in MONEY_TABLES:
        t = metadata.tables[name]
        q = select(t.c.practice_id, func.count(), func.coalesce(func.sum(t.c.amount_cents), 0)).group_by(
            t.c.practice_id
        )
        if ids is not None:
            q = q.where(t.c.practice_id.in_(ids))
        for pid, n, total in conn.execute(q):
            money[(name, str(pid))] = (int(n), int(total))
    mt = metadata.tables["ledger_month_totals"]
    numeric = _numeric_total_columns(mt)
    q2 = select(mt.c.practice_id, func.count(), *(func.coalesce(func.sum(c), 0) for c in numeric)).group_by(
        mt.c.practice_id
    )
    if ids is not None:
        q2 = q2.where(mt.c.practice_id.in_(ids))
    month_totals = {str(row[0]): tuple(int(v) for v in row[1:]) for row in conn.execute(q2)}
    al = metadata.tables["audit_log"]
    last = select(al.c.practice_id, func.max(al.c.seq).label("seq")).group_by(al.c.practice_id)
    if ids is not None:
        last = last.where(al.c.practice_id.in_(ids))
    sub = last.subquery()
    heads = {
        str(pid): (int(seq), str(h))
        for pid, seq, h in conn.execute(
            select(al.c.practice_id, al.c.seq, al.c.hash).join(
                sub, (al.c.practice_id == sub.c.practice_id) & (al.c.seq == sub.c.seq)
            )
        )
    }
    return Facts(rows, money, month_totals, heads)


def _restart_sequences(conn: Connection) -> None:
    """Move each PostgreSQL sequence of an auto-numbered key past the copied keys."""
    for t in copied_tables():
        for c in t.primary_key.columns:
            if (
                isinstance(c.type, Integer)
                and c.autoincrement in (True, "auto")
                and len(t.primary_key.columns) == 1
            ):
                seq = conn.execute(
                    text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": t.name, "c": c.name}
                ).scalar()
                if seq:
                    conn.execute(
                        text(
                            f"SELECT setval(:s, COALESCE((SELECT max({c.name}) FROM {t.name}), 0) + 1, false)"
                        ),
                        {"s": seq},
                    )


def _chunks(src: Connection, t: Table, batch_rows: int) -> Iterator[list[dict[str, Any]]]:
    """The rows of ``t`` in batches, every row after the row it references in its own table
    (a reversal after the entry it reverses): first the rows that reference none, then the
    others (few) in dependency order."""
    own = [fk.parent for fk in t.foreign_keys if fk.column.table is t]
    stream = src.execution_options(yield_per=batch_rows)
    if not own:
        result = stream.execute(select(t).order_by(*t.primary_key.columns))
        for part in result.mappings().partitions(batch_rows):
            yield [dict(r) for r in part]
        return
    (key,) = (c.name for c in t.primary_key.columns)
    refers_to_none = and_(*(c.is_(None) for c in own))
    result = stream.execute(select(t).where(refers_to_none).order_by(*t.primary_key.columns))
    for part in result.mappings().partitions(batch_rows):
        yield [dict(r) for r in part]
    pending = {r[key]: dict(r) for r in src.execute(select(t).where(~refers_to_none)).mappings()}
    while pending:
        ready = [r for r in pending.values() if all(r[c.name] not in pending for c in own)]
        if not ready:
            raise _fail("db-transfer-cycle", f"rows of {t.name} reference each other in a cycle")
        for r in ready:
            del pending[r[key]]
        for i in range(0, len(ready), batch_rows):
            yield ready[i : i + batch_rows]


def copy_database(
    source: Engine,
    target: Engine,
    *,
    batch_rows: int = BATCH_ROWS,
    progress: Callable[[str, int], None] | None = None,
) -> Transfer:
    """Copy every row of ``source`` into ``target`` in one verified transaction.

    Args:
        source: a therabill database at the newest schema revision (only read).
        target: a therabill database at the same revision, without the source's practices.
        batch_rows: rows per round trip.
        progress: called with (table name, rows copied so far) after each batch.

    Raises:
        TransferError: the revisions differ, a practice is already in the target, a row was
            refused (e.g. a user name already taken), or a check failed; nothing was written.
    """
    revision = migrations.current(source)
    if revision != migrations.head():
        raise _fail(
            "db-transfer-source-revision",
            f"the source database is at {revision or 'no revision'}, not {migrations.head()}: "
            "run `therabill db upgrade` on it first",
        )
    if migrations.current(target) != revision:
        raise _fail("db-transfer-target-revision", f"the target database is not at {revision}")
    all_tables = copied_tables()
    with source.connect() as src:
        src.execution_options(**{READ_ONLY: True})
        src_tx = src.begin()  # one consistent read of the source
        try:
            practice_ids = tuple(
                str(p)
                for p in src.execute(select(metadata.tables["practices"].c.id).order_by("id")).scalars()
            )
            source_facts = facts(src, practice_ids)
            copied: dict[str, int] = {}
            try:
                with target.begin() as dst:
                    if target.dialect.name == "postgresql":
                        dst.execute(text("SET LOCAL TIME ZONE 'UTC'"))
                    before = facts(dst, practice_ids)
                    present = {pid for (_t, pid) in before.money} | set(before.audit_heads)
                    present |= set(
                        dst.execute(
                            select(metadata.tables["practices"].c.id).where(
                                metadata.tables["practices"].c.id.in_(practice_ids)
                            )
                        ).scalars()
                    )
                    if present:
                        raise _fail(
                            "db-transfer-practice-exists",
                            f"the target already holds {len(present)} of the source's practice(s)",
                        )
                    for t in all_tables:
                        n = 0
                        for chunk in _chunks(src, t, batch_rows):
                            dst.execute(t.insert(), chunk)
                            n += len(chunk)
                            if progress is not None:
                                progress(t.name, n)
                        copied[t.name] = n
                    if target.dialect.name == "postgresql":
                        _restart_sequences(dst)
                    after = facts(dst, practice_ids)
                    _verify(source_facts, before, after, copied)
            except TransferError:
                raise
            except Exception as exc:  # noqa: BLE001 - any refusal by the target rolls the copy back
                raise _fail(
                    "db-transfer-refused",
                    f"the target refused the copy ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}); "
                    "nothing was written",
                ) from None
        finally:
            src_tx.rollback()
    return Transfer(str(revision), practice_ids, copied, source_facts)


def _verify(source: Facts, before: Facts, after: Facts, copied: dict[str, int]) -> None:
    wrong = [
        f"{name}: {before.rows[name]} + {source.rows[name]} expected, {after.rows[name]} found"
        for name in source.rows
        if after.rows[name] != before.rows[name] + source.rows[name] or copied.get(name) != source.rows[name]
    ]
    if after.money != source.money:
        wrong.append("ledger counts or sums differ")
    if after.month_totals != source.month_totals:
        wrong.append("monthly totals differ")
    if after.audit_heads != source.audit_heads:
        wrong.append("audit chain heads differ")
    if wrong:
        raise _fail("db-transfer-mismatch", "the copy does not match its source: " + "; ".join(wrong[:5]))
