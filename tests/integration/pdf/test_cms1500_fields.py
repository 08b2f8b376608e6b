"""CMS-1500 field values: NUCC conventions, 24E letters vs 837P numbers, overflow, goldens."""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import EXAMPLES, REPO
from tests.integration.pdf.samples import AS_OF, claim_of, encounter
from therabill.domain.claim import CLAIM_ID_MAX
from therabill.domain.encounter import Service
from therabill.domain.forms import (
    FormError,
    cms1500_forms,
    insurance_type_box,
    mask_tax_id,
    money_parts,
    pointer_letters,
    split_claim_id,
)
from therabill.domain.money import D

GOLDEN = REPO / "tests" / "golden" / "cms1500"
EXAMPLE_NAMES = sorted(p.name for p in EXAMPLES.glob("*.json"))


def forms_of(name: str, **kw):
    return cms1500_forms(claim_of(encounter(name)), signed_on=AS_OF, **kw)


# -- 24E pointers: letters on paper, numbers in the 837P -------------------------------------


def test_pointer_letters_map_837p_numbers_to_letters():
    assert pointer_letters([1]) == "A"
    assert pointer_letters([1, 3]) == "AC"
    assert pointer_letters([12, 2, 5, 4]) == "LBED"
    assert pointer_letters([1, 2, 3, 4, 5]) == "ABCD"  # the form and SV107 carry four at most


@pytest.mark.parametrize("bad", [0, 13, -1])
def test_pointer_outside_a_to_l_is_refused(bad):
    with pytest.raises(ValueError, match="outside 1-12"):
        pointer_letters([bad])


@settings(max_examples=60)
@given(st.lists(st.integers(1, 12), min_size=1, max_size=4))
def test_pointer_letters_round_trip_to_837p_numbers(pointers):
    letters = pointer_letters(pointers)
    assert [ord(ch) - ord("A") + 1 for ch in letters] == pointers


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_each_line_prints_its_837p_pointers_as_letters(name):
    claim = claim_of(encounter(name))
    fields = cms1500_forms(claim, signed_on=AS_OF)[0].fields
    for row, line in enumerate(claim.lines, start=1):
        printed = fields.get(f"24.{row}.pointer", "")
        assert [ord(ch) - 64 for ch in printed] == list(line.diagnosis_pointers[:4])


# -- NUCC print conventions --------------------------------------------------------------


def test_amounts_split_without_dollar_sign_or_punctuation():
    assert money_parts(Decimal("1234.50")) == ("1234", "50")
    assert money_parts(Decimal("40.00")) == ("40", "00")
    assert money_parts(Decimal("0.07")) == ("0", "07")
    with pytest.raises(ValueError):
        money_parts(Decimal("-1.00"))


def test_clean_claim_boxes():
    f = forms_of("massage-and-manual-therapy-two-regions.json")[0].fields
    assert f["2"] == "DOE, JANE" and f["4"] == "DOE, JANE"
    assert (f["3.mm"], f["3.dd"], f["3.yyyy"]) == ("04", "02", "1980")  # 8-digit birth date
    assert (f["24.1.from_mm"], f["24.1.from_dd"], f["24.1.from_yy"]) == ("11", "20", "26")  # 6-digit
    assert f["1.group"] == "X" and f["1a"] == "XOJ123456789"
    assert f["6.self"] == "X" and f["3.sex_f"] == "X"
    assert f["21.ind"] == "0" and f["21.A"] == "M54.50" and f["21.C"] == "M54.2"
    assert f["24.1.cpt"] == "97124" and f["24.2.mod1"] == "59"
    assert (f["24.1.charge_dollars"], f["24.1.charge_cents"]) == ("105", "00")
    assert (f["28.dollars"], f["28.cents"]) == ("145", "00")
    assert f["12.signature"] == "SIGNATURE ON FILE" and f["12.date"] == "110126"
    assert f["13.signature"] == "SIGNATURE ON FILE"
    assert f["14.qual"] == "431" and (f["14.mm"], f["14.dd"], f["14.yy"]) == ("10", "20", "26")
    assert (f["17.qual"], f["17"], f["17b"]) == ("DN", "SAM REED", "1003000126")
    assert f["23"] == "PA55821"  # no hyphens or spaces in box 23
    assert f["25.ein"] == "X" and f["25.tin"] == "123456789"
    assert f["26"] == "E-2026-0001" and f["27.yes"] == "X"
    assert f["31.signature"] == "SIGNATURE ON FILE" and f["31.date"] == "112326"
    assert f["33a"] == "1234567893" and f["33b"] == "ZZ225700000X"
    assert f["33.city_state_zip"] == "SPRINGFIELD IL 62701-1234"
    assert (f["33.phone_area"], f["33.phone"]) == ("217", "5550100")
    assert "22.code" not in f and "29.dollars" not in f
    assert all(v == v.upper() for v in f.values())


def test_workers_comp_boxes():
    f = forms_of("workers-comp-visit.json")[0].fields
    assert f["1.other"] == "X" and f["10a.yes"] == "X" and f["10b.no"] == "X"
    assert (f["11b.qual"], f["11b"]) == ("Y4", "WC2026044821")
    assert f["4"] == "SPRINGFIELD FREIGHT CO" and f["6.other"] == "X"
    assert "11a.sex_m" not in f  # an employer has no sex or birth date


def test_auto_accident_prints_state():
    f = forms_of("auto-no-fault-visit.json")[0].fields
    assert f["10b.yes"] == "X" and f["10b.state"] == "NY"


def test_replacement_claim_prints_box_22():
    enc = dataclasses.replace(
        encounter("clean-60-minute-massage.json"),
        claim_frequency="7",
        payer_claim_control_number="2026112000123",
    )
    f = cms1500_forms(claim_of(enc), signed_on=AS_OF)[0].fields
    assert (f["22.code"], f["22.ref"]) == ("7", "2026112000123")


def test_ssn_prints_on_the_claim_and_is_masked_everywhere_else():
    form = forms_of("sole-proprietor-own-npi.json")[0]
    assert form.fields["25.ssn"] == "X"
    assert len(form.fields["25.tin"]) == 9 and form.fields["25.tin"].isdigit()
    red = form.redacted()
    assert red["25.tin"] == mask_tax_id(form.fields["25.tin"]) == "XXXXX" + form.fields["25.tin"][-4:]


def test_patient_amount_paid_in_box_29():
    enc = dataclasses.replace(encounter("clean-60-minute-massage.json"), patient_amount_paid=D("20.00"))
    f = cms1500_forms(claim_of(enc), signed_on=AS_OF)[0].fields
    assert (f["29.dollars"], f["29.cents"]) == ("20", "00")


@pytest.mark.parametrize(
    ("indicator", "box"),
    [
        ("MB", "medicare"),
        ("MC", "medicaid"),
        ("CH", "tricare"),
        ("BL", "group"),
        ("CI", "group"),
        ("WC", "other"),
        ("AM", "other"),
        (None, "other"),
    ],
)
def test_box_1_by_filing_indicator(indicator, box):
    assert insurance_type_box(indicator) == box


# -- more than six lines -------------------------------------------------------------------


def eight_line_encounter():
    enc = encounter("massage-and-manual-therapy-two-regions.json")
    services = tuple(
        Service(code="97124", minutes=15, diagnosis_pointers=(1 + i % 3,), unit_charge=D(f"{30 + i}.00"))
        for i in range(8)
    )
    return dataclasses.replace(
        enc, services=services, start_time=None, end_time=None, patient_amount_paid=D("10.00")
    )


def test_split_makes_separate_claims_of_six_lines_with_own_totals():
    claim = claim_of(eight_line_encounter())
    assert len(claim.lines) == 8
    forms = cms1500_forms(claim, signed_on=AS_OF, overflow="split")
    assert [len(f.line_numbers) for f in forms] == [6, 2]
    assert [f.fields["26"] for f in forms] == ["E-2026-0001.1", "E-2026-0001.2"]
    totals = [Decimal(f"{f.fields['28.dollars']}.{f.fields['28.cents']}") for f in forms]
    assert totals[0] == sum(ln.charge for ln in claim.lines[:6])
    assert sum(totals) == claim.total_charge
    assert "29.dollars" in forms[0].fields and "29.dollars" not in forms[1].fields
    assert "24.1.cpt" in forms[1].fields and "24.3.cpt" not in forms[1].fields


def test_split_ids_of_a_20_character_claim_id_stay_within_clm01():
    long_id = "PRACTICE-2026-000123"
    assert len(long_id) == CLAIM_ID_MAX
    claim = dataclasses.replace(claim_of(eight_line_encounter()), claim_id=long_id)
    forms = cms1500_forms(claim, signed_on=AS_OF, overflow="split")
    ids = [f.fields["26"] for f in forms]
    assert ids == [split_claim_id(long_id, 1), split_claim_id(long_id, 2)]
    assert [len(i) for i in ids] == [CLAIM_ID_MAX, CLAIM_ID_MAX] and ids[0] != ids[1]
    assert ids[0].startswith("PRACTICE-20-") and ids[0].endswith(".1") and ids[1].endswith(".2")
    assert [f.claim_id for f in forms] == ids


def test_split_id_cut_keeps_different_claims_apart():
    assert split_claim_id("E-2026-0001", 1) == "E-2026-0001.1"  # short ids are not cut
    assert split_claim_id("A" * 18, 1) == "A" * 18 + ".1"  # exactly 20 characters: kept
    a, b = split_claim_id("CLAIM-2026-000000001", 1), split_claim_id("CLAIM-2026-000000002", 1)
    assert a != b and a[:10] == b[:10] == "CLAIM-2026"
    assert "--" not in split_claim_id("ABCDEFGHIJ-KLMNOPQRS", 1)  # the cut drops a trailing hyphen
    with pytest.raises(ValueError):
        split_claim_id("E-1", 0)


@settings(max_examples=100)
@given(
    claim_id=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-", min_size=1, max_size=CLAIM_ID_MAX),
    part=st.integers(min_value=1, max_value=999),
)
def test_split_ids_are_short_safe_and_deterministic(claim_id, part):
    got = split_claim_id(claim_id, part)
    assert len(got) <= CLAIM_ID_MAX
    assert got.endswith(f".{part}") and got == split_claim_id(claim_id, part)
    assert set(got) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")
    if len(claim_id) + len(f".{part}") <= CLAIM_ID_MAX:
        assert got == f"{claim_id}.{part}"


def test_continuation_puts_the_total_on_the_last_page():
    claim = claim_of(eight_line_encounter())
    forms = cms1500_forms(claim, signed_on=AS_OF, overflow="continuation")
    assert [f.fields["26"] for f in forms] == ["E-2026-0001", "E-2026-0001"]
    assert "28.dollars" not in forms[0].fields
    assert Decimal(f"{forms[1].fields['28.dollars']}.{forms[1].fields['28.cents']}") == claim.total_charge
    assert forms[0].fields["19"] == "PAGE 1 OF 2" and forms[1].fields["19"] == "PAGE 2 OF 2"


def test_bad_overflow_mode_and_too_many_diagnoses_are_refused():
    claim = claim_of(encounter("clean-60-minute-massage.json"))
    with pytest.raises(FormError) as err:
        cms1500_forms(claim, signed_on=AS_OF, overflow="sideways")
    assert err.value.problems[0].code == "form-overflow-mode"
    enc = dataclasses.replace(claim.encounter, diagnoses=tuple(f"M54.{i}" for i in range(13)))
    with pytest.raises(FormError) as err:
        cms1500_forms(dataclasses.replace(claim, encounter=enc), signed_on=AS_OF)
    assert err.value.problems[0].code == "form-too-many-diagnoses"


# -- golden dumps ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_golden_field_dump(name):
    dump = [{"claim_id": f.claim_id, "page": f.page, "fields": f.redacted()} for f in forms_of(name)]
    text = json.dumps(dump, indent=2, sort_keys=True) + "\n"
    golden = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(text)
    assert golden.exists(), f"missing golden file {golden.name}; run with UPDATE_GOLDEN=1 and review it"
    assert text == golden.read_text()


def test_signed_on_date_is_pinned_not_today():
    f = cms1500_forms(claim_of(encounter("clean-60-minute-massage.json")), signed_on=date(2027, 1, 2))[
        0
    ].fields
    assert f["31.date"] == "010227"


def test_goldens_cover_every_example():
    assert sorted(p.name for p in GOLDEN.glob("*.json")) == EXAMPLE_NAMES
    assert all(isinstance(json.loads(p.read_text()), list) for p in Path(GOLDEN).glob("*.json"))


def test_every_shipped_payer_profile_chooses_an_overflow_mode():
    from therabill.domain.forms import OVERFLOW_MODES
    from therabill.refdata.profiles import list_profiles, load_profile
    from therabill.service_layer.documents import overflow_mode

    names = list_profiles(())
    assert {"commercial", "medicare", "workers_comp"} <= set(names)
    for name in names:
        setting = load_profile(name).setting("cms1500_overflow")
        assert setting is not None and setting.value in OVERFLOW_MODES and setting.source, name
        assert overflow_mode(name) == setting.value
