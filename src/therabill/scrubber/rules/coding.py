"""Coding rules: supported codes, techniques that point to another code, modifiers, duplicates."""

from __future__ import annotations

from collections.abc import Iterator

from therabill.domain.encounter import Encounter
from therabill.scrubber.context import RuleContext
from therabill.scrubber.finding import Finding, Severity
from therabill.scrubber.refs import pos_policy_source, telehealth_pos
from therabill.scrubber.registry import rule
from therabill.scrubber.rules._util import line_no, svc, words

_CATALOG = "therabill code catalog (codes.toml)"


@rule(
    "code-unsupported",
    Severity.ERROR,
    family="coding",
    title="A service code therabill does not support (not in the code catalog)",
    source=_CATALOG,
    needs="code-unknown",
)
def code_unsupported(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    for i, s in enumerate(enc.services):
        if s.code not in ctx.catalog:
            yield ctx.finding(
                svc(i, "code"),
                f"{line_no(i)}: {s.code} is not a supported CPT/HCPCS code (not in the code catalog "
                f"{ctx.catalog.source}), so its unit model is unknown: no units were computed for its "
                f"{s.minutes} minutes and the line cannot be billed as it stands.",
                "Check the code for a typo; bill one of the supported codes (therabill catalog codes), "
                "or add the code to the catalog with its unit model and source.",
            )


@rule(
    "technique-code-mismatch",
    Severity.WARNING,
    family="coding",
    title="The techniques documented on a line point to another code than the one billed",
    source=f"{_CATALOG}: techniques of each code (CPT code descriptors, summarised)",
    needs="technique-mismatch",
)
def technique_code_mismatch(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    for i, s in enumerate(enc.services):
        if not s.techniques or s.code not in ctx.catalog:
            continue
        pointed: list[str] = []
        for t in s.techniques:
            for c in ctx.catalog.codes_for_technique(t):
                if c not in pointed:
                    pointed.append(c)
        if pointed and s.code not in pointed:
            own = ctx.catalog.codes[s.code].techniques
            yield ctx.finding(
                svc(i, "techniques"),
                f"{line_no(i)}: {s.code} is billed, but the techniques documented "
                f"({words(s.techniques)}) are those of {words(pointed)}.",
                f"Bill {pointed[0]} for this work, or document the {s.code} techniques actually "
                f"performed ({words(own[:4])}).",
            )


@rule(
    "modifier-not-applicable",
    Severity.ERROR,
    family="coding",
    title="A modifier that cannot apply to the code (26/TC on therapy codes, 52 on a timed code)",
    source="PC/TC indicator (Palmetto GBA, Regence modifier-26 policy); Premera on 52 with timed codes "
    "(billing-rules.md §2, §5)",
    needs="modifier-26-tc-52",
)
def modifier_not_applicable(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    for i, s in enumerate(enc.services):
        info = ctx.catalog.get(s.code)
        if info is None:
            continue
        for m in s.modifiers:
            if m in ("26", "TC") and not info.pc_tc:
                yield ctx.finding(
                    svc(i, "modifiers"),
                    f"{line_no(i)}: modifier {m} (professional/technical component) cannot apply to "
                    f"{s.code}: the code has no professional/technical split.",
                    f"Remove {m} from {line_no(i)}.",
                )
            elif m == "52" and info.timed:
                yield ctx.finding(
                    svc(i, "modifiers"),
                    f"{line_no(i)}: modifier 52 (reduced services) on the timed code {s.code}; fewer "
                    "minutes are shown by fewer units, not by 52, and payers deny the combination.",
                    f"Remove 52 and bill the units the {s.minutes} minutes support.",
                )


@rule(
    "modifiers-too-many",
    Severity.ERROR,
    family="coding",
    title="More than four modifiers on one line",
    source="837P SV101-3..6 and CMS-1500 box 24D carry four modifiers (billing-rules.md §9)",
    needs="modifiers-over-4",
)
def modifiers_too_many(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    for i, s in enumerate(enc.services):
        if len(s.modifiers) > 4:
            yield ctx.finding(
                svc(i, "modifiers"),
                f"{line_no(i)}: {len(s.modifiers)} modifiers ({words(s.modifiers)}); a claim line carries four.",
                "Keep the four that affect payment, pricing modifiers first (e.g. GP, 59/X, KX, CQ).",
            )


@rule(
    "duplicate-line",
    Severity.ERROR,
    family="coding",
    title="The same code with the same modifiers on two lines of one day",
    source="First Coast: a timed code on one line per date of service (billing-rules.md §1.1); CARC 18",
    needs="code-repeated",
)
def duplicate_line(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    seen: dict[tuple[str, frozenset[str]], int] = {}
    for i, s in enumerate(enc.services):
        key = (s.code, frozenset(s.modifiers))
        first = seen.get(key)
        if first is None:
            seen[key] = i
            continue
        mods = f" with modifiers {words(s.modifiers)}" if s.modifiers else ""
        yield ctx.finding(
            svc(i, "code"),
            f"{line_no(i)} repeats {s.code}{mods} from {line_no(first)}; the payer reads it as a "
            "duplicate and the units of one day belong on one line.",
            f"Combine {line_no(first)} and {line_no(i)} into one line with the total minutes "
            f"({enc.services[first].minutes + s.minutes}). Different modifiers (a CQ and a non-CQ "
            "portion) may stay on separate lines.",
        )


@rule(
    "pos-telehealth-hands-on",
    Severity.ERROR,
    family="coding",
    title="A hands-on code (massage, manual therapy, manipulation, modalities) at a telehealth place of service (02/10)",
    source="place_of_service_policy.toml (CMS POS 02/10); codes.toml in_person",
    needs="telehealth-pos",
)
def pos_telehealth_hands_on(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    if enc.place_of_service not in telehealth_pos():
        return
    for i, s in enumerate(enc.services):
        info = ctx.catalog.get(s.code)
        if info is not None and info.in_person:
            yield ctx.finding(
                svc(i, "code"),
                f"{line_no(i)}: {s.code} ({info.description.split(',')[0].lower()}) is hands-on work on "
                f"the patient's body, but the place of service is {enc.place_of_service} (telehealth); it "
                "cannot have been delivered that way and is denied.",
                "Correct the place of service to where the patient was treated (11 office, 12 home, ...), "
                f"or remove {s.code} if the visit really was by telehealth.",
                source=pos_policy_source(),
            )


@rule(
    "duplicate-claim",
    Severity.ERROR,
    family="coding",
    title="A line that repeats an earlier claim's line (same patient, date, code, modifiers and provider)",
    source="CARC 18 exact duplicate claim/service (billing-rules.md §10); prior_claims of the encounter",
    needs="prior-same-day",
)
def duplicate_claim(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    if enc.claim_frequency in ("7", "8"):
        return  # a replacement or void refers to the earlier claim on purpose
    rendering = enc.rendering_provider.npi if enc.rendering_provider else None
    billing = enc.billing_provider.npi if enc.billing_provider else None
    for i, s in enumerate(enc.services):
        mods = frozenset(s.modifiers)
        for p in ctx.same_day_prior:
            if p.code != s.code or frozenset(p.modifiers) != mods:
                continue
            if p.rendering_npi and rendering and p.rendering_npi != rendering:
                continue
            if p.billing_npi and billing and p.billing_npi != billing:
                continue
            yield ctx.finding(
                svc(i, "code"),
                f"{line_no(i)}: {s.code} on {ctx.dos} by the same provider is already on claim "
                f"{p.claim_id}; the payer denies the repeat as a duplicate (CARC 18).",
                f"If claim {p.claim_id} needs a change, send a replacement (frequency 7) of it instead; if "
                "this was a separate, repeated service, document it and add the payer's repeat modifier "
                "(76/77 or 59/XE); otherwise remove the line.",
            )
            break
