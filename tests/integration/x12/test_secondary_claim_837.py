"""The secondary claim made from the primary's 835: its 837P passes pyx12 and reads back in x12sdk.

The primary (Aetna) pays 70.00 of 120.00 with CO-45 20.00 and PR-2 30.00; the claim made for
the spouse's plan carries that adjudication: 2320 AMT*D 70 and AMT*EAF 30, 2330B Aetna with
DTP*573 and REF*F8, 2430 SVD/CAS/DTP*573 per line, and claim and lines balance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.integration.db.builders import ACTOR
from tests.integration.db.conftest import new_empty_engine
from tests.integration.ledger.scenario import AETNA, SPOUSE, World, a_world
from therabill.adapters.db import migrations
from therabill.adapters.x12.tokenizer import SegmentReader
from therabill.service_layer import coverages as coverages_svc
from therabill.service_layer import practice as practice_svc


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    eng = new_empty_engine("sqlite", tmp_path_factory.mktemp("secondary837"), None)  # type: ignore[arg-type]
    migrations.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def sent(sqlite_engine: Engine) -> tuple[World, str, str]:
    """The world, the secondary claim's number, and the 837P of its batch."""
    w = a_world(sqlite_engine)
    result = w.post(
        sender=AETNA,
        trace="AET-1",
        status="1",
        paid="70.00",
        cas=(("CO", "45", "20.00"), ("PR", "2", "30.00")),
    )
    (number,) = result.next_claims
    made = w.claim(number)
    assert not made.has_errors
    return w, number, w.send(made.id).text


def test_the_secondary_837_carries_the_primarys_adjudication(sent: tuple[World, str, str]) -> None:
    _, number, text = sent
    segs = list(SegmentReader(text))
    ids = [s[0] for s in segs]
    clm = next(s for s in segs if s[0] == "CLM")
    assert clm[1] == number and clm[2] == "120"
    sbr = [s for s in segs if s[0] == "SBR"]
    assert [(s[1], s[3]) for s in sbr] == [("S", "SG-7"), ("P", "G-1")]  # billed: secondary; other: primary
    amts = [s[1:3] for s in segs if s[0] == "AMT"]
    assert amts == [["D", "70"], ["EAF", "30"]]
    other_payer = next(s for s in segs if s[0] == "NM1" and s[1] == "PR" and s[9] == "60054")
    after = ids.index("NM1", segs.index(other_payer))
    assert segs[after + 1][:3] == ["DTP", "573", "D8"] and segs[after + 2][:3] == ["REF", "F8", "PCN-AET-1"]
    svd = next(s for s in segs if s[0] == "SVD")
    assert svd[1:3] == ["60054", "70"]
    line_cas = [s[1:4] for s in segs[segs.index(svd) :] if s[0] == "CAS"]
    assert line_cas == [["CO", "45", "20"], ["PR", "2", "30"]]


def test_pyx12_accepts_the_secondary_837(
    sent: tuple[World, str, str], pyx12_validate: Callable[[str], tuple[bool, list[str]]]
) -> None:
    ok, errors = pyx12_validate(sent[2])
    assert ok and not errors, errors


def test_x12sdk_reads_back_amt_eaf_and_a_balanced_cob(sent: tuple[World, str, str]) -> None:
    pytest.importorskip("x12sdk")
    from x12sdk.io import X12ModelReader

    _, number, text = sent
    claims: dict[str, dict[str, Any]] = {}
    with X12ModelReader(text) as reader:
        for model in reader.models():
            for a in model.model_dump()["loop_2000a"]:
                for b in a["loop_2000b"]:
                    for c in b.get("loop_2300") or []:
                        claims[c["clm_segment"]["patient_control_number"]] = c
    claim = claims[number]
    charge = Decimal(claim["clm_segment"]["total_claim_charge_amount"])
    (other,) = claim["loop_2320"]
    amounts = {x["amount_qualifier_code"]: Decimal(x["monetary_amount"]) for x in other["amt_segment"]}
    assert amounts == {"D": Decimal("70"), "EAF": Decimal("30")}
    assert other["loop_2330b"]["nm1_segment"]["identification_code"] == "60054"
    claim_cas = sum(
        (
            Decimal(c[f"monetary_amount_{i}"])
            for c in other["cas_segment"]
            for i in (1, 2, 3, 4, 5, 6)
            if c.get(f"monetary_amount_{i}")
        ),
        Decimal("0"),
    )
    line_paid = Decimal("0")
    line_cas = Decimal("0")
    for line in claim["loop_2400"]:
        (adj,) = line["loop_2430"]
        line_paid += Decimal(adj["svd_segment"]["service_line_paid_amount"])
        line_cas += sum(
            (
                Decimal(c[f"monetary_amount_{i}"])
                for c in adj["cas_segment"]
                for i in (1, 2, 3, 4, 5, 6)
                if c.get(f"monetary_amount_{i}")
            ),
            Decimal("0"),
        )
        assert adj["dtp_segment"]["date_time_qualifier"] == "573"
    # COB balances: the lines' payments less the claim's CAS are AMT*D, and every dollar of the
    # charge is paid or adjusted once; the PR adjustments are the remaining liability.
    assert line_paid - claim_cas == amounts["D"]
    assert charge - amounts["D"] == claim_cas + line_cas
    assert amounts["EAF"] == Decimal("30")


def test_pyx12_accepts_the_tertiary_837(
    sqlite_engine: Engine, pyx12_validate: Callable[[str], tuple[bool, list[str]]]
) -> None:
    w = a_world(sqlite_engine)
    union = practice_svc.add_payer(
        sqlite_engine,
        w.p.id,
        ACTOR,
        name="Union Fund",
        payer_id="UNF01",
        profile="commercial",
        claim_filing_indicator="CI",
        address={"line1": "1 Union Sq", "city": "Albany", "state": "NY", "zip": "122070000"},
    )
    coverages_svc.add_coverage(
        sqlite_engine,
        w.p.id,
        ACTOR,
        w.patient_id,
        coverages_svc.CoverageInput(payer_id=union, sequence="tertiary", member_id="U-1"),
    )
    first = w.post(
        sender=AETNA,
        trace="AET-T",
        status="1",
        paid="70.00",
        cas=(("CO", "45", "20.00"), ("PR", "2", "30.00")),
    )
    secondary = w.claim(first.next_claims[0])
    w.send(secondary.id)
    second = w.post(
        sender=SPOUSE,
        trace="SPS-T",
        status="2",
        paid="20.00",
        cas=(("OA", "23", "90.00"), ("PR", "1", "10.00")),
        number=secondary.claim_number,
    )
    tertiary = w.claim(second.next_claims[0])
    text = w.send(tertiary.id).text
    assert [s[1] for s in SegmentReader(text) if s[0] == "SBR"] == ["T", "P", "S"]
    ok, errors = pyx12_validate(text)
    assert ok and not errors, errors
