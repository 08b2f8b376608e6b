"""The fast path skips rules and reuses cached results; it must report exactly what running
every rule does. A seeded generator recombines the faulty documents of tests/scrubber_cases
and the examples into a few hundred varied encounters (profiles, codes, modifiers, minutes,
units, pointers, diagnoses, dates, NCCI/MUE tables, records) and compares both paths."""

from __future__ import annotations

import copy
import json
import random
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES
from tests.unit.scrubber.cases import case_files, intake_of, load, set_path
from therabill.refdata.fees import Fee, schedule_of
from therabill.refdata.ncci import MemoryNcciStore, MueEdit, PtpEdit
from therabill.schemas.encounter import DocumentError, parse_encounter, parse_encounter_obj
from therabill.scrubber import AssignmentOnFile, Enrollment, License, ScrubContext, all_rules, scrub
from therabill.scrubber.engine import _fast_plan, _profile_fast, _units_fast
from therabill.scrubber.gates import TAGS, bit_of, facts

SEED = 20261123
SAMPLES = 1000
AS_OF = date(2026, 11, 23)
PROFILES = [
    "medicare",
    "medicare_advantage",
    "medicaid",
    "commercial",
    "workers_comp",
    "auto_no_fault",
    "medicare_strict",
    "hmo_plan",
    "hsa_fsa",
    "no_such_profile",
    None,
]
MODIFIERS = [
    "59",
    "XS",
    "XE",
    "XU",
    "XP",
    "GP",
    "GO",
    "GN",
    "GY",
    "KX",
    "25",
    "26",
    "TC",
    "52",
    "CQ",
    "CO",
    "AT",
    "76",
]
CODES = ["97124", "97140", "97110", "97112", "97530", "98940", "98941", "98943", "99213", "97161",
         "97010", "97014", "G0283", "97810", "97811", "99999", "97113", "97760", "97546", "98926",
         "97129", "97130"]  # fmt: skip
TOP_LEVEL = [
    "coverage", "billing_provider", "rendering_provider", "referring_provider", "service_facility",
    "patient", "documentation", "plan_of_care", "prior_claims", "other_coverages", "start_time",
    "end_time", "claim_frequency", "payer_claim_control_number", "diagnoses", "date_of_service",
    "place_of_service", "orders_on_file",
]  # fmt: skip
TAXONOMIES = [("225100000X", "PT"), ("225200000X", "PTA"), ("225X00000X", "OTR/L"), ("224Z00000X", "COTA"),
              ("111N00000X", "DC"), ("225700000X", "LMT"), (None, "DC"), (None, "PTA"), ("2251S0007X", None)]  # fmt: skip
BLANKABLE = [
    ("documentation", "medical_necessity"), ("documentation", "subjective"), ("documentation", "assessment"),
    ("documentation", "plan"), ("documentation", "goals"), ("billing_provider", "npi"),
    ("billing_provider", "tax_id"), ("coverage", "member_id"), ("coverage", "eligibility_verified_on"),
    ("coverage", "referral_number"), ("coverage", "authorization"), ("rendering_provider", "taxonomy"),
]  # fmt: skip


@cache
def _documents() -> tuple[dict[str, Any], ...]:
    """Every faulty case document, its fixed version, and the examples."""
    docs = []
    for path in case_files():
        case = load(path)
        docs.append(case["document"])
        fixed = copy.deepcopy(case["document"])
        for p, value in case["fix"].get("set", ()):
            set_path(fixed, p, value)
        docs.append(fixed)
    docs.extend(json.loads(p.read_text(encoding="utf-8")) for p in sorted(EXAMPLES.glob("*.json")))
    return tuple(docs)


@pytest.fixture(scope="module")
def profile_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The practice profiles the cases define (medicare_strict, hmo_plan)."""
    d = tmp_path_factory.mktemp("profiles")
    for path in case_files():
        for name, text in (load(path).get("profiles") or {}).items():
            (d / f"{name}.toml").write_text(text, encoding="utf-8")
    return d


def _store(rng: random.Random) -> MemoryNcciStore:
    pairs = [
        PtpEdit(c1, c2, date(rng.choice([2000, 2026, 2027]), 1, 1),
                rng.choice([None, None, date(2026, 6, 30), date(2027, 12, 31)]),
                rng.choice("0119"), "test pair", "test table")
        for c1 in CODES for c2 in CODES if c1 != c2 and rng.random() < 0.12
    ]  # fmt: skip
    # sometimes only a future quarter's table was imported (no table in force before it)
    quarters = rng.choice([[date(2020, 1, 1), date(2026, 7, 1)], [date(2027, 1, 1)]])
    mues = [
        MueEdit(
            c,
            rng.randint(1, 4),
            rng.choice("123"),
            "test",
            rng.choice(quarters),
            "test table",
        )
        for c in CODES
        if rng.random() < 0.5
    ]
    return MemoryNcciStore(pairs, mues, "test PTP table", "test MUE table")


@cache
def _intake_specs() -> tuple[dict[str, Any], ...]:
    """The intakes on file of the intake rules' cases, faulty and fixed."""
    specs = [
        spec
        for case in map(load, case_files())
        for spec in (case.get("context") or {}, case["fix"].get("context") or {})
    ]
    return tuple(spec["intake"] for spec in specs if "intake" in spec)


def _context(rng: random.Random, doc: dict[str, Any], profile_dir: Path) -> ScrubContext:
    npis = [
        (doc.get(role) or {}).get("npi") or "1245319599"
        for role in ("rendering_provider", "billing_provider")
    ]
    payer = (doc.get("coverage") or {}).get("payer_id") or "BCBSIL"
    enrollments = None
    if rng.random() < 0.3:
        enrollments = tuple(
            Enrollment(npi, rng.choice([payer, "OTHER"]), rng.random() < 0.6,
                       rng.choice([None, date(2026, 12, 1)]), rng.choice([None, date(2026, 1, 31)]))
            for npi in npis
        )  # fmt: skip
    licenses = None
    if rng.random() < 0.3:
        licenses = tuple(
            License(npi, rng.choice(["IL", "WI"]), rng.choice([date(2026, 1, 31), date(2028, 1, 31)]))
            for npi in npis
        )
    fees = None
    if rng.random() < 0.3:
        fees = schedule_of(
            [Fee(c, None, Decimal(rng.randint(10, 900)), date(2000, 1, 1), None, "test") for c in CODES],
            "test fees",
        )
    assignment = None
    if rng.random() < 0.3:
        assignment = AssignmentOnFile(rng.random() < 0.5, rng.random() < 0.5, rng.choice([True, False, None]))
    intake = intake_of(rng.choice(_intake_specs())) if rng.random() < 0.3 else None
    return ScrubContext(
        intake=intake,
        ncci=_store(rng) if rng.random() < 0.6 else None,
        fees=fees,
        enrollments=enrollments,
        licenses=licenses,
        profile_dirs=(str(profile_dir),),
        assignment=assignment,
    )


def _mutate(rng: random.Random, docs: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    doc = copy.deepcopy(rng.choice(docs))
    for key in TOP_LEVEL:
        if rng.random() < 0.2:
            donor = rng.choice(docs)
            if key in donor:
                doc[key] = copy.deepcopy(donor[key])
    all_services = [s for d in docs for s in d.get("services", ())]
    if rng.random() < 0.7:
        doc["services"] = [copy.deepcopy(rng.choice(all_services)) for _ in range(rng.randint(1, 4))]
    for s in doc.get("services", ()):
        if rng.random() < 0.5:
            s["minutes"] = max(0, s.get("minutes", 0) + rng.randint(-14, 14))
        if rng.random() < 0.3:
            s["units"] = rng.choice([None, 0, 1, 2, 3, 4, 6])
        if rng.random() < 0.25:
            s["code"] = rng.choice(CODES)
        if rng.random() < 0.3:
            s["modifiers"] = rng.sample(MODIFIERS, rng.randint(0, 5))
        if rng.random() < 0.15:
            s["diagnosis_pointers"] = [rng.randint(0, 6) for _ in range(rng.randint(0, 5))]
    if rng.random() < 0.2:
        pool = sorted({c for d in docs for c in d.get("diagnoses", ())})
        doc["diagnoses"] = rng.sample(pool, min(len(pool), rng.randint(0, 13)))
    if isinstance(doc.get("rendering_provider"), dict) and rng.random() < 0.3:
        doc["rendering_provider"]["taxonomy"], doc["rendering_provider"]["credential"] = rng.choice(
            TAXONOMIES
        )
    if rng.random() < 0.15:  # orders on file around the date of service
        dos = date.fromisoformat(doc["date_of_service"])
        doc["orders_on_file"] = [
            {"kind": rng.choice(["prescription", "referral", "letter_of_medical_necessity"]),
             "issued_on": (dos - timedelta(days=rng.randint(-5, 60))).isoformat(),
             "expires_on": rng.choice([None, (dos + timedelta(days=rng.randint(-30, 30))).isoformat()])}
            for _ in range(rng.randint(0, 2))
        ]  # fmt: skip
    if rng.random() < 0.15:
        doc["place_of_service"] = rng.choice(["02", "10", "11", "12"])
    if rng.random() < 0.15:  # an earlier claim of the same day repeating one of these lines
        svcs = doc.get("services") or [{"code": "97124", "modifiers": []}]
        s0 = rng.choice(svcs)
        doc["prior_claims"] = [{"claim_id": "C-1", "date_of_service": doc["date_of_service"], "code": s0["code"],
                                "modifiers": list(s0.get("modifiers", [])), "units": 1, "minutes": 15,
                                "rendering_npi": rng.choice([None, "1245319599", "1669324703"])}]  # fmt: skip
    for outer, field in BLANKABLE:
        if isinstance(doc.get(outer), dict) and rng.random() < 0.05:
            doc[outer][field] = [] if field == "goals" else None
    cov = doc.get("coverage") or {}
    auth = cov.get("authorization")
    if auth and rng.random() < 0.5:  # near the authorization's limits
        if auth.get("units_allowed") is not None:
            auth["units_used"] = max(0, auth["units_allowed"] - rng.randint(0, 6))
        if auth.get("visits_allowed") is not None:
            auth["visits_used"] = max(0, auth["visits_allowed"] - rng.randint(0, 2))
        auth["units_pooled"] = rng.random() < 0.5
    if cov and rng.random() < 0.3:  # near the eligibility age limit
        dos = date.fromisoformat(doc["date_of_service"])
        cov["eligibility_verified_on"] = (dos - timedelta(days=rng.randint(25, 95))).isoformat()
    if doc.get("coverage") and rng.random() < 0.5:
        doc["coverage"]["payer_profile"] = rng.choice(PROFILES)
    if rng.random() < 0.4:
        dos = date.fromisoformat(doc["date_of_service"]) + timedelta(days=rng.randint(-700, 5))
        doc["date_of_service"] = dos.isoformat()
    return doc


def test_fast_path_reports_exactly_what_every_rule_reports(profile_dir: Path) -> None:
    rng = random.Random(SEED)
    docs = _documents()
    fired: set[str] = set()
    compared = 0
    for n in range(SAMPLES):
        doc = _mutate(rng, docs)
        try:
            enc = parse_encounter_obj(doc)
        except DocumentError:
            continue
        ctx = _context(rng, doc, profile_dir)
        as_of = enc.date_of_service + timedelta(days=rng.choice([-3, 0, 3, 60, 200, 364, 400, 800]))
        reference = scrub(enc, as_of=as_of, context=ctx, fast=False)
        fast = scrub(enc, as_of=as_of, context=ctx)
        assert fast.findings == reference.findings, f"sample {n} (seed {SEED}) of {enc.encounter_id}"
        assert fast.as_dict() == reference.as_dict(), f"sample {n} (seed {SEED})"
        fired.update(f.rule_id for f in reference.findings)
        compared += 1
    assert compared >= SAMPLES * 0.8, f"only {compared} of {SAMPLES} generated documents parsed"
    # The comparison means something only if the samples make most rules fire.
    missing = sorted({r.id for r in all_rules()} - fired)
    assert len(missing) <= 3, f"rules that never fired in the samples: {missing}"


@pytest.mark.parametrize("path", case_files(), ids=lambda p: p.stem)
def test_fast_path_matches_on_every_case(path: Path, tmp_path: Path) -> None:
    """Each catalogued mistake, faulty and fixed, gives the same findings on both paths."""
    from tests.unit.scrubber.cases import build_context, write_profiles

    case = load(path)
    profile_dir = write_profiles(case, tmp_path)
    for fixed in (False, True):
        doc = copy.deepcopy(case["document"])
        as_of, spec = case["as_of"], case.get("context")
        if fixed:
            for p, value in case["fix"].get("set", ()):
                set_path(doc, p, value)
            as_of = case["fix"].get("as_of", as_of)
            spec = case["fix"].get("context", spec)
        enc = parse_encounter_obj(doc)
        ctx = build_context(spec, profile_dir)
        day = date.fromisoformat(as_of)
        assert (
            scrub(enc, as_of=day, context=ctx).findings
            == scrub(enc, as_of=day, context=ctx, fast=False).findings
        )


def test_every_needed_fact_is_known() -> None:
    for r in all_rules():
        if r.needs is not None:
            assert r.needs in TAGS, f"{r.id} needs the unknown fact {r.needs!r}"
            assert bit_of(r.needs) == TAGS[r.needs]


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_a_clean_visit_runs_few_rules(path: Path) -> None:
    """The point of the fast path: most rules are skipped on an ordinary visit."""
    from therabill.refdata.catalog import default_catalog
    from therabill.refdata.ncci import default_ncci
    from therabill.scrubber.context import RuleContext

    enc = parse_encounter(path.read_text(encoding="utf-8"))
    profile, error = _profile_fast(enc, ())
    plan = _fast_plan(profile)
    ctx = RuleContext(
        enc, AS_OF, profile, error, _units_fast(enc, profile), default_catalog(), default_ncci(),
        None, None, None,
    )  # fmt: skip
    runnable = plan.runnable(facts(enc, ctx, plan.wanted))
    assert len(runnable) <= len(plan.entries) // 8, [r.id for r, _, _ in runnable]
