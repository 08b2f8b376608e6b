"""Claim changes on both engines: edit a visit, void, correct, re-bill; versions and the ledger."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.integration.db.builders import ACTOR, AS_OF, Practice, a_practice, a_visit, fixed_clock
from therabill.adapters.x12.envelope import EnvelopeSettings
from therabill.adapters.x12.validate import validate
from therabill.domain.claim_changes import ClaimChangeError
from therabill.service_layer import batches, claim_changes, claim_versions, ledger
from therabill.service_layer import claims as rec
from therabill.service_layer import coverages as coverages_svc
from therabill.service_layer import visits as visits_svc
from therabill.service_layer.errors import RecordsError


def _sent(p: Practice, *, status: str = "paid", icn: str | None = "PAYER-ICN-0001") -> tuple[str, str]:
    """A coded, batched claim the payer answered with ``status`` (and its claim number)."""
    visit = a_visit(p)
    coded = rec.code_visit(p.engine, p.id, ACTOR, visit, as_of=AS_OF)
    rec.mark_ready(p.engine, p.id, ACTOR, coded.claim_id)
    batches.build_batch(p.engine, p.id, ACTOR, [coded.claim_id], envelope=EnvelopeSettings())
    rec.set_claim_status(p.engine, p.id, ACTOR, coded.claim_id, status, payer_claim_control_number=icn)
    return visit, coded.claim_id


def _insurance_charges(p: Practice, claim_id: str) -> str:
    return str(ledger.balances(p.engine, p.id, ACTOR, claim_id=claim_id)["balance"]["charges"])


def test_edit_an_unsent_visit_recodes_and_rescrubs_as_a_new_version(engine: Engine) -> None:
    p = a_practice(engine)
    visit = a_visit(p)
    first = rec.code_visit(engine, p.id, ACTOR, visit, as_of=AS_OF)
    assert first.total_charge_cents == 12000
    # the end before the start: the session-time rule blocks it; the edit fixes it back
    broken = claim_changes.edit_visit(
        engine, p.id, ACTOR, visit, {"start_time": "11:00", "end_time": "10:00"}, as_of=AS_OF, reason="typo"
    )
    assert broken.old_claim_id == first.claim_id and broken.old_status == "replaced"
    assert broken.claim_number == f"{first.claim_number}-2" and broken.has_errors
    fixed = claim_changes.edit_visit(
        engine,
        p.id,
        ACTOR,
        visit,
        {
            "start_time": "10:00",
            "end_time": "10:45",
            "services": [
                {
                    "code": "97124",
                    "minutes": 45,
                    "modifiers": [],
                    "diagnosis_pointers": [1],
                    "body_regions": ["lumbar"],
                    "unit_charge": "30.00",
                }
            ],
        },
        as_of=AS_OF,
    )
    assert fixed.claim_number == f"{first.claim_number}-3" and not fixed.has_errors
    assert fixed.status == "scrubbed"
    history = claim_versions.versions(engine, p.id, ACTOR, fixed.claim_id or "")
    assert [(v.version, v.kind, v.status) for v in history] == [
        (1, "original", "replaced"),
        (2, "edit", "replaced"),
        (3, "edit", "scrubbed"),
    ]
    assert history[0].reason is None
    assert (history[1].reason or "").startswith("edit: typo") and all(v.created_by == ACTOR for v in history)
    # 45 minutes of 97124 = 3 units: only the newest version's charges stand
    assert _insurance_charges(p, first.claim_id) == "0.00"
    assert _insurance_charges(p, fixed.claim_id or "") == "90.00"
    assert coverages_svc.authorization_status(engine, p.id, ACTOR, p.authorization_id)["units_used"] == 3


def test_a_note_change_is_a_new_note_version_and_a_bad_field_changes_nothing(engine: Engine) -> None:
    p = a_practice(engine)
    visit = a_visit(p)
    with pytest.raises(RecordsError) as bad:
        claim_changes.edit_visit(engine, p.id, ACTOR, visit, {"patient": {}}, as_of=AS_OF)
    assert bad.value.problems[0].code == "visit-field-not-editable"
    with pytest.raises(RecordsError):
        claim_changes.edit_visit(engine, p.id, ACTOR, visit, {"services": [{"code": 5}]}, as_of=AS_OF)
    done = claim_changes.edit_visit(
        engine, p.id, ACTOR, visit, {"documentation": {"subjective": "Better today."}}, as_of=AS_OF
    )
    assert done.claim_id is None and done.note_version == 2
    assert [n["version"] for n in visits_svc.note_versions(engine, p.id, ACTOR, visit)] == [1, 2]


def test_a_sent_visit_is_not_edited_but_corrected(engine: Engine) -> None:
    p = a_practice(engine)
    visit, claim_id = _sent(p)
    with pytest.raises(ClaimChangeError) as refused:
        claim_changes.edit_visit(engine, p.id, ACTOR, visit, {"end_time": "11:00"}, as_of=AS_OF)
    assert refused.value.problems[0].code == "visit-claim-sent"
    number = rec.claim_record(engine, p.id, ACTOR, claim_id).claim_id
    result = claim_changes.correct(
        engine,
        p.id,
        ACTOR,
        claim_id,
        as_of=AS_OF,
        changes={"diagnoses": ["M54.50", "M62.830"]},
        reason="wrong diagnosis",
        clock=fixed_clock,
    )
    assert result.frequency == "7" and result.old_status == "replaced"
    assert result.claim_number == f"{number}-2"
    # charges: the original's reversed, the correction's posted (never edited)
    assert _insurance_charges(p, claim_id) == "0.00"
    assert _insurance_charges(p, result.claim_id or "") == "120.00"
    rec.mark_ready(engine, p.id, ACTOR, result.claim_id or "")
    batch = batches.build_batch(engine, p.id, ACTOR, [result.claim_id or ""], envelope=EnvelopeSettings())
    assert "*11:B:7*" in batch.text and "REF*F8*PAYER-ICN-0001~" in batch.text
    assert "ABK:M5450" in batch.text
    checked = validate(batch.text)
    assert checked.ok, checked.errors
    # a correction of the correction refers to the number the payer gave the correction
    rec.set_claim_status(
        engine, p.id, ACTOR, result.claim_id or "", "denied", payer_claim_control_number="PAYER-ICN-0002"
    )
    again = claim_changes.correct(engine, p.id, ACTOR, result.claim_id or "", as_of=AS_OF)
    assert again.claim_number == f"{number}-3"
    claim = rec.claim_record(engine, p.id, ACTOR, again.claim_id or "")
    assert claim.encounter.payer_claim_control_number == "PAYER-ICN-0002"
    # the older version still prints what it was
    assert rec.claim_record(engine, p.id, ACTOR, claim_id).encounter.claim_frequency == "1"


def test_void_of_a_sent_claim_is_a_frequency_8_version_ready_to_send(engine: Engine) -> None:
    p = a_practice(engine)
    visit, claim_id = _sent(p)
    result = claim_changes.void(engine, p.id, ACTOR, claim_id, reason="wrong patient")
    assert result.old_status == "voided" and result.frequency == "8" and result.status == "ready"
    assert _insurance_charges(p, claim_id) == "0.00"
    assert _insurance_charges(p, result.claim_id or "") == "0.00"
    assert coverages_svc.authorization_status(engine, p.id, ACTOR, p.authorization_id)["visits_used"] == 0
    batch = batches.build_batch(engine, p.id, ACTOR, [result.claim_id or ""], envelope=EnvelopeSettings())
    assert "*11:B:8*" in batch.text and "REF*F8*PAYER-ICN-0001~" in batch.text
    assert validate(batch.text).ok
    with pytest.raises(ClaimChangeError) as refused:
        claim_changes.edit_visit(engine, p.id, ACTOR, visit, {"end_time": "11:00"}, as_of=AS_OF)
    assert refused.value.problems[0].code in ("claim-is-void", "visit-claim-sent")
    kinds = [v.kind for v in claim_versions.versions(engine, p.id, ACTOR, claim_id)]
    assert kinds == ["original", "void"]


def test_void_needs_the_payers_number_and_unsent_claims_void_in_place(engine: Engine) -> None:
    p = a_practice(engine)
    _, claim_id = _sent(p, status="batch_accepted", icn=None)
    with pytest.raises(ClaimChangeError) as refused:
        claim_changes.void(engine, p.id, ACTOR, claim_id)
    assert refused.value.problems[0].code == "claim-payer-number-missing"
    with pytest.raises(ClaimChangeError) as not_rejected:
        claim_changes.rebill(engine, p.id, ACTOR, claim_id, as_of=AS_OF)
    assert not_rejected.value.problems[0].code == "claim-not-rejected"
    visit = a_visit(p)
    coded = rec.code_visit(engine, p.id, ACTOR, visit, as_of=AS_OF)
    done = claim_changes.void(engine, p.id, ACTOR, coded.claim_id)
    assert done.claim_id is None and done.old_status == "voided"
    assert _insurance_charges(p, coded.claim_id) == "0.00"


def test_rebill_after_a_rejection_is_a_new_original(engine: Engine) -> None:
    p = a_practice(engine)
    _, claim_id = _sent(p, status="clearinghouse_rejected", icn=None)
    with pytest.raises(ClaimChangeError) as refused:
        claim_changes.correct(engine, p.id, ACTOR, claim_id, as_of=AS_OF)
    assert refused.value.problems[0].code == "claim-rejected"
    number = claim_versions.versions(engine, p.id, ACTOR, claim_id)[0].claim_number
    assert claim_versions.resolve_claim(engine, p.id, ACTOR, number) == claim_id
    assert claim_versions.resolve_claim(engine, p.id, ACTOR, number.lower()) == claim_id
    result = claim_changes.rebill(
        engine, p.id, ACTOR, number and claim_id, as_of=AS_OF, reason="member id fixed"
    )
    assert result.frequency == "1" and result.status == "scrubbed"
    assert [v.kind for v in claim_versions.versions(engine, p.id, ACTOR, claim_id)] == ["original", "rebill"]
    rec.mark_ready(engine, p.id, ACTOR, result.claim_id or "")
    batch = batches.build_batch(engine, p.id, ACTOR, [result.claim_id or ""], envelope=EnvelopeSettings())
    assert "*11:B:1*" in batch.text and "REF*F8" not in batch.text
    with pytest.raises(ClaimChangeError):
        claim_changes.rebill(engine, p.id, ACTOR, claim_id, as_of=AS_OF)


def test_a_rejected_correction_is_rebilled_as_the_same_correction(engine: Engine) -> None:
    p = a_practice(engine)
    _, claim_id = _sent(p)
    corrected = claim_changes.correct(engine, p.id, ACTOR, claim_id, as_of=AS_OF)
    rec.mark_ready(engine, p.id, ACTOR, corrected.claim_id or "")
    batches.build_batch(engine, p.id, ACTOR, [corrected.claim_id or ""], envelope=EnvelopeSettings())
    rec.set_claim_status(engine, p.id, ACTOR, corrected.claim_id or "", "clearinghouse_rejected")
    again = claim_changes.rebill(engine, p.id, ACTOR, corrected.claim_id or "", as_of=AS_OF)
    assert again.frequency == "7" and again.kind == "rebill"
    claim = rec.claim_record(engine, p.id, ACTOR, again.claim_id or "")
    assert claim.encounter.claim_frequency == "7"
    assert claim.encounter.payer_claim_control_number == "PAYER-ICN-0001"
    kinds = [v.kind for v in claim_versions.versions(engine, p.id, ACTOR, claim_id)]
    assert kinds == ["original", "correct", "correct"]
