"""Intake consents and onset reach the 837P (CLM08, CLM09, DTP*431) and the CMS-1500 (boxes 12-14)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest

from tests.conftest import EXAMPLES
from therabill.adapters.x12.envelope import EnvelopeSettings
from therabill.adapters.x12.x837p_005010X222A1 import write_837p
from therabill.domain.claim import Claim, build_claim
from therabill.domain.encounter import Consent, RelatedCauses
from therabill.domain.forms import SIGNATURE_ON_FILE, cms1500_forms
from therabill.domain.intake import apply_to_encounter, intake_from_dict
from therabill.schemas.encounter import parse_encounter
from therabill.service_layer.coding import units_of

CREATED = datetime(2026, 11, 23, 12, 0)


def consent(given_roi: bool, given_aob: bool) -> dict[str, object]:
    def one(given: bool) -> dict[str, object]:
        return {"given": given, "date": "2026-11-01", "method": "paper"} if given else {"given": False}

    return {
        "treatment": one(True),
        "release_of_information": one(given_roi),
        "assignment_of_benefits": one(given_aob),
    }


def claim_with(intake: dict[str, object]) -> Claim:
    enc = parse_encounter((EXAMPLES / "clean-60-minute-massage.json").read_bytes())
    enc = replace(enc, consent=Consent(), onset_date=None, related_causes=RelatedCauses())
    enc = apply_to_encounter(enc, intake_from_dict(intake))
    return build_claim(enc, units_of(enc.services, enc.payer_profile))


def clm(text: str) -> list[str]:
    seg = next(s for s in text.replace("\n", "").split("~") if s.startswith("CLM*"))
    return seg.split("*")


@pytest.mark.parametrize(
    ("roi", "aob", "clm08", "clm09"),
    [(True, True, "Y", "Y"), (True, False, "N", "Y"), (False, True, "Y", "I"), (False, False, "N", "I")],
)
def test_consents_set_clm08_clm09_and_boxes_12_13(roi: bool, aob: bool, clm08: str, clm09: str) -> None:
    claim = claim_with({"consents": consent(roi, aob)})
    elements = clm(write_837p([claim], EnvelopeSettings(), control_number=7, created=CREATED))
    assert (elements[8], elements[9]) == (clm08, clm09)
    fields = cms1500_forms(claim, signed_on=date(2026, 11, 23))[0].fields
    assert (fields.get("12.signature") == SIGNATURE_ON_FILE) is roi
    assert (fields.get("13.signature") == SIGNATURE_ON_FILE) is aob
    # The signature date is printed on paper only: box 12 has it, the 837P does not.
    assert ("12.date" in fields) is roi


def test_signature_date_only_on_paper() -> None:
    claim = claim_with({"consents": consent(True, True)})
    fields = cms1500_forms(claim, signed_on=date(2026, 11, 23))[0].fields
    assert fields["12.date"] == "110126"
    text = write_837p([claim], EnvelopeSettings(), control_number=7, created=CREATED)
    assert "20261101" not in text


def test_onset_and_auto_accident_reach_the_claim() -> None:
    claim = claim_with(
        {
            "onset": {"date": "2026-10-02", "mechanism": "auto_accident", "accident_state": "NY"},
            "consents": consent(True, True),
        }
    )
    text = write_837p([claim], EnvelopeSettings(), control_number=7, created=CREATED)
    assert "DTP*431*D8*20261002~" in text
    assert clm(text)[11].split(":")[0] == "AA"
    fields = cms1500_forms(claim, signed_on=date(2026, 11, 23))[0].fields
    assert fields["14.qual"] == "431"
