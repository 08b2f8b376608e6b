"""NCCI and MUE rules: PTP pairs and their modifiers, E/M with manipulation, unit limits,
and the payer policy on 97124 with 97140 on the same region."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from therabill.domain.encounter import Encounter
from therabill.refdata.ncci import PtpEdit
from therabill.scrubber.context import RuleContext
from therabill.scrubber.finding import Finding, Severity
from therabill.scrubber.refs import default_same_region_pairs
from therabill.scrubber.registry import rule
from therabill.scrubber.rules._util import NCCI_BYPASS, line_no, svc, words
from therabill.scrubber.rules.coverage import chiro_excluded

_NCCI = "CMS NCCI Policy Manual Ch. 1; NCCI PTP practitioner edits (billing-rules.md §3)"
_ANY_DAY = date(1900, 1, 1)


@dataclass(frozen=True, slots=True)
class _Pair:
    edit: PtpEdit
    col1: tuple[int, ...]  # lines of this claim with the column 1 code
    col2: tuple[int, ...]  # lines of this claim with the column 2 code
    prior1: bool  # the column 1 code is on an earlier claim of the same day
    prior2: bool


def _bypass(mods: Sequence[str]) -> tuple[str, ...]:
    return tuple(m for m in mods if m in NCCI_BYPASS)


def _payer_pairs(ctx: RuleContext) -> list[PtpEdit]:
    out = []
    for row in ctx.setting("payer_pairs", ()) or ():
        out.append(  # noqa: PERF401
            PtpEdit(
                str(row["column1"]),
                str(row["column2"]),
                _ANY_DAY,
                None,
                str(row.get("modifier_indicator", "1")),
                str(row.get("rationale", "payer policy")),
                ctx.source_of("payer_pairs"),
            )
        )
    return out


def active_pairs(enc: Encounter, ctx: RuleContext) -> list[_Pair]:
    """The PTP edits in force among this claim's codes and the same day's earlier claims."""
    memo = ctx.memo.get("pairs")
    if memo is not None:
        return memo  # type: ignore[no-any-return]
    billing = enc.billing_provider.npi if enc.billing_provider else None
    prior = {
        p.code
        for p in ctx.same_day_prior
        if p.billing_npi is None or billing is None or p.billing_npi == billing
    }
    here = [s.code for s in enc.services]
    codes = set(here) | prior
    edits: list[PtpEdit] = []
    if len(codes) >= 2:
        if ctx.setting("ncci_ptp", True):
            edits.extend(e for e in ctx.ncci.pairs_among(codes) if e.active_on(ctx.dos))
        for e in _payer_pairs(ctx):
            if e.column1 in codes and e.column2 in codes and e.modifier_indicator != "9":
                edits.append(e)  # noqa: PERF401
    pairs = []
    for e in edits:
        c1 = tuple(i for i, c in enumerate(here) if c == e.column1)
        c2 = tuple(i for i, c in enumerate(here) if c == e.column2)
        if not c1 and not c2:
            continue
        pairs.append(_Pair(e, c1, c2, e.column1 in prior, e.column2 in prior))
    ctx.memo["pairs"] = pairs
    return pairs


def _regions(enc: Encounter, lines: Sequence[int]) -> set[str]:
    out: set[str] = set()
    for i in lines:
        out.update(enc.services[i].body_regions)
    return out


def _time_blocks(enc: Encounter, ctx: RuleContext, lines: Sequence[int]) -> bool:
    """True when every line is a timed code with a billable block of its own (8 minutes or more)."""
    for i in lines:
        s = enc.services[i]
        info = ctx.catalog.get(s.code)
        if info is None or not info.timed or s.minutes < 8:
            return False
    return bool(lines)


def _edit_source(e: PtpEdit) -> str:
    return f"{e.source}; pair {e.column1}/{e.column2} indicator {e.modifier_indicator}"


@rule("ncci-ptp-not-allowed", Severity.ERROR, family="ncci",
      title="An NCCI pair with modifier indicator 0 (no modifier can bypass it)", source=_NCCI, needs="ptp-pairs")  # fmt: skip
def ptp_not_allowed(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    for p in active_pairs(enc, ctx):
        e = p.edit
        if e.modifier_indicator != "0" or not ((p.col1 or p.prior1) and (p.col2 or p.prior2)):
            continue
        where = p.col2 or p.col1
        for i in where:
            yield ctx.finding(
                svc(i, "code"),
                f"{e.column2} is bundled into {e.column1} on the same day (NCCI indicator 0): "
                f"{e.column2} is not paid, and no modifier can change that ({e.rationale}).",
                f"Remove {e.column2} from the claim; bill only {e.column1} for that day.",
                source=_edit_source(e),
            )


@rule("ncci-ptp-modifier-missing", Severity.ERROR, family="ncci",
      title="An NCCI pair with indicator 1 without 59/XE/XS/XP/XU on its column-2 code", source=_NCCI, needs="ptp-pairs")  # fmt: skip
def ptp_modifier_missing(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    prefer_x = bool(ctx.setting("prefer_x_modifiers", False)) and x_accepted(ctx)
    medicare = bool(ctx.setting("original_medicare", False))
    for p in active_pairs(enc, ctx):
        e = p.edit
        if e.modifier_indicator != "1" or not (p.col1 or p.prior1):
            continue
        col1_regions = _regions(enc, p.col1)
        for i in p.col2:
            s = enc.services[i]
            if _bypass(s.modifiers):
                continue
            if medicare and chiro_excluded(enc, s.code) is not None:
                continue  # not a Medicare benefit at all: medicare-chiro-not-covered, no modifier helps
            own = set(s.body_regions)
            distinct = bool(own) and bool(col1_regions) and not own & col1_regions
            if distinct:
                mod = (
                    "XS"
                    if prefer_x
                    else "59"
                    if not x_accepted(ctx)
                    else "59 (XS where the payer accepts X modifiers)"
                )
                fix = (
                    f"Add {mod} to {e.column2} on {line_no(i)}: the record shows separate regions "
                    f"({words(sorted(own))} vs {words(sorted(col1_regions))}); point it to the diagnosis "
                    "of its own region."
                )
            elif not p.col1:
                mod = (
                    "XE"
                    if prefer_x
                    else "59"
                    if not x_accepted(ctx)
                    else "59 (XE where the payer accepts X modifiers)"
                )
                fix = (
                    f"{e.column1} was billed on an earlier claim the same day. If {e.column2} was done at "
                    f"a separate encounter, document it and add {mod}; otherwise remove {e.column2}."
                )
            elif _time_blocks(enc, ctx, p.col1) and _time_blocks(enc, ctx, (i,)):
                fix = (
                    f"If {e.column2} and {e.column1} were done in separate 15-minute blocks (one after the "
                    f"other, not at the same time), add 59 to {e.column2} on {line_no(i)} and let the note "
                    f"show each block's minutes; if they were done together, bill only {e.column1}."
                )
            else:
                shared = words(sorted(own & col1_regions)) if own & col1_regions else "regions not documented"
                fix = (
                    f"The record does not show {e.column2} apart from {e.column1} ({shared}): it is "
                    f"included in {e.column1} and not separately payable. Remove {e.column2}, or, if it "
                    "truly was a separate region or encounter, document that first; only then add a "
                    "modifier."
                )
            yield ctx.finding(
                svc(i, "modifiers"),
                f"{line_no(i)}: {e.column2} is column 2 of an NCCI pair with {e.column1} (indicator 1); "
                "without an NCCI modifier it is denied as included (CARC 236/97).",
                fix,
                source=_edit_source(e),
            )


@rule("ncci-modifier-unsupported", Severity.ERROR, family="ncci",
      title="A 59/X modifier that the record does not support (same body regions, same encounter)",
      source=f"{_NCCI}; NCCI Policy Manual Ch. 1 on 59/XE/XS/XP/XU; CMS 'Proper use of modifiers 59, XE, XP, XS, XU' (two timed therapy services in distinctly different 15-minute blocks take 59) [V3]", needs="ptp-pairs")  # fmt: skip
def ptp_modifier_unsupported(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    for p in active_pairs(enc, ctx):
        e = p.edit
        if e.modifier_indicator != "1" or not p.col1:
            continue  # a column 1 code on an earlier claim may be a separate encounter
        col1_regions = _regions(enc, p.col1)
        col1_blocks = _time_blocks(enc, ctx, p.col1)
        for i in p.col2:
            s = enc.services[i]
            mods = _bypass(s.modifiers)
            if not mods:
                continue
            own = set(s.body_regions)
            same = own & col1_regions
            problems = []
            # two timed services in their own 15-minute blocks are distinct with 59 (or XU) even on
            # one region; XS still says "another structure"
            regional = ("XS",) if col1_blocks and _time_blocks(enc, ctx, (i,)) else ("59", "XS", "XU")
            if any(m in regional for m in mods) and (same or not own or not col1_regions):
                problems.append(
                    f"the regions overlap ({words(sorted(same))})"
                    if same
                    else "the regions are not documented"
                )
            if "XE" in mods:
                problems.append(f"{e.column1} is on this same encounter, not a separate one")
            if "XP" in mods:
                problems.append("one rendering provider performed both")
            if problems:
                yield ctx.finding(
                    svc(i, "modifiers"),
                    f"{line_no(i)}: {words(mods)} on {e.column2} says it was distinct from {e.column1}, "
                    f"but {'; '.join(problems)}. An unsupported modifier is an audit risk and the "
                    "payment can be recovered.",
                    f"Remove {words(mods)} and {e.column2} (it is included in {e.column1}) unless the "
                    "note shows a separate region or encounter; then document it on the line.",
                    source=_edit_source(e),
                )


@rule("ncci-modifier-unneeded", Severity.WARNING, family="ncci",
      title="A 59/X modifier on a line that is not column 2 of any active pair (an unneeded 59 draws audits)",
      source=_NCCI, needs="bypass-modifier")  # fmt: skip
def ptp_modifier_unneeded(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    needed: set[int] = set()
    cmt = any(_is_cmt(ctx, s.code) for s in enc.services)  # E/M with 59: em-cmt-modifier-25 says it
    for p in active_pairs(enc, ctx):
        if p.col1 or p.prior1:
            needed.update(p.col2)
    for i, s in enumerate(enc.services):
        mods = _bypass(s.modifiers)
        if mods and i not in needed and not (_is_em(ctx, s.code) and cmt):
            yield ctx.finding(
                svc(i, "modifiers"),
                f"{line_no(i)}: {words(mods)} on {s.code}, but no NCCI pair in force "
                f"({ctx.ncci.ptp_source}) makes {s.code} a column-2 code with the other codes of the "
                "day. An unneeded 59/X modifier draws audits.",
                f"Remove {words(mods)} from {line_no(i)} unless the payer's own policy asks for it.",
                source=ctx.ncci.ptp_source,
            )


def _is_em(ctx: RuleContext, code: str) -> bool:
    info = ctx.catalog.get(code)
    return info is not None and info.category == "evaluation_management"


def _is_cmt(ctx: RuleContext, code: str) -> bool:
    info = ctx.catalog.get(code)
    return info is not None and info.category == "chiropractic_manipulation"


@rule("em-cmt-modifier-25", Severity.ERROR, family="ncci",
      title="An E/M billed with manipulation needs 25 on the E/M, never 59",
      source="CPT modifier 25; NCCI Policy Manual Ch. 11 (E/M with CMT) (billing-rules.md §5)", needs="em-with-cmt")  # fmt: skip
def em_cmt_modifier_25(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    if not any(_is_cmt(ctx, s.code) for s in enc.services):
        return
    for i, s in enumerate(enc.services):
        if not _is_em(ctx, s.code):
            continue
        if "59" in s.modifiers or any(m in s.modifiers for m in ("XE", "XS", "XP", "XU")):
            yield ctx.finding(
                svc(i, "modifiers"),
                f"{line_no(i)}: 59/X on the E/M {s.code}; an E/M with manipulation takes 25, never 59.",
                f"Replace the 59/X modifier with 25 on {s.code}, with a separately documented E/M.",
            )
        elif "25" not in s.modifiers:
            yield ctx.finding(
                svc(i, "modifiers"),
                f"{line_no(i)}: the E/M {s.code} is billed with manipulation but without modifier 25; "
                "it is denied as part of the manipulation.",
                f"Add 25 to {s.code} when the E/M is significant and separately documented; otherwise "
                "remove the E/M.",
            )


@rule("mue-exceeded", Severity.ERROR, family="ncci",
      title="Units above the Medically Unlikely Edit, by its adjudication indicator",
      source="CMS MUE practitioner table (billing-rules.md §4)", enabled_by="mue", enabled_default=True, needs="mue-over")  # fmt: skip
def mue_exceeded(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    day_units: dict[str, int] = {}
    first_line: dict[str, int] = {}
    for i, s in enumerate(enc.services):
        day_units[s.code] = day_units.get(s.code, 0) + ctx.billed_units(i)
        first_line.setdefault(s.code, i)
    prior_units: dict[str, int] = {}
    for p in ctx.same_day_prior:
        prior_units[p.code] = prior_units.get(p.code, 0) + p.units
    for code, units in day_units.items():
        m = ctx.ncci.mue_for(code, ctx.dos)
        if m is None:
            continue
        src = f"{m.source} (MUE {m.value}, MAI {m.mai})"
        if m.mai == "1":
            for i, s in enumerate(enc.services):
                u = ctx.billed_units(i)
                if s.code == code and u > m.value:
                    yield ctx.finding(
                        svc(i, "units"),
                        f"{line_no(i)}: {u} units of {code} on one line; the MUE is {m.value} per line "
                        "(MAI 1, a line edit).",
                        f"Bill at most {m.value} units on the line; extra units go on another line with "
                        "76, 59 or an X modifier only when the record supports them.",
                        source=src,
                    )
            continue
        total = units + prior_units.get(code, 0)
        if total > m.value:
            kind = "an absolute per-day policy limit (MAI 2); no modifier or appeal overrides it" if m.mai == "2" \
                else "a per-day clinical limit (MAI 3); an appeal with documentation may pay more"  # fmt: skip
            yield ctx.finding(
                svc(first_line[code], "units"),
                f"{total} units of {code} on {ctx.dos} (this claim {units}"
                f"{f', earlier claims {prior_units[code]}' if code in prior_units else ''}); the MUE is "
                f"{m.value}, {kind}.",
                f"Reduce {code} to {m.value} unit(s) for the day.",
                source=src,
            )


def x_accepted(ctx: RuleContext) -> bool:
    """Whether the payer accepts the X{EPSU} modifiers (profile ``x_modifiers_accepted``)."""
    return ctx.setting("x_modifiers_accepted", True) is not False


_X_MODIFIERS = ("XE", "XS", "XP", "XU")


@rule("ncci-x-modifier-not-accepted", Severity.ERROR, family="ncci",
      title="XE/XS/XP/XU sent to a payer whose profile says it does not accept the X{EPSU} modifiers",
      source="payer profile x_modifiers_accepted; CMS X{EPSU} subset of 59 since 2015 (billing-rules.md §3, §5)", needs="bypass-modifier")  # fmt: skip
def x_modifier_not_accepted(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    if x_accepted(ctx):
        return
    for i, s in enumerate(enc.services):
        xs = [m for m in s.modifiers if m in _X_MODIFIERS]
        if xs:
            yield ctx.finding(
                svc(i, "modifiers"),
                f"{line_no(i)}: {words(xs)} on {s.code}, but this payer does not accept the X{{EPSU}} "
                "modifiers; the line is rejected or denied as an invalid modifier (CARC 4).",
                f"Replace {words(xs)} with 59 on {line_no(i)} (the record must still show the separate "
                "region or encounter).",
                source=ctx.source_of("x_modifiers_accepted"),
            )


def same_region_pairs(ctx: RuleContext) -> tuple[tuple[str, str], ...]:
    """The code pairs the payer pays only on different regions (profile ``same_region_pairs``)."""
    memo = ctx.memo.get("same_region_pairs")
    if memo is not None:
        return memo  # type: ignore[no-any-return]
    rows = ctx.setting("same_region_pairs")
    pairs = default_same_region_pairs() if rows is None else tuple(_pair(p) for p in rows)
    ctx.memo["same_region_pairs"] = pairs
    return pairs


def _pair(row: object) -> tuple[str, str]:
    if isinstance(row, dict):
        return str(row["first"]), str(row["second"])
    if not isinstance(row, list | tuple) or len(row) != 2:
        raise ValueError(f"same_region_pairs: {row!r} is not a pair of codes")
    return str(row[0]), str(row[1])


@rule("mue-table-not-in-force", Severity.WARNING, family="ncci",
      title="No imported MUE table is in force on the date of service (it is before the earliest imported quarter)",
      source="CMS MUE practitioner tables, each in force from its effective date (billing-rules.md §4)", enabled_by="mue", enabled_default=True, needs="mue-gap")  # fmt: skip
def mue_table_not_in_force(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:  # noqa: ARG001
    gap = ctx.ncci.mue_gap(ctx.dos)
    if gap is not None:
        yield ctx.finding(
            "date_of_service",
            f"MUE limits cannot be checked against the CMS table for this visit: {gap}.",
            "Import the CMS MUE file of the quarter that covers the date of service "
            "(therabill refdata import-mue), then scrub again.",
            source=ctx.ncci.mue_source,
        )


@rule("massage-manual-same-region", Severity.WARNING, family="ncci",
      title="Two hands-on codes the payer pays once per region (97124 and 97140 by default) on the same body region",
      source="payer policy: the profile's same_region_pairs (billing-rules.md §3: not an NCCI fact)", severity_by="same_region_massage_manual", needs="same-region-pair")  # fmt: skip
def massage_manual_same_region(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    for first, second in same_region_pairs(ctx):
        a_lines = [i for i, s in enumerate(enc.services) if s.code == first]
        b_lines = [i for i, s in enumerate(enc.services) if s.code == second]
        for j in b_lines:
            for i in a_lines:
                shared = set(enc.services[i].body_regions) & set(enc.services[j].body_regions)
                if shared:
                    yield ctx.finding(
                        svc(j, "body_regions"),
                        f"{first} ({line_no(i)}) and {second} ({line_no(j)}) on the same region "
                        f"({words(sorted(shared))}); this payer pays one hands-on code per region.",
                        "Bill the region once, under the code whose techniques were used most, or correct "
                        "the regions if they were different.",
                        source=f"{ctx.source_of('same_region_massage_manual')}; {ctx.source_of('same_region_pairs')}",
                    )
