"""Time and unit rules: units against minutes, minutes against the session, missing times."""

from __future__ import annotations

from collections.abc import Iterator

from therabill.domain.encounter import Encounter
from therabill.domain.timing import minutes_range
from therabill.scrubber.context import RuleContext
from therabill.scrubber.finding import Finding, Severity
from therabill.scrubber.registry import rule
from therabill.scrubber.rules._util import line_no, svc

_820 = "CMS Pub 100-04 Ch. 5 §20.2 (8-minute rule) and the payer profile's unit method"


@rule(
    "units-exceed-minutes",
    Severity.ERROR,
    family="units",
    title="Billed units above what the minutes support under the payer's method",
    source=_820,
    needs="units-too-many",
)
def units_exceed_minutes(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:  # noqa: ARG001
    for i, ln in enumerate(ctx.units.lines):
        if ln.billed_status == "too_many":
            yield ctx.finding(
                svc(i, "units"),
                f"{line_no(i)}: {ln.code} billed for {ln.billed_units} units, but {ln.minutes} minutes "
                f"support at most {ln.max_units} under the {ctx.units.method.value} method "
                f"({ctx.units.total_timed_minutes} timed minutes in the day).",
                f"Bill {ln.max_units} units, or leave units empty so they are computed; bill more only "
                f"with the minutes documented ({minutes_range(ln.billed_units or 0)} for "
                f"{ln.billed_units} units).",
                source=ctx.source_of("unit_method"),
            )


@rule(
    "units-below-minutes",
    Severity.INFO,
    family="units",
    title="Billed units below what the minutes support (revenue left behind)",
    source=_820,
    needs="units-too-few",
)
def units_below_minutes(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:  # noqa: ARG001
    for i, ln in enumerate(ctx.units.lines):
        if ln.billed_status == "too_few":
            yield ctx.finding(
                svc(i, "units"),
                f"{line_no(i)}: {ln.code} billed for {ln.billed_units} units; {ln.minutes} minutes "
                f"support {ln.min_units} under the {ctx.units.method.value} method.",
                f"Bill {ln.min_units} units (or leave units empty) unless fewer were intended.",
            )


@rule(
    "minutes-exceed-session",
    Severity.ERROR,
    family="units",
    title="Service minutes add up to more than the session's start-to-end span",
    source="Only direct one-on-one time counts and it happens within the session (FCSO, billing-rules.md §1.1)",
    needs="minutes-over-session",
)
def minutes_exceed_session(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    span = enc.session_minutes
    if span is None:
        return
    total = sum(s.minutes for s in enc.services)
    if span <= 0:
        yield ctx.finding(
            "end_time",
            f"The session ends ({enc.end_time}) before or when it starts ({enc.start_time}).",
            "Correct the start and end times of the session.",
        )
    elif total > span:
        yield ctx.finding(
            "services",
            f"The services add up to {total} minutes, but the session ran {span} minutes "
            f"({enc.start_time:%H:%M}-{enc.end_time:%H:%M}).",
            "Correct the minutes of each service (direct one-on-one time only) or the session times.",
        )


@rule(
    "timed-code-under-8-minutes",
    Severity.WARNING,
    family="units",
    title="A timed code under 8 minutes billed alone (not billable)",
    source="CMS Pub 100-04 Ch. 5 §20.2; FCSO 'Counting units' (billing-rules.md §1.1)",
    needs="minutes-under-8",
)
def timed_code_under_8(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    timed = [i for i, ln in enumerate(ctx.units.lines) if ln.model == "timed15"]
    if len(timed) != 1:
        return
    i = timed[0]
    s = enc.services[i]
    if s.minutes < 8:
        yield ctx.finding(
            svc(i, "minutes"),
            f"{line_no(i)}: {s.code} ran {s.minutes} minutes and is the only timed code of the day; "
            "under 8 minutes it earns no unit and is left off the claim.",
            "Leave it in the note without billing it, or correct the minutes if more time was spent.",
        )


@rule(
    "session-time-missing",
    Severity.WARNING,
    family="units",
    title="Missing session start or end time (severity per profile)",
    source="Total treatment time must be documented (Pub 100-02 Ch. 15 §220.3, billing-rules.md §7)",
    severity_by="missing_session_time",
    needs="session-time-missing",
)
def session_time_missing(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    for name, value in (("start_time", enc.start_time), ("end_time", enc.end_time)):
        if value is None:
            yield ctx.finding(
                name,
                f"The session's {name.replace('_', ' ')} is missing, so the minutes cannot be checked "
                "against the session.",
                f"Enter the {name.replace('_', ' ')} of the session.",
            )
