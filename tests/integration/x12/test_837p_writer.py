"""837P writer: golden files, pyx12, x12sdk cross-check, and our own checks."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

import pytest

from therabill.adapters.x12 import iter_segments
from therabill.adapters.x12.envelope import EnvelopeSettings
from therabill.adapters.x12.errors import X12Error
from therabill.adapters.x12.x837p_005010X222A1 import check_claim, npi_is_valid, write_837p
from therabill.domain.encounter import Address

from .conftest import CREATED, GOLDEN, SETTINGS, claim_of


def test_every_example_has_a_golden_case(golden_cases: list[Path]) -> None:
    examples_dir = Path(__file__).resolve().parents[3] / "examples"
    names = {p.name for p in golden_cases}
    for example in examples_dir.glob("*.json"):
        assert example.stem in names, f"no golden case for {example.name}"
        assert (GOLDEN / example.stem / "input.json").read_bytes() == example.read_bytes(), example.name
    # cases beyond the examples: a secondary claim with 2430, attachments and a note
    assert {"secondary-line-adjudication", "attachments-and-note"} <= names


def test_golden_files_byte_for_byte(golden_cases: list[Path], request: pytest.FixtureRequest) -> None:
    update = request.config.getoption("--update-goldens")
    for case in golden_cases:
        text = write_837p([claim_of(case / "input.json")], SETTINGS, control_number=101, created=CREATED)
        expected = case / "expected.edi"
        if update:
            expected.write_bytes(text.encode("ascii"))
        assert expected.exists(), f"{case.name}: no expected.edi (run pytest --update-goldens once)"
        assert text.encode("ascii") == expected.read_bytes(), (
            f"{case.name}: 837P differs from the golden file"
        )


def test_every_example_passes_pyx12(golden_cases, pyx12_validate) -> None:
    claims = [claim_of(c / "input.json") for c in golden_cases]
    for claim in claims:
        ok, errors = pyx12_validate(write_837p([claim], SETTINGS, control_number=7, created=CREATED))
        assert ok and not errors, (claim.claim_id, errors)
    # all together in one batch, no line breaks, other delimiters
    d = dataclasses.replace(
        SETTINGS, line_break=False, delimiters=type(SETTINGS.delimiters)("|", ">", "^", "\n")
    )
    ok, errors = pyx12_validate(write_837p(claims, d, control_number=8, created=CREATED))
    assert ok and not errors, errors


def test_pyx12_fixture_does_catch_errors(pyx12_validate) -> None:
    claim = claim_of(Path(__file__).resolve().parents[3] / "examples" / "clean-60-minute-massage.json")
    text = write_837p([claim], SETTINGS, control_number=7, created=CREATED)
    broken = text.replace("SE*", "SE*9", 1)
    ok, errors = pyx12_validate(broken)
    assert not ok and errors


def _extract(text: str) -> list[tuple[str, Decimal, list[tuple[str, tuple[str, ...], int, Decimal, str]]]]:
    """Claims of an 837P with our own tokenizer: (CLM01, CLM02, [(code, mods, units, charge, 6R)])."""
    out: list = []
    comp = None
    from therabill.adapters.x12.tokenizer import SegmentReader

    reader = SegmentReader(text)
    for seg in reader:
        comp = reader.delimiters.component
        if seg[0] == "CLM":
            out.append((seg[1], Decimal(seg[2]), []))
        elif seg[0] == "SV1":
            parts = seg[1].split(comp)
            out[-1][2].append([parts[1], tuple(parts[2:]), int(seg[4]), Decimal(seg[2]), ""])
        elif seg[0] == "REF" and seg[1] == "6R":
            out[-1][2][-1][4] = seg[2]
    return [(c, t, [tuple(x) for x in lines]) for c, t, lines in out]


def test_x12sdk_parses_back_the_same_claims(golden_cases) -> None:
    x12sdk = pytest.importorskip("x12sdk")
    claims = [claim_of(c / "input.json") for c in golden_cases]
    settings = dataclasses.replace(SETTINGS, line_break=False)
    text = write_837p(claims, settings, control_number=9, created=CREATED)
    parsed = _parse_with_x12sdk(x12sdk, text)
    expected = {
        c.claim_id: (c.total_charge, [(ln.code, ln.units, ln.charge) for ln in c.lines]) for c in claims
    }
    assert parsed == expected


def _parse_with_x12sdk(x12sdk, text: str) -> dict:
    """Claims, lines, units and amounts as x12sdk reads them (CLM in 2000B or 2000C)."""
    from x12sdk.io import X12ModelReader

    out: dict = {}
    with X12ModelReader(text) as reader:
        for model in reader.models():
            data = model.model_dump()
            for a in data["loop_2000a"]:
                for b in a["loop_2000b"]:
                    loops = list(b.get("loop_2300") or [])
                    for c in b.get("loop_2000c") or []:
                        loops += c.get("loop_2300") or []
                    for claim in loops:
                        clm = claim["clm_segment"]
                        lines = [
                            (
                                ln["sv1_segment"]["product_service_id_qualifier"].split(":")[1],
                                int(ln["sv1_segment"]["service_unit_count"]),
                                Decimal(ln["sv1_segment"]["line_item_charge_amount"]).quantize(
                                    Decimal("0.01")
                                ),
                            )
                            for ln in claim["loop_2400"]
                        ]
                        total = Decimal(clm["total_claim_charge_amount"]).quantize(Decimal("0.01"))
                        out[clm["patient_control_number"]] = (total, lines)
    return out


def test_round_trip_with_our_tokenizer(golden_cases) -> None:
    claims = [claim_of(c / "input.json") for c in golden_cases]
    text = write_837p(claims, SETTINGS, control_number=9, created=CREATED)
    got = _extract(text)
    want = [
        (
            c.claim_id,
            c.total_charge,
            [(ln.code, ln.modifiers, ln.units, ln.charge, ln.line_id) for ln in c.lines],
        )
        for c in claims
    ]
    assert sorted(got) == sorted(want)


def test_counts_are_computed_and_5000_claims_per_st() -> None:
    base = claim_of(Path(__file__).resolve().parents[3] / "examples" / "clean-60-minute-massage.json")
    claims = [dataclasses.replace(base, claim_id=f"C{i}") for i in range(7)]
    settings = dataclasses.replace(SETTINGS, max_claims_per_transaction=3)
    text = write_837p(claims, settings, control_number=5, created=CREATED)
    segs = list(iter_segments(text))
    sts = [i for i, s in enumerate(segs) if s[0] == "ST"]
    assert len(sts) == 3
    for i in sts:
        se = next(j for j in range(i, len(segs)) if segs[j][0] == "SE")
        assert int(segs[se][1]) == se - i + 1
        assert segs[se][2] == segs[i][2]
    assert [s for s in segs if s[0] == "GE"][0][1] == "3"
    assert sum(1 for s in segs if s[0] == "CLM") == 7
    with pytest.raises(X12Error):
        EnvelopeSettings(max_claims_per_transaction=5001).check()


def test_delimiter_in_data_is_refused_naming_the_field() -> None:
    claim = claim_of(Path(__file__).resolve().parents[3] / "examples" / "clean-60-minute-massage.json")
    enc = claim.encounter
    patient = dataclasses.replace(enc.patient, last_name="O*Brien")
    bad = dataclasses.replace(claim, encounter=dataclasses.replace(enc, patient=patient))
    with pytest.raises(X12Error) as info:
        write_837p([bad], SETTINGS, control_number=1, created=CREATED)
    assert "patient.last_name" in str(info.value)
    assert info.value.code == "x12-delimiter-in-data"


def test_accents_are_dropped() -> None:
    claim = claim_of(Path(__file__).resolve().parents[3] / "examples" / "clean-60-minute-massage.json")
    enc = claim.encounter
    patient = dataclasses.replace(enc.patient, first_name="José")
    text = write_837p(
        [dataclasses.replace(claim, encounter=dataclasses.replace(enc, patient=patient))],
        SETTINGS,
        control_number=1,
        created=CREATED,
    )
    assert "*Jose*" in text and text.isascii()


def test_own_checks_catch_what_pyx12_misses() -> None:
    claim = claim_of(Path(__file__).resolve().parents[3] / "examples" / "clean-60-minute-massage.json")
    enc = claim.encounter
    bp = dataclasses.replace(
        enc.billing_provider,
        npi="1234567890",
        address=Address("100 Main St", None, "Springfield", "IL", "62701"),
    )
    line = dataclasses.replace(
        claim.lines[0], diagnosis_pointers=(1, 9), modifiers=("GP", "59", "XS", "KX", "GO")
    )
    bad = dataclasses.replace(
        claim,
        encounter=dataclasses.replace(enc, billing_provider=bp),
        lines=(line,),
        total_charge=claim.total_charge + 1,
    )
    codes = {p.code for p in check_claim(bad)}
    assert {"x12-837-npi", "x12-837-zip4", "x12-837-total", "x12-837-pointers", "x12-837-modifiers"} <= codes
    with pytest.raises(X12Error) as info:
        write_837p([bad], SETTINGS, control_number=1, created=CREATED)
    assert len(info.value.problems) >= 5
    assert check_claim(claim) == []


def test_npi_check_digit() -> None:
    assert npi_is_valid("1234567893")
    assert not npi_is_valid("1234567890")
    assert not npi_is_valid("12345")


def test_replacement_needs_the_payer_claim_number() -> None:
    claim = claim_of(Path(__file__).resolve().parents[3] / "examples" / "clean-60-minute-massage.json")
    repl = dataclasses.replace(claim, encounter=dataclasses.replace(claim.encounter, claim_frequency="7"))
    assert "x12-837-frequency" in {p.code for p in check_claim(repl)}
    ok = dataclasses.replace(
        claim,
        encounter=dataclasses.replace(
            claim.encounter, claim_frequency="7", payer_claim_control_number="PCN77"
        ),
    )
    text = write_837p([ok], SETTINGS, control_number=1, created=CREATED)
    assert "11:B:7" in text and "REF*F8*PCN77~" in text
