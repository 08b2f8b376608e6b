"""The 835 claims read straight from the text must come out exactly as the general reader
reads them: the same events (records equal, field for field), the same problems, the same
errors with the same segment numbers, for every input.

Each test reads the same input twice, ``iter_835(source)`` and ``iter_835(source,
fast=False)`` (every claim segment by segment: the reference), and compares.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import therabill.adapters.x12.tokenizer as tokenizer
import therabill.adapters.x12.x835_claims as x835_claims
import therabill.adapters.x12.x835_fast as x835_fast
from tests.conftest import shared_path
from tests.unit.x12.x835_gen import DELIMITER_SETS, remittance_text
from therabill.adapters.x12.errors import X12Error
from therabill.adapters.x12.tokenizer import Source
from therabill.adapters.x12.x835_005010X221A1 import iter_835
from therabill.domain.remittance import ClaimPayment

Outcome = tuple[list[object], list[str], tuple[object, ...] | None]


def _outcome(source: Callable[[], Source], *, fast: bool) -> Outcome:
    """The events (and their reprs) ``iter_835`` yields, then the error it raises, if any."""
    events: list[object] = []
    try:
        events.extend(iter_835(source(), fast=fast))  # what came before an error stays
    except X12Error as exc:
        return events, [repr(e) for e in events], (exc.code, str(exc), exc.segment_number, exc.problems)
    return events, [repr(e) for e in events], None


def _same(text: str) -> Outcome:
    """Read ``text`` both ways, as text and as a file read in chunks; assert the same.

    (A file read in chunks may stop at a refused control character sooner than the text:
    the reader checks each chunk as it reads it.)
    """
    reference = _outcome(lambda: text, fast=False)
    assert _outcome(lambda: text, fast=True) == reference
    in_chunks = _outcome(lambda: io.StringIO(text), fast=False)
    assert _outcome(lambda: io.StringIO(text), fast=True) == in_chunks
    return reference


def _samples() -> list[Path]:
    folders = [shared_path("x12-samples", "835"), shared_path("x12-samples", "synthetic")]
    return sorted(p for f in folders for p in f.iterdir() if p.is_file() and p.suffix != ".837")


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files are read 61 characters at a time: claims straddle the chunks."""
    monkeypatch.setattr(tokenizer, "CHUNK_SIZE", 61)


@pytest.mark.usefixtures("small_chunks")
def test_public_samples_read_the_same() -> None:
    for path in _samples():
        text = path.read_text(encoding="latin-1")
        flat = text.replace("\r", "").replace("\n", "")
        for variant in (
            text,
            flat,
            flat.replace("~", "~\r\n"),
            flat.replace("~", "~\n  "),
            text + "\n" + text,
        ):
            _same(variant)
        assert _outcome(partial(Path, path), fast=True) == _outcome(partial(Path, path), fast=False)


@pytest.mark.usefixtures("small_chunks")
def test_public_samples_with_other_delimiters_read_the_same() -> None:
    for path in _samples():
        text = path.read_text(encoding="latin-1")
        _same(text.replace("*", "|").replace(":", ">"))
        _same(text.replace("~", "'"))


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    delimiters=st.sampled_from(DELIMITER_SETS),
    breaks=st.sampled_from(["", "\n", "\r\n", "\n\n"]),
    bad=st.sampled_from([0.0, 0.0, 0.02, 0.2]),
    untidy=st.sampled_from([0.0, 0.0, 0.05]),
    repeat=st.sampled_from([0.0, 0.5, 0.9]),
)
def test_generated_835s_read_the_same(
    seed: int, delimiters: tuple[str, str, str, str], breaks: str, bad: float, untidy: float, repeat: float
) -> None:
    text = remittance_text(random.Random(seed), delimiters, breaks, bad=bad, untidy=untidy, repeat=repeat)
    events, _, error = _same(text)
    if not bad and not untidy and delimiters[3] != "\n":
        assert error is None and any(isinstance(e, ClaimPayment) for e in events)


def test_generated_835s_read_the_same_through_small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(835)
    for chunk in (1, 7, 64, 333):
        monkeypatch.setattr(tokenizer, "CHUNK_SIZE", chunk)
        for _ in range(6):
            text = remittance_text(
                rng, rng.choice(DELIMITER_SETS), rng.choice(["", "\n", "\r\n"]), bad=0.02, repeat=0.7
            )
            _same(text)


def _mutate(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(chars))
        op = rng.randrange(5)
        if op == 0:
            del chars[i : i + rng.randint(1, 20)]
        elif op == 1:
            chars.insert(i, rng.choice("*~:^\n\r \t0-.E9ZA\x00\xa0"))
        elif op == 2:
            chars[i] = rng.choice("*~:^0123456789.-ABCZ \n")
        elif op == 3:
            k = rng.randrange(len(chars))
            chars[i:i] = chars[k : k + rng.randint(1, 40)]
        else:
            chars = chars[: rng.randrange(len(chars))]
    return "".join(chars)


@pytest.mark.usefixtures("small_chunks")
def test_damaged_files_give_the_same_events_and_errors() -> None:
    rng = random.Random(20261206)
    texts = [p.read_text(encoding="latin-1") for p in _samples()]
    texts += [remittance_text(random.Random(s)) for s in range(4)]
    texts += [remittance_text(random.Random(s), repeat=0.9) for s in range(4)]
    for _ in range(300):
        _same(_mutate(rng, rng.choice(texts)))


def test_the_fast_path_reads_most_claims(monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparisons above mean something only if claims are read from the text: most
    claims of a generated file are (the first of each transaction is read the general way),
    most of them by the commonest shape's patterns."""
    counts = {"common": 0, "claim": 0}

    def counting(name: str) -> Callable[..., object]:
        method = getattr(x835_fast.FastClaims, name)

        def counted(self: x835_fast.FastClaims, text: str, pos: int, n: int) -> object:
            got = method(self, text, pos, n)
            counts[name] += got is not None
            return got

        return counted

    for name in counts:
        monkeypatch.setattr(x835_fast.FastClaims, name, counting(name))
    text = remittance_text(random.Random(7))
    claims = [e for e in iter_835(text) if isinstance(e, ClaimPayment)]
    assert len(claims) > 5 and counts["common"] + counts["claim"] >= len(claims) / 2
    assert counts["common"] > counts["claim"]
    counts.update(common=0, claim=0)
    assert [e for e in iter_835(text, fast=False) if isinstance(e, ClaimPayment)] == claims
    assert counts == {"common": 0, "claim": 0}


def test_full_value_and_line_tables_read_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bounded tables (values, adjustments, lines) fill up and are emptied: no change."""
    monkeypatch.setattr(x835_fast, "_CACHE_LIMIT", 3)
    monkeypatch.setattr(x835_fast, "_TEMPLATE_LIMIT", 2)
    monkeypatch.setattr(x835_claims, "CACHE_LIMIT", 3)
    for seed in range(6):
        _same(remittance_text(random.Random(seed), bad=0.02))
        _same(remittance_text(random.Random(seed), bad=0.02, repeat=0.9))


def test_repeated_claims_are_read_from_templates(monkeypatch: pytest.MonkeyPatch) -> None:
    """Claims that repeat the amounts, codes and segments of an earlier claim (with their
    own ids, names and line ids) are made from its template, without the longer reading:
    the comparisons above cover that path only if it is taken."""
    longer = [0]
    read_longer = x835_fast.FastClaims._common

    def counted(self: x835_fast.FastClaims, text: str, pos: int, n: int) -> object:
        longer[0] += 1
        return read_longer(self, text, pos, n)

    monkeypatch.setattr(x835_fast.FastClaims, "_common", counted)
    events, _, error = _same(_many_claims(60))  # read twice from the text, twice the general way
    claims = [e for e in events if isinstance(e, ClaimPayment)]
    assert error is None and len({(c.claim_id, c.member_id, c.lines[0].line_id) for c in claims}) == 60
    assert 0 < longer[0] <= 8, longer  # the template is learnt once per reading, per window


def _many_claims(count: int) -> str:
    """One transaction of ``count`` plain claims."""
    segs = [
        "ISA*00*          *00*          *ZZ*ACMEHEALTH     *ZZ*RIVERSIDE      *261123*1200*^*00501*000000002*0*T*:",
        "GS*HP*ACMEHEALTH*RIVERSIDE*20261130*1200*2*X*005010X221A1",
        "ST*835*0001",
        f"BPR*I*{count * 30}.00*C*ACH*CCP*01*999999992*DA*123456*1512345678**01*999988880*DA*98765*20261130",
        "TRN*1*EFT000001*1512345678",
        "N1*PR*ACME HEALTH PLAN",
        "N1*PE*RIVERSIDE*XX*1234567893",
    ]
    for i in range(count):
        segs += [
            f"CLP*C{i:06d}*1*40.00*30.00**12*PCN{i}*11*1",
            f"NM1*QC*1*LAST{i}*FIRST****MI*M{i}",
            "SVC*HC:97124*40.00*30.00**1",
            "DTM*472*20261120",
            "CAS*CO*45*10.00",
            f"REF*6R*C{i:06d}-1",
        ]
    segs += [f"SE*{len(segs) - 1}*0001", "GE*1*2", "IEA*1*000000002"]
    return "~\n".join(segs) + "~\n"


def test_a_file_whose_claims_all_decline_is_read_the_general_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """White space before every terminator (the tokenizer strips it): no claim is read from
    the text, and after a few tries the reader stops trying."""
    tries = [0]
    common = x835_fast.FastClaims.common

    def counted(self: x835_fast.FastClaims, text: str, pos: int, n: int) -> object:
        tries[0] += 1
        return common(self, text, pos, n)

    monkeypatch.setattr(x835_fast.FastClaims, "common", counted)
    plain = _many_claims(60)
    events, _, error = _same(plain)
    assert error is None and sum(isinstance(e, ClaimPayment) for e in events) == 60
    tries[0] = 0
    untidy = plain.replace("~\n", " ~\n")
    assert _same(untidy)[:1] == (events,)
    assert 0 < tries[0] < 20 * 2  # two fast readings in _same, each giving up after 17 claims


def test_a_nul_in_an_element_reads_as_the_general_way_reads_it() -> None:
    """The fast patterns' elements leave out NUL (so their character set is a table): a claim
    with one in an element is not matched there, and the reading ends as the general one does
    (the refused control character), at every claim of a templated run."""
    plain = _many_claims(12)
    for at in ("LAST3", "M7", "PCN11", "C000005-1"):
        damaged = plain.replace(at, at[:2] + "\x00" + at[2:], 1)
        _, _, error = _same(damaged)
        assert error is not None and error[0] == "x12-control-character", (at, error)
