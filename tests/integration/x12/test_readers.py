"""Readers on the public samples: every 835 and 271 reads; INVALID files give clear problems."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.conftest import shared_path
from therabill.adapters.x12.acknowledgments import read_acknowledgments
from therabill.adapters.x12.errors import X12Error
from therabill.adapters.x12.x271_005010X279A1 import read_271
from therabill.adapters.x12.x835_005010X221A1 import iter_835, read_835
from therabill.domain.denials import denial_worklist
from therabill.domain.remittance import ClaimPayment, RemittanceEnd, RemittanceHeader
from therabill.refdata.codes import denial_table


def _files(folder: str) -> list:
    return sorted(p for p in shared_path("x12-samples", folder).iterdir() if p.is_file())


def test_every_sample_835_reads() -> None:
    for path in _files("835"):
        rems = list(read_835(path))
        assert rems and all(r.claims for r in rems), path.name
        for r in rems:
            assert r.payer_name and r.trace_number, path.name
            if "INVALID" not in path.name:
                assert r.balanced and not r.all_problems, (path.name, r.all_problems)


def test_invalid_835_reports_the_bad_date_with_its_segment() -> None:
    (r,) = read_835(shared_path("x12-samples", "835", "lfh__managed-care.INVALID.835"))
    assert [p.code for p in r.problems] == ["x12-date-invalid"]
    assert r.problems[0].loc == "segment 4 BPR16"
    assert r.payment_amount == Decimal("945.00") and len(r.claims) == 2


def test_synthetic_835_amounts_and_idempotency_key() -> None:
    (r,) = read_835(shared_path("x12-samples", "synthetic", "synthetic-massage-3claims.835"))
    assert r.payment_amount == Decimal("466.00") and r.payment_method == "ACH"
    assert [c.paid for c in r.claims] == [Decimal("42.00"), Decimal("146.00"), Decimal("278.00")]
    c = r.claims[2]
    assert [ln.code for ln in c.lines] == ["97124", "97140"] and c.lines[1].modifiers == ("GP",)
    assert c.lines[0].units == 3 and c.patient_responsibility_from_adjustments == Decimal("10.00")
    assert r.idempotency_key == "1512345678|EFT000123|466.00|2026-11-30"


def test_crlf_lf_and_no_breaks_read_the_same() -> None:
    text = shared_path("x12-samples", "synthetic", "synthetic-massage-3claims.835").read_text()
    flat = text.replace("\n", "").replace("\r", "")
    variants = [
        flat,
        flat.replace("~", "~\r\n"),
        flat.replace("~", "~\n"),
        "\n\n  " + flat.replace("~", " ~ \n\n"),
    ]
    results = [[(c.claim_id, c.paid, c.lines) for c in next(read_835(v)).claims] for v in variants]
    assert all(r == results[0] for r in results)
    # newline as the terminator itself
    nl = flat.replace("~", "\n")
    assert [c.claim_id for c in next(read_835(nl)).claims] == [c[0] for c in results[0]]


def test_several_interchanges_with_their_own_delimiters() -> None:
    text = (
        shared_path("x12-samples", "synthetic", "synthetic-massage-3claims.835").read_text().replace("\n", "")
    )
    other = text.replace("*", "|").replace("~", "!")
    rems = list(read_835(text + "\n" + other))
    assert len(rems) == 2
    assert [(c.claim_id, c.paid, len(c.lines)) for c in rems[0].claims] == [
        (c.claim_id, c.paid, len(c.lines)) for c in rems[1].claims
    ]


def test_unbalanced_claim_is_reported_and_the_rest_survives() -> None:
    text = shared_path("x12-samples", "synthetic", "synthetic-massage-3claims.835").read_text()
    bad = text.replace("CLP*PCN00000001*1*195.00*146.00", "CLP*PCN00000001*1*195.00*147.00")
    (r,) = read_835(bad)
    assert len(r.claims) == 3
    assert [p.code for p in r.claims[1].problems] == ["x12-835-claim-unbalanced"]
    assert not r.claims[0].problems and not r.claims[2].problems
    assert any(p.code == "x12-835-transaction-unbalanced" for p in r.problems)


def test_streaming_events_order() -> None:
    events = list(iter_835(shared_path("x12-samples", "synthetic", "synthetic-massage-3claims.835")))
    kinds = [type(e) for e in events]
    assert kinds == [RemittanceHeader, ClaimPayment, ClaimPayment, ClaimPayment, RemittanceEnd]
    assert events[-1].balanced


REVERSAL_835 = """ISA*00*          *00*          *ZZ*PAYER          *ZZ*PROV           *261201*1200*^*00501*000000003*0*T*:~
GS*HP*PAYER*PROV*20261201*1200*3*X*005010X221A1~
ST*835*0001~
BPR*I*20.00*C*ACH*CCP*01*999999992*DA*123456*1512345678**01*999988880*DA*98765*20261201~
TRN*1*EFT9*1512345678~
N1*PR*ACME HEALTH PLAN~
N1*PE*RIVERSIDE*XX*1234567893~
LX*1~
CLP*E-1*22*-140.00*-98.00*0*12*PCN1*11*8~
CAS*CO*45*-42.00~
CLP*E-1*1*140.00*90.00*0*12*PCN2*11*7~
CAS*CO*45*50.00~
CLP*E-2*19*70.00*28.00*0*MB*PCN3*11*1~
CAS*CO*45*12.00~
CAS*PR*2*30.00~
NM1*TT*2*SUPPLEMENT PLAN*****PI*SUP1~
CLP*E-3*4*70.00*0*0*12*PCN4*11*1~
CAS*CO*197*70.00~
PLB*1234567893*20261231*WO:PCN0*10.00*L6*-10.00~
SE*18*0001~
GE*1*3~
IEA*1*000000003~
"""


def test_reversal_crossover_denial_and_plb() -> None:
    (r,) = read_835(REVERSAL_835)
    rev, repl, cross, denied = r.claims
    assert rev.is_reversal and rev.paid == Decimal("-98.00") and rev.balanced
    assert not repl.is_reversal and repl.balanced
    assert cross.is_crossover and cross.crossover_payer == "SUPPLEMENT PLAN"
    assert denied.is_denied
    assert [(p.reason, p.reference, p.amount) for p in r.provider_adjustments] == [
        ("WO", "PCN0", Decimal("10.00")),
        ("L6", None, Decimal("-10.00")),
    ]
    assert r.transaction_balanced and r.balanced and not r.all_problems
    items = list(denial_worklist(r.claims, denial_table()))
    assert [(i.claim_id, i.reason) for i in items] == [("E-3", "197")]
    assert "Authorization missing" in items[0].words


def test_every_sample_271_reads() -> None:
    summaries = []
    for path in _files("270-271"):
        if "request" in path.name and "response" not in path.name:
            with pytest.raises(X12Error) as info:
                list(read_271(path))
            assert info.value.code == "x12-wrong-transaction"
            continue
        got = list(read_271(path))
        assert got, path.name
        summaries += got
    active = [s for s in summaries if s.active]
    assert active and all(s.member_id == "123456789" for s in active)
    rejected = [s for s in summaries if s.rejections]
    assert rejected and rejected[0].rejections[0].reason == "50"


def test_999_samples() -> None:
    acks = list(read_acknowledgments(shared_path("x12-samples", "999", "ims__x12_999_rejected.txt")))
    assert [(a.kind, a.accepted) for a in acks] == [("999", False)]
    assert acks[0].transactions[0].errors[0].segment_id == "NM"
    with pytest.raises(X12Error) as info:
        list(read_acknowledgments(shared_path("x12-samples", "999", "ims__x12_999_accepted.txt")))
    assert info.value.code == "x12-iea-control" and info.value.segment_id == "IEA"


def test_277ca_claim_verdicts() -> None:
    text = (
        "ISA*00*          *00*          *ZZ*CH             *ZZ*PROV           *261124*0900*^*00501*000000044*0*T*:~"
        "GS*HN*CH*PROV*20261124*0900*44*X*005010X214~ST*277*0001*005010X214~BHT*0085*08*X1*20261124*0900*TH~"
        "HL*1**20*1~NM1*PR*2*ACME*****PI*ACME1~HL*2*1*21*1~NM1*41*2*RIV*****46*RIV1~HL*3*2*19*1~"
        "NM1*85*2*RIV*****XX*1234567893~HL*4*3*PT~NM1*QC*1*DOE*JANE~TRN*2*E-1~STC*A2:20*20261124*WQ*145~"
        "REF*1K*PCN77~HL*5*3*PT~NM1*QC*1*ROE*RAY~TRN*2*E-2~STC*A7:562:85*20261124*U*70~SE*18*0001~GE*1*44~IEA*1*000000044~"
    )
    (a,) = read_acknowledgments(text)
    assert a.kind == "277CA" and not a.accepted
    assert [(c.claim_id, c.accepted, c.payer_claim_control_number) for c in a.claims] == [
        ("E-1", True, "PCN77"),
        ("E-2", False, None),
    ]
