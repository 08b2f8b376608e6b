"""Every path that scrubs a stored visit knows the provider's licences and enrollments, so
``license-expired`` and ``provider-not-enrolled`` fire on claims, not only on documents."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine

from tests.integration.db.builders import ACTOR, AS_OF, DOS, a_practice, a_visit
from therabill.adapters.db.tables import provider_licenses
from therabill.service_layer import claims as claims_svc
from therabill.service_layer import practice as practice_svc
from therabill.service_layer import visits
from therabill.service_layer.uow import UnitOfWork


def _rules(findings: object) -> set[str]:
    items = findings["findings"] if isinstance(findings, dict) else findings
    return {f["rule_id"] for f in items}  # type: ignore[index,union-attr]


def test_expired_licence_and_missing_enrollment_are_flagged_on_the_claim(engine: Engine) -> None:
    p = a_practice(engine)
    with UnitOfWork(engine, p.id, ACTOR) as uow:
        uow.session.execute(
            provider_licenses.update()
            .where(provider_licenses.c.provider_id == p.provider_id)
            .values(expires_on=date(2026, 10, 31))  # before the date of service
        )
    other_payer = practice_svc.add_payer(
        engine, p.id, ACTOR, name="Cigna", payer_id="62308", profile="commercial", claim_filing_indicator="CI"
    )
    practice_svc.enroll_provider(  # enrolled with another payer only: not with the claim's
        engine, p.id, ACTOR, provider_id=p.provider_id, payer_id=other_payer, enrolled=True, in_network=True
    )
    visit = a_visit(p)

    preview = visits.check_stored_visit(engine, p.id, ACTOR, visit, AS_OF)
    assert {"license-expired", "provider-not-enrolled"} <= _rules(preview.findings)

    coded = claims_svc.code_visit(engine, p.id, ACTOR, visit, as_of=AS_OF)
    assert {"license-expired", "provider-not-enrolled"} <= _rules(coded.findings)
    assert coded.has_errors  # an expired licence blocks the claim


def test_a_licensed_enrolled_provider_gets_neither(engine: Engine) -> None:
    p = a_practice(engine)
    practice_svc.enroll_provider(
        engine,
        p.id,
        ACTOR,
        provider_id=p.provider_id,
        payer_id=p.payer_id,
        enrolled=True,
        in_network=True,
        effective_from=date(2026, 1, 1),
    )
    coded = claims_svc.code_visit(engine, p.id, ACTOR, a_visit(p, dos=DOS), as_of=AS_OF)
    assert not {"license-expired", "provider-not-enrolled"} & _rules(coded.findings)
