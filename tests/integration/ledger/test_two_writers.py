"""Two writers posting payments to the same claim at once, on SQLite and PostgreSQL.

Each writer posts its own payments (own keys) and every writer also posts the same shared
payments (same keys): afterwards every distinct payment is there exactly once, the claim's
balance is the charge minus all of them, and no writer saw an error ("database is
locked", a serialization failure, a duplicate key).
"""

from __future__ import annotations

import threading
from decimal import Decimal

from tests.integration.ledger.conftest import ACTOR, Seed
from therabill.domain.ledger import EntryKind, PaymentMethod
from therabill.service_layer import ledger as svc
from therabill.service_layer import ledger_corrections

WRITERS = 2
OWN = 8
SHARED = 4


def test_two_writers_post_payments_to_one_claim(seed: Seed) -> None:
    payer = seed.payer("Acme", "ACME")
    pt = seed.patient("dee")
    claim_id, (line,) = seed.claim(pt, payer, [("97124", 50000)])
    svc.post_claim_charges(seed.engine, seed.practice_id, ACTOR, claim_id)
    ledger_corrections.transfer_balance(
        seed.engine, seed.practice_id, ACTOR, item_id=line, to="patient", key="to-patient"
    )
    errors: list[BaseException] = []
    start = threading.Barrier(WRITERS)

    def writer(n: int) -> None:
        try:
            start.wait()
            for k in range(OWN):
                keys = [f"own-{n}-{k}"] + ([f"shared-{k}"] if k < SHARED else [])
                for key in keys:
                    svc.post_patient_payment(
                        seed.engine,
                        seed.practice_id,
                        f"{ACTOR}-{n}",
                        patient_id=pt,
                        amount=Decimal("5.00"),
                        method=PaymentMethod.CARD,
                        key=key,
                        item_id=line,
                    )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    payments = [
        e
        for e in svc.all_entries(seed.engine, seed.practice_id, ACTOR)
        if e.kind is EntryKind.PATIENT_PAYMENT and e.item_id == line
    ]
    assert len(payments) == WRITERS * OWN + SHARED
    bal = svc.balances(seed.engine, seed.practice_id, ACTOR, claim_id=claim_id)
    paid = Decimal("5.00") * (WRITERS * OWN + SHARED)
    assert bal["balance"]["patient_payments"] == str(paid)
    assert bal["balance"]["patient_balance"] == str(Decimal("500.00") - paid)
    assert bal["holds"] and svc.check_ledger(seed.engine, seed.practice_id, ACTOR) == []
