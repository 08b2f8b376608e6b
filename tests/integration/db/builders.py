"""Builders of a small practice for the storage tests (each call makes a new practice)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine

from tests.conftest import EXAMPLES
from therabill.service_layer import coverages as coverages_svc
from therabill.service_layer import patients as patients_svc
from therabill.service_layer import practice as practice_svc
from therabill.service_layer import visits as visits_svc

ACTOR = "os:tester"
AS_OF = date(2026, 11, 23)
DOS = date(2026, 11, 20)


def fixed_clock() -> datetime:
    return datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def visit_document(example: str = "clean-60-minute-massage.json") -> dict[str, Any]:
    """The visit part of an example encounter document."""
    doc = json.loads((EXAMPLES / example).read_text())
    return {k: v for k, v in doc.items() if k in visits_svc.VISIT_DOCUMENT_KEYS}


@dataclass
class Practice:
    engine: Engine
    id: str
    provider_id: str
    payer_id: str
    patient_id: str
    coverage_id: str
    authorization_id: str


def a_practice(engine: Engine, *, units_allowed: int = 400, visits_allowed: int = 100) -> Practice:
    slug = f"p-{uuid.uuid4().hex[:10]}"
    pid = practice_svc.create_practice(
        engine,
        name="Hudson Valley Massage Therapy PLLC",
        slug=slug,
        actor=ACTOR,
        npi="1887754327",
        tax_id="123456789",
        taxonomy="225700000X",
        phone="8455550188",
        address={"line1": "12 Market St", "city": "Poughkeepsie", "state": "NY", "zip": "126013301"},
        clock=fixed_clock,
    )
    provider = practice_svc.add_provider(
        engine,
        pid,
        ACTOR,
        first_name="Mei",
        last_name="Chen",
        npi="1993214562",
        taxonomy="225700000X",
        credential="LMT",
        licenses=[("NY", "024567", date(2027, 10, 31))],
    )
    payer = practice_svc.add_payer(
        engine,
        pid,
        ACTOR,
        name="Aetna",
        payer_id="60054",
        profile="commercial",
        claim_filing_indicator="CI",
        address={"line1": "PO Box 981106", "city": "El Paso", "state": "TX", "zip": "799981106"},
    )
    patient = patients_svc.register_patient(
        engine,
        pid,
        ACTOR,
        chart_number="P-0101",
        first_name="Grace",
        last_name="Miller",
        birth_date=date(1992, 9, 30),
        sex="F",
        address={"line1": "77 River Rd", "city": "Poughkeepsie", "state": "NY", "zip": "12601"},
        coverages_in=[
            coverages_svc.CoverageInput(payer_id=payer, member_id="W123456789", group_number="G-1")
        ],
    )
    with_cov = patients_svc.list_patients(engine, pid, ACTOR)[0]
    assert with_cov.id == patient
    from therabill.adapters.db.tables import coverages
    from therabill.service_layer.uow import UnitOfWork

    with UnitOfWork(engine, pid, ACTOR, read_only=True) as uow:
        coverage = uow.records.rows(coverages, coverages.c.patient_id == patient)[0].id
    auth = coverages_svc.add_authorization(
        engine,
        pid,
        ACTOR,
        coverage_id=coverage,
        number="AUTH-1",
        start_date=date(2026, 10, 1),
        end_date=date(2026, 12, 31),
        codes=["97124", "97140"],
        visits_allowed=visits_allowed,
        units_allowed=units_allowed,
    )
    return Practice(engine, pid, provider, payer, patient, coverage, auth)


def a_visit(p: Practice, example: str = "clean-60-minute-massage.json", dos: date = DOS) -> str:
    return visits_svc.record_visit(
        p.engine,
        p.id,
        ACTOR,
        patient_id=p.patient_id,
        provider_id=p.provider_id,
        date_of_service=dos,
        document=visit_document(example),
    )


@dataclass(frozen=True)
class FakeReport:
    """A scrub report as the scrubber returns it (the tests' fake scrubber)."""

    findings: tuple[dict[str, Any], ...]

    @property
    def has_errors(self) -> bool:
        return any(f["severity"] == "error" for f in self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {"findings": list(self.findings), "has_errors": self.has_errors}


def clean_scrubber(encounter: Any, as_of: date) -> FakeReport:
    return FakeReport(())


def failing_scrubber(encounter: Any, as_of: date) -> FakeReport:
    return FakeReport(({"rule_id": "dx-pointer-missing", "severity": "error", "loc": ["services", 0]},))
