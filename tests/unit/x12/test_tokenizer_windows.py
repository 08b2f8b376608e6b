"""The tokenizer's text windows: lists that stop before a segment, segments read from the
text by the caller (``window``/``advance``), and the same segments and numbers as always."""

from __future__ import annotations

import random
import re

import pytest

import therabill.adapters.x12.tokenizer as tokenizer
from tests.conftest import shared_path
from tests.unit.x12.x835_gen import remittance_text
from therabill.adapters.x12.errors import X12Error
from therabill.adapters.x12.tokenizer import Segment, SegmentReader

STOP = re.compile(r"~(?=\s*CLP\*)")


def _plain(text: str) -> list[tuple[int, Segment]]:
    out = []
    for first, segs in SegmentReader(text).batches():
        out += [(first + i, seg) for i, seg in enumerate(segs)]
    return out


def _texts() -> list[str]:
    samples = sorted(p for p in shared_path("x12-samples", "835").iterdir() if p.is_file())
    texts = [p.read_text(encoding="latin-1") for p in samples]
    return [*texts, remittance_text(random.Random(1)), remittance_text(random.Random(2), breaks="")]


@pytest.mark.parametrize("chunk", [5, 97, tokenizer.CHUNK_SIZE])
def test_lists_that_stop_before_a_clp_hold_the_same_segments(
    monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(tokenizer, "CHUNK_SIZE", chunk)
    for text in _texts():
        reader = SegmentReader(text)
        got = []
        while (batch := reader.next_batch(STOP)) is not None:
            first, segs = batch
            assert all(seg[0] != "CLP" for seg in segs[1:]), "a list goes on past a CLP"
            got += [(first + i, seg) for i, seg in enumerate(segs)]
        assert got == _plain(text)


def _one_segment(text: str, pos: int, end: int, term: str) -> int:
    """The index after the next segment of ``text[pos:end]`` (one the reader may skip), or -1."""
    stop = text.find(term, pos, end)
    segment = text[pos:stop].strip()
    if stop < 0 or not segment or segment.split("*")[0] in ("ISA", "IEA"):
        return -1
    return stop + 1


@pytest.mark.parametrize("chunk", [3, 64, tokenizer.CHUNK_SIZE])
def test_segments_read_from_the_window_are_counted(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    """A caller that reads every other segment straight from the text, and the reader the
    rest: together they see every segment once, with the reader's numbers."""
    monkeypatch.setattr(tokenizer, "CHUNK_SIZE", chunk)
    rng = random.Random(chunk)
    for text in _texts():
        reader = SegmentReader(text)
        got: list[tuple[int, Segment]] = []
        while (batch := reader.next_batch()) is not None:
            first, segs = batch
            got += [(first + i, seg) for i, seg in enumerate(segs)]
            window, pos, end = reader.window()
            while pos < end and rng.random() < 0.7:
                after = _one_segment(window, pos, end, reader.delimiters.segment)
                if after < 0:
                    break
                got.append(
                    (reader.number + 1, window[pos : after - 1].strip().split(reader.delimiters.element))
                )
                reader.advance(after, 1)
                pos = after
        assert got == _plain(text)


def test_no_window_between_interchanges_or_before_a_refused_character() -> None:
    text = shared_path("x12-samples", "synthetic", "synthetic-massage-3claims.835").read_text()
    reader = SegmentReader(text + text)
    batches = list(iter(reader.next_batch, None))
    assert batches[-1][1][-1][0] == "IEA"
    assert reader.window()[1:] == (0, 0)
    reader = SegmentReader(text.replace("TRN*1*", "TRN*1*\x01"))
    first, isa = reader.next_batch()  # type: ignore[misc]
    assert isa[0][0] == "ISA" and reader.window()[1:] == (0, 0)
    with pytest.raises(X12Error) as info:
        reader.next_batch()
    assert info.value.code == "x12-control-character"
