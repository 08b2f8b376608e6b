"""Reading 835 claims straight from the text, a claim at a time.

Reading an 835 segment by segment costs a Python step (split, dispatch, a few dictionary
writes) for each of the dozen segments of a claim. ``FastClaims`` instead matches a claim
loop with a few compiled patterns over the text the tokenizer has not handed out yet:

* ``common``: the commonest claim, CLP, NM1*QC, DTM*050, then service lines of SVC, DTM,
  CAS, REF*6R and AMT*B6. A claim of up to ``_KNOWN_LINES`` such lines is matched whole by
  one pattern (``_known_pattern``) that separates the texts unique to the claim (claim id,
  the payer's claim number, the patient's names and member id, the dates, the line ids)
  from all the others (the amounts, codes, adjustments, which segments are there): the
  first claim with given other texts is read the longer way below and kept, in a bounded
  table, as the template of every later claim with the same texts, which is then a copy of
  it with its own unique values (remittances repeat the same fee-schedule lines claim after
  claim). The longer way matches the claim and its first line with one pattern and each
  further line with another; a line's SVC, DTM and CAS segments are read once per distinct
  text (by ``ClaimSegments.read``, as the general reader reads them) and remembered in a
  bounded table; the claim is finished in place.
* ``claim``: any claim whose segments can be placed: CLP, its 2100 segments, service lines
  with any other segments. The CLP and SVC segments are read by the general reader's own
  functions, the commonest segments inline, and every other segment by
  ``ClaimSegments.read``, in file order.

So a claim comes out exactly as the general reader makes it, problems included. Either
declines (None, and the general reader reads the claim) whenever the text is not in a
shape it knows: a segment it cannot place, white space that the tokenizer would strip
from a segment's end, a claim not followed by CLP, LX, PLB or SE (or running past the text
read so far), a value that cannot be read (``common`` only: ``claim`` words it as a
problem), or any unexpected error.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from operator import itemgetter

from therabill.adapters.x12.errors import X12Error
from therabill.adapters.x12.tokenizer import Delimiters
from therabill.adapters.x12.x835_claims import (
    ClaimSegments,
    OpenClaim,
    finish,
    open_claim,
    read_svc,
)
from therabill.domain.errors import Problem
from therabill.domain.money import ZERO
from therabill.domain.remittance import Adjustment, ClaimPayment, ServicePayment

_new = object.__new__
_set = object.__setattr__

__all__ = ["FastClaims", "usable"]

_CACHE_LIMIT = 4096
"""Service line and CAS texts remembered (bounded: memory stays flat). The line table is
emptied when full, so that a long file's later lines are remembered in their turn."""

_ENDERS = ("SVC", "CLP", "LX", "PLB", "SE", "ST", "GS", "GE", "IEA", "ISA")
"""Segments a claim's other segments are not: those that end a claim, and SVC."""


_TEMPLATE_LIMIT = 2048
"""Claim templates remembered (bounded: memory stays flat); emptied when full."""

_KNOWN_LINES = 3
"""Service lines of the claims read from a template (a claim with more: ``_common``)."""

_HEAD = 9
"""Groups of ``_known_pattern`` before its first service line, and of each line:"""
_LINE = 7

_key = itemgetter(1, 3, 7, *(_HEAD + i * _LINE + k for i in range(_KNOWN_LINES) for k in (0, 1, 3, 4, 6)))
"""The texts of a ``_known_pattern`` match that the claim template depends on: everything
but the claim id, the payer's claim number, the patient's names and member id, the dates
and the line ids (which are put into a copy of the template)."""

_Template = tuple[dict[str, object], tuple[tuple[dict[str, object], int, int, int], ...], int]
"""A claim's fields, and for each line its fields, the offset of its SVC from the segment
before the CLP and the indexes of its date and line id groups (0: none); the segment count."""


def _element(s: str, t: str) -> str:
    """One element: the characters up to the next separator or terminator (possessive).

    The set also leaves out NUL, which no element may hold (the tokenizer refuses control
    characters): a negated set of two characters is checked character by character, one of
    three is compiled to a table, about 2.5 times faster over a claim's text. A claim the
    patterns do not match is read the general way, so this cannot change what is read.
    """
    return f"[^{s}{t}\\x00]*+"


def _known_pattern(s: str, t: str) -> str:
    """The claims read from a template: CLP (with 3 to 5 elements after the claim id, then
    possibly the payer's claim number and any others), NM1*QC with its ten elements, an
    optional DTM*050, then one to ``_KNOWN_LINES`` service lines of SVC, an optional
    DTM*472, any CAS, optional REF*6R and AMT*B6; then the claim must end.

    Groups: 1 claim id, 2 CLP02-06, 3 CLP07, 4 the rest of the CLP, 5 last name, 6 first
    name, 7 member id, 8 DTM*050 (empty), 9 its date; per line (``_LINE`` groups from
    ``_HEAD``): SVC, DTM*472 (empty), its date, the CAS segments, REF*6R (empty), its
    value, the AMT*B6 amount. An element whose text is kept ends in a character that is not
    white space (the tokenizer strips white space from the ends of a segment).
    """
    e = _element(s, t)
    end = rf"(?<=\S){t}"
    line = (
        rf"\s*+(SVC{s}[^{t}]*+{t})(?:\s*+DTM{s}472{s}()([0-9]{{8}}){t})?+((?:\s*+CAS{s}[^{t}]*+{t})*+)"
        rf"(?:\s*+REF{s}6R{s}()({e}){end})?+(?:\s*+AMT{s}B6{s}([^{t}]*+){t})?+"
    )
    more = ""
    for _ in range(_KNOWN_LINES - 1):
        more = f"(?:{line}{more})?+"
    return (
        rf"\s*+CLP{s}([^{s}{t}\x00]++)({s}{e}{s}{e}{s}{e}(?:{s}{e}(?:{s}{e})?+)?+)(?:{s}({e})([^{t}]*+))?+{end}"
        rf"\s*+NM1{s}QC{s}{e}{s}({e}){s}({e}){s}{e}{s}{e}{s}{e}{s}{e}{s}({e}){end}"
        rf"(?:\s*+DTM{s}050{s}()([0-9]{{8}}){t})?+"
        rf"{line}{more}(?=\s*+(?:CLP|LX|PLB|SE){s})"
    )


def usable(delims: Delimiters) -> bool:
    """Whether claims can be read from text with these delimiters (none is white space,
    which the tokenizer would strip from the ends of a segment)."""
    return not any(c.isspace() for c in (delims.element, delims.component, delims.segment))


class FastClaims:
    """Reads the common claims of one interchange's text (see the module docs).

    Attributes:
        stop: the pattern that finds the terminator before a CLP (``SegmentReader.next_batch``
            ends a list there, so that the next claim can be tried here).
    """

    __slots__ = (
        "cas",
        "clp",
        "common_head",
        "common_line",
        "comp",
        "dates_get",
        "ender",
        "head",
        "known",
        "line",
        "lines",
        "lx",
        "reader",
        "sep",
        "stop",
        "templates",
        "term",
        "values",
    )

    def __init__(self, delims: Delimiters, reader: ClaimSegments) -> None:
        sep, term = delims.element, delims.segment
        s, t = re.escape(sep), re.escape(term)
        e = _element(s, t)
        end = rf"(?<!\s){t}"  # the end of a segment the tokenizer would not strip
        other = rf"(?:\s*+(?!(?:{'|'.join(_ENDERS)}){s})[A-Z0-9]{{2,3}}{s}[^{t}]*+{t})*"
        self.head = re.compile(
            rf"\s*+(CLP{s}[^{t}]*+){end}"
            rf"(?:\s*+NM1{s}QC{s}{e}{s}({e}){s}({e}){s}{e}{s}{e}{s}{e}{s}{e}{s}({e}){end})?"
            rf"(?:\s*+DTM{s}050{s}([0-9]{{8}}){end})?"
            rf"({other})"
        ).match
        self.line = re.compile(
            rf"\s*+(SVC{s}[^{t}]*+){end}"
            rf"(?:\s*+DTM{s}472{s}([0-9]{{8}}){end})?"
            rf"((?:\s*+CAS{s}[^{t}]*+{t})*)"
            rf"(?:\s*+REF{s}6R{s}({e}){end})?"
            rf"(?:\s*+AMT{s}B6{s}({e}){end})?"
            rf"({other})"
        ).match
        # A service line (its SVC, DTM and CAS segments as one text, REF*6R, AMT*B6, any other
        # segments), and what follows it: another line ("SVC" captured) or the claim's end.
        line = (
            rf"\s*+(SVC{s}[^{t}]*+{end}(?:\s*+DTM{s}[^{t}]*+{t})*(?:\s*+CAS{s}[^{t}]*+{t})*)"
            rf"(?:\s*+REF{s}6R{s}({e}){end})?(?:\s*+AMT{s}B6{s}({e}){end})?({other})"
        )
        then = rf"(?=\s*+(?:(SVC)|CLP|LX|PLB|SE){s})"
        self.common_head = re.compile(
            rf"\s*+(CLP{s}[^{t}]*+){end}(?:\s*+(NM1{s}QC{s}[^{t}]*+){end})?(?:\s*+DTM{s}050{s}([0-9]{{8}}){end})?"
            rf"({other})(?:{line})?{then}"
        ).match
        self.common_line = re.compile(line + then).match
        self.known = re.compile(_known_pattern(s, t)).match
        self.ender = re.compile(rf"\s*(?:CLP|LX|PLB|SE){s}").match
        self.lx = re.compile(rf"\s*LX{s}[^{t}]*{t}").match
        self.clp = re.compile(rf"\s*CLP{s}").match
        self.stop = re.compile(rf"{t}(?=\s*CLP{s})")
        self.sep, self.term, self.comp = sep, term, delims.component
        self.reader = reader
        self.values = reader.values
        self.cas: dict[str, tuple[tuple[Adjustment, ...], Decimal, int]] = {}
        self.lines: dict[str, tuple[dict[str, object], Decimal, Decimal, int, bool]] = {}
        self.templates: dict[tuple[str | None, ...], _Template | tuple[()]] = {}
        self.dates_get = reader.values.dates.get

    def claim(self, text: str, pos: int, n: int) -> tuple[OpenClaim, int, int] | None:
        """The claim whose CLP starts ``text[pos:]``, read to its last segment, open (its
        ``build`` finishes it): any claim shape whose segments this reader can place.

        ``n`` is the number of the segment before the CLP. Returns the claim, the index
        after its last segment and that segment's number; None to decline.
        """
        try:
            return self._claim(text, pos, n)
        except Exception:  # the general reader reads it again, and says what is wrong
            return None

    def common(self, text: str, pos: int, n: int) -> tuple[ClaimPayment, int, int] | None:
        """The claim at ``text[pos:]``, finished, if it has only the commonest segments;
        None for anything else (``claim`` then).

        Raises:
            X12Error: a value that cannot be read (``claim`` words it as a problem).
        """
        m = self.known(text, pos)
        if m is None:
            return self._common(text, pos, n)
        g = m.groups()
        known = self.templates.get(_key(g))
        if not known:
            if known is None:
                return self._learn(text, pos, n, m.end(), g, _key(g))
            return self._common(text, pos, n)
        template_fields, lines, count = known
        dates_get = self.dates_get
        fields = template_fields.copy()  # a copy set key by key: cheaper than dict(..., **kw)
        fields["claim_id"] = g[0]
        fields["payer_claim_control_number"] = g[2] or None
        fields["patient_last_name"] = g[4] or None
        fields["patient_first_name"] = g[5] or None
        fields["member_id"] = g[6] or None
        fields["segment_number"] = n + 1
        if g[7] is not None:
            day = dates_get(g[8]) or self._date(g[8])
            if day is None:  # not a date: the longer way words the problem
                return self._common(text, pos, n)
            fields["received_date"] = day
        built: list[ServicePayment] = []
        for template, offset, served, line_id in lines:
            line = template.copy()
            line["segment_number"] = n + offset
            if served:
                day = dates_get(g[served]) or self._date(g[served])
                if day is None:
                    return self._common(text, pos, n)
                line["service_date"] = day
            if line_id:
                line["line_id"] = g[line_id] or None
            record: ServicePayment = _new(ServicePayment)
            _set(record, "__dict__", line)
            built.append(record)
        fields["lines"] = tuple(built)
        claim: ClaimPayment = _new(ClaimPayment)
        _set(claim, "__dict__", fields)
        return claim, m.end(), n + count

    def _date(self, text: str | None) -> date | None:
        """The date of an eight-digit DTM element met for the first time (None: not a date)."""
        try:
            return self.values.date(["DTM", "", text or ""], 2, 0)
        except X12Error:
            return None

    def _learn(
        self, text: str, pos: int, n: int, m_end: int, g: tuple[str | None, ...], key: tuple[str | None, ...]
    ) -> tuple[ClaimPayment, int, int] | None:
        """Read the claim ``known`` matched the longer way (``_common``) and remember it as
        the template of every claim whose non-unique texts (``key``) are the same."""
        got = self._common(text, pos, n)  # a value that cannot be read raises: nothing learnt
        templates = self.templates
        if len(templates) >= _TEMPLATE_LIMIT:
            templates.clear()  # bounded, as the line table
        templates[key] = ()  # declined, or a claim with problems: ``_common`` every time
        if got is None:
            return None
        claim, end, last = got
        lines = claim.lines
        if (
            claim.problems
            or end != m_end
            or len(lines) != sum(g[i] is not None for i in range(_HEAD, len(g), _LINE))
        ):
            return got
        shapes = []
        for i, line in enumerate(lines):
            at = _HEAD + i * _LINE
            served = at + 2 if g[at + 1] is not None else 0
            line_id = at + 5 if g[at + 4] is not None else 0
            shapes.append((dict(line.__dict__), line.segment_number - n, served, line_id))
        templates[key] = (dict(claim.__dict__), tuple(shapes), last - n)
        return got

    def _common(self, text: str, pos: int, n: int) -> tuple[ClaimPayment, int, int] | None:  # noqa: C901
        m = self.common_head(text, pos)
        if m is None:
            return None
        clp, nm1, received, rest, body, line_id, allowed, line_rest, more = m.groups()
        if body is None and more is not None:
            return None
        seg = clp.split(self.sep)
        size = len(seg)
        if size < 5 or not seg[1]:
            return None
        if size < 10:
            seg += [""] * (10 - size)
        values = self.values
        amounts_get = values.amounts.get
        n += 1
        charge = amounts_get(seg[3])
        if charge is None:
            charge = values.amount(seg, 3, n)
        paid = amounts_get(seg[4])
        if paid is None:
            paid = values.amount(seg, 4, n)
        fields: dict[str, object] = {
            "claim_id": seg[1],
            "status": seg[2],
            "charge": charge,
            "paid": paid,
            "segment_number": n,
            "filing_indicator": seg[6] or None,
            "payer_claim_control_number": seg[7] or None,
            "facility_code": seg[8] or None,
            "frequency": seg[9] or None,
        }
        if seg[5]:
            value = amounts_get(seg[5])
            fields["patient_responsibility"] = values.amount(seg, 5, n) if value is None else value
        if nm1 is not None:
            seg = nm1.split(self.sep)
            if len(seg) != 10:
                return None
            n += 1
            fields["patient_last_name"] = seg[3] or None
            fields["patient_first_name"] = seg[4] or None
            fields["member_id"] = seg[9] or None
        if received is not None:
            n += 1
            day = values.dates.get(received)
            fields["received_date"] = values.date(["DTM", "050", received], 2, n) if day is None else day
        adjusted = charges = ZERO
        problems: tuple[Problem, ...] = ()
        if rest:  # other claim segments: as the general reader reads them
            scratch = OpenClaim(fields)
            n = self._others(rest, n, scratch)
            adjusted, problems = scratch.adj_total, scratch.problems
        lines: list[ServicePayment] = []
        balanced = True
        match_line, known_get = self.common_line, self.lines.get
        pos = m.end()
        while body is not None:
            known = known_get(body)
            if known is None:
                known = self._line(body)
            template, charge, line_adj, count, line_balanced = known
            line = template.copy()
            line["segment_number"] = n + 1
            n += count
            if line_id is not None:
                n += 1
                line["line_id"] = line_id or None
            if allowed is not None:
                n += 1
                value = amounts_get(allowed)
                line["allowed_amount"] = (
                    values.amount(["AMT", "B6", allowed], 2, n) if value is None else value
                )
            if line_rest:  # other segments of the line: as the general reader reads them
                scratch = OpenClaim(fields)
                scratch.line, scratch.line_adj = line, line_adj
                n = self._others(line_rest, n, scratch)
                problems += scratch.problems
                line_adj = scratch.line_adj
                line_balanced = charge - line_adj == line["paid"]
            built: ServicePayment = _new(ServicePayment)  # record, inlined: once per line
            _set(built, "__dict__", line)
            lines.append(built)
            adjusted += line_adj
            charges += charge
            if not line_balanced:
                balanced = False
            if more is None:  # the claim ends here
                break
            lm = match_line(text, pos)
            if lm is None:
                return None
            body, line_id, allowed, line_rest, more = lm.groups()
            pos = lm.end()
        fields["lines"] = tuple(lines)
        return finish(fields, adjusted, charges, lines_balanced=balanced, problems=problems), pos, n

    def _line(self, text: str) -> tuple[dict[str, object], Decimal, Decimal, int, bool]:
        """A service line's SVC, DTM and CAS segments (``text``) read as the general reader
        reads them: the line's fields, charge, adjustment total, segment count and whether
        it balances (raises X12Error on a value it cannot read)."""
        scratch = OpenClaim({})
        count = 0
        read, sep, comp = self.reader.read, self.sep, self.comp
        for seg in [s.split(sep) for s in map(str.strip, text.split(self.term)) if s]:
            count += 1
            read(seg, seg[0], count, scratch, comp)
        line = scratch.line
        if line is None or scratch.problems:  # not reached: an SVC opens a line, problems raise
            raise X12Error("unexpected service line", code="x12-internal")
        charge: Decimal = line["charge"]  # type: ignore[assignment]
        paid: Decimal = line["paid"]  # type: ignore[assignment]
        adj = scratch.line_adj
        known = (line, charge, adj, count, charge - adj == paid)
        if len(self.lines) >= _CACHE_LIMIT:
            self.lines.clear()  # bounded; a long file's later lines are remembered again
        self.lines[text] = known
        return known

    def _claim(self, text: str, pos: int, n: int) -> tuple[OpenClaim, int, int] | None:  # noqa: C901
        m = self.head(text, pos)
        if m is None:
            return None
        clp, last, first, member, received, rest = m.groups()
        values = self.values
        n += 1
        claim = open_claim(clp.split(self.sep), n, values)
        fields = claim.fields
        if member is not None:
            n += 1
            fields["patient_last_name"] = last or None
            fields["patient_first_name"] = first or None
            fields["member_id"] = member or fields.get("member_id")
        if received is not None:
            n += 1
            day = values.dates.get(received)
            try:
                fields["received_date"] = values.date(["DTM", "050", received], 2, n) if day is None else day
            except X12Error as exc:
                claim.problems += exc.problems
        if rest:
            n = self._others(rest, n, claim)
        pos = m.end()
        match_line = self.line
        sep = self.sep
        while (lm := match_line(text, pos)) is not None:
            svc, served, cas, line_id, allowed, rest = lm.groups()
            n += 1
            try:
                read_svc(svc.split(sep), n, claim, values, self.comp)
            except X12Error as exc:
                claim.problems += exc.problems
            line = claim.line
            if line is None:
                return None
            if served is not None:
                n += 1
                day = values.dates.get(served)
                try:
                    line["service_date"] = values.date(["DTM", "472", served], 2, n) if day is None else day
                except X12Error as exc:
                    claim.problems += exc.problems
            if cas:
                n = self._adjustments(cas, n, claim, line)
            if line_id is not None:
                n += 1
                line["line_id"] = line_id or None
            if allowed is not None:
                n += 1
                value = values.amounts.get(allowed)
                try:
                    line["allowed_amount"] = (
                        values.amount(["AMT", "B6", allowed], 2, n) if value is None else value
                    )
                except X12Error as exc:
                    claim.problems += exc.problems
            if rest:
                n = self._others(rest, n, claim)
            pos = lm.end()
        if self.ender(text, pos) is None:
            return None
        return claim, pos, n

    def after_claim(self, text: str, pos: int) -> int:
        """The index after an LX segment at ``text[pos:]``, or -1."""
        m = self.lx(text, pos)
        return -1 if m is None else m.end()

    def at_claim(self, text: str, pos: int) -> bool:
        """Whether a CLP segment starts ``text[pos:]``."""
        return self.clp(text, pos) is not None

    def _others(self, text: str, n: int, claim: OpenClaim) -> int:
        """Read the segments of ``text`` as the general reader does; the last number."""
        read, sep, comp = self.reader.read, self.sep, self.comp
        for seg in [s.split(sep) for s in map(str.strip, text.split(self.term)) if s]:
            n += 1
            try:
                read(seg, seg[0], n, claim, comp)
            except X12Error as exc:
                claim.problems += exc.problems
        return n

    def _adjustments(self, text: str, n: int, claim: OpenClaim, line: dict[str, object]) -> int:
        """A line's CAS segments (``text``), from the table when met before."""
        known = self.cas.get(text)
        if known is not None:
            adjustments, total, count = known
            line["adjustments"] = line.get("adjustments", ()) + adjustments  # type: ignore[operator]
            claim.line_adj += total
            return n + count
        before: tuple[Adjustment, ...] = line.get("adjustments", ())  # type: ignore[assignment]
        adj_before = claim.line_adj
        problems = claim.problems
        last = self._others(text, n, claim)
        if claim.problems is problems and claim.line is line and len(self.cas) < _CACHE_LIMIT:
            now: tuple[Adjustment, ...] = line.get("adjustments", ())  # type: ignore[assignment]
            self.cas[text] = (now[len(before) :], claim.line_adj - adj_before, last - n)
        return last
