"""Claims and money end to end, on SQLite and PostgreSQL: charges when a claim is created,
claim status from remittances, PLB entries, 837P export from stored claims,
acknowledgments and eligibility answers."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from tests.integration.db.builders import ACTOR, AS_OF, DOS, Practice, a_practice, a_visit, clean_scrubber
from therabill.adapters.db.tables import audit_log, claims
from therabill.adapters.x12.envelope import EnvelopeSettings
from therabill.adapters.x12.validate import validate
from therabill.domain.acknowledgment import Acknowledgment, ClaimAck, TransactionAck
from therabill.domain.eligibility import EligibilitySummary
from therabill.domain.remittance import (
    Adjustment,
    ClaimPayment,
    ProviderAdjustment,
    Remittance,
    RemittanceHeader,
    ServicePayment,
)
from therabill.service_layer import acknowledgments, batches, edi, ledger, remittance_posting, remittances
from therabill.service_layer import claims as claims_svc
from therabill.service_layer.encounters import encounter_for_visit
from therabill.service_layer.uow import UnitOfWork


def _claim(p: Practice, example: str = "clean-60-minute-massage.json", dos: date = DOS) -> str:
    coded = claims_svc.code_visit(
        p.engine, p.id, ACTOR, a_visit(p, example, dos), as_of=AS_OF, scrubber=clean_scrubber
    )
    return coded.claim_id


def _submitted(p: Practice, *claim_ids: str) -> None:
    for cid in claim_ids:
        claims_svc.mark_ready(p.engine, p.id, ACTOR, cid)
    batches.build_batch(p.engine, p.id, ACTOR, list(claim_ids), envelope=EnvelopeSettings())


def _number(p: Practice, claim_id: str) -> str:
    with UnitOfWork(p.engine, p.id, ACTOR, read_only=True) as uow:
        return str(uow.records.get(claims, claim_id).claim_number)


def _status(p: Practice, claim_id: str) -> str:
    with UnitOfWork(p.engine, p.id, ACTOR, read_only=True) as uow:
        return str(uow.records.get(claims, claim_id).status)


def _payment(p: Practice, claim_id: str, outcome: str) -> ClaimPayment:
    """A CLP for our claim: ``paid`` (CO-45 + PR-3), ``partly`` (last line CO-97), ``denied`` (CO-197)."""
    with UnitOfWork(p.engine, p.id, ACTOR, read_only=True) as uow:
        lines = uow.records.lines_of(claim_id)
    out = []
    for n, ln in enumerate(lines):
        charge = Decimal(ln.charge_cents) / 100
        if outcome == "denied" or (outcome == "partly" and n == len(lines) - 1):
            reason = "97" if outcome == "partly" else "197"
            out.append(
                ServicePayment(
                    ln.code,
                    "HC",
                    tuple(ln.modifiers),
                    charge,
                    Decimal("0.00"),
                    line_id=ln.line_id,
                    adjustments=(Adjustment("CO", reason, charge),),
                )  # fmt: skip
            )
        else:
            out.append(
                ServicePayment(
                    ln.code,
                    "HC",
                    tuple(ln.modifiers),
                    charge,
                    charge - Decimal("40.00"),
                    line_id=ln.line_id,
                    adjustments=(
                        Adjustment("CO", "45", Decimal("20.00")),
                        Adjustment("PR", "3", Decimal("20.00")),
                    ),
                )  # fmt: skip
            )
    return ClaimPayment(
        claim_id=_number(p, claim_id),
        status="4" if outcome == "denied" else "1",
        charge=sum((x.charge for x in out), Decimal("0.00")),
        paid=sum((x.paid for x in out), Decimal("0.00")),
        patient_responsibility=sum(
            (a.amount for x in out for a in x.adjustments if a.group == "PR"), Decimal("0.00")
        ),
        payer_claim_control_number=f"PCN{claim_id[:8]}",
        lines=tuple(out),
    )


def _remittance(cps: list[ClaimPayment], trace: str, plb: tuple[ProviderAdjustment, ...] = ()) -> Remittance:
    total = sum((c.paid for c in cps), Decimal("0.00")) - sum((x.amount for x in plb), Decimal("0.00"))
    header = RemittanceHeader(
        "I", total, "C", "ACH", date(2026, 12, 10), trace, payer_name="Aetna", payer_id="60054"
    )
    return Remittance(header, tuple(cps), plb)


def test_claim_creation_posts_its_charges_and_a_void_reverses_them(engine: Engine) -> None:
    p = a_practice(engine)
    claim_id = _claim(p)
    bal = ledger.balances(engine, p.id, ACTOR, claim_id=claim_id)
    assert bal["balance"]["charges"] == "120.00" and bal["balance"]["insurance_balance"] == "120.00"
    assert bal["holds"]
    again = ledger.post_claim_charges(engine, p.id, ACTOR, claim_id)
    assert again.replayed
    assert ledger.balances(engine, p.id, ACTOR, claim_id=claim_id)["balance"]["charges"] == "120.00"
    claims_svc.void_claim(engine, p.id, ACTOR, claim_id)
    after = ledger.balances(engine, p.id, ACTOR, claim_id=claim_id)["balance"]
    assert after["charges"] == "0.00" and after["insurance_balance"] == "0.00"
    assert ledger.check_ledger(engine, p.id, ACTOR) == []


def test_a_failed_claim_creation_posts_no_charge(engine: Engine) -> None:
    p = a_practice(engine)
    visit = a_visit(p)

    def broken(encounter: object, as_of: date) -> object:
        raise RuntimeError("scrubber crashed")

    with pytest.raises(RuntimeError):
        claims_svc.code_visit(engine, p.id, ACTOR, visit, as_of=AS_OF, scrubber=broken)
    assert ledger.all_entries(engine, p.id, ACTOR) == []
    assert claims_svc.list_claims(engine, p.id, ACTOR) == []


def test_remittance_posting_moves_claim_status_and_posts_plb(engine: Engine) -> None:
    p = a_practice(engine)
    paid = _claim(p, dos=date(2026, 11, 18))
    partly = _claim(p, "massage-and-manual-therapy-two-regions.json", dos=date(2026, 11, 19))
    denied = _claim(p, dos=DOS)
    _submitted(p, paid, partly, denied)
    plb = (ProviderAdjustment("1887754327", date(2026, 12, 31), "L6", "INT-2026", Decimal("-2.50")),)
    rem = _remittance(
        [_payment(p, paid, "paid"), _payment(p, partly, "partly"), _payment(p, denied, "denied")], "T-1", plb
    )
    result = remittance_posting.post_remittance(engine, p.id, ACTOR, rem)
    assert result.new and result.posted_claims == 3
    assert (_status(p, paid), _status(p, partly), _status(p, denied)) == ("paid", "partly_paid", "denied")
    history = claims_svc.claim_history(engine, p.id, ACTOR, paid)
    assert history[-1]["status"] == "paid" and "835 T-1" in history[-1]["note"]
    with UnitOfWork(engine, p.id, ACTOR, read_only=True) as uow:
        assert uow.records.get(claims, paid).payer_claim_control_number == f"PCN{paid[:8]}"
    practice_entries = remittances.provider_adjustments(engine, p.id, ACTOR)
    assert [(e["reason"], e["reference"], e["amount"], e["trace_number"]) for e in practice_entries] == [
        ("L6", "INT-2026", "-2.50", "T-1")
    ]
    # The same remittance again: nothing new, statuses and PLB entries unchanged.
    again = remittance_posting.post_remittance(engine, p.id, ACTOR, rem)
    assert not again.new and again.skipped_claims == 3 and again.entries == 0
    assert len(remittances.provider_adjustments(engine, p.id, ACTOR)) == 1
    assert len(claims_svc.claim_history(engine, p.id, ACTOR, paid)) == len(history)
    # Denial worklist: the denied and the bundled lines, reasons in words; CO-45 is routine.
    denials = {d["claim_id"]: d for d in remittances.denial_worklist(engine, p.id, ACTOR)}
    assert set(denials) == {partly, denied}
    assert denials[denied]["reasons"][0]["code"] == "CO-197"
    # A payer reversal reopens the paid claim.
    original = _payment(p, paid, "paid")
    reversal = replace(
        original,
        status="22",
        charge=-original.charge,
        paid=-original.paid,
        patient_responsibility=-original.patient_responsibility,
        lines=tuple(
            replace(
                ln,
                charge=-ln.charge,
                paid=-ln.paid,
                adjustments=tuple(replace(a, amount=-a.amount) for a in ln.adjustments),
            )
            for ln in original.lines
        ),
    )
    remittance_posting.post_remittance(engine, p.id, ACTOR, _remittance([reversal], "T-2"))
    assert _status(p, paid) == "pending"
    assert ledger.balances(engine, p.id, ACTOR, claim_id=paid)["balance"]["insurance_balance"] == "120.00"
    assert ledger.check_ledger(engine, p.id, ACTOR) == []


def test_remittance_for_a_claim_not_sent_goes_to_the_worklist(engine: Engine) -> None:
    p = a_practice(engine)
    claim_id = _claim(p)  # scrubbed, never submitted
    remittance_posting.post_remittance(
        engine, p.id, ACTOR, _remittance([_payment(p, claim_id, "paid")], "T-9")
    )
    assert _status(p, claim_id) == "scrubbed"
    kinds = [w["kind"] for w in remittances.worklist(engine, p.id, ACTOR)]
    assert "status-not-updated" in kinds


def _ready(p: Practice, *claim_ids: str) -> None:
    for cid in claim_ids:
        claims_svc.mark_ready(p.engine, p.id, ACTOR, cid)


def test_export_837_from_stored_claims(engine: Engine, tmp_path: Path) -> None:
    p = a_practice(engine)
    first = _claim(p, dos=date(2026, 11, 18))
    second = _claim(p, "massage-and-manual-therapy-two-regions.json", dos=DOS)
    _ready(p, first, second)
    out = tmp_path / "batch1.837"
    one = edi.export_837(engine, p.id, ACTOR, settings=EnvelopeSettings(), out=out)
    assert set(one.claim_numbers) == {_number(p, first), _number(p, second)}
    text = out.read_text(encoding="ascii")
    assert text == one.text and "*005010X222A1~" in text
    verdict = validate(text)
    assert verdict.ok, verdict.errors
    assert text.split("*")[15] == "T"  # ISA15 test unless production
    assert {_status(p, first), _status(p, second)} == {"submitted"}
    history = claims_svc.claim_history(engine, p.id, ACTOR, first)
    assert [h["status"] for h in history][-2:] == ["ready", "submitted"]
    # A second export finds nothing to send (no claim is sent twice) and writes no file.
    with pytest.raises(edi.ExportError) as refused:
        edi.export_837(engine, p.id, ACTOR, settings=EnvelopeSettings(), out=tmp_path / "batch2.837")
    assert refused.value.problems[0].code == "batch-empty"
    assert not (tmp_path / "batch2.837").exists()
    # A new claim goes in a new interchange with the next control number.
    third = _claim(p, dos=date(2026, 11, 17))
    _ready(p, third)
    two = edi.export_837(engine, p.id, ACTOR, settings=EnvelopeSettings(), out=tmp_path / "batch3.837")
    assert two.control_number != one.control_number and two.claim_numbers == (_number(p, third),)
    assert batches.batch_file(engine, p.id, ACTOR, one.batch_id, EnvelopeSettings()).text == one.text
    with UnitOfWork(engine, p.id, ACTOR, read_only=True) as uow:
        row = uow.records.get(claims, first)
    assert row.interchange_control_number == one.control_number and row.transaction_control_number == "0001"


def test_export_837_leaves_claims_with_scrub_errors_unless_overridden(engine: Engine, tmp_path: Path) -> None:
    from tests.integration.db.builders import failing_scrubber

    p = a_practice(engine)
    bad = claims_svc.code_visit(
        engine, p.id, ACTOR, a_visit(p), as_of=AS_OF, scrubber=failing_scrubber
    ).claim_id
    with pytest.raises(edi.ExportError) as refused:
        edi.export_837(
            engine, p.id, ACTOR, settings=EnvelopeSettings(), statuses=["scrubbed"], out=tmp_path / "x.837"
        )
    assert refused.value.problems[0].code == "claim-has-scrub-errors"
    assert _status(p, bad) == "scrubbed" and not (tmp_path / "x.837").exists()
    done = edi.export_837(
        engine,
        p.id,
        ACTOR,
        settings=EnvelopeSettings(),
        statuses=["scrubbed"],
        override_reason="payer confirmed by phone",
        out=tmp_path / "x.837",
    )
    assert done.claim_numbers == (_number(p, bad),) and _status(p, bad) == "submitted"
    notes = [h["note"] or "" for h in claims_svc.claim_history(engine, p.id, ACTOR, bad)]
    assert any(f"overridden by {ACTOR}: payer confirmed by phone" in n for n in notes)
    with UnitOfWork(engine, p.id, ACTOR, read_only=True) as uow:
        actions = uow.session.execute(
            select(audit_log.c.action, audit_log.c.actor, audit_log.c.details).where(
                audit_log.c.practice_id == p.id, audit_log.c.action == "claim.override"
            )
        ).all()
    assert [(a.actor, a.details["reason"]) for a in actions] == [(ACTOR, "payer confirmed by phone")]


def test_acknowledgments_move_claim_statuses(engine: Engine, tmp_path: Path) -> None:
    p = a_practice(engine)
    good = _claim(p, dos=date(2026, 11, 18))
    bad = _claim(p, dos=DOS)
    _ready(p, good, bad)
    export = edi.export_837(engine, p.id, ACTOR, settings=EnvelopeSettings(), out=tmp_path / "b.837")
    ctrl = str(export.control_number)
    ack999 = Acknowledgment(
        "999",
        "000000077",
        ctrl,
        "A",
        True,
        "accepted",
        transactions=(TransactionAck("837", "0001", "A", True),),
    )
    ca = Acknowledgment(
        "277CA",
        "000000078",
        None,
        "R",
        False,
        "partly rejected",
        claims=(
            ClaimAck(_number(p, good), "PAYER-1", "A2", "20", None, True, "accepted"),
            ClaimAck(_number(p, bad), None, "A7", "562", "85", False, "rejected: invalid NPI"),
        ),
    )
    moved = acknowledgments.apply_acknowledgments(engine, p.id, ACTOR, [ack999, ca]).claims
    assert (_status(p, good), _status(p, bad)) == ("clearinghouse_accepted", "clearinghouse_rejected")
    assert any(m["to"] == "batch_accepted" for m in moved)
    with UnitOfWork(engine, p.id, ACTOR, read_only=True) as uow:
        assert uow.records.get(claims, good).payer_claim_control_number == "PAYER-1"
    # Applying the same answers again changes nothing.
    again = acknowledgments.apply_acknowledgments(engine, p.id, ACTOR, [ack999, ca]).claims
    assert all(m["to"] is None for m in again)
    # A TA1 rejecting another interchange rejects its claims.
    third = _claim(p, dos=date(2026, 11, 17))
    _ready(p, third)
    second = edi.export_837(engine, p.id, ACTOR, settings=EnvelopeSettings(), out=tmp_path / "c.837")
    ta1 = Acknowledgment("TA1", f"{second.control_number:09d}", None, "R", False, "rejected")
    acknowledgments.apply_acknowledgments(engine, p.id, ACTOR, [ta1])
    assert _status(p, third) == "batch_rejected"


def test_a_271_answer_is_stored_as_an_eligibility_check(engine: Engine) -> None:
    p = a_practice(engine)
    summary = EligibilitySummary(
        payer_name="AETNA", payer_id="60054", member_id="W123456789", last_name="MILLER", first_name="GRACE",
        trace_number="T1", active=True, plan_name="Open Access", plan_begin=date(2026, 1, 1), plan_end=None,
        copay=Decimal("20.00"), coinsurance=None, deductible=None, deductible_remaining=None, visit_limit=Decimal(20),
        visits_remaining=None, authorization_required=False, therapy_amounts_applied=(),
        service_types_answered=("BE", "30"), only_general_answer=False, rejections=(), benefits=(),
    )  # fmt: skip
    check_id = edi.store_eligibility(engine, p.id, ACTOR, patient_id=p.patient_id, summary=summary)
    enc = encounter_for_visit(engine, p.id, ACTOR, a_visit(p))
    assert enc.coverage is not None and enc.coverage.eligibility_verified_on is not None
    from therabill.adapters.db.tables import eligibility_checks

    with UnitOfWork(engine, p.id, ACTOR, read_only=True) as uow:
        row = uow.records.get(eligibility_checks, check_id)
    assert row.coverage_id == p.coverage_id and row.active and row.source == "271"
    assert row.result["copay"] == "20.00" and row.result["member_id"] == "W123456789"
