"""The open balances (``ledger_balances``) kept at posting: equal to the ledger on both engines,
the aging report reads them when nothing was posted after its day and then says exactly what
the ledger says, ``db check`` finds a drift and ``rebuild-totals`` repairs it, and revision
0019 fills them from the entries already posted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text, update

from tests.conftest import require
from tests.integration.db.conftest import PgDatabases, pg_available
from tests.integration.reports.conftest import AS_OF, Practice, build_practice
from therabill.adapters.db import migrations, report_totals
from therabill.adapters.db.ledger_tables import ledger_balances
from therabill.reports import ReportQuery, aging

PREVIOUS = migrations.revisions()[migrations.revisions().index("0019_ledger_balances") - 1]


def test_kept_balances_equal_the_entries(practice: Practice) -> None:
    with practice.engine.connect() as conn:
        assert report_totals.balance_differences(conn, practice.practice_id) == []
        kept = conn.execute(
            text("SELECT count(*) FROM ledger_balances WHERE practice_id = :p"), {"p": practice.practice_id}
        ).scalar_one()
    assert kept > 5


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    answers: list[bool] = []
    real = aging.balances_complete_before

    def recording(*args: Any) -> bool:
        answers.append(real(*args))
        return answers[-1]

    monkeypatch.setattr(aging, "balances_complete_before", recording)
    yield answers


def _as_rows(r: aging.AgingReport) -> tuple[Any, ...]:
    return (r.insurance, r.patients, r.insurance_credits, r.patient_credits)


@pytest.mark.parametrize("as_of", [AS_OF, AS_OF + timedelta(days=45), AS_OF + timedelta(days=400)])
def test_aging_from_the_kept_balances_equals_aging_from_the_ledger(
    practice: Practice, spy: list[bool], monkeypatch: pytest.MonkeyPatch, as_of: date
) -> None:
    kept = aging.build(practice.engine, ReportQuery(practice.practice_id, as_of=as_of))
    assert spy == [True]  # nothing was posted after the day: the kept balances answered
    monkeypatch.setattr(aging, "balances_complete_before", lambda *_a: False)
    from_ledger = aging.build(practice.engine, ReportQuery(practice.practice_id, as_of=as_of))
    assert _as_rows(kept) == _as_rows(from_ledger)
    assert kept.insurance and kept.patients


def test_aging_of_a_day_before_the_last_posting_reads_the_ledger(practice: Practice, spy: list[bool]) -> None:
    aging.build(practice.engine, ReportQuery(practice.practice_id, as_of=date(2026, 10, 6)))
    assert spy == [False]


def test_a_drifted_balance_is_found_and_rebuilt(practice: Practice) -> None:
    with practice.engine.begin() as conn:
        conn.execute(
            update(ledger_balances)
            .where(
                ledger_balances.c.practice_id == practice.practice_id, ledger_balances.c.bucket == "patient"
            )
            .values(balance_cents=ledger_balances.c.balance_cents + 1)
        )
    with practice.engine.connect() as conn:
        assert report_totals.differences(conn, practice.practice_id) != []
    with practice.engine.begin() as conn:
        report_totals.rebuild(conn, [practice.practice_id])
    with practice.engine.connect() as conn:
        assert report_totals.differences(conn, practice.practice_id) == []


@pytest.fixture
def pg(pg_databases: PgDatabases) -> Engine:
    require("PostgreSQL on 127.0.0.1:5432", pg_available(), "scripts/system-deps.sh installs it")
    return pg_databases.new()


def test_the_revision_fills_the_balances_from_the_posted_entries(pg: Engine) -> None:
    migrations.upgrade(pg)
    p = build_practice(pg)
    migrations.downgrade(pg, PREVIOUS)
    migrations.upgrade(pg)
    with pg.connect() as conn:
        assert report_totals.balance_differences(conn, p.practice_id) == []
        assert conn.execute(text("SELECT count(*) FROM ledger_balances")).scalar_one() > 5
