"""Coding use cases: units of a visit under its payer's method."""

from __future__ import annotations

from collections.abc import Sequence

from therabill.domain.timing import UnitInput, UnitMethod, UnitsResult, compute_units
from therabill.refdata.catalog import default_catalog
from therabill.refdata.profiles import load_profile


def method_for(profile_name: str | None, override: UnitMethod | None = None) -> UnitMethod:
    """The unit method: an explicit override, else the payer profile's, else ``cms``."""
    if override is not None:
        return override
    if profile_name:
        return load_profile(profile_name).unit_method
    return UnitMethod.CMS


def units_of(
    services: Sequence[UnitInput], profile_name: str | None, override: UnitMethod | None = None
) -> UnitsResult:
    """Compute the units of a visit's services under the payer's (or the given) method."""
    method = method_for(profile_name, override)
    result = compute_units(services, method, default_catalog().units)
    if override is None and profile_name:
        profile = load_profile(profile_name)
        source = profile.source_of("unit_method")
        note = f"Method {method.value} chosen by {source}."
    elif override is not None:
        note = f"Method {method.value} chosen on the command line or in the request."
    else:
        note = "No payer profile given: the CMS total-time method is the default."
    return UnitsResult(
        result.method,
        result.total_timed_minutes,
        result.total_units,
        result.lines,
        (note, *result.explanation),
        result.tie_broken,
    )
