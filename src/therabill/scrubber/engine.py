"""The scrub: run every rule the payer profile switches on and collect the findings.

Two paths give the same findings:

* the fast path (the default) reuses per-process caches of pure results (the payer profile
  by name, the rule plan of each profile, the units of a visit shape) and runs only the
  rules whose needed fact (``therabill.scrubber.gates``) the encounter has;
* the reference path (``fast=False``) loads the profile and computes the units on every call
  and runs every rule of the plan, nothing skipped. Tests compare the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from therabill import config
from therabill.domain.encounter import Encounter
from therabill.domain.errors import ReferenceDataError
from therabill.domain.timing import UnitMethod, UnitsResult, compute_units
from therabill.refdata.catalog import default_catalog
from therabill.refdata.fees import default_fees
from therabill.refdata.ncci import default_ncci
from therabill.refdata.profiles import PayerProfile, load_profile
from therabill.scrubber.context import RuleContext, ScrubContext
from therabill.scrubber.finding import SEVERITY_ORDER, Finding, Severity
from therabill.scrubber.gates import bit_of, facts
from therabill.scrubber.registry import Rule, all_rules

__all__ = ["ScrubResult", "plan_for", "scrub"]

_EMPTY = ScrubContext()


@dataclass(frozen=True, slots=True)
class ScrubResult:
    """The outcome of scrubbing one encounter.

    Attributes:
        encounter_id: the encounter's id.
        status: ``clean`` (no findings but info), ``warnings`` or ``errors``.
        units: the units result under the payer's method.
        findings: every finding, errors first.
    """

    encounter_id: str
    status: str
    units: UnitsResult
    findings: tuple[Finding, ...]

    @property
    def has_errors(self) -> bool:
        """True when any finding is an error (the claim must not go out)."""
        return self.status == "errors"

    def as_dict(self) -> dict[str, object]:
        """The JSON shape (``therabill scrub --json``, the API)."""
        return {
            "encounter_id": self.encounter_id,
            "status": self.status,
            "units": self.units.as_dict(),
            "findings": [f.as_dict() for f in self.findings],
        }


def _truthy(value: object) -> bool:
    return bool(value) and value != "off"


_PLANS: dict[int, tuple[PayerProfile | None, tuple[tuple[Rule, Severity, str], ...]]] = {}


def _plan_cached(profile: PayerProfile | None) -> tuple[tuple[Rule, Severity, str], ...]:
    hit = _PLANS.get(id(profile))
    if hit is not None and hit[0] is profile:
        return hit[1]
    plan = _build_plan(profile)
    _PLANS[id(profile)] = (profile, plan)
    return plan


def _build_plan(profile: PayerProfile | None) -> tuple[tuple[Rule, Severity, str], ...]:
    off = set(profile.value("rules_off", ()) if profile else ())
    overrides = dict(profile.value("severity_overrides", {}) if profile else {})
    plan = []
    for r in all_rules():
        if r.id in off:
            continue
        source = r.source
        if r.enabled_by:
            value = profile.value(r.enabled_by, None) if profile else None
            enabled = r.enabled_default if value is None else _truthy(value)
            if not enabled:
                continue
            if profile is not None and value is not None:
                source = f"{source}; {profile.source_of(r.enabled_by)}"
        severity = r.severity
        if r.severity_by and profile is not None and profile.setting(r.severity_by) is not None:
            value = profile.value(r.severity_by)
            if value == "off" or value is False:
                continue
            severity = Severity(value)
            source = f"{source}; {profile.source_of(r.severity_by)}"
        if r.id in overrides:
            if overrides[r.id] == "off":
                continue
            severity = Severity(overrides[r.id])
            source = f"{source}; {profile.source_of('severity_overrides') if profile else ''}"
        plan.append((r, severity, source))
    return tuple(plan)


class _FastPlan:
    """A profile's plan indexed by the facts its rules need, for the fast path."""

    __slots__ = ("_by_facts", "bits", "entries", "wanted")

    def __init__(self, entries: tuple[tuple[Rule, Severity, str], ...]) -> None:
        self.entries = entries
        self.bits = tuple(bit_of(r.needs) for r, _, _ in entries)
        wanted = 0
        for b in self.bits:
            wanted |= b
        self.wanted = wanted
        self._by_facts: dict[int, tuple[tuple[Rule, Severity, str], ...]] = {}

    def runnable(self, found: int) -> tuple[tuple[Rule, Severity, str], ...]:
        """The entries whose needed fact is among ``found`` (or that need none), in plan order."""
        key = found & self.wanted
        hit = self._by_facts.get(key)
        if hit is None:
            if len(self._by_facts) > 4096:
                self._by_facts.clear()
            hit = self._by_facts[key] = tuple(
                e for e, b in zip(self.entries, self.bits, strict=True) if not b or b & key
            )
        return hit


_FAST_PLANS: dict[int, tuple[PayerProfile | None, _FastPlan]] = {}


def _fast_plan(profile: PayerProfile | None) -> _FastPlan:
    hit = _FAST_PLANS.get(id(profile))
    if hit is not None and hit[0] is profile:
        return hit[1]
    plan = _FastPlan(_plan_cached(profile))
    _FAST_PLANS[id(profile)] = (profile, plan)
    return plan


def plan_for(profile: PayerProfile | None) -> tuple[tuple[Rule, Severity, str], ...]:
    """The rules that run under ``profile``, with their effective severity and source."""
    return _plan_cached(profile)


def _profile(encounter: Encounter, dirs: tuple[str, ...]) -> tuple[PayerProfile | None, str | None]:
    name = encounter.payer_profile
    if not name:
        return None, "missing"
    try:
        return load_profile(name, tuple(Path(d) for d in dirs)), None
    except ReferenceDataError as exc:
        return None, str(exc)


_PROFILES: dict[tuple[str, tuple[str, ...], str | None], PayerProfile] = {}


def _profile_fast(encounter: Encounter, dirs: tuple[str, ...]) -> tuple[PayerProfile | None, str | None]:
    """``_profile`` with the loaded profiles remembered (``load_profile`` caches them too)."""
    name = encounter.payer_profile
    if not name:
        return None, "missing"
    key = (name, dirs, config.current().profiles_dir)
    hit = _PROFILES.get(key)
    if hit is not None:
        return hit, None
    profile, error = _profile(encounter, dirs)
    if profile is not None:
        if len(_PROFILES) > 1024:
            _PROFILES.clear()
        _PROFILES[key] = profile
    return profile, error


def _units(encounter: Encounter, profile: PayerProfile | None) -> UnitsResult:
    method = profile.unit_method if profile else UnitMethod.CMS
    result = compute_units(encounter.services, method, default_catalog().units)
    if profile is not None:
        note = f"Method {method.value} chosen by {profile.source_of('unit_method')}."
    else:
        note = "No usable payer profile: the CMS total-time method is the default."
    return UnitsResult(
        result.method,
        result.total_timed_minutes,
        result.total_units,
        result.lines,
        (note, *result.explanation),
        result.tie_broken,
    )


# Units by visit shape: the result depends only on the profile, the catalog and each line's
# code, minutes and billed units, and it is immutable, so visits of the same shape share it.
_UNITS: dict[tuple[int, tuple[tuple[str, int, int | None], ...]], tuple[object, object, UnitsResult]] = {}


def _units_fast(encounter: Encounter, profile: PayerProfile | None) -> UnitsResult:
    catalog_units = default_catalog().units
    key = (id(profile), tuple([(s.code, s.minutes, s.units) for s in encounter.services]))
    hit = _UNITS.get(key)
    if hit is not None and hit[0] is profile and hit[1] is catalog_units:
        return hit[2]
    result = _units(encounter, profile)
    if len(_UNITS) > 65536:
        _UNITS.clear()
    _UNITS[key] = (profile, catalog_units, result)
    return result


def scrub(
    encounter: Encounter,
    as_of: date,
    context: ScrubContext | None = None,
    *,
    fast: bool = True,
) -> ScrubResult:
    """Check an encounter before its claim is sent.

    Args:
        encounter: the visit.
        as_of: the day the claim would be sent; every time-dependent
            rule uses it.
        context: what the caller knows beyond the document (stores, records, hooks).
        fast: skip the rules that cannot apply (the default). ``False`` runs every rule
            of the plan and computes the units anew: the reference the tests compare the
            fast path to.

    Returns:
        The status, the units and every finding, errors first.
    """
    ctx_in = context or _EMPTY
    day = as_of
    if fast:
        profile, profile_error = _profile_fast(encounter, ctx_in.profile_dirs)
        units = _units_fast(encounter, profile)
    else:
        profile, profile_error = _profile(encounter, ctx_in.profile_dirs)
        units = _units(encounter, profile)
    ctx = RuleContext(
        encounter,
        day,
        profile,
        profile_error,
        units,
        default_catalog(),
        ctx_in.ncci if ctx_in.ncci is not None else default_ncci(),
        ctx_in.fees if ctx_in.fees is not None else default_fees(),
        ctx_in.enrollments,
        ctx_in.licenses,
        ctx_in.assignment,
        ctx_in.intake,
    )
    if fast:
        plan = _fast_plan(profile)
        entries = plan.runnable(facts(encounter, ctx, plan.wanted))
    else:
        entries = _plan_cached(profile)
    findings: list[Finding] = []
    for r, severity, source in entries:
        ctx.rule_id = r.id
        ctx.severity = severity
        ctx.source = source
        findings.extend(r.fn(encounter, ctx))
    findings.sort(key=lambda f: SEVERITY_ORDER[f.severity])
    if any(f.severity is Severity.ERROR for f in findings):
        status = "errors"
    elif any(f.severity is Severity.WARNING for f in findings):
        status = "warnings"
    else:
        status = "clean"
    return ScrubResult(encounter.encounter_id, status, units, tuple(findings))
