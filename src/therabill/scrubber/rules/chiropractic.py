"""Chiropractic manipulation rules: the spinal regions a CMT code describes and, for
Medicare, the subluxation that must be its primary diagnosis at each level treated."""

from __future__ import annotations

from collections.abc import Iterator

from therabill.domain.encounter import Encounter
from therabill.refdata.icd10 import format_code, normalize
from therabill.scrubber.context import RuleContext
from therabill.scrubber.finding import Finding, Severity
from therabill.scrubber.refs import cmt_policy
from therabill.scrubber.registry import rule
from therabill.scrubber.rules._util import line_no, svc, words

_CPT = "CPT descriptors 98940 (1-2 spinal regions), 98941 (3-4), 98942 (5) [V3]; chiropractic.toml"
_SUBLUXATION = (
    "Pub 100-02 Ch. 15 §240.1.2, §240.1.4 (the precise level of the subluxation) [V3]; MAC chiropractic "
    "LCDs and CMS MCD articles A56273, A56616 (the subluxation is the primary diagnosis) [V3]; MAC billing "
    "guidelines L34585 (the condition treated is the secondary diagnosis) [V3]; chiropractic.toml"
)


def _extraspinal(ctx: RuleContext) -> str:
    """The catalog's manipulation codes that are not spinal CMT (extraspinal: 98943)."""
    spinal = cmt_policy().regions
    found = sorted(
        c
        for c, info in ctx.catalog.codes.items()
        if info.category == "chiropractic_manipulation" and c not in spinal
    )
    return " or ".join(found) or "the extraspinal manipulation code"


def _range(lo: int, hi: int) -> str:
    return f"{lo}" if lo == hi else f"{lo}-{hi}"


@rule("cmt-regions-mismatch", Severity.ERROR, family="coding",
      title="A spinal manipulation code (98940-98942) that does not match the number of spinal regions treated",
      source=_CPT, needs="cmt-code")  # fmt: skip
def cmt_regions_mismatch(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    policy = cmt_policy()
    codes = {n: c for c, (lo, hi) in policy.regions.items() for n in range(lo, hi + 1)}
    for i, s in enumerate(enc.services):
        span = policy.regions.get(s.code)
        if span is None or not s.body_regions:
            continue  # doc-service-details-missing speaks for a line without regions
        spinal = sorted(set(s.body_regions) & policy.spinal)
        n = len(spinal)
        lo, hi = span
        if lo <= n <= hi:
            continue
        treated = f"{n} spinal region{'s' if n != 1 else ''}" + (f" ({words(spinal)})" if spinal else "")
        right = codes.get(n)
        if n < lo:
            yield ctx.finding(
                svc(i, "code"),
                f"{line_no(i)}: {s.code} is manipulation of {_range(lo, hi)} spinal regions, but the line "
                f"records {treated}; the record does not support the code.",
                (
                    f"Bill {right} for {treated}"
                    if right
                    else f"Bill {_extraspinal(ctx)} for extraspinal regions only"
                )
                + ", or record every spinal region manipulated.",
            )
        else:
            yield ctx.finding(
                svc(i, "code"),
                f"{line_no(i)}: the line records {treated}, more than the {_range(lo, hi)} that {s.code} "
                "describes.",
                f"Bill {right} if all {n} regions were manipulated, or correct the regions recorded.",
                severity=Severity.WARNING,
            )


@rule("medicare-cmt-subluxation-dx", Severity.ERROR, family="coverage",
      title="Spinal manipulation billed to Medicare whose primary diagnosis is not a spinal subluxation, without the condition it causes as a secondary diagnosis, or with a region manipulated without its subluxation diagnosis",
      source=_SUBLUXATION, enabled_by="original_medicare", needs="cmt-code")  # fmt: skip
def medicare_cmt_subluxation(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    policy = cmt_policy()
    dx = enc.diagnoses
    levels = {r for c in dx if (r := policy.subluxation.get(normalize(c))) is not None}
    for i, s in enumerate(enc.services):
        if s.code not in policy.regions or not s.diagnosis_pointers:
            continue  # dx-pointer-missing speaks for a line without pointers
        p = s.diagnosis_pointers[0]
        if not 0 < p <= len(dx):
            continue  # dx-pointer-out-of-range
        first = dx[p - 1]
        if normalize(first) not in policy.subluxation:
            yield ctx.finding(
                svc(i, "diagnosis_pointers"),
                f"{line_no(i)}: Medicare pays spinal manipulation only to correct a subluxation, and "
                f"the line's first diagnosis is {first}, not a spinal subluxation.",
                "Point the line first to the subluxation code of the level manipulated ("
                + ", ".join(f"{format_code(c)} {r}" for c, r in sorted(policy.subluxation.items()))
                + "), the condition it causes after it.",
            )
        missing = sorted((set(s.body_regions) & policy.spinal) - levels)
        if missing:
            yield ctx.finding(
                svc(i, "body_regions"),
                f"{line_no(i)}: {words(missing)} manipulated without a subluxation diagnosis of that "
                "level on the claim; Medicare requires the precise level of each subluxation treated.",
                f"Add the subluxation code of {words(missing)} to the diagnoses, or correct the regions "
                "recorded.",
                severity=Severity.WARNING,
            )
        pointed = [dx[q - 1] for q in s.diagnosis_pointers if 0 < q <= len(dx)]
        if pointed and all(normalize(c) in policy.subluxation for c in pointed):
            yield ctx.finding(
                svc(i, "diagnosis_pointers"),
                f"{line_no(i)}: the line points only to subluxation codes; Medicare needs the "
                "neuromusculoskeletal condition the subluxation causes as the secondary diagnosis.",
                "Add the condition treated (for example the back or neck pain, or the radiculopathy) to the "
                "diagnoses and point the line to it after the subluxation.",
            )


@rule("medicare-cmt-initiation-date-missing", Severity.ERROR, family="coverage",
      title="Spinal manipulation billed to Medicare without the date the course of treatment began (box 14), or with one after the visit",
      source="Pub 100-04 Ch. 12 §220 (the date of the initial treatment or of the exacerbation in item 14 of the CMS-1500 or its electronic equivalent) [V3] (AAPC Chiropractic Coding & Compliance Alert; MAC billing guidelines L34585)",
      enabled_by="original_medicare", needs="cmt-code")  # fmt: skip
def medicare_cmt_initiation_date(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    policy = cmt_policy()
    if not any(s.code in policy.regions for s in enc.services):
        return
    began = enc.onset_date
    if began is None:
        yield ctx.finding(
            "onset_date",
            "Medicare requires the date the course of chiropractic treatment began (or of the exacerbation) "
            "in box 14 of a spinal-manipulation claim; the visit has none, and the claim is denied.",
            "Enter the date of the first treatment of this course (or of the exacerbation) as the visit's "
            "onset date.",
        )
    elif began > ctx.dos:
        yield ctx.finding(
            "onset_date",
            f"The course of treatment is dated {began}, after the visit on {ctx.dos}.",
            "Enter the date of the first treatment of this course (or of the exacerbation), on or before the "
            "visit.",
        )
