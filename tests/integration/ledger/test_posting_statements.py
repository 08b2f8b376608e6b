"""Posting a remittance of many claims issues the same few statements for 10 claims as for 40.

What a claim needs (the claim by number, its lines, its patient's coverages and entries)
is read once per transaction for all its claims, the rows posted are inserted together, and
the claims' status moves are written together (``ClaimMoves``). Counted, not timed: the
statements the database receives while 10 and then 40 claims are posted (one transaction
each), on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select

from tests.integration.ledger.conftest import ACTOR, DOS, Seed, seed_practice
from therabill.adapters.db import report_totals
from therabill.adapters.db.ledger_tables import ledger_entries, remittance_claims
from therabill.adapters.db.tables import claim_status_events, claims
from therabill.domain.remittance import Adjustment, ClaimPayment, Remittance, RemittanceHeader, ServicePayment
from therabill.service_layer import ledger, remittance_posting

MORE_FOR_MORE_CLAIMS = 2
"""At most this many more statements for 40 claims than for 10 (none per claim: every
statement of a transaction serves all its claims)."""


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
    assert many - few <= MORE_FOR_MORE_CLAIMS, (few, many)
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


def test_a_remittance_larger_than_one_transaction_posts_each_claim_once(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed = seed_practice(engine)
    monkeypatch.setattr(remittance_posting, "CLAIMS_PER_TRANSACTION", 7)  # three transactions
    count = 2 * 7 + 3
    rem = _remittance(seed, count, "TRNC")
    first = remittance_posting.post_remittance(engine, seed.practice_id, ACTOR, rem)
    again = remittance_posting.post_remittance(engine, seed.practice_id, ACTOR, rem)
    assert (first.matched_claims, first.entries) == (count, 2 * count)
    assert (again.new, again.matched_claims, again.skipped_claims) == (False, 0, count)
    with engine.connect() as conn:
        assert report_totals.differences(conn, seed.practice_id) == []


def test_a_claim_paid_twice_in_one_transaction_moves_once_and_its_events_follow_its_history(
    engine: Engine,
) -> None:
    seed = seed_practice(engine)
    rem = _remittance(seed, 3, "TRND")
    first = rem.claims[0]
    twice = Remittance(
        RemittanceHeader("I", Decimal("360.00"), "C", "ACH", date(2026, 11, 30), "TRND", payer_id="60054"),
        (*rem.claims, first),
    )
    result = remittance_posting.post_remittance(engine, seed.practice_id, ACTOR, twice)
    assert (result.posted_claims, result.matched_claims) == (4, 3)
    assert [w.kind for w in result.worklist] == ["payment-duplicate"]
    with engine.connect() as conn:
        claim_id = conn.execute(
            select(claims.c.id).where(
                claims.c.practice_id == seed.practice_id, claims.c.claim_number == first.claim_id
            )
        ).scalar_one()
        events = conn.execute(
            select(claim_status_events.c.seq, claim_status_events.c.status)
            .where(claim_status_events.c.claim_id == claim_id)
            .order_by(claim_status_events.c.seq)
        ).all()
        assert [tuple(e) for e in events] == [(1, "paid")]
        statuses = conn.execute(
            select(claims.c.status).where(claims.c.practice_id == seed.practice_id)
        ).scalars()
        assert set(statuses) == {"paid"}
        assert report_totals.differences(conn, seed.practice_id) == []


def test_a_transaction_that_fails_writes_none_of_its_claims_and_a_repost_posts_them_once(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed = seed_practice(engine)
    monkeypatch.setattr(remittance_posting, "CLAIMS_PER_TRANSACTION", 3)
    rem = _remittance(seed, 7, "TRNE")
    real = report_totals.add_posted
    calls: list[int] = []

    def second_fails(conn: Any, rows: Any) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the machine stopped")
        real(conn, rows)

    monkeypatch.setattr(report_totals, "add_posted", second_fails)
    with pytest.raises(RuntimeError):
        remittance_posting.post_remittance(engine, seed.practice_id, ACTOR, rem)

    def state() -> tuple[dict[str, str], dict[str, int], int]:
        with engine.connect() as conn:
            statuses = dict(
                conn.execute(
                    select(claims.c.claim_number, claims.c.status).where(
                        claims.c.practice_id == seed.practice_id
                    )
                ).all()
            )
            events: dict[str, int] = dict(
                conn.execute(
                    select(claims.c.claim_number, func.count(claim_status_events.c.id))
                    .select_from(
                        claims.outerjoin(claim_status_events, claim_status_events.c.claim_id == claims.c.id)
                    )
                    .where(claims.c.practice_id == seed.practice_id)
                    .group_by(claims.c.claim_number)
                ).all()
            )
            posted = conn.execute(
                select(func.count())
                .select_from(remittance_claims)
                .where(remittance_claims.c.practice_id == seed.practice_id)
            ).scalar_one()
        return statuses, events, posted

    statuses, events, posted = state()
    numbers = [cp.claim_id for cp in rem.claims]
    assert posted == 3  # the first transaction only: the second left nothing behind
    assert [statuses[n] for n in numbers] == ["paid"] * 3 + ["submitted"] * 4
    assert [events[n] for n in numbers] == [1] * 3 + [0] * 4
    monkeypatch.setattr(report_totals, "add_posted", real)
    again = remittance_posting.post_remittance(engine, seed.practice_id, ACTOR, rem)
    assert (again.matched_claims, again.skipped_claims) == (4, 3)
    statuses, events, posted = state()
    assert posted == 7 and set(statuses.values()) == {"paid"} and set(events.values()) == {1}
    with engine.connect() as conn:
        assert report_totals.differences(conn, seed.practice_id) == []
