"""270 writer: structure and counts, x12sdk parses it back, the CLI end to end.

pyx12 has no 5010 map for the 270, so it cannot validate these files (``x12 validate``
says so and exits 2); x12sdk (tests only) is the independent parser here.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import EXAMPLES
from therabill.adapters.x12.envelope import EnvelopeSettings
from therabill.adapters.x12.errors import X12Error
from therabill.adapters.x12.tokenizer import Delimiters, SegmentReader
from therabill.adapters.x12.x270_005010X279A1 import inquiry_from_encounter, write_270
from therabill.domain.encounter import Encounter, Subscriber
from therabill.entrypoints.cli.main import app
from therabill.schemas.encounter import parse_encounter

CREATED = datetime(2026, 11, 23, 12, 0)


def _encounter(name: str = "clean-60-minute-massage.json") -> Encounter:
    return parse_encounter((EXAMPLES / name).read_bytes())


def _dependent(enc: Encounter) -> Encounter:
    assert enc.coverage is not None
    sub = Subscriber("Pat", "Parent", date(1970, 1, 1), "M", None, "SUB123")
    return dataclasses.replace(
        enc, coverage=dataclasses.replace(enc.coverage, relationship_to_subscriber="child", subscriber=sub)
    )


def _segments(text: str) -> list[list[str]]:
    return list(SegmentReader(text))


def test_structure_and_counts_for_a_subscriber_and_a_dependent() -> None:
    enc = _encounter()
    inquiries = [inquiry_from_encounter(enc, "TRACE1"), inquiry_from_encounter(_dependent(enc), "TRACE2")]
    segs = _segments(write_270(inquiries, EnvelopeSettings(), control_number=77, created=CREATED))
    ids = [s[0] for s in segs]
    assert (
        segs[1][1] == "HS"
        and segs[1][8] == "005010X279A1"
        and segs[2][:4] == ["ST", "270", "0001", "005010X279A1"]
    )
    st, se = ids.index("ST"), ids.index("SE")
    assert int(segs[se][1]) == se - st + 1 and segs[se][2] == "0001"
    hls = [s for s in segs if s[0] == "HL"]
    # subscriber inquiry: 20/21/22 (no child); dependent inquiry: 20/21/22 (child)/23
    assert [(h[1], h[2], h[3], h[4]) for h in hls] == [
        ("1", "", "20", "1"),
        ("2", "1", "21", "1"),
        ("3", "2", "22", "0"),
        ("4", "", "20", "1"),
        ("5", "4", "21", "1"),
        ("6", "5", "22", "1"),
        ("7", "6", "23", "0"),
    ]
    eqs = [s for s in segs if s[0] == "EQ"]
    assert [e[1] for e in eqs] == ["BE^AE^30", "BE^AE^30"]
    trns = [s[2] for s in segs if s[0] == "TRN"]
    assert trns == ["TRACE1", "TRACE2"]
    # the dependent's TRN and EQ come after its own HL (2000D), the member id on the subscriber
    hl23 = next(i for i, s in enumerate(segs) if s[0] == "HL" and s[3] == "23")
    trn2 = next(i for i, s in enumerate(segs) if s[0] == "TRN" and s[2] == "TRACE2")
    eq2 = max(i for i, s in enumerate(segs) if s[0] == "EQ")
    assert hl23 < trn2 < eq2 < se
    nm1_03 = next(s for s in segs if s[0] == "NM1" and s[1] == "03")
    assert nm1_03[3] == enc.patient.last_name  # type: ignore[union-attr]
    assert any(s[0] == "NM1" and s[1] == "IL" and s[9] == "SUB123" for s in segs)
    dtp = [s for s in segs if s[0] == "DTP"]
    assert {d[3] for d in dtp} == {"20261120"}
    assert segs[-2][:2] == ["GE", "1"] and segs[-1][:3] == ["IEA", "1", "000000077"]


def test_more_than_99_inquiries_make_several_transactions() -> None:
    q = inquiry_from_encounter(_encounter(), "T")
    segs = _segments(write_270([q] * 100, EnvelopeSettings(), control_number=5, created=CREATED))
    assert [s[2] for s in segs if s[0] == "ST"] == ["0001", "0002"]
    assert next(s for s in segs if s[0] == "GE")[1] == "2"


def test_x12sdk_parses_it_back() -> None:
    pytest.importorskip("x12sdk")
    from x12sdk.io import X12ModelReader

    enc = _encounter()
    inquiries = [inquiry_from_encounter(enc, "T1"), inquiry_from_encounter(_dependent(enc), "T2")]
    text = write_270(inquiries, EnvelopeSettings(), control_number=9, created=CREATED)
    seen = []
    with X12ModelReader(text) as reader:
        for model in reader.models():
            for a in model.loop_2000a:
                payer = a.loop_2100a.nm1_segment.identification_code
                for b in a.loop_2000b:
                    npi = b.loop_2100b.nm1_segment.identification_code
                    for c in b.loop_2000c:
                        member = c.loop_2100c.nm1_segment.identification_code
                        deps = c.loop_2000d or []
                        if deps:
                            d = deps[0]
                            types = d.loop_2100d.loop_2110d[0].eq_segment.service_type_code
                            trace = d.trn_segment[0].reference_identification_1
                        else:
                            types = c.loop_2100c.loop_2110c[0].eq_segment.service_type_code
                            trace = c.trn_segment[0].reference_identification_1
                        seen.append((payer, npi, member, trace, list(types)))
    cov, bp = enc.coverage, enc.billing_provider
    assert cov is not None and bp is not None
    assert seen == [
        (cov.payer_id, bp.npi, cov.member_id, "T1", ["BE", "AE", "30"]),
        (cov.payer_id, bp.npi, "SUB123", "T2", ["BE", "AE", "30"]),
    ]


def test_other_delimiters_and_refusals() -> None:
    enc = _encounter()
    d = Delimiters("|", ">", "!", "~")
    text = write_270(
        [inquiry_from_encounter(enc, "T1")], EnvelopeSettings(delimiters=d), control_number=1, created=CREATED
    )
    reader = SegmentReader(text)
    eq = next(s for s in reader if s[0] == "EQ")
    assert eq[1] == "BE!AE!30" and reader.delimiters == d
    bad = dataclasses.replace(enc, patient=dataclasses.replace(enc.patient, last_name="O|Brien"))  # type: ignore[arg-type]
    with pytest.raises(X12Error) as info:
        write_270(
            [inquiry_from_encounter(bad, "T")],
            EnvelopeSettings(delimiters=d),
            control_number=1,
            created=CREATED,
        )
    assert info.value.code == "x12-delimiter-in-data" and "subscriber.last_name" in str(info.value)
    with pytest.raises(X12Error) as missing:
        inquiry_from_encounter(dataclasses.replace(enc, coverage=None), "T")
    assert {p.loc for p in missing.value.problems} == {"coverage"}
    with pytest.raises(X12Error):
        write_270([], EnvelopeSettings(), control_number=1, created=CREATED)


def test_cli_request_and_validate_says_pyx12_cannot(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("THERABILL_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    out = tmp_path / "ask.270"
    args = ["eligibility", "request", str(EXAMPLES / "medicare-pt-visit.json"), "-o", str(out)]
    result = runner.invoke(
        app, [*args, "--created", "2026-11-23T12:00", "--date", "2026-11-24", "--control-number", "5"]
    )
    assert result.exit_code == 0, result.output
    segs = _segments(out.read_text())
    assert next(s for s in segs if s[0] == "ISA")[13] == "000000005"
    assert next(s for s in segs if s[0] == "DTP")[3] == "20261124"
    assert next(s for s in segs if s[0] == "EQ")[1] == "BE^AE^30"
    validate = runner.invoke(app, ["x12", "validate", str(out)])
    assert validate.exit_code == 2
    broken = tmp_path / "broken.json"
    broken.write_text("{}")
    bad = runner.invoke(app, ["eligibility", "request", str(broken), "-o", str(tmp_path / "x.270")])
    assert bad.exit_code == 2 and not (tmp_path / "x.270").exists()
