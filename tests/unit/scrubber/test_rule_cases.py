"""Every rule fires on its faulty document and stays quiet once the fix is applied."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.scrubber.cases import case_files, load, run_case
from therabill.scrubber import all_rules


@pytest.mark.parametrize("path", case_files(), ids=lambda p: p.stem)
def test_rule_fires_on_the_faulty_document(path: Path, tmp_path: Path) -> None:
    case = load(path)
    result = run_case(case, tmp_path, fixed=False)
    hits = [f for f in result.findings if f.rule_id == case["rule_id"]]
    assert hits, f"{case['rule_id']} did not fire: {[f.rule_id for f in result.findings]}"
    rule = next(r for r in all_rules() if r.id == case["rule_id"])
    for f in hits:
        assert f.message and f.fix and f.loc and f.source
        assert f.rule_id == rule.id
    if any(f.severity.value == "error" for f in result.findings):
        assert result.status == "errors" and result.has_errors


@pytest.mark.parametrize("path", case_files(), ids=lambda p: p.stem)
def test_rule_is_quiet_once_fixed(path: Path, tmp_path: Path) -> None:
    case = load(path)
    result = run_case(case, tmp_path, fixed=True)
    hits = [f for f in result.findings if f.rule_id == case["rule_id"]]
    assert not hits, [f.message for f in hits]
