"""Statements and the money pages: a statement run over a practice, one patient's account.

Setup: a fresh SQLite database in a temporary folder; one practice, one payer, ``PATIENTS``
patients, each with ``VISITS`` billed visits of two lines whose first line the payer left
partly to the patient (a transfer), and a payment on every other patient. Figures:

* ``run``: ``statements.statement_batch`` over every patient owing more than $10 (each
  statement rendered, stored as printed, and all merged): total seconds, statements, ms per
  statement, merged pages.
* ``account``: ``checkout.patient_money`` of a random patient (what the account and check-out
  pages read): p50, p95, max over ``ROUNDS`` calls. Target p95 < 50 ms.

Benchmarks measure; they never fail a build on timing.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

PATIENTS = 200
VISITS = 6
ROUNDS = 200
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


def _seed(engine: Any) -> tuple[str, list[str]]:
    from therabill.adapters.db.tables import (
        claim_lines,
        claims,
        patients,
        payers,
        practices,
        providers,
        visits,
    )
    from therabill.domain.ledger import PaymentMethod, new_id
    from therabill.service_layer import ledger, ledger_corrections

    practice_id, provider_id, payer_id = new_id(), new_id(), new_id()
    address = {"line1": "1 Main St", "city": "Springfield", "state": "IL", "zip": "62701"}
    with engine.begin() as c:
        c.execute(
            practices.insert().values(
                id=practice_id, name="Bench", slug="bench", address=address, created_at=NOW
            )
        )
        c.execute(
            providers.insert().values(
                id=provider_id, practice_id=practice_id, first_name="Ana", last_name="Lopez", created_at=NOW
            )
        )
        c.execute(
            payers.insert().values(
                id=payer_id, practice_id=practice_id, name="Acme", payer_id="ACME", created_at=NOW
            )
        )
    rng = random.Random(7)
    patient_ids, work = [], []
    with engine.begin() as c:
        for n in range(PATIENTS):
            pid = new_id()
            patient_ids.append(pid)
            c.execute(
                patients.insert().values(
                    id=pid, practice_id=practice_id, chart_number=f"B-{n:05d}", first_name="Pat",
                    last_name=f"Bench{n}", address=address, created_at=NOW,
                )
            )  # fmt: skip
            for v in range(VISITS):
                dos = date(2026, 6, 1) + timedelta(days=rng.randrange(170))
                visit_id, claim_id, lines = new_id(), new_id(), [new_id(), new_id()]
                c.execute(
                    visits.insert().values(
                        id=visit_id, practice_id=practice_id, patient_id=pid, provider_id=provider_id,
                        date_of_service=dos, status="coded", encounter_json={}, created_at=NOW,
                    )
                )  # fmt: skip
                c.execute(
                    claims.insert().values(
                        id=claim_id, practice_id=practice_id, visit_id=visit_id, patient_id=pid, payer_id=payer_id,
                        claim_number=f"B{n:05d}{v}", status="submitted", date_of_service=dos,
                        total_charge_cents=16000, created_at=NOW, updated_at=NOW,
                    )
                )  # fmt: skip
                c.execute(
                    claim_lines.insert(),
                    [
                        {
                            "id": lid, "practice_id": practice_id, "claim_id": claim_id, "line_number": i + 1,
                            "service_index": i, "code": code, "modifiers": [], "units": 4, "minutes": 60,
                            "unit_charge_cents": 2000, "charge_cents": 8000, "diagnosis_pointers": [1],
                            "line_id": f"{claim_id[:8]}-{i}", "date_of_service": dos,
                        }
                        for i, (lid, code) in enumerate(zip(lines, ("97124", "97140"), strict=True))
                    ],
                )  # fmt: skip
                work.append((pid, claim_id, lines[0]))
    for _pid, claim_id, line in work:
        ledger.post_claim_charges(engine, practice_id, "bench", claim_id)
        ledger_corrections.transfer_balance(
            engine, practice_id, "bench", item_id=line, to="patient", amount=Decimal("25.00"), key=f"t-{line}"
        )
    for pid in patient_ids[::2]:
        ledger.post_patient_payment(
            engine, practice_id, "bench", patient_id=pid, amount=Decimal("40.00"), method=PaymentMethod.CARD,
            key=f"p-{pid}",
        )  # fmt: skip
    return practice_id, patient_ids


def run() -> dict[str, Any]:
    from therabill.adapters.db import migrations
    from therabill.adapters.db.engine import make_engine
    from therabill.clock import current_date
    from therabill.service_layer import checkout, statements

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        migrations.upgrade(engine)
        practice_id, patient_ids = _seed(engine)
        started = time.perf_counter()
        batch = statements.statement_batch(
            engine, practice_id, "bench", statement_date=current_date(), over=Decimal("10.00")
        )
        run_seconds = time.perf_counter() - started
        rng = random.Random(3)
        samples = []
        for _ in range(ROUNDS):
            pid = rng.choice(patient_ids)
            t = time.perf_counter()
            checkout.patient_money(engine, practice_id, "bench", pid)
            samples.append(time.perf_counter() - t)
        engine.dispose()
    pages = sum(d.pages for d in batch.statements)
    return {
        "patients": PATIENTS,
        "entries_per_patient": VISITS * 3 + 1,
        "run_seconds": round(run_seconds, 2),
        "statements": len(batch.statements),
        "ms_per_statement": round(run_seconds * 1000 / max(len(batch.statements), 1), 1),
        "merged_pages": pages,
        "account": _ms(samples),
    }
