"""The trend totals kept once per statement on PostgreSQL (revision ``0028_posting_triggers``).

* Statements that change many rows at once (claims moved, re-dated and given another payer
  together, entries and events inserted together, facts deleted together) leave the kept totals
  equal to their recomputation from the records, on both engines.
* Two writers moving claims of the same days, payer and status at the same time, in opposite
  orders, both commit: each statement writes its day totals in the order of their key. With the
  row triggers of revision 0026 these writers took the same total rows in opposite orders (a
  claim's old total, then its new one, claim after claim) and PostgreSQL cancelled one of them
  as a deadlock.
* A posting chunk's claim moves are one ``UPDATE`` statement on PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from bench.bench_posting_pg import ACTOR, _copies, _template
from sqlalchemy import Engine, bindparam, func, select, text

from tests.integration.db.conftest import PgDatabases, new_empty_engine
from therabill.adapters.db import migrations, report_totals, trend_totals
from therabill.adapters.db.tables import claims
from therabill.adapters.db.trend_tables import claim_day_totals
from therabill.domain.ledger import new_id
from therabill.service_layer.claim_moves import ClaimMoves
from therabill.service_layer.uow import UnitOfWork

DAYS = 120
FIRST = date(2026, 1, 5)


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory, pg_databases: PgDatabases) -> Iterator[Engine]:
    eng = new_empty_engine("postgresql", Path(tmp_path_factory.mktemp("pgtrig")), pg_databases)
    migrations.upgrade(eng)
    yield eng
    eng.dispose()


def _practice(engine: Engine, claims_count: int) -> tuple[str, list[str]]:
    """A practice of ``claims_count`` claims, two per day from ``FIRST``, all submitted to one
    payer; their ids in the order of their day (two per day)."""
    pid, template = _template(engine, slug=f"trig-{new_id()}")
    _copies(engine, pid, template, claims_count)
    with engine.begin() as c:
        ids = list(
            c.execute(
                select(claims.c.id).where(claims.c.practice_id == pid).order_by(claims.c.claim_number)
            ).scalars()
        )
        c.execute(
            claims.update()
            .where(claims.c.id == bindparam("cid"))
            .values(date_of_service=bindparam("day"), status="submitted"),
            [{"cid": cid, "day": FIRST + timedelta(days=n // 2)} for n, cid in enumerate(ids)],
        )
    return pid, ids


def _totals(engine: Engine, pid: str) -> dict[str, int]:
    with engine.connect() as c:
        rows = c.execute(
            select(claim_day_totals.c.status, func.sum(claim_day_totals.c.claims))
            .where(claim_day_totals.c.practice_id == pid)
            .group_by(claim_day_totals.c.status)
        ).all()
    return {status: int(n) for status, n in rows if n}


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_statements_of_many_rows_keep_the_totals(
    kind: str, tmp_path: Path, pg_databases: PgDatabases
) -> None:
    engine = new_empty_engine(kind, tmp_path, pg_databases)
    migrations.upgrade(engine)
    try:
        pid, ids = _practice(engine, 60)
        p = {"p": pid}
        with engine.begin() as c:  # statuses swapped among claims of the same days, in one statement
            c.execute(
                text(
                    "UPDATE claims SET status = CASE WHEN claim_number < 'TB0000000030' THEN 'paid'"
                    " ELSE 'denied' END WHERE practice_id = :p"
                ),
                p,
            )
            c.execute(
                text(
                    "UPDATE claims SET status = CASE status WHEN 'paid' THEN 'denied' ELSE 'paid' END,"
                    " date_of_service = date_of_service + 1 WHERE practice_id = :p AND claim_number < 'TB0000000045'"
                    if kind == "postgresql"
                    else "UPDATE claims SET status = CASE status WHEN 'paid' THEN 'denied' ELSE 'paid' END,"
                    " date_of_service = date(date_of_service, '+1 day')"
                    " WHERE practice_id = :p AND claim_number < 'TB0000000045'"
                ),
                p,
            )
            c.execute(
                text("UPDATE claims SET payer_id = NULL WHERE practice_id = :p AND status = 'denied'"), p
            )
            c.execute(text("UPDATE claim_lines SET units = units + 1 WHERE practice_id = :p"), p)
        with engine.connect() as c:
            assert trend_totals.differences(c, pid) == []
            assert report_totals.differences(c, pid) == []
        assert sum(_totals(engine, pid).values()) == len(ids)
        with engine.begin() as c:  # the facts of many claims deleted (and put back) by one statement
            c.execute(text("DELETE FROM claim_trend_facts WHERE practice_id = :p"), p)
        assert _totals(engine, pid) == {}
        with engine.begin() as c:
            trend_totals.rebuild(c, pid)
        with engine.connect() as c:
            assert trend_totals.differences(c, pid) == []
    finally:
        engine.dispose()


def move_together(engine: Engine, moves: list[tuple[str, str]], ready: threading.Barrier) -> None:
    """Move the claims in one statement, in the order given (one transaction, plain SQL: the
    service layer's writers of one practice also wait on the practice's row, these do not)."""
    rows = ", ".join(f"(:id{n}, :status{n}, {n})" for n in range(len(moves)))
    params: dict[str, Any] = {}
    for n, (claim_id, status) in enumerate(moves):
        params[f"id{n}"], params[f"status{n}"] = claim_id, status
    with engine.begin() as c:
        # the claims in the order given (a nested loop over the list): how the row triggers of
        # revision 0026 took the day totals, claim after claim
        c.execute(text("SET LOCAL enable_hashjoin = off"))
        c.execute(text("SET LOCAL enable_mergejoin = off"))
        c.execute(text("SET LOCAL enable_seqscan = off"))
        ready.wait(timeout=60)
        c.execute(
            text(
                "UPDATE claims SET status = v.status FROM (VALUES " + rows + ") AS v (id, status, n)"
                " WHERE claims.id = v.id"
            ),
            params,
        )


def test_two_writers_moving_claims_of_the_same_days_both_commit(pg: Engine) -> None:
    pid, ids = _practice(pg, 2 * DAYS)
    ascending = [(cid, "paid") for cid in ids[0::2]]  # one claim of each day, first day first
    descending = [(cid, "denied") for cid in ids[1::2]][::-1]  # the other one, last day first
    ready, failed = threading.Barrier(2), []

    def write(moves: list[tuple[str, str]]) -> None:
        try:
            move_together(pg, moves, ready)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failed.append(exc)

    writers = [threading.Thread(target=write, args=(moves,)) for moves in (ascending, descending)]
    for w in writers:
        w.start()
    for w in writers:
        w.join(timeout=120)
    assert failed == []
    assert _totals(pg, pid) == {"paid": DAYS, "denied": DAYS}
    with pg.connect() as c:
        assert trend_totals.differences(c, pid) == []
        assert report_totals.differences(c, pid) == []


def test_the_moves_of_a_chunk_fire_each_statement_trigger_once(pg: Engine) -> None:
    """A chunk's claim moves are one UPDATE of ``claims`` and one write (a COPY) of
    ``claim_status_events``: a statement trigger on each table runs once for the 30 claims."""
    pid, ids = _practice(pg, 30)
    with pg.begin() as c:
        c.execute(text("CREATE TABLE test_fired (tbl text NOT NULL)"))
        c.execute(
            text(
                "CREATE FUNCTION test_fired_count() RETURNS trigger LANGUAGE plpgsql AS"
                " $$ BEGIN INSERT INTO test_fired VALUES (TG_TABLE_NAME); RETURN NULL; END $$"
            )
        )
        c.execute(
            text(
                "CREATE TRIGGER test_fired_claims AFTER UPDATE ON claims"
                " FOR EACH STATEMENT EXECUTE FUNCTION test_fired_count()"
            )
        )
        c.execute(
            text(
                "CREATE TRIGGER test_fired_events AFTER INSERT ON claim_status_events"
                " FOR EACH STATEMENT EXECUTE FUNCTION test_fired_count()"
            )
        )
    try:
        with UnitOfWork(pg, pid, ACTOR) as uow:
            queue = ClaimMoves(uow)
            for cid in ids:
                queue.move(cid, "paid", note="chunk")
            queue.flush()
        with pg.connect() as c:
            fired = sorted(c.execute(text("SELECT tbl FROM test_fired")).scalars())
    finally:
        with pg.begin() as c:
            c.execute(text("DROP TRIGGER test_fired_claims ON claims"))
            c.execute(text("DROP TRIGGER test_fired_events ON claim_status_events"))
            c.execute(text("DROP FUNCTION test_fired_count()"))
            c.execute(text("DROP TABLE test_fired"))
    assert fired == ["claim_status_events", "claims"]
    assert _totals(pg, pid) == {"paid": 30}
    with pg.connect() as c:
        assert trend_totals.differences(c, pid) == []
        numbered = c.execute(  # each claim's new event numbered after its history
            text(
                "SELECT COUNT(*), SUM(CASE WHEN e.seq = (SELECT COUNT(*) FROM claim_status_events x"
                " WHERE x.claim_id = e.claim_id) THEN 1 ELSE 0 END) FROM claim_status_events e"
                " WHERE e.practice_id = :p AND e.note = 'chunk'"
            ),
            {"p": pid},
        ).one()
        assert tuple(numbered) == (30, 30)
