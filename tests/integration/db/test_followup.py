"""The follow-up worklist on both engines: which claims, working them, actions, the appeal letter."""

from __future__ import annotations

import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from tests.integration.db.builders import ACTOR, AS_OF, DOS, Practice, a_practice, a_visit, clean_scrubber
from tests.integration.db.test_money_flow import _number, _payment, _remittance, _status, _submitted
from therabill.domain.claim_changes import ClaimChangeError
from therabill.service_layer import appeals, followup, ledger, remittance_posting
from therabill.service_layer import claims as rec
from therabill.service_layer.errors import RecordsError


def _coded(p: Practice, dos: date = DOS) -> str:
    return rec.code_visit(
        p.engine, p.id, ACTOR, a_visit(p, dos=dos), as_of=AS_OF, scrubber=clean_scrubber
    ).claim_id


def _denied(p: Practice) -> str:
    claim = _coded(p)
    _submitted(p, claim)
    remittance_posting.post_remittance(
        p.engine, p.id, ACTOR, _remittance([_payment(p, claim, "denied")], f"T-{claim}")
    )
    assert _status(p, claim) == "denied"
    return claim


def test_the_worklist_holds_denied_rejected_and_old_unpaid_claims(engine: Engine) -> None:
    p = a_practice(engine)
    denied = _denied(p)
    rejected = _coded(p)
    _submitted(p, rejected)
    rec.set_claim_status(engine, p.id, ACTOR, rejected, "clearinghouse_rejected")
    recent = _coded(p)  # sent, 3 days after its date of service: not yet due
    _submitted(p, recent)
    old = _coded(p, dos=DOS - timedelta(days=45))
    _submitted(p, old)
    unsent = _coded(p, dos=DOS - timedelta(days=90))  # never sent: not follow-up
    items = {i.claim_id: i for i in followup.worklist(engine, p.id, ACTOR, as_of=AS_OF, unpaid_days=30)}
    assert set(items) == {denied, rejected, old}
    assert unsent not in items and recent not in items
    assert items[denied].reason == "denied" and items[rejected].reason == "rejected"
    assert items[old].reason == "unpaid" and items[old].age_days == 48 and items[old].aging == "31-60"
    assert items[denied].actions == ("correct", "void", "appeal", "write_off", "transfer_to_patient")
    assert items[rejected].actions[0] == "rebill"
    assert items[denied].state == "open" and items[denied].owner is None
    # fewer days: the recent one is due too
    assert recent in {i.claim_id for i in followup.worklist(engine, p.id, ACTOR, as_of=AS_OF, unpaid_days=3)}


def test_notes_owner_and_next_action_are_kept_with_who_and_when(engine: Engine) -> None:
    p = a_practice(engine)
    claim = _denied(p)
    worked = followup.update(
        engine,
        p.id,
        ACTOR,
        claim,
        as_of=AS_OF,
        owner="Bea Biller",
        next_action_on=AS_OF + timedelta(days=7),
        remark_codes=["n362", "M80"],
        note="Called the payer: the denial stands, send an appeal.",
    )
    assert worked.owner == "Bea Biller" and worked.state == "in_progress"
    assert worked.remark_codes == ("N362", "M80")
    assert [n["action"] for n in worked.notes] == ["update", "note"]
    assert all(n["actor"] == ACTOR for n in worked.notes)
    mine = followup.worklist(engine, p.id, ACTOR, as_of=AS_OF, owner="Bea Biller")
    assert [i.claim_id for i in mine] == [claim]
    with pytest.raises(ClaimChangeError) as past:
        followup.update(engine, p.id, ACTOR, claim, as_of=AS_OF, next_action_on=AS_OF - timedelta(days=1))
    assert past.value.problems[0].code == "followup-date-past"
    with pytest.raises(RecordsError):
        followup.update(engine, p.id, ACTOR, claim, as_of=AS_OF, remark_codes=["not a code"])


def test_appeal_letter_and_appeal_action(engine: Engine, tmp_path: Path) -> None:
    p = a_practice(engine)
    claim = _denied(p)
    followup.update(engine, p.id, ACTOR, claim, as_of=AS_OF, remark_codes=["N362"])
    pdf, number = appeals.appeal_letter_pdf(
        engine, p.id, ACTOR, claim, note="The massage was ordered by Dr. Reed for muscle spasm.", as_of=AS_OF
    )
    assert number == _number(p, claim) and pdf.startswith(b"%PDF")
    path = tmp_path / "appeal.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    for expected in (
        "ordered by Dr. Reed",
        "CO-197",
        "N362",
        "M62.830",
        "PO Box 981106",
        "El Paso, TX 79998-1106",
    ):
        assert expected in text, expected
    with pytest.raises(RecordsError):
        appeals.appeal_letter_pdf(engine, p.id, ACTOR, claim, note="  ", as_of=AS_OF)
    done = followup.act(engine, p.id, ACTOR, claim, "appeal", as_of=AS_OF, note="letter sent by fax")
    assert done.action == "appeal" and _status(p, claim) == "appealed"
    after = followup.item(engine, p.id, ACTOR, claim, as_of=AS_OF)
    assert after.state == "waiting" and after.notes[-1]["action"] == "appeal"


def _unpaid(p: Practice) -> str:
    claim = _coded(p, dos=DOS - timedelta(days=60))
    _submitted(p, claim)
    return claim


def test_write_off_and_transfer_post_ledger_entries(engine: Engine) -> None:
    p = a_practice(engine)
    written = _unpaid(p)
    with pytest.raises(RecordsError) as not_allowed:
        followup.act(engine, p.id, ACTOR, written, "rebill", as_of=AS_OF)
    assert not_allowed.value.problems[0].code == "followup-action-not-allowed"
    result = followup.act(
        engine, p.id, ACTOR, written, "write_off", as_of=AS_OF, note="past the filing limit"
    )
    assert result.entries == 1
    figures = ledger.balances(engine, p.id, ACTOR, claim_id=written)["balance"]
    assert figures["insurance_balance"] == "0.00" and figures["patient_balance"] == "0.00"
    assert followup.worklist(engine, p.id, ACTOR, as_of=AS_OF) == []
    assert len(followup.worklist(engine, p.id, ACTOR, as_of=AS_OF, include_done=True)) == 1
    moved = _unpaid(p)
    followup.act(engine, p.id, ACTOR, moved, "transfer_to_patient", as_of=AS_OF)
    figures = ledger.balances(engine, p.id, ACTOR, claim_id=moved)["balance"]
    assert figures["insurance_balance"] == "0.00" and figures["patient_balance"] == "120.00"
    # a denial already took the charge off the payer's balance (CO-197): nothing to write off
    denied = _denied(p)
    with pytest.raises(RecordsError) as nothing:
        followup.act(engine, p.id, ACTOR, denied, "write_off", as_of=AS_OF)
    assert nothing.value.problems[0].code == "followup-nothing-owed"


def test_correct_from_the_worklist_makes_a_frequency_7_version(engine: Engine) -> None:
    p = a_practice(engine)
    claim = _denied(p)
    result = followup.act(engine, p.id, ACTOR, claim, "correct", as_of=AS_OF, note="modifier added")
    assert result.new_claim_id is not None and _status(p, claim) == "replaced"
    assert _number(p, result.new_claim_id) == f"{_number(p, claim)}-2"
    assert followup.item(engine, p.id, ACTOR, claim, as_of=AS_OF).state == "done"


def test_follow_up_notes_cannot_be_changed(engine: Engine) -> None:
    p = a_practice(engine)
    claim = _denied(p)
    followup.update(engine, p.id, ACTOR, claim, as_of=AS_OF, note="first call")
    with pytest.raises(DBAPIError), engine.begin() as conn:
        conn.execute(
            text("UPDATE claim_followup_notes SET text = 'rewritten' WHERE claim_id = :c"), {"c": claim}
        )
    with pytest.raises(DBAPIError), engine.begin() as conn:
        conn.execute(text("DELETE FROM claim_followup_notes WHERE claim_id = :c"), {"c": claim})
