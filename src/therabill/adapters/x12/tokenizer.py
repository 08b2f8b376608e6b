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

    Iterating yields one segment at a time; ``batches()`` yields lists of segments (all of
    one interchange, at most ``BATCH`` each) for readers that want fewer Python calls per
    segment.

    Attributes:
        delimiters: the delimiters of the current interchange.
        number: 1-based position of the last segment yielded, in the file (ISA = 1); with
            ``batches()``, of the last segment of the last batch.
    """

    def __init__(self, source: Source) -> None:
        self._chunks = _chunks(source)
        self.delimiters = Delimiters()
        self.number = 0

    def _more(self) -> str | None:
        return next(self._chunks, None)

    def __iter__(self) -> Iterator[Segment]:
        for first, segs in self.batches():
            n = first
            for seg in segs:
                self.number = n
                n += 1
                yield seg

    def batches(self) -> Iterator[tuple[int, list[Segment]]]:  # noqa: C901 - one state machine
        """Yield ``(number of the first segment, segments)`` lists, in file order.

        A list never spans two interchanges: the ``IEA`` ends a list, and the next ISA
        (with its own delimiters, already in ``self.delimiters``) comes alone.
        """
        buf = ""
        exhausted = False
        seen_isa = False
        count = 0  # segments handed out so far
        while True:
            # Interchange header: find and read the ISA.
            buf = buf.lstrip()
            while len(buf) < 512 and not exhausted:
                more = self._more()
                if more is None:
                    exhausted = True
                else:
                    buf = (buf + more).lstrip()
            if not seen_isa:
                buf = _without_bom(buf)
            if not buf:
                if not seen_isa:
                    raise X12Error("the input is empty", code="x12-empty")
                return
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
            seen_isa = True
            self.delimiters = delims
            count += 1
            self.number = count
            yield count, [isa]
            buf = buf[end:]
            term, sep = delims.segment, delims.element
            bad = _ControlCheck(delims)
            hit_pos = bad.find(buf)
            new_interchange = False
            while not new_interchange:
                if hit_pos >= 0:
                    n = count + buf[:hit_pos].count(term) + 1
                    raise X12Error(
                        f"control character {buf[hit_pos]!r} in the data",
                        code="x12-control-character",
                        segment_number=n,
                    )
                parts = buf.split(term)
                tail = parts.pop()
                if exhausted:
                    parts.append(tail)
                    tail = ""
                maybe_iea = "IEA" in buf  # one scan: most chunks hold no IEA at all
                buf = ""
                for lo in range(0, len(parts), BATCH):
                    chunk = parts[lo : lo + BATCH]
                    segs = [s.split(sep) for s in map(str.strip, chunk) if s]
                    if not segs:
                        continue
                    ids = [s[0] for s in segs] if maybe_iea else ()
                    if "IEA" in ids:
                        k = ids.index("IEA")
                        rest: list[str] = []
                        segs = segs[: k + 1]
                        # the rest of this chunk (after the IEA part) and what follows
                        seen = 0
                        for j, raw in enumerate(chunk):
                            if raw.strip():
                                seen += 1
                                if seen == k + 1:
                                    rest = [*chunk[j + 1 :], *parts[lo + BATCH :]]
                                    break
                        if not exhausted:
                            rest.append(tail)
                        buf = term.join(rest)
                        new_interchange = True
                    self.number = count + len(segs)
                    yield count + 1, segs
                    count += len(segs)
                    if new_interchange:
                        break
                if new_interchange or exhausted:
                    break
                more = self._more()
                if more is None:
                    exhausted = True
                    more = ""
                hit = bad.find(more)
                hit_pos = len(tail) + hit if hit >= 0 else -1
                buf = tail + more
            if not new_interchange:
                return


def iter_segments(source: Source) -> Iterator[Segment]:
    """Iterate over the segments of ``source`` (see ``SegmentReader``)."""
    return iter(SegmentReader(source))
