"""The ledger tables as the migrations build them match the table module, on both engines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text

from tests.integration.db.test_migrations import _table_of
from tests.integration.ledger.conftest import ACTOR, PgDatabases, new_empty_engine, seed_practice
from therabill.adapters.db import migrations, report_totals
from therabill.adapters.db.base import metadata
from therabill.adapters.db.ledger_tables import APPEND_ONLY_TABLES, LEDGER_TABLES, ledger_month_totals
from therabill.domain.ledger import PaymentMethod
from therabill.domain.money import D
from therabill.service_layer import ledger as svc


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path, pg_databases: PgDatabases) -> Iterator[Engine]:
    eng = new_empty_engine(request.param, tmp_path, pg_databases)
    yield eng
    eng.dispose()


def test_migrated_ledger_tables_match_the_table_module(fresh: Engine) -> None:
    migrations.upgrade(fresh)
    names = {t.name for t in LEDGER_TABLES}
    assert names <= set(inspect(fresh).get_table_names())
    with fresh.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    ours = [d for d in diffs if _table_of(d) in names]
    assert ours == []
    with fresh.connect() as conn:
        if fresh.dialect.name == "sqlite":
            found = set(conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
            expected = {f"{t}_no_{op}" for t in APPEND_ONLY_TABLES for op in ("update", "delete")}
        else:
            found = set(conn.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")).scalars())
            expected = {f"{t}_{kind}" for t in APPEND_ONLY_TABLES for kind in ("append_only", "no_truncate")}
    assert expected <= found


def test_practice_ledger_revision_upgrades_and_downgrades(fresh: Engine) -> None:
    migrations.upgrade(fresh, "0004_intake")
    assert "practice_ledger_entries" not in inspect(fresh).get_table_names()
    migrations.upgrade(fresh)
    assert "practice_ledger_entries" in inspect(fresh).get_table_names()
    migrations.downgrade(fresh, "0004_intake")
    assert "practice_ledger_entries" not in inspect(fresh).get_table_names()


def test_monthly_totals_revision_fills_from_the_posted_entries(fresh: Engine) -> None:
    migrations.upgrade(fresh)
    seed = seed_practice(fresh)
    payer = seed.payer("Acme", "ACME")
    ann, bo = seed.patient("ann"), seed.patient("bo")
    for pt, lines in ((ann, [("97124", 10000), ("97140", 4500)]), (bo, [("97110", 6000)])):
        claim_id, _ = seed.claim(pt, payer, lines)
        svc.post_claim_charges(fresh, seed.practice_id, ACTOR, claim_id)
    svc.post_patient_payment(
        fresh, seed.practice_id, ACTOR, patient_id=ann, amount=D("25.00"), method=PaymentMethod.CARD, key="p1"
    )
    with fresh.connect() as conn:
        kept = conn.execute(select(ledger_month_totals).order_by(*ledger_month_totals.primary_key)).all()
    assert len(kept) == 4  # three lines' charges (two codes on one claim) and the patient's payment

    migrations.downgrade(fresh, "0007_report_indexes")
    assert "ledger_month_totals" not in inspect(fresh).get_table_names()
    migrations.upgrade(fresh)
    with fresh.connect() as conn:
        filled = conn.execute(select(ledger_month_totals).order_by(*ledger_month_totals.primary_key)).all()
        assert report_totals.differences(conn, seed.practice_id) == []
    assert filled == kept
