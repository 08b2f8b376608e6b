"""Units from minutes: the 8-minute rule, two ways, explained line by line.

``cms``: the CMS total-time method (Pub 100-04 Ch. 5 §20.2). The day's total timed
minutes set the number of units (8-22 = 1, 23-37 = 2, ...); each line first gets its full
15-minute units, and the remaining units go one each to the lines with the most minutes
left over. Ties are broken deterministically (more total minutes, then input order) and the
explanation says so.

``per-code``: each timed code on its own minutes with the same table; leftovers are not
pooled (the AMA/CPT time rule some payer contracts use).

Untimed codes get 1 unit and their minutes are not counted. Acupuncture (unit model
``initial_plus_addon``) is counted apart from the therapy pool: the initial code once for the
first 15 minutes, the add-on code once per further 15 minutes (8 minutes past the midpoint).

A line that computes to 0 units stays in the result with its explanation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

__all__ = [
    "AddonRole",
    "CodeUnits",
    "LineUnits",
    "UnitInput",
    "UnitMethod",
    "UnitModel",
    "UnitsResult",
    "compute_units",
    "minutes_range",
    "units_for_minutes",
]


class UnitMethod(StrEnum):
    """How minutes become units."""

    CMS = "cms"
    PER_CODE = "per-code"


class UnitModel(StrEnum):
    """How a code is counted."""

    TIMED15 = "timed15"
    UNTIMED = "untimed"
    INITIAL_PLUS_ADDON = "initial_plus_addon"


class AddonRole(StrEnum):
    """For ``initial_plus_addon`` codes: the initial code or its add-on."""

    INITIAL = "initial"
    ADDON = "addon"


@dataclass(frozen=True, slots=True)
class CodeUnits:
    """What the units engine needs to know about a code.

    Attributes:
        model: the unit model.
        role: for ``initial_plus_addon``: initial or add-on.
        partner: for ``initial_plus_addon``: the add-on of an initial code, or the reverse.
    """

    model: UnitModel
    role: AddonRole | None = None
    partner: str | None = None


class UnitInput(Protocol):
    """Anything with a code, minutes and optional billed units (a domain ``Service``)."""

    @property
    def code(self) -> str: ...  # noqa: D102

    @property
    def minutes(self) -> int: ...  # noqa: D102

    @property
    def units(self) -> int | None: ...  # noqa: D102


@dataclass(frozen=True, slots=True)
class LineUnits:
    """The units of one input line.

    Attributes:
        code: the code.
        minutes: the line's minutes.
        units: the units computed.
        model: the unit model used (``unknown`` for a code the catalog lacks).
        billed_units: the units the biller asked for, if any.
        billed_status: ``supported``, ``too_many`` or ``too_few`` when units were given.
        min_units: the fewest units this line may carry (ties allow a range under ``cms``).
        max_units: the most units this line may carry.
    """

    code: str
    minutes: int
    units: int
    model: str
    billed_units: int | None = None
    billed_status: str | None = None
    min_units: int = 0
    max_units: int = 0


@dataclass(frozen=True, slots=True)
class UnitsResult:
    """The units of a visit, with the reasons.

    Attributes:
        method: the method used.
        total_timed_minutes: minutes of timed codes in the pool (acupuncture apart).
        total_units: all units of all lines.
        lines: one entry per input line, in input order.
        explanation: sentences a biller can check.
        tie_broken: whether a tie between equal leftovers decided a unit.
    """

    method: UnitMethod
    total_timed_minutes: int
    total_units: int
    lines: tuple[LineUnits, ...]
    explanation: tuple[str, ...]
    tie_broken: bool = False

    def as_dict(self) -> dict[str, object]:
        """The JSON shape of the result (``therabill units --json``, the API)."""
        return {
            "method": str(self.method),
            "total_timed_minutes": self.total_timed_minutes,
            "total_units": self.total_units,
            "lines": [
                {
                    "code": ln.code,
                    "minutes": ln.minutes,
                    "units": ln.units,
                    "model": ln.model,
                    "billed_units": ln.billed_units,
                    "billed_status": ln.billed_status,
                }
                for ln in self.lines
            ],
            "explanation": list(self.explanation),
            "tie_broken": self.tie_broken,
        }


def units_for_minutes(minutes: int) -> int:
    """The 8-minute table: 0-7 → 0, 8-22 → 1, 23-37 → 2, ... (floor((m + 7) / 15))."""
    return 0 if minutes < 8 else (minutes + 7) // 15


def minutes_range(units: int) -> str:
    """The minutes that give ``units`` in the table, as text (``38-52``)."""
    if units <= 0:
        return "0-7"
    return f"{15 * units - 7}-{15 * units + 7}"


_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")


def _ordinal(n: int) -> str:
    return _ORDINALS[n - 1] if 0 < n <= len(_ORDINALS) else f"{n}th"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


_UNKNOWN = CodeUnits(UnitModel.UNTIMED)
_STATUS = ("too_few", "supported", "too_many")


def _billed_status(billed: int | None, lo: int, hi: int) -> str | None:
    if billed is None:
        return None
    return _STATUS[(billed >= lo) + (billed > hi)]


def compute_units(
    lines: Sequence[UnitInput],
    method: UnitMethod,
    catalog: Mapping[str, CodeUnits],
) -> UnitsResult:
    """Compute the units of a visit's lines under ``method``, explained.

    Args:
        lines: the visit's service lines, in order.
        method: ``cms`` or ``per-code``.
        catalog: the unit model of each known code; an unknown code counts as untimed.

    Returns:
        The units of every line (input order, zero-unit lines kept) and the explanation.
    """
    n = len(lines)
    units = [0] * n
    lo = [0] * n
    hi = [0] * n
    models = [""] * n
    notes: list[str] = []
    timed: list[int] = []
    tie_broken = False
    get = catalog.get

    for i, line in enumerate(lines):
        info = get(line.code)
        if info is None:
            models[i] = "unknown"
            units[i] = lo[i] = hi[i] = 1
            notes.append(
                f"{line.code}: not in the code catalog; counted as 1 untimed unit "
                f"(its {line.minutes} minutes are not counted)."
            )
            continue
        model = info.model
        models[i] = model
        if model is UnitModel.TIMED15:
            timed.append(i)
        elif model is UnitModel.UNTIMED:
            units[i] = lo[i] = hi[i] = 1
            notes.append(f"{line.code}: untimed, 1 unit; its {line.minutes} minutes are not counted.")
        else:
            u = _acupuncture(line.code, line.minutes, info, notes)
            units[i] = lo[i] = hi[i] = u

    total_timed = 0
    for i in timed:
        total_timed += lines[i].minutes

    explanation: list[str]
    if method is UnitMethod.PER_CODE:
        explanation = [
            "Per-code method: each timed code counts on its own minutes (8-22 = 1, 23-37 = 2, ...)."
        ]
        for i in timed:
            m = lines[i].minutes
            u = units_for_minutes(m)
            units[i] = lo[i] = hi[i] = u
            explanation.append(f"{lines[i].code}: {m} min → {_plural(u, 'unit')} ({minutes_range(u)}).")
    else:
        explanation = []
        tie_broken = _allocate_cms(lines, timed, total_timed, units, lo, hi, explanation)

    explanation.extend(notes)

    total_units = 0
    out: list[LineUnits] = []
    any_billed = False
    for i, line in enumerate(lines):
        total_units += units[i]
        billed = line.units
        if billed is not None:
            any_billed = True
        out.append(
            LineUnits(
                line.code,
                line.minutes,
                units[i],
                models[i],
                billed,
                _billed_status(billed, lo[i], hi[i]),
                lo[i],
                hi[i],
            )
        )
    if any_billed:
        out = _check_billed_totals(out, timed, total_units, explanation)
    return UnitsResult(method, total_timed, total_units, tuple(out), tuple(explanation), tie_broken)


def _allocate_cms(
    lines: Sequence[UnitInput],
    timed: list[int],
    total: int,
    units: list[int],
    lo: list[int],
    hi: list[int],
    explanation: list[str],
) -> bool:
    """Allocate the CMS total-time units to the timed lines; return whether a tie decided."""
    n_units = units_for_minutes(total)
    if not timed:
        return False
    explanation.append(
        f"CMS total-time method: {total} timed minutes → {_plural(n_units, 'unit')} ({minutes_range(n_units)})."
    )
    full_total = 0
    leftovers: list[tuple[int, int]] = []
    for i in timed:
        m = lines[i].minutes
        full = m // 15
        left = m - 15 * full
        units[i] = lo[i] = hi[i] = full
        full_total += full
        if left:
            leftovers.append((i, left))
        explanation.append(
            f"{lines[i].code}: {m} min = {_plural(full, 'full unit')}, {_plural(left, 'minute')} left."
        )
    remaining = n_units - full_total
    if remaining <= 0:
        for i, left in leftovers:
            explanation.append(
                f"{lines[i].code}: its {_plural(left, 'leftover minute')} earn no unit; "
                f"all {_plural(n_units, 'unit')} are full 15-minute units."
            )
        return False
    # Rank by leftover minutes, then total minutes, then input order.
    leftovers.sort(key=lambda t: (-t[1], -lines[t[0]].minutes, t[0]))
    cut = leftovers[remaining - 1][1]
    tied = [i for i, left in leftovers if left == cut]
    winners = leftovers[:remaining]
    tie_broken = len(tied) > sum(1 for _, left in winners if left == cut)
    for i, left in leftovers:
        if left > cut:
            lo[i] += 1
            hi[i] += 1
        elif left == cut:
            hi[i] += 1
    for k, (i, left) in enumerate(winners, start=full_total + 1):
        units[i] += 1
        explanation.append(
            f"The {_ordinal(k)} unit goes to {lines[i].code} ({_plural(left, 'minute')} left)."
        )
    for i, left in leftovers[remaining:]:
        explanation.append(
            f"{lines[i].code}: its {_plural(left, 'leftover minute')} earn no unit; "
            f"the units ran out on larger leftovers."
            if left < cut
            else f"{lines[i].code}: {_plural(left, 'minute')} left but the units ran out."
        )
    if tie_broken:
        names = ", ".join(lines[i].code for i in tied)
        explanation.append(
            f"Tie: {names} each have {_plural(cut, 'minute')} left; the tie was broken by more total "
            "minutes, then the order of the lines. Either assignment is correct under CMS."
        )
    return tie_broken


def _acupuncture(code: str, minutes: int, info: CodeUnits, notes: list[str]) -> int:
    if info.role is AddonRole.INITIAL:
        u = 1 if minutes >= 8 else 0
        text = f"{code}: initial acupuncture code, once for the first 15 minutes → {_plural(u, 'unit')}"
        extra = minutes - 15
        if extra >= 8 and info.partner:
            text += (
                f"; the {extra} minutes beyond the first 15 belong on {info.partner} "
                f"({_plural(units_for_minutes(extra), 'unit')}), never a second unit of {code}"
            )
        notes.append(text + ".")
        return u
    u = units_for_minutes(minutes)
    notes.append(
        f"{code}: acupuncture add-on, one unit per further 15 minutes: {minutes} min → {_plural(u, 'unit')}."
    )
    return u


def _check_billed_totals(
    out: list[LineUnits], timed: list[int], total_units: int, explanation: list[str]
) -> list[LineUnits]:
    """Compare billed units with the minutes, line by line and in total, and say so."""
    billed_total = 0
    for ln in out:
        billed_total += ln.billed_units if ln.billed_units is not None else ln.units
    timed_set = set(timed)
    # Every line within its range, but a tie group over- or under-billed as a whole.
    if billed_total != total_units and all(
        ln.billed_status != "too_many" and ln.billed_status != "too_few" for ln in out
    ):
        fixed: list[LineUnits] = []
        for i, ln in enumerate(out):
            if i in timed_set and ln.billed_units is not None and ln.min_units != ln.max_units:
                if billed_total > total_units and ln.billed_units == ln.max_units:
                    ln = _with_status(ln, "too_many")
                elif billed_total < total_units and ln.billed_units == ln.min_units:
                    ln = _with_status(ln, "too_few")
            fixed.append(ln)
        out = fixed
    for ln in out:
        if ln.billed_status == "too_many":
            explanation.append(
                f"{ln.code}: billed {_plural(ln.billed_units or 0, 'unit')}, "
                f"but the minutes support at most {ln.max_units}."
            )
        elif ln.billed_status == "too_few":
            explanation.append(
                f"{ln.code}: billed {_plural(ln.billed_units or 0, 'unit')}, "
                f"fewer than the {ln.min_units} the minutes support."
            )
    if all(ln.billed_status in (None, "supported") for ln in out):
        explanation.append("The billed units are supported by the minutes.")
    return out


def _with_status(ln: LineUnits, status: str) -> LineUnits:
    return LineUnits(
        ln.code, ln.minutes, ln.units, ln.model, ln.billed_units, status, ln.min_units, ln.max_units
    )
