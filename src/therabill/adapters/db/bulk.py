"""Inserting many rows of one table at once, and matching a column against many values.

``insert_rows`` is what a many-row ``INSERT`` costs least with on each engine: on PostgreSQL a
``COPY ... FROM STDIN`` in the open transaction (one statement whatever the number of rows;
the rows' triggers and constraints apply as for an insert), elsewhere the driver's
``executemany``. The rows are the dicts an ``insert()`` would take, every one with the same
keys; a JSON column's value is written as the insert writes it (``json.dumps``). A failure is
raised as SQLAlchemy raises the insert's (``IntegrityError`` for a duplicate key...).

``upsert`` adds many rows to a kept table whose key may already be there (``INSERT ... ON
CONFLICT (key) DO UPDATE``), and ``update_rows`` sets columns of many rows found by their key.
On PostgreSQL each is one statement with every column's values bound as one array
(``... FROM unnest(:a, :b, ...)``): its text is the same for any number of rows, so it is
compiled once, and neither the driver nor the server parses a statement that grows with the
rows. Elsewhere the statement is run for the rows as the driver runs many. The rows are taken
in the order given (sort them by key, so two writers take the rows' locks in one order).

``among`` is ``column IN (values)`` with the values as one parameter on PostgreSQL
(``= ANY(string_to_array(:values, ','))``, a constant when the server plans it): the
statement's text and the driver's work do not grow with the list.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Result,
    String,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

__all__ = ["among", "insert_rows", "lock_rows", "update_rows", "upsert"]


def _writer(column: Column[Any]) -> Callable[[Any], Any] | None:
    """How a value of ``column`` is written: JSON as the insert writes it (``None`` is JSON null)."""
    return json.dumps if isinstance(column.type, JSON) else None


def insert_rows(bind: Session | Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` into ``table`` in the open transaction of ``bind`` (see the module)."""
    if not rows:
        return
    conn = _connection(bind)
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), list(rows))
        return
    names = list(rows[0])
    writers = [_writer(table.c[name]) for name in names]
    sql = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
    raw = conn.connection.dbapi_connection
    assert raw is not None
    try:
        with raw.cursor() as cursor, cursor.copy(sql) as copy:  # type: ignore[attr-defined]
            if any(writers):
                for row in rows:
                    copy.write_row(
                        [row[n] if w is None else w(row[n]) for n, w in zip(names, writers, strict=True)]
                    )
            else:
                for row in rows:
                    copy.write_row([row[n] for n in names])
    except conn.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(sql, None, exc, conn.dialect.loaded_dbapi.Error) from exc


def _connection(bind: Session | Connection) -> Connection:
    return bind.connection() if isinstance(bind, Session) else bind


def _unnested(
    table: Table, names: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> tuple[Any, dict[str, Any]]:
    """``unnest(:_a_<name>, ...) AS given(<names>)`` and its parameters: one array per column.

    A column of numbers, text, dates, times or booleans is sent as the text of its array
    (``_array_text``, cast to the column's array type by the server): the driver adapts a list
    element by element in Python, which cost a tenth of posting's client time. Other columns
    (JSON) are sent as lists for the driver to adapt.
    """
    arrays: list[ColumnElement[Any]] = []
    params: dict[str, Any] = {}
    for n in names:
        kind = table.c[n].type
        values = [r[n] for r in rows]
        if isinstance(kind, JSON):
            arrays.append(bindparam(f"_a_{n}", type_=ARRAY(kind)))
            params[f"_a_{n}"] = values
        else:
            arrays.append(cast(bindparam(f"_a_{n}", type_=Text()), ARRAY(kind)))
            params[f"_a_{n}"] = _array_text(values)
    return func.unnest(*arrays).table_valued(*names).render_derived(name="given"), params


def _array_text(values: Sequence[Any]) -> str:
    """The text of a PostgreSQL array of ``values``: every element quoted (a quote or a
    backslash in it escaped), ``None`` as ``NULL``; a text's own characters, never the ``str``
    of a subclass (an enumeration's member writes its value, as the driver writes it)."""
    if all(type(v) is int for v in values):
        return "{" + ",".join(map(str, values)) + "}"
    out = []
    for v in values:
        if v is None:
            out.append("NULL")
            continue
        if isinstance(v, str):
            text = str.__str__(v)  # a subclass's own characters: an enumeration member's value
        elif isinstance(v, bool):
            text = "t" if v else "f"
        else:
            text = str(v)
        if "\\" in text or '"' in text:
            text = text.replace("\\", "\\\\").replace('"', '\\"')
        out.append(f'"{text}"')
    return "{" + ",".join(out) + "}"


def upsert(
    bind: Session | Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    key: Sequence[str],
    set_: Callable[[Any], Mapping[str, Any]],
    returning: Sequence[Column[Any]] = (),
) -> Sequence[Any]:
    """Insert ``rows`` into ``table``; a row whose ``key`` is there already updates it with
    ``set_(excluded)`` (the columns to set, as expressions of the table's row and ``excluded``,
    the row offered). Returns the ``returning`` columns of every row written (see the module).
    No two rows may share a key (the database refuses to touch a row twice in one statement)."""
    if not rows:
        return []
    conn = _connection(bind)
    names = list(rows[0])
    stmt: Any
    params: Any
    if conn.dialect.name == "postgresql":
        given, params = _unnested(table, names, rows)
        stmt = postgresql.insert(table).from_select(names, select(*(given.c[n] for n in names)))
    else:
        stmt, params = sqlite.insert(table), list(rows)
    stmt = stmt.on_conflict_do_update(index_elements=list(key), set_=dict(set_(stmt.excluded)))
    if returning:
        result: Result[Any] = conn.execute(stmt.returning(*returning), params)
        return result.all()
    conn.execute(stmt, params)
    return []


def lock_rows(
    bind: Session | Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    key: Sequence[str],
    returning: Sequence[Column[Any]],
) -> Sequence[Any]:
    """Each row of ``rows`` as it is now in ``table``, locked for this transaction: a key not
    there is inserted as given (an empty row), a key there is left as it is (updated to itself,
    which takes its lock). Returns the ``returning`` columns of every row."""
    same = next(n for n in rows[0] if n not in key) if rows else ""
    return upsert(bind, table, rows, key, lambda _given: {same: table.c[same]}, returning=returning)


def update_rows(
    bind: Session | Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    key: Sequence[str],
) -> None:
    """Set the other columns of ``rows`` on the rows of ``table`` with the same ``key`` (see the module)."""
    if not rows:
        return
    conn = _connection(bind)
    names = list(rows[0])
    changed = [n for n in names if n not in key]
    if conn.dialect.name == "postgresql":
        given, params = _unnested(table, names, rows)
        conn.execute(
            table.update()
            .where(*(table.c[k] == given.c[k] for k in key))
            .values({n: given.c[n] for n in changed}),
            params,
        )
        return
    conn.execute(
        table.update()
        .where(*(table.c[k] == bindparam(f"_k_{k}") for k in key))
        .values({n: bindparam(f"_v_{n}") for n in changed}),
        [{**{f"_k_{k}": r[k] for k in key}, **{f"_v_{n}": r[n] for n in changed}} for r in rows],
    )


def among(column: ColumnElement[Any], values: Sequence[str], name: str, dialect: str) -> ColumnElement[bool]:
    """``column IN (values)``; on PostgreSQL ``column = ANY(...)`` with the values as one
    parameter (``values`` are texts: ids, numbers, keys).

    The parameter is the values joined by commas and split by ``string_to_array``. The
    function's answer depends only on its arguments, so the server computes it once, when it
    plans the statement for the values given, and holds the list as a constant. A filter
    compares a row with a constant list through a hash of it; with a list computed as the
    statement runs (the cast of an array's text, whose answer may depend on settings) it
    compares each row with every value in turn: 5,000 claim ids against 5,003 rows whose
    statistics still said 3 took 8 s instead of 1 ms. Values the split would not give back
    (one with a comma, an empty one) go as a list for the driver to adapt, which the server
    also holds as a constant.
    """
    listed = list(values)
    if dialect != "postgresql":
        return column.in_(listed)
    if all(type(v) is str and v and "," not in v for v in listed):
        joined = bindparam(name, ",".join(listed), type_=Text())
        return column == any_(func.string_to_array(joined, literal_column("','")))
    return column == any_(bindparam(name, listed, type_=ARRAY(String)))
