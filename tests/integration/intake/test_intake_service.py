"""Intake use cases on SQLite and PostgreSQL: versions, sign, check, clearance, billing gate."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select

from tests.integration.db.builders import ACTOR, AS_OF, DOS, Practice, a_practice, fixed_clock, visit_document
from therabill.adapters.db.intake_tables import intake_versions
from therabill.adapters.db.tables import claims, visit_notes
from therabill.domain.intake import IntakeError
from therabill.scrubber import scrub
from therabill.service_layer import claims as claims_svc
from therabill.service_layer import intake as svc
from therabill.service_layer import visits as visits_svc
from therabill.service_layer.encounters import encounter_for_visit
from therabill.service_layer.uow import UnitOfWork

THERAPIST = "user:therapist-1"

BASE: dict[str, Any] = {
    "reason_for_care": "low back pain",
    "onset": {"date": "2026-10-20", "mechanism": "gradual"},
    "consents": {
        "treatment": {"given": True, "date": "2026-11-01", "method": "electronic"},
        "release_of_information": {"given": True, "date": "2026-11-01", "method": "paper"},
        "assignment_of_benefits": {"given": True, "date": "2026-11-01", "method": "paper"},
    },
}


def visit(p: Practice, document: dict[str, Any]) -> str:
    return visits_svc.record_visit(
        p.engine,
        p.id,
        ACTOR,
        patient_id=p.patient_id,
        provider_id=p.provider_id,
        date_of_service=DOS,
        document=document,
    )


def claims_of(engine: Engine, practice_id: str, visit_id: str) -> list[Any]:
    with UnitOfWork(engine, practice_id, ACTOR, read_only=True) as uow:
        return uow.records.rows(claims, claims.c.visit_id == visit_id)


def test_every_update_is_a_new_version_and_old_ones_stay(engine: Engine) -> None:
    p = a_practice(engine)
    v1 = svc.record_intake(engine, p.id, ACTOR, p.patient_id, BASE, clock=fixed_clock)
    v2 = svc.record_intake(
        engine, p.id, ACTOR, p.patient_id, {**BASE, "medications": ["warfarin"]}, clock=fixed_clock
    )
    assert (v1.version, v2.version) == (1, 2)
    history = svc.intake_history(engine, p.id, ACTOR, p.patient_id)
    assert [h.version for h in history] == [2, 1]
    assert history[1].record.medications == () and history[0].record.medications[0].name == "warfarin"
    current = svc.current_intake(engine, p.id, ACTOR, p.patient_id)
    assert current is not None and current.version == 2 and not current.signed
    signed = svc.sign_intake(engine, p.id, THERAPIST, p.patient_id, clock=fixed_clock)
    assert signed.version == 2 and signed.signed_by == THERAPIST
    with pytest.raises(IntakeError) as exc:
        svc.sign_intake(engine, p.id, THERAPIST, p.patient_id, 2)
    assert exc.value.problems[0].code == "intake-already-signed"
    assert not svc.intake_history(engine, p.id, ACTOR, p.patient_id)[1].signed


def test_a_bad_document_writes_nothing(engine: Engine) -> None:
    p = a_practice(engine)
    with pytest.raises(IntakeError) as exc:
        svc.record_intake(engine, p.id, ACTOR, p.patient_id, {**BASE, "areas_to_avoid": ["wing"]})
    assert exc.value.problems[0].loc == "areas_to_avoid[0].region[0]"
    with UnitOfWork(engine, p.id, ACTOR, read_only=True) as uow:
        assert uow.records.rows(intake_versions, intake_versions.c.patient_id == p.patient_id) == []


def test_another_practice_cannot_read_the_intake(engine: Engine) -> None:
    p, q = a_practice(engine), a_practice(engine)
    svc.record_intake(engine, p.id, ACTOR, p.patient_id, BASE)
    from therabill.domain.errors import NotFoundError

    with pytest.raises(NotFoundError):
        svc.current_intake(engine, q.id, ACTOR, p.patient_id)


def test_contraindicated_visit_is_saved_but_not_billed_until_cleared(engine: Engine) -> None:
    p = a_practice(engine)
    svc.record_intake(engine, p.id, ACTOR, p.patient_id, {**BASE, "current_conditions": ["fever"]})
    visit_id = visit(p, visit_document())
    with UnitOfWork(engine, p.id, ACTOR, read_only=True) as uow:  # the note is saved
        assert uow.records.rows(visit_notes, visit_notes.c.visit_id == visit_id)
    gate = svc.can_bill_visit(engine, p.id, ACTOR, visit_id)
    assert not gate.allowed and gate.problems[0].code == "intake-contraindication-uncleared"
    with pytest.raises(IntakeError):
        claims_svc.code_visit(engine, p.id, ACTOR, visit_id, as_of=AS_OF, clock=fixed_clock)
    assert claims_of(engine, p.id, visit_id) == []
    with pytest.raises(IntakeError) as exc:
        svc.record_clearance(engine, p.id, THERAPIST, visit_id, "osteoporosis", "note")
    assert exc.value.problems[0].code == "intake-clearance-not-needed"
    svc.record_clearance(
        engine,
        p.id,
        THERAPIST,
        visit_id,
        "fever",
        "physician's note, Dr. Patel, 2026-11-19",
        clock=fixed_clock,
    )
    assert svc.can_bill_visit(engine, p.id, ACTOR, visit_id).allowed
    coded = claims_svc.code_visit(engine, p.id, ACTOR, visit_id, as_of=AS_OF, clock=fixed_clock)
    ids = {(f["rule_id"], f["severity"]) for f in coded.findings["findings"]}
    assert ("intake-contraindication-absolute", "info") in ids
    assert ("intake-unsigned", "warning") in ids
    assert len(claims_of(engine, p.id, visit_id)) == 1


def test_not_treated_note_is_recordable_and_never_blocked(engine: Engine) -> None:
    p = a_practice(engine)
    svc.record_intake(engine, p.id, ACTOR, p.patient_id, {**BASE, "current_conditions": ["fever"]})
    doc = {
        "diagnoses": ["M54.50"],
        "services": [],
        "documentation": {"subjective": "not treated: fever, rescheduled"},
    }
    visit_id = visit(p, doc)
    result = svc.check_visit_intake(engine, p.id, ACTOR, visit_id)
    assert [r.rule_id for r in result.check.absolute] == ["fever"]
    assert not result.facts.treated and result.billable


def test_region_marked_avoid_is_a_scrubber_finding(engine: Engine) -> None:
    p = a_practice(engine)
    svc.record_intake(engine, p.id, ACTOR, p.patient_id, {**BASE, "areas_to_avoid": [{"region": "lumbar"}]})
    svc.sign_intake(engine, p.id, THERAPIST, p.patient_id)
    visit_id = visit(p, visit_document())  # 97124 on lumbar and thoracic
    context = svc.scrub_context_for_visit(engine, p.id, ACTOR, visit_id)
    encounter = encounter_for_visit(engine, p.id, ACTOR, visit_id)
    result = scrub(encounter, AS_OF, context)
    avoid = [f for f in result.findings if f.rule_id == "intake-region-avoid"]
    assert [f.loc for f in avoid] == ["services[0].body_regions"]
    assert "lumbar" in avoid[0].message
    assert not any(f.rule_id in ("intake-unsigned", "intake-missing") for f in result.findings)


def test_no_intake_is_a_warning(engine: Engine) -> None:
    p = a_practice(engine)
    visit_id = visit(p, visit_document())
    context = svc.scrub_context_for_visit(engine, p.id, ACTOR, visit_id)
    result = scrub(encounter_for_visit(engine, p.id, ACTOR, visit_id), AS_OF, context)
    assert [f.rule_id for f in result.findings if f.rule_id.startswith("intake-")] == ["intake-missing"]


def test_intake_consent_reaches_the_stored_claim(engine: Engine) -> None:
    p = a_practice(engine)
    svc.record_intake(
        engine,
        p.id,
        ACTOR,
        p.patient_id,
        {**BASE, "consents": {**BASE["consents"], "assignment_of_benefits": {"given": False}}},
    )
    doc = {k: v for k, v in visit_document().items() if k not in ("consent", "onset_date")}
    filled = svc.visit_document_with_intake(engine, p.id, ACTOR, p.patient_id, doc)
    assert filled["consent"] == {
        "release_of_information": True,
        "benefits_assigned": False,
        "signature_date": "2026-11-01",
    }
    assert filled["onset_date"] == "2026-10-20"
    visit_id = visit(p, filled)
    encounter = encounter_for_visit(engine, p.id, ACTOR, visit_id)
    assert encounter.consent is not None and encounter.consent.release_of_information
    assert not encounter.consent.benefits_assigned


def test_intake_rows_are_scoped(engine: Engine) -> None:
    p = a_practice(engine)
    svc.record_intake(engine, p.id, ACTOR, p.patient_id, BASE)
    with engine.connect() as conn:
        rows = conn.execute(
            select(intake_versions.c.practice_id).where(intake_versions.c.patient_id == p.patient_id)
        ).all()
    assert [r.practice_id for r in rows] == [p.id]
