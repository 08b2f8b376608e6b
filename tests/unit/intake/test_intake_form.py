"""The intake form's fields ↔ the intake document: a stored version fills the form and comes back."""

from __future__ import annotations

import pytest

from therabill.domain.intake import IntakeError, intake_from_dict, intake_to_dict
from therabill.entrypoints.web.intake_form import form_values, intake_document

FULL = {
    "reason_for_care": "Neck pain after a car accident",
    "onset": {
        "date": "2026-10-02",
        "mechanism": "auto_accident",
        "accident_state": "NY",
        "claim_number": "C-1",
    },
    "current_conditions": [{"name": "whiplash", "regions": ["cervical"], "since": "2026-10-02"}],
    "past_events": [
        {"kind": "surgery", "description": "appendectomy", "date": "2019-05-01", "regions": ["abdomen"]}
    ],
    "medications": [{"name": "warfarin", "purpose": "atrial fibrillation"}],
    "allergies": [{"substance": "almond oil", "kind": "topical", "reaction": "rash"}],
    "pregnancy": {"pregnant": True, "weeks": 20, "due_date": "2027-03-20", "high_risk": False},
    "devices": [{"name": "pacemaker", "regions": ["chest"]}],
    "areas_to_avoid": [
        {"region": "abdomen", "reason": "ticklish"},
        {"region": "knee_left", "reason": "ticklish"},
    ],
    "pressure_preference": "light",
    "emergency_contact": {"name": "Sam", "phone": "555", "relationship": "spouse"},
    "physician": {"name": "Dr. Patel", "npi": "1234567893"},
    "consents": {
        "treatment": {"given": True, "date": "2026-11-01", "method": "electronic"},
        "release_of_information": {"given": True, "date": "2026-11-01", "method": "paper"},
        "assignment_of_benefits": {"given": False},
    },
    "notes": "prefers no music",
}


def test_a_stored_version_fills_the_form_and_reads_back_the_same() -> None:
    record = intake_from_dict(FULL)
    values = form_values(intake_to_dict(record))
    assert values["avoid_regions"] == "abdomen,knee_left" and values["pregnant"] == "on"
    assert "consent-assignment_of_benefits-given" not in values
    assert intake_from_dict(intake_document(values)) == record


def test_an_empty_form_is_an_empty_intake_and_a_bad_number_is_named() -> None:
    assert intake_document({}) == {}
    with pytest.raises(IntakeError) as exc:
        intake_from_dict(intake_document({"pregnant": "on", "pregnancy_weeks": "twenty"}))
    assert exc.value.problems[0].loc == "pregnancy.weeks"


def test_a_given_consent_without_date_is_refused_by_field() -> None:
    doc = intake_document({"consent-treatment-given": "on", "consent-treatment-method": "verbal"})
    with pytest.raises(IntakeError) as exc:
        intake_from_dict(doc)
    assert [p.loc for p in exc.value.problems] == ["consents.treatment.date"]
