"""FHIR export: a patient's record as an R4 Bundle that the R4B models accept."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.claim import Claim
from fhir.resources.R4B.explanationofbenefit import ExplanationOfBenefit
from fhir.resources.R4B.observation import Observation
from sqlalchemy import select

from tests.integration.db.builders import ACTOR, Practice, fixed_clock
from tests.integration.interop import x12_files as xf
from tests.integration.interop.conftest import ready_claim
from therabill.adapters.clearinghouse import FileDropConnector
from therabill.adapters.db.tables import claim_lines
from therabill.domain.errors import NotFoundError
from therabill.domain.money import from_cents
from therabill.service_layer import claims as claims_svc
from therabill.service_layer import submission as sub
from therabill.service_layer.interop import FhirExportError, patient_bundle, validate_bundle

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def test_bundle_of_a_billed_and_paid_patient_validates(practice: Practice, tmp_path: Path) -> None:
    claim_id = ready_claim(practice)
    drop = FileDropConnector(tmp_path / "out", tmp_path / "in", tmp_path / "arch")
    sub.submit(practice.engine, practice.id, ACTOR, drop, connector_name="desk", clock=fixed_clock)
    number = claims_svc.list_claims(practice.engine, practice.id, ACTOR)[0].claim_number
    with practice.engine.connect() as conn:
        lines = conn.execute(select(claim_lines).where(claim_lines.c.claim_id == claim_id)).all()
    (tmp_path / "in").mkdir()
    remit = [(ln.code, from_cents(ln.charge_cents), from_cents(ln.charge_cents), ln.line_id) for ln in lines]
    (tmp_path / "in" / "r.835").write_bytes(xf.remit_835(number, remit))
    sub.fetch(
        practice.engine, practice.id, ACTOR, drop, connector_name="desk", data_dir=tmp_path, clock=fixed_clock
    )

    doc = patient_bundle(practice.engine, practice.id, ACTOR, practice.patient_id, now=NOW)
    model = validate_bundle(doc)
    assert isinstance(model, Bundle) and model.type == "collection"
    kinds = [e.resource.get_resource_type() for e in model.entry]
    for kind in (
        "Patient",
        "Coverage",
        "Encounter",
        "Condition",
        "Procedure",
        "Observation",
        "Claim",
        "ExplanationOfBenefit",
    ):
        assert kind in kinds, kind
    urls = {e.fullUrl for e in model.entry}
    refs = set(re.findall(r'"reference":\s*"([^"]+)"', model.model_dump_json()))
    assert refs and refs <= urls  # every reference resolves inside the Bundle
    claim = next(e.resource for e in model.entry if isinstance(e.resource, Claim))
    assert claim.identifier[0].value == number
    assert [i.productOrService.coding[0].code for i in claim.item] == [ln.code for ln in lines]
    assert claim.total.value == sum(from_cents(ln.charge_cents) for ln in lines)
    eob = next(e.resource for e in model.entry if isinstance(e.resource, ExplanationOfBenefit))
    assert eob.payment.amount.value == claim.total.value
    obs = [e.resource for e in model.entry if isinstance(e.resource, Observation)]
    pain = next(o for o in obs if o.code.coding[0].code == "72514-3")
    assert pain.valueInteger == 6
    rom = next(o for o in obs if o.code.coding[0].code == "8340-2")
    assert rom.valueQuantity.value == 50 and rom.valueQuantity.unit == "deg"


def test_broken_bundle_is_refused_with_the_path() -> None:
    bad = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": {"resourceType": "Coverage", "id": "c1"}}],
    }
    with pytest.raises(FhirExportError) as err:
        validate_bundle(bad)
    assert err.value.problems and all(p.code == "fhir-invalid" for p in err.value.problems)


def test_unknown_patient_is_not_found(practice: Practice) -> None:
    with pytest.raises(NotFoundError):
        patient_bundle(practice.engine, practice.id, ACTOR, "0" * 32, now=NOW)
