"""Building a batch issues the same few statements for 10 claims as for 30, and moves each
claim to submitted with its event numbered after its history (on SQLite and PostgreSQL).

The claims are read locked in one query, their lines in one, and their moves written
together (``ClaimMoves``). Counted, not timed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from bench.bench_posting_pg import ACTOR, _copies, _template
from sqlalchemy import Engine, event, select

from therabill.adapters.db.tables import claim_status_events, claims
from therabill.adapters.x12.envelope import EnvelopeSettings
from therabill.domain.errors import NotFoundError
from therabill.domain.ledger import new_id
from therabill.service_layer import batches

MORE_FOR_MORE_CLAIMS = 2
"""At most this many more statements for 30 claims than for 10 (none per claim)."""


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


def _build(engine: Engine, practice_id: str, ids: list[str]) -> tuple[batches.Batch, int]:
    with counting(engine) as seen:
        batch = batches.build_batch(
            engine, practice_id, ACTOR, ids, envelope=EnvelopeSettings(max_claims_per_transaction=4)
        )
    return batch, len(seen)


def test_a_batch_reads_and_moves_its_claims_with_a_constant_number_of_statements(engine: Engine) -> None:
    practice_id, _ = _template(engine, slug=f"batch-{new_id()}")
    with engine.begin() as conn:
        template = conn.execute(select(claims).where(claims.c.practice_id == practice_id)).one()
    _copies(engine, practice_id, template.id, 40)
    with engine.connect() as conn:
        ready = list(
            conn.execute(
                select(claims.c.id)
                .where(claims.c.practice_id == practice_id, claims.c.status == "ready")
                .order_by(claims.c.claim_number.desc())  # a batch keeps the order asked for
            ).scalars()
        )
    few_batch, few = _build(engine, practice_id, ready[:10])
    many_batch, many = _build(engine, practice_id, ready[10:40])
    assert many - few <= MORE_FOR_MORE_CLAIMS, (few, many)
    assert list(many_batch.claim_ids) == ready[10:40] and len(few_batch.claim_ids) == 10
    with engine.connect() as conn:
        rows = {
            r.id: r
            for r in conn.execute(
                select(claims).where(claims.c.practice_id == practice_id, claims.c.id.in_(ready))
            )
        }
        for n, cid in enumerate(ready[10:40]):
            r = rows[cid]
            assert (r.status, r.batch_id, r.interchange_control_number) == (
                "submitted",
                many_batch.batch_id,
                many_batch.control_number,
            )
            assert r.transaction_control_number == f"{n // 4 + 1:04d}"
        history = conn.execute(
            select(claim_status_events.c.claim_id, claim_status_events.c.seq, claim_status_events.c.status)
            .where(claim_status_events.c.claim_id.in_(ready[:40]))
            .order_by(claim_status_events.c.claim_id, claim_status_events.c.seq)
        ).all()
    by_claim: dict[str, list[tuple[int, str]]] = {}
    for h in history:
        by_claim.setdefault(h.claim_id, []).append((h.seq, h.status))
    for cid in ready[:40]:
        seqs = [s for s, _ in by_claim[cid]]
        assert seqs == list(range(1, len(seqs) + 1)) and by_claim[cid][-1][1] == "submitted", by_claim[cid]


def test_a_batch_of_a_claim_that_is_not_there_is_refused_whole(engine: Engine) -> None:
    practice_id, claim_id = _template(engine, slug=f"batch-{new_id()}")
    with pytest.raises(NotFoundError, match="no such claim"):
        batches.build_batch(
            engine, practice_id, ACTOR, [claim_id, "nosuchclaim"], envelope=EnvelopeSettings()
        )
    with engine.connect() as conn:
        assert conn.execute(select(claims.c.status).where(claims.c.id == claim_id)).scalar_one() == "ready"
