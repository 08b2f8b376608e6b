"""The intake domain: document round trip, the contraindication check, clearance, claim fields."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from therabill.domain.errors import ReferenceDataError
from therabill.domain.intake import (
    Clearance,
    IntakeError,
    IntakeRecord,
    IntakeVersion,
    Kind,
    Pregnancy,
    VisitFacts,
    billing_problems,
    check_visit,
    claim_fields,
    intake_from_dict,
    intake_to_dict,
    next_version,
    uncleared,
)
from therabill.refdata.catalog import body_regions
from therabill.refdata.contraindications import default_contraindications, load_contraindications

DOS = date(2026, 11, 20)
TABLE = default_contraindications()
REGIONS = body_regions()

FULL = {
    "reason_for_care": "Neck pain after a car accident",
    "onset": {
        "date": "2026-10-02",
        "mechanism": "auto_accident",
        "description": "rear-ended at a stop light",
        "accident_state": "ny",
        "claim_number": "PC-55501",
    },
    "current_conditions": [{"name": "whiplash", "regions": ["cervical"], "since": "2026-10-02"}],
    "past_events": [
        {"kind": "surgery", "description": "appendectomy", "date": "2015-06-01", "regions": ["abdomen"]}
    ],
    "medications": [{"name": "ibuprofen", "purpose": "pain"}],
    "allergies": [{"substance": "almond oil", "kind": "topical", "reaction": "hives"}],
    "pregnancy": {"pregnant": False},
    "devices": [],
    "areas_to_avoid": [{"region": "abdomen", "reason": "ticklish"}],
    "pressure_preference": "medium",
    "emergency_contact": {"name": "Sam Miller", "phone": "8455550101", "relationship": "spouse"},
    "physician": {"name": "Dr. Priya Patel", "phone": "8455550177", "npi": "1234567893"},
    "consents": {
        "treatment": {"given": True, "date": "2026-11-01", "method": "electronic"},
        "release_of_information": {"given": True, "date": "2026-11-01", "method": "paper"},
        "assignment_of_benefits": {"given": True, "date": "2026-11-01", "method": "paper"},
    },
    "notes": None,
}


def rec(**parts: object) -> IntakeRecord:
    return intake_from_dict(parts, regions=REGIONS)


def facts(*lines: tuple[str, ...], reported: tuple[str, ...] = (), treated: bool = True) -> VisitFacts:
    return VisitFacts(DOS, tuple(lines), reported, treated)


# -- the document --------------------------------------------------------------------------


def test_round_trip_keeps_every_field() -> None:
    record = intake_from_dict(FULL, regions=REGIONS)
    assert record.onset.accident_state == "NY"
    assert record.allergies[0].kind == "topical"
    again = intake_from_dict(intake_to_dict(record), regions=REGIONS)
    assert again == record


def test_every_problem_is_reported_with_its_field() -> None:
    bad = {
        "onset": {"date": "2026-13-01", "mechanism": "fell"},
        "areas_to_avoid": ["elbow"],
        "consents": {"release_of_information": {"given": True}},
        "pregnancy": {"pregnant": "yes", "weeks": 60},
        "favourite_colour": "blue",
    }
    with pytest.raises(IntakeError) as exc:
        intake_from_dict(bad, regions=REGIONS)
    locs = {p.loc: p.code for p in exc.value.problems}
    assert locs["onset.date"] == "intake-date"
    assert locs["onset.mechanism"] == "intake-choice"
    assert locs["areas_to_avoid[0].region[0]"] == "intake-region-unknown"
    assert locs["consents.release_of_information.date"] == "intake-consent-date-missing"
    assert locs["consents.release_of_information.method"] == "intake-consent-method-missing"
    assert locs["pregnancy.pregnant"] == "intake-type"
    assert locs["pregnancy.weeks"] == "intake-weeks"
    assert locs["favourite_colour"] == "intake-field-unknown"


def test_auto_accident_needs_its_state() -> None:
    with pytest.raises(IntakeError) as exc:
        rec(onset={"mechanism": "auto_accident", "date": "2026-10-02"})
    assert [p.code for p in exc.value.problems] == ["intake-accident-state-missing"]


def test_versions_count_up_and_old_ones_stay() -> None:
    at = datetime(2026, 11, 1, tzinfo=UTC)
    v1 = IntakeVersion("a", "p", next_version([]), rec(), "front", at)
    v2 = IntakeVersion("b", "p", next_version([v1]), rec(reason_for_care="low back"), "front", at)
    assert (v1.version, v2.version) == (1, 2)
    assert next_version([v2, v1]) == 3
    assert not v2.signed and replace(v2, signed_by="user:t").signed


# -- the check -------------------------------------------------------------------------------


def test_pregnancy_is_a_precaution_not_a_contraindication() -> None:
    check = check_visit(rec(pregnancy={"pregnant": True, "weeks": 24}), facts(("lumbar",)), TABLE)
    assert [(r.rule_id, r.kind) for r in check.results] == [("pregnancy", Kind.PRECAUTION)]
    assert check.absolute == () and billing_problems(check, (), facts(("lumbar",))) == ()


def test_high_risk_pregnancy_needs_clearance() -> None:
    check = check_visit(rec(pregnancy={"pregnant": True, "high_risk": True}), facts(("lumbar",)), TABLE)
    assert {r.rule_id for r in check.absolute} == {"high-risk-pregnancy"}


@pytest.mark.parametrize(
    ("field", "value", "rule", "kind"),
    [
        ("current_conditions", ["DVT in left calf"], "deep-vein-thrombosis", Kind.ABSOLUTE),
        ("current_conditions", ["Fever"], "fever", Kind.ABSOLUTE),
        ("medications", ["Xarelto 20 mg"], "anticoagulants", Kind.PRECAUTION),
        ("medications", ["warfarin"], "anticoagulants", Kind.PRECAUTION),
        ("current_conditions", ["breast cancer, on chemotherapy"], "cancer-treatment", Kind.PRECAUTION),
        ("current_conditions", ["osteoporosis"], "osteoporosis", Kind.PRECAUTION),
        ("devices", ["pacemaker"], "implanted-cardiac-device", Kind.LOCAL),
        ("allergies", [{"substance": "lanolin", "kind": "topical"}], "topical-allergy", Kind.PRECAUTION),
    ],
)
def test_table_entries_match(field: str, value: list[object], rule: str, kind: Kind) -> None:
    check = check_visit(rec(**{field: value}), facts(("cervical",)), TABLE)
    found = {(r.rule_id, r.kind) for r in check.results}
    assert (rule, kind) in found


def test_keywords_match_whole_words_only() -> None:
    # "sprint" must not match "sprain"; "portfolio" must not match "port".
    check = check_visit(rec(current_conditions=["sprint training"], devices=["portfolio"]), facts(), TABLE)
    assert check.results == ()


def test_a_food_allergy_is_not_a_lubricant_precaution() -> None:
    check = check_visit(rec(allergies=[{"substance": "peanuts", "kind": "food"}]), facts(), TABLE)
    assert check.results == ()


def test_recent_surgery_is_local_only_inside_its_window() -> None:
    surgery = {"kind": "surgery", "description": "knee arthroscopy", "regions": ["knee_left"]}
    recent = rec(past_events=[{**surgery, "date": "2026-11-01"}])
    old = rec(past_events=[{**surgery, "date": "2026-08-01"}])
    visit = facts(("thigh_left", "knee_left"), ("lumbar",))
    check = check_visit(recent, visit, TABLE)
    (local,) = check.local
    assert local.rule_id == "recent-surgery" and local.regions == ("knee_left",)
    assert check.conflicts == ((0, "knee_left"),)
    assert check_visit(old, visit, TABLE).results == ()


def test_local_shows_where_not_to_work_with_defaults() -> None:
    check = check_visit(
        rec(devices=["pacemaker"], areas_to_avoid=["abdomen"], current_conditions=["varicose veins"]),
        facts(("lumbar",)),
        TABLE,
    )
    assert check.avoid_regions == (
        "abdomen",
        "chest",
        "lower_leg_left",
        "lower_leg_right",
        "thigh_left",
        "thigh_right",
    )
    assert check.conflicts == ()


def test_reported_on_the_day_counts_even_without_an_intake() -> None:
    check = check_visit(None, facts(("lumbar",), reported=("fever 38.5 C",)), TABLE)
    assert check.intake_version is None
    assert [r.loc for r in check.absolute] == ["reported[0]"]


def test_absolute_blocks_billing_until_cleared_and_never_an_untreated_visit() -> None:
    check = check_visit(rec(current_conditions=["fever"]), facts(("lumbar",)), TABLE)
    problems = billing_problems(check, (), facts(("lumbar",)))
    assert [p.code for p in problems] == ["intake-contraindication-uncleared"]
    assert billing_problems(check, (), facts(treated=False)) == ()
    clearance = Clearance("v1", "fever", "user:t", datetime(2026, 11, 20, tzinfo=UTC), "physician note")
    assert uncleared(check, [clearance]) == ()
    assert billing_problems(check, [clearance], facts(("lumbar",))) == ()
    other = replace(clearance, rule_id="deep-vein-thrombosis")
    assert len(billing_problems(check, [other], facts(("lumbar",)))) == 1


REGION_IDS = sorted(REGIONS)


@settings(max_examples=60)
@given(
    avoid=st.lists(st.sampled_from(REGION_IDS), max_size=4, unique=True),
    lines=st.lists(st.lists(st.sampled_from(REGION_IDS), max_size=3, unique=True), max_size=3),
)
def test_conflicts_are_exactly_treated_regions_marked_avoid(avoid: list[str], lines: list[list[str]]) -> None:
    check = check_visit(rec(areas_to_avoid=avoid), facts(*map(tuple, lines)), TABLE)
    expected = {(i, r) for i, line in enumerate(lines) for r in line if r in avoid}
    assert set(check.conflicts) == expected
    assert set(check.avoid_regions) == set(avoid)


# -- claim fields ----------------------------------------------------------------------------


def test_consents_map_to_the_claim_fields() -> None:
    consent, onset, causes = claim_fields(intake_from_dict(FULL, regions=REGIONS))
    assert consent.release_of_information and consent.benefits_assigned
    assert consent.signature_date == date(2026, 11, 1)
    assert onset == date(2026, 10, 2)
    assert causes.auto_accident and causes.auto_accident_state == "NY"
    assert causes.accident_date == date(2026, 10, 2) and not causes.employment
    assert causes.property_casualty_claim_number == "PC-55501"


def test_no_consent_no_signature_and_gradual_onset_no_causes() -> None:
    consent, onset, causes = claim_fields(rec(onset={"mechanism": "gradual", "date": "2026-01-10"}))
    assert (consent.release_of_information, consent.benefits_assigned, consent.signature_date) == (
        False,
        False,
        None,
    )
    assert onset == date(2026, 1, 10) and not causes.any and causes.accident_date is None


def test_work_injury_sets_employment() -> None:
    _, _, causes = claim_fields(rec(onset={"mechanism": "work", "date": "2026-09-09"}))
    assert causes.employment and causes.accident_date == date(2026, 9, 9)


# -- the table -------------------------------------------------------------------------------


def test_shipped_table_is_sourced_and_pregnancy_is_a_precaution() -> None:
    rules = {r.id: r for r in TABLE.rules}
    for needed in (
        "deep-vein-thrombosis",
        "anticoagulants",
        "recent-surgery",
        "fever",
        "open-wound-skin-infection",
        "pregnancy",
        "cancer-treatment",
        "osteoporosis",
    ):
        assert needed in rules
    assert rules["pregnancy"].kind is Kind.PRECAUTION
    assert rules["deep-vein-thrombosis"].kind is Kind.ABSOLUTE
    assert all(r.source for r in TABLE.rules)
    assert all(r.review for r in TABLE.rules if "[M]" in r.source)


def test_a_bad_table_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "c.toml"
    bad.write_text(
        '[meta]\nname="x"\nversion="1"\n[[rule]]\nid="a"\nlabel="A"\nkind="maybe"\napplies_to=["conditions"]\nsource="s"\n'
    )
    with pytest.raises(ReferenceDataError):
        load_contraindications(bad)
    bad.write_text(
        '[meta]\nname="x"\nversion="1"\n[[rule]]\nid="a"\nlabel="A"\nkind="local"\napplies_to=["conditions"]\nsource="s"\ndefault_regions=["elbow"]\n'
    )
    with pytest.raises(ReferenceDataError):
        load_contraindications(bad)


def test_a_practice_table_replaces_the_shipped_one(tmp_path: Path) -> None:
    own = tmp_path / "c.toml"
    own.write_text(
        '[meta]\nname="own"\nversion="2027-01-01"\n[[rule]]\nid="pregnancy"\nlabel="P"\nkind="absolute"\napplies_to=["pregnancy"]\nsource="our review"\n'
    )
    table = load_contraindications(own)
    check = check_visit(IntakeRecord(pregnancy=Pregnancy(pregnant=True)), facts(), table)
    assert [r.kind for r in check.results] == [Kind.ABSOLUTE]
