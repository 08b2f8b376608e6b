"""Use cases of the practice records, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from tests.integration.db.builders import (
    ACTOR,
    AS_OF,
    a_practice,
    a_visit,
    clean_scrubber,
    failing_scrubber,
    visit_document,
)
from therabill.adapters.x12.envelope import EnvelopeSettings
from therabill.domain.errors import NotFoundError
from therabill.domain.records import TransitionError
from therabill.domain.schedule import ScheduleError
from therabill.service_layer import appointments, batches
from therabill.service_layer import claims as claims_svc
from therabill.service_layer import coverages as coverages_svc
from therabill.service_layer import errors as svc_errors
from therabill.service_layer import patients as patients_svc
from therabill.service_layer import visits as visits_svc
from therabill.service_layer.encounters import encounter_for_visit
from therabill.service_layer.uow import UnitOfWork


def test_visit_rebuilds_the_encounter_from_the_records(engine: Engine) -> None:
    p = a_practice(engine)
    visit = a_visit(p)
    enc = encounter_for_visit(engine, p.id, ACTOR, visit)
    assert enc.patient is not None and enc.patient.patient_id == "P-0101"
    assert (
        enc.coverage is not None
        and enc.coverage.payer_id == "60054"
        and enc.coverage.member_id == "W123456789"
    )
    assert enc.rendering_provider is not None and enc.rendering_provider.license_number == "024567"
    assert enc.billing_provider is not None and enc.billing_provider.npi == "1887754327"
    assert [s.code for s in enc.services] == [s["code"] for s in visit_document()["services"]]
    assert enc.coverage.authorization is not None and enc.coverage.authorization.units_used == 0


def test_code_scrub_ready_batch_and_history(engine: Engine) -> None:
    p = a_practice(engine)
    coded = claims_svc.code_visit(engine, p.id, ACTOR, a_visit(p), as_of=AS_OF, scrubber=clean_scrubber)
    assert coded.status == "scrubbed" and not coded.has_errors
    assert coded.total_charge_cents == 12000 and len(coded.claim_number) <= 20
    claim = claims_svc.claim_record(engine, p.id, ACTOR, coded.claim_id)
    assert [(ln.code, ln.units) for ln in claim.lines] == [("97124", 4)]
    assert str(claim.total_charge) == "120.00"
    claims_svc.mark_ready(engine, p.id, ACTOR, coded.claim_id)
    batch = batches.build_batch(engine, p.id, ACTOR, envelope=EnvelopeSettings())
    assert batch.claim_ids == (coded.claim_id,) and batch.total_charge_cents == 12000
    history = claims_svc.claim_history(engine, p.id, ACTOR, coded.claim_id)
    assert [h["status"] for h in history] == ["draft", "scrubbed", "ready", "submitted"]
    assert history[1]["findings"] == {"findings": [], "has_errors": False}
    assert [c.status for c in claims_svc.list_claims(engine, p.id, ACTOR, ["submitted"])] == ["submitted"]
    assert claims_svc.list_claims(engine, p.id, ACTOR, ["ready"]) == []


def test_scrub_errors_block_ready(engine: Engine) -> None:
    p = a_practice(engine)
    coded = claims_svc.code_visit(engine, p.id, ACTOR, a_visit(p), as_of=AS_OF, scrubber=failing_scrubber)
    assert coded.has_errors
    with pytest.raises(svc_errors.RecordsError) as err:
        claims_svc.mark_ready(engine, p.id, ACTOR, coded.claim_id)
    assert err.value.problems[0].code == "claim-has-scrub-errors"
    assert claims_svc.list_claims(engine, p.id, ACTOR, ["scrubbed"])[0].id == coded.claim_id


def test_status_transitions_are_enforced(engine: Engine) -> None:
    p = a_practice(engine)
    coded = claims_svc.code_visit(engine, p.id, ACTOR, a_visit(p), as_of=AS_OF, scrubber=clean_scrubber)
    with pytest.raises(TransitionError):
        claims_svc.set_claim_status(engine, p.id, ACTOR, coded.claim_id, "paid")
    assert claims_svc.list_claims(engine, p.id, ACTOR)[0].status == "scrubbed"


def test_authorization_used_on_billing_and_released_on_void(engine: Engine) -> None:
    p = a_practice(engine)
    first = claims_svc.code_visit(engine, p.id, ACTOR, a_visit(p), as_of=AS_OF, scrubber=clean_scrubber)
    second_visit = a_visit(p, "massage-and-manual-therapy-two-regions.json")
    enc = encounter_for_visit(engine, p.id, ACTOR, second_visit)
    assert enc.coverage is not None and enc.coverage.authorization is not None
    assert (enc.coverage.authorization.visits_used, enc.coverage.authorization.units_used) == (1, 4)
    claims_svc.void_claim(engine, p.id, ACTOR, first.claim_id)
    status = coverages_svc.authorization_status(engine, p.id, ACTOR, p.authorization_id)
    assert (status["visits_used"], status["units_used"]) == (0, 0)
    assert [h["kind"] for h in status["history"]] == ["use", "release"]


def test_zero_unit_lines_are_left_off(engine: Engine) -> None:
    p = a_practice(engine)
    doc = visit_document()
    doc["services"] = [*doc["services"], {**doc["services"][0], "code": "97140", "minutes": 0}]
    visit = visits_svc.record_visit(
        engine,
        p.id,
        ACTOR,
        patient_id=p.patient_id,
        provider_id=p.provider_id,
        date_of_service=AS_OF,
        document=doc,
    )
    coded = claims_svc.code_visit(engine, p.id, ACTOR, visit, as_of=AS_OF, scrubber=clean_scrubber)
    assert [ln.code for ln in claims_svc.claim_record(engine, p.id, ACTOR, coded.claim_id).lines] == ["97124"]


def test_note_edits_add_versions(engine: Engine) -> None:
    p = a_practice(engine)
    visit = a_visit(p)
    doc = visit_document()["documentation"]
    assert visits_svc.edit_note(engine, p.id, "os:second", visit, {**doc, "assessment": "better"}) == 2
    versions = visits_svc.note_versions(engine, p.id, ACTOR, visit)
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["content"]["assessment"] == doc["assessment"]
    assert versions[1]["content"]["assessment"] == "better" and versions[1]["created_by"] == "os:second"
    enc = encounter_for_visit(engine, p.id, ACTOR, visit)
    assert enc.documentation is not None and enc.documentation.assessment == "better"


def test_history_rows_cannot_be_changed(engine: Engine) -> None:
    p = a_practice(engine)
    a_visit(p)
    for statement in (
        "UPDATE visit_notes SET version = 9 WHERE practice_id = :p",
        "DELETE FROM audit_log WHERE practice_id = :p",
        "UPDATE audit_log SET actor = 'x' WHERE practice_id = :p",
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement), {"p": p.id})


def test_invalid_visit_document_stores_nothing(engine: Engine) -> None:
    p = a_practice(engine)
    doc = visit_document()
    doc["services"][0]["minutes"] = -5
    with pytest.raises(svc_errors.RecordsError) as err:
        visits_svc.record_visit(
            engine,
            p.id,
            ACTOR,
            patient_id=p.patient_id,
            provider_id=p.provider_id,
            date_of_service=AS_OF,
            document=doc,
        )
    assert any("services" in pr.loc for pr in err.value.problems)
    with UnitOfWork(engine, p.id, ACTOR, read_only=True) as uow:
        assert (
            uow.session.execute(
                text("SELECT count(*) FROM visits WHERE practice_id = :p"), {"p": p.id}
            ).scalar()
            == 0
        )


def test_schedule_check_in_and_undocumented(engine: Engine) -> None:
    p = a_practice(engine)
    appt = appointments.schedule_appointment(
        engine,
        p.id,
        ACTOR,
        patient_id=p.patient_id,
        provider_id=p.provider_id,
        start=datetime(2026, 11, 20, 10),
        end=datetime(2026, 11, 20, 11),
    )
    appointments.check_in(engine, p.id, ACTOR, appt)
    assert appointments.visits_not_documented(engine, p.id, ACTOR, datetime(2026, 11, 21)) == [appt]
    with pytest.raises(ScheduleError):
        appointments.set_appointment_status(engine, p.id, ACTOR, appt, "no_show")
    visits_svc.record_visit(
        engine,
        p.id,
        ACTOR,
        patient_id=p.patient_id,
        provider_id=p.provider_id,
        date_of_service=AS_OF,
        document=visit_document(),
        appointment_id=appt,
    )
    assert appointments.visits_not_documented(engine, p.id, ACTOR, datetime(2026, 11, 21)) == []


def test_practice_isolation(engine: Engine) -> None:
    mine, other = a_practice(engine), a_practice(engine)
    visit = a_visit(mine)
    with pytest.raises(NotFoundError):
        encounter_for_visit(engine, other.id, ACTOR, visit)
    with pytest.raises(NotFoundError):
        appointments.schedule_appointment(
            engine,
            other.id,
            ACTOR,
            patient_id=mine.patient_id,
            provider_id=other.provider_id,
            start=datetime(2026, 11, 20, 10),
            end=datetime(2026, 11, 20, 11),
        )
    coded = claims_svc.code_visit(engine, mine.id, ACTOR, visit, as_of=AS_OF, scrubber=clean_scrubber)
    with pytest.raises(NotFoundError):
        claims_svc.mark_ready(engine, other.id, ACTOR, coded.claim_id)
    assert [x.id for x in patients_svc.list_patients(engine, other.id, ACTOR)] == [other.patient_id]
    assert claims_svc.list_claims(engine, other.id, ACTOR) == []
    with pytest.raises(NotFoundError):
        visits_svc.note_versions(engine, other.id, ACTOR, visit)


def test_a_read_only_unit_reads_a_row_by_id_once_and_a_write_forgets_it(engine: Engine) -> None:
    from sqlalchemy import event

    from therabill.adapters.db.tables import patients

    p = a_practice(engine)
    sent: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if "FROM patients" in statement:
            sent.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        with UnitOfWork(engine, p.id, ACTOR, read_only=True) as uow:
            first = uow.records.get(patients, p.patient_id)
            assert uow.records.find(patients, p.patient_id) is first
            assert uow.records.get(patients, p.patient_id) is first
            assert uow.records.find(patients, "not-there") is None
            assert uow.records.find(patients, "not-there") is None
            with pytest.raises(NotFoundError):
                uow.records.get(patients, "not-there")
        assert len(sent) == 2  # the patient once, the unknown id once
        sent.clear()
        with UnitOfWork(engine, p.id, ACTOR) as uow:  # a writing unit reads every time
            uow.records.get(patients, p.patient_id)
            uow.records.update(patients, p.patient_id, first_name="Dana")
            assert uow.records.get(patients, p.patient_id).first_name == "Dana"
        assert len(sent) == 2
        sent.clear()
        with UnitOfWork(engine, p.id, ACTOR, read_only=True) as uow:  # a new unit reads again
            assert uow.records.get(patients, p.patient_id).first_name == "Dana"
            assert uow.records.memo is not None
            uow.records.update(patients, p.patient_id, first_name="Dana")  # any write empties it
            assert uow.records.memo == {}
        assert len(sent) == 1
    finally:
        event.remove(engine, "before_cursor_execute", note)
