"""Databases and a small seeded practice for the ledger tests (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine

from tests.integration.db.conftest import PgDatabases, new_empty_engine, pg_available  # noqa: F401
from therabill.adapters.db import migrations
from therabill.adapters.db.tables import (
    claim_lines,
    claims,
    coverages,
    patients,
    payers,
    practices,
    providers,
    visits,
)
from therabill.domain.ledger import new_id

ACTOR = "os:tester"
DOS = date(2026, 11, 20)
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[PgDatabases]:
    dbs = PgDatabases()
    yield dbs
    if dbs.names:
        dbs.drop_all()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_databases: PgDatabases
) -> Iterator[Engine]:
    """A migrated database shared by the session's tests (each test seeds its own practice)."""
    eng = new_empty_engine(request.param, tmp_path_factory.mktemp("ledger"), pg_databases)
    migrations.upgrade(eng)
    yield eng
    eng.dispose()


@dataclass
class Seed:
    """A practice with a provider, payers and patients; claims are added on demand."""

    engine: Engine
    practice_id: str
    provider_id: str
    payers: dict[str, str] = field(default_factory=dict)
    patients: dict[str, str] = field(default_factory=dict)

    def payer(self, name: str, identifier: str | None = None) -> str:
        if name not in self.payers:
            pid = new_id()
            with self.engine.begin() as c:
                c.execute(
                    payers.insert().values(
                        id=pid,
                        practice_id=self.practice_id,
                        name=name,
                        payer_id=identifier or name,
                        created_at=NOW,
                    )
                )
            self.payers[name] = pid
        return self.payers[name]

    def patient(self, name: str, secondary: str | None = None) -> str:
        if name not in self.patients:
            pid = new_id()
            with self.engine.begin() as c:
                c.execute(
                    patients.insert().values(
                        id=pid,
                        practice_id=self.practice_id,
                        chart_number=new_id()[:10],
                        first_name=name,
                        last_name="Test",
                        created_at=NOW,
                    )
                )
                if secondary:
                    c.execute(
                        coverages.insert().values(
                            id=new_id(),
                            practice_id=self.practice_id,
                            patient_id=pid,
                            payer_id=self.payer(secondary),
                            sequence="secondary",
                            created_at=NOW,
                        )
                    )
            self.patients[name] = pid
        return self.patients[name]

    def claim(
        self,
        patient_id: str,
        payer_id: str,
        lines: list[tuple[str, int]],
        *,
        number: str | None = None,
        dos: date = DOS,
    ) -> tuple[str, list[str]]:
        """A claim with lines (code, charge cents); returns its id and line ids."""
        claim_id, visit_id = new_id(), new_id()
        line_ids = [new_id() for _ in lines]
        with self.engine.begin() as c:
            c.execute(
                visits.insert().values(
                    id=visit_id,
                    practice_id=self.practice_id,
                    patient_id=patient_id,
                    provider_id=self.provider_id,
                    date_of_service=dos,
                    status="coded",
                    encounter_json={},
                    created_at=NOW,
                )
            )
            c.execute(
                claims.insert().values(
                    id=claim_id,
                    practice_id=self.practice_id,
                    visit_id=visit_id,
                    patient_id=patient_id,
                    payer_id=payer_id,
                    claim_number=number or new_id()[:20],
                    status="submitted",
                    date_of_service=dos,
                    total_charge_cents=sum(ch for _, ch in lines),
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
            c.execute(
                claim_lines.insert(),
                [
                    {
                        "id": lid,
                        "practice_id": self.practice_id,
                        "claim_id": claim_id,
                        "line_number": n,
                        "service_index": n - 1,
                        "code": code,
                        "modifiers": ["GP"],
                        "units": 1,
                        "minutes": 15,
                        "unit_charge_cents": charge,
                        "charge_cents": charge,
                        "diagnosis_pointers": [1],
                        "line_id": f"{number or claim_id[:8]}-{n}",
                        "date_of_service": dos,
                    }
                    for n, (lid, (code, charge)) in enumerate(zip(line_ids, lines, strict=True), start=1)
                ],
            )
        return claim_id, line_ids


def seed_practice(engine: Engine) -> Seed:
    """A new practice (its own rows, so tests sharing a database never see each other)."""
    practice_id, provider_id = new_id(), new_id()
    with engine.begin() as c:
        c.execute(
            practices.insert().values(id=practice_id, name="Ledger Test", slug=practice_id, created_at=NOW)
        )
        c.execute(
            providers.insert().values(
                id=provider_id, practice_id=practice_id, first_name="Tess", last_name="Ter", created_at=NOW
            )
        )
    return Seed(engine, practice_id, provider_id)


@pytest.fixture
def seed(engine: Engine) -> Seed:
    return seed_practice(engine)
