"""Diagnosis rules: presence, ICD-10-CM validity, pointers, medical necessity, body regions."""

from __future__ import annotations

from collections.abc import Iterator

from therabill.domain.encounter import Encounter
from therabill.scrubber.context import RuleContext
from therabill.scrubber.finding import Finding, Severity
from therabill.scrubber.refs import (
    dx_check,
    dx_guidelines_source,
    dx_laterality,
    dx_regions,
    dx_regions_source,
    dx_seventh,
    dx_sex,
    exclusion_of,
    exclusions_source,
)
from therabill.scrubber.registry import rule
from therabill.scrubber.rules._util import line_no, svc, words

_ICD = "ICD-10-CM release in force on the date of service (therabill.refdata.icd10)"
_GUIDE = "ICD-10-CM Official Guidelines for Coding and Reporting"


def _dx(i: int) -> str:
    return f"diagnoses[{i}]"


@rule("dx-missing", Severity.ERROR, family="diagnoses", title="No diagnosis on the claim",
      source="837P HI segment is required; CMS-1500 box 21 (billing-rules.md §9)", needs="dx-none")  # fmt: skip
def dx_missing(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    if not enc.diagnoses:
        yield ctx.finding(
            "diagnoses",
            "The claim has no diagnosis; every claim needs at least one ICD-10-CM code.",
            "Enter the diagnoses from the referral or your assessment, the primary one first.",
        )


@rule("dx-too-many", Severity.ERROR, family="diagnoses", title="More than twelve diagnoses",
      source="837P HI01-HI12; CMS-1500 box 21 A-L (billing-rules.md §9)", needs="dx-over-12")  # fmt: skip
def dx_too_many(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    if len(enc.diagnoses) > 12:
        yield ctx.finding(
            "diagnoses",
            f"The claim lists {len(enc.diagnoses)} diagnoses; a claim carries twelve.",
            "Keep the twelve that the services point to, the primary one first.",
        )


@rule("dx-invalid", Severity.ERROR, family="diagnoses",
      title="A diagnosis that is not an ICD-10-CM code in the release in force", source=_ICD, needs="dx-invalid")  # fmt: skip
def dx_invalid(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    for i, code in enumerate(enc.diagnoses):
        c = dx_check(code, ctx.dos)
        if not c.valid:
            yield ctx.finding(
                _dx(i),
                f"{code} is not an ICD-10-CM code in release {c.release}.",
                "Check the code for a typo (letter O vs zero, a missing dot position) and look it up.",
                source=f"release {c.release}",
            )


@rule("dx-release-not-covering", Severity.WARNING, family="diagnoses",
      title="The loaded ICD-10-CM release does not cover the date of service", source=_ICD, needs="dx-release-old")  # fmt: skip
def dx_release_not_covering(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    if not enc.diagnoses:
        return
    c = dx_check(enc.diagnoses[0], ctx.dos)
    if not c.release_covers_date:
        yield ctx.finding(
            "diagnoses",
            f"No loaded ICD-10-CM release covers {ctx.dos}; the codes were checked against release "
            f"{c.release}, and codes added or deleted since then are not caught.",
            "Import the CMS ICD-10-CM release in force on the date of service (therabill icd10 import "
            "with the CMS zip files); therabill doctor lists the releases loaded.",
            source=f"release {c.release}",
        )


@rule("dx-not-billable", Severity.ERROR, family="diagnoses",
      title="A diagnosis that is a category, not a complete (billable) code", source=_ICD, needs="dx-not-billable")  # fmt: skip
def dx_not_billable(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    for i, code in enumerate(enc.diagnoses):
        c = dx_check(code, ctx.dos)
        if c.valid and not c.billable and not c.needs_seventh_character:
            yield ctx.finding(
                _dx(i),
                f"{code} ({c.description}) is a category with more specific codes below it; only a "
                "complete code can be billed.",
                f"Use the most specific code under {code} that the record supports.",
                source=f"release {c.release}",
            )


@rule("dx-seventh-character-missing", Severity.ERROR, family="diagnoses",
      title="An injury code without its required 7th character", source=f"{_ICD}; {_GUIDE} I.C.19.a", needs="dx-needs-7th")  # fmt: skip
def dx_seventh_character(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    for i, code in enumerate(enc.diagnoses):
        c = dx_check(code, ctx.dos)
        if c.valid and c.needs_seventh_character:
            yield ctx.finding(
                _dx(i),
                f"{code} ({c.description}) needs a 7th character (A initial, D subsequent, S sequela "
                "encounter), with X placeholders where the code is shorter.",
                f"Use {code} with X placeholders and its 7th character, e.g. D for routine therapy "
                "after the initial treatment.",
                source=f"release {c.release}",
            )


def _external(code: str) -> bool:
    return code.strip().upper()[:1] in ("V", "W", "X", "Y")


@rule("dx-external-cause-first", Severity.ERROR, family="diagnoses",
      title="An external-cause code (V00-Y99) listed first or as a line's first pointer",
      source=f"{_GUIDE} I.C.20 (external-cause codes are never first-listed)", needs="dx-external")  # fmt: skip
def dx_external_cause_first(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    if enc.diagnoses and _external(enc.diagnoses[0]):
        yield ctx.finding(
            _dx(0),
            f"{enc.diagnoses[0]} is an external-cause code and may not be the primary diagnosis.",
            "List the injury or condition first and the external-cause code after it.",
        )
    n = len(enc.diagnoses)
    for i, s in enumerate(enc.services):
        if s.diagnosis_pointers and 1 <= s.diagnosis_pointers[0] <= n:
            code = enc.diagnoses[s.diagnosis_pointers[0] - 1]
            if _external(code):
                yield ctx.finding(
                    svc(i, "diagnosis_pointers"),
                    f"{line_no(i)}: the first diagnosis pointer is {code}, an external-cause code.",
                    "Point first to the injury or condition treated; the external-cause code may follow.",
                )


@rule("dx-pointer-missing", Severity.ERROR, family="diagnoses", title="A line without a diagnosis pointer",
      source="837P SV107 is required; CMS-1500 box 24E (billing-rules.md §9)", needs="pointer-missing")  # fmt: skip
def dx_pointer_missing(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    for i, s in enumerate(enc.services):
        if not s.diagnosis_pointers:
            yield ctx.finding(
                svc(i, "diagnosis_pointers"),
                f"{line_no(i)}: {s.code} points to no diagnosis.",
                "Point the line to the diagnosis (1-12) that the service treats, the main one first.",
            )


@rule("dx-pointer-out-of-range", Severity.ERROR, family="diagnoses",
      title="A diagnosis pointer past the last diagnosis (or below 1)",
      source="837P SV107 points into HI01-HI12 (billing-rules.md §9)", needs="pointer-out-of-range")  # fmt: skip
def dx_pointer_out_of_range(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    n = len(enc.diagnoses)
    for i, s in enumerate(enc.services):
        for k, p in enumerate(s.diagnosis_pointers):
            if p < 1 or p > n:
                yield ctx.finding(
                    f"{svc(i, 'diagnosis_pointers')}[{k}]",
                    f"{line_no(i)}: pointer {p} points to no diagnosis (the claim has {n}).",
                    f"Use a pointer from 1 to {n}, or add the missing diagnosis.",
                )


@rule("dx-pointers-too-many", Severity.ERROR, family="diagnoses", title="More than four diagnosis pointers on a line",
      source="837P SV107-1..4; CMS-1500 box 24E holds four (billing-rules.md §9)", needs="pointers-over-4")  # fmt: skip
def dx_pointers_too_many(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    for i, s in enumerate(enc.services):
        if len(s.diagnosis_pointers) > 4:
            yield ctx.finding(
                svc(i, "diagnosis_pointers"),
                f"{line_no(i)}: {len(s.diagnosis_pointers)} diagnosis pointers; a line carries four.",
                "Keep the four diagnoses most related to this service, the main one first.",
            )


@rule("dx-not-medical-necessity", Severity.WARNING, family="diagnoses",
      title="A primary diagnosis that does not show medical necessity for therapy (screening, counselling, lifestyle)",
      source="medical_necessity_exclusions.toml", severity_by="medical_necessity_dx_check", needs="dx-primary-excluded")  # fmt: skip
def dx_not_medical_necessity(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    if not enc.diagnoses:
        return
    label = exclusion_of(enc.diagnoses[0])
    if label is not None:
        yield ctx.finding(
            _dx(0),
            f"The primary diagnosis {enc.diagnoses[0]} ({label}) does not show a medical need for "
            "therapy; the payer denies the claim as not medically necessary (CARC 50).",
            "List first the condition treated (the pain, spasm, injury or dysfunction) that the note "
            "documents.",
            source=exclusions_source(),
        )


@rule("dx-region-mismatch", Severity.WARNING, family="diagnoses",
      title="The diagnoses a line points to name other body regions than those treated",
      source="dx_regions.toml (ICD-10-CM code titles); CARC 11 'diagnosis inconsistent with the procedure'", needs="dx-region-mismatch")  # fmt: skip
def dx_region_mismatch(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    n = len(enc.diagnoses)
    for i, s in enumerate(enc.services):
        if not s.body_regions or not s.diagnosis_pointers:
            continue
        named: set[str] = set()
        titles: list[str] = []
        for p in s.diagnosis_pointers:
            if not 1 <= p <= n:
                continue
            hit = dx_regions(enc.diagnoses[p - 1])
            if hit is None:
                break  # a diagnosis without a known region: cannot judge this line
            named |= hit.regions
            titles.append(f"{enc.diagnoses[p - 1]} {hit.title.lower()}")
        else:
            if titles and not named.intersection(s.body_regions):
                yield ctx.finding(
                    svc(i, "body_regions"),
                    f"{line_no(i)}: {s.code} treated {words(s.body_regions)}, but its diagnoses "
                    f"({words(titles)}) name other regions.",
                    "Point the line to the diagnosis of the region treated, or correct the regions.",
                    source=dx_regions_source(),
                )


@rule("dx-seventh-initial-on-therapy", Severity.WARNING, family="diagnoses",
      title="An injury code with the 7th character of an initial encounter (A) on a therapy visit, which is a subsequent encounter (D)",
      source=f"{_GUIDE} Section I.C.19.a; dx_guidelines.toml", needs="dx-seventh-initial")  # fmt: skip
def dx_seventh_initial_on_therapy(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    if not any(ctx.catalog.get(s.code) is not None and ctx.catalog.codes[s.code].category != "evaluation_management"
               for s in enc.services):  # fmt: skip
        return
    for i, code in enumerate(enc.diagnoses):
        hit = dx_seventh(code)
        if hit is None or hit[1] not in hit[0].initial:
            continue
        fixed = code.strip()[:-1] + "D"
        yield ctx.finding(
            _dx(i),
            f"{code} ends in {hit[1]} (initial encounter: the injury is under active treatment), but this "
            "is a therapy visit after the active treatment, a subsequent encounter for "
            f"{hit[0].label}.",
            f"Code the subsequent encounter ({fixed} or the matching healing letter) unless this visit "
            "really is part of the active treatment; the diagnosis stays the injury, only its 7th character "
            "changes.",
            source=dx_guidelines_source(),
        )


@rule("dx-sex-mismatch", Severity.ERROR, family="diagnoses",
      title="A diagnosis specific to one sex on a patient of the other sex",
      source="ICD-10-CM tabular; CMS Medicare Code Editor sex edit [M]; dx_guidelines.toml", needs="dx-sex-specific")  # fmt: skip
def dx_sex_mismatch(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    sex = enc.patient.sex if enc.patient is not None else None
    if sex not in ("F", "M"):
        return
    for i, code in enumerate(enc.diagnoses):
        hit = dx_sex(code)
        if hit is not None and hit[0] != sex:
            yield ctx.finding(
                _dx(i),
                f"{code} is a code for {'women' if hit[0] == 'F' else 'men'} only ({hit[1]}), and the patient's "
                f"sex is {sex}; the claim is rejected as a sex conflict.",
                "Correct the patient's sex in the record or the diagnosis code.",
                source=dx_guidelines_source(),
            )


@rule("dx-laterality-mismatch", Severity.WARNING, family="diagnoses",
      title="A line treats one side (e.g. shoulder_left) while the diagnosis it points to names the other side",
      source=f"{_GUIDE} Section I.B.13 (laterality); ICD-10-CM code titles", needs="lateral-region")  # fmt: skip
def dx_laterality_mismatch(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    n = len(enc.diagnoses)
    for i, s in enumerate(enc.services):
        sides = {r.rsplit("_", 1)[1] for r in s.body_regions if r.endswith(("_left", "_right"))}
        if not sides:
            continue
        for p in s.diagnosis_pointers:
            if not 0 < p <= n:
                continue
            code = enc.diagnoses[p - 1]
            side = dx_laterality(code, ctx.dos)
            if side is not None and side not in sides:
                yield ctx.finding(
                    svc(i, "diagnosis_pointers"),
                    f"{line_no(i)}: {s.code} treats the {words(sorted(sides))} side ({words(s.body_regions)}), "
                    f"but {code} names the {side} side.",
                    f"Point {line_no(i)} to the diagnosis of the side treated, or correct the body regions or the "
                    "code's laterality.",
                )
