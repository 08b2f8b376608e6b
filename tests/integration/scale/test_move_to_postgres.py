"""``therabill db move-to-postgres``: a practice's SQLite database (the reports' reference
practice: visits, claims, remittances, denials, patient payments, refunds; two logins; its
audit trail) copied into PostgreSQL
and back keeps every table's count, the ledger's counts and sums, the monthly totals and the
audit chains; a refused copy leaves the target unchanged. Real PostgreSQL (fails under CI
when missing)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from tests.conftest import require
from tests.integration.db.conftest import PgDatabases, pg_available
from tests.integration.reports.conftest import build_practice
from tests.integration.scale.conftest import not_analyzed
from therabill.adapters.db import migrations
from therabill.adapters.db.engine import make_engine
from therabill.adapters.db.ledger_tables import ledger_entries
from therabill.adapters.db.transfer import TransferError, _chunks, facts
from therabill.domain.errors import TherabillError
from therabill.entrypoints.cli.main import app
from therabill.service_layer import accounts, database
from therabill.service_layer.audit import verify_chain
from therabill.service_layer.uow import UnitOfWork

runner = CliRunner()


def _url(engine: Engine) -> str:
    return make_url(engine.url).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def demo_sqlite(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite database holding a practice with its money, two logins and its audit trail."""
    path = tmp_path_factory.mktemp("move") / "practice.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrations.upgrade(engine)
    pid = build_practice(engine).practice_id
    with engine.begin() as conn:
        for role in ("owner", "biller"):
            accounts.create_user(
                conn,
                username=role,
                display_name=role.title(),
                password=f"{role}-password-2026",
                practice_id=pid,
                role=role,
                now=datetime(2026, 11, 23, 15, 0),
            )
    engine.dispose()
    return f"sqlite:///{path}"


@pytest.fixture
def pg(pg_databases: PgDatabases) -> Engine:
    require("PostgreSQL on 127.0.0.1:5432", pg_available(), "scripts/system-deps.sh installs it")
    return pg_databases.new()


def _facts(url: str) -> object:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return facts(conn)
    finally:
        engine.dispose()


def test_move_to_postgres_and_back_keeps_every_count_and_sum(
    demo_sqlite: str, pg: Engine, tmp_path: Path
) -> None:
    before = _facts(demo_sqlite)
    r = runner.invoke(app, ["db", "move-to-postgres", _url(pg), "--from", demo_sqlite])
    assert r.exit_code == 0, r.output
    assert '"verified"' in r.output
    on_pg = _facts(_url(pg))
    assert on_pg == before
    assert not_analyzed(pg) == []  # the planner has statistics of the rows just copied
    assert before.rows["ledger_entries"] > 20 and before.rows["audit_log"] > 20  # type: ignore[attr-defined]
    assert before.rows["ledger_balances"] > 5 and before.rows["users"] == 2  # type: ignore[attr-defined]
    with pg.connect() as conn:  # the chains verify on the new engine, and its totals equal the ledger
        pid = conn.execute(text("SELECT id FROM practices")).scalar_one()
    with UnitOfWork(pg, pid, "os:test", read_only=True) as uow:
        assert verify_chain(uow.session, pid).ok
    check = database.check(pg, tmp_path / "anchor")
    assert check.ok, check
    # and back into a new SQLite file: the same facts again
    back = f"sqlite:///{tmp_path / 'back.sqlite3'}"
    moved = database.copy(_url(pg), back)
    assert moved.total_rows == sum(before.rows.values())  # type: ignore[attr-defined]
    assert _facts(back) == before


def test_a_second_move_is_refused_and_changes_nothing(demo_sqlite: str, pg: Engine) -> None:
    database.move_to_postgres(_url(pg), demo_sqlite)
    first = _facts(_url(pg))
    with pytest.raises(TransferError) as err:
        database.move_to_postgres(_url(pg), demo_sqlite)
    assert err.value.problems[0].code == "db-transfer-practice-exists"
    assert _facts(_url(pg)) == first


def test_a_copy_the_target_refuses_half_way_leaves_nothing(demo_sqlite: str, pg: Engine) -> None:
    migrations.upgrade(pg)
    with pg.begin() as conn:  # a login name already taken in the target: the users table refuses
        conn.execute(
            text(
                "CREATE UNIQUE INDEX ix_test_one_user ON users ((1)) WHERE username = 'owner'"
                " OR username = 'biller'"
            )
        )
    empty = _facts(_url(pg))
    with pytest.raises(TransferError) as err:
        database.move_to_postgres(_url(pg), demo_sqlite)
    assert err.value.problems[0].code == "db-transfer-refused"
    assert _facts(_url(pg)) == empty  # practices, visits, ledger rows written before the refusal are gone


def test_move_to_postgres_wants_sqlite_into_postgresql(demo_sqlite: str, tmp_path: Path) -> None:
    with pytest.raises(TherabillError) as err:
        database.move_to_postgres(f"sqlite:///{tmp_path / 'other.sqlite3'}", demo_sqlite)
    assert err.value.problems[0].code == "db-transfer-wrong-engines"
    r = runner.invoke(
        app, ["db", "move-to-postgres", f"sqlite:///{tmp_path / 'x.sqlite3'}", "--from", demo_sqlite]
    )
    assert r.exit_code != 0 and "db-transfer-wrong-engines" in r.output


def test_a_reversal_is_copied_after_the_entry_it_reverses(demo_sqlite: str) -> None:
    source = make_engine(demo_sqlite)
    try:
        with source.connect() as conn:
            order = [r["id"] for chunk in _chunks(conn, ledger_entries, 3) for r in chunk]
            reversals = conn.execute(
                select(ledger_entries.c.id, ledger_entries.c.reverses_entry_id).where(
                    ledger_entries.c.reverses_entry_id.is_not(None)
                )
            ).all()
    finally:
        source.dispose()
    assert reversals  # the practice has reversals (a voided claim's charges, a refund)
    assert len(order) == len(set(order))
    position = {entry_id: i for i, entry_id in enumerate(order)}
    assert all(position[r.reverses_entry_id] < position[r.id] for r in reversals)
