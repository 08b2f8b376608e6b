"""Tokenizer edge cases, hypothesis round trips with random delimiters, and a fuzz test."""

from __future__ import annotations

import random
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from therabill.adapters.x12.acknowledgments import read_acknowledgments
from therabill.adapters.x12.envelope import EnvelopeSettings
from therabill.adapters.x12.errors import X12Error
from therabill.adapters.x12.tokenizer import Delimiters, SegmentReader, iter_segments
from therabill.adapters.x12.x271_005010X279A1 import read_271
from therabill.adapters.x12.x835_005010X221A1 import read_835
from therabill.adapters.x12.x837p_005010X222A1 import write_837p
from therabill.domain.claim import build_claim
from therabill.schemas.encounter import parse_encounter
from therabill.service_layer.coding import units_of

REPO = Path(__file__).resolve().parents[3]
SAMPLES = REPO.parent / "shared" / "x12-samples"


def test_isa_inside_data_does_not_start_an_interchange() -> None:
    text = (SAMPLES / "synthetic" / "synthetic-massage-3claims.835").read_text().replace("SMITH", "ISA")
    (r,) = read_835(text)
    assert r.claims[0].patient_last_name == "ISA"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "x12-empty"),
        ("GS*HP~", "x12-isa-missing"),
        ("ISA*00*", "x12-isa-incomplete"),
        ("ISAA00", "x12-isa-delimiter"),
    ],
)
def test_unusable_starts(text: str, code: str) -> None:
    with pytest.raises(X12Error) as info:
        list(iter_segments(text))
    assert info.value.code == code


def test_control_character_is_refused_with_its_segment() -> None:
    text = (SAMPLES / "synthetic" / "synthetic-massage-3claims.835").read_text().replace("\n", "")
    bad = text.replace("TRN*1*", "TRN*1*\x01")
    with pytest.raises(X12Error) as info:
        list(read_835(bad))
    assert info.value.code == "x12-control-character" and info.value.segment_number == 5


def test_chunked_file_reading(tmp_path, monkeypatch) -> None:
    import therabill.adapters.x12.tokenizer as tok

    monkeypatch.setattr(tok, "CHUNK_SIZE", 7)
    src = SAMPLES / "synthetic" / "synthetic-massage-3claims.835"
    assert list(iter_segments(src)) == list(iter_segments(src.read_text()))


_DELIMS = st.lists(st.sampled_from(list("*|!^~:>+{}#$%&")), min_size=4, max_size=4, unique=True)
_CLAIM = None


def _claim():
    global _CLAIM
    if _CLAIM is None:
        enc = parse_encounter(
            (REPO / "examples" / "massage-and-manual-therapy-two-regions.json").read_bytes()
        )
        _CLAIM = build_claim(enc, units_of(enc.services, enc.payer_profile))
    return _CLAIM


@settings(max_examples=40)
@given(chars=_DELIMS, breaks=st.booleans())
def test_round_trip_with_random_delimiters(chars: list[str], breaks: bool) -> None:
    d = Delimiters(*chars)
    claim = _claim()
    text = write_837p(
        [claim],
        EnvelopeSettings(delimiters=d, line_break=breaks),
        control_number=3,
        created=datetime(2026, 11, 23, 12),
    )
    reader = SegmentReader(text)
    segs = list(reader)
    assert reader.delimiters == d
    clm = next(s for s in segs if s[0] == "CLM")
    assert clm[1] == claim.claim_id and Decimal(clm[2]) == claim.total_charge
    sv1 = [s for s in segs if s[0] == "SV1"]
    assert [(s[1].split(d.component)[1], int(s[4]), Decimal(s[2])) for s in sv1] == [
        (ln.code, ln.units, ln.charge) for ln in claim.lines
    ]
    se = next(s for s in segs if s[0] == "SE")
    st_i = next(i for i, s in enumerate(segs) if s[0] == "ST")
    se_i = next(i for i, s in enumerate(segs) if s[0] == "SE")
    assert int(se[1]) == se_i - st_i + 1


def _mutate(rng: random.Random, text: str) -> str:
    ops = rng.randint(1, 4)
    chars = list(text)
    for _ in range(ops):
        if not chars:
            break
        i = rng.randrange(len(chars))
        op = rng.randrange(6)
        if op == 0:
            del chars[i : i + rng.randint(1, 20)]
        elif op == 1:
            chars.insert(i, rng.choice("*~:^\n\r 0-.E9ZA\x00\x7f"))
        elif op == 2:
            chars[i] = rng.choice("*~:^0123456789.-ABCZ ")
        elif op == 3:
            j = rng.randrange(len(chars))
            chars[i], chars[j] = chars[j], chars[i]
        elif op == 4:
            chars = chars[: rng.randrange(len(chars))]
        else:
            k = rng.randrange(len(chars))
            chars[i:i] = chars[k : k + rng.randint(1, 40)]
    return "".join(chars)


@pytest.mark.parametrize(
    ("folder", "reader"),
    [("835", read_835), ("270-271", read_271), ("999", read_acknowledgments), ("synthetic", read_835)],
)
def test_fuzz_readers_never_crash(folder: str, reader) -> None:
    files = sorted(p for p in (SAMPLES / folder).iterdir() if p.is_file())
    if not files:
        pytest.skip("no samples")
    rng = random.Random(20261123)
    texts = [p.read_text(encoding="latin-1") for p in files]
    runs = 0
    for _ in range(1500):
        text = _mutate(rng, rng.choice(texts))
        runs += 1
        try:
            for _item in reader(text):
                pass
        except X12Error as exc:
            assert exc.code != "x12-internal", f"reader defect: {exc}"
            assert exc.problems and exc.problems[0].message
    assert runs == 1500


def test_records_built_by_the_reader_equal_constructed_ones() -> None:
    """The 835 reader fills the records' fields directly; they must be ordinary records."""
    import dataclasses

    from therabill.domain.remittance import Adjustment, ClaimPayment, ServicePayment

    (r,) = read_835(SAMPLES / "synthetic" / "synthetic-massage-3claims.835")
    assert r.claims
    for claim in r.claims:
        rebuilt = ClaimPayment(**{f.name: getattr(claim, f.name) for f in dataclasses.fields(claim)})
        assert claim == rebuilt and hash(claim) == hash(rebuilt) and repr(claim) == repr(rebuilt)
        assert dataclasses.asdict(claim) == dataclasses.asdict(rebuilt)
        for line in claim.lines:
            assert line == ServicePayment(**{f.name: getattr(line, f.name) for f in dataclasses.fields(line)})
            for adj in line.adjustments:
                assert adj == Adjustment(adj.group, adj.reason, adj.amount, adj.quantity)
        with pytest.raises(dataclasses.FrozenInstanceError):
            claim.paid = Decimal(0)  # type: ignore[misc]


def test_batches_and_segments_agree_across_interchanges(monkeypatch) -> None:
    import therabill.adapters.x12.tokenizer as tok

    one = (SAMPLES / "synthetic" / "synthetic-massage-3claims.835").read_text()
    two = one + "\n" + one.replace("*", "|").replace(":", ">")  # second interchange, other delimiters
    monkeypatch.setattr(tok, "BATCH", 3)
    flat = list(iter_segments(two))
    reader = SegmentReader(two)
    batched = []
    for first, segs in reader.batches():
        assert first == len(batched) + 1 and len(segs) <= 3
        batched.extend(segs)
    assert batched == flat and sum(1 for s in flat if s[0] == "ISA") == 2
    assert [s for s in flat if s[0] == "IEA"][1][0] == "IEA"


def test_a_byte_order_mark_and_leading_white_space_are_skipped() -> None:
    from therabill.adapters.x12.tokenizer import iter_segments

    body = (
        "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *261123*1200*^*00501*000000001*0*T*:~"
        "GS*FA*S*R*20261123*1200*1*X*005010X231A1~GE*0*1~IEA*1*000000001~"
    )
    for prefix in ("\ufeff", "\ufeff\r\n ", "  \n"):
        assert [s[0] for s in iter_segments(prefix + body)] == ["ISA", "GS", "GE", "IEA"]
    assert [s[0] for s in iter_segments(b"\xef\xbb\xbf" + body.encode("ascii"))][0] == "ISA"


def test_a_4010_interchange_is_refused_by_name() -> None:
    import pytest

    from therabill.adapters.x12.errors import X12Error
    from therabill.adapters.x12.tokenizer import iter_segments

    old = (
        "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *261123*1200*U*00401*000000001*0*T*:~"
        "GS*HC*S*R*20261123*1200*1*X*004010X098A1~GE*0*1~IEA*1*000000001~"
    )
    with pytest.raises(X12Error) as refused:
        list(iter_segments(old))
    assert refused.value.code == "x12-version-unsupported" and "00401" in str(refused.value)
