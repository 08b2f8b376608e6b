"""A unit of work over in-memory repositories, for service-layer tests about decisions, not SQL.

``FakeUnitOfWork`` is a ``UnitOfWork`` (the services take it through the same interface:
``records``, ``record``, ``now``, ``practice_id``, ``actor``) whose ``records`` keep rows in
dictionaries. ``FakeRecords.rows`` reads the ``where`` clauses the services write with the
table columns (``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``in_``, ``not_in``, ``is_``,
``is_not``, ``&``, ``|``) and their ``order_by`` (ascending or ``.desc()``), so the service code
runs unchanged. A statement the fake does not understand fails loudly, never silently.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, cast

from sqlalchemy import Row, Table
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import (
    BinaryExpression,
    BindParameter,
    BooleanClauseList,
    ColumnElement,
    False_,
    Grouping,
    Null,
    True_,
    UnaryExpression,
)
from sqlalchemy.sql.schema import Column

from therabill.adapters.db.repositories import Records, new_id
from therabill.adapters.db.tables import claims, visit_notes
from therabill.domain.errors import NotFoundError, Problem
from therabill.service_layer.uow import UnitOfWork

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


class FakeRow:
    """A stored row: attributes by column name, and ``_mapping`` like a SQLAlchemy row."""

    __slots__ = ("_mapping",)

    def __init__(self, values: dict[str, Any]) -> None:
        self._mapping = dict(values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._mapping[name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        return f"FakeRow({self._mapping!r})"


_COMPARE: dict[Any, Callable[[Any, Any], bool]] = {
    operators.eq: operator.eq,
    operators.ne: operator.ne,
    operators.lt: operator.lt,
    operators.le: operator.le,
    operators.gt: operator.gt,
    operators.ge: operator.ge,
    operators.is_: lambda a, b: a is b,
    operators.is_not: lambda a, b: a is not b,
    operators.in_op: lambda a, b: a in b,
    operators.not_in_op: lambda a, b: a not in b,
}


def _value(element: Any, row: dict[str, Any]) -> Any:
    if isinstance(element, Column):
        return row.get(element.name)
    if isinstance(element, BindParameter):
        return element.value
    if isinstance(element, Null):
        return None
    if isinstance(element, True_):
        return True
    if isinstance(element, False_):
        return False
    if isinstance(element, Grouping):
        return _value(element.element, row)
    raise NotImplementedError(f"the fake cannot read {type(element).__name__}: {element}")


def matches(clause: Any, row: dict[str, Any]) -> bool:
    """Whether ``row`` satisfies ``clause`` (a where clause written with table columns)."""
    if isinstance(clause, Grouping):
        return matches(clause.element, row)
    if isinstance(clause, BooleanClauseList):
        parts = [matches(c, row) for c in clause.clauses]
        if clause.operator is operators.and_:
            return all(parts)
        if clause.operator is operators.or_:
            return any(parts)
    if isinstance(clause, BinaryExpression) and clause.operator in _COMPARE:
        left, right = _value(clause.left, row), _value(clause.right, row)
        if clause.operator in (operators.in_op, operators.not_in_op):
            right = list(right or ())
        elif left is None or right is None:
            return _COMPARE[clause.operator](left, right) if clause.operator in (
                operators.is_, operators.is_not
            ) else False  # SQL: a comparison with NULL is never true  # fmt: skip
        return _COMPARE[clause.operator](left, right)
    if isinstance(clause, Column):  # a boolean column on its own
        return bool(row.get(clause.name))
    raise NotImplementedError(f"the fake cannot evaluate {type(clause).__name__}: {clause}")


def _sort_key(order: Any) -> tuple[str, bool]:
    if isinstance(order, UnaryExpression) and isinstance(order.element, Column):
        return order.element.name, order.modifier is operators.desc_op
    if isinstance(order, Column):
        return order.name, False
    raise NotImplementedError(f"the fake cannot order by {order}")


def _by(name: str) -> Callable[[dict[str, Any]], tuple[bool, Any]]:
    return lambda r: (r.get(name) is None, r.get(name))


class FakeRecords(Records):
    """One practice's records in memory (``table name -> id -> row``)."""

    def __init__(self, practice_id: str, tables: dict[str, dict[str, dict[str, Any]]] | None = None) -> None:
        super().__init__(cast(Any, None), practice_id)
        self.tables: dict[str, dict[str, dict[str, Any]]] = tables if tables is not None else {}

    def _table(self, table: Table) -> dict[str, dict[str, Any]]:
        return self.tables.setdefault(table.name, {})

    def find(self, table: Table, id_: str) -> Row[Any] | None:
        row = self._table(table).get(id_)
        return None if row is None or row.get("practice_id") != self.practice_id else cast(Any, FakeRow(row))

    def get(self, table: Table, id_: str, *, for_update: bool = False) -> Row[Any]:
        found = self.find(table, id_)
        if found is None:
            kind = table.name.rstrip("s")
            raise NotFoundError(
                f"no such {kind}", (Problem(f"{kind}-not-found", kind, f"no {kind} {id_!r}"),)
            )
        return found

    def insert(self, table: Table, **values: Any) -> str:
        values.pop("practice_id", None)
        row_id = str(values.pop("id", None) or new_id())
        row: dict[str, Any] = {}
        for column in table.c:
            default: Any = column.default
            row[column.name] = default.arg if default is not None and default.is_scalar else None
        unknown = set(values) - set(row)
        if unknown:
            raise KeyError(f"{table.name} has no column(s) {sorted(unknown)}")
        row.update(values, id=row_id, practice_id=self.practice_id)
        self._table(table)[row_id] = row
        return row_id

    def insert_many(self, table: Table, rows: Iterable[dict[str, Any]]) -> None:
        for r in rows:
            self.insert(table, **r)

    def update(self, table: Table, id_: str, **values: Any) -> None:
        row = self._table(table).get(id_)
        if row is None or row.get("practice_id") != self.practice_id:
            raise NotFoundError("no such record", (Problem("not-found", table.name, f"no row {id_!r}"),))
        unknown = set(values) - set(row)
        if unknown:
            raise KeyError(f"{table.name} has no column(s) {sorted(unknown)}")
        row.update(values)

    def rows(self, table: Table, *where: Any, order_by: Sequence[Any] = ()) -> list[Row[Any]]:
        found = [
            r
            for r in self._table(table).values()
            if r.get("practice_id") == self.practice_id and all(matches(w, r) for w in where)
        ]
        for name, descending in reversed([_sort_key(o) for o in order_by]):
            found.sort(key=_by(name), reverse=descending)
        return [cast(Any, FakeRow(r)) for r in found]

    def claim_by_number(self, claim_number: str) -> Row[Any] | None:
        found = self.rows(claims, claims.c.claim_number == claim_number)
        return found[0] if found else None

    def latest_note_version(self, visit_id: str) -> int:
        return max((r.version for r in self.rows(visit_notes, visit_notes.c.visit_id == visit_id)), default=0)

    def scoped(self, table: Table) -> Any:
        raise NotImplementedError("a raw statement: this service still writes SQL, test it on a database")


class FakeUnitOfWork(UnitOfWork):
    """A unit of work over ``FakeRecords``: commits keep the audit events, failures drop them
    and restore the rows as they were."""

    def __init__(
        self,
        practice_id: str = "p1",
        actor: str = "user:test",
        *,
        clock: Callable[[], datetime] = lambda: NOW,
    ) -> None:
        super().__init__(cast(Any, None), practice_id, actor, clock=clock)
        self.records: FakeRecords = FakeRecords(practice_id)
        self.audit: list[tuple[str, str, str | None, dict[str, Any] | None]] = []
        self._snapshot: dict[str, dict[str, dict[str, Any]]] = {}

    def __enter__(self) -> FakeUnitOfWork:
        self._snapshot = {t: {k: dict(v) for k, v in rows.items()} for t, rows in self.records.tables.items()}
        self._events = []
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.audit.extend(
                (e.action, e.object_type, e.object_id, dict(e.details or {})) for e in self._events
            )
        else:
            self.records.tables.clear()
            self.records.tables.update(self._snapshot)
        self._events = []

    def add(self, table: Table, **values: Any) -> str:
        """Store a row (test setup)."""
        return self.records.insert(table, **values)

    def row(self, table: Table, id_: str) -> Any:
        """A stored row (test assertions)."""
        return self.records.get(table, id_)

    def audited(self) -> list[str]:
        """The actions recorded so far, committed or queued."""
        return [a for a, *_ in self.audit] + [e.action for e in self._events]


def where_of(clause: ColumnElement[bool]) -> Callable[[dict[str, Any]], bool]:
    """``clause`` as a predicate on a plain row (tests of the fake itself)."""
    return lambda row: matches(clause, row)
