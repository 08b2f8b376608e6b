"""Coverage and payer rules: eligibility, authorization, referral, Medicare specifics (massage
therapists, GP/GO/GN, KX, bundled and invalid codes, GY), frequency codes, filing limits,
enrollment and licenses."""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

from therabill.domain.encounter import Encounter
from therabill.refdata.providers import Discipline, default_disciplines
from therabill.scrubber.context import RuleContext
from therabill.scrubber.finding import Finding, Severity
from therabill.scrubber.refs import kx_year, medicare_status, pfs_row
from therabill.scrubber.registry import rule
from therabill.scrubber.rules._util import DISCIPLINE, line_no, svc, words

_DISCIPLINES = "provider_disciplines.toml (NUCC taxonomy codes)"


@lru_cache(maxsize=4096)
def discipline_of(taxonomy: str | None, credential: str | None) -> Discipline | None:
    """A provider's discipline from its NUCC taxonomy code, else its license credential."""
    return default_disciplines().of_provider(taxonomy, credential)


@lru_cache(maxsize=4096)
def _is_massage(taxonomy: str | None, credential: str | None) -> bool:
    table = default_disciplines()
    by_tax, by_cred = table.of_taxonomy(taxonomy), table.of_credential(credential)
    return (by_tax is not None and by_tax.id == "massage") or (
        by_cred is not None and by_cred.id == "massage"
    )


def rendering_discipline(enc: Encounter) -> Discipline | None:
    """The rendering provider's discipline (``None`` when unknown or no rendering provider)."""
    r = enc.rendering_provider
    return None if r is None else discipline_of(r.taxonomy, r.credential)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@rule("eligibility-stale", Severity.WARNING, family="coverage",
      title="Eligibility not verified recently enough before the date of service",
      source="payer profile eligibility_max_age_days", enabled_by="eligibility_max_age_days", enabled_default=True, needs="eligibility-stale")  # fmt: skip
def eligibility_stale(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    cov = enc.coverage
    if cov is None:
        return
    max_age = int(ctx.setting("eligibility_max_age_days", 30))
    when = cov.eligibility_verified_on
    if when is None:
        yield ctx.finding(
            "coverage.eligibility_verified_on",
            "Eligibility was never verified for this coverage.",
            "Run an eligibility check (270/271) and record its date before sending the claim.",
        )
    elif (ctx.dos - when).days > max_age:
        yield ctx.finding(
            "coverage.eligibility_verified_on",
            f"Eligibility was last verified on {when}, {(ctx.dos - when).days} days before the visit; "
            f"this payer's profile asks for a check within {max_age} days.",
            "Re-verify eligibility for the date of service and record the date.",
        )


@rule("auth-missing", Severity.ERROR, family="coverage", title="No authorization where the payer requires one",
      source="payer profile authorization_required; CARC 197", enabled_by="authorization_required", needs="auth-none")  # fmt: skip
def auth_missing(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    if enc.coverage is not None and enc.coverage.authorization is None:
        yield ctx.finding(
            "coverage.authorization",
            "This payer requires a prior authorization and the claim has none (denied as CARC 197).",
            "Obtain the authorization (or enter the one on file) with its dates, codes and limits.",
        )


def _auth(enc: Encounter):  # type: ignore[no-untyped-def]
    return enc.coverage.authorization if enc.coverage else None


@rule("auth-date-outside", Severity.ERROR, family="coverage", title="The date of service is outside the authorization",
      source="the authorization's dates (coverage.authorization); CARC 197", needs="auth-date-outside")  # fmt: skip
def auth_date_outside(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    a = _auth(enc)
    if a is None:
        return
    if (a.start_date and ctx.dos < a.start_date) or (a.end_date and ctx.dos > a.end_date):
        yield ctx.finding(
            "coverage.authorization",
            f"The visit on {ctx.dos} is outside authorization {a.number} "
            f"({a.start_date or '…'} to {a.end_date or '…'}).",
            "Request an extension or a new authorization covering the date, then update the claim.",
        )


@rule("auth-code-not-covered", Severity.ERROR, family="coverage", title="A code the authorization does not cover",
      source="the authorization's codes (coverage.authorization.codes)", needs="auth-code-outside")  # fmt: skip
def auth_code_not_covered(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    a = _auth(enc)
    if a is None or not a.codes:
        return
    for i, s in enumerate(enc.services):
        if s.code not in a.codes and ctx.billed_units(i) > 0:
            yield ctx.finding(
                svc(i, "code"),
                f"{line_no(i)}: authorization {a.number} covers {words(a.codes)}, not {s.code}.",
                f"Ask the payer to add {s.code} to the authorization, or do not bill it under this one.",
            )


@rule("auth-visits-exceeded", Severity.ERROR, family="coverage",
      title="The authorization's visits are exhausted by this claim", source="coverage.authorization visits", needs="auth-visits-used-up")  # fmt: skip
def auth_visits_exceeded(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    a = _auth(enc)
    if a is None or a.visits_allowed is None:
        return
    remaining = a.visits_allowed - a.visits_used
    if remaining < 1:
        yield ctx.finding(
            "coverage.authorization.visits_used",
            f"Authorization {a.number} allows {a.visits_allowed} visits and {a.visits_used} were billed "
            f"before this one: {max(remaining, 0)} remain, this visit needs 1.",
            "Request more visits before billing this one.",
        )


@rule("auth-units-exceeded", Severity.ERROR, family="coverage",
      title="The authorization's units are exhausted by this claim (pooled or per code)",
      source="coverage.authorization units (units_pooled)", needs="auth-units-short")  # fmt: skip
def auth_units_exceeded(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    a = _auth(enc)
    if a is None or a.units_allowed is None:
        return
    per_code: dict[str, int] = {}
    for i, s in enumerate(enc.services):
        if not a.codes or s.code in a.codes:
            per_code[s.code] = per_code.get(s.code, 0) + ctx.billed_units(i)
    remaining = a.units_allowed - a.units_used
    if a.units_pooled:
        need = sum(per_code.values())
        if need > remaining:
            yield ctx.finding(
                "coverage.authorization.units_used",
                f"Authorization {a.number} allows {a.units_allowed} units shared by its codes; "
                f"{a.units_used} were billed before: {max(remaining, 0)} remain, this claim needs {need}.",
                "Request more units, or bill only the units that remain and hold the rest.",
            )
    else:
        for code, need in per_code.items():
            if need > remaining:
                yield ctx.finding(
                    "coverage.authorization.units_used",
                    f"Authorization {a.number} allows {a.units_allowed} units of each code; for {code} "
                    f"{a.units_used} were billed before: {max(remaining, 0)} remain, this claim needs {need}.",
                    f"Request more {code} units, or bill only those that remain.",
                )


@rule("referral-missing", Severity.ERROR, family="coverage", title="No referral number where the payer requires one",
      source="payer profile referral_required (REF*9F)", enabled_by="referral_required", needs="referral-none")  # fmt: skip
def referral_missing(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    if enc.coverage is not None and not enc.coverage.referral_number:
        yield ctx.finding(
            "coverage.referral_number",
            "This plan requires a referral and the claim has no referral number.",
            "Get the referral from the primary care provider and enter its number.",
        )


@rule("order-missing", Severity.ERROR, family="coverage",
      title="No prescription / referring provider where the payer requires an order (auto no-fault, workers' comp, plans that require one)",
      source="payer profile order_required; CMS-1500 box 17 / 837P 2310A (billing-rules.md §9)", enabled_by="order_required", needs="order-none")  # fmt: skip
def order_missing(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    ref = enc.referring_provider
    if ref is None:
        yield ctx.finding(
            "referring_provider",
            "This payer pays therapy only on a physician's prescription or referral, and the claim names "
            "no referring or ordering provider (box 17).",
            "Enter the prescribing provider (qualifier DN referring or DK ordering, name and NPI) from the "
            "prescription on file; without a prescription, obtain one before billing.",
            source=ctx.source_of("order_required"),
        )
    elif not ref.npi:
        yield ctx.finding(
            "referring_provider.npi",
            f"The referring provider {ref.first_name} {ref.last_name} has no NPI; the payer needs it with "
            "the order (box 17b).",
            "Enter the prescribing provider's NPI from the prescription or the NPI registry.",
            source=ctx.source_of("order_required"),
        )


_ORDER_KINDS = ("prescription", "referral")


@rule("order-expired", Severity.ERROR, family="coverage",
      title="The prescription or referral on file is expired (or not yet written) on the date of service",
      source="payer profile order_required; encounter orders_on_file (issued_on, expires_on)", enabled_by="order_required", needs="orders-on-file")  # fmt: skip
def order_expired(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    orders = [o for o in enc.orders_on_file if o.kind in _ORDER_KINDS]
    if not orders or any(o.covers(ctx.dos) for o in orders):
        return
    latest = max(orders, key=lambda o: o.expires_on or o.issued_on or ctx.dos)
    when = (
        f"expired on {latest.expires_on}"
        if latest.expires_on is not None and latest.expires_on < ctx.dos
        else f"was written on {latest.issued_on}, after the visit"
    )
    yield ctx.finding(
        "orders_on_file",
        f"The {latest.kind} on file {when}; on {ctx.dos} no order is in force and this payer pays only "
        "ordered treatment.",
        f"Get a renewed {latest.kind} covering {ctx.dos} from the prescribing provider and record its dates; "
        "visits outside an order are not billable to this payer.",
        source=ctx.source_of("order_required"),
    )


@rule("lmn-missing", Severity.ERROR, family="coverage",
      title="No letter of medical necessity in force where the plan requires one (HSA/FSA reimbursement)",
      source="payer profile lmn_required (IRS Pub 502: medical care to treat a specific condition; HSA/FSA administrators ask for a letter of medical necessity) [M]", enabled_by="lmn_required", needs="lmn-absent")  # fmt: skip
def lmn_missing(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    letters = [o for o in enc.orders_on_file if o.kind == "letter_of_medical_necessity"]
    if any(o.covers(ctx.dos) for o in letters):
        return
    if letters:
        latest = max(letters, key=lambda o: o.expires_on or o.issued_on or ctx.dos)
        what = f"The letter of medical necessity on file runs {latest.issued_on or '…'} to {latest.expires_on or '…'}"
        message = f"{what}; it does not cover the visit on {ctx.dos}."
    else:
        message = (
            "There is no letter of medical necessity on file; the plan reimburses massage only with one."
        )
    yield ctx.finding(
        "orders_on_file",
        message,
        "Ask the client's physician for a letter of medical necessity naming the condition, the treatment and "
        "its duration, and record its dates (orders_on_file).",
        source=ctx.source_of("lmn_required"),
    )


def lmt_roles(enc: Encounter) -> list[str]:
    """Where a massage therapist appears as provider (``rendering_provider``, ``billing_provider``)."""
    roles = []
    r = enc.rendering_provider
    if r is not None and _is_massage(r.taxonomy, r.credential):
        roles.append("rendering_provider")
    b = enc.billing_provider
    if b is not None and _is_massage(b.taxonomy, None):
        roles.append("billing_provider")
    return roles


@rule("medicare-lmt-not-billable", Severity.ERROR, family="coverage",
      title="Original Medicare with a massage therapist as rendering or billing provider: not billable at all",
      source=f"Pub 100-02 Ch. 15 §230.5 (Rev. 179) [V3]; billing-rules.md §8; {_DISCIPLINES}", enabled_by="original_medicare", needs="lmt-provider")  # fmt: skip
def medicare_lmt(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    roles = lmt_roles(enc)
    if roles:
        yield ctx.finding(
            f"{roles[0]}.taxonomy",
            "Original Medicare does not recognize massage therapists as providers: a massage "
            "therapist's services cannot be billed to Medicare at all, and GY does not change that.",
            "Do not send a claim to Medicare. The client pays privately (give a superbill if a "
            "supplemental plan might pay).",
        )


@rule("lmt-not-recognized", Severity.ERROR, family="coverage",
      title="A massage therapist as provider where the payer does not recognize massage therapists",
      source=f"payer profile lmt_recognized (billing-rules.md §8); {_DISCIPLINES}", needs="lmt-unrecognized")  # fmt: skip
def lmt_not_recognized(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    if ctx.setting("lmt_recognized", True) is not False or ctx.setting("original_medicare", False):
        return
    roles = lmt_roles(enc)
    if roles:
        yield ctx.finding(
            f"{roles[0]}.taxonomy",
            "This payer does not recognize massage therapists as providers; the claim will be denied "
            "(CARC 170/185).",
            "Check the payer's provider types; bill under an eligible provider who performed the "
            "service, or bill the client.",
            source=ctx.source_of("lmt_recognized"),
        )


def chiro_excluded(enc: Encounter, code: str) -> Discipline | None:
    """The rendering discipline when Medicare covers only some of its codes and not ``code``."""
    d = rendering_discipline(enc)
    if d is None or d.medicare_covered_codes is None or code in d.medicare_covered_codes:
        return None
    return d


@rule("medicare-gy-modifier", Severity.WARNING, family="coverage",
      title="GY missing on a service Medicare excludes (PFS status N, e.g. 98943), or GY on a covered service",
      source="GY: statutorily excluded service (billing-rules.md §3, §5 [M]); codes.toml medicare_status", enabled_by="original_medicare", needs="gy-relevant")  # fmt: skip
def medicare_gy(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    if lmt_roles(enc):
        return  # medicare-lmt-not-billable says it: no claim at all
    for i, s in enumerate(enc.services):
        info = ctx.catalog.get(s.code)
        if info is None or chiro_excluded(enc, s.code) is not None:
            continue  # medicare-chiro-not-covered speaks for a chiropractor's other services
        excluded = medicare_status(info, ctx.dos)[0] == "N"
        if excluded and "GY" not in s.modifiers:
            yield ctx.finding(
                svc(i, "modifiers"),
                f"{line_no(i)}: {s.code} is not a Medicare benefit; reported without GY it is denied as "
                "an error rather than as excluded.",
                f"Add GY to {s.code} (for a denial a secondary payer can use), or do not bill it to Medicare.",
            )
        elif not excluded and "GY" in s.modifiers:
            yield ctx.finding(
                svc(i, "modifiers"),
                f"{line_no(i)}: GY marks {s.code} as excluded from Medicare, so the line is denied.",
                f"Remove GY unless {s.code} really is excluded for this patient.",
            )


@rule("medicare-chiro-not-covered", Severity.ERROR, family="coverage",
      title="A chiropractor's service other than spinal manipulation billed to Medicare without GY",
      source=f"Pub 100-02 Ch. 15 §240 [V3] (billing-rules.md §3); {_DISCIPLINES}", enabled_by="original_medicare", needs="provider-discipline")  # fmt: skip
def medicare_chiro_not_covered(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    for i, s in enumerate(enc.services):
        d = chiro_excluded(enc, s.code)
        if d is None or "GY" in s.modifiers:
            continue
        covered = words(sorted(d.medicare_covered_codes or ()))
        yield ctx.finding(
            svc(i, "code"),
            f"{line_no(i)}: Medicare covers a {d.label}'s services only for {covered}; {s.code} from a "
            f"{d.label} is not a Medicare benefit, and GP or another therapy modifier does not make it one.",
            f"Do not bill {s.code} to Medicare, or bill it with GY (statutorily excluded) when the patient "
            "wants a denial for a secondary payer; the patient may be billed for it.",
            source=d.medicare_covered_source,
        )


@rule("medicare-cmt-at-missing", Severity.WARNING, family="coverage",
      title="Spinal manipulation billed to Medicare without AT (active treatment)",
      source=f"Pub 100-04 Ch. 12 §220; Pub 100-02 Ch. 15 §240.1.3 [V3] (billing-rules.md §5); {_DISCIPLINES}", enabled_by="original_medicare", needs="cmt-code")  # fmt: skip
def medicare_cmt_at_missing(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    chiro = default_disciplines().by_id.get("chiro")
    if chiro is None or not chiro.medicare_at_codes:
        return
    for i, s in enumerate(enc.services):
        if s.code in chiro.medicare_at_codes and "AT" not in s.modifiers:
            yield ctx.finding(
                svc(i, "modifiers"),
                f"{line_no(i)}: {s.code} without AT is read by Medicare as maintenance therapy, which is "
                "not medically necessary and is denied.",
                f"Add AT to {s.code} when the record shows active (corrective) treatment of a subluxation; "
                "for maintenance, give the patient an ABN and bill with GA, or do not bill.",
                source=chiro.medicare_at_source,
            )


@rule("therapy-discipline-mismatch", Severity.ERROR, family="coverage",
      title="GP/GO/GN (or CQ/CO) that does not match the rendering provider's discipline (GO on a PT's line, GP on an OT's)",
      source=f"Pub 100-04 Transmittal 3814 / CR 10176 [V3]; cms.gov CQ/CO billing examples [V] (billing-rules.md §1.4, §5); {_DISCIPLINES}", needs="provider-discipline")  # fmt: skip
def therapy_discipline_mismatch(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    d = rendering_discipline(enc)
    if d is None or d.modifier is None:
        return
    for i, s in enumerate(enc.services):
        wrong = [m for m in s.modifiers if m in DISCIPLINE and m != d.modifier]
        wrong += [m for m in s.modifiers if m in _ASSISTANT and _ASSISTANT[m] != d.modifier]
        if wrong:
            bad = words(sorted(set(wrong)))
            yield ctx.finding(
                svc(i, "modifiers"),
                f"{line_no(i)}: {bad} on a line rendered by a {d.label}; a {d.label}'s services are "
                f"furnished under a {_PLAN[d.modifier]} plan of care and carry {d.modifier}"
                f"{f' and {d.assistant_modifier}' if d.assistant_modifier else ''}.",
                f"Replace {bad} with {d.modifier}{f' and {d.assistant_modifier}' if d.assistant_modifier else ''}, "
                "or correct the rendering provider if another discipline furnished the service.",
            )


@rule("assistant-service-not-allowed", Severity.ERROR, family="coverage",
      title="A service an assistant may not furnish (an evaluation or re-evaluation by a PTA/OTA)",
      source=f"Pub 100-02 Ch. 15 §230.1 B (PTAs may not provide evaluative or assessment services) [V3], §230.2 [M]; {_DISCIPLINES}", needs="provider-discipline")  # fmt: skip
def assistant_service_not_allowed(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    d = rendering_discipline(enc)
    if d is None or not d.not_allowed_categories:
        return
    for i, s in enumerate(enc.services):
        info = ctx.catalog.get(s.code)
        if info is not None and info.category in d.not_allowed_categories:
            yield ctx.finding(
                svc(i, "code"),
                f"{line_no(i)}: {s.code} ({info.category}) is rendered by a {d.label}; an assistant may not "
                "perform evaluations, re-evaluations or establish the plan of care.",
                "Bill the evaluation under the therapist who performed it, or remove it.",
                source=d.not_allowed_source,
            )


_ASSISTANT = {"CQ": "GP", "CO": "GO"}  # an assistant modifier belongs with its discipline's modifier
_PLAN = {"GP": "physical therapy", "GO": "occupational therapy", "GN": "speech-language pathology"}


@rule("assistant-modifier-missing", Severity.ERROR, family="coverage",
      title="A therapy line rendered by a PT or OT assistant without CQ/CO",
      source="cms.gov 'Billing examples using CQ/CO modifiers' [V]; SSA §1834(v) (billing-rules.md §1.4); payer profile assistant_modifier_required", enabled_by="assistant_modifier_required", needs="provider-discipline")  # fmt: skip
def assistant_modifier_missing(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    d = rendering_discipline(enc)
    if d is None or d.assistant_modifier is None:
        return
    for i, s in enumerate(enc.services):
        info = ctx.catalog.get(s.code)
        if info is None or info.therapy not in ("always", "sometimes"):
            continue
        if d.assistant_modifier not in s.modifiers:
            yield ctx.finding(
                svc(i, "modifiers"),
                f"{line_no(i)}: {s.code} was furnished by a {d.label} and carries no {d.assistant_modifier}; "
                f"a service furnished in whole or in more than 10% by an assistant must carry it (and is "
                "paid at the reduced rate).",
                f"Add {d.assistant_modifier} to {s.code}, next to {d.modifier}.",
            )


@rule("therapy-modifier-missing", Severity.ERROR, family="coverage",
      title="GP/GO/GN missing on a therapy code where the payer requires it",
      source="Pub 100-04 Transmittal 3814 / CR 10176 (always-therapy codes need GP/GO/GN from 2018-01-01) [V3]; Noridian KX page [V3]; CARC 4",
      enabled_by="therapy_modifier_required", needs="therapy-modifier-missing")  # fmt: skip
def therapy_modifier_missing(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    for i, s in enumerate(enc.services):
        info = ctx.catalog.get(s.code)
        if info is None:
            continue
        if ctx.setting("original_medicare", False) and chiro_excluded(enc, s.code) is not None:
            continue  # not a Medicare benefit from this provider: medicare-chiro-not-covered, never "add GP"
        therapy = info.therapy == "always" or (info.therapy == "sometimes" and enc.plan_of_care is not None)
        if therapy and not any(m in DISCIPLINE for m in s.modifiers):
            yield ctx.finding(
                svc(i, "modifiers"),
                f"{line_no(i)}: {s.code} is a therapy code and carries no GP, GO or GN; it is denied "
                "(CARC 4).",
                f"Add GP (physical therapy plan of care), GO (occupational) or GN (speech) to {s.code}.",
            )


def _bucket(mods: tuple[str, ...]) -> str:
    return "ot" if "GO" in mods else "pt_slp"


@rule("kx-modifier-missing", Severity.ERROR, family="coverage",
      title="KX missing when the year's therapy amounts pass the KX threshold",
      source="kx_thresholds.toml; NGS CY2024 article (billing-rules.md §5)", enabled_by="kx_threshold", needs="therapy-code")  # fmt: skip
def kx_missing(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    est = _kx_estimate(enc, ctx)
    if est is None or est[0] is None:
        return
    totals, threshold, notes = est
    for bucket, total in totals.items():
        limit = threshold.pt_slp if bucket == "pt_slp" else threshold.ot
        if total <= limit:
            continue
        for i, s in enumerate(enc.services):
            if i in notes.get(bucket, ()) and "KX" not in s.modifiers:
                yield ctx.finding(
                    svc(i, "modifiers"),
                    f"{line_no(i)}: {'PT/SLP' if bucket == 'pt_slp' else 'OT'} therapy this year comes to "
                    f"about ${total} with this claim, above the {threshold.year} KX threshold of ${limit}; "
                    "without KX the line is denied.",
                    "Add KX when the record documents that therapy remains medically necessary; "
                    "otherwise issue an ABN (GA) before further visits.",
                    source=threshold.source,
                )


@rule("kx-threshold-unknown", Severity.WARNING, family="coverage",
      title="The year's therapy amounts or this claim's amounts are unknown, so the KX threshold cannot be checked",
      source="kx_thresholds.toml (billing-rules.md §5)", enabled_by="kx_threshold", needs="therapy-code")  # fmt: skip
def kx_unknown(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    est = _kx_estimate(enc, ctx)
    if est is None:
        return
    totals, threshold, notes = est
    if totals is None:
        lines = [i for key, ls in notes.items() if key != "reason" for i in ls]
        if lines and all("KX" in enc.services[i].modifiers for i in lines):
            return
        reason = notes.get("reason", ["unknown"])
        yield ctx.finding(
            "coverage.therapy_amounts_used",
            f"Cannot tell whether this claim passes the KX threshold: {reason[0]}",
            "Enter the therapy amounts used this year (from the eligibility response) or import a "
            "fee schedule (therabill refdata import-fees).",
        )


def _kx_estimate(enc: Encounter, ctx: RuleContext):  # type: ignore[no-untyped-def]
    """(totals by bucket or None, the year's threshold, lines by bucket / reason)."""
    memo = ctx.memo.get("kx")
    if memo is not None:
        return memo[0]
    result = _compute_kx(enc, ctx)
    ctx.memo["kx"] = (result,)
    return result


def _compute_kx(enc: Encounter, ctx: RuleContext):  # type: ignore[no-untyped-def]
    table = str(ctx.setting("kx_threshold", "") or "")
    lines: dict[str, list[int]] = {}
    for i, s in enumerate(enc.services):
        info = ctx.catalog.get(s.code)
        if info is not None and info.therapy in ("always", "sometimes") and ctx.billed_units(i) > 0:
            lines.setdefault(_bucket(s.modifiers), []).append(i)
    if not table or not lines:
        return None
    threshold = kx_year(table, ctx.dos.year)
    if threshold is None:
        return None, None, {**lines, "reason": [f"no {table} threshold is listed for {ctx.dos.year}."]}
    used = enc.coverage.therapy_amounts_used if enc.coverage else None
    totals: dict[str, Decimal] = {"pt_slp": Decimal(0), "ot": Decimal(0)}
    known = used is not None
    if used is not None:
        totals["pt_slp"] += used.pt_slp
        totals["ot"] += used.ot
    for p in enc.prior_claims:
        if p.date_of_service.year != ctx.dos.year or p.allowed_amount is None:
            continue
        if used is not None and used.as_of is not None and p.date_of_service <= used.as_of:
            continue  # already in the amounts used
        totals[_bucket(p.modifiers)] += p.allowed_amount
        known = True
    if not known:
        return None, threshold, {**lines, "reason": [
            "the therapy amounts used this year are not on the coverage and no earlier claim has an "
            "allowed amount."
        ]}  # fmt: skip
    full_unit = _mppr_full_unit(enc, ctx)
    for bucket, idx in lines.items():
        for i in idx:
            s = enc.services[i]
            amount = ctx.fees.medicare_amount(s.code, ctx.dos) if ctx.fees is not None else None
            if amount is None:
                amount = s.unit_charge  # the charge: an upper bound of the allowed amount
            if amount is None:
                return None, threshold, {**lines, "reason": [
                    f"{s.code} has no Medicare amount in a fee schedule and no charge."
                ]}  # fmt: skip
            units = ctx.billed_units(i)
            row = pfs_row(s.code, ctx.dos) if full_unit is not None else None
            if row is None or row.mult_proc != "5" or row.amount <= 0:
                totals[bucket] += amount * units
                continue
            # MPPR: one unit (the highest PE of the day) in full, the others with PE at 50%
            full = 1 if i == full_unit else 0
            reduced = (amount * row.mppr_amount / row.amount).quantize(Decimal("0.01"))
            totals[bucket] += amount * full + reduced * (units - full)
    return {b: totals[b] for b in lines}, threshold, lines


def _mppr_full_unit(enc: Encounter, ctx: RuleContext) -> int | None:
    """The line whose one unit the MPPR pays in full (highest PE RVU), when an imported PFS file
    marks the day's therapy codes for the MPPR (multiple-procedure indicator 5); else ``None``."""
    best: tuple[Decimal, int] | None = None
    for i, s in enumerate(enc.services):
        row = pfs_row(s.code, ctx.dos)
        if row is None or row.mult_proc != "5" or ctx.billed_units(i) <= 0:
            continue
        if best is None or row.pe_nonfacility > best[0]:
            best = (row.pe_nonfacility, i)
    return None if best is None else best[1]


@rule("medicare-code-bundled", Severity.WARNING, family="coverage",
      title="A code Medicare always bundles (PFS status B, e.g. 97010): never paid separately",
      source="PFS status indicators (imported PPRRVU, else codes.toml medicare_status [M])", enabled_by="original_medicare", needs="medicare-status-b")  # fmt: skip
def medicare_bundled(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    for i, s in enumerate(enc.services):
        info = ctx.catalog.get(s.code)
        status, note = medicare_status(info, ctx.dos) if info is not None else ("", "")
        if status == "B":
            yield ctx.finding(
                svc(i, "code"),
                f"{line_no(i)}: Medicare bundles {s.code} into the other services and never pays it "
                f"separately ({note or 'PFS status B'}).",
                f"Leave {s.code} in the note; it may stay on the claim at no charge or be left off.",
            )


@rule("medicare-code-invalid", Severity.ERROR, family="coverage",
      title="A code not valid for Medicare (PFS status I, e.g. 97014: use G0283)",
      source="PFS status indicators (imported PPRRVU, else codes.toml medicare_status [M])", enabled_by="original_medicare", needs="medicare-status-i")  # fmt: skip
def medicare_invalid(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    for i, s in enumerate(enc.services):
        info = ctx.catalog.get(s.code)
        status, note = medicare_status(info, ctx.dos) if info is not None else ("", "")
        if status == "I":
            yield ctx.finding(
                svc(i, "code"),
                f"{line_no(i)}: {s.code} is not valid for Medicare ({note or 'PFS status I'}).",
                f"Report the Medicare code for this service instead of {s.code} "
                f"({info.medicare_status_note if info is not None and info.medicare_status == 'I' else 'see the PFS'}).",
            )


@rule("frequency-not-accepted", Severity.ERROR, family="coverage",
      title="A replacement or void frequency code the payer does not accept, or one without the original claim number",
      source="837P CLM05-3 and REF*F8 (billing-rules.md §9 [M]); payer profile frequency_codes_accepted", needs="frequency-check")  # fmt: skip
def frequency_not_accepted(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    accepted = [str(c) for c in ctx.setting("frequency_codes_accepted", ["1", "7", "8"])]
    f = enc.claim_frequency
    if f not in accepted:
        yield ctx.finding(
            "claim_frequency",
            f"Claim frequency {f} ({'replacement' if f == '7' else 'void' if f == '8' else 'unknown'}) is "
            f"not accepted by this payer electronically (accepted: {words(accepted)}).",
            "Send the correction as the payer asks (often a paper corrected claim or a phone reopening).",
            source=ctx.source_of("frequency_codes_accepted"),
        )
    elif f in ("7", "8") and not enc.payer_claim_control_number:
        yield ctx.finding(
            "payer_claim_control_number",
            f"A {'replacement' if f == '7' else 'void'} (frequency {f}) must carry the payer's claim "
            "number of the original claim.",
            "Enter the payer claim control number from the remittance (835 CLP07).",
        )


def _add(day: date, amount: int, unit: str) -> date:
    if unit == "days":
        return day + timedelta(days=amount)
    months = amount * 12 if unit == "years" else amount
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def filing_deadline(enc: Encounter, ctx: RuleContext) -> tuple[date, str] | None:
    """The filing deadline and its wording (``None`` without a filing limit), once per scrub."""
    if "filing" not in ctx.memo:
        ctx.memo["filing"] = _compute_deadline(enc, ctx)
    return ctx.memo["filing"]  # type: ignore[no-any-return]


def _compute_deadline(enc: Encounter, ctx: RuleContext) -> tuple[date, str] | None:
    amount = ctx.setting("filing_limit")
    if not amount:
        return None
    params = ctx.setting_params("filing_limit")
    unit = str(params.get("unit", "days"))
    start, what = ctx.dos, "the date of service"
    if params.get("from") == "primary_adjudication" and enc.coverage and enc.coverage.sequence != "primary":
        dates = [c.prior_payment.adjudication_date for c in enc.other_coverages
                 if c.prior_payment is not None and c.prior_payment.adjudication_date is not None]  # fmt: skip
        if dates:
            start, what = max(dates), "the primary payer's adjudication"
    return _deadline(start, int(amount), unit, what)


@lru_cache(maxsize=4096)
def _deadline(start: date, amount: int, unit: str, what: str) -> tuple[date, str]:
    """The filing deadline and its wording (pure; cached, the same few dates recur)."""
    return _add(start, amount, unit), f"{_plural(amount, unit.rstrip('s'))} from {what}"


@rule("filing-limit-passed", Severity.ERROR, family="coverage", title="The payer's filing limit has passed",
      source="payer profile filing_limit; CARC 29", enabled_by="filing_limit", needs="filing-due")  # fmt: skip
def filing_limit_passed(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    d = filing_deadline(enc, ctx)
    if d is not None and ctx.as_of > d[0]:
        yield ctx.finding(
            "date_of_service",
            f"The filing limit ({d[1]}) ended on {d[0]}; sent on {ctx.as_of}, the claim is denied (CARC 29).",
            "Send it only with proof of timely filing (an earlier rejection or acknowledgment) or an "
            "exception the payer allows; otherwise write the charge off.",
            source=ctx.source_of("filing_limit"),
        )


@rule("filing-limit-near", Severity.WARNING, family="coverage", title="The payer's filing limit is near",
      source="payer profile filing_limit (warn_before_days)", enabled_by="filing_limit", needs="filing-due")  # fmt: skip
def filing_limit_near(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    d = filing_deadline(enc, ctx)
    if d is None:
        return
    warn = int(ctx.setting_params("filing_limit").get("warn_before_days", 30))
    left = (d[0] - ctx.as_of).days
    if 0 <= left <= warn:
        yield ctx.finding(
            "date_of_service",
            f"The filing limit ({d[1]}) ends on {d[0]}, in {_plural(left, 'day')}.",
            "Send the claim now.",
            source=ctx.source_of("filing_limit"),
        )


@rule("provider-not-enrolled", Severity.ERROR, family="coverage",
      title="The rendering provider is not enrolled with the payer on the date of service (practice records)",
      source="the practice's enrollment records; CARC B7/185", needs="enrollments")  # fmt: skip
def provider_not_enrolled(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    if ctx.enrollments is None or enc.rendering_provider is None or enc.coverage is None:
        return
    npi, payer = enc.rendering_provider.npi, enc.coverage.payer_id
    recs = [e for e in ctx.enrollments if e.npi == npi and e.payer_id == payer]
    name = f"{enc.rendering_provider.first_name} {enc.rendering_provider.last_name}"
    if not recs:
        if any(e.npi == npi for e in ctx.enrollments):
            yield ctx.finding(
                "rendering_provider.npi",
                f"{name} ({npi}) has no enrollment with payer {payer} in the practice's records.",
                "Check the enrollment with the payer and record it, or bill under an enrolled provider.",
                severity=Severity.WARNING,
            )
        return
    if not any(e.enrolled and e.covers(ctx.dos) for e in recs):
        yield ctx.finding(
            "rendering_provider.npi",
            f"{name} ({npi}) is not enrolled with payer {payer} on {ctx.dos} per the practice's records.",
            "Hold the claim until the enrollment is effective (or retroactive), or bill under an "
            "enrolled provider who performed the service.",
        )


@rule("license-expired", Severity.ERROR, family="coverage",
      title="The rendering provider's license expired before the date of service (practice records)",
      source="the practice's license records; state licensing law", needs="licenses")  # fmt: skip
def license_expired(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    r = enc.rendering_provider
    if ctx.licenses is None or r is None:
        return
    recs = [
        lic
        for lic in ctx.licenses
        if lic.npi == r.npi and (r.license_state is None or lic.state == r.license_state)
    ]
    if recs and not any(lic.expires >= ctx.dos for lic in recs):
        latest = max(lic.expires for lic in recs)
        yield ctx.finding(
            "rendering_provider.license_number",
            f"{r.first_name} {r.last_name}'s license ({recs[0].state}) expired on {latest}, before the "
            f"visit on {ctx.dos}.",
            "Services while unlicensed cannot be billed; if the license was renewed in time, update "
            "the practice's records.",
        )


@rule("assignment-contradicts-records", Severity.ERROR, family="coverage",
      title="The claim's assignment or signature indicators contradict the practice's records (CLM06-08, boxes 13, 27, 31)",
      source="837P 005010X222A1 2300 CLM06 (provider signature), CLM07 (assignment), CLM08 (benefits assigned); CMS-1500 boxes 13, 27, 31 (NUCC instructions); the practice's settings and the patient's intake consent",
      needs="assignment-records", enabled_by="check_assignment_records", enabled_default=True)  # fmt: skip
def assignment_contradicts_records(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    on_file = ctx.assignment
    if on_file is None:
        return
    if enc.accept_assignment is not None and enc.accept_assignment != on_file.accepts_assignment:
        said, kept = (
            ("accepts", "does not accept") if enc.accept_assignment else ("does not accept", "accepts")
        )
        yield ctx.finding(
            "accept_assignment",
            f"The claim says the provider {said} assignment (CLM07, box 27), but the practice's "
            f"settings say it {kept} assignment.",
            "Correct the practice's setting (Settings → Practice) or the claim, so the payer pays whom "
            "the practice means it to.",
        )
    if enc.provider_signature_on_file and not on_file.signature_on_file:
        yield ctx.finding(
            "provider_signature_on_file",
            "The claim says the provider's signature is on file (CLM06, box 31), but the provider's "
            "record says it is not.",
            "Keep the provider's signed authorization on file and tick 'signature on file' on the "
            "provider (Settings → Providers), or send the claim without it.",
        )
    elif enc.provider_signature_on_file is False and on_file.signature_on_file:
        yield ctx.finding(
            "provider_signature_on_file",
            "The claim says the provider's signature is not on file (CLM06 N, box 31 empty), but the "
            "provider's record says it is; payers deny unsigned claims.",
            "Re-code the claim so it carries the signature on file.",
            severity=Severity.WARNING,
        )
    assigned = enc.consent.benefits_assigned if enc.consent is not None else False
    if assigned and on_file.benefits_assigned is False:
        yield ctx.finding(
            "consent.benefits_assigned",
            "The claim says the patient assigned benefits to the provider (CLM08 Y, box 13), but the "
            "patient's intake consent has no signed assignment of benefits.",
            "Have the patient sign the assignment of benefits in the intake, or send the claim "
            "without it (the payer will pay the patient).",
        )
    elif not assigned and on_file.benefits_assigned:
        yield ctx.finding(
            "consent.benefits_assigned",
            "The patient signed the assignment of benefits, but the claim does not carry it (CLM08 N, "
            "box 13 empty): the payer will pay the patient instead of the practice.",
            "Re-code the claim from the current intake so it carries the assignment.",
            severity=Severity.WARNING,
        )


@rule("accident-facts-missing", Severity.ERROR, family="coverage",
      title="An auto or workers' comp claim without the accident facts (CLM11, DTP*439, REF*Y4)",
      source="payer profile accident_facts_required; 837P 2300 CLM11, DTP*439, REF*Y4; CMS-1500 boxes 10a-c, 11b, 14 (NUCC instructions)", enabled_by="accident_facts_required")  # fmt: skip
def accident_facts_missing(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    kind = ctx.setting("accident_facts_required")
    rc = enc.related_causes
    missing: list[str] = []
    if kind == "employment" and not rc.employment:
        missing.append("that the condition is related to employment")
    if kind == "auto":
        if not rc.auto_accident:
            missing.append("that the condition is related to an auto accident")
        if not rc.auto_accident_state:
            missing.append("the state where the accident happened")
    if rc.accident_date is None:
        missing.append("the accident or injury date")
    if not rc.property_casualty_claim_number:
        missing.append("the carrier's claim number")
    if missing:
        yield ctx.finding(
            "related_causes",
            "This payer pays accident and injury care only with the accident facts; the claim lacks "
            + ", ".join(missing)
            + ".",
            "Record the related causes, the accident date, the state (auto) and the claim number the "
            "carrier gave on the case; they go to CLM11, DTP*439 and REF*Y4 (CMS-1500 boxes 10, 14, 11b).",
            source=ctx.source_of("accident_facts_required"),
        )


_EARLIER = {"secondary": ("primary",), "tertiary": ("primary", "secondary")}


@rule("cob-prior-adjudication-missing", Severity.ERROR, family="coverage",
      title="A secondary (or tertiary) claim without the earlier payer's adjudication",
      source="837P 005010X222A1 loop 2320 (other subscriber: CAS, AMT*D, AMT*EAF) and 2430 (line adjudication); CMS-1500 boxes 9, 11d; CARC 22 / N4 when it is missing", needs="later-coverage")  # fmt: skip
def cob_prior_adjudication_missing(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    cov = enc.coverage
    if cov is None or cov.sequence not in _EARLIER:
        return
    earlier = [o for o in enc.other_coverages if o.sequence in _EARLIER[cov.sequence]]
    if earlier and all(o.prior_payment is not None for o in earlier):
        return
    missing = [o.payer_name or o.payer_id or o.sequence for o in earlier if o.prior_payment is None]
    what = (
        f"the adjudication of {', '.join(missing)} (what it paid and adjusted, and when)"
        if missing
        else f"the {' and '.join(_EARLIER[cov.sequence])} coverage and its adjudication"
    )
    yield ctx.finding(
        "other_coverages",
        f"This is a {cov.sequence} claim but it lacks {what}; the payer denies a secondary claim "
        "without the earlier payer's payment (CARC 22).",
        "Post the earlier payer's 835 first and send this claim with its paid amount, adjustments and "
        "adjudication date (other_coverages[].prior_payment, services[].prior_payment).",
    )
