"""Delimiters from the ISA header and a tolerant, streaming segment tokenizer.

The tokenizer reads the delimiters of each interchange from its own ISA (byte 4 is the
element separator, ISA11 the repetition separator in 5010, ISA16 the component separator,
the character right after ISA16 the segment terminator) and then splits the stream on the
terminator, chunk by chunk, so memory stays flat however large the file is.

Tolerated: CRLF, LF or no line breaks between segments; whitespace around segments; blank
lines; several ISA/IEA interchanges (each with its own delimiters) in one file; a missing
terminator after the last segment. Refused with an ``X12Error``: a file that does not start
with ``ISA``, an ISA whose delimiters cannot be read, control characters that are not
delimiters, data after the last ``IEA`` that is not a new interchange.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from therabill.adapters.x12.errors import X12Error

__all__ = ["BATCH", "CHUNK_SIZE", "Delimiters", "Segment", "SegmentReader", "Source", "iter_segments"]

CHUNK_SIZE = 1 << 20
"""Characters read at a time from a file."""

BATCH = 2048
"""Segments handed out at a time by ``SegmentReader.batches`` (bounds memory)."""

Segment = list[str]
"""One segment: its id followed by its elements (``seg[1]`` is element 01)."""

Source = str | bytes | os.PathLike[str] | IO[str] | IO[bytes]
"""What a reader accepts: the text, its bytes, a path, or an open text or binary file."""

_ISA_ELEMENTS = 16


@dataclass(frozen=True, slots=True)
class Delimiters:
    """The four X12 delimiters of an interchange.

    Attributes:
        element: element separator (ISA byte 4), ``*`` by default.
        component: component (sub-element) separator (ISA16), ``:`` by default.
        repetition: repetition separator (ISA11 in 5010), ``^`` by default.
        segment: segment terminator (the character after ISA16), ``~`` by default.
    """

    element: str = "*"
    component: str = ":"
    repetition: str = "^"
    segment: str = "~"

    def problems(self) -> list[str]:
        """What is wrong with this set of delimiters (empty when usable)."""
        out: list[str] = []
        chars = (self.element, self.component, self.repetition, self.segment)
        for name, ch in zip(("element", "component", "repetition", "segment"), chars, strict=True):
            if name == "repetition" and ch == "":
                continue
            if len(ch) != 1:
                out.append(f"the {name} delimiter must be one character, not {ch!r}")
            elif ch.isalnum() or ch == " ":
                out.append(f"the {name} delimiter {ch!r} cannot be a letter, digit or space")
        used = [c for c in chars if c]
        if len(set(used)) != len(used):
            out.append(f"the delimiters must all differ: {chars!r}")
        return out

    @property
    def all(self) -> str:
        """The four delimiter characters."""
        return self.element + self.component + self.repetition + self.segment


def _chunks(source: Source) -> Iterator[str]:
    """Text chunks of ``source`` (bytes are decoded as Latin-1, which never fails)."""
    if isinstance(source, str):
        yield source
        return
    if isinstance(source, bytes | bytearray):
        yield bytes(source).decode("latin-1")
        return
    if isinstance(source, os.PathLike):
        try:
            with Path(source).open("rb") as fh:
                while chunk := fh.read(CHUNK_SIZE):
                    yield chunk.decode("latin-1")
        except OSError as exc:
            raise X12Error(f"cannot read {os.fspath(source)}: {exc.strerror}", code="x12-unreadable") from exc
        return
    if isinstance(source, io.TextIOBase) or hasattr(source, "encoding"):
        while text := source.read(CHUNK_SIZE):
            yield text if isinstance(text, str) else bytes(text).decode("latin-1")
        return
    while raw := source.read(CHUNK_SIZE):
        yield raw if isinstance(raw, str) else bytes(raw).decode("latin-1")


class _ControlCheck:
    """Finds the first control character that is not a delimiter (nor CR, LF, tab).

    Most text holds none: it is first checked in one C pass (Latin-1 bytes with every
    allowed byte deleted must come out empty); only text that fails that, or holds
    characters beyond Latin-1, is searched with the regular expression for the position.
    """

    __slots__ = ("keep", "pattern")

    def __init__(self, delims: Delimiters) -> None:
        allowed = set(delims.all) | {"\r", "\n", "\t"}
        bad = [chr(c) for c in [*range(32), 127] if chr(c) not in allowed]
        self.pattern = re.compile("[" + "".join(re.escape(c) for c in bad) + "]")
        self.keep = bytes(b for b in range(256) if chr(b) not in bad)

    def find(self, text: str) -> int:
        """Index of the first refused control character in ``text``, or -1."""
        try:
            if not text.encode("latin-1").translate(None, self.keep):
                return -1
        except UnicodeEncodeError:
            pass
        m = self.pattern.search(text)
        return m.start() if m else -1


def parse_isa(text: str, segment_number: int) -> tuple[Delimiters, Segment, int]:
    """Read the delimiters and elements of the ISA at the start of ``text``.

    Returns:
        The delimiters, the ISA segment (id + 16 elements) and the index just after its
        terminator.

    Raises:
        X12Error: when the ISA is incomplete or its delimiters are unusable.
    """
    if len(text) < 4 or text[:3] != "ISA":
        raise X12Error(
            "an interchange must start with ISA", code="x12-isa-missing", segment_number=segment_number
        )
    sep = text[3]
    if sep.isalnum() or sep.isspace():
        raise X12Error(
            f"element separator {sep!r} (the character after ISA) is not a delimiter",
            code="x12-isa-delimiter",
            segment_number=segment_number,
            segment_id="ISA",
        )
    pos = 3
    for _ in range(_ISA_ELEMENTS - 1):
        pos = text.find(sep, pos + 1, 400)
        if pos < 0:
            raise X12Error(
                "the ISA segment is incomplete (it needs 16 elements)",
                code="x12-isa-incomplete",
                segment_number=segment_number,
                segment_id="ISA",
            )
    if pos + 2 >= len(text):
        raise X12Error(
            "the ISA segment has no component separator or terminator",
            code="x12-isa-incomplete",
            segment_number=segment_number,
            segment_id="ISA",
            element=16,
        )
    component = text[pos + 1]
    end = pos + 2
    while end < len(text) - 1 and text[end] == " ":
        end += 1  # tolerate ": ~" (spaces before the terminator)
    terminator = text[end]
    elements = text[: pos + 2].split(sep)
    rep = elements[11] if len(elements) > 11 else ""
    repetition = rep if len(rep) == 1 and not rep.isalnum() and rep != " " else ""
    delims = Delimiters(sep, component, repetition, terminator)
    problems = delims.problems()
    if problems or terminator.isalnum() or terminator == " ":
        raise X12Error(
            "; ".join(problems) or f"segment terminator {terminator!r} is not a delimiter",
            code="x12-isa-delimiter",
            segment_number=segment_number,
            segment_id="ISA",
            element=16,
        )
    if len(elements) != _ISA_ELEMENTS + 1:
        raise X12Error(
            f"ISA has {len(elements) - 1} elements, expected 16",
            code="x12-isa-incomplete",
            segment_number=segment_number,
            segment_id="ISA",
        )
    return delims, elements, end + 1


VERSION_5010 = "00501"
_BOMS = ("\ufeff", "\xef\xbb\xbf")  # a UTF-8 byte-order mark, read as text or as Latin-1 bytes


def _without_bom(text: str) -> str:
    """``text`` without a leading byte-order mark (and the white space after it)."""
    for bom in _BOMS:
        if text.startswith(bom):
            return text[len(bom) :].lstrip()
    return text


class SegmentReader:
    """Iterate over the segments of an X12 stream, interchange by interchange.

    Iterating yields one segment at a time; ``batches()`` (or ``next_batch()``) yields lists
    of segments (all of one interchange, at most ``BATCH`` each) for readers that want fewer
    Python calls per segment. A reader that reads some segments straight from the text
    (the 835 reader's claims) asks ``window()`` for the unread text and reports what it read
    with ``advance()``; ``next_batch(stop)`` ends a list before the segment ``stop`` finds.

    Attributes:
        delimiters: the delimiters of the current interchange.
        number: 1-based position of the last segment yielded, in the file (ISA = 1); with
            ``batches()``, of the last segment of the last batch.
    """

    def __init__(self, source: Source) -> None:
        self._chunks = _chunks(source)
        self.delimiters = Delimiters()
        self.number = 0
        self._count = 0  # segments handed out so far
        self._text = ""  # unread text: complete segments from _pos to _end, then a partial one
        self._pos = 0
        self._end = 0
        self._exhausted = False
        self._seen_isa = False
        self._open = False  # between an ISA and its IEA
        self._done = False
        self._bad = _ControlCheck(self.delimiters)
        self._hit = -1  # position in _text of a refused control character, -1 if none
        self._pieces: list[str] = []  # raw segments of the region being handed out
        self._piece = 0
        self._region_end = 0
        self._maybe_iea = False

    def _more(self) -> str | None:
        return next(self._chunks, None)

    def __iter__(self) -> Iterator[Segment]:
        for first, segs in self.batches():
            n = first
            for seg in segs:
                self.number = n
                n += 1
                yield seg

    def batches(self) -> Iterator[tuple[int, list[Segment]]]:
        """Yield ``(number of the first segment, segments)`` lists, in file order.

        A list never spans two interchanges: the ``IEA`` ends a list, and the next ISA
        (with its own delimiters, already in ``self.delimiters``) comes alone.
        """
        while (batch := self.next_batch()) is not None:
            yield batch

    def window(self) -> tuple[str, int, int]:
        """``(text, pos, end)``: the unread complete segments are ``text[pos:end]``.

        Empty (``pos == end``) when nothing can be read from the text directly: between
        interchanges, before a refused control character is reported, or in the middle of
        a list being handed out.
        """
        if not self._open or self._hit >= 0 or self._pieces:
            return "", 0, 0
        return self._text, self._pos, self._end

    def advance(self, pos: int, segments: int) -> None:
        """Mark ``window()``'s text up to ``pos`` read: ``segments`` segments, none of them
        an envelope segment."""
        self._pos = pos
        self._count += segments
        self.number = self._count

    def next_batch(self, stop: re.Pattern[str] | None = None) -> tuple[int, list[Segment]] | None:
        """The next ``(number of the first segment, segments)`` list, or None at the end.

        With ``stop`` (a pattern matching the terminator before a segment), the list ends at
        the first match after its first segment.
        """
        while True:
            if self._pieces:
                batch = self._take()
                if batch is not None:
                    return batch
                continue
            if not self._open:
                if self._done:
                    return None
                return self._interchange()
            if self._hit >= 0:
                text = self._text
                n = self._count + text[self._pos : self._hit].count(self.delimiters.segment) + 1
                raise X12Error(
                    f"control character {text[self._hit]!r} in the data",
                    code="x12-control-character",
                    segment_number=n,
                )
            pos, end = self._pos, self._end
            if pos < end:
                text = self._text
                region_end = end
                if stop is not None:
                    m = stop.search(text, pos, end)
                    if m is not None:
                        region_end = m.end()
                region = text[pos:region_end]
                self._pieces = region.split(self.delimiters.segment)
                self._piece = 0
                self._region_end = region_end
                self._maybe_iea = "IEA" in region  # one scan: most regions hold no IEA at all
                continue
            if self._exhausted:  # the input ends inside an interchange
                self._open = False
                self._done = True
                return None
            self._load()

    def _load(self) -> None:
        """Read the next chunk after the unread partial segment."""
        tail = self._text[self._end :]
        more = self._more()
        if more is None:
            self._exhausted = True
            more = ""
        hit = self._bad.find(more)
        text = tail + more
        self._hit = len(tail) + hit if hit >= 0 else -1
        self._text = text
        self._pos = 0
        self._end = len(text) if self._exhausted else text.rfind(self.delimiters.segment) + 1

    def _take(self) -> tuple[int, list[Segment]] | None:
        """Up to ``BATCH`` segments of the region being handed out (None: only blanks)."""
        pieces, lo = self._pieces, self._piece
        chunk = pieces[lo : lo + BATCH] if lo or len(pieces) > BATCH else pieces
        last = lo + len(chunk) >= len(pieces)
        self._piece = lo + len(chunk)
        segs = [s.split(self.delimiters.element) for s in map(str.strip, chunk) if s]
        if last:
            self._pieces = []
        if segs and self._maybe_iea and "IEA" in (ids := [s[0] for s in segs]):
            k = ids.index("IEA")
            segs = segs[: k + 1]
            seen = 0
            for j, raw in enumerate(chunk):
                if raw.strip():
                    seen += 1
                    if seen == k + 1:
                        chunk = chunk[: j + 1]
                        break
            self._pos = min(self._pos + sum(map(len, chunk)) + len(chunk), len(self._text))
            self._pieces = []
            self._open = False  # what follows must be a new interchange
        elif last:
            self._pos = self._region_end
        else:
            self._pos += sum(map(len, chunk)) + len(chunk)
        if not segs:
            return None
        first = self._count + 1
        self._count += len(segs)
        self.number = self._count
        return first, segs

    def _interchange(self) -> tuple[int, list[Segment]] | None:
        """Read the ISA of the next interchange (None at the end of the input)."""
        buf = self._text[self._pos :].lstrip()
        self._text = ""
        self._pos = self._end = 0
        while len(buf) < 512 and not self._exhausted:
            more = self._more()
            if more is None:
                self._exhausted = True
            else:
                buf = (buf + more).lstrip()
        if not self._seen_isa:
            buf = _without_bom(buf)
        if not buf:
            self._done = True
            if not self._seen_isa:
                raise X12Error("the input is empty", code="x12-empty")
            return None
        count = self._count
        if not buf.startswith("ISA"):
            raise X12Error(
                f"expected ISA, found {buf[:20]!r}",
                code="x12-isa-missing",
                segment_number=count + 1,
            )
        delims, isa, end = parse_isa(buf, count + 1)
        if len(isa) > 12 and isa[12] != VERSION_5010:
            raise X12Error(
                f"X12 version {isa[12]} is not supported: therabill reads version 5010 (ISA12 {VERSION_5010})",
                code="x12-version-unsupported",
                segment_number=count + 1,
                segment_id="ISA",
            )
        self._seen_isa = True
        self.delimiters = delims
        self._count = count + 1
        self.number = self._count
        text = buf[end:]
        self._bad = _ControlCheck(delims)
        self._hit = self._bad.find(text)
        self._text = text
        self._end = len(text) if self._exhausted else text.rfind(delims.segment) + 1
        self._open = True
        return self._count, [isa]


def iter_segments(source: Source) -> Iterator[Segment]:
    """Iterate over the segments of ``source`` (see ``SegmentReader``)."""
    return iter(SegmentReader(source))
