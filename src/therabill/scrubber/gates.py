"""Encounter facts: what a rule needs before it can report anything (the fast path's index).

Most rules find nothing on most encounters: a clean visit has no unknown code, no
authorization to exhaust, no 26 modifier, no second line of the same code. One pass over
the encounter (``facts``) records the facts present as bits; a rule registered with
``needs="tag"`` runs only when its fact is present, so a clean visit runs a handful of rules
instead of all of them.

Every fact is a *necessary* condition of its rules, never a sufficient one: a rule that
runs may still find nothing, but a rule that is skipped could not have reported anything.
``scrub(..., fast=False)`` runs every rule without the facts; a test compares both paths
on a few hundred varied encounters, so a fact that is too narrow cannot go unnoticed.

The facts reuse what the rules compute (``dx_check`` per diagnosis, the NCCI pairs of the
day, memoised in the rule context) so that nothing expensive is computed twice.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from therabill.domain.encounter import Encounter
from therabill.domain.validation import (
    ein_is_valid,
    is_po_box,
    npi_is_valid,
    ssn_is_valid,
    taxonomy_is_valid,
    zip_is_zip4,
)
from therabill.refdata.catalog import CodeCatalog
from therabill.refdata.pfs import default_pfs
from therabill.refdata.profiles import PayerProfile
from therabill.scrubber.context import RuleContext
from therabill.scrubber.refs import (
    dx_check,
    dx_regions,
    dx_seventh,
    dx_sex,
    exclusion_of,
    medicare_status,
    telehealth_pos,
)
from therabill.scrubber.rules._util import DISCIPLINE, NCCI_BYPASS, blank
from therabill.scrubber.rules.coverage import discipline_of, filing_deadline, lmt_roles
from therabill.scrubber.rules.ncci import active_pairs, same_region_pairs

__all__ = ["TAGS", "bit_of", "facts"]

TAGS: dict[str, int] = {}


def _tag(name: str) -> int:
    bit = 1 << len(TAGS)
    TAGS[name] = bit
    return bit


def bit_of(name: str | None) -> int:
    """The bit of fact ``name`` (0 for ``None``: the rule always runs).

    Raises:
        KeyError: ``name`` is not a known fact.
    """
    return 0 if name is None else TAGS[name]


# coding
CODE_UNKNOWN = _tag("code-unknown")
TECHNIQUE_MISMATCH = _tag("technique-mismatch")
MODIFIER_26_TC_52 = _tag("modifier-26-tc-52")
MODIFIERS_OVER_4 = _tag("modifiers-over-4")
CODE_REPEATED = _tag("code-repeated")
TELEHEALTH_POS = _tag("telehealth-pos")
PRIOR_SAME_DAY = _tag("prior-same-day")
# time and units
UNITS_TOO_MANY = _tag("units-too-many")
UNITS_TOO_FEW = _tag("units-too-few")
MINUTES_OVER_SESSION = _tag("minutes-over-session")
MINUTES_UNDER_8 = _tag("minutes-under-8")
SESSION_TIME_MISSING = _tag("session-time-missing")
# diagnoses
DX_NONE = _tag("dx-none")
DX_OVER_12 = _tag("dx-over-12")
DX_INVALID = _tag("dx-invalid")
DX_RELEASE_OLD = _tag("dx-release-old")
DX_NOT_BILLABLE = _tag("dx-not-billable")
DX_NEEDS_7TH = _tag("dx-needs-7th")
DX_EXTERNAL = _tag("dx-external")
POINTER_MISSING = _tag("pointer-missing")
POINTER_OUT_OF_RANGE = _tag("pointer-out-of-range")
POINTERS_OVER_4 = _tag("pointers-over-4")
DX_PRIMARY_EXCLUDED = _tag("dx-primary-excluded")
DX_REGION_MISMATCH = _tag("dx-region-mismatch")
DX_SEVENTH_INITIAL = _tag("dx-seventh-initial")
DX_SEX_SPECIFIC = _tag("dx-sex-specific")
LATERAL_REGION = _tag("lateral-region")
# NCCI
PTP_PAIRS = _tag("ptp-pairs")
BYPASS_MODIFIER = _tag("bypass-modifier")
EM_WITH_CMT = _tag("em-with-cmt")
SAME_REGION_PAIR = _tag("same-region-pair")
MUE_OVER = _tag("mue-over")
MUE_GAP = _tag("mue-gap")
# coverage and payer
ELIGIBILITY_STALE = _tag("eligibility-stale")
AUTH_NONE = _tag("auth-none")
AUTH_DATE_OUTSIDE = _tag("auth-date-outside")
AUTH_CODE_OUTSIDE = _tag("auth-code-outside")
AUTH_VISITS_USED_UP = _tag("auth-visits-used-up")
AUTH_UNITS_SHORT = _tag("auth-units-short")
REFERRAL_NONE = _tag("referral-none")
ORDER_NONE = _tag("order-none")
ORDERS_ON_FILE = _tag("orders-on-file")
LMN_ABSENT = _tag("lmn-absent")
LATER_COVERAGE = _tag("later-coverage")
PROVIDER_DISCIPLINE = _tag("provider-discipline")
CMT_CODE = _tag("cmt-code")
LMT_PROVIDER = _tag("lmt-provider")
LMT_UNRECOGNIZED = _tag("lmt-unrecognized")
FREQUENCY_CHECK = _tag("frequency-check")
FILING_DUE = _tag("filing-due")
GY_RELEVANT = _tag("gy-relevant")
THERAPY_MODIFIER_MISSING = _tag("therapy-modifier-missing")
THERAPY_CODE = _tag("therapy-code")
MEDICARE_STATUS_B = _tag("medicare-status-b")
MEDICARE_STATUS_I = _tag("medicare-status-i")
ENROLLMENTS = _tag("enrollments")
LICENSES = _tag("licenses")
ASSIGNMENT_RECORDS = _tag("assignment-records")
INTAKE_ON_FILE = _tag("intake-on-file")
# documentation
DOC_NONE = _tag("doc-none")
DOC_NECESSITY_BLANK = _tag("doc-necessity-blank")
DOC_GOAL_MISSING = _tag("doc-goal-missing")
DOC_OBJECTIVE_MISSING = _tag("doc-objective-missing")
SERVICE_DETAILS_MISSING = _tag("service-details-missing")
PROGRESS_DAYS = _tag("progress-days")
POC_UNCERTIFIED = _tag("poc-uncertified")
POC_OUTSIDE = _tag("poc-outside")
POC_PERIOD = _tag("poc-period")
POC_SIGNED = _tag("poc-signed")
POC_INCOMPLETE = _tag("poc-incomplete")
DOC_SOAP_BLANK = _tag("doc-soap-blank")
# identity
PROFILE_ERROR = _tag("profile-error")
NPI_BAD = _tag("npi-bad")
MEMBER_ID_BLANK = _tag("member-id-blank")
SUBSCRIBER_MISSING = _tag("subscriber-missing")
BIRTH_AFTER_SERVICE = _tag("birth-after-service")
SERVICE_DATE_FUTURE = _tag("service-date-future")
TAX_ID_BAD = _tag("tax-id-bad")
TAXONOMY_BAD = _tag("taxonomy-bad")
ZIP_BAD = _tag("zip-bad")
PO_BOX = _tag("po-box")

_DX_CHECKS = DX_INVALID | DX_RELEASE_OLD | DX_NOT_BILLABLE | DX_NEEDS_7TH
_MODIFIER_FACTS = {
    **dict.fromkeys(("26", "TC", "52"), MODIFIER_26_TC_52),
    **dict.fromkeys(NCCI_BYPASS, BYPASS_MODIFIER),
    "GY": GY_RELEVANT,
}
_EXTERNAL = frozenset("VWXY")
_DISCIPLINE = frozenset(DISCIPLINE)

# Pure validators, cached: the same providers recur on every visit of a practice.
_npi_ok = lru_cache(maxsize=65536)(npi_is_valid)
_ein_ok = lru_cache(maxsize=65536)(ein_is_valid)
_ssn_ok = lru_cache(maxsize=65536)(ssn_is_valid)
_taxonomy_ok = lru_cache(maxsize=65536)(taxonomy_is_valid)
_zip4 = lru_cache(maxsize=65536)(zip_is_zip4)
_po_box = lru_cache(maxsize=65536)(is_po_box)


class _Params(NamedTuple):
    """The profile parameters the facts use, read once per profile.

    ``None`` means the setting could not be read as expected: the fact is then always set,
    so the rule runs and reports (or fails) exactly as it would without the facts.
    """

    eligibility_max_age: int | None
    frequencies: frozenset[str] | None
    lmt_unrecognized: bool
    filing_warn_days: int | None


_PARAMS: dict[int, tuple[PayerProfile | None, _Params]] = {}


def _params(ctx: RuleContext) -> _Params:
    profile = ctx.profile
    hit = _PARAMS.get(id(profile))
    if hit is not None and hit[0] is profile:
        return hit[1]
    try:
        max_age: int | None = int(ctx.setting("eligibility_max_age_days", 30))
    except (TypeError, ValueError):
        max_age = None
    try:
        frequencies: frozenset[str] | None = frozenset(
            str(c) for c in ctx.setting("frequency_codes_accepted", ["1", "7", "8"])
        )
    except TypeError:
        frequencies = None
    try:
        warn: int | None = int(ctx.setting_params("filing_limit").get("warn_before_days", 30))
    except (TypeError, ValueError):
        warn = None
    params = _Params(
        max_age,
        frequencies,
        ctx.setting("lmt_recognized", True) is False and not ctx.setting("original_medicare", False),
        warn,
    )
    if len(_PARAMS) > 1024:
        _PARAMS.clear()
    _PARAMS[id(profile)] = (profile, params)
    return params


@lru_cache(maxsize=65536)
def _region_mismatch(regions: tuple[str, ...], codes: tuple[str, ...]) -> bool:
    """``dx-region-mismatch``'s condition for one line (``codes``: the diagnoses pointed to)."""
    named: set[str] = set()
    for code in codes:
        hit = dx_regions(code)
        if hit is None:
            return False
        named |= hit.regions
    return bool(codes) and not named.intersection(regions)


_TECHNIQUES: dict[tuple[str, ...], frozenset[str]] = {}
_TECHNIQUES_OF: list[CodeCatalog] = []


def _pointed(catalog: CodeCatalog, techniques: tuple[str, ...]) -> frozenset[str]:
    """The codes the documented techniques point to (cached per catalog)."""
    if not _TECHNIQUES_OF or _TECHNIQUES_OF[0] is not catalog:
        _TECHNIQUES.clear()
        _TECHNIQUES_OF[:] = [catalog]
    hit = _TECHNIQUES.get(techniques)
    if hit is None:
        if len(_TECHNIQUES) > 65536:
            _TECHNIQUES.clear()
        hit = _TECHNIQUES[techniques] = frozenset(
            c for t in techniques for c in catalog.codes_for_technique(t)
        )
    return hit


def _mue_over(enc: Encounter, ctx: RuleContext, billed: list[int]) -> bool:
    """``mue-exceeded``'s condition: a line (MAI 1) or the day (MAI 2, 3) above its MUE."""
    day: dict[str, int] = {}
    most: dict[str, int] = {}
    for s, u in zip(enc.services, billed, strict=True):
        code = s.code
        day[code] = day.get(code, 0) + u
        if code not in most or u > most[code]:
            most[code] = u
    prior: dict[str, int] = {}
    for p in ctx.same_day_prior:
        prior[p.code] = prior.get(p.code, 0) + p.units
    for code, units in day.items():
        m = ctx.ncci.mue_for(code, ctx.dos)
        if m is None:
            continue
        if m.mai == "1":
            if most[code] > m.value:
                return True
        elif units + prior.get(code, 0) > m.value:
            return True
    return False


def _filing_due(enc: Encounter, ctx: RuleContext, warn: int | None) -> bool:
    """The filing limit has passed or is within its warning days (the deadline is memoised)."""
    try:
        d = filing_deadline(enc, ctx)
    except (TypeError, ValueError, KeyError):
        return True  # let the rules report (or raise) as they would without the facts
    if d is None:
        return False
    if ctx.as_of > d[0] or warn is None:
        return True
    return 0 <= (d[0] - ctx.as_of).days <= warn


def facts(enc: Encounter, ctx: RuleContext, wanted: int = -1) -> int:
    """The facts present in ``enc`` (bits of ``TAGS``); only those in ``wanted`` are sure.

    Args:
        enc: the encounter.
        ctx: the scrub's rule context (profile, units, stores, memo).
        wanted: the facts the plan's rules need; costly facts outside it are not computed.

    Returns:
        The bits of the facts found.
    """
    f = 0
    params = _params(ctx)
    catalog = ctx.catalog
    dos = ctx.dos
    dx = enc.diagnoses
    n = len(dx)
    seen: set[str] = set()
    pfs = default_pfs()
    em = cmt = False
    total_minutes = 0
    for s in enc.services:
        code = s.code
        minutes = s.minutes
        total_minutes += minutes
        if code in seen:
            f |= CODE_REPEATED
        seen.add(code)
        mods = s.modifiers
        if mods:
            if len(mods) > 4:
                f |= MODIFIERS_OVER_4
            for m in mods:
                f |= _MODIFIER_FACTS.get(m, 0)
        if minutes < 8:
            f |= MINUTES_UNDER_8
        ptrs = s.diagnosis_pointers
        if not ptrs:
            f |= POINTER_MISSING
        else:
            if len(ptrs) > 4:
                f |= POINTERS_OVER_4
            valid = tuple([dx[p - 1] for p in ptrs if 0 < p <= n])
            if len(valid) != len(ptrs):
                f |= POINTER_OUT_OF_RANGE
            if s.body_regions and wanted & DX_REGION_MISMATCH and _region_mismatch(s.body_regions, valid):
                f |= DX_REGION_MISMATCH
        if not s.techniques or not s.body_regions:
            f |= SERVICE_DETAILS_MISSING
        for r in s.body_regions:
            if r.endswith(("_left", "_right")):
                f |= LATERAL_REGION
                break
        info = catalog.get(code)
        if info is None:
            f |= CODE_UNKNOWN
            continue
        if s.techniques:
            pointed = _pointed(catalog, s.techniques)
            if pointed and code not in pointed:
                f |= TECHNIQUE_MISMATCH
        status = info.medicare_status if pfs is None else medicare_status(info, dos)[0]
        if status == "B":
            f |= MEDICARE_STATUS_B
        elif status == "I":
            f |= MEDICARE_STATUS_I
        elif status == "N":
            f |= GY_RELEVANT
        if info.therapy in ("always", "sometimes"):
            f |= THERAPY_CODE
            if _DISCIPLINE.isdisjoint(mods):
                f |= THERAPY_MODIFIER_MISSING
        category = info.category
        if category == "evaluation_management":
            em = True
        elif category == "chiropractic_manipulation":
            cmt = True
    if em and cmt:
        f |= EM_WITH_CMT
    if cmt:
        f |= CMT_CODE
    if wanted & SAME_REGION_PAIR and len(seen) > 1:
        for first, second in same_region_pairs(ctx):
            if first in seen and second in seen:
                f |= SAME_REGION_PAIR
                break
    if enc.place_of_service is not None and enc.place_of_service in telehealth_pos():
        f |= TELEHEALTH_POS
    if ctx.same_day_prior:
        f |= PRIOR_SAME_DAY

    for ln in ctx.units.lines:
        billed_status = ln.billed_status
        if billed_status == "too_many":
            f |= UNITS_TOO_MANY
        elif billed_status == "too_few":
            f |= UNITS_TOO_FEW

    if enc.start_time is None or enc.end_time is None:
        f |= SESSION_TIME_MISSING
    else:
        span = enc.session_minutes
        if span is not None and (span <= 0 or total_minutes > span):
            f |= MINUTES_OVER_SESSION

    if n == 0:
        f |= DX_NONE
    else:
        if n > 12:
            f |= DX_OVER_12
        if wanted & _DX_CHECKS:
            for i, code in enumerate(dx):
                c = dx_check(code, dos)
                if not c.valid:
                    f |= DX_INVALID
                elif c.needs_seventh_character:
                    f |= DX_NEEDS_7TH
                elif not c.billable:
                    f |= DX_NOT_BILLABLE
                if i == 0 and not c.release_covers_date:
                    f |= DX_RELEASE_OLD
        for code in dx:
            if code.strip().upper()[:1] in _EXTERNAL:
                f |= DX_EXTERNAL
                break
        if wanted & (DX_SEVENTH_INITIAL | DX_SEX_SPECIFIC):
            for code in dx:
                hit = dx_seventh(code)
                if hit is not None and hit[1] in hit[0].initial:
                    f |= DX_SEVENTH_INITIAL
                if dx_sex(code) is not None:
                    f |= DX_SEX_SPECIFIC
        if wanted & DX_PRIMARY_EXCLUDED and exclusion_of(dx[0]) is not None:
            f |= DX_PRIMARY_EXCLUDED

    # A pair needs two codes in the day: this claim's, or an earlier claim's the same day.
    if wanted & PTP_PAIRS and (len(seen) > 1 or ctx.same_day_prior) and active_pairs(enc, ctx):
        f |= PTP_PAIRS

    cov = enc.coverage
    a = cov.authorization if cov is not None else None
    billed: list[int] = []
    if wanted & (MUE_OVER | AUTH_UNITS_SHORT):
        billed = [ln.units if ln.billed_units is None else ln.billed_units for ln in ctx.units.lines]
    if wanted & MUE_OVER and _mue_over(enc, ctx, billed):
        f |= MUE_OVER
    if wanted & MUE_GAP and ctx.ncci.mue_gap(dos) is not None:
        f |= MUE_GAP
    if cov is not None:
        if a is None:
            f |= AUTH_NONE
        else:
            if (a.start_date and dos < a.start_date) or (a.end_date and dos > a.end_date):
                f |= AUTH_DATE_OUTSIDE
            if a.codes and not seen.issubset(a.codes):
                f |= AUTH_CODE_OUTSIDE
            if a.visits_allowed is not None and a.visits_allowed - a.visits_used < 1:
                f |= AUTH_VISITS_USED_UP
            if a.units_allowed is not None and wanted & AUTH_UNITS_SHORT:
                per_code: dict[str, int] = {}
                for s, u in zip(enc.services, billed, strict=True):
                    if not a.codes or s.code in a.codes:
                        per_code[s.code] = per_code.get(s.code, 0) + u
                remaining = a.units_allowed - a.units_used
                if a.units_pooled:
                    short = sum(per_code.values()) > remaining
                else:
                    short = any(need > remaining for need in per_code.values())
                if short:
                    f |= AUTH_UNITS_SHORT
        if not cov.referral_number:
            f |= REFERRAL_NONE
        if blank(cov.member_id):
            f |= MEMBER_ID_BLANK
        if cov.relationship_to_subscriber != "self" and cov.subscriber is None:
            f |= SUBSCRIBER_MISSING
        if wanted & ELIGIBILITY_STALE:
            when = cov.eligibility_verified_on
            if when is None:
                f |= ELIGIBILITY_STALE
            else:
                max_age = params.eligibility_max_age
                if max_age is None or (dos - when).days > max_age:
                    f |= ELIGIBILITY_STALE
    rendering = enc.rendering_provider
    ref = enc.referring_provider
    if ref is None or not ref.npi:
        f |= ORDER_NONE
    lmn = False
    for o in enc.orders_on_file:
        if o.kind == "letter_of_medical_necessity":
            lmn = lmn or o.covers(dos)
        else:
            f |= ORDERS_ON_FILE
    if not lmn:
        f |= LMN_ABSENT
    if cov is not None and cov.sequence in ("secondary", "tertiary"):
        f |= LATER_COVERAGE
    if rendering is not None:
        if wanted & PROVIDER_DISCIPLINE:
            disc = discipline_of(rendering.taxonomy, rendering.credential)
            if disc is not None and (disc.modifier or disc.medicare_covered_codes is not None):
                f |= PROVIDER_DISCIPLINE
        if ctx.enrollments is not None and cov is not None:
            f |= ENROLLMENTS
        if ctx.licenses is not None:
            f |= LICENSES
    if ctx.assignment is not None:
        f |= ASSIGNMENT_RECORDS
    if ctx.intake is not None:
        f |= INTAKE_ON_FILE
    if wanted & (LMT_PROVIDER | LMT_UNRECOGNIZED) and lmt_roles(enc):
        f |= LMT_PROVIDER
        if params.lmt_unrecognized:
            f |= LMT_UNRECOGNIZED
    if wanted & FREQUENCY_CHECK:
        freq = enc.claim_frequency
        accepted = params.frequencies
        if (
            accepted is None
            or freq not in accepted
            or (freq in ("7", "8") and not enc.payer_claim_control_number)
        ):
            f |= FREQUENCY_CHECK
    if wanted & FILING_DUE and _filing_due(enc, ctx, params.filing_warn_days):
        f |= FILING_DUE
    if ctx.profile_error is not None:
        f |= PROFILE_ERROR

    d = enc.documentation
    if d is None:
        f |= DOC_NONE
    else:
        if blank(d.medical_necessity):
            f |= DOC_NECESSITY_BLANK
        for g in d.goals:
            if g.target_date is not None and not blank(g.target):
                break
        else:
            f |= DOC_GOAL_MISSING
        if not d.objective.has_measure:
            f |= DOC_OBJECTIVE_MISSING
        if blank(d.subjective) or blank(d.assessment) or blank(d.plan):
            f |= DOC_SOAP_BLANK
    poc = enc.plan_of_care
    if poc is None or poc.certified_from is None or poc.certified_through is None:
        f |= POC_UNCERTIFIED
    else:
        f |= POC_PERIOD
        if not poc.certified_from <= dos <= poc.certified_through:
            f |= POC_OUTSIDE
    if poc is not None and poc.treatment_days_since_progress_report is not None:
        f |= PROGRESS_DAYS
    if poc is not None and poc.certified_from is not None and poc.certification_signed_on is not None:
        f |= POC_SIGNED
    if poc is not None and (poc.frequency_per_week is None or poc.duration_weeks is None):
        f |= POC_INCOMPLETE

    b = enc.billing_provider
    if b is not None:
        if blank(b.npi):
            f |= NPI_BAD
        elif not _npi_ok(b.npi):
            f |= NPI_BAD
        if blank(b.tax_id) or not (_ssn_ok(b.tax_id) if b.tax_id_type == "SSN" else _ein_ok(b.tax_id)):
            f |= TAX_ID_BAD
        if b.taxonomy is not None and not _taxonomy_ok(b.taxonomy):
            f |= TAXONOMY_BAD
        address = b.address
        if address is not None:
            if not _zip4(address.zip):
                f |= ZIP_BAD
            if _po_box(address.line1) or _po_box(address.line2):
                f |= PO_BOX
    for other in (rendering, enc.referring_provider, enc.service_facility):
        if other is not None and not blank(other.npi) and not _npi_ok(other.npi):
            f |= NPI_BAD
    if rendering is not None and rendering.taxonomy is not None and not _taxonomy_ok(rendering.taxonomy):
        f |= TAXONOMY_BAD
    facility = enc.service_facility
    if facility is not None and facility.address is not None and not _zip4(facility.address.zip):
        f |= ZIP_BAD
    p = enc.patient
    if p is not None and p.birth_date is not None and p.birth_date > dos:
        f |= BIRTH_AFTER_SERVICE
    if enc.date_of_service > ctx.as_of:
        f |= SERVICE_DATE_FUTURE
    return f
