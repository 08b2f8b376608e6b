"""Money is posted to the payer that paid it, never silently to another (both engines).

A commercial primary (ACME) and a spouse's plan as secondary (SPOUSE): the primary pays
60.00 of a 100.00 visit with 20.00 contractual and 20.00 patient share. Then the secondary's
own 835 for the same claim, and a second primary payment of the same claim, arrive. Neither
may move the primary's balances or bill the patient twice: both wait on the worklist.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from tests.integration.ledger.conftest import ACTOR, Seed
from tests.integration.ledger.test_service import _remittance
from therabill.service_layer import ledger as svc
from therabill.service_layer import remittance_posting


def _claim(seed: Seed, number: str) -> tuple[str, str]:
    seed.payer("Acme Health", "ACME")
    seed.payer("Spouse Plan", "SPOUSE")  # before the patient: the seed opens one connection at a time
    pt = seed.patient(f"pt-{number}", secondary="Spouse Plan")
    claim_id, _ = seed.claim(pt, seed.payer("Acme Health", "ACME"), [("97124", 10000)], number=number)
    svc.post_claim_charges(seed.engine, seed.practice_id, ACTOR, claim_id)
    first = remittance_posting.post_remittance(
        seed.engine, seed.practice_id, ACTOR, _remittance(number, f"{number}-1", trn="T-P1")
    )
    assert first.matched_claims == 1
    return pt, claim_id


def _figures(seed: Seed, pt: str) -> dict[str, Decimal]:
    b = svc.balances(seed.engine, seed.practice_id, ACTOR, patient_id=pt)["balance"]
    return {k: Decimal(v) for k, v in b.items()}


def test_the_secondarys_own_835_does_not_post_under_the_primary(seed: Seed) -> None:
    pt, _ = _claim(seed, "CLM-PB-1")
    before = _figures(seed, pt)
    assert before["patient_balance"] == Decimal("20.00") and before["insurance_payments"] == Decimal("60.00")
    other = _remittance(
        "CLM-PB-1", "CLM-PB-1-1", trn="T-S1", payer="SPOUSE", amounts=("20.00", "0.00", "0.00")
    )
    result = remittance_posting.post_remittance(seed.engine, seed.practice_id, ACTOR, other)
    assert result.matched_claims == 0 and [w.kind for w in result.worklist] == ["payer-not-on-claim"]
    assert result.worklist[0].amount == Decimal("20.00")
    assert _figures(seed, pt) == before  # nothing moved: not the primary's money, not the patient's share
    assert svc.check_ledger(seed.engine, seed.practice_id, ACTOR) == []


def test_a_second_primary_payment_is_a_probable_duplicate(seed: Seed) -> None:
    pt, _ = _claim(seed, "CLM-PB-2")
    before = _figures(seed, pt)
    again = _remittance("CLM-PB-2", "CLM-PB-2-1", trn="T-P2")  # same payer, new check: paid twice
    result = remittance_posting.post_remittance(seed.engine, seed.practice_id, ACTOR, again)
    assert [w.kind for w in result.worklist] == ["payment-duplicate"]
    assert "already paid 60.00" in result.worklist[0].message
    assert _figures(seed, pt) == before


def test_a_payment_after_a_reversal_posts(seed: Seed) -> None:
    pt, _ = _claim(seed, "CLM-PB-3")
    reversal = _remittance(
        "CLM-PB-3", "CLM-PB-3-1", trn="T-R3", status="22", amounts=("-60.00", "-20.00", "-20.00")
    )
    remittance_posting.post_remittance(seed.engine, seed.practice_id, ACTOR, reversal)
    corrected = remittance_posting.post_remittance(
        seed.engine,
        seed.practice_id,
        ACTOR,
        _remittance("CLM-PB-3", "CLM-PB-3-1", trn="T-C3", amounts=("70.00", "20.00", "10.00")),
    )
    assert corrected.matched_claims == 1 and not [
        w for w in corrected.worklist if w.kind == "payment-duplicate"
    ]
    after = _figures(seed, pt)
    assert after["insurance_payments"] == Decimal("70.00") and after["patient_balance"] == Decimal("10.00")


def test_the_payer_is_known_by_trn03_or_its_name(seed: Seed) -> None:
    payer = seed.payer("Tax Id Health", "123456789")
    pt = seed.patient("pt-trn")
    claim_id, _ = seed.claim(pt, payer, [("97124", 10000)], number="CLM-PB-T")
    svc.post_claim_charges(seed.engine, seed.practice_id, ACTOR, claim_id)
    by_trn03 = _remittance("CLM-PB-T", "CLM-PB-T-1", trn="T-T1", payer=None)
    by_trn03 = replace(
        by_trn03, header=replace(by_trn03.header, trace_originator="1123456789", payer_name=None)
    )
    assert (
        remittance_posting.post_remittance(seed.engine, seed.practice_id, ACTOR, by_trn03).matched_claims == 1
    )
    pt2 = seed.patient("pt-name")
    claim2, _ = seed.claim(pt2, payer, [("97124", 10000)], number="CLM-PB-N")
    svc.post_claim_charges(seed.engine, seed.practice_id, ACTOR, claim2)
    by_name = _remittance("CLM-PB-N", "CLM-PB-N-1", trn="T-N1", payer=None)
    by_name = replace(by_name, header=replace(by_name.header, payer_name="TAX ID HEALTH"))
    assert (
        remittance_posting.post_remittance(seed.engine, seed.practice_id, ACTOR, by_name).matched_claims == 1
    )
    nobody = _remittance("CLM-PB-N", "CLM-PB-N-1", trn="T-X1", payer="99999")
    nobody = replace(nobody, header=replace(nobody.header, payer_name="Unknown Plan"))
    unknown = remittance_posting.post_remittance(seed.engine, seed.practice_id, ACTOR, nobody)
    assert [(w.kind, w.action) for w in unknown.worklist] == [("payer-not-on-claim", "refund")]
    assert "not on file" in unknown.worklist[0].message
