"""Documentation rules: medical necessity, goals, objective measures, service details,
progress reports, plan of care, SOAP sections. Severity per profile
(``documentation_severity``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from therabill.domain.encounter import Encounter
from therabill.scrubber.context import RuleContext
from therabill.scrubber.finding import Finding, Severity
from therabill.scrubber.registry import rule
from therabill.scrubber.rules._util import blank, line_no, svc
from therabill.scrubber.rules.coverage import discipline_of

_CH15 = "Pub 100-02 Ch. 15 §220.3 (billing-rules.md §7)"
_SEV = "documentation_severity"


@rule("doc-note-missing", Severity.WARNING, family="documentation", title="No clinical note with the encounter",
      source=_CH15, severity_by=_SEV, needs="doc-none")  # fmt: skip
def doc_note_missing(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    if enc.documentation is None:
        yield ctx.finding(
            "documentation",
            "The encounter has no clinical note; a claim must be supported by the treatment note.",
            "Write the SOAP note (with medical necessity, goals and objective measures) before billing.",
        )


@rule("doc-medical-necessity-missing", Severity.WARNING, family="documentation",
      title="No medical-necessity statement", source=_CH15, severity_by=_SEV, needs="doc-necessity-blank")  # fmt: skip
def doc_medical_necessity(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    d = enc.documentation
    if d is not None and blank(d.medical_necessity):
        yield ctx.finding(
            "documentation.medical_necessity",
            "The note does not say why treatment is medically necessary.",
            "State the functional limitation the condition causes and what treatment aims to restore "
            "(e.g. 'neck pain limits driving; treatment aims to restore rotation').",
        )


@rule("doc-goal-not-measurable", Severity.WARNING, family="documentation",
      title="No measurable goal (a target and a date)", source=f"{_CH15}; plan-of-care content [V3]", severity_by=_SEV, needs="doc-goal-missing")  # fmt: skip
def doc_goal(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    d = enc.documentation
    if d is None:
        return
    if not any(not blank(g.target) and g.target_date is not None for g in d.goals):
        yield ctx.finding(
            "documentation.goals",
            "No goal has a measurable target and a target date." if d.goals else "The note has no goals.",
            "Add a goal with a baseline, a measurable target and a date (e.g. 'sit 60 min at pain "
            "3/10 by 2026-12-18').",
        )


@rule("doc-objective-missing", Severity.WARNING, family="documentation",
      title="No objective measure (pain, range of motion, strength or a functional test)", source=_CH15, severity_by=_SEV, needs="doc-objective-missing")  # fmt: skip
def doc_objective(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    d = enc.documentation
    if d is not None and not d.objective.has_measure:
        yield ctx.finding(
            "documentation.objective",
            "The note records no objective measure (pain scale, range of motion, strength or a "
            "functional test).",
            "Record at least one measure taken at this visit (e.g. pain 6/10, cervical rotation 55°).",
        )


@rule("doc-service-details-missing", Severity.WARNING, family="documentation",
      title="A service without techniques or body regions", source=f"{_CH15}; CPT descriptors name the regions and techniques", severity_by=_SEV, needs="service-details-missing")  # fmt: skip
def doc_service_details(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    for i, s in enumerate(enc.services):
        for field, value in (("techniques", s.techniques), ("body_regions", s.body_regions)):
            if not value:
                yield ctx.finding(
                    svc(i, field),
                    f"{line_no(i)}: {s.code} has no {field.replace('_', ' ')} documented.",
                    f"Record the {field.replace('_', ' ')} of {s.code} for this visit.",
                )


@rule("doc-progress-report-due", Severity.WARNING, family="documentation",
      title="A progress report is due (10th treatment day or later since the last one)",
      source="Pub 100-02 Ch. 15 §220.3 D [V3]; payer profile progress_report_interval",
      enabled_by="progress_report_interval", needs="progress-days")  # fmt: skip
def doc_progress_report(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    interval = int(ctx.setting("progress_report_interval", 0) or 0)
    poc = enc.plan_of_care
    if interval <= 0 or poc is None or poc.treatment_days_since_progress_report is None:
        return
    day = poc.treatment_days_since_progress_report + 1
    if day >= interval:
        yield ctx.finding(
            "plan_of_care.treatment_days_since_progress_report",
            f"This visit is treatment day {day} since the last progress report; one is due at least "
            f"every {interval} treatment days.",
            "Include a progress report in today's note (progress toward each goal, plan, goal changes), "
            "written by the therapist, not an assistant.",
            source=ctx.source_of("progress_report_interval"),
        )


@rule("doc-plan-of-care-missing", Severity.ERROR, family="documentation",
      title="No plan of care (or no certification) where the payer requires one",
      source="Pub 100-02 Ch. 15 §220.1 [V3]; payer profile plan_of_care_required", enabled_by="plan_of_care_required", needs="poc-uncertified")  # fmt: skip
def doc_poc_missing(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    poc = enc.plan_of_care
    if poc is None or poc.certified_from is None or poc.certified_through is None:
        most = int(ctx.setting("certification_max_days", 0) or 0)
        yield ctx.finding(
            "plan_of_care",
            "There is no certified plan of care (certification dates missing).",
            "Send the plan of care to the physician for signature and record the certified dates"
            + (f" (at most {most} days)." if most > 0 else "."),
        )


@rule("doc-plan-of-care-incomplete", Severity.WARNING, family="documentation",
      title="A plan of care that does not state the frequency and duration of treatment",
      source="Pub 100-02 Ch. 15 §220.1.2 B (the plan states the type, amount, frequency and duration of therapy) [V3]; payer profile plan_of_care_required", enabled_by="plan_of_care_required", needs="poc-incomplete")  # fmt: skip
def doc_poc_incomplete(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    poc = enc.plan_of_care
    if poc is None:
        return  # doc-plan-of-care-missing speaks for it
    lacking = [
        what
        for what, value in (("frequency (treatment days per week)", poc.frequency_per_week),
                            ("duration (weeks)", poc.duration_weeks))
        if value is None
    ]  # fmt: skip
    if lacking:
        yield ctx.finding(
            "plan_of_care",
            f"The plan of care does not state its {' or its '.join(lacking)}; a certified plan states the "
            "type, amount, frequency and duration of the therapy it orders.",
            "Record the frequency and duration the certified plan prescribes (for example 2 days a week "
            "for 6 weeks); if the signed plan does not state them, have it amended and recertified.",
        )


@rule("doc-plan-of-care-not-certified", Severity.ERROR, family="documentation",
      title="The plan of care is not certified for the date of service",
      source="Pub 100-02 Ch. 15 §220.1.3 [V3]", enabled_by="plan_of_care_required", needs="poc-outside")  # fmt: skip
def doc_poc_not_certified(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    poc = enc.plan_of_care
    if poc is None or poc.certified_from is None or poc.certified_through is None:
        return
    if not poc.certified_from <= ctx.dos <= poc.certified_through:
        yield ctx.finding(
            "plan_of_care.certified_through",
            f"The plan of care is certified {poc.certified_from} to {poc.certified_through}; the visit "
            f"on {ctx.dos} is outside it.",
            "Get the plan recertified (signed and dated) for a period covering the visit.",
        )


@rule("doc-certification-too-long", Severity.ERROR, family="documentation",
      title="A plan-of-care certification period longer than the payer allows (Medicare: 90 days)",
      source="Pub 100-02 Ch. 15 §220.1.2 [V3] (billing-rules.md §7); payer profile certification_max_days", enabled_by="certification_max_days", needs="poc-period")  # fmt: skip
def doc_certification_too_long(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    poc = enc.plan_of_care
    most = int(ctx.setting("certification_max_days", 0) or 0)
    if most <= 0 or poc is None or poc.certified_from is None or poc.certified_through is None:
        return
    days = (poc.certified_through - poc.certified_from).days + 1
    if days > most:
        last = poc.certified_from + timedelta(days=most - 1)
        yield ctx.finding(
            "plan_of_care.certified_through",
            f"The plan of care is certified for {days} days ({poc.certified_from} to {poc.certified_through}); "
            f"a certification covers at most {most} calendar days.",
            f"Recertify the plan on or before {last} (day {most}) and record the new certification's dates.",
            source=ctx.source_of("certification_max_days"),
        )


@rule("doc-certification-late", Severity.WARNING, family="documentation",
      title="The plan of care was certified (signed) more than 30 days after treatment began",
      source="Pub 100-02 Ch. 15 §220.1.3 (timely certification within 30 days; delayed certification with a reason) [V3]; payer profile certification_signature_days",
      enabled_by="certification_signature_days", needs="poc-signed")  # fmt: skip
def doc_certification_late(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    poc = enc.plan_of_care
    most = int(ctx.setting("certification_signature_days", 0) or 0)
    if most <= 0 or poc is None or poc.certified_from is None or poc.certification_signed_on is None:
        return
    days = (poc.certification_signed_on - poc.certified_from).days
    if days > most:
        yield ctx.finding(
            "plan_of_care.certification_signed_on",
            f"The plan of care starting {poc.certified_from} was signed on {poc.certification_signed_on}, "
            f"{days} days later; a timely certification is signed within {most} days of the first treatment.",
            "Keep the delayed certification with the physician's dated signature and a note of why it was "
            "late (the reason for the delay and the attempts to obtain it) in the record.",
            source=ctx.source_of("certification_signature_days"),
        )


@rule("doc-progress-report-by-assistant", Severity.WARNING, family="documentation",
      title="A progress report is due on a visit rendered by an assistant, who may not write it",
      source="Pub 100-02 Ch. 15 §220.3 D (progress reports by the clinician, not an assistant) [V3]; provider_disciplines.toml",
      enabled_by="progress_report_interval", needs="progress-days")  # fmt: skip
def doc_progress_report_by_assistant(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    interval = int(ctx.setting("progress_report_interval", 0) or 0)
    poc = enc.plan_of_care
    r = enc.rendering_provider
    if interval <= 0 or poc is None or poc.treatment_days_since_progress_report is None or r is None:
        return
    d = discipline_of(r.taxonomy, r.credential)
    if d is None or d.assistant_modifier is None:
        return
    if poc.treatment_days_since_progress_report + 1 >= interval:
        yield ctx.finding(
            "rendering_provider",
            f"A progress report is due on this visit, and it is rendered by a {d.label}; the progress report "
            "must be written by the therapist (or the physician/NPP), not an assistant.",
            "Have the supervising therapist see the patient and write the progress report for this treatment "
            f"day, or schedule it on the therapist's next visit before treatment day {interval} passes.",
        )


@rule("doc-soap-section-empty", Severity.WARNING, family="documentation",
      title="A SOAP section (subjective, assessment, plan) is empty", source=_CH15, severity_by=_SEV, needs="doc-soap-blank")  # fmt: skip
def doc_soap(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    d = enc.documentation
    if d is None:
        return
    for name in ("subjective", "assessment", "plan"):
        if blank(getattr(d, name)):
            yield ctx.finding(
                f"documentation.{name}",
                f"The {name} section of the note is empty.",
                f"Write the {name} of this visit.",
            )
