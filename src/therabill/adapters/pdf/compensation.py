"""A tabular report as PDF (therapist pay): one section per person, a table and totals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.lib.units import inch
from reportlab.platypus import Flowable, Paragraph, Spacer

from therabill.adapters.pdf.layout import WIDTH, build, esc, key_values, styles, table
from therabill.domain.forms import PartyView


@dataclass(frozen=True, slots=True)
class ReportSection:
    """One section: a heading, a table (first row: the header) and labelled totals."""

    heading: str
    rows: Sequence[Sequence[str]]
    totals: Sequence[tuple[str, str]]
    widths: Sequence[float] = ()
    right_cols: Sequence[int] = ()


def render_compensation(
    *, title: str, practice: PartyView, document_id: str, subtitle: str, sections: Sequence[ReportSection]
) -> bytes:
    """Render the sections on letter pages with the shared header and footer."""
    st = styles()
    story: list[Flowable] = []
    for s in sections:
        story.append(Paragraph(esc(s.heading), st["h2"]))
        if len(s.rows) > 1:
            widths = [w * inch for w in s.widths] if s.widths else [WIDTH / len(s.rows[0])] * len(s.rows[0])
            story.append(table(s.rows, widths, right_cols=s.right_cols))
        else:
            story.append(Paragraph("No services in the period.", st["small"]))
        story += [Spacer(1, 4), key_values(list(s.totals), st, WIDTH * 0.6), Spacer(1, 6)]
    if not sections:
        story.append(Paragraph("No therapist had services or tips in the period.", st["body"]))
    return build(story, title=title, practice=practice, document_id=document_id, subtitle=subtitle)
