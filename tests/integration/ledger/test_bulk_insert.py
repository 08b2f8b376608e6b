"""Many rows inserted at once (``bulk.insert_rows``: COPY on PostgreSQL) read back as an insert
writes them, and a duplicate key fails as an insert's does, on both engines."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tests.integration.ledger.conftest import Seed
from therabill.adapters.db.bulk import among, insert_rows
from therabill.adapters.db.ledger_tables import remittance_claims, remittances
from therabill.domain.ledger import new_id

AT = datetime(2026, 11, 23, 15, 0, 0, 123456, tzinfo=UTC)


def _remittance(seed: Seed) -> str:
    rid = new_id()
    with seed.engine.begin() as c:
        c.execute(
            remittances.insert().values(
                id=rid, practice_id=seed.practice_id, payer_identifier="60054", payment_cents=100, provider_adjustment_cents=0,
                claim_count=2, idempotency_key=f"bulk-{rid}", received_at=AT, received_by="os:tester",
            )
        )  # fmt: skip
    return rid


def _row(seed: Seed, rid: str, n: int, key: str, remarks: list[str] | None) -> dict[str, object]:
    return {
        "id": new_id(), "practice_id": seed.practice_id, "remittance_id": rid, "ordinal": n,
        "idempotency_key": key, "claim_number": f"TB\t{n}\\x", "status": "1",
        "payer_claim_control_number": None, "charge_cents": 10_000, "paid_cents": 8_000,
        "patient_responsibility_cents": 0, "claim_id": None, "posted": n % 2 == 0, "crossover": False,
        "entry_count": 0, "posted_at": AT, "payer_id": None, "remarks": remarks,
    }  # fmt: skip


def test_rows_read_back_as_inserted(seed: Seed) -> None:
    rid = _remittance(seed)
    rows = [_row(seed, rid, 1, "k1", ["N130", "MA01"]), _row(seed, rid, 2, "k2", None)]
    with seed.engine.begin() as c:
        insert_rows(c, remittance_claims, rows)
    with seed.engine.connect() as c:
        keys = [r["idempotency_key"] for r in rows]
        found = {
            r.idempotency_key: r
            for r in c.execute(
                select(remittance_claims).where(
                    among(remittance_claims.c.idempotency_key, keys, "k", c.dialect.name)
                )
            )
        }
    assert set(found) == {"k1", "k2"}
    for row in rows:
        back = found[str(row["idempotency_key"])]
        assert back.claim_number == row["claim_number"]
        assert back.posted is row["posted"]
        assert back.remarks == row["remarks"]
        at = back.posted_at if back.posted_at.tzinfo else back.posted_at.replace(tzinfo=UTC)
        assert at == AT


def test_a_duplicate_key_fails_as_an_insert_does(seed: Seed) -> None:
    rid = _remittance(seed)
    with seed.engine.begin() as c:
        insert_rows(c, remittance_claims, [_row(seed, rid, 1, "dup", [])])
    with pytest.raises(IntegrityError), seed.engine.begin() as c:
        insert_rows(c, remittance_claims, [_row(seed, rid, 2, "dup", [])])
