"""The ledger state machine run through the database service (a smaller run than the unit tier)."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import HealthCheck, settings
from hypothesis.stateful import invariant, run_state_machine_as_test
from sqlalchemy import Engine

from tests.integration.ledger.conftest import ACTOR, Seed, seed_practice
from tests.unit.ledger.machine import LedgerMachine
from therabill.adapters.db import report_totals
from therabill.domain.ledger import Entry
from therabill.service_layer import ledger as svc


class DbBackend:
    """Posts through ``therabill.service_layer.ledger.post_entries`` into one practice."""

    def __init__(self, engine: Engine) -> None:
        self.seed: Seed = seed_practice(engine)

    def post(self, entries: Sequence[Entry], key: str) -> None:
        svc.post_entries(self.seed.engine, self.seed.practice_id, ACTOR, entries, key=key)

    def entries(self) -> list[Entry]:
        return svc.all_entries(self.seed.engine, self.seed.practice_id, ACTOR)

    def patient(self, name: str) -> str:
        return self.seed.patient(name)

    def payer(self, name: str) -> str:
        return self.seed.payer(name)

    def claim_line(self, patient_id: str, payer_id: str, amount_cents: int) -> tuple[str, str]:
        claim_id, (line,) = self.seed.claim(patient_id, payer_id, [("97124", amount_cents)])
        return claim_id, line


def test_ledger_machine_through_the_database(engine: Engine) -> None:
    class DbMachine(LedgerMachine):
        def make_backend(self) -> DbBackend:  # type: ignore[override]
            return DbBackend(engine)

        @invariant()
        def monthly_totals_equal_the_entries(self) -> None:
            backend: DbBackend = self.backend  # type: ignore[assignment]
            with engine.connect() as conn:
                assert report_totals.differences(conn, backend.seed.practice_id) == []

    run_state_machine_as_test(
        DbMachine,
        settings=settings(
            max_examples=4 if engine.dialect.name == "sqlite" else 3,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
