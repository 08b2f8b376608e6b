"""Intake rules: the client's health history on file, and the visit checked against it and the
contraindication table (``ScrubContext.intake``; quiet when the caller does not know it)."""

from __future__ import annotations

from collections.abc import Iterator

from therabill.domain.encounter import Encounter
from therabill.domain.intake import CheckResult
from therabill.scrubber.context import RuleContext
from therabill.scrubber.finding import Finding, Severity
from therabill.scrubber.registry import rule

_INTAKE = "the client's intake on file (therabill intake)"
_TABLE = "the visit checked against the intake and the contraindication table (therabill intake)"


def _source(table: str, r: CheckResult) -> str:
    return f"{table}; {r.source}" if r.source else table


@rule("intake-missing", Severity.WARNING, family="intake",
      title="The client has no health history (intake) on file", source=_INTAKE, needs="intake-on-file")  # fmt: skip
def intake_missing(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:  # noqa: ARG001
    on_file = ctx.intake
    if on_file is None or not on_file.expected or on_file.check.intake_version is not None:
        return
    yield ctx.finding(
        "patient",
        "The client has no health history (intake) on file.",
        "Have the client fill in the intake form and the therapist review and sign it.",
    )


@rule("intake-unsigned", Severity.WARNING, family="intake",
      title="The current intake is not reviewed and signed by a therapist", source=_INTAKE, needs="intake-on-file")  # fmt: skip
def intake_unsigned(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:  # noqa: ARG001
    on_file = ctx.intake
    if on_file is None or on_file.check.intake_version is None or on_file.check.intake_signed:
        return
    yield ctx.finding(
        "patient",
        f"Intake version {on_file.check.intake_version} has not been reviewed and signed by a therapist.",
        "Have the therapist review and sign the intake.",
    )


@rule("intake-contraindication-absolute", Severity.ERROR, family="intake",
      title="An absolute contraindication in the intake (info once cleared or not treated)",
      source=_TABLE, needs="intake-on-file")  # fmt: skip
def intake_contraindication_absolute(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:  # noqa: ARG001
    on_file = ctx.intake
    if on_file is None:
        return
    for r in on_file.check.absolute:
        still = r.rule_id not in on_file.cleared and on_file.treated
        yield ctx.finding(
            f"intake.{r.loc}",
            f"{r.label} ({r.matched}) is an absolute contraindication"
            + (
                ": the visit cannot be billed until it is cleared."
                if still
                else "; it is cleared or was not treated."
            ),
            "Record the clearance (for example a physician's note) or do not bill the visit.",
            severity=None if still else Severity.INFO,
            source=_source(on_file.check.table, r),
        )


@rule("intake-region-avoid", Severity.WARNING, family="intake",
      title="A line bills a region the intake says not to work on", source=_TABLE, needs="intake-on-file")  # fmt: skip
def intake_region_avoid(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:  # noqa: ARG001
    on_file = ctx.intake
    if on_file is None:
        return
    for r in on_file.check.local:
        for line, region in r.conflicts:
            yield ctx.finding(
                f"services[{line}].body_regions",
                f"Line {line + 1} bills treatment of {region}, which the intake marks not to work on "
                f"({r.label}: {r.matched}).",
                "Correct the documented regions, or document why the region was treated.",
                source=_source(on_file.check.table, r),
            )


@rule("intake-precaution", Severity.INFO, family="intake",
      title="A precaution in the intake to document", source=_TABLE, needs="intake-on-file")  # fmt: skip
def intake_precaution(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:  # noqa: ARG001
    on_file = ctx.intake
    if on_file is None:
        return
    for r in on_file.check.precautions:
        yield ctx.finding(
            f"intake.{r.loc}",
            f"Precaution: {r.label} ({r.matched}). {r.guidance}",
            "Document how the session was adapted.",
            source=_source(on_file.check.table, r),
        )
