"""Inserting many rows of one table at once, and matching a column against many values.

``insert_rows`` is what a many-row ``INSERT`` costs least with on each engine: on PostgreSQL a
``COPY ... FROM STDIN`` in the open transaction (one statement whatever the number of rows;
the rows' triggers and constraints apply as for an insert), elsewhere the driver's
``executemany``. The rows are the dicts an ``insert()`` would take, every one with the same
keys; a JSON column's value is written as the insert writes it (``json.dumps``). A failure is
raised as SQLAlchemy raises the insert's (``IntegrityError`` for a duplicate key...).

``among`` is ``column IN (values)`` with the values as one array parameter on PostgreSQL
(``= ANY(:values)``): the statement's text and the driver's work do not grow with the list.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import JSON, Column, Connection, String, Table, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

__all__ = ["among", "insert_rows"]


def _writer(column: Column[Any]) -> Callable[[Any], Any] | None:
    """How a value of ``column`` is written: JSON as the insert writes it (``None`` is JSON null)."""
    return json.dumps if isinstance(column.type, JSON) else None


def insert_rows(bind: Session | Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` into ``table`` in the open transaction of ``bind`` (see the module)."""
    if not rows:
        return
    conn = bind.connection() if isinstance(bind, Session) else bind
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


def among(column: ColumnElement[Any], values: Sequence[Any], name: str, dialect: str) -> ColumnElement[bool]:
    """``column IN (values)``; on PostgreSQL ``column = ANY(:name)`` with one array parameter
    (``values`` are text: ids, numbers, keys)."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, list(values), type_=ARRAY(String)))
    return column.in_(list(values))
