"""Posted rows are never updated or deleted: the database itself refuses, on both engines."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from tests.integration.ledger.conftest import ACTOR, Seed
from therabill.adapters.db.ledger_tables import APPEND_ONLY_TABLES, ledger_entries
from therabill.domain.ledger import PaymentMethod
from therabill.domain.money import D
from therabill.service_layer import ledger as svc


@pytest.fixture
def posted(seed: Seed) -> tuple[Seed, str]:
    pt = seed.patient("eve")
    res = svc.post_patient_payment(
        seed.engine,
        seed.practice_id,
        ACTOR,
        patient_id=pt,
        amount=D("25.00"),
        method=PaymentMethod.CASH,
        key="ao",
    )
    return seed, res.entry_ids[0]


def _amount(seed: Seed, entry_id: str) -> int:
    with seed.engine.connect() as c:
        return int(
            c.execute(
                select(ledger_entries.c.amount_cents).where(ledger_entries.c.id == entry_id)
            ).scalar_one()
        )


@pytest.mark.parametrize(
    "statement",
    [
        lambda eid: update(ledger_entries).where(ledger_entries.c.id == eid).values(amount_cents=1),
        lambda eid: delete(ledger_entries).where(ledger_entries.c.id == eid),
        lambda eid: text(f"UPDATE ledger_entries SET amount_cents = 1 WHERE id = '{eid}'"),
        lambda eid: text(f"DELETE FROM ledger_entries WHERE id = '{eid}'"),
        lambda eid: text("UPDATE ledger_entries SET memo = 'x'"),
    ],
    ids=["orm-update", "orm-delete", "sql-update", "sql-delete", "sql-update-all"],
)
def test_update_and_delete_are_refused_by_the_database(posted: tuple[Seed, str], statement) -> None:  # type: ignore[no-untyped-def]
    seed, entry_id = posted
    with Session(seed.engine) as session, pytest.raises(DBAPIError, match="ledger-append-only"):
        session.execute(statement(entry_id))
        session.commit()
    assert _amount(seed, entry_id) == 2500


def test_every_append_only_table_has_its_triggers(posted: tuple[Seed, str]) -> None:
    seed, _ = posted
    with seed.engine.connect() as c:
        if seed.engine.dialect.name == "sqlite":
            names = {r[0] for r in c.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))}
            expected = {f"{t}_no_{op}" for t in APPEND_ONLY_TABLES for op in ("update", "delete")}
        else:
            names = {r[0] for r in c.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"))}
            expected = {f"{t}_append_only" for t in APPEND_ONLY_TABLES} | {
                f"{t}_no_truncate" for t in APPEND_ONLY_TABLES
            }
    assert expected <= names
