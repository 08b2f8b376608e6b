"""The chiropractic rules beyond their catalogue cases: the milder findings and the quiet ones."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tests.unit.scrubber.cases import CASES_DIR, load, run_case
from therabill.scrubber import Finding, Severity
from therabill.scrubber.refs import cmt_policy


def _findings(name: str, tmp: Path, **changes: Any) -> list[Finding]:
    case = copy.deepcopy(load(CASES_DIR / f"{name}.json"))
    svc = case["document"]["services"][0]
    for key, value in changes.items():
        if key == "diagnoses":
            case["document"]["diagnoses"] = value
        else:
            svc[key] = value
    return [f for f in run_case(case, tmp, fixed=False).findings if f.rule_id == case["rule_id"]]


def test_the_policy_covers_every_spinal_region_once() -> None:
    p = cmt_policy()
    assert p.spinal == {"cervical", "thoracic", "lumbar", "sacral", "pelvic"}
    assert set(p.subluxation.values()) == p.spinal
    spans = sorted(p.regions.values())
    assert spans[0][0] == 1 and spans[-1][1] == len(p.spinal)
    assert all(a[1] + 1 == b[0] for a, b in zip(spans, spans[1:], strict=False))


@pytest.mark.parametrize(
    ("code", "regions", "severity", "says"),
    [
        ("98940", ["cervical", "thoracic", "lumbar"], Severity.WARNING, "Bill 98941"),
        ("98942", ["cervical", "thoracic", "lumbar", "sacral"], Severity.ERROR, "Bill 98941"),
        ("98940", ["shoulder_left"], Severity.ERROR, "98943"),
    ],
)
def test_regions_against_the_code(
    code: str, regions: list[str], severity: Severity, says: str, tmp_path: Path
) -> None:
    hits = _findings("cmt-regions-mismatch", tmp_path, code=code, body_regions=regions)
    assert [f.severity for f in hits] == [severity]
    assert says in hits[0].fix


@pytest.mark.parametrize(
    ("code", "regions"),
    [
        ("98940", ["lumbar", "sacral"]),
        ("98941", ["cervical", "thoracic", "lumbar"]),
        ("98943", ["shoulder_left"]),
    ],
)
def test_regions_that_fit_the_code_are_quiet(code: str, regions: list[str], tmp_path: Path) -> None:
    assert not _findings("cmt-regions-mismatch", tmp_path, code=code, body_regions=regions)


def test_a_level_manipulated_without_its_subluxation_is_a_warning(tmp_path: Path) -> None:
    hits = _findings(
        "medicare-cmt-subluxation-dx",
        tmp_path,
        diagnoses=["M99.03", "M54.50"],
        diagnosis_pointers=[1, 2],
        body_regions=["lumbar", "cervical"],
    )
    assert [(f.severity, f.loc) for f in hits] == [(Severity.WARNING, "services[0].body_regions")]
    assert "cervical" in hits[0].message
    quiet = _findings(
        "medicare-cmt-subluxation-dx",
        tmp_path,
        diagnoses=["M99.03", "M99.01", "M54.50"],
        diagnosis_pointers=[1, 2, 3],
        body_regions=["lumbar", "cervical"],
    )
    assert not quiet


def test_a_line_pointing_only_to_subluxations_lacks_the_condition(tmp_path: Path) -> None:
    hits = _findings(
        "medicare-cmt-subluxation-dx", tmp_path, diagnoses=["M99.03", "M54.50"], diagnosis_pointers=[1]
    )
    assert [(f.severity, f.loc) for f in hits] == [(Severity.ERROR, "services[0].diagnosis_pointers")]
    assert "secondary diagnosis" in hits[0].message


def test_a_course_dated_after_the_visit_is_an_error(tmp_path: Path) -> None:
    case = copy.deepcopy(load(CASES_DIR / "medicare-cmt-initiation-date-missing.json"))
    case["document"]["onset_date"] = "2026-11-21"
    hits = [f for f in run_case(case, tmp_path, fixed=False).findings if f.rule_id == case["rule_id"]]
    assert [(f.severity, f.loc) for f in hits] == [(Severity.ERROR, "onset_date")]
    assert "after the visit" in hits[0].message
    case["document"]["onset_date"] = "2026-11-20"  # the first visit of the course
    assert not [f for f in run_case(case, tmp_path, fixed=False).findings if f.rule_id == case["rule_id"]]


def test_a_chiropractors_excluded_service_is_not_told_to_take_an_ncci_modifier(tmp_path: Path) -> None:
    case = copy.deepcopy(load(CASES_DIR / "medicare-chiro-not-covered.json"))
    case["document"]["services"][1]["modifiers"] = []  # 97140 without GP or XS
    ids = [f.rule_id for f in run_case(case, tmp_path, fixed=False).findings]
    assert "medicare-chiro-not-covered" in ids and "ncci-ptp-modifier-missing" not in ids
    case["document"]["coverage"]["payer_profile"] = "commercial"  # a payer that pays it: the pair needs XS
    ids = [f.rule_id for f in run_case(case, tmp_path, fixed=False).findings]
    assert "ncci-ptp-modifier-missing" in ids
