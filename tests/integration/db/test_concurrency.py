"""Two writers at once: no lost update and no "database is locked" reaching the caller."""

from __future__ import annotations

import threading

from sqlalchemy import Engine, select

from tests.integration.db.builders import ACTOR, a_practice
from therabill.adapters.db.tables import claim_batches
from therabill.service_layer import batches
from therabill.service_layer.uow import UnitOfWork

ROUNDS = 25


def test_two_writers_read_modify_write(engine: Engine) -> None:
    p = a_practice(engine)
    errors: list[BaseException] = []
    numbers: list[int] = []
    lock = threading.Lock()

    def writer() -> None:
        try:
            for _ in range(ROUNDS):
                with UnitOfWork(engine, p.id, ACTOR) as uow:
                    n = batches.allocate_control_number(uow)
                    uow.records.insert(
                        claim_batches,
                        control_number=n,
                        status="built",
                        claim_count=0,
                        total_charge_cents=0,
                        created_at=uow.now(),
                    )
                    uow.record("batch.build", "claim_batch", None, {"control_number": n})
                with lock:
                    numbers.append(n)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(numbers) == list(range(1, 2 * ROUNDS + 1))
    with UnitOfWork(engine, p.id, ACTOR, read_only=True) as uow:
        stored = (
            uow.session.execute(
                select(claim_batches.c.control_number).where(claim_batches.c.practice_id == p.id)
            )
            .scalars()
            .all()
        )
        from therabill.service_layer.audit import verify_chain

        assert verify_chain(uow.session, p.id).ok
    assert sorted(stored) == sorted(numbers)
