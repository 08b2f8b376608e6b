"""Accept assignment and signature on file come from the practice's records on every claim
(a visit documented without them, as the web form does), and the rule
``assignment-contradicts-records`` flags a claim whose indicators say otherwise."""

from __future__ import annotations

from sqlalchemy import Engine

from tests.integration.db.builders import ACTOR, AS_OF, DOS, a_practice, visit_document
from therabill.adapters.db.tables import practices, providers
from therabill.adapters.x12.envelope import EnvelopeSettings
from therabill.domain.forms import cms1500_forms
from therabill.service_layer import batches, claims, visits
from therabill.service_layer.uow import UnitOfWork

INDICATORS = ("accept_assignment", "provider_signature_on_file", "consent")


def _web_like_visit(p, **extra: object) -> str:  # type: ignore[no-untyped-def]
    doc = {k: v for k, v in visit_document().items() if k not in INDICATORS}
    return visits.record_visit(
        p.engine,
        p.id,
        ACTOR,
        patient_id=p.patient_id,
        provider_id=p.provider_id,
        date_of_service=DOS,
        document={**doc, **extra},
    )


def _clm(engine: Engine, practice_id: str, claim_id: str) -> list[str]:
    claims.mark_ready(engine, practice_id, ACTOR, claim_id)
    batch = batches.build_batch(engine, practice_id, ACTOR, [claim_id], envelope=EnvelopeSettings())
    data = batches.batch_file(engine, practice_id, ACTOR, batch.batch_id, EnvelopeSettings()).data
    text = data.decode("latin-1") if isinstance(data, bytes) else data
    return next(s for s in text.replace("\n", "").split("~") if s.startswith("CLM*")).split("*")


def _rules(coded: claims.CodedClaim) -> dict[str, str]:
    found = coded.findings["findings"] if isinstance(coded.findings, dict) else coded.findings
    return {f["rule_id"]: f["severity"] for f in found}


def test_a_web_documented_visit_goes_out_assigned_and_signed(engine: Engine) -> None:
    p = a_practice(engine)
    coded = claims.code_visit(engine, p.id, ACTOR, _web_like_visit(p), as_of=AS_OF)
    assert "assignment-contradicts-records" not in _rules(coded)
    form = cms1500_forms(claims.claim_record(engine, p.id, ACTOR, coded.claim_id), signed_on=AS_OF)[0]
    assert form.fields.get("31.signature") and form.fields.get("27.yes") == "X"
    clm = _clm(engine, p.id, coded.claim_id)
    assert clm[6:8] == ["Y", "A"], clm  # CLM06 signature on file, CLM07 assignment accepted


def test_the_settings_say_no_and_the_claim_follows(engine: Engine) -> None:
    p = a_practice(engine)
    with UnitOfWork(engine, p.id, ACTOR) as uow:
        uow.session.execute(practices.update().where(practices.c.id == p.id).values(accept_assignment=False))
        uow.records.update(providers, p.provider_id, signature_on_file=False)
    coded = claims.code_visit(engine, p.id, ACTOR, _web_like_visit(p), as_of=AS_OF)
    clm = _clm(engine, p.id, coded.claim_id)
    assert clm[6:8] == ["N", "C"], clm


def test_indicators_that_contradict_the_records_are_flagged(engine: Engine) -> None:
    p = a_practice(engine)
    with UnitOfWork(engine, p.id, ACTOR) as uow:
        uow.session.execute(practices.update().where(practices.c.id == p.id).values(accept_assignment=False))
    visit = _web_like_visit(p, accept_assignment=True)
    coded = claims.code_visit(engine, p.id, ACTOR, visit, as_of=AS_OF)
    assert _rules(coded).get("assignment-contradicts-records") == "error"
