"""837P: line adjudication of a secondary claim (2430), attachments (PWK) and the claim note (NTE)."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from decimal import Decimal

import pytest

from therabill.adapters.x12.errors import X12Error
from therabill.adapters.x12.tokenizer import SegmentReader
from therabill.adapters.x12.x837p_005010X222A1 import check_claim, write_837p
from therabill.domain.claim import Claim
from therabill.domain.encounter import Attachment, LinePriorPayment

from .conftest import CREATED, GOLDEN, SETTINGS, claim_of

SECONDARY = GOLDEN / "secondary-line-adjudication" / "input.json"
ATTACHED = GOLDEN / "attachments-and-note" / "input.json"


@pytest.fixture(scope="module")
def secondary() -> Claim:
    return claim_of(SECONDARY)


@pytest.fixture(scope="module")
def attached() -> Claim:
    return claim_of(ATTACHED)


def _with(claim: Claim, **changes: object) -> Claim:
    return dataclasses.replace(claim, encounter=dataclasses.replace(claim.encounter, **changes))


def _with_line_prior(claim: Claim, index: int, pp: LinePriorPayment | None) -> Claim:
    services = list(claim.encounter.services)
    services[index] = dataclasses.replace(services[index], prior_payment=pp)
    return _with(claim, services=tuple(services))


def _segments(text: str) -> list[list[str]]:
    return list(SegmentReader(text))


def _problems(claim: Claim) -> dict[str, str]:
    return {p.loc: p.code for p in check_claim(claim)}


def test_2430_follows_each_line_from_the_document(secondary: Claim) -> None:
    doc = json.loads(SECONDARY.read_text())
    segs = _segments(write_837p([secondary], SETTINGS, control_number=3, created=CREATED))
    ids = [s[0] for s in segs]
    svds = [i for i, s in enumerate(ids) if s == "SVD"]
    assert len(svds) == len(secondary.lines) == 2
    for n, i in enumerate(svds):
        line_doc = doc["services"][n]["prior_payment"]
        svd = segs[i]
        assert svd[1] == doc["other_coverages"][0]["payer_id"]  # matches 2330B NM109
        assert Decimal(svd[2]) == Decimal(line_doc["paid_amount"])
        assert svd[3].split(":")[1] == secondary.lines[n].code
        assert int(svd[5]) == secondary.lines[n].units
        cas = []
        j = i + 1
        while segs[j][0] == "CAS":
            cas.append((segs[j][1], segs[j][2], Decimal(segs[j][3])))
            j += 1
        assert cas == [(a["group"], a["reason"], Decimal(a["amount"])) for a in line_doc["adjustments"]]
        assert segs[j][:3] == ["DTP", "573", "D8"]
        # the second line has no date of its own: the primary's claim-level date is used
        assert segs[j][3] == "20261122"
        # 2430 comes after the line's REF*6R, before the next LX
        assert ids[i - 1] == "REF" and segs[i - 1][1] == "6R"
    # the 2320 loop still carries the claim-level paid amount
    assert ["AMT", "D", "96"] in segs
    assert ids.index("SBR", ids.index("CLM")) < ids.index("LX")


def test_pwk_and_nte_in_2300(attached: Claim) -> None:
    segs = _segments(write_837p([attached], SETTINGS, control_number=3, created=CREATED))
    pwk = [s for s in segs if s[0] == "PWK"]
    assert pwk == [["PWK", "OZ", "FX", "", "", "AC", "WC-RPT-20261120"], ["PWK", "B4", "AA"]]
    assert ["NTE", "ADD", "Initial evaluation report faxed to adjuster on 2026-11-21"] in segs
    ids = [s[0] for s in segs]
    clm = ids.index("CLM")
    # guide order in 2300: CLM, DTP..., PWK, AMT, REF..., NTE, HI
    assert (
        clm
        < ids.index("DTP", clm)
        < ids.index("PWK")
        < ids.index("REF", clm)
        < ids.index("NTE")
        < ids.index("HI")
    )


def test_pyx12_accepts_variants(secondary: Claim, attached: Claim, pyx12_validate) -> None:
    # more than six reasons in one group (two CAS segments), a tertiary-style sequence, both in one file
    many = LinePriorPayment(
        paid_amount=Decimal("28.00"),
        adjudication_date=date(2026, 11, 21),
        adjustments=tuple(("CO", r, Decimal("1.00")) for r in ("45", "253", "59", "94", "97", "131", "B10")),
    )
    variant = _with_line_prior(secondary, 1, dataclasses.replace(many, paid_amount=Decimal("33.00")))
    other = variant.encounter.other_coverages[0]
    assert other.prior_payment is not None
    variant = _with(  # the claim level pays what the lines pay (AMT*D = sum of SVD02)
        variant,
        other_coverages=(
            dataclasses.replace(
                other, prior_payment=dataclasses.replace(other.prior_payment, paid_amount=Decimal("103.00"))
            ),
        ),
    )
    assert check_claim(variant) == []
    only_one_line = _with_line_prior(secondary, 0, None)
    first = only_one_line.encounter.other_coverages[0]
    assert first.prior_payment is not None
    only_one_line = _with(  # the one line left carries the whole payment
        only_one_line,
        other_coverages=(
            dataclasses.replace(
                first, prior_payment=dataclasses.replace(first.prior_payment, paid_amount=Decimal("26.00"))
            ),
        ),
    )
    both = write_837p(
        [
            variant,
            dataclasses.replace(_with(only_one_line, claim_note="Primary EOB attached"), claim_id="S2"),
        ],
        SETTINGS,
        control_number=11,
        created=CREATED,
    )
    ok, errors = pyx12_validate(both)
    assert ok and not errors, errors
    assert both.count("CAS*CO*45*1*") == 1 and "*B10*1~" in both
    ok, errors = pyx12_validate(write_837p([attached], SETTINGS, control_number=12, created=CREATED))
    assert ok and not errors, errors


def test_x12sdk_reads_back_2430_pwk_and_nte(secondary: Claim, attached: Claim) -> None:
    pytest.importorskip("x12sdk")
    from x12sdk.io import X12ModelReader

    text = write_837p(
        [secondary, attached],
        dataclasses.replace(SETTINGS, line_break=False),
        control_number=4,
        created=CREATED,
    )
    got: dict[str, dict] = {}
    with X12ModelReader(text) as reader:
        for model in reader.models():
            for a in model.model_dump()["loop_2000a"]:
                for b in a["loop_2000b"]:
                    loops = list(b.get("loop_2300") or [])
                    for c in b.get("loop_2000c") or []:
                        loops += c.get("loop_2300") or []
                    for cl in loops:
                        got[cl["clm_segment"]["patient_control_number"]] = cl
    sec = got[secondary.claim_id]
    for ln, loop in zip(secondary.lines, sec["loop_2400"], strict=True):
        pp = secondary.encounter.services[ln.service_index].prior_payment
        assert pp is not None
        (adj,) = loop["loop_2430"]
        assert Decimal(adj["svd_segment"]["service_line_paid_amount"]) == pp.paid_amount
        assert int(adj["svd_segment"]["paid_service_count"]) == ln.units
        cas = [
            (c["adjustment_group_code"], c["adjustment_reason_code_1"], Decimal(c["monetary_amount_1"]))
            for c in adj["cas_segment"]
        ]
        assert cas == list(pp.adjustments)
    att = got[attached.claim_id]
    assert [
        (p["report_type_code"], p["report_transmission_code"], p["identification_code"])
        for p in att["pwk_segment"]
    ] == [(a.report_type, a.transmission, a.control_number) for a in attached.encounter.attachments]
    assert att["nte_segment"]["description"] == attached.encounter.claim_note
    assert att["nte_segment"]["note_reference_code"] == "ADD"


def test_note_over_80_characters_is_refused_naming_the_field(attached: Claim) -> None:
    long_note = _with(attached, claim_note="x" * 81)
    with pytest.raises(X12Error) as info:
        write_837p([long_note], SETTINGS, control_number=1, created=CREATED)
    assert [(p.code, p.loc.split(": ")[1]) for p in info.value.problems] == [
        ("x12-837-note-too-long", "claim_note")
    ]
    assert "81 characters" in info.value.problems[0].message
    assert check_claim(_with(attached, claim_note="x" * 80)) == []
    with pytest.raises(X12Error) as info:
        write_837p([_with(attached, claim_note="see report~2")], SETTINGS, control_number=1, created=CREATED)
    assert info.value.code == "x12-delimiter-in-data" and "claim_note" in str(info.value)


def test_attachment_rules(attached: Claim) -> None:
    bad = _with(
        attached,
        attachments=(
            Attachment("77", "FX", "R1"),  # not a 5010 837P report type
            Attachment("OZ", "ZZ", "R2"),  # not a transmission code
            Attachment("OZ", "BM", None),  # sent by mail needs PWK06
            Attachment("OZ", "AA", "R4"),  # available on request carries none
        ),
    )
    assert _problems(bad) == {
        "attachments[0].report_type": "x12-837-attachment",
        "attachments[1].transmission": "x12-837-attachment",
        "attachments[2].control_number": "x12-837-attachment",
        "attachments[3].control_number": "x12-837-attachment",
    }
    eleven = _with(attached, attachments=tuple(Attachment("OZ", "EL", f"R{i}") for i in range(11)))
    assert _problems(eleven) == {"attachments": "x12-837-attachment"}


def test_line_adjudication_rules(secondary: Claim) -> None:
    unbalanced = _with_line_prior(
        secondary,
        0,
        LinePriorPayment(Decimal("71.00"), date(2026, 11, 22), (("CO", "45", Decimal("20.00")),)),
    )
    assert _problems(unbalanced) == {"services[0].prior_payment": "x12-837-cob-unbalanced"}
    primary = _with(secondary, coverage=dataclasses.replace(secondary.encounter.coverage, sequence="primary"))
    assert set(_problems(primary).values()) == {"x12-837-cob"}
    alone = _with(secondary, other_coverages=())
    assert _problems(alone) == {
        "services[0].prior_payment": "x12-837-cob",  # no payer to name in SVD01
        "services[1].prior_payment.adjudication_date": "x12-837-cob",  # and no claim-level date
    }
    other = secondary.encounter.other_coverages[0]
    undated = _with(
        secondary, other_coverages=(dataclasses.replace(other, prior_payment=None),)
    )  # line 2 has no date, and now neither has the claim level
    assert _problems(undated) == {"services[1].prior_payment.adjudication_date": "x12-837-cob"}
    with pytest.raises(X12Error):
        write_837p([undated], SETTINGS, control_number=1, created=CREATED)


def test_claim_and_line_adjudication_tell_one_story(secondary: Claim) -> None:
    """An adjustment counted at the claim level and again at a line (claim CAS 20.00 plus line
    CAS 20.00 against a 20.00 reduction), or claim and line payments that differ, are refused
    before the 837P is written."""
    assert _problems(secondary) == {}
    other = secondary.encounter.other_coverages[0]
    assert other.prior_payment is not None
    twice = _with(
        secondary,
        other_coverages=(
            dataclasses.replace(
                other,
                prior_payment=dataclasses.replace(
                    other.prior_payment, adjustments=(("CO", "45", Decimal("20.00")),)
                ),
            ),
        ),
    )
    assert _problems(twice) == {
        "other_coverages[0].prior_payment.adjustments": "x12-837-cob-unbalanced",
        "other_coverages[0].prior_payment.paid_amount": "x12-837-cob-unbalanced",
    }
    with pytest.raises(X12Error):
        write_837p([twice], SETTINGS, control_number=1, created=CREATED)
    paid_differs = _with(
        secondary,
        other_coverages=(
            dataclasses.replace(
                other, prior_payment=dataclasses.replace(other.prior_payment, paid_amount=Decimal("90.00"))
            ),
        ),
    )
    assert "other_coverages[0].prior_payment.paid_amount" in _problems(paid_differs)
