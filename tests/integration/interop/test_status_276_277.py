"""Claim status: the 276 request writer and the 277 response reader (005010X212).

The 276 is checked segment by segment with our own tokenizer (envelope counts, the HL
hierarchy 20/21/19/22(/23), TRN, REF*1K, AMT*T3, DTP*472) and read back by x12sdk, an
independent parser. The 277 reader is run on a hand-built 277 that x12sdk's 005010X212 model
also reads, with status categories taken from the code list in the reference data.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tests.integration.x12.conftest import CREATED, SETTINGS, claim_of
from therabill.adapters.x12.errors import X12Error
from therabill.adapters.x12.tokenizer import Delimiters, SegmentReader, iter_segments
from therabill.adapters.x12.values import el
from therabill.adapters.x12.x276_005010X212 import write_276
from therabill.adapters.x12.x277_005010X212 import CATEGORY_WORDS, category_words, read_277
from therabill.domain.claim import Claim
from therabill.domain.encounter import Subscriber
from therabill.refdata.codes import code_list

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
Segment = list[str]


@pytest.fixture(scope="module")
def claims() -> list[Claim]:
    return [claim_of(p) for p in sorted(EXAMPLES.glob("*.json"))]


def _transactions(segs: list[Segment]) -> list[list[Segment]]:
    out: list[list[Segment]] = []
    for seg in segs:
        if seg[0] == "ST":
            out.append([])
        if out and (seg[0] not in ("GE", "IEA")):
            out[-1].append(seg)
    return out


def _first(tx: list[Segment], sid: str, *qualifier: str) -> Segment | None:
    for seg in tx:
        if seg[0] == sid and tuple(seg[1 : 1 + len(qualifier)]) == qualifier:
            return seg
    return None


# -- 276 writer ---------------------------------------------------------------------------


def test_276_envelope_counts_and_control_numbers(claims: list[Claim]) -> None:
    text = write_276(claims, SETTINGS, control_number=42, created=CREATED)
    segs = [list(s) for s in iter_segments(text)]
    isa, gs, ge, iea = segs[0], segs[1], segs[-2], segs[-1]
    assert (isa[0], isa[13], isa[9], isa[10]) == ("ISA", "000000042", "261123", "1200")
    assert (gs[0], gs[1], gs[6], gs[8]) == ("GS", "HR", "42", "005010X212")
    txs = _transactions(segs[2:-2])
    assert len(txs) == len(claims)
    assert (ge[0], ge[1], ge[2]) == ("GE", str(len(claims)), "42")
    assert (iea[0], iea[1], iea[2]) == ("IEA", "1", "000000042")
    for k, tx in enumerate(txs, start=1):
        st, se = tx[0], tx[-1]
        assert (st[1], st[2], st[3]) == ("276", f"{k:04d}", "005010X212")
        assert se[0] == "SE" and se[2] == st[2]
        assert int(se[1]) == len(tx)  # ST through SE, both counted
        bht = tx[1]
        assert bht[:3] == ["BHT", "0010", "13"] and bht[4] == "20261123"


def test_276_hierarchy_and_claim_segments(claims: list[Claim]) -> None:
    pccn = {claims[0].claim_id: "PCN-555"}
    text = write_276(claims, SETTINGS, control_number=7, created=CREATED, payer_claim_numbers=pccn)
    txs = _transactions([list(s) for s in iter_segments(text)][2:-2])
    for claim, tx in zip(claims, txs, strict=True):
        cov = claim.encounter.coverage
        assert cov is not None
        dependent = cov.relationship_to_subscriber != "self"
        hls = [(el(s, 1), el(s, 2), el(s, 3), el(s, 4)) for s in tx if s[0] == "HL"]
        want = [("1", "", "20", "1"), ("2", "1", "21", "1"), ("3", "2", "19", "1")]
        want.append(("4", "3", "22", "1" if dependent else "0"))
        if dependent:
            want.append(("5", "4", "23", ""))
        assert hls == want, claim.claim_id
        payer = _first(tx, "NM1", "PR")
        assert payer is not None and (payer[8], payer[9]) == ("PI", cov.payer_id)
        provider = _first(tx, "NM1", "1P")
        bp = claim.encounter.billing_provider
        assert provider is not None and bp is not None and (provider[8], provider[9]) == ("XX", bp.npi)
        assert provider[2] == ("1" if bp.entity_type == "person" else "2")
        subscriber = _first(tx, "NM1", "IL")
        assert subscriber is not None and subscriber[8] == "MI"
        patient = _first(tx, "NM1", "QC")
        assert (patient is not None) == dependent
        trn = _first(tx, "TRN")
        assert trn == ["TRN", "1", claim.claim_id]
        # the claim's own segments come after the last HL, in the order of the guide
        tail = [s[0] for s in tx[[s[0] for s in tx].index("TRN") : -1]]
        assert tail == (["TRN", "REF", "AMT", "DTP"] if claim.claim_id in pccn else ["TRN", "AMT", "DTP"])
        amt = _first(tx, "AMT", "T3")
        assert amt is not None and Decimal(amt[2]) == claim.total_charge
        dtp = _first(tx, "DTP", "472")
        days = sorted({ln.date_of_service for ln in claim.lines})
        assert dtp == ["DTP", "472", "RD8", f"{days[0]:%Y%m%d}-{days[-1]:%Y%m%d}"]
        ref = _first(tx, "REF", "1K")
        assert (ref[2] if ref else None) == pccn.get(claim.claim_id)


def test_276_workers_comp_employer_is_an_organization(claims: list[Claim]) -> None:
    wc = next(c for c in claims if c.encounter.coverage and c.encounter.coverage.subscriber
              and c.encounter.coverage.subscriber.entity_type == "organization")  # fmt: skip
    tx = _transactions(
        [list(s) for s in iter_segments(write_276([wc], SETTINGS, control_number=3, created=CREATED))]
    )[0]
    subscriber = _first(tx, "NM1", "IL")
    assert subscriber is not None and subscriber[2] == "2" and subscriber[4] == ""
    patient = _first(tx, "NM1", "QC")
    assert patient is not None and patient[2] == "1"
    # the patient's demographics go with the patient (2000E), not the employer
    hl23 = [s[0] for s in tx].index("HL", [s[0] for s in tx].index("NM1", 8))
    assert [s[0] for s in tx[hl23 : hl23 + 3]] == ["HL", "DMG", "NM1"]


def test_276_round_trip_through_our_tokenizer_with_other_delimiters(claims: list[Claim]) -> None:
    settings = dataclasses.replace(SETTINGS, line_break=False, delimiters=Delimiters("|", ">", "^", "\n"))
    text = write_276(claims, settings, control_number=9, created=CREATED)
    reader = SegmentReader(text)
    segs = [list(s) for s in reader]
    assert reader.delimiters.element == "|" and reader.delimiters.segment == "\n"
    got = {
        el(_first(tx, "TRN") or [], 2): Decimal(el(_first(tx, "AMT", "T3") or [], 2))
        for tx in _transactions(segs[2:-2])
    }
    assert got == {c.claim_id: c.total_charge for c in claims}


def _dependent(claim: Claim) -> Claim:
    cov = claim.encounter.coverage
    assert cov is not None
    parent = Subscriber("Maria", "Doe", date(1975, 3, 4), "F", None, member_id="XOJ999")
    cov = dataclasses.replace(cov, relationship_to_subscriber="child", subscriber=parent)
    return dataclasses.replace(
        claim, claim_id="E-DEP-1", encounter=dataclasses.replace(claim.encounter, coverage=cov)
    )


def test_276_is_read_back_by_x12sdk(claims: list[Claim]) -> None:
    pytest.importorskip("x12sdk")
    from x12sdk.io import X12ModelReader

    # x12sdk's model allows only NM102 = 1 (person) for the 2100D subscriber; the guide also
    # allows 2 (non-person), which we write for an employer (workers' comp), so that claim is
    # left out here (its segments are checked above).
    claims = [c for c in claims if not (c.encounter.coverage and c.encounter.coverage.subscriber
                                        and c.encounter.coverage.subscriber.entity_type == "organization")]  # fmt: skip
    assert len(claims) == 5
    claims.append(_dependent(claims[0]))  # a 2000E patient under a person subscriber
    pccn = {claims[1].claim_id: "PCN-9"}
    text = write_276(claims, SETTINGS, control_number=11, created=CREATED, payer_claim_numbers=pccn)
    got: dict[str, tuple[object, ...]] = {}
    with X12ModelReader(text) as reader:
        for model in reader.models():
            data = model.model_dump()
            for a in data["loop_2000a"]:
                payer = a["loop_2100a"]["nm1_segment"]["identification_code"]
                for b in a["loop_2000b"]:
                    for c in b["loop_2000c"]:
                        npi = c["loop_2100c"]["nm1_segment"]["identification_code"]
                        for d in c["loop_2000d"]:
                            member = d["loop_2100d"]["nm1_segment"]["identification_code"]
                            loops = list(d.get("loop_2200d") or [])
                            for e in d.get("loop_2000e") or []:
                                loops += e.get("loop_2200e") or []
                            for claim in loops:
                                refs = [r["reference_identification"] for r in claim.get("ref_segment") or []]
                                got[claim["trn_segment"]["reference_identification_1"]] = (
                                    payer,
                                    npi,
                                    member,
                                    Decimal(str(claim["amt_segment"]["monetary_amount"])),
                                    refs,
                                )
    want = {}
    for c in claims:
        cov, bp = c.encounter.coverage, c.encounter.billing_provider
        assert cov is not None and bp is not None
        member = (cov.subscriber.member_id if cov.subscriber else None) or cov.member_id
        want[c.claim_id] = (
            cov.payer_id,
            bp.npi,
            member,
            c.total_charge,
            [pccn[c.claim_id]] if c.claim_id in pccn else [],
        )
    assert got == want


def test_276_refuses_what_it_cannot_write(claims: list[Claim]) -> None:
    with pytest.raises(X12Error) as err:
        write_276([], SETTINGS, control_number=1, created=CREATED)
    assert err.value.code == "x12-276-empty"
    base = claims[0]
    assert base.encounter.coverage is not None
    no_payer = dataclasses.replace(
        base,
        encounter=dataclasses.replace(
            base.encounter, coverage=dataclasses.replace(base.encounter.coverage, payer_id="", member_id="")
        ),
    )
    with pytest.raises(X12Error) as err:
        write_276([no_payer], SETTINGS, control_number=1, created=CREATED)
    assert {p.code for p in err.value.problems} == {"x12-276-payer-id-missing", "x12-276-member-id-missing"}
    assert all(p.loc.startswith(f"{base.claim_id}: coverage.") for p in err.value.problems)
    starred = dataclasses.replace(base, claim_id="E*1")
    with pytest.raises(X12Error) as err:
        write_276([starred], SETTINGS, control_number=1, created=CREATED)
    assert "claim_id" in str(err.value)


# -- 277 reader ---------------------------------------------------------------------------

CATEGORIES = code_list("claim_status_category")


def _stc(category: str, code: str, rest: str = "") -> str:
    assert category in CATEGORIES, f"{category} is not in the code list"  # the test's own input
    return f"STC*{category}:{code}*20261215{rest}"


def hand_built_277() -> str:
    """One 277 answering five claims: paid, pending, denied (with a line), received, and a
    dependent's claim with a request for information."""
    segs = [
        "ST*277*0001*005010X212",
        "BHT*0010*08*REQ42*20261215*1200*DG",
        "HL*1**20*1",
        "NM1*PR*2*BLUE CROSS BLUE SHIELD OF ILLINOIS*****PI*BCBSIL",
        "HL*2*1*21*1",
        "NM1*41*2*RIVERSIDE THERAPEUTIC MASSAGE LLC*****46*RIV0001",
        "HL*3*2*19*1",
        "NM1*1P*2*RIVERSIDE THERAPEUTIC MASSAGE LLC*****XX*1234567893",
        "HL*4*3*22*0",
        "NM1*IL*1*DOE*JANE****MI*XOJ123456789",
        "TRN*2*E-2026-0001",
        _stc("F1", "65", "**145*116*20261212*CHK*20261213*00012345"),
        "REF*1K*PCN-1",
        "DTP*472*RD8*20261120-20261120",
        "TRN*2*E-2026-0002",
        _stc("P1", "20", "**120*0"),
        "REF*1K*PCN-2",
        "TRN*2*E-2026-0006",
        _stc("F2", "88", "**90*0*20261212"),
        "SVC*HC:97124*90*0****2",
        _stc("F2", "88", "**90*0"),
        "DTP*472*D8*20261120",
        "TRN*2*E-2026-0007",
        _stc("A1", "20", "**60"),
        "HL*5*3*22*1",
        "NM1*IL*1*ORTEGA*MARIA****MI*XOJ555000111",
        "HL*6*5*23",
        "NM1*QC*1*ORTEGA*LUIS",
        "TRN*2*E-2026-0004",
        _stc("R3", "21", "**160*0"),
        "STC*R9:21*20261215",
    ]
    body = [*segs, f"SE*{len(segs) + 1}*0001"]
    head = [
        "ISA*00*          *00*          *ZZ*BCBSIL         *ZZ*RIVERSIDEMT    *261215*1200*^*00501*000000077*0*P*:",
        "GS*HN*BCBSIL*RIVERSIDEMT*20261215*1200*77*X*005010X212",
    ]
    return "~\n".join([*head, *body, "GE*1*77", "IEA*1*000000077"]) + "~\n"


def _x12sdk_claims(node: object, out: dict[str, list[str]]) -> dict[str, list[str]]:
    """2200D/2200E claims of an x12sdk model dump: trace -> every STC01 (line ones included)."""
    if isinstance(node, dict):
        if "trn_segment" in node and "stc_segment" in node:
            trace = node["trn_segment"]["reference_identification_1"]
            lines = [
                stc
                for ln in node.get("loop_2220d") or node.get("loop_2220e") or []
                for stc in ln["stc_segment"]
            ]
            stcs = [*(node["stc_segment"] or []), *lines]
            out[trace] = [x["health_care_claim_status_1"] for x in stcs]
        else:
            for value in node.values():
                _x12sdk_claims(value, out)
    elif isinstance(node, list):
        for value in node:
            _x12sdk_claims(value, out)
    return out


def test_the_hand_built_277_is_read_alike_by_x12sdk() -> None:
    """The test's own input is a 277 an independent parser accepts, with the same answers."""
    pytest.importorskip("x12sdk")
    from x12sdk.io import X12ModelReader

    theirs: dict[str, list[str]] = {}
    with X12ModelReader(hand_built_277()) as reader:
        for model in reader.models():
            _x12sdk_claims(model.model_dump(), theirs)
    ours = {a.claim_id: [f"{s.category}:{s.code}" for s in a.statuses] for a in read_277(hand_built_277())}
    assert theirs == ours
    assert len(ours) == 5


def test_277_reader_answers_each_claim() -> None:
    answers = {a.claim_id: a for a in read_277(hand_built_277())}
    assert list(answers) == ["E-2026-0001", "E-2026-0002", "E-2026-0006", "E-2026-0007", "E-2026-0004"]
    paid = answers["E-2026-0001"]
    assert (paid.category, paid.payer_id, paid.payer_name) == (
        "F1",
        "BCBSIL",
        "BLUE CROSS BLUE SHIELD OF ILLINOIS",
    )
    assert (paid.charge, paid.paid) == (Decimal("145"), Decimal("116"))
    assert (paid.adjudication_date, paid.check_number) == (date(2026, 12, 12), "00012345")
    assert paid.payer_claim_control_number == "PCN-1" and paid.status_date == date(2026, 12, 15)
    assert not paid.rejected
    pending = answers["E-2026-0002"]
    assert (pending.category, pending.statuses[0].code, pending.payer_claim_control_number) == (
        "P1",
        "20",
        "PCN-2",
    )
    denied = answers["E-2026-0006"]
    assert [s.category for s in denied.statuses] == ["F2", "F2"]  # claim and line
    assert denied.adjudication_date == date(2026, 12, 12) and denied.paid == 0
    received = answers["E-2026-0007"]
    assert received.category == "A1" and received.payer_claim_control_number is None
    dependent = answers["E-2026-0004"]
    assert [(s.category, s.code) for s in dependent.statuses] == [("R3", "21"), ("R9", "21")]
    # R9 has no short words: the reference code list's description is used
    assert dependent.statuses[1].words == CATEGORIES["R9"]
    assert dependent.statuses[0].words == CATEGORY_WORDS["R3"]


def test_every_category_of_the_code_list_is_read_with_words() -> None:
    assert set(CATEGORY_WORDS) <= set(CATEGORIES)  # the short words only name real codes
    rejecting = {"A3", "A4", "A6", "A7", "A8", "D0"}
    for category in CATEGORIES:
        text = hand_built_277().replace("STC*F1:65", f"STC*{category}:65", 1)
        answer = next(a for a in read_277(text) if a.claim_id == "E-2026-0001")
        assert answer.category == category
        assert answer.statuses[0].words == category_words(category)
        expected = CATEGORY_WORDS.get(category) or CATEGORIES[category] or f"category {category}"
        assert answer.statuses[0].words == expected
        assert answer.rejected == (category in rejecting or category.startswith("E")), category


def test_277_reader_refuses_what_is_not_a_277() -> None:
    claim = claim_of(EXAMPLES / "clean-60-minute-massage.json")
    with pytest.raises(X12Error) as err:
        list(read_277(write_276([claim], SETTINGS, control_number=1, created=CREATED)))
    assert err.value.code == "x12-277-wrong-transaction"
    with pytest.raises(X12Error) as err:
        list(read_277(hand_built_277().replace("TRN*2*E-2026-0002", "TRN*2*")))
    assert err.value.code == "x12-element-missing" and "TRN02" in str(err.value)
    with pytest.raises(X12Error):
        list(read_277("this is not X12"))
