"""Units from minutes: the 8-minute rule, two ways, explained line by line.

``cms``: the CMS total-time method (Pub 100-04 Ch. 5 §20.2). The day's total timed
minutes set the number of units (8-22 = 1, 23-37 = 2, ...); each line first gets its full
15-minute units, and the remaining units go one each to the lines with the most minutes
left over. Ties are broken deterministically (more total minutes, then input order) and the
explanation says so.

``per-code``: each timed code on its own minutes with the same table; leftovers are not
pooled (the AMA/CPT time rule some payer contracts use).

Untimed codes get 1 unit and their minutes are not counted. A code the catalog lacks gets no
unit (its unit model is unknown) and the explanation says so. Acupuncture (unit model
``initial_plus_addon``) is counted apart from the therapy pool: the initial code once for the
first 15 minutes, the add-on code once per further 15 minutes (8 minutes past the midpoint).
Hour-based codes (``timed60``, the work-hardening add-on hour) count on their own minutes,
a unit once past the hour's midpoint (31 minutes), outside the 15-minute pool.

A line that computes to 0 units stays in the result with its explanation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple, Protocol

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
    TIMED60 = "timed60"


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


class LineUnits(NamedTuple):
    """The units of one input line (an immutable record; a NamedTuple for speed).

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


class UnitsResult(NamedTuple):
    """The units of a visit, with the reasons (an immutable record).

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
_STATUS = ("too_few", "supported", "too_many")


def _ordinal(n: int) -> str:
    return _ORDINALS[n - 1] if 0 < n <= len(_ORDINALS) else f"{n}th"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# Explanation sentences are pure functions of small keys (code, minutes, ...): they are built
# once and reused, in bounded memos, so explaining costs little more than computing.
_MEMO_MAX = 20_000


def _memo(
    build: Callable[..., str], cache: dict[tuple[object, ...], str] | None = None
) -> Callable[..., str]:
    """Memoise a sentence builder on its arguments, in a bounded dict (``cache`` if given)."""
    store: dict[tuple[object, ...], str] = {} if cache is None else cache

    def say(*key: object) -> str:
        text = store.get(key)
        if text is None:
            if len(store) >= _MEMO_MAX:
                store.clear()
            text = store[key] = build(*key)
        return text

    return say


def _s_total(total: int, n: int) -> str:
    return f"CMS total-time method: {total} timed minutes → {_plural(n, 'unit')} ({minutes_range(n)})."


def _s_line(code: str, m: int) -> str:
    full, left = divmod(m, 15)
    return f"{code}: {m} min = {_plural(full, 'full unit')}, {_plural(left, 'minute')} left."


def _s_goes(k: int, code: str, left: int) -> str:
    return f"The {_ordinal(k)} unit goes to {code} ({_plural(left, 'minute')} left)."


def _s_ran_out(code: str, left: int, below_cut: bool) -> str:
    if below_cut:
        return (
            f"{code}: its {_plural(left, 'leftover minute')} earn no unit; "
            "the units ran out on larger leftovers."
        )
    return f"{code}: {_plural(left, 'minute')} left but the units ran out."


def _s_all_full(code: str, left: int, n: int) -> str:
    return (
        f"{code}: its {_plural(left, 'leftover minute')} earn no unit; "
        f"all {_plural(n, 'unit')} are full 15-minute units."
    )


def _s_per_code(code: str, m: int) -> str:
    u = units_for_minutes(m)
    return f"{code}: {m} min → {_plural(u, 'unit')} ({minutes_range(u)})."


def _s_untimed(code: str, m: int) -> str:
    return f"{code}: untimed, 1 unit; its {m} minutes are not counted."


def _s_unknown(code: str, m: int) -> str:
    return (
        f"{code}: not in the code catalog, so its unit model is unknown: no units are computed for it "
        f"(its {m} minutes are not counted) and the claim cannot go out until the code is corrected."
    )


def _hour_units(minutes: int) -> int:
    """Hour-based codes (work hardening add-on hours): a unit once past the midpoint (31 min)."""
    return 0 if minutes < 31 else (minutes + 29) // 60


def _s_hour(code: str, m: int) -> str:
    u = _hour_units(m)
    return (
        f"{code}: counted in hours on its own minutes (31-90 = 1, 91-150 = 2, ...): {m} min → "
        f"{_plural(u, 'unit')}; not part of the 15-minute pool."
    )


_TOTAL_MEMO: dict[tuple[object, ...], str] = {}
_LINE_MEMO: dict[tuple[object, ...], str] = {}
_PER_CODE_MEMO: dict[tuple[object, ...], str] = {}
_say_total = _memo(_s_total, _TOTAL_MEMO)
_say_line = _memo(_s_line, _LINE_MEMO)
_say_goes = _memo(_s_goes)
_say_ran_out = _memo(_s_ran_out)
_say_all_full = _memo(_s_all_full)
_say_per_code = _memo(_s_per_code, _PER_CODE_MEMO)
_say_untimed = _memo(_s_untimed)
_say_unknown = _memo(_s_unknown)
_say_hour = _memo(_s_hour)

_PER_CODE_HEAD = "Per-code method: each timed code counts on its own minutes (8-22 = 1, 23-37 = 2, ...)."
_SUPPORTED = "The billed units are supported by the minutes."


def compute_units(
    lines: Sequence[UnitInput],
    method: UnitMethod,
    catalog: Mapping[str, CodeUnits],
) -> UnitsResult:
    """Compute the units of a visit's lines under ``method``, explained.

    Args:
        lines: the visit's service lines, in order.
        method: ``cms`` or ``per-code``.
        catalog: the unit model of each known code; an unknown code gets 0 units and a note
            saying so (the scrubber reports it as an error).

    Returns:
        The units of every line (input order, zero-unit lines kept) and the explanation.
    """
    n = len(lines)
    units = [0] * n
    lo = [0] * n
    hi = [0] * n
    models: list[str] = [""] * n
    notes: list[str] = []
    timed: list[int] = []
    total_timed = 0
    get = catalog.get
    timed15 = UnitModel.TIMED15
    untimed = UnitModel.UNTIMED

    codes: list[str] = [""] * n
    mins = [0] * n
    i = 0
    for line in lines:
        code = codes[i] = line.code
        m = mins[i] = line.minutes
        info = get(code)
        if info is None:
            models[i] = "unknown"  # 0 units: never a silent guess (the scrubber's code-unsupported)
            notes.append(_say_unknown(code, m))
        else:
            model = models[i] = info.model
            if model is timed15:
                timed.append(i)
                total_timed += m
            elif model is untimed:
                units[i] = lo[i] = hi[i] = 1
                notes.append(_say_untimed(code, m))
            elif model is UnitModel.TIMED60:
                units[i] = lo[i] = hi[i] = _hour_units(m)
                notes.append(_say_hour(code, m))
            else:
                units[i] = lo[i] = hi[i] = _acupuncture(code, m, info, notes)
        i += 1

    tie_broken = False
    if method is UnitMethod.PER_CODE:
        explanation = [_PER_CODE_HEAD]
        memo = _PER_CODE_MEMO
        for i in timed:
            m = mins[i]
            units[i] = lo[i] = hi[i] = 0 if m < 8 else (m + 7) // 15
            text = memo.get((codes[i], m))
            explanation.append(text if text is not None else _say_per_code(codes[i], m))
    elif timed:
        explanation = []
        tie_broken = _allocate_cms(codes, mins, timed, total_timed, units, lo, hi, explanation)
    else:
        explanation = []
    if notes:
        explanation += notes

    total_units = sum(units)
    any_billed = False
    out: list[LineUnits] = []
    new_line = tuple.__new__
    i = 0
    for line in lines:
        billed = line.units
        if billed is None:
            out.append(
                new_line(LineUnits, (line.code, line.minutes, units[i], models[i], None, None, lo[i], hi[i]))
            )
        else:
            any_billed = True
            status = _STATUS[(billed >= lo[i]) + (billed > hi[i])]
            out.append(
                new_line(
                    LineUnits, (line.code, line.minutes, units[i], models[i], billed, status, lo[i], hi[i])
                )
            )
        i += 1
    if any_billed:
        out = _check_billed_totals(out, total_units, explanation)
    return tuple.__new__(
        UnitsResult, (method, total_timed, total_units, tuple(out), tuple(explanation), tie_broken)
    )


def _allocate_cms(
    codes: list[str],
    mins: list[int],
    timed: list[int],
    total: int,
    units: list[int],
    lo: list[int],
    hi: list[int],
    explanation: list[str],
) -> bool:
    """Allocate the CMS total-time units to the timed lines; return whether a tie decided."""
    n_units = 0 if total < 8 else (total + 7) // 15
    text = _TOTAL_MEMO.get((total, n_units))
    explanation.append(text if text is not None else _say_total(total, n_units))
    full_total = 0
    leftovers: list[tuple[int, int, int]] = []  # (leftover, minutes, -index): sorts best first
    memo = _LINE_MEMO
    for i in timed:
        m = mins[i]
        full = m // 15
        left = m - 15 * full
        units[i] = lo[i] = hi[i] = full
        full_total += full
        if left:
            leftovers.append((left, m, -i))
        text = memo.get((codes[i], m))
        explanation.append(text if text is not None else _say_line(codes[i], m))
    remaining = n_units - full_total
    if remaining <= 0:
        for left, _, neg_i in leftovers:
            explanation.append(_say_all_full(codes[-neg_i], left, n_units))
        return False
    if len(leftovers) > 1:
        leftovers.sort(reverse=True)
    cut = leftovers[remaining - 1][0]
    k = full_total
    at_cut_won = 0
    for left, _, neg_i in leftovers[:remaining]:
        i = -neg_i
        units[i] += 1
        k += 1
        explanation.append(_say_goes(k, codes[i], left))
        if left == cut:
            at_cut_won += 1
    at_cut = 0
    for left, _, neg_i in leftovers:
        i = -neg_i
        if left > cut:
            lo[i] += 1
            hi[i] += 1
        elif left == cut:
            hi[i] += 1
            at_cut += 1
    if remaining < len(leftovers):
        for left, _, neg_i in leftovers[remaining:]:
            explanation.append(_say_ran_out(codes[-neg_i], left, left < cut))
    if at_cut > at_cut_won:
        names = ", ".join(codes[-neg_i] for left, _, neg_i in leftovers if left == cut)
        explanation.append(
            f"Tie: {names} each have {_plural(cut, 'minute')} left; the tie was broken by more total "
            "minutes, then the order of the lines. Either assignment is correct under CMS."
        )
        return True
    return False


def _acupuncture(code: str, minutes: int, info: CodeUnits, notes: list[str]) -> int:
    if info.role is AddonRole.INITIAL:
        u = 1 if minutes >= 8 else 0
        text = f"{code}: initial code of an initial + add-on pair, once for the first 15 minutes → {_plural(u, 'unit')}"
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
        f"{code}: add-on code, one unit per further 15 minutes: {minutes} min → {_plural(u, 'unit')}."
    )
    return u


def _s_too_many(code: str, billed: int, most: int) -> str:
    return f"{code}: billed {_plural(billed, 'unit')}, but the minutes support at most {most}."


def _s_too_few(code: str, billed: int, least: int) -> str:
    return f"{code}: billed {_plural(billed, 'unit')}, fewer than the {least} the minutes support."


_say_too_many = _memo(_s_too_many)
_say_too_few = _memo(_s_too_few)


def _check_billed_totals(out: list[LineUnits], total_units: int, explanation: list[str]) -> list[LineUnits]:
    """Compare billed units with the minutes, line by line and in total, and say so."""
    billed_total = 0
    all_supported = True
    for ln in out:
        billed = ln.billed_units
        if billed is None:
            billed_total += ln.units
        else:
            billed_total += billed
            if ln.billed_status != "supported":
                all_supported = False
    # Every line within its range, but a tie group over- or under-billed as a whole.
    if all_supported and billed_total != total_units:
        fixed: list[LineUnits] = []
        for ln in out:
            if ln.billed_units is not None and ln.min_units != ln.max_units:
                if billed_total > total_units and ln.billed_units == ln.max_units:
                    ln = ln._replace(billed_status="too_many")
                elif billed_total < total_units and ln.billed_units == ln.min_units:
                    ln = ln._replace(billed_status="too_few")
            fixed.append(ln)
        out = fixed
    all_ok = True
    for ln in out:
        status = ln.billed_status
        if status == "too_many":
            all_ok = False
            explanation.append(_say_too_many(ln.code, ln.billed_units or 0, ln.max_units))
        elif status == "too_few":
            all_ok = False
            explanation.append(_say_too_few(ln.code, ln.billed_units or 0, ln.min_units))
    if all_ok:
        explanation.append(_SUPPORTED)
    return out
