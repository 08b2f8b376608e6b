"""Every payer's money posted to that payer, and the secondary claim made for the biller (both engines).

One 60-minute massage, 120.00, billed to Aetna (primary); the patient's spouse's plan is
secondary. After each remittance the figures a biller expects are written out: per-payer
balances, the patient's balance, the claims' statuses, and ``db check`` clean.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from tests.integration.db.builders import ACTOR
from tests.integration.ledger.scenario import AETNA, SPOUSE, World, a_world
from therabill.adapters.db.tables import claims, visits
from therabill.service_layer import coverages as coverages_svc
from therabill.service_layer import practice as practice_svc
from therabill.service_layer import remittance_posting, remittances

D = Decimal


def _primary_pays(w: World, trace: str = "AET-1") -> str:
    """Aetna allows 100.00: pays 70.00, CO-45 20.00, coinsurance PR-2 30.00 → the secondary claim."""
    result = w.post(
        sender=AETNA, trace=trace, status="1", paid="70.00", cas=(("CO", "45", "20.00"), ("PR", "2", "30.00"))
    )
    assert result.matched_claims == 1 and len(result.next_claims) == 1
    return result.next_claims[0]


def test_primary_then_the_secondarys_own_835(engine: Engine, tmp_path: Path) -> None:
    w = a_world(engine)
    assert w.payer_balances() == {"Aetna": D("120.00")} and w.status() == "submitted"

    # 1. The primary's 835: its money to Aetna, the patient's share waits for the secondary.
    secondary = _primary_pays(w)
    assert w.payer_balances() == {"Spouse Plan": D("30.00")}
    figures = w.patient()
    assert figures["patient_balance"] == D("0.00") and figures["insurance_payments"] == D("70.00")
    assert figures["adjustments"] == D("20.00") and figures["charges"] == D("120.00")
    assert w.status() == "paid"
    made = w.claim(secondary)
    assert (
        made.status == "scrubbed"
        and made.payer_id == w.secondary_payer
        and made.primary_claim_id == w.claim_id
    )
    (cob,) = made.cob
    assert (cob["payer_name"], cob["paid"], cob["remaining_patient_liability"]) == ("Aetna", "70.00", "30.00")
    assert cob["lines"][0]["adjustments"] == [["CO", "45", "20.00"], ["PR", "2", "30.00"]]
    assert "secondary-claim" in [i["kind"] for i in w.open_work()]
    assert w.clean(tmp_path)

    # The biller sends it; the secondary's own 835 (CLP02 2) pays 20.00, OA-23 (Aetna's part) 90.00,
    # PR-1 10.00: posted under the secondary, OA-23 is not written off again.
    w.send(made.id)
    own = w.post(
        sender=SPOUSE,
        trace="SPS-1",
        status="2",
        paid="20.00",
        cas=(("OA", "23", "90.00"), ("PR", "1", "10.00")),
        number=secondary,
        remarks=("N781",),
    )
    assert own.matched_claims == 1 and own.next_claims == []
    assert not [x for x in own.worklist if x.kind in ("payer-not-on-claim", "payment-duplicate")]
    assert w.payer_balances() == {}
    figures = w.patient()
    assert figures["patient_balance"] == D("10.00") and figures["insurance_payments"] == D("90.00")
    assert figures["adjustments"] == D("20.00")  # Aetna's CO-45 only
    assert (w.status(), w.status(made.id)) == ("paid", "paid")
    # What each payer said is kept per line, with its remark codes (RARC).
    said = remittances.claim_adjudications(engine, w.p.id, ACTOR, made.id)
    assert [(x["trace_number"], x["payer_id"], x["paid"]) for x in said] == [
        ("SPS-1", w.secondary_payer, "20.00")
    ]
    assert said[0]["lines"][0]["adjustments"] == ["OA-23 90.00", "PR-1 10.00"]
    assert said[0]["lines"][0]["remarks"] == ["N781"]
    assert [
        x["trace_number"] for x in remittances.claim_adjudications(engine, w.p.id, ACTOR, w.claim_id)
    ] == ["AET-1"]
    assert w.clean(tmp_path)


def test_a_crossover_moves_the_balance_to_the_named_payer(engine: Engine, tmp_path: Path) -> None:
    w = a_world(engine)
    crossed = w.post(
        sender=AETNA,
        trace="AET-X",
        status="19",
        paid="70.00",
        cas=(("CO", "45", "20.00"), ("PR", "2", "30.00")),
        crossover_to="SPOUSE PLAN",
    )
    assert crossed.next_claims == []  # the payer forwarded it: no claim of ours to the secondary
    assert "crossover" in [x.kind for x in crossed.worklist]
    assert w.payer_balances() == {"Spouse Plan": D("30.00")}
    assert w.patient()["patient_balance"] == D("0.00")
    assert w.status() == "crossed_over" and len(w.claims_of_visit()) == 1
    assert w.clean(tmp_path)
    # The secondary's own 835 quotes our primary claim number: it posts under the secondary.
    own = w.post(
        sender=SPOUSE,
        trace="SPS-X",
        status="2",
        paid="25.00",
        cas=(("OA", "23", "90.00"), ("PR", "1", "5.00")),
    )
    assert own.matched_claims == 1
    assert w.payer_balances() == {}
    figures = w.patient()
    assert figures["patient_balance"] == D("5.00") and figures["insurance_payments"] == D("95.00")
    assert w.status() == "paid"
    assert w.clean(tmp_path)


def test_a_duplicate_primary_payment_and_a_stranger_go_to_the_worklist(
    engine: Engine, tmp_path: Path
) -> None:
    w = a_world(engine)
    _primary_pays(w)
    before = (w.payer_balances(), w.patient(), w.status())
    again = w.post(
        sender=AETNA,
        trace="AET-2",
        status="1",
        paid="70.00",
        cas=(("CO", "45", "20.00"), ("PR", "2", "30.00")),
    )
    assert [(x.kind, x.action, x.amount) for x in again.worklist] == [
        ("payment-duplicate", "refund", D("70.00"))
    ]
    assert again.matched_claims == 0 and again.next_claims == []
    stranger = w.post(
        sender=("Cigna", "62308"), trace="CIG-1", status="1", paid="50.00", cas=(("CO", "45", "70.00"),)
    )
    assert [(x.kind, x.action) for x in stranger.worklist] == [("payer-not-on-claim", "refund")]
    assert (w.payer_balances(), w.patient(), w.status()) == before  # nothing moved
    assert len(w.claims_of_visit()) == 2  # no second secondary claim
    assert {"payment-duplicate", "payer-not-on-claim"} <= {i["kind"] for i in w.open_work()}
    assert w.clean(tmp_path)


def test_a_reversal_and_correction_remake_the_secondary_claim(engine: Engine, tmp_path: Path) -> None:
    w = a_world(engine)
    first = _primary_pays(w)
    reversal = w.post(
        sender=AETNA,
        trace="AET-R",
        status="22",
        paid="-70.00",
        cas=(("CO", "45", "-20.00"), ("PR", "2", "-30.00")),
    )
    assert reversal.matched_claims == 1
    assert w.payer_balances() == {"Aetna": D("120.00")}
    assert w.patient()["patient_balance"] == D("0.00") and w.patient()["insurance_payments"] == D("0.00")
    assert (w.status(), w.claim(first).status) == ("pending", "voided")  # unsent secondary withdrawn
    assert w.clean(tmp_path)
    corrected = w.post(
        sender=AETNA,
        trace="AET-C",
        status="1",
        paid="80.00",
        cas=(("CO", "45", "20.00"), ("PR", "2", "20.00")),
    )
    assert corrected.matched_claims == 1 and len(corrected.next_claims) == 1
    assert w.payer_balances() == {"Spouse Plan": D("20.00")}
    assert w.patient()["patient_balance"] == D("0.00") and w.patient()["insurance_payments"] == D("80.00")
    remade = w.claim(corrected.next_claims[0])
    assert remade.status == "scrubbed" and remade.cob[0]["remaining_patient_liability"] == "20.00"
    assert w.status() == "paid"
    assert w.clean(tmp_path)


def test_clp05_disagreeing_with_the_pr_adjustments_is_listed(engine: Engine, tmp_path: Path) -> None:
    w = a_world(engine)
    result = w.post(
        sender=AETNA,
        trace="AET-5",
        status="1",
        paid="70.00",
        cas=(("CO", "45", "20.00"), ("PR", "2", "30.00")),
        clp05="35.00",
    )
    mismatch = [x for x in result.worklist if x.kind == "responsibility-mismatch"]
    assert len(mismatch) == 1 and mismatch[0].amount == D("5.00")
    assert w.payer_balances() == {"Spouse Plan": D("30.00")}  # the PR adjustments are what posts
    assert w.clean(tmp_path)


def test_a_re_sent_primary_835_makes_nothing_twice(engine: Engine, tmp_path: Path) -> None:
    w = a_world(engine)
    _primary_pays(w)
    again = w.post(
        sender=AETNA,
        trace="AET-1",
        status="1",
        paid="70.00",
        cas=(("CO", "45", "20.00"), ("PR", "2", "30.00")),
    )
    assert not again.new and again.skipped_claims == 1 and again.next_claims == []
    assert len(w.claims_of_visit()) == 2
    assert w.payer_balances() == {"Spouse Plan": D("30.00")}
    assert w.clean(tmp_path)


def test_the_tertiary_claim_follows_the_secondarys_835(engine: Engine, tmp_path: Path) -> None:
    w = a_world(engine)
    third = practice_svc.add_payer(
        engine,
        w.p.id,
        ACTOR,
        name="Union Fund",
        payer_id="UNF01",
        profile="commercial",
        claim_filing_indicator="CI",
        address={"line1": "1 Union Sq", "city": "Albany", "state": "NY", "zip": "122070000"},
    )
    coverages_svc.add_coverage(
        engine,
        w.p.id,
        ACTOR,
        w.patient_id,
        coverages_svc.CoverageInput(payer_id=third, sequence="tertiary", member_id="U-1"),
    )
    secondary = w.claim(_primary_pays(w))
    w.send(secondary.id)
    paid = w.post(
        sender=SPOUSE,
        trace="SPS-3",
        status="2",
        paid="20.00",
        cas=(("OA", "23", "90.00"), ("PR", "1", "10.00")),
        number=secondary.claim_number,
    )
    (number,) = paid.next_claims
    tertiary = w.claim(number)
    assert (tertiary.status, tertiary.payer_id, tertiary.primary_claim_id) == ("scrubbed", third, w.claim_id)
    assert [(c["payer_name"], c["paid"], c["remaining_patient_liability"]) for c in tertiary.cob] == [
        ("Aetna", "70.00", "30.00"),
        ("Spouse Plan", "20.00", "10.00"),
    ]
    assert w.payer_balances() == {third: D("10.00")}  # the patient's share waits for the tertiary
    assert w.patient()["patient_balance"] == D("0.00")
    assert (w.status(), w.status(secondary.id)) == ("paid", "paid")
    text = w.send(tertiary.id).text
    assert "AMT*D*70~AMT*EAF*30~" in text and "CAS*OA*23*90~" in text and "AMT*D*20~AMT*EAF*10~" in text
    assert w.clean(tmp_path)


def test_a_secondary_claim_that_cannot_be_made_leaves_the_posting_whole(
    engine: Engine, tmp_path: Path
) -> None:
    w = a_world(engine)
    with engine.begin() as c:  # the visit's document is broken after the primary claim was coded
        visit_id = c.execute(select(claims.c.visit_id).where(claims.c.id == w.claim_id)).scalar_one()
        c.execute(update(visits).where(visits.c.id == visit_id).values(encounter_json={"services": "none"}))
    result = w.post(
        sender=AETNA,
        trace="AET-B",
        status="1",
        paid="70.00",
        cas=(("CO", "45", "20.00"), ("PR", "2", "30.00")),
    )
    assert result.matched_claims == 1 and result.next_claims == []
    (item,) = [x for x in result.worklist if x.kind == "secondary-claim"]
    assert "no secondary claim was made" in item.message and item.amount == D("30.00")
    assert w.payer_balances() == {"Spouse Plan": D("30.00")} and w.status() == "paid"
    assert len(w.claims_of_visit()) == 1
    assert w.clean(tmp_path)


def _secondary_835(number: str, line_id: str) -> str:
    """The spouse plan's 835 as it arrives: named only in N1*PR (no N104, no REF*2U), an unknown TRN03."""
    body = [
        "ST*835*0001",
        "BPR*I*20*C*ACH*CCP*01*888999777*DA*24681012*1935665544**01*111333555*DA*144444*20261212",
        "TRN*1*SPS-FILE-1*1999999999",
        "DTM*405*20261212",
        "N1*PR*SPOUSE PLAN",
        "N1*PE*HUDSON VALLEY MASSAGE THERAPY PLLC*XX*1887754327",
        "LX*1",
        f"CLP*{number}*2*120*20*10*12*SPS-CLAIM-9",
        "NM1*QC*1*MILLER*GRACE****MI*SP998877",
        "SVC*HC:97124*120*20**4",
        "DTM*472*20261120",
        "CAS*OA*23*90",
        "CAS*PR*1*10",
        f"REF*6R*{line_id}",
        "LQ*HE*N781",
    ]
    body.append(f"SE*{len(body) + 1}*0001")
    isa = "ISA*00*          *00*          *ZZ*SPOUSEPLAN     *ZZ*THERABILL      *261212*1147*^*00501*000000907*0*T*:"
    return (
        "~".join(
            [
                isa,
                "GS*HP*SPOUSEPLAN*THERABILL*20261212*1147*1*X*005010X221A1",
                *body,
                "GE*1*1",
                "IEA*1*000000907",
            ]
        )
        + "~"
    )


def test_the_secondarys_835_file_is_known_by_its_payer_name(engine: Engine, tmp_path: Path) -> None:
    w = a_world(engine)
    made = w.claim(_primary_pays(w))
    w.send(made.id)
    (posted,) = remittances.post_835(
        engine, w.p.id, ACTOR, _secondary_835(made.claim_number, w.line_id(made.claim_number))
    )
    assert posted.as_dict()["claims_matched"] == 1 and posted.as_dict()["next_claims"] == []
    assert w.payer_balances() == {}
    assert w.patient()["patient_balance"] == D("10.00") and w.status(made.id) == "paid"
    said = remittances.claim_adjudications(engine, w.p.id, ACTOR, made.id)
    assert said[0]["lines"][0]["remarks"] == ["N781"] and said[0]["payer_id"] == w.secondary_payer
    assert w.clean(tmp_path)


def test_a_crash_after_the_secondary_claim_is_made_leaves_nothing_half_done(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = a_world(engine)
    real = remittance_posting._work_rows
    calls = {"n": 0}

    def crash_once(*args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # the claim's own items: after its entries and its secondary claim
            raise RuntimeError("power cut")
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(remittance_posting, "_work_rows", crash_once)
    with pytest.raises(RuntimeError):
        _primary_pays(w)
    assert len(w.claims_of_visit()) == 1 and w.payer_balances() == {"Aetna": D("120.00")}
    monkeypatch.setattr(remittance_posting, "_work_rows", real)
    again = w.post(
        sender=AETNA,
        trace="AET-1",
        status="1",
        paid="70.00",
        cas=(("CO", "45", "20.00"), ("PR", "2", "30.00")),
    )
    assert not again.new and again.matched_claims == 1 and len(again.next_claims) == 1
    assert len(w.claims_of_visit()) == 2 and w.payer_balances() == {"Spouse Plan": D("30.00")}
    assert w.clean(tmp_path)
