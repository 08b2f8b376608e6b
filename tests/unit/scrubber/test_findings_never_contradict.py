"""Findings never contradict each other: over the 97124 + 97140 grid (the regions of the two
lines × the modifiers on each × every shipped payer profile × with and without an NCCI pair
between them), following any finding's fix, and then the fixes of what the claim check says
next, never leads to a finding whose fix undoes a fix already followed.

A fix is read as the action its words ask for (``action_of``: "Add 59 ..." adds a 59/X
modifier to the line, "Remove 59 ..." removes it, "Replace XS with 59" does that, "correct the
regions" gives the line a region of its own); two actions undo each other when they are each
other's inverse on the same line while the facts they rest on are unchanged: moving a line to
its own region changes them, so a modifier fix before the move may be reversed after it.
Findings without such an action (remove a code, check a diagnosis) change nothing here.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
from datetime import date
from typing import Any

import pytest

from tests.conftest import EXAMPLES
from therabill.refdata.ncci import MemoryNcciStore, PtpEdit
from therabill.schemas.encounter import parse_encounter
from therabill.scrubber import ScrubContext, scrub

AS_OF = date(2026, 11, 23)
BASE = json.loads((EXAMPLES / "massage-and-manual-therapy-two-regions.json").read_text(encoding="utf-8"))
PROFILES = (
    "commercial",
    "medicare",
    "medicare_advantage",
    "medicaid",
    "workers_comp",
    "auto_no_fault",
    "hsa_fsa",
)
REGIONS = {  # (97124's regions, 97140's regions)
    "same": (["lumbar"], ["lumbar"]),
    "separate": (["lumbar"], ["cervical"]),
    "overlapping": (["lumbar"], ["lumbar", "cervical"]),
    "undocumented": ([], []),
}
MODIFIERS = ([], ["59"], ["XS"])
PAIR = PtpEdit("97124", "97140", date(2020, 1, 1), None, "1", "test pair", "test")

Action = tuple[str, int]  # (verb, line index)
INVERSE = {
    "add-modifier": "remove-modifier",
    "remove-modifier": "add-modifier",
    "separate-regions": "join-regions",
}
RULES = {
    "ncci-ptp-modifier-missing",
    "ncci-modifier-unneeded",
    "ncci-modifier-unsupported",
    "ncci-x-modifier-not-accepted",
    "massage-manual-same-region",
}


def action_of(rule_id: str, fix: str) -> str | None:
    """The action a finding's fix asks for, read from its words (None: none of the grid's)."""
    if rule_id not in RULES:
        return None
    if fix.startswith("Add "):
        return "add-modifier"
    if fix.startswith("Replace ") and " with 59" in fix:
        return "x-to-59"
    if fix.startswith("Remove ") and any(m in fix.split(" and ")[0] for m in ("59", "XE", "XS", "XP", "XU")):
        return "remove-modifier"
    if "correct the regions" in fix or "separate region" in fix.split(".")[0]:
        return "separate-regions"
    return None


def _line(loc: str) -> int:
    assert loc.startswith("services["), loc
    return int(loc[len("services[") :].split("]")[0])


def _document(profile: str, regions: str, mods: tuple[list[str], list[str]]) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    doc["coverage"]["payer_profile"] = profile
    for i, (code, found, mod) in enumerate(zip(("97124", "97140"), REGIONS[regions], mods, strict=True)):
        doc["services"][i].update(code=code, body_regions=list(found), modifiers=list(mod))
    return doc


def _apply(doc: dict[str, Any], verb: str, line: int) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    svc = out["services"][line]
    bypass = {"59", "XE", "XS", "XP", "XU"}
    if verb == "add-modifier":
        svc["modifiers"] = [*svc["modifiers"], "59"]
    elif verb == "remove-modifier":
        svc["modifiers"] = [m for m in svc["modifiers"] if m not in bypass]
    elif verb == "x-to-59":
        svc["modifiers"] = [("59" if m in bypass else m) for m in svc["modifiers"]]
    elif verb == "separate-regions":
        others = {r for i, s in enumerate(out["services"]) if i != line for r in s["body_regions"]}
        own = [r for r in svc["body_regions"] if r not in others]
        svc["body_regions"] = own or ["thoracic"]
    return out


def _actions(doc: dict[str, Any], pair: bool) -> tuple[tuple[str, Action], ...]:
    return _actions_of(json.dumps(doc, sort_keys=True), pair)


@functools.cache
def _actions_of(text: str, pair: bool) -> tuple[tuple[str, Action], ...]:
    context = ScrubContext(ncci=MemoryNcciStore([PAIR] if pair else []))
    result = scrub(parse_encounter(text), as_of=AS_OF, context=context)
    found = []
    for f in result.findings:
        verb = action_of(f.rule_id, f.fix or "")
        if verb and f.loc:
            found.append((f.rule_id, (verb, _line(f.loc))))
    return tuple(found)


def _walk(doc: dict[str, Any], pair: bool, done: list[tuple[str, Action]], depth: int) -> list[str]:
    """Follow every fix from ``doc`` up to ``depth`` steps; the contradictions met on the way."""
    problems = []
    standing = []  # fixes whose facts still hold: a region move resets the modifier fixes before it
    for step in done:
        if step[1][0] == "separate-regions":
            standing = [s for s in standing if s[1][1] != step[1][1]]
        standing.append(step)
    for rule_id, (verb, line) in _actions(doc, pair):
        for earlier_rule, (earlier_verb, earlier_line) in standing:
            if earlier_line == line and INVERSE.get(earlier_verb) == verb:
                path = " → ".join(f"{r}: {v} line {n + 1}" for r, (v, n) in done)
                problems.append(f"{path} → {rule_id} says {verb} line {line + 1}, undoing {earlier_rule}")
        if depth and not any(a == (verb, line) for _, a in done):
            problems += _walk(_apply(doc, verb, line), pair, [*done, (rule_id, (verb, line))], depth - 1)
    return problems


GRID = list(itertools.product(PROFILES, REGIONS, itertools.product(MODIFIERS, MODIFIERS), (False, True)))


@pytest.mark.parametrize(("profile", "regions", "mods", "pair"), GRID)
def test_following_a_fix_never_leads_to_a_finding_that_undoes_it(
    profile: str, regions: str, mods: tuple[list[str], list[str]], pair: bool
) -> None:
    problems = _walk(_document(profile, regions, mods), pair, [], depth=3)
    assert not problems, "\n".join(sorted(set(problems)))


def test_the_grid_meets_the_findings_it_is_about() -> None:
    """The grid is not vacuous: each finding with an action is met, and fixes are followed."""
    met = set()
    for profile, regions, mods, pair in GRID:
        met |= {r for r, _ in _actions(_document(profile, regions, mods), pair)}
    assert {"massage-manual-same-region", "ncci-modifier-unneeded", "ncci-ptp-modifier-missing"} <= met, met


def test_the_check_catches_a_fix_that_is_undone() -> None:
    """The detector itself: a 59 added for a pair, then called unneeded once the pair is gone."""
    doc = _document("commercial", "separate", ([], []))
    added = _apply(doc, "add-modifier", 1)
    done = [("ncci-ptp-modifier-missing", ("add-modifier", 1))]
    problems = _walk(added, False, done, depth=0)  # without the pair the 59 is unneeded
    assert problems and "ncci-modifier-unneeded" in problems[0]
