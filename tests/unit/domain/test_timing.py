"""The 8-minute rule: CMS §20.2 worked examples, per-code vectors, billed units, properties."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from therabill.domain.timing import (
    AddonRole,
    CodeUnits,
    UnitMethod,
    UnitModel,
    compute_units,
    minutes_range,
    units_for_minutes,
)
from therabill.refdata.catalog import default_catalog

CMS = UnitMethod.CMS
PER = UnitMethod.PER_CODE
CATALOG = default_catalog().units


@dataclass(frozen=True)
class L:
    code: str
    minutes: int
    units: int | None = None


def run(method: UnitMethod, *pairs: tuple[str, int]) -> dict[str, int]:
    result = compute_units([L(c, m) for c, m in pairs], method, CATALOG)
    return {ln.code: ln.units for ln in result.lines}


@pytest.mark.parametrize(
    ("minutes", "units"),
    [(0, 0), (7, 0), (8, 1), (22, 1), (23, 2), (37, 2), (38, 3), (52, 3), (53, 4), (67, 4), (68, 5),
     (82, 5), (83, 6), (97, 6), (98, 7), (112, 7), (113, 8), (127, 8), (99, 7)],
)  # fmt: skip
def test_table_11(minutes: int, units: int) -> None:
    assert units_for_minutes(minutes) == units


def test_minutes_range_text() -> None:
    assert minutes_range(3) == "38-52"
    assert minutes_range(0) == "0-7"


# §1.3 worked examples (CMS total time) -------------------------------------------------------


def test_example_1_more_units_to_longer_service() -> None:
    assert run(CMS, ("97112", 24), ("97110", 23)) == {"97112": 2, "97110": 1}


def test_example_2_equal_minutes_either_way_never_three_on_one() -> None:
    result = compute_units([L("97112", 20), L("97110", 20)], CMS, CATALOG)
    got = sorted(ln.units for ln in result.lines)
    assert got == [1, 2]
    assert result.total_units == 3
    assert result.tie_broken
    assert any(s.startswith("Tie:") for s in result.explanation)
    # Either assignment is supported when billed.
    for a, b in ((2, 1), (1, 2)):
        billed = compute_units([L("97112", 20, a), L("97110", 20, b)], CMS, CATALOG)
        assert [ln.billed_status for ln in billed.lines] == ["supported", "supported"]
    over = compute_units([L("97112", 20, 2), L("97110", 20, 2)], CMS, CATALOG)
    assert [ln.billed_status for ln in over.lines] == ["too_many", "too_many"]
    three = compute_units([L("97112", 20, 3), L("97110", 20, 0)], CMS, CATALOG)
    assert [ln.billed_status for ln in three.lines] == ["too_many", "too_few"]


def test_example_3_small_leftover_wins() -> None:
    result = compute_units([L("97110", 33), L("97140", 7)], CMS, CATALOG)
    assert {ln.code: ln.units for ln in result.lines} == {"97110": 2, "97140": 1}
    text = " ".join(result.explanation)
    assert "40 timed minutes → 3 units (38-52)" in text
    assert "97110: 33 min = 2 full units, 3 minutes left." in text
    assert "The third unit goes to 97140 (7 minutes left)." in text


def test_example_4_four_codes() -> None:
    got = run(CMS, ("97110", 18), ("97140", 13), ("97116", 10), ("97035", 8))
    assert got == {"97110": 1, "97140": 1, "97116": 1, "97035": 0}


def test_example_5_three_sevens_one_unit() -> None:
    result = compute_units([L("97112", 7), L("97110", 7), L("97140", 7)], CMS, CATALOG)
    assert result.total_units == 1
    assert sorted(ln.units for ln in result.lines) == [0, 0, 1]
    assert result.tie_broken


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        ((("97110", 25), ("97140", 12), ("97161", 30)), {"97110": 1, "97140": 1, "97161": 1}),
        ((("97112", 45), ("97035", 7)), {"97112": 3, "97035": 0}),
        ((("97110", 18), ("97140", 10)), {"97110": 1, "97140": 1}),
        ((("97124", 99),), {"97124": 7}),
        ((("97124", 60),), {"97124": 4}),
        ((("97124", 38), ("97140", 22)), {"97124": 3, "97140": 1}),
    ],
)
def test_third_party_vectors(pairs: tuple[tuple[str, int], ...], expected: dict[str, int]) -> None:
    assert run(CMS, *pairs) == expected


def test_untimed_minutes_do_not_count() -> None:
    result = compute_units([L("97110", 25), L("97140", 12), L("97161", 30)], CMS, CATALOG)
    assert result.total_timed_minutes == 37
    assert result.total_units == 3
    assert any("97161: untimed, 1 unit" in s for s in result.explanation)


# §2 per-code vectors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pairs", "cms_total", "per_total"),
    [
        ((("97112", 7), ("97110", 7), ("97140", 7)), 1, 0),
        ((("97110", 33), ("97140", 7)), 3, 2),
        ((("97110", 8), ("97140", 8)), 1, 2),  # per-code gives more
        ((("97110", 22), ("97140", 22)), 3, 2),  # per-code gives fewer
        ((("97110", 18), ("97140", 13), ("97116", 10), ("97035", 8)), 3, 4),
        ((("97124", 52),), 3, 3),
    ],
)
def test_methods_compared(pairs: tuple[tuple[str, int], ...], cms_total: int, per_total: int) -> None:
    lines = [L(c, m) for c, m in pairs]
    assert compute_units(lines, CMS, CATALOG).total_units == cms_total
    assert compute_units(lines, PER, CATALOG).total_units == per_total


def test_per_code_line_detail() -> None:
    assert run(PER, ("97110", 33), ("97140", 7)) == {"97110": 2, "97140": 0}


# zero-unit lines, untimed, unknown, acupuncture --------------------------------------------


def test_zero_unit_line_kept_in_order_with_reason() -> None:
    result = compute_units([L("97112", 45), L("97035", 7)], CMS, CATALOG)
    assert [ln.code for ln in result.lines] == ["97112", "97035"]
    assert result.lines[1].units == 0
    assert any(s.startswith("97035:") and "earn no unit" in s for s in result.explanation)


def test_timed_code_under_8_alone_gets_nothing() -> None:
    result = compute_units([L("97140", 7)], CMS, CATALOG)
    assert result.total_units == 0
    assert "7 timed minutes → 0 units (0-7)" in result.explanation[0]


def test_unknown_code_gets_no_silent_unit() -> None:
    result = compute_units([L("99999", 30), L("97110", 23)], CMS, CATALOG)
    assert result.lines[0].units == 0
    assert result.lines[0].model == "unknown"
    assert result.total_units == 2
    assert result.total_timed_minutes == 23  # the unknown code's minutes are not pooled
    assert any("not in the code catalog" in s and "no units" in s for s in result.explanation)


def test_catalog_codes_from_issue_19_units() -> None:
    # aquatic therapy and orthotic management are timed: they join the 15-minute pool
    result = compute_units([L("97113", 30), L("97760", 20)], CMS, CATALOG)
    assert [ln.units for ln in result.lines] == [2, 1]
    assert result.total_timed_minutes == 50
    # OMT is service-based; the work-hardening add-on hour counts past the midpoint
    result = compute_units([L("98926", 20), L("97546", 95), L("97546", 30)], CMS, CATALOG)
    assert [ln.units for ln in result.lines] == [1, 2, 0]
    assert result.total_timed_minutes == 0


def test_acupuncture_initial_once_addon_per_15() -> None:
    result = compute_units([L("97810", 15), L("97811", 30), L("97110", 23)], CMS, CATALOG)
    assert [ln.units for ln in result.lines] == [1, 2, 2]
    assert result.total_timed_minutes == 23  # acupuncture is counted apart


def test_acupuncture_never_two_units_of_initial() -> None:
    result = compute_units([L("97813", 45, 2)], CMS, CATALOG)
    assert result.lines[0].units == 1
    assert result.lines[0].billed_status == "too_many"
    assert any("belong on 97814" in s for s in result.explanation)


def test_acupuncture_catalog_pairs() -> None:
    assert CATALOG["97810"] == CodeUnits(UnitModel.INITIAL_PLUS_ADDON, AddonRole.INITIAL, "97811")
    assert CATALOG["97814"].role is AddonRole.ADDON


# billed units -----------------------------------------------------------------------------


def test_billed_supported_too_many_too_few() -> None:
    ok = compute_units([L("97124", 60, 4)], CMS, CATALOG)
    assert ok.lines[0].billed_status == "supported"
    assert "The billed units are supported by the minutes." in ok.explanation
    many = compute_units([L("97124", 50, 4)], CMS, CATALOG)
    assert many.lines[0].billed_status == "too_many"
    assert "97124: billed 4 units, but the minutes support at most 3." in many.explanation
    few = compute_units([L("97124", 60, 3)], CMS, CATALOG)
    assert few.lines[0].billed_status == "too_few"


def test_no_billed_units_no_status() -> None:
    result = compute_units([L("97124", 60)], CMS, CATALOG)
    assert result.lines[0].billed_status is None
    assert result.as_dict()["lines"][0]["billed_units"] is None


def test_json_shape() -> None:
    d = compute_units([L("97110", 33), L("97140", 7)], CMS, CATALOG).as_dict()
    assert d["method"] == "cms"
    assert d["total_timed_minutes"] == 40
    assert d["total_units"] == 3
    assert [(x["code"], x["minutes"], x["units"]) for x in d["lines"]] == [("97110", 33, 2), ("97140", 7, 1)]
    assert isinstance(d["explanation"], list) and d["explanation"]


# properties -------------------------------------------------------------------------------

TIMED = ["97110", "97112", "97116", "97124", "97140", "97530", "97035"]
lines_st = st.lists(
    st.tuples(st.sampled_from(TIMED + ["97161", "97010"]), st.integers(0, 130)), min_size=1, max_size=6
)


def _timed_total(pairs: list[tuple[str, int]]) -> int:
    return sum(m for c, m in pairs if c in TIMED)


@given(lines_st)
def test_cms_total_is_table_of_total_minutes(pairs: list[tuple[str, int]]) -> None:
    result = compute_units([L(c, m) for c, m in pairs], CMS, CATALOG)
    timed_units = sum(ln.units for ln in result.lines if ln.model == "timed15")
    assert timed_units == units_for_minutes(_timed_total(pairs))
    assert result.total_timed_minutes == _timed_total(pairs)


@given(lines_st)
def test_cms_every_code_gets_its_full_units(pairs: list[tuple[str, int]]) -> None:
    result = compute_units([L(c, m) for c, m in pairs], CMS, CATALOG)
    for ln in result.lines:
        if ln.model == "timed15":
            assert ln.units >= ln.minutes // 15
            assert ln.units <= ln.minutes // 15 + 1


@given(lines_st, st.data())
def test_cms_total_never_decreases_as_a_line_grows(pairs: list[tuple[str, int]], data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(pairs) - 1))
    extra = data.draw(st.integers(1, 60))
    before = compute_units([L(c, m) for c, m in pairs], CMS, CATALOG).total_units
    grown = list(pairs)
    grown[i] = (grown[i][0], grown[i][1] + extra)
    after = compute_units([L(c, m) for c, m in grown], CMS, CATALOG).total_units
    assert after >= before


@given(lines_st, st.data())
def test_per_code_lines_independent_and_monotone(pairs: list[tuple[str, int]], data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(pairs) - 1))
    extra = data.draw(st.integers(1, 60))
    base = compute_units([L(c, m) for c, m in pairs], PER, CATALOG)
    grown = list(pairs)
    grown[i] = (grown[i][0], grown[i][1] + extra)
    after = compute_units([L(c, m) for c, m in grown], PER, CATALOG)
    for j, (b, a) in enumerate(zip(base.lines, after.lines, strict=True)):
        if j == i:
            assert a.units >= b.units
        else:
            assert a.units == b.units
    for ln in base.lines:
        if ln.model == "timed15":
            assert ln.units == units_for_minutes(ln.minutes)


@given(lines_st)
def test_billing_the_computed_units_is_always_supported(pairs: list[tuple[str, int]]) -> None:
    first = compute_units([L(c, m) for c, m in pairs], CMS, CATALOG)
    again = compute_units(
        [L(c, m, ln.units) for (c, m), ln in zip(pairs, first.lines, strict=True)], CMS, CATALOG
    )
    assert all(ln.billed_status == "supported" for ln in again.lines)
