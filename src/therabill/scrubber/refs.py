"""Small reference tables the rules use, read once from the dated data files."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache, lru_cache
from types import MappingProxyType

from therabill.refdata.catalog import CodeInfo, body_regions, load_toml, source_of
from therabill.refdata.icd10 import Icd10Check, icd10, normalize
from therabill.refdata.pfs import PfsRow, default_pfs

__all__ = [
    "CmtPolicy",
    "cmt_policy",
    "DxRegions",
    "KxYear",
    "default_same_region_pairs",
    "dx_check",
    "dx_laterality",
    "dx_seventh",
    "dx_sex",
    "dx_regions",
    "exclusion_of",
    "kx_year",
    "medicare_status",
    "pfs_row",
    "telehealth_pos",
]


@dataclass(frozen=True, slots=True)
class KxYear:
    """The KX thresholds of one calendar year.

    Attributes:
        year: the calendar year.
        pt_slp: PT and SLP combined.
        ot: OT.
        source: where the amounts come from.
    """

    year: int
    pt_slp: Decimal
    ot: Decimal
    source: str


@cache
def _kx_tables() -> Mapping[str, Mapping[int, KxYear]]:
    data = load_toml(None, "kx_thresholds.toml")
    src = str(source_of("kx_thresholds.toml"))
    out: dict[str, Mapping[int, KxYear]] = {}
    for name, table in data.items():
        if name == "meta" or not isinstance(table, dict):
            continue
        out[name] = MappingProxyType(
            {
                int(y["year"]): KxYear(
                    int(y["year"]), Decimal(y["pt_slp"]), Decimal(y["ot"]), f"{src}: {y['source']}"
                )
                for y in table.get("year", ())
            }
        )
    return MappingProxyType(out)


def kx_year(table: str, year: int) -> KxYear | None:
    """The thresholds of ``year`` in ``table`` (``None`` when the year is not listed)."""
    t = _kx_tables().get(table)
    return None if t is None else t.get(year)


@cache
def _exclusions() -> tuple[tuple[str, str, str], ...]:
    data = load_toml(None, "medical_necessity_exclusions.toml")
    return tuple((str(r["from"]), str(r["to"]), str(r["label"])) for r in data.get("range", ()))


@cache
def exclusions_source() -> str:
    """Provenance of the exclusion list."""
    return str(source_of("medical_necessity_exclusions.toml"))


@lru_cache(maxsize=4096)
def exclusion_of(code: str) -> str | None:
    """The exclusion label of ``code`` when it does not show medical necessity, else ``None``."""
    cat = normalize(code)[:3]
    for lo, hi, label in _exclusions():
        if lo <= cat <= hi:
            return f"{lo}-{hi} {label}" if lo != hi else f"{lo} {label}"
    return None


@dataclass(frozen=True, slots=True)
class DxRegions:
    """The regions a diagnosis names.

    Attributes:
        prefix: the matching code prefix.
        title: the code title.
        regions: the body regions.
    """

    prefix: str
    title: str
    regions: frozenset[str]


@cache
def _regions_table() -> tuple[Mapping[str, DxRegions], str]:
    data = load_toml(None, "dx_regions.toml")
    table = {
        str(r["prefix"]): DxRegions(str(r["prefix"]), str(r["title"]), frozenset(r["regions"]))
        for r in data.get("dx", ())
    }
    return MappingProxyType(table), str(source_of("dx_regions.toml"))


def dx_regions_source() -> str:
    """Provenance of the diagnosis-to-region table."""
    return _regions_table()[1]


@lru_cache(maxsize=4096)
def dx_regions(code: str) -> DxRegions | None:
    """The regions ``code`` names (longest prefix), or ``None`` when not in the table."""
    table = _regions_table()[0]
    key = normalize(code)
    for n in range(len(key), 2, -1):
        hit = table.get(key[:n])
        if hit is not None:
            return hit
    return None


@lru_cache(maxsize=65536)
def dx_check(code: str, day: date) -> Icd10Check:
    """The ICD-10-CM check of ``code`` on ``day`` (cached per process)."""
    return icd10().check(code, day)


@cache
def default_same_region_pairs() -> tuple[tuple[str, str], ...]:
    """The same-region pairs of a profile that lists none (``same_region_pairs.toml``)."""
    data = load_toml(None, "same_region_pairs.toml")
    return tuple((str(r["first"]), str(r["second"])) for r in data.get("pair", ()))


@cache
def _pos_policy() -> tuple[frozenset[str], str]:
    data = load_toml(None, "place_of_service_policy.toml")
    return frozenset(str(c) for c in data.get("telehealth", {}).get("codes", ())), str(
        source_of("place_of_service_policy.toml")
    )


def telehealth_pos() -> frozenset[str]:
    """The place-of-service codes that mean telehealth (``place_of_service_policy.toml``)."""
    return _pos_policy()[0]


def pos_policy_source() -> str:
    """Provenance of the place-of-service policy file."""
    return _pos_policy()[1]


def pfs_row(code: str, day: date) -> PfsRow | None:
    """The imported PFS row of ``code`` in force on ``day`` (``None`` without an import)."""
    pfs = default_pfs()
    return None if pfs is None else pfs.row(code, day)


def medicare_status(info: CodeInfo, day: date) -> tuple[str, str]:
    """A code's PFS status indicator on ``day`` and a note: from the imported PPRRVU file in
    force, else from the code catalog (whose values are marked [M])."""
    pfs = default_pfs()
    if pfs is not None:
        row = pfs.row(info.code, day)
        if row is not None:
            return row.status, f"PFS status {row.status} ({row.source})"
    return info.medicare_status, info.medicare_status_note


_RIGHT = re.compile(r"\bright\b")
_LEFT = re.compile(r"\bleft\b")


@dataclass(frozen=True, slots=True)
class SeventhRule:
    """What the 7th character of a category range means.

    Attributes:
        lo: first category of the range.
        hi: last category of the range.
        initial: the characters of an initial encounter.
        subsequent: the characters of a subsequent encounter.
        label: the range, for people.
    """

    lo: str
    hi: str
    initial: frozenset[str]
    subsequent: frozenset[str]
    label: str


@cache
def _dx_guidelines() -> tuple[tuple[SeventhRule, ...], tuple[tuple[str, str, str, str], ...], str]:
    data = load_toml(None, "dx_guidelines.toml")
    seventh = tuple(
        SeventhRule(
            str(r["from"]), str(r["to"]), frozenset(r["initial"]), frozenset(r["subsequent"]), str(r["label"])
        )
        for r in data.get("seventh", ())
    )
    sex = tuple((str(r["from"]), str(r["to"]), str(r["sex"]), str(r["label"])) for r in data.get("sex", ()))
    return seventh, sex, str(source_of("dx_guidelines.toml"))


def dx_guidelines_source() -> str:
    """Provenance of the diagnosis-guideline data."""
    return _dx_guidelines()[2]


@lru_cache(maxsize=4096)
def dx_seventh(code: str) -> tuple[SeventhRule, str] | None:
    """The 7th-character rule of ``code`` and its 7th character, when the code has one."""
    key = normalize(code)
    if len(key) < 7:
        return None
    cat = key[:3]
    for r in _dx_guidelines()[0]:
        if r.lo <= cat <= r.hi:
            return r, key[6]
    return None


@lru_cache(maxsize=4096)
def dx_sex(code: str) -> tuple[str, str] | None:
    """The one sex ``code`` applies to and its range label, or ``None``."""
    cat = normalize(code)[:3]
    for lo, hi, sex, label in _dx_guidelines()[1]:
        if lo <= cat <= hi:
            return sex, label
    return None


@lru_cache(maxsize=65536)
def dx_laterality(code: str, day: date) -> str | None:
    """``right``, ``left`` or ``None``: the side the code's own description names (ICD-10-CM
    release in force), ``None`` for bilateral, unspecified or no side."""
    desc = icd10().check(code, day).description
    if not desc:
        return None
    low = desc.lower()
    if "bilateral" in low:
        return None
    right, left = _RIGHT.search(low) is not None, _LEFT.search(low) is not None
    if right and not left:
        return "right"
    if left and not right:
        return "left"
    return None


@dataclass(frozen=True, slots=True)
class CmtPolicy:
    """The chiropractic manipulation policy (``chiropractic.toml``).

    Attributes:
        regions: spinal CMT code -> (fewest, most) spinal regions its descriptor covers.
        subluxation: ICD-10-CM code (no dot) -> the spinal region whose subluxation it states.
        spinal: the spinal region ids (body_regions.toml group ``spinal``).
        source: where the policy comes from.
    """

    regions: Mapping[str, tuple[int, int]]
    subluxation: Mapping[str, str]
    spinal: frozenset[str]
    source: str


@cache
def cmt_policy() -> CmtPolicy:
    """The chiropractic manipulation policy, read once."""
    data = load_toml(None, "chiropractic.toml")
    regions = {str(r["code"]): (int(r["min_regions"]), int(r["max_regions"])) for r in data.get("cmt", ())}
    sub = {
        normalize(str(c)): str(region) for region, codes in data.get("subluxation", {}).items() for c in codes
    }
    spinal = frozenset(r.id for r in body_regions().values() if r.group == "spinal")
    return CmtPolicy(
        MappingProxyType(regions), MappingProxyType(sub), spinal, str(source_of("chiropractic.toml"))
    )
