"""Load the catalogue of faulty documents (tests/scrubber_cases) and build their contexts."""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from therabill.domain.intake import CheckResult, ContraindicationCheck, Kind
from therabill.refdata.fees import Fee, schedule_of
from therabill.refdata.ncci import MemoryNcciStore, MueEdit, PtpEdit, starter_ncci
from therabill.schemas.encounter import parse_encounter_obj
from therabill.scrubber import (
    AssignmentOnFile,
    Enrollment,
    IntakeOnFile,
    License,
    ScrubContext,
    ScrubResult,
    scrub,
)

CASES_DIR = Path(__file__).resolve().parents[2] / "scrubber_cases"


@cache
def case_files() -> tuple[Path, ...]:
    return tuple(sorted(CASES_DIR.glob("*.json")))


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def set_path(doc: Any, path: str, value: Any) -> None:
    toks: list[Any] = [int(t) if t.isdigit() else t for t in path.split(".")]
    cur = doc
    for t in toks[:-1]:
        cur = cur[t]
    cur[toks[-1]] = copy.deepcopy(value)


def _d(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def build_context(spec: dict[str, Any] | None, profile_dir: Path | None) -> ScrubContext:
    spec = spec or {}
    ncci = None
    if "ptp" in spec or "mue" in spec:
        starter = starter_ncci()
        ptp = [
            PtpEdit(r["column1"], r["column2"], date.fromisoformat(r.get("effective", "2000-01-01")),
                    _d(r.get("deletion")), r["modifier_indicator"], r.get("rationale", ""), "test row")
            for r in spec.get("ptp", ())
        ]  # fmt: skip
        mue = [
            MueEdit(
                r["code"],
                r["value"],
                r["mai"],
                "",
                date.fromisoformat(r.get("effective", "2000-01-01")),
                "test row",
            )
            for r in spec.get("mue", ())
        ]
        ncci = MemoryNcciStore(ptp or starter.pairs_among([]), mue)
    fees = None
    if "fees" in spec:
        fees = schedule_of(
            [
                Fee(r["code"], None, Decimal(r["medicare_amount"]), date(2000, 1, 1), None, "test")
                for r in spec["fees"]
            ],
            "test fees",
        )
    enrollments = (
        tuple(
            Enrollment(
                e["npi"],
                e["payer_id"],
                e.get("enrolled", True),
                _d(e.get("effective_from")),
                _d(e.get("effective_to")),
            )
            for e in spec["enrollments"]
        )
        if "enrollments" in spec
        else None
    )
    licenses = (
        tuple(License(x["npi"], x["state"], date.fromisoformat(x["expires"])) for x in spec["licenses"])
        if "licenses" in spec
        else None
    )
    assignment = (
        AssignmentOnFile(
            spec["assignment"]["accepts_assignment"],
            spec["assignment"]["signature_on_file"],
            spec["assignment"].get("benefits_assigned"),
        )
        if "assignment" in spec
        else None
    )
    return ScrubContext(
        intake=intake_of(spec["intake"]) if "intake" in spec else None,
        ncci=ncci,
        fees=fees,
        enrollments=enrollments,
        licenses=licenses,
        profile_dirs=(str(profile_dir),) if profile_dir else (),
        assignment=assignment,
    )


def intake_of(spec: dict[str, Any]) -> IntakeOnFile:
    """The intake on file of a case's ``context.intake``."""
    results = tuple(
        CheckResult(
            r["rule_id"], r["label"], Kind(r["kind"]), r["matched"], r["loc"], tuple(r.get("regions", ())),
            tuple((int(i), str(reg)) for i, reg in r.get("conflicts", ())), r.get("guidance", ""),
            r.get("source", ""),
        )
        for r in spec.get("results", ())
    )  # fmt: skip
    check = ContraindicationCheck(
        spec.get("version"), bool(spec.get("signed")), results, spec.get("table", "")
    )
    return IntakeOnFile(
        check, frozenset(spec.get("cleared", ())), spec.get("treated", True), spec.get("expected", True)
    )


def write_profiles(case: dict[str, Any], tmp: Path) -> Path | None:
    profiles = case.get("profiles")
    if not profiles:
        return None
    tmp.mkdir(parents=True, exist_ok=True)
    for name, text in profiles.items():
        (tmp / f"{name}.toml").write_text(text, encoding="utf-8")
    return tmp


def run_case(case: dict[str, Any], tmp: Path, fixed: bool) -> ScrubResult:
    doc = copy.deepcopy(case["document"])
    as_of = case["as_of"]
    ctx_spec = case.get("context")
    if fixed:
        fix = case["fix"]
        for path, value in fix.get("set", ()):
            set_path(doc, path, value)
        as_of = fix.get("as_of", as_of)
        ctx_spec = fix.get("context", ctx_spec)
    profile_dir = write_profiles(case, tmp)
    return scrub(
        parse_encounter_obj(doc),
        as_of=date.fromisoformat(as_of),
        context=build_context(ctx_spec, profile_dir),
    )
