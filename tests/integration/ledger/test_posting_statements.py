"""Posting a remittance of many claims issues a small constant number of statements per claim.

What a claim needs (the claim by number, its lines, its patient's coverages and entries)
is read once per transaction for all its claims, and the rows posted are inserted together;
what is left per claim is its status move. Counted, not timed: the statements the database
receives while 10 and then 40 claims are posted, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, event, func, select

from tests.integration.ledger.conftest import ACTOR, DOS, Seed, seed_practice
from therabill.adapters.db import report_totals
from therabill.adapters.db.ledger_tables import ledger_entries, remittance_claims
from therabill.adapters.db.tables import claims
from therabill.domain.remittance import Adjustment, ClaimPayment, Remittance, RemittanceHeader, ServicePayment
from therabill.service_layer import ledger, remittance_posting

PER_CLAIM = 5
"""At most this many statements per further claim (today: the claim read for update, its
status update, its status history read and its status event)."""


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _remittance(seed: Seed, count: int, trace: str) -> Remittance:
    payer = seed.payer("Aetna", "60054")
    patients = [seed.patient(f"{trace}-{k}") for k in range(max(count // 4, 1))]
    paid_claims = []
    for n in range(count):
        number = f"{trace}N{n:04d}"
        claim_id, _ = seed.claim(patients[n % len(patients)], payer, [("97124", 12000)], number=number)
        ledger.post_claim_charges(seed.engine, seed.practice_id, ACTOR, claim_id)
        line = ServicePayment(
            "97124",
            "HC",
            ("GP",),
            Decimal("120.00"),
            Decimal("90.00"),
            units=Decimal(1),
            service_date=DOS,
            line_id=f"{number}-1",
            adjustments=(Adjustment("CO", "45", Decimal("30.00")),),
        )
        paid_claims.append(
            ClaimPayment(number, "1", Decimal("120.00"), Decimal("90.00"), Decimal("0.00"), lines=(line,))
        )
    header = RemittanceHeader(
        "I",
        Decimal("90.00") * count,
        "C",
        "ACH",
        date(2026, 11, 30),
        trace,
        payer_name="Aetna",
        payer_id="60054",
    )
    return Remittance(header, tuple(paid_claims))


def _post(seed: Seed, count: int, trace: str) -> int:
    rem = _remittance(seed, count, trace)
    with counting(seed.engine) as seen:
        result = remittance_posting.post_remittance(seed.engine, seed.practice_id, ACTOR, rem)
    assert result.matched_claims == count and result.entries == 2 * count and not result.worklist
    return len(seen)


def test_statements_per_claim_stay_a_small_constant(engine: Engine) -> None:
    seed = seed_practice(engine)
    few = _post(seed, 10, "TRNA")
    many = _post(seed, 40, "TRNB")
    assert many - few <= 30 * PER_CLAIM, (few, many)
    with engine.connect() as conn:
        posted = conn.execute(
            select(func.count())
            .select_from(remittance_claims)
            .where(remittance_claims.c.practice_id == seed.practice_id)
        ).scalar_one()
        paid = conn.execute(
            select(func.count())
            .select_from(claims)
            .where(claims.c.practice_id == seed.practice_id, claims.c.status == "paid")
        ).scalar_one()
        entries = conn.execute(
            select(func.count())
            .select_from(ledger_entries)
            .where(
                ledger_entries.c.practice_id == seed.practice_id, ledger_entries.c.remittance_id.is_not(None)
            )
        ).scalar_one()
        assert (posted, paid, entries) == (50, 50, 100)
        assert report_totals.differences(conn, seed.practice_id) == []


def test_a_remittance_larger_than_one_transaction_posts_each_claim_once(engine: Engine) -> None:
    seed = seed_practice(engine)
    count = remittance_posting.CLAIMS_PER_TRANSACTION + 3
    rem = _remittance(seed, count, "TRNC")
    first = remittance_posting.post_remittance(engine, seed.practice_id, ACTOR, rem)
    again = remittance_posting.post_remittance(engine, seed.practice_id, ACTOR, rem)
    assert (first.matched_claims, first.entries) == (count, 2 * count)
    assert (again.new, again.matched_claims, again.skipped_claims) == (False, 0, count)
    with engine.connect() as conn:
        assert report_totals.differences(conn, seed.practice_id) == []
