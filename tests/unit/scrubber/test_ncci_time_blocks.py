"""Two timed services of an NCCI pair in separate 15-minute blocks: 59 is supported on one region."""

from __future__ import annotations

import copy
import json
from datetime import date

import pytest

from tests.conftest import EXAMPLES
from therabill.schemas.encounter import parse_encounter_obj
from therabill.scrubber import Finding, scrub


def _ncci(mods: list[str], minutes: tuple[int, int] = (15, 15)) -> list[Finding]:
    doc = json.loads((EXAMPLES / "medicare-pt-visit.json").read_text(encoding="utf-8"))
    line = doc["services"][0]
    doc["services"] = [
        dict(
            copy.deepcopy(line), code="97140", modifiers=["GP"], minutes=minutes[0], body_regions=["lumbar"]
        ),
        dict(
            copy.deepcopy(line),
            code="97530",
            modifiers=["GP", *mods],
            minutes=minutes[1],
            body_regions=["lumbar"],
        ),
    ]
    result = scrub(parse_encounter_obj(doc), as_of=date(2026, 11, 23))
    return [f for f in result.findings if f.rule_id.startswith("ncci-")]


def test_97530_without_59_is_an_error_whose_fix_speaks_of_time_blocks() -> None:
    hits = _ncci([])
    assert [f.rule_id for f in hits] == ["ncci-ptp-modifier-missing"]
    assert "separate 15-minute blocks" in hits[0].fix and "add 59 to 97530" in hits[0].fix


@pytest.mark.parametrize("mod", ["59", "XU"])
def test_59_on_97530_in_its_own_block_is_supported_on_one_region(mod: str) -> None:
    assert _ncci([mod]) == []


@pytest.mark.parametrize(
    ("mods", "minutes"),
    [(["XS"], (15, 15)), (["59"], (15, 5)), (["59"], (6, 15))],
    ids=["xs-same-region", "97530-under-8-minutes", "97140-under-8-minutes"],
)
def test_59_without_a_block_of_its_own_or_xs_on_one_region_is_unsupported(
    mods: list[str], minutes: tuple[int, int]
) -> None:
    assert "ncci-modifier-unsupported" in [f.rule_id for f in _ncci(mods, minutes)]
