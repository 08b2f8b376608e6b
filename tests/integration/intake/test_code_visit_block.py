"""``claims_svc.code_visit`` itself refuses a contraindicated treated visit (every path that bills).

On SQLite and PostgreSQL: the refusal writes nothing (no claim, no ledger charge, no
authorization use), the note stays, and after the clearance the claim is made with the
intake's findings; ``record_visit`` takes the consent from the intake.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from tests.integration.db.builders import ACTOR, AS_OF, Practice, a_practice, fixed_clock, visit_document
from tests.integration.intake.test_intake_service import BASE, THERAPIST, claims_of, visit
from therabill.adapters.db.tables import authorizations, visit_notes, visits
from therabill.domain.intake import IntakeError, VisitNotBillableError
from therabill.service_layer import claims as claims_svc
from therabill.service_layer import intake as svc
from therabill.service_layer.encounters import encounter_for_visit
from therabill.service_layer.uow import UnitOfWork


def _row(p: Practice, table: Any, row_id: str) -> Any:
    with UnitOfWork(p.engine, p.id, ACTOR, read_only=True) as uow:
        return uow.records.get(table, row_id)


def test_code_visit_refuses_until_cleared_and_writes_nothing(engine: Engine) -> None:
    p = a_practice(engine)
    svc.record_intake(
        engine, p.id, ACTOR, p.patient_id, {**BASE, "current_conditions": ["deep vein thrombosis, left calf"]}
    )
    visit_id = visit(p, visit_document())
    auth_before = _row(p, authorizations, p.authorization_id)
    with pytest.raises(VisitNotBillableError) as exc:
        claims_svc.code_visit(engine, p.id, ACTOR, visit_id, as_of=AS_OF, clock=fixed_clock)
    assert exc.value.code == "visit-not-billable"
    assert [(x.code, x.loc) for x in exc.value.problems] == [
        ("intake-contraindication-uncleared", "current_conditions[0]")
    ]
    assert "deep vein thrombosis" in exc.value.problems[0].message.lower()
    assert claims_of(engine, p.id, visit_id) == []
    after = _row(p, authorizations, p.authorization_id)
    assert (after.visits_used, after.units_used) == (auth_before.visits_used, auth_before.units_used)
    assert _row(p, visits, visit_id).status == "documented"  # the visit and note untouched
    with UnitOfWork(engine, p.id, ACTOR, read_only=True) as uow:
        assert len(uow.records.rows(visit_notes, visit_notes.c.visit_id == visit_id)) == 1

    svc.record_clearance(
        engine, p.id, THERAPIST, visit_id, "deep-vein-thrombosis", "physician's note, Dr. Patel, 2026-11-18"
    )
    coded = claims_svc.code_visit(engine, p.id, ACTOR, visit_id, as_of=AS_OF, clock=fixed_clock)
    rules = {(f["rule_id"], f["severity"]) for f in coded.findings["findings"]}
    assert ("intake-contraindication-absolute", "info") in rules  # cleared: reported, not blocking
    assert ("intake-unsigned", "warning") in rules
    assert not any(r == "intake-missing" for r, _ in rules)
    assert len(claims_of(engine, p.id, visit_id)) == 1


def test_an_absolute_result_on_a_visit_not_treated_never_blocks(engine: Engine) -> None:
    p = a_practice(engine)
    svc.record_intake(engine, p.id, ACTOR, p.patient_id, {**BASE, "current_conditions": ["fever"]})
    doc = {"diagnoses": ["M54.50"], "services": [], "documentation": {"subjective": "fever, rescheduled"}}
    visit_id = visit(p, doc)
    assert svc.can_bill_visit(engine, p.id, ACTOR, visit_id).allowed


def test_no_intake_adds_no_finding_to_a_claim(engine: Engine) -> None:
    p = a_practice(engine)
    visit_id = visit(p, visit_document())
    plain = claims_svc.code_visit(engine, p.id, ACTOR, visit_id, as_of=AS_OF, clock=fixed_clock)
    assert not any(f["rule_id"].startswith("intake-") for f in plain.findings["findings"])


def test_region_to_avoid_reaches_the_claims_findings(engine: Engine) -> None:
    p = a_practice(engine)
    svc.record_intake(engine, p.id, ACTOR, p.patient_id, {**BASE, "areas_to_avoid": ["lumbar"]})
    svc.sign_intake(engine, p.id, THERAPIST, p.patient_id)
    visit_id = visit(p, visit_document())  # 97124 on lumbar and thoracic
    coded = claims_svc.code_visit(engine, p.id, ACTOR, visit_id, as_of=AS_OF, clock=fixed_clock)
    avoid = [f for f in coded.findings["findings"] if f["rule_id"] == "intake-region-avoid"]
    assert [f["loc"] for f in avoid] == ["services[0].body_regions"]


def test_record_visit_takes_the_consent_from_the_intake(engine: Engine) -> None:
    p = a_practice(engine)
    consents = {**BASE["consents"], "assignment_of_benefits": {"given": False}}
    svc.record_intake(engine, p.id, ACTOR, p.patient_id, {**BASE, "consents": consents})
    doc = {k: v for k, v in visit_document().items() if k not in ("consent", "onset_date")}
    visit_id = visit(p, doc)
    encounter = encounter_for_visit(engine, p.id, ACTOR, visit_id)
    assert encounter.consent.release_of_information and not encounter.consent.benefits_assigned
    assert str(encounter.consent.signature_date) == "2026-11-01"
    assert str(encounter.onset_date) == "2026-10-20"
    # A document that brings its own consent keeps it.
    own = visit(p, {**doc, "consent": {"release_of_information": False, "benefits_assigned": True}})
    mine = encounter_for_visit(engine, p.id, ACTOR, own)
    assert not mine.consent.release_of_information and mine.consent.benefits_assigned


def test_a_clearance_needs_a_document(engine: Engine) -> None:
    p = a_practice(engine)
    svc.record_intake(engine, p.id, ACTOR, p.patient_id, {**BASE, "current_conditions": ["fever"]})
    visit_id = visit(p, visit_document())
    with pytest.raises(IntakeError) as exc:
        svc.record_clearance(engine, p.id, THERAPIST, visit_id, "fever", "  ")
    assert exc.value.problems[0].code == "intake-clearance-document-missing"
