"""Writing many rows of a kept table at once (``adapters.db.bulk``), on both engines.

* ``upsert`` inserts new keys, adds to the rows whose key is there, and returns every row
  written as it is after the statement; on PostgreSQL it is one statement whatever the number
  of rows (each column's values bound as one array).
* ``update_rows`` sets the other columns of the rows found by their key, and only theirs.
* ``among`` matches a column against many values.
* Dates, timestamps, booleans and nulls come back as they went in.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    event,
    func,
    select,
)

from tests.integration.db.conftest import PgDatabases, new_empty_engine
from therabill.adapters.db import bulk

meta = MetaData()
kept = Table(
    "bulk_kept",
    meta,
    Column("practice_id", String(32), primary_key=True),
    Column("code", String(10), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("cents", BigInteger, nullable=False),
    Column("entries", Integer, nullable=False),
    Column("fixed", Boolean, nullable=False),
    Column("last_at", DateTime(timezone=True)),
    Column("note", String(40)),
)
KEY = ("practice_id", "code", "day")
DAY = date(2026, 3, 2)
AT = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)


@pytest.fixture
def db(empty_engine: Engine) -> Iterator[Engine]:
    meta.create_all(empty_engine)
    yield empty_engine


def _row(n: int, cents: int = 100, **extra: Any) -> dict[str, Any]:
    return {
        "practice_id": "p1",
        "code": f"C{n:04d}",
        "day": DAY + timedelta(days=n % 3),
        "cents": cents,
        "entries": 1,
        "fixed": n % 2 == 0,
        "last_at": AT + timedelta(minutes=n),
        "note": None if n % 5 == 0 else f"n{n}",
        **extra,
    }


def _add(given: Any) -> dict[str, Any]:
    return {"cents": kept.c.cents + given.cents, "entries": kept.c.entries + given.entries}


def _sent(engine: Engine) -> list[str]:
    sent: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    return sent


def _all(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as c:
        return {r.code: dict(r._mapping) for r in c.execute(select(kept))}


def test_upsert_inserts_new_keys_and_adds_to_those_there(db: Engine) -> None:
    first = [_row(n) for n in range(1, 301)]
    with db.begin() as c:
        back = bulk.upsert(c, kept, first, KEY, _add, returning=[kept.c.code, kept.c.cents, kept.c.entries])
    assert sorted((r.code, r.cents, r.entries) for r in back) == [(r["code"], 100, 1) for r in first]
    again = [_row(n, cents=25) for n in range(201, 401)]  # 100 keys there, 100 new
    with db.begin() as c:
        back = bulk.upsert(c, kept, again, KEY, _add, returning=[kept.c.code, kept.c.cents, kept.c.entries])
    after = {r.code: (r.cents, r.entries) for r in back}
    assert after["C0201"] == (125, 2) and after["C0300"] == (125, 2)
    assert after["C0301"] == (25, 1) and len(after) == 200
    rows = _all(db)
    assert len(rows) == 400
    assert rows["C0001"]["cents"] == 100 and rows["C0250"]["entries"] == 2
    assert sum(r["cents"] for r in rows.values()) == 300 * 100 + 200 * 25


def test_values_of_every_kind_come_back_as_they_went_in(db: Engine) -> None:
    given = [_row(n) for n in range(1, 11)]
    with db.begin() as c:
        bulk.upsert(c, kept, given, KEY, _add)
    rows = _all(db)
    for g in given:
        r = rows[g["code"]]
        assert r["day"] == g["day"]
        assert r["fixed"] is g["fixed"]
        assert r["note"] == g["note"]
        at = r["last_at"] if r["last_at"].tzinfo else r["last_at"].replace(tzinfo=UTC)
        assert at == g["last_at"]


class Shade(enum.StrEnum):
    """A text enumeration: written as its value, as the driver writes it."""

    LIGHT = "light"


AWKWARD = ['say "hi"', "back\\slash", "a,b", "{brace}", "NULL", "", " padded ", "ünïcödé", '\\"', Shade.LIGHT]
"""Texts an array's text must quote or escape (and the text ``NULL``, which is not null)."""


def test_texts_that_an_array_must_quote_come_back_as_they_went_in(db: Engine) -> None:
    given = [_row(n, note=note) for n, note in enumerate(AWKWARD, start=1)]
    given.append(_row(len(AWKWARD) + 1, cents=-5, fixed=True, note=None, last_at=None))
    with db.begin() as c:
        bulk.upsert(c, kept, given, KEY, _add)
    rows = _all(db)
    assert [rows[g["code"]]["note"] for g in given] == [*(str.__str__(t) for t in AWKWARD), None]
    last = rows[given[-1]["code"]]
    assert last["cents"] == -5 and last["fixed"] is True and last["last_at"] is None
    changes = [
        {**{k: g[k] for k in KEY}, "note": g["note"], "cents": 1, "entries": 1} for g in reversed(given)
    ]
    with db.begin() as c:
        bulk.update_rows(c, kept, changes, KEY)
    assert [_all(db)[g["code"]]["note"] for g in given] == [*(str.__str__(t) for t in AWKWARD), None]


def test_update_rows_sets_the_rows_of_their_keys_only(db: Engine) -> None:
    with db.begin() as c:
        bulk.upsert(c, kept, [_row(n) for n in range(1, 101)], KEY, _add)
    changes = [
        {**{k: _row(n)[k] for k in KEY}, "cents": n, "entries": 7, "note": "set"} for n in range(1, 101, 2)
    ]
    with db.begin() as c:
        bulk.update_rows(c, kept, changes, KEY)
    rows = _all(db)
    assert rows["C0001"]["cents"] == 1 and rows["C0001"]["entries"] == 7 and rows["C0001"]["note"] == "set"
    assert rows["C0099"]["cents"] == 99
    assert rows["C0002"]["cents"] == 100 and rows["C0002"]["entries"] == 1 and rows["C0002"]["note"] == "n2"
    assert sum(1 for r in rows.values() if r["note"] == "set") == 50


def test_many_rows_and_on_postgresql_one_statement(db: Engine) -> None:
    sent = _sent(db)
    with db.begin() as c:
        bulk.upsert(c, kept, [_row(n) for n in range(1, 2001)], KEY, _add)
        bulk.update_rows(c, kept, [{**{k: _row(n)[k] for k in KEY}, "cents": 1} for n in range(1, 2001)], KEY)
    if db.dialect.name == "postgresql":  # SQLite runs each statement for the rows
        assert len(sent) == 2
        assert "unnest" in sent[0] and "ON CONFLICT" in sent[0] and "unnest" in sent[1]
    with db.connect() as c:
        assert c.execute(select(func.sum(kept.c.cents))).scalar_one() == 2000


def test_among_matches_many_values(db: Engine) -> None:
    with db.begin() as c:
        bulk.upsert(c, kept, [_row(n) for n in range(1, 1201)], KEY, _add)
    wanted = [f"C{n:04d}" for n in range(1, 1201, 3)] + ["NOPE"]
    with db.connect() as c:
        found = c.scalars(
            select(kept.c.code).where(bulk.among(kept.c.code, wanted, "codes", db.dialect.name))
        ).all()
    assert sorted(found) == sorted(wanted[:-1])


def test_among_matches_values_a_comma_split_would_not_give_back(db: Engine) -> None:
    odd = ["A,B", "", "C0002", 'q"x', "b\\s"]
    with db.begin() as c:
        bulk.upsert(
            c,
            kept,
            [_row(n) for n in range(1, 4)] + [_row(9, code=v) for v in odd if v != "C0002"],
            KEY,
            _add,
        )
    with db.connect() as c:
        for wanted in (odd, ["A,B"], [""], ["C0002", 'q"x'], []):
            found = c.scalars(
                select(kept.c.code).where(bulk.among(kept.c.code, wanted, "codes", db.dialect.name))
            ).all()
            assert sorted(found) == sorted(wanted), wanted


@pytest.fixture
def pg(tmp_path: Path, pg_databases: PgDatabases) -> Iterator[Engine]:
    engine = new_empty_engine("postgresql", tmp_path, pg_databases)
    meta.create_all(engine)
    yield engine
    engine.dispose()


def test_among_gives_postgresql_the_values_as_a_constant(pg: Engine) -> None:
    """The planner holds the list as a constant array, which a filter looks rows up in by a
    hash, not as an expression computed as the statement runs, which a filter compares each
    row with element by element (a cast of the array's text was such an expression)."""
    with pg.begin() as c:
        bulk.upsert(c, kept, [_row(n) for n in range(1, 51)], KEY, _add)
    for wanted in ([f"C{n:04d}" for n in range(1, 400)], ["A,B", "C0001"]):
        with pg.connect() as c:
            compiled = (
                select(kept.c.code).where(bulk.among(kept.c.code, wanted, "codes", "postgresql")).compile(c)
            )
            plan = "\n".join(
                c.exec_driver_sql("EXPLAIN (VERBOSE) " + str(compiled), compiled.params).scalars()
            )
        condition = next(line for line in plan.splitlines() if "ANY" in line)
        assert "'::text[]" in condition or "'::character varying[]" in condition, plan
        assert "string_to_array" not in condition and "::text)::" not in condition, plan


def test_nothing_given_writes_nothing(db: Engine) -> None:
    sent = _sent(db)
    with db.begin() as c:
        assert bulk.upsert(c, kept, [], KEY, _add, returning=[kept.c.code]) == []
        bulk.update_rows(c, kept, [], KEY)
    assert [s for s in sent if not s.startswith("BEGIN")] == []


def test_lock_rows_returns_the_rows_as_they_are_and_inserts_the_missing(db: Engine) -> None:
    with db.begin() as c:
        bulk.upsert(c, kept, [_row(n, cents=500) for n in range(1, 11)], KEY, _add)
    offered = [_row(n, cents=0) for n in range(6, 16)]  # 5 there, 5 new
    with db.begin() as c:
        back = bulk.lock_rows(c, kept, offered, KEY, returning=[kept.c.code, kept.c.cents])
    assert {r.code: r.cents for r in back} == {
        **{f"C{n:04d}": 500 for n in range(6, 11)},
        **{f"C{n:04d}": 0 for n in range(11, 16)},
    }
    rows = _all(db)
    assert len(rows) == 15 and rows["C0006"]["cents"] == 500 and rows["C0006"]["note"] == "n6"
