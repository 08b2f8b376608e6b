"""A claim for a provider whose licence expired before the date of service, or who is not
enrolled with the claim's payer, is flagged on every path that creates a claim: coding a visit
(what the web, the API and the CLI call), the new version an edit of an unsent visit makes, a
corrected claim, and the next payer's claim made from an 835."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Engine

from tests.integration.db.builders import ACTOR, AS_OF, Practice, a_practice, a_visit
from tests.integration.ledger.scenario import AETNA, a_world
from therabill.adapters.db.tables import provider_licenses
from therabill.adapters.x12.envelope import EnvelopeSettings
from therabill.service_layer import batches, claim_changes
from therabill.service_layer import claims as claims_svc
from therabill.service_layer import practice as practice_svc
from therabill.service_layer.uow import UnitOfWork

FLAGS = {"license-expired", "provider-not-enrolled"}


def _lapsed(p: Practice) -> None:
    """The rendering provider's licence ended before the date of service, and they are enrolled
    with another payer only (so the records do say whom they are enrolled with)."""
    with UnitOfWork(p.engine, p.id, ACTOR) as uow:
        uow.session.execute(
            provider_licenses.update()
            .where(provider_licenses.c.provider_id == p.provider_id)
            .values(expires_on=date(2026, 10, 31))
        )
    other = practice_svc.add_payer(
        p.engine,
        p.id,
        ACTOR,
        name="Cigna",
        payer_id="62308",
        profile="commercial",
        claim_filing_indicator="CI",
    )
    practice_svc.enroll_provider(
        p.engine, p.id, ACTOR, provider_id=p.provider_id, payer_id=other, enrolled=True, in_network=True
    )


def _flags(p: Practice, claim_id: str) -> set[str]:
    detail = claims_svc.claim_detail(p.engine, p.id, ACTOR, claim_id)
    return {f["rule_id"] for f in detail.findings} & FLAGS


def test_coding_and_an_edit_of_the_unsent_visit(engine: Engine) -> None:
    p = a_practice(engine)
    _lapsed(p)
    visit = a_visit(p)
    coded = claims_svc.code_visit(engine, p.id, ACTOR, visit, as_of=AS_OF)
    assert _flags(p, coded.claim_id) == FLAGS and coded.has_errors
    edited = claim_changes.edit_visit(
        engine, p.id, ACTOR, visit, {"start_time": "10:00", "end_time": "11:00"}, as_of=AS_OF, reason="time"
    )
    assert edited.claim_id and edited.claim_id != coded.claim_id
    assert _flags(p, edited.claim_id) == FLAGS and edited.has_errors


def test_a_corrected_claim(engine: Engine) -> None:
    p = a_practice(engine)
    coded = claims_svc.code_visit(engine, p.id, ACTOR, a_visit(p), as_of=AS_OF)
    assert _flags(p, coded.claim_id) == set()  # licensed and (enrollments unknown) not flagged
    claims_svc.mark_ready(engine, p.id, ACTOR, coded.claim_id)
    batches.build_batch(engine, p.id, ACTOR, [coded.claim_id], envelope=EnvelopeSettings())
    claims_svc.set_claim_status(
        engine, p.id, ACTOR, coded.claim_id, "paid", payer_claim_control_number="ICN-1"
    )
    _lapsed(p)  # learnt after the claim went out: the correction knows it
    corrected = claim_changes.correct(engine, p.id, ACTOR, coded.claim_id, as_of=AS_OF, reason="diagnosis")
    assert corrected.frequency == "7" and corrected.claim_id
    assert _flags(p, corrected.claim_id) == FLAGS


def test_the_next_payers_claim_made_from_an_835(engine: Engine) -> None:
    w = a_world(engine)
    _lapsed(w.p)
    result = w.post(
        sender=AETNA,
        trace="AET-9",
        status="1",
        paid="70.00",
        cas=(("CO", "45", "20.00"), ("PR", "2", "30.00")),
    )
    (number,) = result.next_claims
    secondary = w.claim(number)
    assert secondary.payer_id == w.secondary_payer and Decimal(secondary.total_charge_cents) > 0
    assert _flags(w.p, secondary.id) == FLAGS
